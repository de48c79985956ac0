/**
 * Stage split: cuts a multi-exit model into one standalone ONNX model per exit, so a deployment
 * runs stage k+1 only for the samples that did not exit at k. Nothing here knows layer names:
 *
 * - every node belongs to the first exit (in the given order) whose ancestor set holds it;
 * - the tensors that cross cut k are those made in stages 1..k and read by a later stage; stage
 *   k outputs them (passing through the ones made earlier) and stage k+1 takes them as inputs;
 * - graph inputs (an attention mask, say) go straight to every stage that reads them;
 * - initializers, Constant nodes and the small computations that depend on nothing but
 *   constants and tensor shapes are copied into every stage that uses them. Shape-derived values
 *   must not cross a cut: once samples exit, the batch shrinks and a carried shape would be stale.
 *
 * A stage of a model with external weights names the model's own side file instead of copying
 * its weights (weights.ts): cutting a 440 MB model costs kilobytes, and onnxruntime reads each
 * stage's tensors from `weightsDir` when it makes the stage's session.
 *
 * splitStages only cuts; verifySplit (split-verify.ts) proves the stages compute what the
 * model computes before anything is written.
 */
import { inputError } from '../errors.js';
import { indexGraph, type GraphIndex } from './graph.js';
import { loadModel, type LoadedModel } from './load.js';
import { proto, toNumber, type onnx } from './proto.js';
import { elementType, formatShape, propagateShapes, type Shape } from './shapes.js';
import { inferElementTypes } from './split-types.js';
import type { Dim, ElementType, TensorInfo } from './types.js';
import { cutInitializers } from './weights.js';

/** A tensor that crosses a cut between two stages. */
export interface BoundaryTensor {
  name: string;
  type: ElementType;
  /** Declared shape in the stage models ([] when unknown); the batch dim stays symbolic. */
  shape: Dim[];
  /** 0-based index of the stage whose nodes compute it. */
  from: number;
}

export interface Stage {
  /** 0-based position; stage k computes exit k. */
  index: number;
  /** Output name of the exit this stage ends with (always the stage model's first output). */
  exit: string;
  /** Graph inputs of the original model that this stage reads (fed to it directly). */
  modelInputs: string[];
  /** Tensors arriving across the cut from the previous stage (stage model inputs after modelInputs). */
  carriedIn: BoundaryTensor[];
  /** Tensors handed to the next stage (stage model outputs after the exit), made here or passed through. */
  carriedOut: BoundaryTensor[];
  /** Number of nodes of the original graph this stage computes (copied constants included). */
  nodes: number;
  /** The op types among them, sorted (what the stage computes, without decoding its model). */
  opTypes: string[];
  /** The stage model, encoded. */
  bytes: Uint8Array;
  /** Folder its external weights are read from (the model's); absent when they are all inline. */
  weightsDir?: string;
}

export interface StageSplit {
  modelPath: string;
  /** Exit output names in stage order. */
  exits: string[];
  /** The original model's graph inputs (initializers excluded). */
  inputs: TensorInfo[];
  stages: Stage[];
}

/** Ops computing on tensor shapes, not tensor values: copied into each stage instead of carried. */
const SHAPE_OPS = new Set(['Shape', 'Size']);
/** Ops that must not be copied: two copies would give two different values. */
const NOT_COPYABLE = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']);

/** Names a subgraph (and the subgraphs inside it) reads from outer scopes. */
function freeNames(sg: onnx.IGraphProto): Set<string> {
  const defined = new Set<string>();
  for (const v of sg.input ?? []) if (v.name) defined.add(v.name);
  for (const t of sg.initializer ?? []) if (t.name) defined.add(t.name);
  for (const m of sg.node ?? []) for (const o of m.output ?? []) if (o) defined.add(o);
  const out = new Set<string>();
  for (const m of sg.node ?? []) {
    for (const i of m.input ?? []) if (i && !defined.has(i)) out.add(i);
    for (const a of m.attribute ?? []) for (const inner of [a.g, ...(a.graphs ?? [])]) if (inner) for (const v of freeNames(inner)) if (!defined.has(v)) out.add(v);
  }
  for (const o of sg.output ?? []) if (o.name && !defined.has(o.name)) out.add(o.name);
  return out;
}

/** Values a node's subgraphs (If/Loop/Scan bodies) read from the graph without listing them as inputs. */
function implicitInputs(n: onnx.INodeProto): string[] {
  const out = new Set<string>();
  for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) for (const v of freeNames(sg)) out.add(v);
  return [...out];
}

interface Analysis {
  g: GraphIndex;
  /** deps[i]: every value node i reads, subgraph references included. */
  deps: string[][];
  /** copy[i]: node i is constant- or shape-derived and is copied into each stage that needs it. */
  copy: boolean[];
  graphInputs: Set<string>;
}

