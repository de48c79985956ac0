/**
 * Stages for this machine. The portable stages (cut from the original graph: what a bundle stores
 * and any onnxruntime runs) lose speed at every cut on the CPU: at optimization level 'all'
 * onnxruntime runs Conv chains in its blocked NCHWc layout, so each stage converts its boundary
 * feature map back to NCHW at the end and the next stage converts it to NCHWc again, work the
 * full model never does.
 *
 * prepareStages puts the portable stages back together into the full model, lets onnxruntime
 * optimize that for this CPU (optimizedModelFilePath at level 'all'), and cuts the optimized graph
 * at the same exits with splitStages: tensors then cross the cuts in whatever layout the
 * optimized graph holds them (NCHWc stays NCHWc), so the stages do the full model's work and
 * nothing more. The optimized stages are verified against the full model (verifySplit, synthetic
 * inputs) before they are used, which also finds the batch axis of every new boundary tensor.
 * Such stages are specific to this CPU and onnxruntime build, so they are made at load time and
 * never written into a bundle; when anything fails the portable stages run, with the reason.
 *
 * Only convolutions get the NCHWc layout, so a model without them (a transformer, an MLP) runs its
 * portable stages as they are: re-cutting would give the same graph at the price of the whole
 * model optimized, saved, read back and verified, several copies of a big model's weights.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from './load.js';
import { proto, type onnx } from './proto.js';
import { sessionOptions, type SessionSettings, type StageIO, type StageSource } from './split-run.js';
import { syntheticFeeds, verifySplit } from './split-verify.js';
import { splitStages } from './split.js';
import { inlineWeights } from './weights.js';

/**
 * A stage ready to run: its model, the batch axis of everything it hands on, and (when known
 * without reading the model) the op types it computes.
 */
export type PreparedStage = Omit<StageIO, 'carriedOut'> & StageSource & { carriedOut: { name: string; batchAxis: number | null }[]; opTypes?: string[] };

export interface PreparedStages {
  stages: PreparedStage[];
  /** 'optimized': cut from onnxruntime's optimized graph for this machine; 'portable': as given. */
  layout: 'optimized' | 'portable';
  /** Why the portable stages run, when they do. */
  note?: string;
}

/** Samples the optimized stages are checked on at load time (synthetic inputs). */
const CHECK_SAMPLES = 8;

/**
 * The model the stages were cut from, as far as the exits need it: every stage's nodes (copied
 * constants and shape computations once), the initializers once, the graph inputs the stages read
 * from the data, and the exits as outputs, in stage order. Carried tensors become internal again.
 */
export function mergeStages(stages: (StageIO & { bytes: Uint8Array })[]): Uint8Array {
  if (stages.length === 0) throw new Error('mergeStages: no stages');
  const models = stages.map((s) => proto.ModelProto.decode(s.bytes));
  const carried = new Set(stages.flatMap((s) => s.carriedIn.map((b) => b.name)));
  const node: onnx.INodeProto[] = [];
  const produced = new Set<string>();
  const initializer: onnx.ITensorProto[] = [];
  const inits = new Set<string>();
  const input: onnx.IValueInfoProto[] = [];
  const inputs = new Set<string>();
  const output: onnx.IValueInfoProto[] = [];
  const valueInfo: onnx.IValueInfoProto[] = [];
  const infos = new Set<string>();
  const sparseInitializer: onnx.ISparseTensorProto[] = [];
  const sparse = new Set<string>();
  models.forEach((m, k) => {
    const g = m.graph ?? {};
    for (const t of g.initializer ?? []) {
      if (t.name && !inits.has(t.name)) {
        inits.add(t.name);
        initializer.push(t);
      }
    }
    for (const t of g.sparseInitializer ?? []) {
      const name = t.values?.name ?? '';
      if (!sparse.has(name)) {
        sparse.add(name);
        sparseInitializer.push(t);
      }
    }
    for (const v of g.input ?? []) {
      if (v.name && !carried.has(v.name) && !inits.has(v.name) && !inputs.has(v.name)) {
        inputs.add(v.name);
        input.push(v);
      }
    }
    for (const n of g.node ?? []) {
      const outs = (n.output ?? []).filter(Boolean);
      // A node copied into several stages (a constant, a shape computation) is kept once.
      if (outs.length && outs.every((o) => produced.has(o))) continue;
      for (const o of outs) produced.add(o);
      node.push(n);
    }
    const exit = (g.output ?? []).find((o) => o.name === stages[k]!.exit);
    if (!exit) throw new Error(`mergeStages: stage ${k + 1} does not output its exit '${stages[k]!.exit}'`);
    output.push(exit);
    for (const v of g.valueInfo ?? []) {
      if (v.name && !infos.has(v.name)) {
        infos.add(v.name);
        valueInfo.push(v);
      }
    }
  });
  const first = models[0]!;
  const graph: onnx.IGraphProto = { ...first.graph, node, initializer, sparseInitializer, input, output, valueInfo };
  return proto.ModelProto.encode(proto.ModelProto.create({ ...first, graph })).finish();
}

