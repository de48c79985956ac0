/**
 * What the CLI adds to an engine error. Engine messages name no front end's
 * controls; an error says which request field it is about (`field`), what a
 * missing id names (`record`) and whether an output is in the way (`code`),
 * and the CLI turns that into its own words: the flag, the command that
 * lists the ids, --force.
 */
import type { StudioError } from '../errors.js';
import type { MissingNeed } from '../policies/spec.js';

/** Fields whose flag is not the field's name in kebab case; null: no flag sets it (another command does). */
const FLAG_OF: Record<string, string | null> = {
  allowNonFinite: '--allow-nan',
  resumeFrom: null,
  'image.mean': '--mean',
  'image.std': '--std',
  image: '--mean/--std',
};

/** The flag that sets a request field: `calibrateOn` → `--calibrate-on`. */
export function flagOf(field: string): string | null {
  if (field in FLAG_OF) return FLAG_OF[field]!;
  const last = field.split('.').pop()!;
  return `--${last.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** How a trace that has what a policy needs is recorded, as the CLI says it (after a refusal's message). */
export function needsHint(need: MissingNeed): string {
  if (need === 'probs') return "; record one with 'exit-studio infer MODEL DATA --probs'";
  if (need === 'scores') return "; record one with 'exit-studio infer MODEL DATA'";
  return "; give labels: 'exit-studio infer MODEL DATA --labels FILE', or a label column when importing";
}

/** The hint to append to the message of `e` (starting with a space), or ''. */
export function cliHint(e: StudioError): string {
  if (e.code === 'exists') return '; pass --force to replace it';
  if (e.code?.startsWith('needs-')) return needsHint(e.code.slice('needs-'.length) as MissingNeed);
  if (e.kind === 'not-found' && e.record) return ` (see 'exit-studio ${e.record}s list')`;
  const flag = e.field ? flagOf(e.field) : null;
  return flag ? ` (${flag})` : '';
}
