/** inspectModel: everything the studio needs to know about a multi-exit ONNX model. */
import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import { MAX_EXITS, type ExitInfo, type IgnoredOutput, type MacsBasis, type MacsSource, type ModelInfo, type TensorInfo } from './types.js';
import { inputError } from '../errors.js';
import { countMacs, type CountOptions, type NodeSource } from './count-macs.js';
import { classifyShape, detectExits, type ExitCandidate } from './exits.js';
import { ancestorNodes, indexGraph, type GraphIndex } from './graph.js';
import { loadModel } from './load.js';
import { sumMacs } from './macs.js';
import { applySelection, orderExits, tooFewExits } from './order.js';
import { probeOutputShapes } from './probe.js';
import { toNumber } from './proto.js';
import { withSmallConstants } from './shape-constants.js';
import { declaredShape, merge, propagateShapes, tensorInfo } from './shapes.js';

export interface InspectOptions extends Pick<CountOptions, 'dims'> {
  /** One real sample (a batch of one) for the model's inputs: the MACs are counted at its shapes, and a probing run is fed with it. */
  sample?: (inputs: TensorInfo[]) => Promise<Record<string, ort.Tensor> | undefined>;
  /** Exit names chosen by the user, in the order to use (overrides detection and depth order). */
  select?: string[];
  /** Return a ModelInfo even with fewer than two exits instead of throwing. */
  allowFewerExits?: boolean;
  /** Run the model once when an output's shape, or a shape the MAC count needs, cannot be worked out statically (default true). */
  probe?: boolean;
}

const MAX_WARNINGS = 20;

function needsProbe(t: TensorInfo): boolean {
  return t.shape.length === 0 || t.shape.slice(1).some((d) => d === null);
}

export async function inspectModel(path: string, opts: InspectOptions = {}): Promise<ModelInfo> {
  const loaded = await loadModel(path);
  const { model } = loaded;
  const graph = await withSmallConstants(loaded);
  const g = indexGraph(path, graph);
  const opset = toNumber((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version);
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name ?? '')).map((v) => tensorInfo(v));
  const { shapes, unknownOps } = propagateShapes(g, graph.inputs, [...graph.valueInfo, ...graph.outputs], opset);
  let outputs = graph.outputs.map((v) => tensorInfo(v, merge(shapes.get(v.name ?? ''), declaredShape(v))));

  const warnings: string[] = [];
  if (unknownOps.size) warnings.push(`shapes not worked out past op types: ${[...unknownOps].sort().join(', ')}`);
  const unknown = outputs.filter(needsProbe).map((o) => o.name);
  if (unknown.length && opts.probe !== false) {
    const probed = await probeOutputShapes(path, inputs, unknown);
    if (probed.error) warnings.push(`could not run one sample to find the shapes of ${unknown.join(', ')}: ${probed.error}`);
    outputs = outputs.map((o) => {
      const s = probed.shapes.get(o.name);
      return s ? { ...o, shape: merge(s, o.shape.length ? o.shape : undefined) ?? s } : o;
    });
  }

  // Before the per-exit work, which grows with exits × graph size: thousands of candidates would take minutes.
  const candidates = outputs.filter((o) => typeof classifyShape(o) !== 'string').length;
  if (candidates > MAX_EXITS) {
    throw inputError(path, `has ${candidates} outputs shaped like class scores; the studio takes at most ${MAX_EXITS} exits (multi-exit networks have a few dozen): export the model with its exit heads as its only outputs`);
  }

  const sample = opts.sample ? await opts.sample(inputs) : undefined;
  const costs = await countMacs({ ...loaded, graph }, g, opset, inputs, {
    ...(opts.dims ? { dims: opts.dims } : {}),
    ...(sample ? { sample } : {}),
    ...(opts.probe === false ? { probe: false } : {}),
  });
  warnings.push(...costs.warnings);
  const { exits: found, ignored: ignoredRaw } = detectExits(g, outputs);
  const cost = (c: ExitCandidate): Omit<ExitInfo, 'index'> & { ancestors: Set<number> } => costed(g, costs.macs, costs.source, costs.basis, c);
  const exits = orderExits(found.map(cost));
  const ignored: IgnoredOutput[] = ignoredRaw.map(({ candidate, ...i }) => {
    if (!candidate) return i;
    const { ancestors: _a, ...asExit } = cost(candidate);
    return { ...i, asExit };
  });

  let info: ModelInfo = {
    path,
    sha256: createHash('sha256').update(loaded.bytes).digest('hex'),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || 'unknown',
    opset,
    inputs,
    outputs,
    exits,
    ignored,
    totalMacs: sumMacs(costs.macs, g.topo),
    macsBasis: costs.basis,
  };
  if (warnings.length) {
    const extra = warnings.length - MAX_WARNINGS;
    info.warnings = extra > 0 ? [...warnings.slice(0, MAX_WARNINGS), `... and ${extra} more`] : warnings;
  }
  if (opts.select) info = applySelection(info, opts.select);
  else if (exits.length < 2 && !opts.allowFewerExits) throw tooFewExits(path, info);
  return info;
}

/** Exact when every arithmetic node on the way was sized and no input dim was a guess. */
function sourceOf(nodes: Set<number>, source: NodeSource[], basis: MacsBasis): MacsSource {
  let probed = false;
  for (const i of nodes) {
    if (source[i] === 'unsized') return 'estimate';
    if (source[i] === 'probed') probed = true;
  }
  if (basis.dims.some((d) => d.from === 'default')) return 'estimate';
  return probed ? 'probed' : 'static';
}

function costed(g: GraphIndex, macs: number[], source: NodeSource[], basis: MacsBasis, c: ExitCandidate): Omit<ExitInfo, 'index'> & { ancestors: Set<number> } {
  const ancestors = ancestorNodes(g, c.name);
  return {
    name: c.name, classes: c.classes, kind: c.kind, squeeze: c.squeeze,
    macs: sumMacs(macs, ancestors), macsSource: sourceOf(ancestors, source, basis), nodes: ancestors.size, ancestors,
  };
}
