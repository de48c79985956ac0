/**
 * import-trace: predictions a user already has, whatever file they came in,
 * become a Trace. The formats (prediction matrices, Parquet tables, score
 * arrays, .npz files) are entries of src/formats/table.ts; READERS below
 * reads each.
 */
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { readLabels } from '../data/labels.js';
import { readNpyArray, type NpyArray } from '../data/npy.js';
import { npzArrayNames, npzShapes, readNpz, readNpzMember } from '../data/npz.js';
import { formatDims } from '../data/validate.js';
import { fromFile, inputError, missingFile, nameList } from '../errors.js';
import { notRegular } from '../files/regular.js';
import { formatHint } from '../formats/sniff.js';
import { extensionOf, formatByName, formatDetails, formatList, type FormatIdOf } from '../formats/table.js';
import { importCosts } from './costs.js';
import { readPredictionMatrix } from './import-matrix.js';
import { readParquetTrace } from './import-parquet.js';
import { traceFromScores, type ScoreLayout } from './import-probs.js';
import { NPZ_META, type NpzMeta } from './npz-format.js';
import { MAX_EXITS } from '../model/types.js';
import type { CostSource, Trace } from './types.js';

export interface ImportOptions {
  labelColumn?: string;
  labels?: string;
  /** Cumulative costs per exit; normalized so the last is 1. */
  costs?: number[];
  layout?: ScoreLayout;
}

type TraceReader = (path: string, opts: ImportOptions) => Promise<Trace>;

const labelColumn = (opts: ImportOptions) => (opts.labelColumn ? { labelColumn: opts.labelColumn } : {});

/** The reader of each trace format of the table (src/formats/table.ts). */
const READERS: Record<FormatIdOf<'trace'>, TraceReader> = {
  'prediction-matrix': (path, opts) => readPredictionMatrix(path, labelColumn(opts)),
  'parquet-trace': (path, opts) => readParquetTrace(path, labelColumn(opts)),
  'npy-scores': async (path, opts) => {
    if (opts.labelColumn) throw inputError(path, 'a label column applies to prediction matrices; give the labels of a .npy as a labels file', undefined, 'labelColumn');
    return traceFromScores(path, await readNpyArray(path), opts.layout);
  },
  'npz-trace': (path, opts) => importNpz(path, opts.layout),
};

export async function importTrace(path: string, opts: ImportOptions = {}): Promise<Trace> {
  if (!existsSync(path)) throw missingFile(path);
  const st = statSync(path);
  if (st.isDirectory()) throw inputError(path, `is a folder; a trace is one file: ${formatList('trace')}`);
  const odd = notRegular(st);
  if (odd) throw inputError(path, odd);
  if (st.size === 0) throw inputError(path, 'is empty (0 bytes)');
  const format = formatByName('trace', path);
  if (!format) {
    const ext = extensionOf(path);
    throw inputError(path, `unknown trace format "${ext ? `.${ext}` : '(none)'}"; a trace is read from ${formatDetails('trace')}${formatHint(path, 'trace')}`);
  }
  let trace: Trace;
  try {
    trace = await READERS[format.id](path, opts);
  } catch (e) {
    throw fromFile(path, e);
  }
  return applyImportOptions(trace, path, opts);
}

/** The labels (--labels) and costs (--costs) given with an import, applied to the trace read from `source`. */
export async function applyImportOptions(trace: Trace, source: string, opts: ImportOptions): Promise<Trace> {
  if (opts.labels) {
    const labels = await readLabels(opts.labels, trace.samples);
    if (labels.length !== trace.samples) throw inputError(opts.labels, `${labels.length} labels for ${trace.samples} samples in ${source}`);
    checkLabelRange(opts.labels, trace, labels);
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
    const wanted = ['probs', 'labels'].filter((n) => names.includes(n));
    // Shapes from the headers first: nothing is inflated for a file that cannot be a trace.
    const shapes = npzShapes(path, wanted);
    const probs = shapes.probs!.shape;
    if (probs.length !== 3) throw inputError(path, `"probs" must be 3-D, [K, N, C] or [N, K, C]; found ${formatDims(probs)}`);
    const arrays = await readNpz(path, wanted);
    const trace = traceFromScores(`${path}:probs.npy`, arrays.probs!, layout);
    if (arrays.labels) trace.labels = checkedLabels(path, arrays.labels, trace.samples, trace.classes);
    return trace;
  }
  throw inputError(path, `an .npz trace needs a "pred" array (as a trace export writes) or a "probs" array; found: ${nameList(names)}`);
}

