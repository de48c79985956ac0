/**
 * Running stage models in order, and taking rows out of a batch. Shared by verifySplit (which
 * proves a split) and the early-exit runtime (which deploys it), so both feed stages the same way.
 */
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';

/** What running a stage needs to know; a Stage and a bundle manifest entry both have it. */
export interface StageIO {
  exit: string;
  modelInputs: string[];
  carriedIn: { name: string }[];
  carriedOut: { name: string }[];
}

export interface SessionSettings {
  /** Execution provider as onnxruntime names it ("cpu", "cuda", ...); default cpu. */
  ep?: string;
  /** Intra-op threads; onnxruntime's default when absent. */
  threads?: number;
  /**
   * Run stages cut from onnxruntime's optimized graph for this machine (split-optimize.ts) instead
   * of the portable stages as given; default true. Only the CPU EP is optimized this way.
   */
  optimize?: boolean;
}

export function sessionOptions(s: SessionSettings = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [s.ep ?? 'cpu'],
    ...(s.threads ? { intraOpNumThreads: s.threads, interOpNumThreads: 1 } : {}),
  };
}

/** One session per stage; a stage onnxruntime refuses is named in the error. */
export async function createStageSessions(stages: { bytes: Uint8Array }[], settings: SessionSettings = {}, where = 'stage'): Promise<ort.InferenceSession[]> {
  const out: ort.InferenceSession[] = [];
  try {
    for (let k = 0; k < stages.length; k++) {
      try {
        out.push(await ort.InferenceSession.create(stages[k]!.bytes, sessionOptions(settings)));
      } catch (e) {
        throw new StudioError(`${where} ${k + 1}: onnxruntime cannot load the stage model: ${e instanceof Error ? e.message : String(e)}`, { kind: 'runtime', cause: e });
      }
    }
  } catch (e) {
    await Promise.all(out.map((s) => s.release()));
    throw e;
  }
  return out;
}

/** The feeds of one stage: its graph inputs from `inputs`, its carried tensors from `carried`. */
export function stageFeeds(stage: StageIO, inputs: Record<string, ort.Tensor>, carried: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of stage.modelInputs) {
    const t = inputs[name];
    if (!t) throw new StudioError(`no data for model input '${name}' (stage of exit '${stage.exit}' reads it)`);
    feeds[name] = t;
  }
  for (const { name } of stage.carriedIn) {
    const t = carried[name];
    if (!t) throw new StudioError(`tensor '${name}' should arrive from the previous stage but was not computed`, { kind: 'runtime' });
    feeds[name] = t;
  }
  return feeds;
}

/** Names a stage session must fetch: its exit, then what crosses the next cut. */
export function stageFetches(stage: StageIO): string[] {
  return [stage.exit, ...stage.carriedOut.map((b) => b.name).filter((n) => n !== stage.exit)];
}

export interface StagedOutputs {
  /** Exit output of every stage. */
  exits: ort.Tensor[];
  /** carried[k]: the tensors stage k handed on (cut after stage k). */
  carried: Record<string, ort.Tensor>[];
}

/** Runs every stage on the whole batch (no sample exits). */
export async function runAllStages(sessions: ort.InferenceSession[], stages: StageIO[], inputs: Record<string, ort.Tensor>): Promise<StagedOutputs> {
  const exits: ort.Tensor[] = [];
  const carried: Record<string, ort.Tensor>[] = [];
  let prev: Record<string, ort.Tensor> = {};
  for (let k = 0; k < stages.length; k++) {
    const stage = stages[k]!;
    const out = await sessions[k]!.run(stageFeeds(stage, inputs, prev), stageFetches(stage));
    exits.push(out[stage.exit]!);
    const next: Record<string, ort.Tensor> = {};
    for (const { name } of stage.carriedOut) next[name] = out[name]!;
    carried.push(next);
    prev = next;
  }
  return { exits, carried };
}

/** Number of elements of dims. */
export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Rows `rows` (in that order) of `t` along `axis`. `axis` null means the tensor holds no batch
 * axis and is the same for any subset of samples: it is returned as it is.
 */
export function gatherRows(t: ort.Tensor, axis: number | null, rows: ArrayLike<number>): ort.Tensor {
  if (axis === null) return t;
  const dims = t.dims.map(Number);
  const n = dims[axis]!;
  if (rows.length === n && isIdentity(rows)) return t;
  if (t.type === 'string') throw new StudioError(`cannot take rows of string tensor along axis ${axis}`, { kind: 'runtime' });
  const outer = sizeOf(dims.slice(0, axis));
  const inner = sizeOf(dims.slice(axis + 1));
  const src = t.data as Exclude<ort.Tensor['data'], string[]>;
  const Ctor = src.constructor as new (n: number) => typeof src;
  const out = new Ctor(outer * rows.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < rows.length; r++) {
      const from = (o * n + rows[r]!) * inner;
      // set() on a subarray copies typed data without per-element boxing.
      (out as unknown as { set(a: ArrayLike<number | bigint>, at: number): void }).set(src.subarray(from, from + inner) as ArrayLike<number | bigint>, at);
      at += inner;
    }
  }
  const outDims = [...dims];
  outDims[axis] = rows.length;
  return new ort.Tensor(t.type, out as never, outDims);
}

