/**
 * import-trace: predictions a user already has, whatever file they came in,
 * become a Trace. Prediction matrices (.tsv/.csv/.txt), score arrays (.npy,
 * [K, N, C] or [N, K, C]) and .npz files (an exported trace, or a `probs`
 * array with optional `labels`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { unzipSync } from 'fflate';
import { labelsFromArray, readLabels } from '../data/labels.js';
import { readNpyArray, type NpyArray } from '../data/npy.js';
import { npzArrayNames, readNpz } from '../data/npz.js';
import { inputError } from '../errors.js';
import { importCosts } from './costs.js';
import { readPredictionMatrix } from './import-matrix.js';
import { readParquetTrace } from './import-parquet.js';
import { traceFromScores, type ScoreLayout } from './import-probs.js';
import { NPZ_META, type NpzMeta } from './npz-format.js';
import type { CostSource, Trace } from './types.js';

export interface ImportOptions {
  labelColumn?: string;
  labels?: string;
  /** Cumulative costs per exit; normalized so the last is 1. */
  costs?: number[];
  layout?: ScoreLayout;
}

export async function importTrace(path: string, opts: ImportOptions = {}): Promise<Trace> {
  if (!existsSync(path)) throw inputError(path, 'no such file');
  const st = statSync(path);
  if (st.isDirectory()) throw inputError(path, 'is a folder; import-trace takes a .tsv/.csv matrix, a .npy score array or an .npz');
  if (st.size === 0) throw inputError(path, 'is empty (0 bytes)');
  const ext = extname(path).toLowerCase();
  let trace: Trace;
  if (ext === '.tsv' || ext === '.csv' || ext === '.txt' || ext === '.tab') {
    trace = await readPredictionMatrix(path, opts.labelColumn ? { labelColumn: opts.labelColumn } : {});
  } else if (ext === '.npy') {
    if (opts.labelColumn) throw inputError(path, '--label-column applies to prediction matrices; give labels of a .npy with --labels FILE');
    trace = traceFromScores(path, await readNpyArray(path), opts.layout);
  } else if (ext === '.npz') {
    trace = await importNpz(path, opts.layout);
  } else if (ext === '.parquet') {
    trace = await readParquetTrace(path, opts.labelColumn ? { labelColumn: opts.labelColumn } : {});
  } else {
    throw inputError(path, `unknown trace format "${ext || '(none)'}"; import-trace takes .tsv/.csv (prediction matrix), .parquet (one column per exit), .npy ([K, N, C] or [N, K, C] scores) or .npz`);
  }
  return applyImportOptions(trace, path, opts);
}

/** The labels (--labels) and costs (--costs) given with an import, applied to the trace read from `source`. */
export async function applyImportOptions(trace: Trace, source: string, opts: ImportOptions): Promise<Trace> {
  if (opts.labels) {
    const labels = await readLabels(opts.labels, trace.samples);
    if (labels.length !== trace.samples) throw inputError(opts.labels, `${labels.length} labels for ${trace.samples} samples in ${source}`);
    trace.labels = labels;
  }
  if (opts.costs) setCosts(trace, opts.costs, 'user', source);
  return trace;
}

function setCosts(trace: Trace, costs: number[], source: CostSource, file: string): void {
  const given = importCosts(file, trace.exits, costs);
  trace.exits = given.exits;
  trace.costs = given.costs;
  trace.costSource = source;
}

async function importNpz(path: string, layout?: ScoreLayout): Promise<Trace> {
  const names = npzArrayNames(path);
  if (names.includes('pred')) return readExportedNpz(path, names);
  if (names.includes('probs')) {
    const arrays = await readNpz(path, ['probs', 'labels'].filter((n) => names.includes(n)));
    const trace = traceFromScores(`${path}:probs.npy`, arrays.probs!, layout);
    if (arrays.labels) trace.labels = checkedLabels(path, arrays.labels, trace.samples);
    return trace;
  }
  throw inputError(path, `an .npz trace needs a "pred" array (as 'exit-studio trace export' writes) or a "probs" array; found: ${names.join(', ') || 'nothing'}`);
}

