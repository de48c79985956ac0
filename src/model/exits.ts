/**
 * Which outputs are exits. An exit is a float output shaped [batch, C] (or [batch, 1, C],
 * squeezed) with C >= 2. Two heuristics set exit-shaped outputs aside:
 *
 * - Hidden state: an output whose data (looking through Identity) is computed on the way to
 *   another exit-shaped output is an intermediate, e.g. an embedding the model also returns.
 *   Real exits are leaves: their heads branch off the backbone and nothing reads their scores.
 *   When the path is only Softmax-like ops of the same shape, the two are the same scores and
 *   the later one (the probabilities the model meant to return) is kept.
 * - Odd class count: exits of one model share C. When candidates disagree, the C shared by the
 *   most outputs wins (on a tie, the smaller C: embeddings are wider than class lists).
 */
import type { ElementType, ExitInfo, IgnoredOutput, TensorInfo } from './types.js';
import { ancestorNodes, producingOp, sourceValue, valuesOf, type GraphIndex } from './graph.js';
import { formatShape } from './shapes.js';

export interface ExitCandidate {
  name: string;
  classes: number;
  kind: ExitInfo['kind'];
  squeeze: boolean;
}

const FLOATS: ElementType[] = ['float', 'float16', 'bfloat16', 'double'];
/** Ops that turn scores into the same scores in another form. */
const SCORE_MAPS = new Set(['Softmax', 'LogSoftmax', 'Sigmoid', 'Identity', 'Dropout', 'Cast', 'Flatten', 'Squeeze', 'Reshape']);

/** Shape test alone: returns the candidate or why not. */
export function classifyShape(out: TensorInfo): { classes: number; squeeze: boolean } | string {
  const s = out.shape;
  const shown = formatShape(s);
  if (!FLOATS.includes(out.type)) return `element type ${out.type} is not a float score`;
  if (s.length === 0) return 'shape unknown (the model declares none and it could not be inferred)';
  const squeeze = s.length === 3 && s[1] === 1;
  if (s.length !== 2 && !squeeze) return `shape ${shown} is not [batch, C] or [batch, 1, C]`;
  const c = s[s.length - 1];
  if (c === null || c === undefined) return `shape ${shown}: the number of classes is unknown`;
  if (typeof c === 'string') return `shape ${shown}: the number of classes is symbolic ('${c}'), an exit needs a fixed C`;
  if (c < 2) return `shape ${shown} has C=${c}: a single score per sample, not class scores (C must be at least 2)`;
  return { classes: c, squeeze };
}

/** Softmax at the end means probabilities; anything else (LogSoftmax included) is treated as logits. */
export function scoreKind(g: GraphIndex, name: string): ExitInfo['kind'] {
  return producingOp(g, name) === 'Softmax' ? 'probs' : 'logits';
}

/** True when every node between `from` and `to` only re-expresses the same scores. */
function onlyScoreMaps(g: GraphIndex, from: string, to: string): boolean {
  const nodes = ancestorNodes(g, to);
  const upstream = ancestorNodes(g, from);
  for (const i of nodes) if (!upstream.has(i) && !SCORE_MAPS.has(g.nodes[i]!.opType)) return false;
  return true;
}

/** An ignored output; `candidate` when it had an exit's shape and only a heuristic set it aside. */
export interface IgnoredCandidate extends IgnoredOutput {
  candidate?: ExitCandidate;
}

export function detectExits(g: GraphIndex, outputs: TensorInfo[]): { exits: ExitCandidate[]; ignored: IgnoredCandidate[] } {
  const ignored: IgnoredCandidate[] = [];
  let cands: (ExitCandidate & { shape: string })[] = [];
  const seen = new Set<string>();
  for (const out of outputs) {
    if (seen.has(out.name)) continue;
    seen.add(out.name);
    const c = classifyShape(out);
    if (typeof c === 'string') ignored.push({ name: out.name, reason: c });
    else cands.push({ name: out.name, ...c, kind: scoreKind(g, out.name), shape: formatShape(out.shape) });
  }

  const ancestorValues = new Map(cands.map((c) => [c.name, valuesOf(g, ancestorNodes(g, c.name))]));
  const hidden = new Map<string, string>();
  for (const c of cands) {
    const src = sourceValue(g, c.name);
    const later = cands.find((o) => o.name !== c.name && ancestorValues.get(o.name)!.has(src) && sourceValue(g, o.name) !== src);
    if (!later) continue;
    hidden.set(
      c.name,
      onlyScoreMaps(g, src, later.name)
        ? `shape ${c.shape}: the same scores as exit '${later.name}', which is computed from it (kept '${later.name}')`
        : `shape ${c.shape} has C=${c.classes} but is a hidden state, not an exit: '${later.name}' is computed from it`,
    );
  }
  // Two outputs aliasing one tensor (Identity twice) are one exit: keep the first declared.
  const bySource = new Map<string, string>();
  for (const c of cands) {
    if (hidden.has(c.name)) continue;
    const src = sourceValue(g, c.name);
    const first = bySource.get(src);
    if (first) hidden.set(c.name, `shape ${c.shape}: the same tensor as output '${first}'`);
    else bySource.set(src, c.name);
  }
  for (const c of cands) if (hidden.has(c.name)) ignored.push({ name: c.name, reason: hidden.get(c.name)!, candidate: strip(c) });
  cands = cands.filter((c) => !hidden.has(c.name));

  const counts = new Map<number, number>();
  for (const c of cands) counts.set(c.classes, (counts.get(c.classes) ?? 0) + 1);
  if (counts.size > 1) {
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
    for (const c of cands) {
      if (c.classes !== best) {
        ignored.push({ name: c.name, reason: `shape ${c.shape} has C=${c.classes} but the other ${counts.get(best)} exit(s) have C=${best}`, candidate: strip(c) });
      }
    }
    cands = cands.filter((c) => c.classes === best);
  }
  return { exits: cands.map(strip), ignored };
}

function strip(c: ExitCandidate & { shape: string }): ExitCandidate {
  return { name: c.name, classes: c.classes, kind: c.kind, squeeze: c.squeeze };
}

/**
 * Whether a first batch of scores already are probabilities: every row non-negative and
 * summing to 1. Lets inference catch probabilities made by ops other than a final Softmax.
 */
export function probsFromFirstBatch(rows: ReadonlyArray<ArrayLike<number>>, tolerance = 1e-3): boolean {
  if (rows.length === 0) return false;
  for (const row of rows) {
    if (row.length < 2) return false;
    let sum = 0;
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      if (!(v >= -tolerance && v <= 1 + tolerance)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > tolerance) return false;
  }
  return true;
}

/** probsFromFirstBatch on a flat [rows × classes] buffer, as onnxruntime returns it. */
export function probsFromFlat(data: ArrayLike<number>, classes: number, tolerance = 1e-3): boolean {
  if (classes < 2 || data.length === 0 || data.length % classes !== 0) return false;
  const rows: ArrayLike<number>[] = [];
  for (let r = 0; r < data.length / classes; r++) rows.push(Array.prototype.slice.call(data, r * classes, (r + 1) * classes) as number[]);
  return probsFromFirstBatch(rows, tolerance);
}
