/** Policy runs in SQLite: configuration, seeds, summary, what was learned, decimated series. */
import { notFound, StudioError } from '../errors.js';
import type { Evaluation } from '../policies/evaluation.js';
import type { RunSeries, RunSummary } from '../policies/metrics.js';
import type { FitRecord, SeedResult } from '../policies/run.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { ResolvedCosts } from '../trace/costs.js';
import { nowIso, type Db } from './db.js';
import type { JobWriter } from './liveness.js';
import { decodeExact, encodeExact } from './exact-json.js';
import { currentJobRequest, parseRequest, type JobRequest } from './requests.js';

/**
 * How a run was configured: what a policy file and a bundle need to repeat it.
 * Stored as JSON, like the summary, what was learned and the series: the
 * types below are what this store wrote (JSON turns a non-finite number into
 * null, which the metrics never hold once a run completes). The cost fields
 * (ResolvedCosts) are the costs the run used, normalized, with their source;
 * runs stored before the raw numbers were kept have no rawCosts or macs.
 */
export interface RunConfig extends ResolvedCosts {
  lambda: number;
  params: Record<string, unknown>;
  /** The policy read calibration data (its figures are hindsight when it ran in-sample). */
  usesHindsight?: boolean;
}

export interface RunRecord {
  id: number;
  name: string;
  traceId: number;
  policy: string;
  status: 'running' | 'complete' | 'interrupted';
  supervised: boolean;
  seeds: number[];
  config: RunConfig;
  /** How its figures are obtained: held-out, cross-trace or in-sample (runs older than the modes: in-sample). */
  evaluation: Evaluation;
  appVersion: string;
  /** null until the run completes. */
  summary: RunSummary | null;
  learned: LearnedPolicy | null;
  tags: string[];
  createdAt: string;
}

/** A completed run: summary and what was learned are there. */
export interface CompleteRun extends RunRecord {
  status: 'complete';
  summary: RunSummary;
  learned: LearnedPolicy;
}

/** A run's decimated series and, for EENet, its fits' training curves. */
export interface StoredRunSeries {
  series: RunSeries;
  fits: FitRecord[] | null;
}

export function isComplete(r: RunRecord): r is CompleteRun {
  return r.status === 'complete' && r.summary !== null && r.learned !== null;
}

interface RunRow {
  id: number;
  name: string;
  trace_id: number;
  policy: string;
  status: RunRecord['status'];
  supervised: number;
  seeds_json: string;
  config_json: string;
  evaluation_json: string | null;
  app_version: string;
  summary_json: string | null;
  learned_json: string | null;
  tags_json: string;
  created_at: string;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    traceId: r.trace_id,
    policy: r.policy,
    status: r.status,
    supervised: r.supervised === 1,
    seeds: JSON.parse(r.seeds_json) as number[],
    config: JSON.parse(r.config_json) as RunConfig,
    // Every row has one since schema 6 (the migration fills older rows in as in-sample).
    evaluation: JSON.parse(r.evaluation_json ?? '{"mode":"in-sample","calibrationSamples":0,"evaluationSamples":0}') as Evaluation,
    appVersion: r.app_version,
    summary: r.summary_json === null ? null : (JSON.parse(r.summary_json) as RunSummary),
    learned: r.learned_json === null ? null : (JSON.parse(r.learned_json) as LearnedPolicy),
    tags: JSON.parse(r.tags_json) as string[],
    createdAt: r.created_at,
  };
}

export interface NewRun {
  name: string;
  traceId: number;
  policy: string;
  supervised: boolean;
  seeds: number[];
  config: RunConfig;
  evaluation: Evaluation;
  appVersion: string;
  /** The command that started it, to run it again if interrupted; default: the job request in scope. */
  request?: JobRequest;
}

export class RunStore {
  constructor(private readonly db: Db, private readonly writer: JobWriter) {}

