/**
 * Merging the shard files of one cluster job (`infer --shard I/N --out`) into
 * one trace. The files must be pieces of one recording (same model, exits,
 * classes, dataset and settings) with every shard present exactly once; they
 * are concatenated in shard order, whatever order they were given in (a shell
 * glob puts shard-10 before shard-2).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { z } from 'zod';
import { StudioError, inputError, missingFile } from '../errors.js';
import { defaultCosts } from './costs.js';
import { applyImportOptions, importTrace, readNpzMeta, type ImportOptions } from './import.js';
import type { NpzMeta, NpzRecording } from './npz-format.js';
import { describeShard, shardPlace, type ShardPlace } from './shards.js';
import type { Trace, TraceExit } from './types.js';

/** What a set of shard files was recorded from, as one merged trace keeps it. */
export interface MergedRecording extends Omit<NpzRecording, 'shard'> {
  shards: number;
  /** The files, in shard order. */
  files: string[];
}

export interface MergedShards {
  trace: Trace;
  recording: MergedRecording;
}

interface ShardFile {
  path: string;
  meta: NpzMeta;
  recording: NpzRecording;
}

const whole = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');
const recordingSchema = z.object({
  model: z.object({ name: z.string(), sha256 }),
  dataset: z.object({ name: z.string(), sha256 }),
  shard: z.object({ index: whole, count: z.number().int().positive(), first: whole, samples: whole, total: z.number().int().positive() }),
  settings: z.object({
    limit: z.number().int().positive().nullable(),
    labelColumn: z.string().nullable(),
    image: z.object({ mean: z.array(z.number()).optional(), std: z.array(z.number()).optional() }).nullable(),
  }),
}) satisfies z.ZodType<NpzRecording>;

/** Whether import-trace should treat `path` as a shard file (an .npz that `infer --out` wrote). */
export async function isShardFile(path: string): Promise<boolean> {
  if (extname(path).toLowerCase() !== '.npz' || !existsSync(path)) return false;
  try {
    return (await readNpzMeta(path))?.recording !== undefined;
  } catch {
    return false; // not readable as a trace description: the ordinary import names the problem
  }
}

/** import-trace of shard files: merged, then the import's own --labels and --costs applied to the whole. */
export async function importShards(paths: string[], opts: ImportOptions = {}): Promise<MergedShards> {
  if (opts.labelColumn) throw inputError(paths[0]!, 'a label column applies to prediction matrices; give the labels of shard files as a labels file', undefined, 'labelColumn');
  const merged = await mergeShardFiles(paths);
  await applyImportOptions(merged.trace, paths.length === 1 ? paths[0]! : `the ${paths.length} shard files`, opts);
  return merged;
}

export async function mergeShardFiles(paths: string[]): Promise<MergedShards> {
  // Every header is checked before any array is read: a refused merge costs one pass over the small exits.json files.
  const headers: ShardFile[] = [];
  for (const p of paths) headers.push(await readShardHeader(p)); // one file open at a time, however many shards
  const files = headers.sort((a, b) => a.recording.shard.index - b.recording.shard.index);
  const ref = files[0]!;
  for (const f of files.slice(1)) checkSameRecording(ref, f);
  checkComplete(files);

  // One shard in memory at a time, copied into arrays sized for the whole: peak memory is the merged trace plus one shard.
  let merged: Trace | undefined;
  let first: Trace | undefined;
  const K = ref.meta.exits.length;
  const latency = new Float64Array(K);
  let timed = true;
  for (const f of files) {
    const t = await importTrace(f.path);
    const place = f.recording.shard;
    if (t.samples !== place.samples) throw inputError(f.path, `holds ${t.samples} samples, but its exits.json says ${describeShard(place)}`);
    first ??= t;
    merged ??= allocate(t, place.total);
    checkSameColumns(files[0]!.path, first, f.path, t);
    copyInto(merged, t, place.first);
    t.exits.forEach((e, k) => {
      if (e.latencyMs === undefined) timed = false;
      else latency[k]! += e.latencyMs * t.samples;
    });
  }
  const trace = merged!;
  // Each machine timed its own exits: the merged trace keeps their mean, weighted by samples, and costs follow the rule infer uses.
  trace.exits = trace.exits.map((e, k): TraceExit => {
    const { latencyMs: _, ...rest } = e;
    return timed ? { ...rest, latencyMs: latency[k]! / trace.samples } : rest;
  });
  const { costs, costSource } = defaultCosts(trace.exits);
  trace.costs = Float64Array.from(costs);
  trace.costSource = costSource;
  const { model, dataset, settings } = ref.recording;
  return { trace, recording: { model, dataset, settings, shards: ref.recording.shard.count, files: files.map((f) => f.path) } };
}

