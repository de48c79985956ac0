/**
 * Versioned schema migrations, applied in order inside one transaction.
 * PRAGMA user_version records how far a database has come, so an older file
 * opened by a newer studio is upgraded in place and never rebuilt. A
 * migration that fails leaves the file as it was: the transaction rolls back,
 * earlier pending migrations and user_version included.
 */
import type Database from 'better-sqlite3';
import { seriesPerSeed } from './migrate-series.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * Work SQL alone cannot do (converting rows), run after `sql` in the same
   * transaction. Returns true when it freed much space, which a VACUUM then
   * gives back to the file system.
   */
  up?: (db: Database.Database) => boolean;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'models, datasets and chunked traces',
    sql: `
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        info_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (sha256, path)
      );
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        format TEXT NOT NULL,
        samples INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (sha256, path)
      );
      CREATE TABLE traces (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('inference', 'import')),
        trace_key TEXT,
        model_id INTEGER REFERENCES models (id),
        dataset_id INTEGER REFERENCES datasets (id),
        status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'interrupted')),
        owner_pid INTEGER,
        samples INTEGER NOT NULL,
        classes INTEGER NOT NULL,
        exits_json TEXT NOT NULL,
        costs_json TEXT NOT NULL,
        cost_source TEXT NOT NULL,
        has_confidence INTEGER NOT NULL,
        has_probs INTEGER NOT NULL,
        has_labels INTEGER NOT NULL,
        meta_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
      );
      CREATE INDEX traces_by_key ON traces (trace_key, status);
      -- Trace columns are stored as typed-array blobs in chunks, so inference can
      -- write as it goes (memory O(batch)) and no blob nears SQLite's size cap.
      CREATE TABLE trace_chunks (
        trace_id INTEGER NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
        field TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (trace_id, field, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'policy runs',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        trace_id INTEGER NOT NULL REFERENCES traces (id),
        policy TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'interrupted')),
        owner_pid INTEGER,
        supervised INTEGER NOT NULL,
        seeds_json TEXT NOT NULL,
        config_json TEXT NOT NULL,
        app_version TEXT NOT NULL,
        summary_json TEXT,
        learned_json TEXT,
        series_json TEXT,
        tags_json TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
      );
      CREATE INDEX runs_by_trace ON runs (trace_id);
    `,
  },
  {
    version: 3,
    name: 'the request that started each job, to run an interrupted one again',
    sql: `
      ALTER TABLE traces ADD COLUMN request_json TEXT;
      ALTER TABLE runs ADD COLUMN request_json TEXT;
    `,
  },
  {
    version: 4,
    name: "each seed of a running policy run as it completes, so an interrupted run resumes",
    sql: `
      CREATE TABLE run_seeds (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seed INTEGER NOT NULL,
        result_json TEXT NOT NULL,
        PRIMARY KEY (run_id, seed)
      );
    `,
  },
  {
    version: 5,
    name: 'the writer of a running job, by the lock it holds (liveness.ts), not by its process id',
    sql: `
      ALTER TABLE traces ADD COLUMN owner TEXT;
      ALTER TABLE runs ADD COLUMN owner TEXT;
    `,
  },
  {
    version: 6,
    name: 'how each run was evaluated (held-out, cross-trace, in-sample); oracle renamed best-fixed',
    // Runs stored before evaluation modes replayed the whole trace for every policy: in-sample.
    // What was called oracle then (the best fixed exit) is best-fixed now.
    sql: `
      ALTER TABLE runs ADD COLUMN evaluation_json TEXT;
      UPDATE runs SET evaluation_json = json_object(
        'mode', 'in-sample',
        'calibrationSamples', (SELECT samples FROM traces WHERE traces.id = runs.trace_id),
        'evaluationSamples', (SELECT samples FROM traces WHERE traces.id = runs.trace_id)
      );
      UPDATE runs SET policy = 'best-fixed' WHERE policy = 'oracle';
    `,
  },
  {
    version: 7,
    name: 'series stored per seed as compact binary blobs, beside each seed\'s summary and what it learned',
    sql: `
      -- One row per seed of a run, written as the seed completes: an interrupted run
      -- resumes from its rows, a complete run's series are read from them (its
      -- summary stays exact in runs.summary_json).
      ALTER TABLE run_seeds RENAME TO run_seeds_json;
      CREATE TABLE run_seeds (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seed INTEGER NOT NULL,
        meta_json TEXT NOT NULL,
        series BLOB NOT NULL,
        PRIMARY KEY (run_id, seed)
      );
    `,
    up: seriesPerSeed,
  },
  {
    version: 8,
    name: 'the hash of each file a job read, with the stamp it was made at, so an unchanged file is not hashed again',
    sql: `
      -- Stamps as decimal text: nanosecond times and inode numbers exceed 2^53.
      CREATE TABLE file_hashes (
        path TEXT PRIMARY KEY,
        size TEXT NOT NULL,
        mtime_ns TEXT NOT NULL,
        ctime_ns TEXT NOT NULL,
        ino TEXT NOT NULL,
        dev TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        hashed_at TEXT NOT NULL
      );
    `,
  },
];

/** Applies every migration newer than the file's user_version; returns the version reached. */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = list[list.length - 1]!.version;
  if (current > latest) {
    throw new Error(`the database was written by a newer Exit Studio (schema ${current}; this one knows up to ${latest})`);
  }
  let vacuum = false;
  // Every pending migration in one transaction: a file several versions old that fails on
  // the last is left at its own version, not half-way (a version no studio wrote).
  db.transaction(() => {
    for (const m of list) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      if (m.up?.(db)) vacuum = true;
      db.pragma(`user_version = ${m.version}`);
    }
  })();
  if (vacuum) {
    // Outside any transaction, as VACUUM must be. Another process holding the file open
    // makes it fail: the space then stays free inside the file for later rows, no harm done.
    try {
      db.exec('VACUUM');
    } catch {
      /* see above */
    }
  }
  return latest;
}
