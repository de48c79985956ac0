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

/**
 * Where a stage's model comes from: encoded in memory, its external weights (if it names any)
 * read by onnxruntime from `weightsDir` (weights.ts), or a file onnxruntime reads itself (a
 * bundle's stage file: nothing of it is held in JavaScript memory).
 */
export type StageSource = { bytes: Uint8Array; weightsDir?: string; path?: never } | { path: string; bytes?: never; weightsDir?: never };

/**
 * @param weightsDir the folder external weights are read from, for a model given as bytes
 *   (onnxruntime has no file to resolve them against otherwise)
 * @param stage options for one of several stage sessions that run one after another
 *   (createStageSession says why)
 */
export function sessionOptions(s: SessionSettings = {}, weightsDir?: string, stage = false): ort.InferenceSession.SessionOptions {
  const config: Record<string, unknown> = {
    ...(weightsDir ? { model_external_initializers_file_folder_path: weightsDir } : {}),
    ...(stage ? { intra_op: { allow_spinning: '0' } } : {}),
  };
  return {
    executionProviders: [s.ep ?? 'cpu'],
    ...(s.threads ? { intraOpNumThreads: s.threads, interOpNumThreads: 1 } : {}),
    ...(stage ? { enableCpuMemArena: false } : {}),
    ...(Object.keys(config).length ? { extra: { session: config } } : {}),
  };
}

/** A session for one model, from memory or from its file. */
export function createSession(source: StageSource, settings: SessionSettings = {}, stage = false): Promise<ort.InferenceSession> {
  return source.path !== undefined
    ? ort.InferenceSession.create(source.path, sessionOptions(settings, undefined, stage))
    : ort.InferenceSession.create(source.bytes, sessionOptions(settings, source.weightsDir, stage));
}

/**
 * The session of stage k (0-based); a stage onnxruntime refuses is named in the error.
 *
 * Stage sessions run one at a time, so two of onnxruntime's per-session habits cost without
 * paying back:
 * - the memory arena: each session's grows to the activations of its largest run and keeps
 *   them, so K stages held K arenas where the whole model holds one (a BERT-base model at batch
 *   16: six stages peaked at 1.22 GB against 0.73 GB for the model; without arenas, 0.83 GB, the
 *   buffers going back to the allocator after each run for the next stage to reuse);
 * - spinning: a session's pool threads spin a while after each parallel loop, waiting for more,
 *   while the next stage's threads want the cores (six stages of that model took 13 % more CPU
 *   time than the model, 4 % less without spinning; four batches each, on a loaded 2-core machine).
 */
export async function createStageSession(stage: StageSource, k: number, settings: SessionSettings = {}, where = 'stage'): Promise<ort.InferenceSession> {
  try {
    return await createSession(stage, settings, true);
  } catch (e) {
    throw new StudioError(`${where} ${k + 1}: onnxruntime cannot load the stage model: ${e instanceof Error ? e.message : String(e)}`, { kind: 'internal', cause: e });
  }
}

/** One session per stage, made in order; on a failure the ones made are released. */
export async function createStageSessions(stages: StageSource[], settings: SessionSettings = {}, where = 'stage'): Promise<ort.InferenceSession[]> {
  const out: ort.InferenceSession[] = [];
  try {
    for (let k = 0; k < stages.length; k++) out.push(await createStageSession(stages[k]!, k, settings, where));
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
    if (!t) throw new StudioError(`no data for model input '${name}' (stage of exit '${stage.exit}' reads it)`, { kind: 'input' });
    feeds[name] = t;
  }
  for (const { name } of stage.carriedIn) {
    const t = carried[name];
    if (!t) throw new StudioError(`tensor '${name}' should arrive from the previous stage but was not computed`, { kind: 'internal' });
    feeds[name] = t;
  }
  return feeds;
}

/** Names a stage session must fetch: its exit, then what crosses the next cut. */
export function stageFetches(stage: StageIO): string[] {
  return [stage.exit, ...stage.carriedOut.map((b) => b.name).filter((n) => n !== stage.exit)];
}

/** Number of elements of dims. */
export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

type RowData = Exclude<ort.Tensor['data'], string[]>;

/** Where gathered rows go: a fresh array (the default), or a buffer kept by the caller (RowBuffers). */
export type RowAllocator = (like: RowData, size: number) => RowData;

const freshRows: RowAllocator = (like, size) => new (like.constructor as new (n: number) => RowData)(size);

/**
 * Rows `rows` (in that order) of `t` along `axis`. `axis` null means the tensor holds no batch
 * axis and is the same for any subset of samples: it is returned as it is.
 */
export function gatherRows(t: ort.Tensor, axis: number | null, rows: ArrayLike<number>, alloc: RowAllocator = freshRows): ort.Tensor {
  if (axis === null) return t;
  const dims = t.dims.map(Number);
  const n = dims[axis]!;
  if (rows.length === n && isIdentity(rows)) return t;
  return copyRows(t, axis, rows, alloc);
}

/** gatherRows that always copies, even all rows in order (what handing on part of a batch costs). */
export function copyRows(t: ort.Tensor, axis: number, rows: ArrayLike<number>, alloc: RowAllocator = freshRows): ort.Tensor {
  const dims = t.dims.map(Number);
  const n = dims[axis]!;
  if (t.type === 'string') throw new StudioError(`cannot take rows of string tensor along axis ${axis}`, { kind: 'internal' });
  const outer = sizeOf(dims.slice(0, axis));
  const inner = sizeOf(dims.slice(axis + 1));
  const src = t.data as RowData;
  const out = alloc(src, outer * rows.length * inner);
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

/**
 * One buffer per tensor name, kept from batch to batch and grown when needed, for the rows of
 * the samples that go on. Writing into fresh memory costs far more than the copy itself: on the
 * sample model, taking 57 of 64 rows of the first cut tensor (0.7 MB) took 325 µs into a new
 * array and 22 µs into a kept one; that was 9% of the sample's per-sample cost. A gathered
 * tensor is valid until the next gather under the same name: the runner feeds it to the next
 * stage at once and does not keep it.
 */
export class RowBuffers {
  private readonly buffers = new Map<string, RowData>();

  for(name: string): RowAllocator {
    return (like, size) => {
      let buf = this.buffers.get(name);
      if (!buf || buf.length < size || buf.constructor !== like.constructor) {
        // Some headroom, so a slightly larger batch later does not allocate again.
        buf = freshRows(like, Math.ceil(size * 1.25));
        this.buffers.set(name, buf);
      }
      return buf.subarray(0, size) as RowData;
    };
  }
}

function isIdentity(rows: ArrayLike<number>): boolean {
  for (let i = 0; i < rows.length; i++) if (rows[i] !== i) return false;
  return true;
}
