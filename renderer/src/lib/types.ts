/**
 * The shapes the views read, as they arrive over a transport (JSON: typed
 * arrays are plain arrays, NaN is null). Where a command's result is what a
 * view reads, its type is that result as the command table gives it
 * (CommandResult, src/api/wire.ts). The rest are the views' own narrower
 * shapes (runs, series, partial results): the typed `call`
 * (studio.svelte.ts) assigns each command's result to them, so a field
 * renamed or retyped in the engine fails svelte-check where it is read, and
 * test/renderer/wire-contract.ts holds the events to the engine's. All are
 * types only, which bring no engine code into the page (the engine files
 * they come from must stay free of Node's own types: svelte-check reads
 * them with the page's settings).
 */
import type { LearnedPolicy } from '../../../src/policies/rules/index.js';
import type { CommandResult } from '../../../src/api/wire.js';
import type { ResolvedCosts } from '../../../src/trace/costs.js';

export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string; phase?: string; unit?: 'bytes' | 'samples' | 'steps' }
  | { type: 'warning'; job: string; message: string }
  | { type: 'partial'; job: 'policy'; data: PolicyPartial }
  | { type: 'queue'; job: string; position: number };

/** One policy of a running policy.run after each seed (src/api/context.ts): what the live charts draw. */
export interface PolicyPartial {
  index: number;
  spec: string;
  /** The policy as people read it: "EENet (budget 0.59)". */
  label: string;
  summary: RunSummary;
  series: RunSeries;
  learned: LearnedPolicy | null;
  seedsDone: number;
  evaluation: Evaluation;
  usesHindsight: boolean;
}

/** How a run's figures were obtained (src/policies/evaluation.ts). */
export interface Evaluation {
  mode: 'held-out' | 'cross-trace' | 'in-sample';
  calibrationSamples: number;
  evaluationSamples: number;
  calibrationTrace?: number;
}

/** One exit of an inspected model. */
export type ExitInfo = ModelInfo['exits'][number];

export type ModelInfo = CommandResult<'model.inspect'>;

export type ProviderInfo = CommandResult<'providers.list'>[number];

export type InferResult = CommandResult<'trace.infer'>;

export type TraceMeta = CommandResult<'trace.show'>;

/** Cumulative ms per sample to each exit: median and quartiles over timed passes, and how they were timed (src/model/timing.ts). */
export type LatencyProfile = NonNullable<InferResult['latency']>;

/** A statistic across seeds. */
export interface Stat {
  mean: number | null;
  ci95?: number | null;
  perSeed?: (number | null)[];
}

export interface SeriesStat {
  mean: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
  perSeed?: (number | null)[][];
}

export interface RunSeries {
  rounds: number[];
  cumRegret?: SeriesStat;
  avgCost?: SeriesStat;
  accuracy?: SeriesStat | null;
  agreement?: SeriesStat;
  exitShare?: SeriesStat[];
}

export interface RunSummary {
  accuracy?: Stat | number | null;
  agreement?: Stat | number | null;
  avgCost?: Stat | number | null;
  cumRegret?: Stat | number | null;
  exitShare?: (Stat | number | null)[];
  regretKind?: string;
  reference?: string;
  [key: string]: unknown;
}

/**
 * The policy types come from the engine itself, as types only (nothing of the
 * engine is bundled into the page): what a policy learned, and the registry's
 * description of each policy with its parameters as JSON Schema.
 */
export type { LearnedPolicy } from '../../../src/policies/rules/index.js';
export type { PolicyDescription } from '../../../src/policies/registry.js';
export type { ParamJsonSchema, ParamsJsonSchema } from '../../../src/policies/params.js';

/** One epoch of an EENet fit (src/policies/eenet.ts). */
export interface EENetEpoch {
  epoch: number;
  loss: number;
  bce: number;
  kl: number;
  costTerm: number;
  cost: number;
  accuracy: number;
  shareCost: number;
  shareAccuracy: number;
}