const CONFIDENCE = ['max_prob', 'entropy', 'margin'] as const;
/** Float rounding slack on [0, 1] values; values within it are clamped. */
const SLACK = 1e-5;

/** Checks every array's shape against "pred" [N, K] from the headers alone, before any data is read. */
function checkExportedShapes(path: string, names: string[]): { N: number; K: number } {
  const shapes = npzShapes(path, ['pred', ...CONFIDENCE, 'probs', 'labels', 'costs'].filter((n) => names.includes(n)));
  const pred = shapes.pred!.shape;
  if (pred.length !== 2) throw inputError(path, `"pred" must be [N, K]; found ${formatDims(pred)}`);
  const [N, K] = pred as [number, number];
  if (K < 2) throw inputError(path, `"pred" holds ${K} exit; a multi-exit trace needs at least 2`);
  if (K > MAX_EXITS) throw inputError(path, `"pred" holds ${K} exits; the studio takes at most ${MAX_EXITS}`);
  const expect = (name: string, want: number[], what = formatDims(want)): void => {
    const s = shapes[name]?.shape;
    if (s && (s.length !== want.length || s.some((d, i) => want[i] !== -1 && d !== want[i]))) {
      throw inputError(path, `"${name}" must be ${what} like "pred"; found ${formatDims(s)}`);
    }
  };
  for (const c of CONFIDENCE) expect(c, [N, K]);
  expect('probs', [N, K, -1], `[${N}, ${K}, C]`);
  expect('costs', [K], `[${K}]`);
  const labels = shapes.labels?.shape;
  if (labels && !(labels[0] === N && (labels.length === 1 || (labels.length === 2 && labels[1] === 1)))) {
    throw inputError(path, `"labels" must be [${N}]; found ${formatDims(labels)}`);
  }
  const present = CONFIDENCE.filter((c) => shapes[c]);
  if (present.length > 0 && present.length < CONFIDENCE.length) {
    const missing = CONFIDENCE.filter((c) => !shapes[c]);
    throw inputError(path, `has ${nameList(present)} but not ${nameList(missing)}; confidence is all three arrays or none (entropy and margin cannot be recovered from the max probability)`);
  }
  return { N, K };
}

async function readExportedNpz(path: string, names: string[]): Promise<Trace> {
  const { N, K } = checkExportedShapes(path, names);
  const a = await readNpz(path, ['pred', ...CONFIDENCE, 'probs', 'labels', 'costs'].filter((n) => names.includes(n)));
  const meta = await readNpzMeta(path);
  const trace: Trace = {
    samples: N,
    exits: meta?.exits ?? Array.from({ length: K }, (_, k) => ({ name: `exit_${k + 1}` })),
    classes: meta?.classes ?? 0,
    costs: Float64Array.from({ length: K }, (_, k) => (k + 1) / K),
    costSource: 'uniform',
    pred: int32(path, 'pred', a.pred!, N * K),
  };
  if (trace.exits.length !== K) throw inputError(path, `${NPZ_META} names ${trace.exits.length} exits but "pred" has ${K}`);
  if (meta?.macsBasis) trace.macsBasis = meta.macsBasis;
  if (a.max_prob && a.entropy && a.margin) {
    trace.maxProb = unitValues(path, 'max_prob', a.max_prob, K);
    trace.entropy = unitValues(path, 'entropy', a.entropy, K);
    trace.margin = unitValues(path, 'margin', a.margin, K);
  }
  if (a.probs) {
    trace.probs = unitValues(path, 'probs', a.probs, K * a.probs.shape[2]!);
    trace.classes = Math.max(trace.classes, a.probs.shape[2]!);
  }
  let max = 1;
  for (let i = 0; i < trace.pred.length; i++) if (trace.pred[i]! > max) max = trace.pred[i]!;
  if (trace.classes === 0) trace.classes = max + 1;
  if (max >= trace.classes) throw inputError(path, `"pred" holds class ${max} but the trace has ${trace.classes} classes`);
  if (a.labels) trace.labels = checkedLabels(path, a.labels, N, trace.classes);
  if (a.costs) {
    const exits = trace.exits;
    setCosts(trace, Array.from(a.costs.data as ArrayLike<number>, Number), (meta?.costSource as CostSource | undefined) ?? 'user', path);
    // The costs array holds them normalized; exits.json keeps the numbers given for each exit, where there were some.
    if (exits.every((e) => e.givenCost !== undefined)) trace.exits = exits;
  }
  return trace;
}

