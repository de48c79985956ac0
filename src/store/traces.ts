/**
 * Traces in SQLite: a header row plus typed-array chunks per field.
 * A trace is written as 'running', chunk by chunk, and becomes visible to
 * readers only when finished as 'complete' in one transaction.
 */
import { notFound, StudioError } from '../errors.js';
import type { MacsBasis } from '../model/types.js';
import type { CostSource, Trace, TraceExit, TraceMeta } from '../trace/types.js';
import type { LatencyProfile } from '../model/timing.js';
import { readBlobsShared, sharedArray, toBlob, toShared, type NumericArray, type NumericCtor } from './blobs.js';
import { nowIso, type Db } from './db.js';
import type { JobWriter } from './liveness.js';
import { currentJobRequest, parseRequest, type JobRequest } from './requests.js';

export const TRACE_FIELDS = ['pred', 'maxProb', 'entropy', 'margin', 'probs', 'labels'] as const;
export type TraceField = (typeof TRACE_FIELDS)[number];
export type TraceChunk = Partial<Record<TraceField, NumericArray>>;

/** What finish() may set: the parts of a header known only once the job is done. */
export type TraceFinish = Partial<Pick<TraceHeader, 'key' | 'datasetId' | 'samples' | 'classes' | 'exits' | 'costs' | 'costSource' | 'hasConfidence' | 'hasProbs' | 'hasLabels' | 'meta'>>;

/** Samples per chunk when a whole in-memory trace is written chunk by chunk. */
export const SAVE_CHUNK_SAMPLES = 16384;

export interface TraceHeader {
  name: string;
  source: 'inference' | 'import';
  /** Identity of the inference that made it: the same key is never run twice unless forced. */
  key?: string;
  modelId?: number;
  datasetId?: number;
  samples: number;
  classes: number;
  exits: TraceExit[];
  costs: number[];
  costSource: CostSource;
  hasConfidence: boolean;
  hasProbs: boolean;
  hasLabels: boolean;
  meta?: Record<string, unknown>;
  /** The command that made it, to run it again if interrupted; default: the job request in scope (withJobRequest). */
  request?: JobRequest;
}

interface TraceRow {
  id: number;
  name: string;
  source: 'inference' | 'import';
  status: string;
  samples: number;
  classes: number;
  exits_json: string;
  costs_json: string;
  cost_source: CostSource;
  has_confidence: number;
  has_probs: number;
  has_labels: number;
  meta_json: string;
  created_at: string;
  model_path: string | null;
  model_sha256: string | null;
  dataset_path: string | null;
  dataset_sha256: string | null;
}

const SELECT_META = `
  SELECT t.*, m.path AS model_path, m.sha256 AS model_sha256, d.path AS dataset_path, d.sha256 AS dataset_sha256
  FROM traces t LEFT JOIN models m ON m.id = t.model_id LEFT JOIN datasets d ON d.id = t.dataset_id`;

function toMeta(r: TraceRow): TraceMeta {
  const meta: TraceMeta = {
    id: r.id,
    name: r.name,
    source: r.source,
    samples: r.samples,
    exits: JSON.parse(r.exits_json) as TraceExit[],
    classes: r.classes,
    costs: JSON.parse(r.costs_json) as number[],
    costSource: r.cost_source,
    hasConfidence: r.has_confidence === 1,
    hasProbs: r.has_probs === 1,
    hasLabels: r.has_labels === 1,
    createdAt: r.created_at,
  };
  if (r.model_path !== null) meta.modelPath = r.model_path;
  if (r.model_sha256 !== null) meta.modelSha256 = r.model_sha256;
  if (r.dataset_path !== null) meta.datasetPath = r.dataset_path;
  if (r.dataset_sha256 !== null) meta.datasetSha256 = r.dataset_sha256;
  const extra = JSON.parse(r.meta_json || '{}') as { macsBasis?: MacsBasis; latency?: LatencyProfile | null };
  if (extra.macsBasis) meta.macsBasis = extra.macsBasis;
  if (extra.latency) meta.latency = extra.latency;
  return meta;
}

/** The header fields a trace's own arrays determine. */
function headerOf(trace: Trace) {
  return {
    samples: trace.samples,
    classes: trace.classes,
    exits: trace.exits,
    costs: Array.from(trace.costs),
    costSource: trace.costSource,
    hasConfidence: trace.maxProb !== undefined,
    hasProbs: trace.probs !== undefined,
    hasLabels: trace.labels !== undefined,
  } satisfies Partial<TraceHeader>;
}

export class TraceStore {
  constructor(private readonly db: Db, private readonly writer: JobWriter) {}

