/**
 * The studio's names for the request fields an engine error can be about.
 * Engine messages name no front end's controls (src/errors.ts `field`): the
 * CLI adds its flag (src/cli/hints.ts), the studio the label the user sees
 * on the screen where the value was set.
 */
import type { MissingNeed } from '../../../src/policies/spec.js';

const FIELD_LABELS: Readonly<Record<string, string>> = {
  labels: 'Labels (Dataset)',
  labelColumn: 'Labels (Dataset)',
  image: 'Dataset (image mean and std)',
  'image.mean': 'Dataset (image mean)',
  'image.std': 'Dataset (image std)',
  provider: 'Execution provider (Inference)',
  batch: 'Batch (Inference)',
  threads: 'Threads (Inference)',
  limit: 'Samples (limit) (Inference)',
  probs: 'Keep probability vectors (Inference)',
  allowNonFinite: 'Dataset values (Inference)',
  costs: 'Costs per exit (Policy lab)',
  holdout: 'Share kept aside to score on (Policy lab)',
  calibrateOn: 'Fit on trace (Policy lab)',
  out: 'Save to (Export)',
};

/** Fields no control of the studio sets (the database, a rerun's id, --force, which the Export screen asks about itself). */
export const FIELDS_WITHOUT_CONTROL: readonly string[] = ['db', 'resumeFrom', 'force'];

/** The label of the control that sets `field`, or null when the studio has none. */
export function fieldLabel(field: string | undefined): string | null {
  if (!field) return null;
  return FIELD_LABELS[field] ?? null;
}

/** An engine message as the studio shows it: ending with the control to check, when it is about one. */
export function withFieldLabel(message: string, field: string | undefined): string {
  const label = fieldLabel(field);
  return label ? `${message} (check “${label}”)` : message;
}

/**
 * What a policy refused for a trace that lacks something (src/policies/spec.ts
 * `MissingNeed`) needs, in the studio's words: the screen and control that
 * record such a trace.
 */
export function needsText(need: MissingNeed): string {
  if (need === 'probs') return 'Record the trace again with “Keep probability vectors” ticked (Inference).';
  if (need === 'scores') return 'Record a trace by running the model (Inference): an imported class matrix has no confidence scores.';
  return 'Give labels (Dataset) and record the trace again, or import a trace with a label column.';
}

/** An engine error as the studio shows it: the control to check, and for a trace that lacks what a policy needs, how to record one. */
export function studioErrorText(message: string, field: string | undefined, code: string | undefined): string {
  const text = withFieldLabel(message, field);
  const need = code?.startsWith('needs-') ? code.slice('needs-'.length) : undefined;
  return need === 'probs' || need === 'scores' || need === 'labels' ? `${text} ${needsText(need)}` : text;
}