  /** Records a run as started; it is listed only once completed. */
  begin(r: NewRun): number {
    const res = this.db
      .prepare(
        `INSERT INTO runs (name, trace_id, policy, status, owner, owner_pid, supervised, seeds_json, config_json, evaluation_json, app_version, created_at, request_json)
         VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.name, r.traceId, r.policy, this.writer.owner(), process.pid, r.supervised ? 1 : 0, JSON.stringify(r.seeds), JSON.stringify(r.config), JSON.stringify(r.evaluation), r.appVersion, nowIso(),
        ((q) => (q === undefined ? null : JSON.stringify(q)))(r.request ?? currentJobRequest()),
      );
    return Number(res.lastInsertRowid);
  }

  /** Completes a running run (call inside a transaction); `patch` sets what is only known at the end (the seeds actually replayed, the configuration). */
  complete(id: number, summary: RunSummary, learned: LearnedPolicy, series: StoredRunSeries, patch: { seeds?: number[]; supervised?: boolean; config?: RunConfig } = {}): void {
    // Only a run this store is writing: one another process marked interrupted stays so.
    const done = this.db
      .prepare(
        `UPDATE runs SET status = 'complete', owner_pid = NULL, owner = NULL, summary_json = ?, learned_json = ?, series_json = ?,
           seeds_json = COALESCE(?, seeds_json), supervised = COALESCE(?, supervised), config_json = COALESCE(?, config_json)
         WHERE id = ? AND status = 'running' AND owner = ?`,
      )
      .run(
        JSON.stringify(summary), JSON.stringify(learned), JSON.stringify(series),
        patch.seeds ? JSON.stringify(patch.seeds) : null, patch.supervised === undefined ? null : patch.supervised ? 1 : 0, patch.config ? JSON.stringify(patch.config) : null,
        id, this.writer.owner(),
      );
    if (done.changes === 0) throw new StudioError(`run ${id} is no longer being written by this process; it is not stored as complete`, { kind: 'internal' });
    // Kept seeds serve only to resume; a complete run holds its results.
    this.db.prepare('DELETE FROM run_seeds WHERE run_id = ?').run(id);
  }

  /** Keeps one seed of a running run as it completes: an interrupted run resumes from its kept seeds. */
  saveSeed(id: number, result: SeedResult): void {
    this.db.prepare('INSERT OR REPLACE INTO run_seeds (run_id, seed, result_json) VALUES (?, ?, ?)').run(id, result.seed, encodeExact(result));
  }

  /** The seeds a run kept (an interrupted one's, to resume), in seed order. */
  keptSeeds(id: number): SeedResult[] {
    const rows = this.db.prepare('SELECT result_json FROM run_seeds WHERE run_id = ? ORDER BY seed').all(id) as { result_json: string }[];
    return rows.map((r) => decodeExact<SeedResult>(r.result_json));
  }

  abort(id: number): void {
    this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }

  list(): CompleteRun[] {
    return (this.db.prepare(`SELECT * FROM runs WHERE status = 'complete' ORDER BY id`).all() as RunRow[]).map(toRecord).filter(isComplete);
  }

  /** Interrupted runs (their process died mid-replay), so a UI can offer to run them again. */
  interrupted(): RunRecord[] {
    return (this.db.prepare(`SELECT * FROM runs WHERE status = 'interrupted' ORDER BY id`).all() as RunRow[]).map(toRecord);
  }

  /** The request that started a run (null for rows older than schema 3). */
  request(id: number): JobRequest | null {
    const r = this.db.prepare('SELECT request_json FROM runs WHERE id = ?').get(id) as { request_json: string | null } | undefined;
    if (!r) throw notFound('run', id);
    return parseRequest(r.request_json);
  }

  /** Deletes an interrupted run row (it was run again); returns whether one was deleted. */
  discardInterrupted(id: number): boolean {
    return this.db.prepare(`DELETE FROM runs WHERE id = ? AND status = 'interrupted'`).run(id).changes > 0;
  }

  get(id: number): RunRecord {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!r) throw notFound('run', id);
    return toRecord(r);
  }

  /** A run that can be shown, compared, exported or bundled: only a completed one. */
  getComplete(id: number): CompleteRun {
    const r = this.get(id);
    if (!isComplete(r)) throw new StudioError(`run ${id} is ${r.status}; run it again`, { kind: 'conflict' });
    return r;
  }

  series(id: number): StoredRunSeries | null {
    const r = this.db.prepare('SELECT series_json FROM runs WHERE id = ?').get(id) as { series_json: string | null } | undefined;
    if (!r) throw notFound('run', id);
    return r.series_json === null ? null : (JSON.parse(r.series_json) as StoredRunSeries);
  }

  rename(id: number, name: string): void {
    this.get(id);
    this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id);
  }

  setTags(id: number, tags: string[]): void {
    this.get(id);
    this.db.prepare('UPDATE runs SET tags_json = ? WHERE id = ?').run(JSON.stringify(tags), id);
  }

  delete(id: number): void {
    this.get(id);
    this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }
}