async function readShardHeader(path: string): Promise<ShardFile> {
  const made = 'shard files are written by recording one shard of a dataset into its own .npz file';
  if (extname(path).toLowerCase() !== '.npz') throw inputError(path, `only shard files can be merged, and this is not an .npz; ${made}`);
  if (!existsSync(path)) throw missingFile(path);
  let meta: NpzMeta | undefined;
  try {
    meta = await readNpzMeta(path);
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw inputError(path, `not a readable .npz (zip) file: ${(e as Error).message}`, e);
  }
  if (!meta?.recording) throw inputError(path, `is not a shard file: its exits.json does not say what it was recorded from; ${made}`);
  const r = recordingSchema.safeParse(meta.recording);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw inputError(path, `exits.json is damaged: recording.${i.path.join('.')}: ${i.message}`);
  }
  const s = r.data.shard;
  if (s.index >= s.count) throw inputError(path, `exits.json is damaged: shard ${s.index} of ${s.count} (shards are numbered 0 to ${s.count - 1})`);
  const expected = shardPlace(s, s.total);
  if (expected.first !== s.first || expected.samples !== s.samples) {
    throw inputError(path, `exits.json is damaged: ${describeShard(expected)} is expected, but it says ${s.samples} samples from sample ${s.first}`);
  }
  return { path, meta, recording: r.data };
}

const short = (sha: string): string => `sha256 ${sha.slice(0, 12)}…`;

/** Refuses a file that is not a piece of the same recording as `ref`, naming both files and what differs. */
function checkSameRecording(ref: ShardFile, f: ShardFile): void {
  const a = f.recording;
  const b = ref.recording;
  const differ = (what: string, mine: string, theirs: string, consequence: string): never => {
    throw inputError(f.path, `${what} ${mine}, but ${basename(ref.path)} ${theirs}: ${consequence}`);
  };
  if (a.model.sha256 !== b.model.sha256) {
    differ('was recorded with model', `${a.model.name} (${short(a.model.sha256)})`, `with ${b.model.name} (${short(b.model.sha256)})`, 'shards of different models cannot be merged');
  }
  const exitsA = f.meta.exits.map((e) => e.name).join(', ');
  const exitsB = ref.meta.exits.map((e) => e.name).join(', ');
  if (exitsA !== exitsB) differ('records exits', exitsA, `records ${exitsB}`, 'shards with different exits cannot be merged');
  if (f.meta.classes !== ref.meta.classes) differ('has', `${f.meta.classes} classes`, `has ${ref.meta.classes}`, 'shards with different classes cannot be merged');
  if (a.dataset.sha256 !== b.dataset.sha256 || a.shard.total !== b.shard.total) {
    differ(
      'was recorded on', `${a.dataset.name} (${short(a.dataset.sha256)}, ${a.shard.total} samples)`,
      `on ${b.dataset.name} (${short(b.dataset.sha256)}, ${b.shard.total} samples)`, 'shards of different datasets cannot be merged',
    );
  }
  const setA = JSON.stringify(a.settings);
  const setB = JSON.stringify(b.settings);
  if (setA !== setB) differ('was recorded with settings', setA, `with ${setB}`, 'shards must read the data the same way (limit, label column, image mean and std)');
  if (a.shard.count !== b.shard.count) differ('is one of', `${a.shard.count} shards`, `is one of ${b.shard.count}`, 'shards of different splits cannot be merged');
}