function isIdentity(rows: ArrayLike<number>): boolean {
  for (let i = 0; i < rows.length; i++) if (rows[i] !== i) return false;
  return true;
}

type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;
const ARRAYS: Partial<Record<ort.Tensor.Type, new (n: number) => NumericArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  int16: Int16Array,
};

/** An output's shape for any batch: its dims with the batch axis (if any) to be filled in. */
interface OutputTemplate {
  type: ort.Tensor.Type;
  dims: number[];
  axis: number | null;
}

/**
 * One stage session in a deployment, run again and again. After the first run at a given input
 * layout it hands onnxruntime pre-allocated output tensors (a buffer per output, kept from run to
 * run and grown when a batch is larger), so onnxruntime writes the exit and the carried tensors
 * straight into memory that is already there instead of allocating them on every run. Measured
 * on the sample model (docs/deploy.md): all stages 1.09x the full model without, 1.05x with.
 * The tensors run() returns are onnxruntime-node's own (it copies outputs into new JavaScript
 * memory), so they stay valid after the next run.
 */
export class StageSession {
  private readonly templates = new Map<string, Map<string, OutputTemplate>>();
  private readonly buffers = new Map<string, NumericArray>();
  private readonly axes = new Map<string, number | null>();
  private readonly fetchNames: string[];
  private preallocate = true;

  constructor(
    readonly session: ort.InferenceSession,
    readonly stage: StageIO & { carriedOut: { name: string; batchAxis: number | null }[] },
  ) {
    this.fetchNames = stageFetches(stage);
    // Exits have the batch on axis 0 (verifySplit compares them row by row); carried tensors where the split found it.
    this.axes.set(stage.exit, 0);
    for (const b of stage.carriedOut) if (b.name !== stage.exit) this.axes.set(b.name, b.batchAxis);
  }

  /** Runs the stage on `feeds`, a batch of `rows` samples; returns its exit and carried tensors. */
  async run(feeds: Record<string, ort.Tensor>, rows: number): Promise<ort.InferenceSession.ReturnType> {
    const key = Object.entries(feeds)
      .map(([name, t]) => `${name}:${t.type}:${t.dims.map((d) => (d === rows ? '*' : d)).join(',')}`)
      .join('|');
    const templates = this.preallocate ? this.templates.get(key) : undefined;
    if (!templates) {
      const out = await this.session.run(feeds, this.fetchNames);
      if (this.preallocate && this.templates.size < 16) this.templates.set(key, this.learn(out, rows));
      return out;
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of this.fetchNames) {
      const t = templates.get(name);
      fetches[name] = t ? this.tensor(name, t, rows) : null;
    }
    try {
      return await this.session.run(feeds, fetches);
    } catch {
      // A shape the templates got wrong: onnxruntime refuses the buffer. Run as onnxruntime allocates from now on.
      this.preallocate = false;
      return this.session.run(feeds, this.fetchNames);
    }
  }

  private learn(out: ort.InferenceSession.ReturnType, rows: number): Map<string, OutputTemplate> {
    const templates = new Map<string, OutputTemplate>();
    for (const name of this.fetchNames) {
      const t = out[name] as ort.Tensor | undefined;
      if (!t || t.location !== 'cpu' || !ARRAYS[t.type]) continue;
      const dims = t.dims.map(Number);
      const axis = this.axes.get(name) ?? null;
      // Only a batch axis seen holding the batch is trusted to follow it.
      if (axis !== null && dims[axis] !== rows) continue;
      templates.set(name, { type: t.type, dims, axis });
    }
    return templates;
  }

  private tensor(name: string, t: OutputTemplate, rows: number): ort.Tensor {
    const dims = [...t.dims];
    if (t.axis !== null) dims[t.axis] = rows;
    const size = sizeOf(dims);
    let buf = this.buffers.get(name);
    if (!buf || buf.length < size || buf.constructor !== ARRAYS[t.type]) {
      buf = new ARRAYS[t.type]!(size);
      this.buffers.set(name, buf);
    }
    return new ort.Tensor(t.type, buf.subarray(0, size) as never, dims);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