/**
 * A confidence array's values as float32, each a finite number in [0, 1]
 * (max probability, normalized entropy and margin all are; so is a
 * probability): a NaN or a 5 is refused, naming the array, sample and exit.
 */
function unitValues(path: string, name: string, a: NpyArray, perSample: number): Float32Array {
  const src = a.data as ArrayLike<number>;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (!(v >= -SLACK && v <= 1 + SLACK)) {
      const where = name === 'probs' ? `sample ${Math.floor(i / perSample)}` : `sample ${Math.floor(i / perSample)}, exit ${(i % perSample) + 1}`;
      throw inputError(path, `"${name}" ${where} is ${v}; ${name === 'probs' ? 'probabilities' : 'confidence values'} are finite numbers in [0, 1]`);
    }
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

const metaSchema = z.object({
  format: z.literal('exit-studio/trace'),
  version: z.number(),
  classes: z.number().int().min(0).max(0x7fffffff),
  costSource: z.string().max(32),
  exits: z.array(z.object({
    name: z.string().max(1000),
    macs: z.number().nonnegative().finite().optional(),
    macsSource: z.enum(['static', 'probed', 'estimate']).optional(),
    latencyMs: z.number().nonnegative().finite().optional(),
    givenCost: z.number().nonnegative().finite().optional(),
  })).max(MAX_EXITS),
  /** How the exits' MACs were counted (recorded traces). */
  macsBasis: z.object({
    inputs: z.array(z.object({ name: z.string().max(1000), shape: z.array(z.number().int().nonnegative()).max(64) })).max(1000),
    dims: z.array(z.object({ name: z.string().max(1000), value: z.number().int().positive(), from: z.enum(['data', 'user', 'default']) })).max(1000),
    nodes: z.number().int().nonnegative(),
    probed: z.number().int().nonnegative(),
    probeFeed: z.enum(['data', 'zeros']).optional(),
    unsized: z.number().int().nonnegative(),
  }).optional(),
  /** What a shard file was recorded from: checked where shards merge (merge-shards.ts). */
  recording: z.unknown().optional(),
});

/** The description an exported or recorded .npz carries (exits.json), checked, or undefined when it has none. */
export async function readNpzMeta(path: string): Promise<NpzMeta | undefined> {
  const bytes = await readNpzMember(path, NPZ_META, 1 << 20);
  if (!bytes) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw inputError(path, `${NPZ_META} is damaged: not valid JSON`);
  }
  const meta = metaSchema.safeParse(raw);
  if (!meta.success) throw inputError(path, `${NPZ_META} is damaged: not an Exit Studio trace description (${meta.error.issues[0]?.path.join('.') || 'format'})`);
  return meta.data as NpzMeta;
}

function int32(path: string, name: string, a: NpyArray, n: number): Int32Array {
  if (a.data.length !== n) throw inputError(path, `"${name}" holds ${a.data.length} values; expected ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number((a.data as ArrayLike<number | bigint>)[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw inputError(path, `"${name}" value ${i} is ${v}; predicted classes are whole numbers ≥ 0`);
    out[i] = v;
  }
  return out;
}

/** Labels of an .npz trace: whole numbers in the trace's classes, or -1 for unknown (as 'trace export' writes them). */
function checkedLabels(path: string, a: NpyArray, n: number, classes: number): Int32Array {
  const src = a.data as ArrayLike<number | bigint>;
  if (src.length !== n) throw inputError(path, `"labels" holds ${src.length} labels for ${n} samples`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(src[i]);
    if (!Number.isInteger(v) || v < -1 || v >= classes) {
      throw inputError(path, `"labels" value ${i} is ${v}; labels are class indices 0–${classes - 1} (or -1 for unknown)`);
    }
    out[i] = v;
  }
  return out;
}

/** Labels given beside a trace must name its classes; a hard-prediction matrix only knows the classes it saw, so it grows. */
function checkLabelRange(file: string, trace: Trace, labels: Int32Array): void {
  let max = -1;
  let at = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > max) { max = labels[i]!; at = i; }
  if (max < trace.classes) return;
  if (!trace.maxProb && !trace.probs) {
    trace.classes = max + 1;
    return;
  }
  throw inputError(file, `label ${at} is ${max}, outside the trace's ${trace.classes} classes (0–${trace.classes - 1}): are these the labels of this data?`);
}