/** Every shard 0..N-1 exactly once (files sorted by shard index). */
function checkComplete(files: ShardFile[]): void {
  for (let i = 1; i < files.length; i++) {
    const [a, b] = [files[i - 1]!, files[i]!];
    if (a.recording.shard.index === b.recording.shard.index) {
      throw inputError(b.path, `is ${describeShard(b.recording.shard)}, and so is ${a.path}: the shards overlap; give each shard once`);
    }
  }
  const { count, total } = files[0]!.recording.shard;
  if (files.length === count) return;
  const have = new Set(files.map((f) => f.recording.shard.index));
  const missing: ShardPlace[] = [];
  for (let i = 0; i < count; i++) if (!have.has(i)) missing.push(shardPlace({ index: i, count }, total));
  const dir = dirname(files[0]!.path);
  const given = files.map((f) => (dirname(f.path) === dir ? basename(f.path) : f.path));
  throw new StudioError(
    `${dir}: ${files.length} of ${count} shard files given (${firstFew(given)}); missing ${firstFew(missing.map(describeShard))}. A merged trace holds every shard: give all ${count} files`,
    { kind: 'input', file: files[0]!.path },
  );
}

/** "a, b, c, d, e and 7 more": long lists (a job of 1,000 shards) stay one readable line. */
function firstFew(items: string[], shown = 5): string {
  return items.slice(0, shown).join(', ') + (items.length > shown ? ` and ${items.length - shown} more` : '');
}

/** Shards of one recording still must carry the same columns (a shard recorded with --probs or labels, another without). */
function checkSameColumns(refPath: string, ref: Trace, path: string, t: Trace): void {
  const has = (x: Trace): string[] => [
    ...(x.maxProb ? ['confidence'] : []),
    ...(x.probs ? [`probabilities (${x.classes} classes)`] : []),
    ...(x.labels ? ['labels'] : []),
  ];
  const [a, b] = [has(t).join(', ') || 'predictions only', has(ref).join(', ') || 'predictions only'];
  if (a !== b) throw inputError(path, `holds ${a}, but ${basename(refPath)} holds ${b}: record every shard with the same choice of class scores (probs) and labels`);
}

/** An empty trace of `total` samples with the columns of `like`. */
function allocate(like: Trace, total: number): Trace {
  const K = like.exits.length;
  const t: Trace = { samples: total, exits: like.exits, classes: like.classes, costs: like.costs, costSource: like.costSource, pred: new Int32Array(total * K) };
  if (like.macsBasis) t.macsBasis = like.macsBasis;
  if (like.maxProb) Object.assign(t, { maxProb: new Float32Array(total * K), entropy: new Float32Array(total * K), margin: new Float32Array(total * K) });
  if (like.probs) t.probs = new Float32Array((like.probs.length / like.samples) * total);
  if (like.labels) t.labels = new Int32Array(total);
  return t;
}

/** Copies shard `t` into `into` from sample `first` on (sample-major arrays: a shard is one contiguous block of each). */
function copyInto(into: Trace, t: Trace, first: number): void {
  const K = into.exits.length;
  into.pred.set(t.pred, first * K);
  if (t.maxProb) into.maxProb!.set(t.maxProb, first * K);
  if (t.entropy) into.entropy!.set(t.entropy, first * K);
  if (t.margin) into.margin!.set(t.margin, first * K);
  if (t.probs) into.probs!.set(t.probs, (t.probs.length / t.samples) * first);
  if (t.labels) into.labels!.set(t.labels, first);
}