function analyse(loaded: LoadedModel): Analysis {
  const g = indexGraph(loaded.path, loaded.graph);
  const raw = loaded.model.graph?.node ?? [];
  const deps = g.nodes.map((n, i) => [...n.inputs.filter(Boolean), ...implicitInputs(raw[i]!)]);
  const graphInputs = new Set(loaded.graph.inputs.map((v) => v.name ?? '').filter((v) => v && !g.initializers.has(v)));
  const copy = g.nodes.map(() => false);
  for (const i of g.topo) {
    const n = g.nodes[i]!;
    if (NOT_COPYABLE.has(n.opType) || deps[i]!.length !== n.inputs.filter(Boolean).length) continue; // no subgraph ops
    if (SHAPE_OPS.has(n.opType)) {
      copy[i] = true;
      continue;
    }
    copy[i] = deps[i]!.every((v) => {
      if (g.initializers.has(v)) return true;
      const p = g.producer.get(v);
      return p !== undefined && copy[p]!;
    });
  }
  return { g, deps, copy, graphInputs };
}

function ancestorsOf(a: Analysis, value: string): Set<number> {
  const seen = new Set<number>();
  const stack = [value];
  while (stack.length) {
    const p = a.g.producer.get(stack.pop()!);
    if (p === undefined || seen.has(p)) continue;
    seen.add(p);
    for (const v of a.deps[p]!) stack.push(v);
  }
  return seen;
}

/** What one stage computes and reads, before its model is built. */
interface StagePlan {
  own: Set<number>;
  copied: Set<number>;
  modelInputs: Set<string>;
  /** values from earlier stages, by producing stage */
  needs: Map<string, number>;
}

/**
 * Cuts the model into one stage per exit, `exits` in depth order (as inspectModel orders them).
 * Throws a StudioError naming the model when the order makes a split impossible.
 */
export async function splitStages(model: LoadedModel | string, exits: string[]): Promise<StageSplit> {
  const loaded = typeof model === 'string' ? await loadModel(model) : model;
  const path = loaded.path;
  if (exits.length === 0) throw inputError(path, 'no exits given to split at');
  const dup = exits.find((e, i) => exits.indexOf(e) !== i);
  if (dup) throw inputError(path, `exit '${dup}' is listed twice; each exit makes one stage`);
  const a = analyse(loaded);
  const { g } = a;
  const outputNames = new Set(loaded.graph.outputs.map((o) => o.name ?? ''));

  // Stage of every computing node: the first exit that needs it.
  const stageOf = new Map<number, number>();
  exits.forEach((exit, k) => {
    if (!outputNames.has(exit)) {
      throw inputError(path, `'${exit}' is not an output of the model (outputs: ${[...outputNames].join(', ')})`);
    }
    for (const i of ancestorsOf(a, exit)) if (!a.copy[i] && !stageOf.has(i)) stageOf.set(i, k);
  });

  // An exit must be computed by its own stage: otherwise an earlier exit depends on it.
  exits.forEach((exit, k) => {
    const p = g.producer.get(exit);
    if (p === undefined) throw inputError(path, `exit '${exit}' is a graph input or initializer, not something the model computes`);
    if (a.copy[p]) throw inputError(path, `exit '${exit}' depends on no input data (it is computed from constants and shapes only), so it cannot be an exit`);
    const s = stageOf.get(p)!;
    if (s !== k) {
      const earlier = exits[s]!;
      throw inputError(
        path,
        `cannot split at exit '${exit}' (position ${k + 1}): exit '${earlier}' (position ${s + 1}) is computed from it, ` +
          `so stage ${s + 1} would have to run exit '${exit}' (and the layers before it) already and no stage order works. ` +
          `Give the exits in depth order (a shallow exit cannot depend on a deeper layer); inspect lists them that way.`,
      );
    }
  });

  const plans: StagePlan[] = exits.map(() => ({ own: new Set(), copied: new Set(), modelInputs: new Set(), needs: new Map() }));
  for (const [i, k] of stageOf) plans[k]!.own.add(i);
  plans.forEach((plan, k) => {
    const stack: string[] = [];
    for (const i of plan.own) stack.push(...a.deps[i]!);
    const seen = new Set<string>();
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      if (g.initializers.has(v)) continue;
      if (a.graphInputs.has(v)) {
        plan.modelInputs.add(v);
        continue;
      }
      const p = g.producer.get(v);
      if (p === undefined) throw inputError(path, `value '${v}' is read but nothing provides it`);
      if (a.copy[p]) {
        if (!plan.copied.has(p)) {
          plan.copied.add(p);
          stack.push(...a.deps[p]!);
        }
        continue;
      }
      const s = stageOf.get(p)!;
      if (s < k) plan.needs.set(v, s);
      // s === k: computed here; s > k cannot happen (ancestor sets are closed).
    }
  });

  // Cut c (after stage c): every value made at or before c and needed after it.
  const topoPos = new Map(g.topo.map((i, pos) => [i, pos]));
  const order = (v: string): number => topoPos.get(g.producer.get(v)!) ?? 0;
  const cuts: string[][] = exits.slice(0, -1).map((_, c) => {
    const set = new Set<string>();
    for (let k = c + 1; k < exits.length; k++) for (const [v, s] of plans[k]!.needs) if (s <= c) set.add(v);
    return [...set].sort((x, y) => order(x) - order(y));
  });

  const shapes = propagateShapes(g, loaded.graph.inputs, [...loaded.graph.valueInfo, ...loaded.graph.outputs], opsetOf(loaded)).shapes;
  const types = inferElementTypes(g, loaded.graph);
  const boundary = (v: string): BoundaryTensor => {
    const code = types.get(v);
    if (!code) {
      const p = g.nodes[g.producer.get(v)!]!;
      throw inputError(path, `cannot work out the element type of '${v}' (made by ${p.opType} node '${p.name}'), which crosses a stage cut; the stage model must declare it`);
    }
    return { name: v, type: elementType(code), shape: shapes.get(v) ?? [], from: stageOf.get(g.producer.get(v)!)! };
  };

  const stages: Stage[] = [];
  for (let k = 0; k < exits.length; k++) {
    const plan = plans[k]!;
    const carriedIn = k > 0 ? cuts[k - 1]!.map(boundary) : [];
    const carriedOut = k < exits.length - 1 ? cuts[k]!.map(boundary) : [];
    const modelInputs = loaded.graph.inputs.map((v) => v.name ?? '').filter((v) => plan.modelInputs.has(v));
    const { bytes, weightsDir } = await buildStage(loaded, a, plan, exits[k]!, modelInputs, carriedIn, carriedOut, types);
    const opTypes = [...new Set([...plan.own, ...plan.copied].map((i) => g.nodes[i]!.opType))].sort();
    stages.push({ index: k, exit: exits[k]!, modelInputs, carriedIn, carriedOut, nodes: plan.own.size + plan.copied.size, opTypes, bytes, ...(weightsDir ? { weightsDir } : {}) });
  }
  const inputs = loaded.graph.inputs
    .filter((v) => a.graphInputs.has(v.name ?? ''))
    .map((v) => ({ name: v.name ?? '', type: elementType(v.type?.tensorType?.elemType), shape: shapes.get(v.name ?? '') ?? [] }));
  return { modelPath: path, exits: [...exits], inputs, stages };
}