async function readExportedNpz(path: string, names: string[]): Promise<Trace> {
  const a = await readNpz(path, ['pred', 'max_prob', 'entropy', 'margin', 'probs', 'labels', 'costs'].filter((n) => names.includes(n)));
  const pred = a.pred!;
  if (pred.shape.length !== 2) throw inputError(path, `"pred" must be [N, K]; found [${pred.shape.join(', ')}]`);
  const [N, K] = pred.shape as [number, number];
  const meta = readNpzMeta(path);
  const trace: Trace = {
    samples: N,
    exits: meta?.exits ?? Array.from({ length: K }, (_, k) => ({ name: `exit_${k + 1}` })),
    classes: meta?.classes ?? 0,
    costs: Float64Array.from({ length: K }, (_, k) => (k + 1) / K),
    costSource: 'uniform',
    pred: int32(path, 'pred', pred, N * K),
  };
  if (trace.exits.length !== K) throw inputError(path, `${NPZ_META} names ${trace.exits.length} exits but "pred" has ${K}`);
  if (meta?.macsBasis) trace.macsBasis = meta.macsBasis;
  const f32 = (name: string): Float32Array | undefined => {
    const x = a[name];
    if (!x) return undefined;
    if (x.data.length !== N * K) throw inputError(path, `"${name}" must be [${N}, ${K}] like "pred"; found [${x.shape.join(', ')}]`);
    return Float32Array.from(x.data as ArrayLike<number>);
  };
  const maxProb = f32('max_prob');
  const entropy = f32('entropy');
  const margin = f32('margin');
  if (maxProb && entropy && margin) Object.assign(trace, { maxProb, entropy, margin });
  if (a.probs) {
    const C = a.probs.shape[2] ?? 0;
    if (a.probs.shape.length !== 3 || a.probs.shape[0] !== N || a.probs.shape[1] !== K) {
      throw inputError(path, `"probs" must be [${N}, ${K}, C]; found [${a.probs.shape.join(', ')}]`);
    }
    trace.probs = Float32Array.from(a.probs.data as ArrayLike<number>);
    trace.classes = Math.max(trace.classes, C);
  }
  if (a.labels) trace.labels = checkedLabels(path, a.labels, N);
  if (trace.classes === 0) {
    let max = 1;
    for (let i = 0; i < trace.pred.length; i++) if (trace.pred[i]! > max) max = trace.pred[i]!;
    trace.classes = max + 1;
  }
  if (a.costs) {
    const exits = trace.exits;
    setCosts(trace, Array.from(a.costs.data as ArrayLike<number>, Number), (meta?.costSource as CostSource | undefined) ?? 'user', path);
    // The costs array holds them normalized; exits.json keeps the numbers given for each exit, where there were some.
    if (exits.every((e) => e.givenCost !== undefined)) trace.exits = exits;
  }
  return trace;
}

/** The description an exported or recorded .npz carries (exits.json), or undefined when it has none. */
export function readNpzMeta(path: string): NpzMeta | undefined {
  const files = unzipSync(readFileSync(path), { filter: (f) => f.name === NPZ_META });
  const bytes = files[NPZ_META];
  if (!bytes) return undefined;
  try {
    const meta = JSON.parse(new TextDecoder().decode(bytes)) as NpzMeta;
    if (meta.format !== 'exit-studio/trace' || !Array.isArray(meta.exits)) throw new Error('not an Exit Studio trace description');
    return meta;
  } catch (e) {
    throw inputError(path, `${NPZ_META} is damaged: ${(e as Error).message}`);
  }
}

function int32(path: string, name: string, a: NpyArray, n: number): Int32Array {
  if (a.data.length !== n) throw inputError(path, `"${name}" holds ${a.data.length} values; expected ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number((a.data as ArrayLike<number | bigint>)[i]);
    if (!Number.isInteger(v) || v < 0) throw inputError(path, `"${name}" value ${i} is ${v}; predicted classes are whole numbers ≥ 0`);
    out[i] = v;
  }
  return out;
}

function checkedLabels(path: string, a: NpyArray, n: number): Int32Array {
  const labels = labelsFromArray(`${path}:labels.npy`, a);
  if (labels.length !== n) throw inputError(path, `"labels" holds ${labels.length} labels for ${n} samples`);
  return labels;
}
