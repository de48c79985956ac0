/**
 * Policy specs as a user types them ("uee-ucb", "fixed:2", "maxprob@budget:0.5")
 * turned into factories, and the checks that refuse a policy a trace cannot
 * serve before any work starts. Exit numbers in specs are 1-based.
 */
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import { Dee } from './dee.js';
import { EENetPolicy } from './eenet.js';
import { FixedExit } from './fixed.js';
import { oraclePolicy } from './oracle.js';
import { PatiencePolicy } from './patience.js';
import { RandomExit } from './random.js';
import { hasLabels } from './reference.js';
import { calibrateThreshold, ThresholdPolicy } from './threshold.js';
import type { Policy, PolicyEnv } from './types.js';
import { UeeUcb } from './uee-ucb.js';
import type { RegretKind } from './metrics.js';

/** Tunable parameters; each policy reads the ones it knows. */
export interface PolicyParams {
  /** UEE-UCB and DEE exploration weight (default 1). */
  alpha?: number;
  /** DEE confidence bins (default 10). */
  bins?: number;
  /** EENet budget (mean cost per sample, last exit = 1); `eenet:B` sets it too. */
  budget?: number;
  /** EENet warm-up rounds (0: fit on the whole trace in hindsight). */
  warmup?: number;
  refitEvery?: number;
  epochs?: number;
  hidden?: number;
  lr?: number;
  beta?: number;
  signal?: AbortSignal;
}

export type PolicyNeed = 'confidence' | 'entropy' | 'probs' | 'labels';

export interface ParsedSpec {
  /** Canonical spec, e.g. "fixed:2". */
  spec: string;
  kind: 'uee-ucb' | 'dee' | 'eenet' | 'fixed' | 'last' | 'random' | 'oracle' | 'maxprob' | 'entropy' | 'patience' | 'maxprob@budget' | 'entropy@budget';
  /** What the trace must hold. */
  needs: PolicyNeed[];
  regretKind: RegretKind;
  /** Policies defined in hindsight read the whole trace (documented per policy). */
  usesHindsight: boolean;
  /** The numeric argument after ':' where there is one (1-based exit, threshold, patience, budget). */
  arg?: number;
  /** Builds one policy for one seed; `costs` are the reported (budget-unit) costs. */
  create(env: PolicyEnv, costs: Float64Array): Policy;
}

const bad = (spec: string, why: string): StudioError => new StudioError(`policy "${spec}": ${why}`, { kind: 'input' });

