/** Opening the studio's SQLite file: WAL, foreign keys, migrations, crash recovery. */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StudioError } from '../errors.js';
import { ownerAlive, sweepOwners } from './liveness.js';
import { migrate } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the database at `path` and brings its schema up
 * to date. Jobs left 'running' by a process that no longer exists (a crash,
 * a kill) are marked 'interrupted' and their partial rows dropped, so a
 * reader never sees half a trace.
 */
export function openDb(path: string): Db {
  if (path !== ':memory:') {
    try {
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
        throw new StudioError(`${path}: is a folder; the database is a file`, { kind: 'input', file: path, field: 'db' });
      }
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      if (e instanceof StudioError) throw e;
      throw new StudioError(`${path}: cannot create the database folder (${(e as Error).message})`, { kind: 'input', file: path, field: 'db', cause: e });
    }
  }
  let db: Db;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // With WAL, NORMAL never corrupts the file and loses at most the last commits
    // on power loss; FULL waits for the disk at every commit, stalling the thread
    // that serves the UI for seconds on a busy disk.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (e) {
    const msg = (e as Error).message;
    throw new StudioError(`${path}: not a usable Exit Studio database (${msg})`, { kind: 'input', file: path, field: 'db', cause: e });
  }
  recoverInterrupted(db, path);
  return db;
}

/** For rows written before jobs recorded their writer's lock (schema 4 and older): the process id, on this host only. */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Marks the running jobs whose writer is gone as interrupted, dropping a
 * trace's chunks and a run's series. A writer is gone only when its lock
 * (liveness.ts) can be taken: a job of a live process, in any PID namespace
 * or container, is never touched. `isMine` says which writer is the caller.
 */
export function recoverInterrupted(db: Db, path: string, isMine: (owner: string) => boolean = () => false): void {
  const gone = (r: { owner: string | null; owner_pid: number | null }): boolean =>
    r.owner !== null ? !isMine(r.owner) && !ownerAlive(path, r.owner) : r.owner_pid === null || !processAlive(r.owner_pid);
  const stale = (table: 'traces' | 'runs'): number[] =>
    (db.prepare(`SELECT id, owner, owner_pid FROM ${table} WHERE status = 'running'`).all() as { id: number; owner: string | null; owner_pid: number | null }[])
      .filter(gone)
      .map((r) => r.id);
  const traces = stale('traces');
  const runs = stale('runs');
  if (traces.length || runs.length) {
    db.transaction(() => {
      // Only rows still running: a writer that finished meanwhile keeps its work.
      for (const id of traces) {
        if (db.prepare(`UPDATE traces SET status = 'interrupted', owner_pid = NULL, owner = NULL WHERE id = ? AND status = 'running'`).run(id).changes) {
          db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(id);
        }
      }
      for (const id of runs) {
        db.prepare(`UPDATE runs SET status = 'interrupted', owner_pid = NULL, owner = NULL WHERE id = ? AND status = 'running'`).run(id);
      }
    })();
  }
  sweepOwners(path);
}

export function nowIso(): string {
  return new Date().toISOString();
}
