/**
 * MACs per node from exact shapes. Every input dim gets a number first (batch 1; a sequence
 * length or image side from a real sample, a value the user gave, or DEFAULT_DIM), so the shape
 * arithmetic exporters write (Shape → Gather → Concat → Reshape) folds to numbers and every
 * arithmetic node gets its shapes statically. Nodes still unsized after that (data-dependent
 * shapes, ops without a shape rule) get theirs from one run of the model on the sample, or on
 * zeros of the bound dims.
 */
import type * as ort from 'onnxruntime-node';
import { inputError } from '../errors.js';
import type { GraphIndex } from './graph.js';
import { costOperands, isCosted, nodeMacs } from './macs.js';
import { probeValueShapes, zeroFeed } from './probe.js';
import type { LoadedModel } from './load.js';
import { propagateShapes, type Shape } from './shapes.js';
import type { MacsBasis, MacsDim, TensorInfo } from './types.js';

/** The value a symbolic input dim other than the batch takes when nothing says otherwise. */
export const DEFAULT_DIM = 128;

export interface CountOptions {
  /** Values for symbolic input dims, by name ("seq": 256) or as input[axis]. */
  dims?: Record<string, number>;
  /** One real sample (a batch of one) per input: its dims are counted, and a probing run is fed with it. */
  sample?: Record<string, ort.Tensor>;
  /** Run the model once when static shapes leave arithmetic nodes unsized (default true). */
  probe?: boolean;
}

/** How one node's count was obtained: not an arithmetic op, from static shapes, from the run, or not at all. */
export type NodeSource = 'none' | 'static' | 'probed' | 'unsized';

export interface MacsCount {
  /** Per node (graph order), per sample. */
  macs: number[];
  source: NodeSource[];
  basis: MacsBasis;
  warnings: string[];
}

interface Bound {
  inputs: Map<string, number[]>;
  symbols: Map<string, number>;
  dims: MacsDim[];
  batch: number;
}

/** Fixed dims for every graph input: the sample's, else the declared ones with symbols given values. */
function bindInputs(inputs: TensorInfo[], opts: CountOptions): Bound {
  const symbols = new Map<string, number>();
  const dims: MacsDim[] = [];
  const given = opts.dims ?? {};
  const bound = new Map<string, number[]>();
  for (const input of inputs) {
    const sample = opts.sample?.[input.name];
    const shape = input.shape.map((d, axis): number => {
      if (typeof d === 'number') return d;
      const name = typeof d === 'string' ? d : `${input.name}[${axis}]`;
      // The first dim is the batch: costs are per sample, counted at batch 1.
      if (axis === 0) {
        if (typeof d === 'string') symbols.set(d, 1);
        return 1;
      }
      const known = symbols.get(name);
      if (known !== undefined) return known;
      const fromData = sample?.dims[axis];
      const value = fromData ?? given[name] ?? DEFAULT_DIM;
      const from: MacsDim['from'] = fromData !== undefined ? 'data' : given[name] !== undefined ? 'user' : 'default';
      symbols.set(name, value);
      dims.push({ name, value, from });
      return value;
    });
    const fits = sample && sample.dims.length > 0 && (shape.length === 0 || sample.dims.length === shape.length);
    // A model with a fixed batch keeps it: the count is divided by it below.
    bound.set(input.name, fits ? [shape[0] ?? 1, ...sample.dims.slice(1)] : shape);
  }
  for (const name of Object.keys(given)) {
    if (symbols.get(name) === 1 && !dims.some((d) => d.name === name)) throw new Error(`dim '${name}' is the batch: MACs are counted per sample, at batch 1`);
    if (!dims.some((d) => d.name === name)) {
      const known = dims.map((d) => d.name);
      throw new Error(`no symbolic input dim is called '${name}'; ${known.length ? `the model's are: ${known.join(', ')}` : 'the model has none besides the batch'}`);
    }
  }
  const first = inputs[0] ? bound.get(inputs[0].name)?.[0] : undefined;
  return { inputs: bound, symbols, dims, batch: first && first > 0 ? first : 1 };
}

/** The sample when it has exactly the bound dims (a fixed-batch model cannot take a batch of one), else zeros. */
function feedsFor(inputs: TensorInfo[], bound: Bound, opts: CountOptions): Record<string, ort.Tensor> | string {
  const sample = opts.sample;
  if (sample && inputs.every((i) => sample[i.name]?.dims.join() === bound.inputs.get(i.name)!.join())) return sample;
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const dims = bound.inputs.get(input.name)!;
    const t = zeroFeed({ ...input, shape: dims }, (d) => d as number);
    if (typeof t === 'string') return t;
    feeds[input.name] = t;
  }
  return feeds;
}

export async function countMacs(loaded: LoadedModel, g: GraphIndex, opset: number, inputs: TensorInfo[], opts: CountOptions = {}): Promise<MacsCount> {
  let bound: Bound;
  try {
    bound = bindInputs(inputs, opts);
  } catch (e) {
    throw inputError(loaded.path, (e as Error).message);
  }
  const { graph } = loaded;
  const { shapes } = propagateShapes(g, graph.inputs, [...graph.valueInfo, ...graph.outputs], opset, { inputs: bound.inputs, symbols: bound.symbols });
  const shapeOf = (v: string): Shape | undefined => shapes.get(v);
  const macs: number[] = [];
  const source: NodeSource[] = [];
  const unsized: number[] = [];
  g.nodes.forEach((n, i) => {
    const v = nodeMacs(n, shapeOf);
    macs.push(v ?? 0);
    source.push(v === null ? 'unsized' : isCosted(n) ? 'static' : 'none');
    if (v === null) unsized.push(i);
  });

  const warnings: string[] = [];
  const basis: MacsBasis = {
    inputs: inputs.map((i) => ({ name: i.name, shape: bound.inputs.get(i.name)! })),
    dims: bound.dims,
    nodes: source.filter((s) => s !== 'none').length,
    probed: 0,
    unsized: 0,
  };
  if (unsized.length && opts.probe !== false) {
    const feeds = feedsFor(inputs, bound, opts);
    const wanted = [...new Set(unsized.flatMap((i) => costOperands(g.nodes[i]!)).filter((v) => !g.initializers.has(v)))];
    const probed = typeof feeds === 'string' ? { shapes: new Map<string, number[]>(), error: feeds } : await probeValueShapes(loaded, feeds, wanted);
    if (probed.error) warnings.push(`could not run the model once to size ${unsized.length} arithmetic node(s): ${probed.error}`);
    else basis.probeFeed = feeds === opts.sample ? 'data' : 'zeros';
    const after = (v: string): Shape | undefined => probed.shapes.get(v) ?? shapes.get(v);
    for (const i of unsized) {
      const v = nodeMacs(g.nodes[i]!, after);
      if (v === null) continue;
      macs[i] = v;
      source[i] = 'probed';
      basis.probed++;
    }
  }
  const still = unsized.filter((i) => source[i] === 'unsized');
  basis.unsized = still.length;
  for (const i of still.slice(0, 5)) {
    const n = g.nodes[i]!;
    warnings.push(`${n.opType} node '${n.name}': shapes unknown, its MACs count as 0 (the exits after it are estimates)`);
  }
  if (still.length > 5) warnings.push(`... and ${still.length - 5} more arithmetic nodes whose MACs count as 0`);
  if (bound.batch > 1) for (let i = 0; i < macs.length; i++) macs[i] = macs[i]! / bound.batch;
  return { macs, source, basis, warnings };
}