function portable(stages: PreparedStage[], note?: string): PreparedStages {
  return { stages: stages.map((s) => ({ ...s })), layout: 'portable', ...(note ? { note } : {}) };
}

/** Op types onnxruntime's CPU EP runs in its NCHWc layout, and so the ones a cut can cost a conversion at. */
const LAYOUT_OPS = new Set(['Conv', 'FusedConv']);

/** The stage's model with its weights inline, as a file written alone needs it. */
export async function standalone(stage: StageSource): Promise<Uint8Array> {
  // A stage file (a bundle's) may keep its weights in a side file beside it.
  return stage.path !== undefined ? inlineWeights(new Uint8Array(await readFile(stage.path)), dirname(stage.path)) : inlineWeights(stage.bytes, stage.weightsDir);
}

/** True when some stage holds an op that runs in NCHWc. Stages whose op types are not given are read, one at a time. */
async function hasLayoutOps(stages: PreparedStage[]): Promise<boolean> {
  for (const s of stages) {
    if (s.opTypes) {
      if (s.opTypes.some((op) => LAYOUT_OPS.has(op))) return true;
      continue;
    }
    const bytes = s.path !== undefined ? new Uint8Array(await readFile(s.path)) : s.bytes;
    if ((proto.ModelProto.decode(bytes).graph?.node ?? []).some((n) => LAYOUT_OPS.has(n.opType ?? ''))) return true;
  }
  return false;
}

/**
 * The stages to run on this machine: cut from onnxruntime's optimized graph when that works and
 * reproduces the model (CPU EP, `optimize` not false), else the portable stages as given.
 */
export async function prepareStages(stages: PreparedStage[], settings: SessionSettings = {}): Promise<PreparedStages> {
  if (settings.optimize === false) return portable(stages, 'optimization turned off');
  const ep = settings.ep ?? 'cpu';
  if (ep !== 'cpu') return portable(stages, `stages are re-cut for the CPU EP only (EP ${ep})`);
  if (stages.length < 2) return portable(stages);
  if (!(await hasLayoutOps(stages))) return portable(stages, 'no convolutions: the portable stages are what the model runs');
  const dir = await mkdtemp(join(tmpdir(), 'exit-studio-stages-'));
  try {
    const full = join(dir, 'model.onnx');
    const optimized = join(dir, 'model.optimized.onnx');
    const parts: (StageIO & { bytes: Uint8Array })[] = [];
    for (const s of stages) parts.push({ ...s, bytes: await standalone(s) });
    await writeFile(full, mergeStages(parts));
    // Level 'all' is where the CPU layout work happens; onnxruntime warns (level 2) that the saved
    // file fits this machine only, which is why it lives in a temporary folder.
    const session = await ort.InferenceSession.create(full, { ...sessionOptions(settings), graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    await session.release();
    const split = await splitStages(await loadModel(optimized), stages.map((s) => s.exit));
    // Checked against the merged model as onnxruntime runs it here; the portable stages were
    // verified against the original model when the bundle was written.
    const check = await verifySplit({ ...split, modelPath: full }, syntheticFeeds(split.inputs, CHECK_SAMPLES), settings);
    const out: PreparedStage[] = [];
    for (const s of split.stages) {
      out.push({
        exit: s.exit,
        modelInputs: s.modelInputs,
        carriedIn: s.carriedIn.map((b) => ({ name: b.name })),
        carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: check.batchAxes[b.name] ?? 0 })),
        // The temporary folder is removed below: weights onnxruntime saved beside the file come inline.
        bytes: await inlineWeights(s.bytes, s.weightsDir),
      });
    }
    return { layout: 'optimized', stages: out };
  } catch (e) {
    return portable(stages, `the optimized graph could not be cut and verified (${e instanceof Error ? e.message : String(e)}); running the portable stages`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
