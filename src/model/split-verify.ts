/**
 * verifySplit: proof that a stage split computes what the model computes, on the user's data.
 * Three runs on one batch:
 *  1. the full model, every exit fetched;
 *  2. the stages in order on the whole batch: every exit must match run 1 (max |diff| within
 *     tolerance, same argmax on every row);
 *  3. the stages on half the samples (each stage runs 2 and 3 before the next is made): each boundary tensor's batch axis is where its size
 *     follows the batch, and the exits must match run 1's rows. This is exactly what the runtime
 *     does when samples exit, so a tensor whose values depend on the batch without a batch axis
 *     (a carried shape, say) is caught here, not in deployment.
 */
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { outputAsFloat } from '../inference/tensors.js';
import { createStageSession, gatherRows, sessionOptions, stageFeeds, stageFetches, type SessionSettings } from './split-run.js';
import type { StageSplit } from './split.js';
import type { TensorInfo } from './types.js';

/** Inputs for verifying without the user's data: the declared shapes, symbolic dims set small. */
export function syntheticFeeds(inputs: TensorInfo[], n: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (const input of inputs) {
    const dims = input.shape.map((d, i) => (i === 0 ? n : typeof d === 'number' ? d : 4));
    const size = dims.reduce((a, b) => a * b, 1);
    switch (input.type) {
      case 'float': feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: size }, rand), dims); break;
      case 'double': feeds[input.name] = new ort.Tensor('float64', Float64Array.from({ length: size }, rand), dims); break;
      case 'int64': feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, () => BigInt(Math.floor(rand() * 2))), dims); break;
      case 'int32': feeds[input.name] = new ort.Tensor('int32', Int32Array.from({ length: size }, () => Math.floor(rand() * 2)), dims); break;
      case 'bool': feeds[input.name] = new ort.Tensor('bool', new Uint8Array(size).fill(1), dims); break;
      default:
        throw new StudioError(`cannot make synthetic data for input '${input.name}' (${input.type}); verify the split on your data instead (verifyData)`, { kind: 'input' });
    }
  }
  return feeds;
}

export interface VerifyOptions extends SessionSettings {
  /** Largest max |difference| allowed on float exit outputs (default 1e-5). */
  tolerance?: number;
}

export interface ExitCheck {
  name: string;
  /** Max |stages - full model| over the batch (the larger of the whole-batch and half-batch runs). */
  maxAbsDiff: number;
  /** Rows whose argmax differs (0 when the split is sound). */
  argmaxMismatches: number;
}

export interface SplitVerification {
  samples: number;
  exits: ExitCheck[];
  /** Batch axis of every boundary tensor; null when it has none and is the same for every batch. */
  batchAxes: Record<string, number | null>;
}

function compare(name: string, a: ort.Tensor, b: ort.Tensor): { maxAbsDiff: number; argmaxMismatches: number } {
  const da = a.dims.map(Number);
  const db = b.dims.map(Number);
  if (da.join() !== db.join()) {
    throw new StudioError(`stage split: exit '${name}' has shape [${db}] from the stages but [${da}] from the full model`, { kind: 'internal' });
  }
  const x = outputAsFloat(a, name);
  const y = outputAsFloat(b, name);
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (d > max || Number.isNaN(d)) max = Number.isNaN(d) ? (Number.isNaN(x[i]!) && Number.isNaN(y[i]!) ? max : Infinity) : d;
  }
  const C = da[da.length - 1] ?? 1;
  let mismatches = 0;
  for (let r = 0; r < x.length / C; r++) if (argmax(x, r * C, C) !== argmax(y, r * C, C)) mismatches++;
  return { maxAbsDiff: max, argmaxMismatches: mismatches };
}

function argmax(v: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[off + i]! > v[off + best]!) best = i;
  return best;
}

function sameValues(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.dims.join() !== b.dims.join()) return false;
  const x = a.data as ArrayLike<unknown>;
  const y = b.data as ArrayLike<unknown>;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Which axis of a tensor follows the batch: its size is n on the whole batch and m on the half. */
function batchAxisOf(full: ort.Tensor, half: ort.Tensor, n: number, m: number): number | null | 'broken' {
  const a = full.dims.map(Number);
  const b = half.dims.map(Number);
  if (a.length !== b.length) return 'broken';
  const axes = a.flatMap((d, i) => (d === n && b[i] === m ? [i] : []));
  const others = (ax: number): boolean => a.every((d, i) => i === ax || d === b[i]);
  const axis = axes.find(others);
  if (axis !== undefined) return axis;
  return sameValues(full, half) ? null : 'broken';
}

/** Called as each session is made and released, so a long verification shows where it is. */
export type VerifyStep = (step: string, done: number, total: number) => void;

/**
 * Runs the full model and the stages on `feeds` (a batch of the user's data, every graph input)
 * and throws a StudioError saying what differs when the stages do not reproduce every exit.
 *
 * One session at a time: the full model runs and is released before the first stage is made,
 * and each stage is released before the next, so a big model is never in memory twice. Each
 * stage runs on the whole batch and on the half, from what the previous stage handed on.
 */
