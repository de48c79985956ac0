/**
 * The shapes the views read, as they arrive over a transport (JSON: typed
 * arrays are plain arrays, NaN is null). Most are written from src/api's
 * outputs; the policy types are imported from the engine as types only, which
 * brings no engine code into the page (the engine files they come from must
 * stay free of Node's own types: svelte-check reads them with the page's
 * settings). test/renderer/wire-contract.ts checks at compile time that each
 * command's output still fits the type declared here.
 */
import type { LearnedPolicy } from '../../../src/policies/rules/index.js';
import type { ResolvedCosts } from '../../../src/trace/costs.js';

export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string }
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

export interface TensorInfo {
  name: string;
  type: string;
  shape: (number | string | null)[];
}

export interface ExitInfo {
  index: number;
  name: string;
  classes: number;
  kind: 'logits' | 'probs';
  macs: number;
  /** static: sized from the graph; probed: shapes read from one run; estimate: a node unsized or an input dim assumed. */
  macsSource: 'static' | 'probed' | 'estimate';
  nodes: number;
}

/** The input shapes the MAC counts are for and how they were obtained. */
export interface MacsBasis {
  inputs: { name: string; shape: number[] }[];
  dims: { name: string; value: number; from: 'data' | 'user' | 'default' }[];
  nodes: number;
  probed: number;
  probeFeed?: 'data' | 'zeros';
  unsized: number;
}

export interface ModelInfo {
  path: string;
  sha256: string;
  producer: string;
  opset: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  exits: ExitInfo[];
  ignored: { name: string; reason: string }[];
  totalMacs: number;
  macsBasis: MacsBasis;
  warnings?: string[];
  /** Measured cumulative latency per exit (ms per sample), when asked for. */
  latencyMs?: number[];
}

export interface ProviderInfo {
  name: string;
  /** Ships inside onnxruntime-node; others need libraries installed and fall back to CPU without them. */
  bundled: boolean;
}

export interface InferResult {
  traceId: number;
  samples: number;
  exits: number;
  seconds: number;
  samplesPerSecond: number;
  exitLatencyMs: number[];
  reused: boolean;
  ep: string;
  warnings: string[];
}

export interface TraceExit {
  name: string;
  macs?: number;
  macsSource?: ExitInfo['macsSource'];
  latencyMs?: number;
  givenCost?: number;
}

export interface TraceMeta {
  id: number;
  name: string;
  source: 'inference' | 'import';
  samples: number;
  exits: TraceExit[];
  classes: number;
  costs: number[];
  costSource: string;
  macsBasis?: MacsBasis;
  hasConfidence: boolean;
  hasProbs: boolean;
  hasLabels: boolean;
  modelPath?: string;
  datasetPath?: string;
  createdAt: string;
}

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
export interface FailedPolicy {
  index: number;
  policy: string;
  error: string;
  kind: 'input' | 'runtime';
}

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

/** trace.diagnose's output (src/trace/diagnostics.ts). */
export interface CostPoint {
  label: string;
  cost: number;
  accuracy: number | null;
  agreement: number;
  threshold?: number;
}

export interface TraceDiagnostics {
  perExit: { exit: number; name: string; cost: number; accuracy: number | null; errorRate: number | null; agreement: number }[];
  dominance: { allCorrect: number; good: number; bad: number; allWrong: number; other: number; samples: number } | null;
  confidence: { edges: number[]; counts: number[] }[] | null;
  fixedPoints: CostPoint[];
  sweep: CostPoint[] | null;
  pareto: CostPoint[];
  /** The costs the points were computed at. */
  costs: ResolvedCosts;
  /** The per-sample oracle's ceiling on accuracy (labels) and on agreement, in hindsight (src/trace/oracle.ts). */
  oracle: { accuracy: OracleCeiling | null; agreement: OracleCeiling | null };
}

export interface OracleCeiling {
  reference: 'labels' | 'final-exit';
  samples: number;
  cost: number;
  quality: number;
  front: { cost: number; quality: number }[];
}

/** data.preview: does a dataset fit the model, and what its first samples look like. */
export interface DataPreview {
  path: string;
  format: string | null;
  samples: number;
  inputs: {
    name: string;
    type: string;
    dims: number[];
    /** What the file holds per sample, before the cast and the reshape. */
    stored: { type: string; dims: number[] };
    range: { min: number; max: number } | null;
    image: { layout: 'NCHW' | 'NHWC'; channels: number; height: number; width: number } | null;
    samples: number[][];
    truncated: boolean;
  }[];
  labels: { count: number; classes: number; first: number[] } | null;
  problems: string[];
}

/** sample.paths: the embedded sample's files. */
export interface SamplePaths {
  model: string;
  data: string;
  labels?: string;
}

/** home.recent: what Home lists. */
export interface HomeRecent {
  traces: TraceMeta[];
  runs: RunRecord[];
  models: { path: string; createdAt: string }[];
  datasets: { path: string; createdAt: string }[];
  /** Jobs a killed process left behind, to run again (job.rerun). */
  interrupted: { id: number; name: string }[];
  interruptedRuns: { id: number; name: string }[];
}