  /** Starts a trace that chunks will be appended to; invisible until finish(). */
  begin(h: TraceHeader): number {
    const r = this.db
      .prepare(
        `INSERT INTO traces (name, source, trace_key, model_id, dataset_id, status, owner, owner_pid, samples, classes,
           exits_json, costs_json, cost_source, has_confidence, has_probs, has_labels, meta_json, created_at, request_json)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        h.name, h.source, h.key ?? null, h.modelId ?? null, h.datasetId ?? null, this.writer.owner(), process.pid, h.samples, h.classes,
        JSON.stringify(h.exits), JSON.stringify(h.costs), h.costSource,
        h.hasConfidence ? 1 : 0, h.hasProbs ? 1 : 0, h.hasLabels ? 1 : 0, JSON.stringify(h.meta ?? {}), nowIso(),
        requestJson(h.request ?? currentJobRequest()),
      );
    return Number(r.lastInsertRowid);
  }

  /**
   * The row of a trace this store is writing; anything else (a row another
   * process marked interrupted, or deleted) stops the writer: it must never
   * complete a trace whose chunks may have been dropped.
   */
  private writing(id: number): TraceRow & { owner: string | null } {
    const r = this.db.prepare('SELECT * FROM traces WHERE id = ?').get(id) as (TraceRow & { owner: string | null }) | undefined;
    if (!r || r.status !== 'running' || r.owner === null || !this.writer.isMine(r.owner)) {
      throw new StudioError(`trace ${id} is no longer being written by this process (${r ? `it is ${r.status}` : 'it was deleted'}); nothing more of it is stored`, { kind: 'internal' });
    }
    return r;
  }

  /**
   * begin(), unless a live writer is already making the same trace (the same
   * key, with probabilities when these would have them): then that trace's
   * id, to wait for. One immediate transaction, so two processes asking at
   * the same moment cannot both start. `force` starts regardless.
   */
  beginUnique(h: TraceHeader & { key: string }, force = false): { id: number } | { running: number } {
    return this.db
      .transaction(() => {
        if (!force) {
          const rows = this.db
            .prepare(`SELECT id, owner FROM traces WHERE trace_key = ? AND status = 'running' AND (has_probs = 1 OR ? = 0) ORDER BY id`)
            .all(h.key, h.hasProbs ? 1 : 0) as { id: number; owner: string | null }[];
          const live = rows.find((r) => r.owner !== null && this.writer.alive(r.owner));
          if (live) return { running: live.id };
        }
        return { id: this.begin(h) };
      })
      .immediate();
  }

  append(id: number, seq: number, chunk: TraceChunk): void {
    const ins = this.db.prepare('INSERT INTO trace_chunks (trace_id, field, seq, data) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      this.writing(id);
      for (const f of TRACE_FIELDS) {
        const a = chunk[f];
        if (a) ins.run(id, f, seq, toBlob(a));
      }
    })();
  }

  /**
   * Makes a running trace complete, with what is only known at the end. A
   * `key` takes over the identity from any older trace of the same key (a
   * forced re-run), so lookups find the newest.
   */
  finish(id: number, patch: TraceFinish = {}): void {
    this.db.transaction(() => {
      const row = this.writing(id);
      const problem = this.chunkProblem(id, {
        samples: patch.samples ?? row.samples,
        exits: (patch.exits ?? (JSON.parse(row.exits_json) as TraceExit[])).length,
        confidence: patch.hasConfidence ?? row.has_confidence === 1,
        probs: patch.hasProbs ?? row.has_probs === 1,
        labels: patch.hasLabels ?? row.has_labels === 1,
      });
      if (problem) throw new StudioError(`trace ${id} is damaged: ${problem}; it is not stored as complete`, { kind: 'internal' });
      const set: string[] = [`status = 'complete'`, 'owner_pid = NULL', 'owner = NULL'];
      const vals: unknown[] = [];
      const put = (column: string, value: unknown): void => {
        set.push(`${column} = ?`);
        vals.push(value);
      };
      if (patch.key !== undefined) {
        this.db.prepare(`UPDATE traces SET trace_key = NULL WHERE trace_key = ? AND id != ?`).run(patch.key, id);
        put('trace_key', patch.key);
      }
      if (patch.datasetId !== undefined) put('dataset_id', patch.datasetId);
      if (patch.samples !== undefined) put('samples', patch.samples);
      if (patch.classes !== undefined) put('classes', patch.classes);
      if (patch.exits) put('exits_json', JSON.stringify(patch.exits));
      if (patch.costs) put('costs_json', JSON.stringify(patch.costs));
      if (patch.costSource) put('cost_source', patch.costSource);
      if (patch.hasConfidence !== undefined) put('has_confidence', patch.hasConfidence ? 1 : 0);
      if (patch.hasProbs !== undefined) put('has_probs', patch.hasProbs ? 1 : 0);
      if (patch.hasLabels !== undefined) put('has_labels', patch.hasLabels ? 1 : 0);
      if (patch.meta) put('meta_json', JSON.stringify(patch.meta));
      this.db.prepare(`UPDATE traces SET ${set.join(', ')} WHERE id = ?`).run(...vals, id);
    })();
  }

  /** Why the stored chunks do not make the trace the header describes, or undefined when they do. */
  private chunkProblem(id: number, h: { samples: number; exits: number; confidence: boolean; probs: boolean; labels: boolean }): string | undefined {
    const size = this.db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS bytes FROM trace_chunks WHERE trace_id = ? AND field = ?');
    const bytes = (f: TraceField): number => (size.get(id, f) as { bytes: number }).bytes;
    const cells = h.samples * h.exits;
    const pred = bytes('pred') / 4;
    if (pred !== cells) return `${pred} predictions for ${h.samples} samples × ${h.exits} exits`;
    for (const f of ['maxProb', 'entropy', 'margin'] as const) {
      const n = bytes(f) / 4;
      if (n !== (h.confidence ? cells : 0)) return `${n} ${f} values for ${h.samples} samples × ${h.exits} exits`;
    }
    const probs = bytes('probs') / 4;
    if (h.probs ? cells === 0 || probs === 0 || probs % cells !== 0 : probs !== 0) return `${probs} probabilities for ${h.samples} samples × ${h.exits} exits`;
    const labels = bytes('labels') / 4;
    if (labels !== (h.labels ? h.samples : 0)) return `${labels} labels for ${h.samples} samples`;
    return undefined;
  }

  /** Drops a trace that did not finish (cancelled or failed): nothing of it stays. */
  abort(id: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(id);
      this.db.prepare('DELETE FROM traces WHERE id = ?').run(id);
    })();
  }

  /** Stores a whole in-memory trace in one transaction. */
  save(trace: Trace, h: Omit<TraceHeader, keyof ReturnType<typeof headerOf>>): number {
    return this.db.transaction(() => {
      const id = this.begin({ ...h, ...headerOf(trace) });
      this.fill(id, trace);
      return id;
    })();
  }

  /**
   * Writes a whole in-memory trace into a running trace, chunk by chunk (one
   * short transaction each, so a long import never holds the write lock for
   * long), then finishes it with the trace's header. A kill part-way leaves a
   * running row that recovery marks interrupted and empties.
   */
  fill(id: number, trace: Trace, patch: TraceFinish = {}, chunkSamples = SAVE_CHUNK_SAMPLES): void {
    const K = trace.exits.length;
    // How the exits' MACs were counted travels with the trace (an .npz recorded elsewhere carries it).
    if (trace.macsBasis) patch = { ...patch, meta: { ...this.metaOf(id), ...patch.meta, macsBasis: trace.macsBasis } };
    const C = trace.probs ? trace.probs.length / Math.max(1, trace.samples * K) : 0;
    let seq = 0;
    for (let s0 = 0; s0 < trace.samples || (s0 === 0 && trace.samples === 0); s0 += chunkSamples) {
      const s1 = Math.min(trace.samples, s0 + chunkSamples);
      const chunk: TraceChunk = { pred: trace.pred.subarray(s0 * K, s1 * K) };
      if (trace.maxProb) chunk.maxProb = trace.maxProb.subarray(s0 * K, s1 * K);
      if (trace.entropy) chunk.entropy = trace.entropy.subarray(s0 * K, s1 * K);
      if (trace.margin) chunk.margin = trace.margin.subarray(s0 * K, s1 * K);
      if (trace.probs) chunk.probs = trace.probs.subarray(s0 * K * C, s1 * K * C);
      if (trace.labels) chunk.labels = trace.labels.subarray(s0, s1);
      this.append(id, seq++, chunk);
      if (trace.samples === 0) break;
    }
    this.finish(id, { ...headerOf(trace), ...patch });
  }

  /** A trace row's meta JSON, whatever its status. */
  private metaOf(id: number): Record<string, unknown> {
    const r = this.db.prepare('SELECT meta_json FROM traces WHERE id = ?').get(id) as { meta_json: string } | undefined;
    return r ? (JSON.parse(r.meta_json || '{}') as Record<string, unknown>) : {};
  }

  /** The status of a trace row of any status, or undefined when there is none. */
  status(id: number): 'running' | 'complete' | 'interrupted' | undefined {
    return (this.db.prepare('SELECT status FROM traces WHERE id = ?').get(id) as { status: 'running' | 'complete' | 'interrupted' } | undefined)?.status;
  }

  /** The request that started a trace's job (null for rows older than schema 3, or made outside a command). */
  request(id: number): JobRequest | null {
    const r = this.db.prepare('SELECT request_json FROM traces WHERE id = ?').get(id) as { request_json: string | null } | undefined;
    if (!r) throw notFound('trace', id);
    return parseRequest(r.request_json);
  }

  /** Deletes an interrupted trace row (its job was run again); returns whether one was deleted. */
  discardInterrupted(id: number): boolean {
    return this.db.transaction(() => {
      const r = this.db.prepare(`DELETE FROM traces WHERE id = ? AND status = 'interrupted'`).run(id);
      if (r.changes > 0) this.db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(id);
      return r.changes > 0;
    })();
  }

  list(): TraceMeta[] {
    return (this.db.prepare(`${SELECT_META} WHERE t.status = 'complete' ORDER BY t.id`).all() as TraceRow[]).map(toMeta);
  }

  /** Interrupted traces, so a UI can offer to run them again. */
  interrupted(): TraceMeta[] {
    return (this.db.prepare(`${SELECT_META} WHERE t.status = 'interrupted' ORDER BY t.id`).all() as TraceRow[]).map(toMeta);
  }

  meta(id: number): TraceMeta {
    const r = this.db.prepare(`${SELECT_META} WHERE t.id = ?`).get(id) as TraceRow | undefined;
    if (!r) throw notFound('trace', id);
    if (r.status !== 'complete') throw new StudioError(`trace ${id} is ${r.status}; run its inference again`, { kind: 'conflict' });
    return toMeta(r);
  }

  findByKey(key: string): TraceMeta | undefined {
    const r = this.db.prepare(`${SELECT_META} WHERE t.trace_key = ? AND t.status = 'complete' ORDER BY t.id DESC LIMIT 1`).get(key) as TraceRow | undefined;
    return r ? toMeta(r) : undefined;
  }

  /**
   * Loads a trace into SharedArrayBuffer-backed arrays, so replay workers (and
   * several side by side) read the one copy instead of a clone each. Chunks
   * stream from SQLite into arrays sized up front: a field's blobs are never
   * all held at once, and nothing is concatenated twice.
   */
  load(id: number): Trace {
    const m = this.meta(id);
    const K = m.exits.length;
    const damaged = (what: string): StudioError =>
      new StudioError(`trace ${id} is damaged: ${what}`, { kind: 'internal' });
    const size = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(length(data)), 0) AS bytes FROM trace_chunks WHERE trace_id = ? AND field = ?');
    const rows = this.db.prepare('SELECT data FROM trace_chunks WHERE trace_id = ? AND field = ? ORDER BY seq').pluck();
    const read = <T extends NumericArray>(field: TraceField, Ctor: NumericCtor<T>): T | undefined => {
      const { n, bytes } = size.get(id, field) as { n: number; bytes: number };
      if (n === 0) return undefined;
      if (bytes % Ctor.BYTES_PER_ELEMENT !== 0) throw damaged(`its ${field} chunks hold ${bytes} bytes, not whole ${Ctor.BYTES_PER_ELEMENT}-byte values`);
      try {
        return readBlobsShared(Ctor, bytes, rows.iterate(id, field) as IterableIterator<Buffer>);
      } catch (e) {
        if (e instanceof RangeError) throw damaged(`${field}: ${e.message}`);
        throw e;
      }
    };
    const pred = read('pred', Int32Array) ?? sharedArray(Int32Array, 0);
    if (pred.length !== m.samples * K) {
      throw damaged(`${pred.length} predictions for ${m.samples} samples × ${K} exits`);
    }
    const trace: Trace = {
      samples: m.samples,
      exits: m.exits,
      classes: m.classes,
      costs: toShared(Float64Array.from(m.costs)),
      costSource: m.costSource,
      pred,
    };
    if (m.macsBasis) trace.macsBasis = m.macsBasis;
    const maxProb = read('maxProb', Float32Array);
    if (maxProb) {
      trace.maxProb = maxProb;
      trace.entropy = read('entropy', Float32Array)!;
      trace.margin = read('margin', Float32Array)!;
    }
    const probs = read('probs', Float32Array);
    if (probs) trace.probs = probs;
    const labels = read('labels', Int32Array);
    if (labels) trace.labels = labels;
    return trace;
  }

  rename(id: number, name: string): void {
    this.meta(id);
    this.db.prepare('UPDATE traces SET name = ? WHERE id = ?').run(name, id);
  }

  /** Deletes a trace and the runs made on it, in one transaction. */
  delete(id: number): void {
    this.meta(id);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM runs WHERE trace_id = ?').run(id);
      this.db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(id);
      this.db.prepare('DELETE FROM traces WHERE id = ?').run(id);
    })();
  }
}

function requestJson(r: JobRequest | undefined): string | null {
  return r === undefined ? null : JSON.stringify(r);
}
