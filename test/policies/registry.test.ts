/**
 * The policy registry holds itself to what it promises: every module is fully
 * described (parameters with titles, descriptions, ranges; its argument with
 * an example), what it declares is what the engine does (the columns it needs
 * are the ones refused without, the rules it learns are what it returns), and
 * every policy runs from its catalog example.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudioError } from '../../src/errors.js';
import { policyRunInput } from '../../src/api/schemas.js';
import { describePolicies, exampleSpec, policyModules, sharedParams } from '../../src/policies/registry.js';
import { paramsJsonSchema } from '../../src/policies/params.js';
import { learnedPolicySchema, makeDecider, ruleOf } from '../../src/policies/rules/index.js';
import { parsePolicySpec, policyRefusal } from '../../src/policies/spec.js';
import { runPolicySync, syntheticTrace } from '../../src/policies/index.js';
import type { Trace } from '../../src/trace/types.js';

const full: Trace = { ...syntheticTrace({ samples: 600, exits: 4, classes: 5, seed: 3 }) };
full.labels = Int32Array.from({ length: full.samples }, (_, i) => i % 5);

test('ids, aliases and former names are unique, lower case, and name one module each', () => {
  const heads = policyModules.flatMap((m) => [m.id, ...(m.aliases ?? []), ...(m.renamedFrom ?? []).map((r) => r.head)]);
  assert.equal(new Set(heads).size, heads.length, heads.join(', '));
  for (const h of heads) assert.equal(h, h.toLowerCase());
  assert.ok(policyModules.length >= 15, `${policyModules.length} modules`);
});

test('every parameter has a title, a description and a type a form and a flag can carry; an argument has an example and no fixed default', () => {
  for (const m of policyModules) {
    const schema = paramsJsonSchema(m);
    assert.equal(schema.additionalProperties, false, m.id);
    for (const [name, p] of Object.entries(schema.properties)) {
      assert.ok(p.title && p.description, `${m.id}.${name} is described`);
      assert.ok(['number', 'integer', 'boolean', 'string'].includes(p.type), `${m.id}.${name}: ${p.type}`);
      if (p.type === 'number' || p.type === 'integer') assert.ok(p.minimum !== undefined || p.exclusiveMinimum !== undefined, `${m.id}.${name} has a lower bound`);
    }
    if (m.arg) {
      const a = schema.properties[m.arg.param];
      assert.ok(a, `${m.id}: its argument ${m.arg.param} is a parameter`);
      assert.equal(a.default, undefined, `${m.id}: a spec without its argument is refused, or follows the costs: no fixed default`);
      assert.ok(a.examples?.length, `${m.id}: its argument has an example`);
    }
    // A value that follows the costs is a parameter that may be left out, and always fits its own schema.
    for (const costs of [[0.05, 0.5, 1], [0.7283, 0.9, 1], [1, 1, 1]]) {
      for (const [name, v] of Object.entries(m.costDefaults?.(costs) ?? {})) {
        assert.ok(schema.properties[name], `${m.id}: ${name} is a parameter`);
        assert.ok(!schema.required?.includes(name), `${m.id}: ${name} may be left out`);
        assert.equal(m.bind({ [name]: v }).ok, true, `${m.id}: ${name} = ${v} at costs ${costs.join(', ')}`);
      }
    }
  }
});

test('parameters that share a name share a type, and no name shadows a field of policy.run', () => {
  const runFields = new Set(['traceId', 'policies', 'seeds', 'firstSeed', 'lambda', 'costs', 'supervised', 'evaluation', 'params', 'name', 'resumeFrom']);
  for (const [name, { users }] of sharedParams()) {
    assert.ok(!runFields.has(name), name);
    const types = new Set(users.map((id) => paramsJsonSchema(policyModules.find((m) => m.id === id)!).properties[name]!.type));
    assert.equal(types.size, 1, `${name} (${users.join(', ')}): ${[...types].join(' / ')}`);
  }
});

test('the catalog describes every module: parameters as JSON Schema, an example that runs as it is', () => {
  const d = describePolicies();
  assert.deepEqual(d.map((x) => x.id), policyModules.map((m) => m.id));
  for (const p of d) {
    assert.equal(p.params.type, 'object');
    assert.equal(parsePolicySpec(p.example).spec, p.example);
    assert.equal(p.example, exampleSpec(policyModules.find((m) => m.id === p.id)!));
  }
  // The JSON a client gets is plain data.
  assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
});

test('a module needs exactly what it reads: refused without each need, and runs on a trace holding nothing else', () => {
  const column = { confidence: 'maxProb', entropy: 'entropy', probs: 'probs', labels: 'labels' } as const;
  const without = (t: Trace, cols: readonly (keyof Trace)[]): Trace => {
    const out = { ...t };
    for (const c of cols) delete out[c];
    return out;
  };
  for (const m of policyModules) {
    const parsed = parsePolicySpec(exampleSpec(m));
    assert.equal(policyRefusal(parsed, full, false), undefined, `${m.id} runs on a trace with everything`);
    for (const need of m.needs) assert.ok(policyRefusal(parsed, without(full, [column[need]]), false), `${m.id} is refused without ${need}`);
    // A policy that read a column it does not declare would throw here (the observation has none to give).
    const bare = without(full, ['margin', ...Object.entries(column).flatMap(([need, col]) => (m.needs.includes(need as keyof typeof column) ? [] : [col]))]);
    assert.doesNotThrow(() => runPolicySync(bare, exampleSpec(m), { seeds: 1, params: { epochs: 2 } }), m.id);
  }
});

test('every policy runs from its example; what it learns is one of its rules, fully described by the rule schema, and deployable ones build a decider', () => {
  for (const m of policyModules) {
    const r = runPolicySync(full, exampleSpec(m), { seeds: 1, lambda: 0.3, params: { epochs: 3 } });
    assert.ok(m.learns.includes(r.learned.kind), `${m.id} learned ${r.learned.kind}, declares ${m.learns.join(', ')}`);
    const back = learnedPolicySchema.parse(JSON.parse(JSON.stringify(r.learned)));
    assert.deepEqual(back, JSON.parse(JSON.stringify(r.learned)), `${m.id}: the rule's schema keeps every field it learned`);
    if (ruleOf(back.kind).deployable) makeDecider(back, full.exits.map((e) => ({ name: e.name, classes: full.classes })));
    else assert.throws(() => makeDecider(back, []), /not something to deploy/);
  }
});

test('values: shared ones go to the policies that read them, own ones must be the policy\'s, the argument is one value', () => {
  const dee = parsePolicySpec('dee', { alpha: 0.2, budget: 0.5, hidden: 4 });
  assert.deepEqual(dee.params, { alpha: 0.2, bins: 10 });
  const eenet = parsePolicySpec('eenet', { budget: 0.4, hidden: 4, alpha: 0.2 }, { lr: 0.05 });
  assert.equal(eenet.spec, 'eenet:0.4');
  assert.deepEqual(eenet.params, { budget: 0.4, warmup: 0, refitEvery: 0, explore: 0.05, epochs: 60, hidden: 4, lr: 0.05, beta: 1, refine: false, keepEpoch: 'last' });
  assert.equal(parsePolicySpec('eenet:0.3', { budget: 0.4 }).params.budget, 0.3, "the argument after ':' wins over a shared value");
  const refused = (f: () => unknown, why: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof StudioError && e.kind === 'input' && why.test(e.message));
  };
  refused(() => parsePolicySpec('dee', {}, { hidden: 4 }), /policy "dee": hidden: not a parameter of dee \(it reads alpha, bins\)/);
  refused(() => parsePolicySpec('eenet:0.3', {}, { budget: 0.4 }), /budget is given twice/);
  refused(() => parsePolicySpec('dee', { bins: 0 }), /policy "dee": bins must be a whole number in \[1, 1000\]; got 0/);
  refused(() => parsePolicySpec('eenet:0.5', { lr: 0 }), /lr must be a number in \(0, 1\]; got 0/);
  refused(() => parsePolicySpec('last', {}, { alpha: 1 }), /it takes none/);
  refused(() => parsePolicySpec('wizard'), /unknown policy; known: uee-ucb, dee, .*fixed:1, .*maxprob:0\.9/);
});

test("policy.run's payload: each policy checked by its schema, at its place; old flat fields are read as params", () => {
  const bad = policyRunInput.safeParse({ traceId: 1, policies: ['uee-ucb', { policy: 'eenet:0.5', params: { hidden: 0 } }] });
  assert.equal(bad.success, false);
  const issue = bad.error!.issues[0]!;
  assert.deepEqual(issue.path, ['policies', 1]);
  assert.match(issue.message, /hidden must be a whole number in \[1, 1024\]; got 0/);
  const old = policyRunInput.parse({ traceId: 1, policies: ['dee'], alpha: 0.5, bins: 4, seeds: 2 });
  assert.deepEqual(old, { traceId: 1, policies: ['dee'], seeds: 2, params: { alpha: 0.5, bins: 4 } });
  assert.equal(policyRunInput.safeParse({ traceId: 1, policies: ['dee'], params: { nonsense: 1 } }).success, false);
  assert.equal(policyRunInput.safeParse({ traceId: 1, policies: ['dee'], sneaky: 1 }).success, false, 'unknown fields stay refused');
});
