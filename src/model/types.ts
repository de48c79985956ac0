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
  /** Cumulative multiply-accumulates (batch 1) of the ancestor subgraph of this exit. */
  macs: number;
  /** Number of graph nodes in the ancestor subgraph of this exit. */
  nodes: number;
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
  /** Total MACs of the whole graph (batch 1). */
  totalMacs: number;
  /** Things the user may want to know: ops whose shapes or costs could not be worked out. */
  warnings?: string[];
}