function opsetOf(loaded: LoadedModel): number {
  return toNumber((loaded.model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version);
}

function valueInfoOf(name: string, code: number, shape: Shape): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: code };
  // No declared shape at all beats a wrong one: onnxruntime checks fed dims against it.
  if (shape.length) tensorType.shape = { dim: shape.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

async function buildStage(
  loaded: LoadedModel,
  a: Analysis,
  plan: StagePlan,
  exit: string,
  modelInputs: string[],
  carriedIn: BoundaryTensor[],
  carriedOut: BoundaryTensor[],
  types: Map<string, number>,
): Promise<{ bytes: Uint8Array; weightsDir?: string }> {
  const src = loaded.model.graph as onnx.IGraphProto;
  const take = new Set([...plan.own, ...plan.copied]);
  // Original node order when it is topological, else the computed one (ORT wants sorted nodes).
  const nodes = a.g.topo.filter((i) => take.has(i)).map((i) => (src.node ?? [])[i]!);
  const used = new Set<string>();
  for (const i of take) for (const v of a.deps[i]!) used.add(v);
  const { initializer, weightsDir } = await cutInitializers(loaded.path, (src.initializer ?? []).filter((t) => used.has(t.name ?? '')));

  const declared = new Map<string, onnx.IValueInfoProto>();
  for (const v of src.input ?? []) if (v.name) declared.set(v.name, v);
  const input: onnx.IValueInfoProto[] = modelInputs.map((v) => declared.get(v)!);
  for (const b of carriedIn) input.push(valueInfoOf(b.name, types.get(b.name)!, b.shape));

  const outDecl = new Map<string, onnx.IValueInfoProto>();
  for (const v of src.output ?? []) if (v.name) outDecl.set(v.name, v);
  const output: onnx.IValueInfoProto[] = [outDecl.get(exit)!];
  for (const b of carriedOut) if (b.name !== exit) output.push(valueInfoOf(b.name, types.get(b.name)!, b.shape));

  const boundaryNames = new Set([...carriedIn, ...carriedOut].map((b) => b.name));
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const valueInfo = (src.valueInfo ?? []).filter((v) => v.name && produced.has(v.name) && !boundaryNames.has(v.name) && v.name !== exit);
  const sparseInitializer = (src.sparseInitializer ?? []).filter((t) => used.has(t.values?.name ?? ''));
  const graph: onnx.IGraphProto = { ...src, node: nodes, initializer, input, output, valueInfo, sparseInitializer };
  const model = proto.ModelProto.create({ ...loaded.model, graph });
  return { bytes: proto.ModelProto.encode(model).finish(), ...(weightsDir ? { weightsDir } : {}) };
}

/** One line per stage for messages and the CLI: what it computes and what crosses its cuts. */
export function describeSplit(split: StageSplit): string[] {
  return split.stages.map((s) => {
    const ins = [...s.modelInputs, ...s.carriedIn.map((b) => `${b.name} ${formatShape(b.shape)}`)].join(', ');
    const outs = s.carriedOut.map((b) => b.name).join(', ');
    return `stage ${s.index + 1}: ${s.nodes} nodes, reads ${ins || '(nothing)'} → ${s.exit}${outs ? ` + ${outs}` : ''}`;
  });
}