function numberArg(spec: string, raw: string | undefined, what: string): number {
  if (raw === undefined || raw.trim() === '') throw bad(spec, `needs ${what} after ':' (e.g. ${spec.split(':')[0]}:${what === 'an exit number' ? '2' : '0.5'})`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw bad(spec, `"${raw}" is not a number (${what})`);
  return v;
}

function inUnit(spec: string, v: number, what: string): number {
  if (!(v >= 0 && v <= 1)) throw bad(spec, `${what} must be in [0, 1]; got ${v}`);
  return v;
}

/** Parses a spec; throws a StudioError naming the spec and what is wrong. */
export function parsePolicySpec(spec: string, params: PolicyParams = {}): ParsedSpec {
  const s = spec.trim().toLowerCase();
  const colon = s.indexOf(':');
  const head = colon < 0 ? s : s.slice(0, colon);
  const raw = colon < 0 ? undefined : s.slice(colon + 1);
  const noArg = (): void => {
    if (raw !== undefined) throw bad(spec, `takes no argument after ':'`);
  };
  switch (head) {
    case 'uee-ucb':
    case 'ueeucb': {
      noArg();
      const alpha = params.alpha ?? 1;
      if (!(alpha >= 0)) throw bad(spec, `alpha must be >= 0; got ${alpha}`);
      return { spec: 'uee-ucb', kind: 'uee-ucb', needs: [], regretKind: 'fixed-exit', usesHindsight: false, create: (env) => new UeeUcb(env, { alpha }) };
    }
    case 'dee': {
      noArg();
      const bins = params.bins ?? 10;
      const alpha = params.alpha ?? 1;
      if (!(Number.isInteger(bins) && bins >= 1)) throw bad(spec, `bins must be a positive integer; got ${bins}`);
      if (!(alpha >= 0)) throw bad(spec, `alpha must be >= 0; got ${alpha}`);
      return { spec: 'dee', kind: 'dee', needs: ['confidence'], regretKind: 'dee', usesHindsight: false, create: (env) => new Dee(env, { bins, alpha }) };
    }
    case 'eenet': {
      const budget = raw !== undefined ? numberArg(spec, raw, 'a budget') : params.budget;
      if (budget === undefined) throw bad(spec, 'needs a budget: write eenet:B (mean cost per sample, the last exit costing 1), e.g. eenet:0.5');
      if (!(budget > 0 && budget <= 1)) throw bad(spec, `budget must be in (0, 1]; got ${budget}`);
      const warmup = params.warmup ?? 0;
      if (!(Number.isInteger(warmup) && warmup >= 0)) throw bad(spec, `warmup must be a whole number of rounds; got ${warmup}`);
      const p = { ...params, budget };
      return {
        spec: `eenet:${budget}`,
        kind: 'eenet',
        needs: ['probs', 'confidence', 'entropy'],
        regretKind: 'contextual',
        usesHindsight: warmup === 0,
        arg: budget,
        create: (env, costs) => new EENetPolicy(env, p, costs),
      };
    }
    case 'fixed': {
      const k = numberArg(spec, raw, 'an exit number');
      if (!Number.isInteger(k) || k < 1) throw bad(spec, `exit numbers start at 1; got ${k}`);
      return { spec: `fixed:${k}`, kind: 'fixed', needs: [], regretKind: 'fixed-exit', usesHindsight: false, arg: k, create: () => new FixedExit(k - 1) };
    }
    case 'last':
      noArg();
      return { spec: 'last', kind: 'last', needs: [], regretKind: 'fixed-exit', usesHindsight: false, create: (env) => new FixedExit(env.exits - 1, 'last') };
    case 'random':
      noArg();
      return { spec: 'random', kind: 'random', needs: [], regretKind: 'fixed-exit', usesHindsight: false, create: (env) => new RandomExit(env) };
    case 'oracle':
      noArg();
      return { spec: 'oracle', kind: 'oracle', needs: ['labels'], regretKind: 'fixed-exit', usesHindsight: true, create: (env) => oraclePolicy(env) };
    case 'maxprob': {
      const t = inUnit(spec, numberArg(spec, raw, 'a threshold'), 'the threshold');
      return { spec: `maxprob:${t}`, kind: 'maxprob', needs: ['confidence'], regretKind: 'contextual', usesHindsight: false, arg: t, create: (env) => new ThresholdPolicy(`maxprob:${t}`, 'maxProb', t, env.exits) };
    }
    case 'entropy': {
      const t = inUnit(spec, numberArg(spec, raw, 'a threshold'), 'the threshold');
      return { spec: `entropy:${t}`, kind: 'entropy', needs: ['entropy'], regretKind: 'contextual', usesHindsight: false, arg: t, create: (env) => new ThresholdPolicy(`entropy:${t}`, 'entropy', t, env.exits) };
    }
    case 'patience': {
      const p = numberArg(spec, raw, 'a patience');
      if (!Number.isInteger(p) || p < 1) throw bad(spec, `patience must be a whole number >= 1; got ${p}`);
      return { spec: `patience:${p}`, kind: 'patience', needs: [], regretKind: 'contextual', usesHindsight: false, arg: p, create: () => new PatiencePolicy(p) };
    }
    case 'maxprob@budget':
    case 'entropy@budget': {
      const b = numberArg(spec, raw, 'a budget');
      if (!(b > 0 && b <= 1)) throw bad(spec, `budget must be in (0, 1]; got ${b}`);
      const measure = head === 'maxprob@budget' ? 'maxProb' : 'entropy';
      const name = `${head}:${b}`;
      return {
        spec: name,
        kind: head,
        needs: [measure === 'maxProb' ? 'confidence' : 'entropy'],
        regretKind: 'contextual',
        usesHindsight: true,
        arg: b,
        create: (env, costs) => new ThresholdPolicy(name, measure, calibrateThreshold(env.hindsight, measure, b, costs), env.exits),
      };
    }
    default:
      throw bad(
        spec,
        'unknown policy; known: uee-ucb, dee, eenet:B, fixed:K, last, random, oracle, maxprob:T, entropy:T, patience:P, maxprob@budget:B, entropy@budget:B',
      );
  }
}

export type CanRun = { ok: true; parsed: ParsedSpec } | { ok: false; reason: string };

/**
 * Whether `spec` can run on `trace`, and if not, why, in words a user can act
 * on. Checks the spec itself, what the policy needs from the trace, exit
 * numbers and budgets against the trace's exits and costs.
 */
export function checkPolicyCanRun(spec: string, trace: Trace, supervised: boolean, params: PolicyParams = {}, costs?: ArrayLike<number>): CanRun {
  let parsed: ParsedSpec;
  try {
    parsed = parsePolicySpec(spec, params);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const K = trace.exits.length;
  const name = parsed.spec;
  if (parsed.needs.includes('probs') && !trace.probs) {
    return { ok: false, reason: 'EENet needs probability vectors; this trace has none — record them with `exit-studio infer ... --probs`' };
  }
  if (parsed.needs.includes('confidence') && !trace.maxProb) {
    return {
      ok: false,
      reason: `${name} needs confidence (max probability per exit); this trace holds hard predictions only — record a trace with \`exit-studio infer\` instead of importing a class matrix`,
    };
  }
  if (parsed.needs.includes('entropy') && !trace.entropy) {
    return { ok: false, reason: `${name} needs entropies per exit; this trace holds hard predictions only — record a trace with \`exit-studio infer\`` };
  }
  const labelled = hasLabels(trace);
  if (parsed.needs.includes('labels') && !labelled) {
    return { ok: false, reason: `${name} is the best fixed exit in hindsight by error + cost and needs labels; this trace has none` };
  }
  if (supervised && !labelled) {
    return { ok: false, reason: `supervised mode needs labels; this trace has none (run unsupervised: metrics then use agreement with the final exit)` };
  }
  if (parsed.kind === 'fixed' && parsed.arg! > K) {
    return { ok: false, reason: `${name}: this trace has exits 1..${K}` };
  }
  const c = costs ?? trace.costs;
  if ((parsed.kind === 'eenet' || parsed.kind.endsWith('@budget')) && parsed.arg! < c[0]!) {
    return { ok: false, reason: `${name}: the budget ${parsed.arg} is below the cost of exit 1 (${c[0]}), so no rule can meet it` };
  }
  if (trace.samples < 1) return { ok: false, reason: 'the trace has no samples' };
  return { ok: true, parsed };
}
