/** What the studio knows about an ONNX model after inspecting it. */

/**
 * The most exits a model (and a trace) may have. Multi-exit networks have a
 * few dozen at most; a model or file claiming thousands is refused at once
 * rather than costing minutes of work per pair of exits.
 */
export const MAX_EXITS = 256;

/** ONNX tensor element types by their ONNX name, lowercased ("float", "int64", ...). */
export type ElementType =
  | 'float' | 'float16' | 'bfloat16' | 'double'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string' | 'unknown';

/** A dimension: a fixed size, a symbolic name ("batch", "N"), or null when unknown. */
export type Dim = number | string | null;

export interface TensorInfo {
  name: string;
  type: ElementType;
  shape: Dim[];
}

export interface ExitInfo {
  /** Position in depth order, 0-based. */
  index: number;
  /** Output name. */
  name: string;
  /** Number of classes C (last dim). */
  classes: number;
  /** Logits (softmax applied by the studio) or probabilities (used as they are). */
  kind: 'logits' | 'probs';
  /** True when the output is [batch, 1, C] and gets squeezed. */
  squeeze: boolean;
  /** Cumulative multiply-accumulates (per sample) of the ancestor subgraph of this exit, at the input shapes in ModelInfo.macsBasis. */
  macs: number;
  /** How `macs` was obtained: see MacsSource. */
  macsSource: MacsSource;
  /** Number of graph nodes in the ancestor subgraph of this exit. */
  nodes: number;
}

/**
 * How an exit's MAC count was obtained.
 * - static: every arithmetic node was sized from the graph, at the input shapes of the basis.
 * - probed: some shapes are only computed at run time; they were read from one run of the model.
 * - estimate: a lower bound or a guess: some arithmetic node could not be sized (it counts 0),
 *   or a symbolic input dim (a sequence length, an image side) had no value and got a default.
 */
export type MacsSource = 'static' | 'probed' | 'estimate';

/** A symbolic (or unknown) input dim other than the batch, and the value the MAC count used for it. */
export interface MacsDim {
  /** The dim's name in the model ("seq"), or input[axis] when it has none. */
  name: string;
  value: number;
  /** data: a sample of the dataset; user: given by name; default: nothing said, DEFAULT_DIM used. */
  from: 'data' | 'user' | 'default';
}

/** What the MAC counts of a model are for, and how they were obtained. */
export interface MacsBasis {
  /** The input shapes counted: one sample (batch 1), every symbolic dim given a value. */
  inputs: { name: string; shape: number[] }[];
  /** Symbolic input dims other than the batch and the values they took. */
  dims: MacsDim[];
  /** Arithmetic (counted) nodes in the whole graph. */
  nodes: number;
  /** Of those, the ones sized by one run of the model, and what that run was fed. */
  probed: number;
  probeFeed?: 'data' | 'zeros';
  /** Of those, the ones that could not be sized: they count 0. */
  unsized: number;
}

export interface IgnoredOutput {
  name: string;
  reason: string;
  /** Present when the output has an exit's shape but a heuristic set it aside: what it would be as an exit, so a user can still select it. */
  asExit?: Omit<ExitInfo, 'index'>;
}

export interface ModelInfo {
  path: string;
  sha256: string;
  /** producer name/version and opset, for display */
  producer: string;
  opset: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Detected exits in depth order (ancestor compute, not declaration order). */
  exits: ExitInfo[];
  ignored: IgnoredOutput[];
  /** Total MACs of the whole graph (per sample). */
  totalMacs: number;
  /** The input shapes the MAC counts are for and how they were obtained. */
  macsBasis: MacsBasis;
  /** Things the user may want to know: ops whose shapes or costs could not be worked out. */
  warnings?: string[];
}
