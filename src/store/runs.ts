/**
 * Policy runs in SQLite: configuration, seeds, summary, what was learned,
 * decimated series. Each seed is a row of its own (run_seeds), written as the
 * seed completes, with its series as a compact binary blob (series-codec.ts):
 * an interrupted run resumes from those rows, and a complete run's series are
 * aggregated from them when read, so they are written once and never held
 * for all seeds at once while a run goes on.
 */
import type Database from 'better-sqlite3';
import { notFound, StudioError } from '../errors.js';
import type { Evaluation } from '../policies/evaluation.js';
import { aggregateSeries, type RunSeries, type RunSummary, type SeedSeries } from '../policies/metrics.js';
import type { FitRecord, SeedResult } from '../policies/run.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { ResolvedCosts } from '../trace/costs.js';
import { nowIso, type Db } from './db.js';
import type { JobWriter } from './liveness.js';
import { currentJobRequest, parseRequest, type JobRequest } from './requests.js';
import { encodeExact } from './exact-json.js';
import { decodeMeta, decodeSeed, type StoredSeed } from './seed-record.js';
import { decodeSeries } from './series-codec.js';

/**
 * How a run was configured: what a policy file and a bundle need to repeat it.
 * Stored as JSON, like the summary and what was learned: the types below are
 * what this store wrote (JSON turns a non-finite number into null, which the
 * metrics never hold once a run completes). The cost fields (ResolvedCosts)
 * are the costs the run used, normalized, with their source; runs stored
 * before the raw numbers were kept have no rawCosts or macs.
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
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Db,
    private readonly writer: JobWriter,
  ) {}

  /** A prepared statement, made once per store: the per-seed ones run hundreds of times a run. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

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

  /**
   * Completes a running run (call inside a transaction) whose every seed was
   * saved (saveSeed): their rows are its series. `patch` sets what is only
   * known at the end (the seeds actually replayed, the configuration).
   */
  complete(id: number, summary: RunSummary, learned: LearnedPolicy, patch: { seeds?: number[]; supervised?: boolean; config?: RunConfig } = {}): void {
    const seeds = patch.seeds ?? this.get(id).seeds;
    const saved = new Set(this.sql('SELECT seed FROM run_seeds WHERE run_id = ?').pluck().all(id) as number[]);
    const missing = seeds.filter((s) => !saved.has(s));
    if (missing.length) {
      throw new StudioError(`run ${id} cannot complete: seed${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} not saved`, { kind: 'internal' });
    }
    // Only a run this store is writing: one another process marked interrupted stays so.
    const done = this.sql(
      `UPDATE runs SET status = 'complete', owner_pid = NULL, owner = NULL, summary_json = ?, learned_json = ?,
         seeds_json = COALESCE(?, seeds_json), supervised = COALESCE(?, supervised), config_json = COALESCE(?, config_json)
       WHERE id = ? AND status = 'running' AND owner = ?`,
    ).run(
      JSON.stringify(summary), JSON.stringify(learned),
      patch.seeds ? JSON.stringify(patch.seeds) : null, patch.supervised === undefined ? null : patch.supervised ? 1 : 0, patch.config ? JSON.stringify(patch.config) : null,
      id, this.writer.owner(),
    );
    if (done.changes === 0) throw new StudioError(`run ${id} is no longer being written by this process; it is not stored as complete`, { kind: 'internal' });
    // Rows of seeds the run did not end up with (none, normally) are not part of its series.
    if (saved.size > seeds.length) {
      const keep = new Set(seeds);
      for (const s of saved) if (!keep.has(s)) this.sql('DELETE FROM run_seeds WHERE run_id = ? AND seed = ?').run(id, s);
    }
    // What each seed learned served to resume; a complete run keeps its first seed's, the run's
    // `learned` (an EENet's weights are tens of KB a seed).
    const rows = this.sql('SELECT seed, meta_json FROM run_seeds WHERE run_id = ? AND seed != ?').all(id, seeds[0]) as { seed: number; meta_json: string }[];
    for (const r of rows) {
      const meta = decodeMeta(r.meta_json);
      if (meta.learned === undefined) continue;
      delete meta.learned;
      this.sql('UPDATE run_seeds SET meta_json = ? WHERE run_id = ? AND seed = ?').run(encodeExact(meta), id, r.seed);
    }
  }

  /** Saves one seed of a running run as it completes: an interrupted run resumes from its saved seeds, a complete one reads its series from them. */
  saveSeed(id: number, seed: StoredSeed): void {
    this.sql('INSERT OR REPLACE INTO run_seeds (run_id, seed, meta_json, series) VALUES (?, ?, ?, ?)').run(id, seed.seed, seed.meta, seed.series);
  }

  /** Copies the saved seeds of run `from` to run `to`: a run that resumes another keeps what it resumed from. */
  copySeeds(from: number, to: number): void {
    this.sql('INSERT OR REPLACE INTO run_seeds (run_id, seed, meta_json, series) SELECT ?, seed, meta_json, series FROM run_seeds WHERE run_id = ?').run(to, from);
  }

  /**
   * The seeds an unfinished run saved whole (an interrupted one's, to
   * resume), in seed order; none for a complete run. A seed row without what
   * it learned (a complete run keeps that for its first seed only) cannot be
   * resumed from: that seed replays.
   */
  keptSeeds(id: number): SeedResult[] {
    if (this.get(id).status === 'complete') return [];
    return this.seedRows(id).flatMap((r) => {
      const d = decodeSeed(r);
      return d ? [d.result] : [];
    });
  }

  private seedRows(id: number): StoredSeed[] {
    return this.sql('SELECT seed, meta_json AS meta, series FROM run_seeds WHERE run_id = ? ORDER BY seed').all(id) as StoredSeed[];
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

  /**
   * A complete run's series (every seed's values, their means and 95 % bands,
   * aggregated in seed order as when the run finished) and EENet's fits; null
   * for a run that is not complete. With `perSeed` false, every seed's values
   * are left out (perSeed is empty): what charts draw, read faster.
   */
  series(id: number, { perSeed = true }: { perSeed?: boolean } = {}): StoredRunSeries | null {
    const run = this.get(id);
    if (!isComplete(run)) return null;
    const rows = this.seedRows(id);
    if (rows.length === 0) return null;
    let rounds: Uint32Array | undefined;
    const seeds: SeedSeries[] = [];
    const fits: FitRecord[] = [];
    for (const row of rows) {
      let decoded: { rounds: Uint32Array; series: SeedSeries };
      try {
        decoded = decodeSeries(row.series);
      } catch (e) {
        throw new StudioError(`run ${id}: seed ${row.seed}'s stored series cannot be read (${(e as Error).message})`, { kind: 'internal', cause: e });
      }
      rounds ??= decoded.rounds;
      if (decoded.rounds.length !== rounds.length) throw new StudioError(`run ${id}: its seeds' series lie on different grids`, { kind: 'internal' });
      seeds.push(decoded.series);
      fits.push(...(decodeMeta(row.meta).fits ?? []));
    }
    return { series: aggregateSeries(seeds, rounds!, run.summary.accuracy !== null, perSeed), fits: fits.length ? fits : null };
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