export async function verifySplit(split: StageSplit, feeds: Record<string, ort.Tensor>, opts: VerifyOptions = {}, onStep?: VerifyStep): Promise<SplitVerification> {
  const tolerance = opts.tolerance ?? 1e-5;
  const first = Object.values(feeds)[0];
  const n = first && first.dims.length ? Number(first.dims[0]) : 0;
  if (!(n > 0)) throw new StudioError('verifySplit: the batch is empty', { kind: 'input' });
  const where = `${split.modelPath}`;
  const K = split.stages.length;

  onStep?.('running the full model', 0, K + 1);
  const full = await ort.InferenceSession.create(split.modelPath, sessionOptions(opts)).catch((e: unknown) => {
    throw new StudioError(`${where}: onnxruntime cannot load the model: ${e instanceof Error ? e.message : String(e)}`, { kind: 'internal', file: where, cause: e });
  });
  const ownFeeds: Record<string, ort.Tensor> = {};
  let ref: ort.InferenceSession.OnnxValueMapType;
  try {
    for (const name of full.inputNames) {
      const t = feeds[name];
      if (!t) throw new StudioError(`verifySplit: no data for model input '${name}'`, { kind: 'input' });
      ownFeeds[name] = t;
    }
    ref = await full.run(ownFeeds, split.exits);
  } finally {
    await full.release();
  }

  const rows = Array.from({ length: Math.ceil(n / 2) }, (_, i) => i * 2);
  const m = rows.length;
  // Graph inputs come from the data loader: the batch is their first axis.
  const halfFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(ownFeeds)) halfFeeds[name] = gatherRows(t, 0, rows);
  const batchAxes: Record<string, number | null> = {};
  const checks: ExitCheck[] = [];
  let whole: Record<string, ort.Tensor> = {};
  let half: Record<string, ort.Tensor> = {};
  for (let k = 0; k < K; k++) {
    const stage = split.stages[k]!;
    onStep?.(`stage ${k + 1} of ${K}`, k + 1, K + 1);
    const session = await createStageSession(stage, k, opts, `${where}: stage`);
    let outWhole: ort.InferenceSession.OnnxValueMapType;
    let outHalf: ort.InferenceSession.OnnxValueMapType | undefined;
    try {
      outWhole = await session.run(stageFeeds(stage, ownFeeds, whole), stageFetches(stage));
      if (n >= 2) outHalf = await session.run(stageFeeds(stage, halfFeeds, half), stageFetches(stage));
    } finally {
      await session.release();
    }
    const check: ExitCheck = { name: stage.exit, ...compare(stage.exit, ref[stage.exit]!, outWhole[stage.exit]!) };
    if (outHalf) {
      const c = compare(stage.exit, gatherRows(ref[stage.exit]!, 0, rows), outHalf[stage.exit]!);
      check.maxAbsDiff = Math.max(check.maxAbsDiff, c.maxAbsDiff);
      check.argmaxMismatches += c.argmaxMismatches;
      for (const b of stage.carriedOut) {
        const axis = batchAxisOf(outWhole[b.name]!, outHalf[b.name]!, n, m);
        if (axis === 'broken') {
          throw new StudioError(
            `${where}: tensor '${b.name}' crosses the cut after stage ${k + 1} but changes with the batch without a batch axis ` +
              `(shape [${outWhole[b.name]!.dims}] for ${n} samples, [${outHalf[b.name]!.dims}] for ${m}); ` +
              `samples cannot leave the batch early there, so this model cannot be deployed with early exits at these exits`,
            { kind: 'input', file: where },
          );
        }
        if (!(b.name in batchAxes)) batchAxes[b.name] = axis;
      }
    } else {
      // One sample shows no batch axis; axis 0 is what exporters use (a one-sample batch never needs a gather anyway).
      for (const b of stage.carriedOut) batchAxes[b.name] = 0;
    }
    checks.push(check);
    whole = carriedFrom(stage, outWhole);
    half = outHalf ? carriedFrom(stage, outHalf) : {};
  }

  const bad = checks.filter((c) => !(c.maxAbsDiff <= tolerance) || c.argmaxMismatches > 0);
  if (bad.length) {
    const lines = bad.map((c) => `exit '${c.name}': max |diff| ${c.maxAbsDiff.toExponential(2)} (allowed ${tolerance}), argmax differs on ${c.argmaxMismatches} row(s)`);
    throw new StudioError(
      `${where}: the stage models do not reproduce the full model on ${n} samples: ${lines.join('; ')}. ` +
        `The split is not safe to deploy; the stage files were not written.`,
      { kind: 'internal', file: where },
    );
  }
  return { samples: n, exits: checks, batchAxes };
}

/** What a stage hands on, by name, from its outputs. */
function carriedFrom(stage: StageSplit['stages'][number], out: ort.InferenceSession.OnnxValueMapType): Record<string, ort.Tensor> {
  const next: Record<string, ort.Tensor> = {};
  for (const { name } of stage.carriedOut) next[name] = out[name]!;
  return next;
}