/** One EENet fit of a run: per seed (and per refit), its training curve. */
export interface FitRecord {
  seed: number;
  budget: number;
  target: string;
  history: EENetEpoch[];
}

/**
 * Costs as a trace or a run uses them, with where they came from (src/trace/costs.ts):
 * normalized values, the raw numbers, whether equal steps were assumed, how MACs were counted.
 */
export type { ResolvedCosts } from '../../../src/trace/costs.js';

/** How a run was configured (src/store/runs.ts): its lambda, parameters and the costs it used. */
export interface RunConfig extends ResolvedCosts {
  lambda: number;
  params: Record<string, unknown>;
  usesHindsight?: boolean;
}

/** policy.costs: the costs a run of a trace would use, the choices it serves, the defaults that follow them. */
export interface PolicyCosts {
  costs: ResolvedCosts;
  choices: CostChoiceName[];
  defaults: Record<string, Record<string, number | boolean | string>>;
}

export type CostChoiceName = 'trace' | 'macs' | 'latency' | 'uniform';

/** run.list's entries: a completed run without its series. */
export interface RunRecord {
  id: number;
  name: string;
  traceId: number;
  policy: string;
  status?: string;
  supervised?: boolean;
  seeds: number[];
  config?: RunConfig;
  evaluation?: Evaluation;
  summary: RunSummary | null;
  learned: LearnedPolicy | null;
  tags: string[];
  createdAt: string;
}

/** What a run stores beside its summary: the decimated series and EENet's fits. */
export interface StoredRunSeries {
  series: RunSeries;
  fits: FitRecord[] | null;
}

/** run.show: the record with its stored series. */
export interface RunShown extends RunRecord {
  series: StoredRunSeries | null;
}

/** A run in the Policy lab: policy.run's entry, then its stored series and fits once loaded. */
export interface LabRun {
  /** The policy's place in the request. */
  index?: number;
  runId?: number;
  policy: string;
  /** The policy as people read it: "EENet (budget 0.59)". */
  label?: string;
  summary?: RunSummary | null;
  learned?: LearnedPolicy | null;
  evaluation?: Evaluation;
  usesHindsight?: boolean;
  /** undefined: not loaded yet; null: none to draw. */
  series?: RunSeries | null;
  fits?: FitRecord[] | null;
}

/** A policy of a side-by-side run that did not run, and why (the others ran). */
export type FailedPolicy = CommandResult<'policy.run'>['failed'][number];

/** What the Export screen reads of an exit-policy file (src/export/policy-file.ts; docs/formats.md). */
export interface ExitPolicyFile {
  exits: { index: number; name: string; cost: number; rawCost: number | null; macs: number | null; macsSource: ExitInfo['macsSource'] | null; latencyMs: number | null }[];
  costSource: string;
  costsAssumed: boolean;
  lambda: number;
  policy: { spec: string; supervised: boolean; seeds: number; learnedFromSeed: number; params: Record<string, unknown> };
  decision: LearnedPolicy;
  /** Version 2: what to expect of the rule, with 95 % intervals (mean across seeds). */
  estimates?: { seeds: number; reference: string; accuracy: Interval | null; agreement: Interval; avgCost: Interval };
  [key: string]: unknown;
}

/** A mean with its 95 % interval. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/** policy.run's result. */
export interface PolicyRunOutput {
  costs: ResolvedCosts;
  runs: LabRun[];
  failed: FailedPolicy[];
}

export type TraceDiagnostics = CommandResult<'trace.diagnose'>;

/** The per-sample oracle's ceiling on one measure (src/trace/oracle.ts). */
export type OracleCeiling = NonNullable<TraceDiagnostics['oracle']['accuracy']>;
/** data.preview: does a dataset fit the model, and what its first samples look like. */
export type DataPreview = CommandResult<'data.preview'>;

/** sample.paths: the embedded sample's files. */
export type SamplePaths = CommandResult<'sample.paths'>;

/** home.recent: what Home lists. */
export type HomeRecent = CommandResult<'home.recent'>;
