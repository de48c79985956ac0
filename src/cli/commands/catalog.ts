/** exit-studio policies: every policy of the registry, what it needs and its parameters (--json: JSON Schema). */
import { call } from '../../api/commands.js';
import { domainText } from '../../policies/params.js';
import { flag, parse, str } from '../args.js';
import type { CliEnv } from '../context.js';

export const usage = 'policies [--json]\n                                   the policies `run` knows, with what each needs and its parameters';

export async function run(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, {});
  const r = await call(env.context(str(p, 'db')), 'policy.catalog', {});
  if (flag(p, 'json')) return env.out.result(r);
  for (const d of r.policies) {
    // An argument that may be left out (a budget, which then follows the costs) is shown in brackets.
    const optional = d.arg !== null && !d.params.required?.includes(d.arg);
    const spec = d.arg ? `${d.id}${optional ? '[' : ''}:${d.arg.toUpperCase()}${optional ? ']' : ''}` : d.id;
    env.out.line(`${spec}  (${d.kind}) ${d.title}: ${d.summary}`);
    const facts = [`needs ${d.needs.length ? d.needs.join(', ') : 'predictions only'}`, `learns ${d.learns.join(' or ')}`, `regret ${d.regretKind}`];
    if (d.usesHindsight) facts.push('fits on calibration data (runs held-out by default)');
    if (d.aliases.length) facts.push(`also written ${d.aliases.join(', ')}`);
    if (d.renamedFrom.length) facts.push(`formerly ${d.renamedFrom.join(', ')}`);
    env.out.line(`    ${facts.join('; ')}`);
    for (const [name, s] of Object.entries(d.params.properties)) {
      const how = name === d.arg ? `after ':' (e.g. ${d.example})${optional ? ' or left out' : ''}` : s.default !== undefined ? `default ${String(s.default)}` : 'optional';
      env.out.line(`    ${name}: ${domainText(s)}, ${how}${s.description ? `. ${s.description}` : ''}`);
    }
  }
  env.out.line('');
  env.out.line('Give a parameter to `run` as a flag (--hidden 32, --refit-every 500: every chosen policy that reads it),');
  env.out.line('or --param POLICY.NAME=VALUE for one policy alone; `exit-studio run --help` lists the flags.');
}
