/**
 * The shapes the views read, as they arrive over a transport (JSON: typed
 * arrays are plain arrays, NaN is null). Written from src/api's outputs but
 * not imported from there: the renderer is built on its own and never pulls
 * engine code into the page.
 */

export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string }
  | { type: 'warning'; job: string; message: string }
  | { type: 'partial'; job: string; data: unknown };

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
  nodes: number;
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
  latencyMs?: number;
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

export interface RunRecord {
  id: number;
  name: string;
  traceId: number;
  policy: string;
  status?: string;
  supervised?: boolean;
  seeds: number[];
  config?: Record<string, unknown>;
  summary: RunSummary | null;
  learned: Record<string, unknown> | null;
  series?: RunSeries | null;
  tags: string[];
  createdAt: string;
}

/** One policy's parameter as policy.catalog describes it. */
export interface PolicyParam {
  name: string;
  label?: string;
  type?: 'number' | 'integer' | 'boolean' | 'string';
  default?: number | boolean | string;
  min?: number;
  max?: number;
  step?: number;
  description?: string;
}

/** policy.catalog's entries (src/policies/catalog.ts). */
export interface CatalogEntry {
  spec: string;
  title: string;
  summary: string;
  params: string[];
  needs: string[];
  kind: 'bandit' | 'trained' | 'baseline';
}

export interface PolicyCatalogEntry {
  /** Spec head: "uee-ucb", "dee", "eenet", "fixed", ... */
  id: string;
  label: string;
  description?: string;
  /** Whether the spec takes an argument after ':' (fixed:K, eenet:B, maxprob:T). */
  arg?: PolicyParam;
  params: PolicyParam[];
  needs?: string[];
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
    image: { layout: 'NCHW' | 'NHWC'; channels: number; height: number; width: number } | null;
    samples: number[][];
    truncated: boolean;
  }[];
  labels: { count: number; classes: number; first: number[] } | null;
  problems: string[];
}
