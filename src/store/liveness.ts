/**
 * Whether the process writing a job is still alive, without process ids.
 *
 * A process id says nothing across PID namespaces: a container sharing the
 * database cannot see the writer's pid, took a live inference for a dead
 * one, deleted its chunks, and the writer then finished a damaged trace. So
 * each process that writes jobs holds an operating-system lock instead: a
 * small SQLite file of its own beside the database, opened in exclusive
 * locking mode, which the OS releases the moment the process ends however it
 * ends (SIGKILL, a crash, a power cut). Another process (any namespace, any
 * container that shares the folder) probes the lock: held means alive and the
 * job is left alone; free means the writer is gone and its job can be marked
 * interrupted. Nothing is timed, so a slow writer is never taken for a dead one.
 *
 * The lock lives on the file system that holds the database; a network file
 * system without working locks (some NFS set-ups) cannot hold it, as it
 * cannot hold SQLite's own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StudioError } from '../errors.js';

/** The folder beside the database that holds its writers' lock files. */
export function ownersDir(dbPath: string): string {
  return `${dbPath}-owners`;
}

function lockFile(dbPath: string, owner: string): string {
  return join(ownersDir(dbPath), `${owner}.lock`);
}

const OWNER_ID = /^[0-9a-f]{24}$/;

/** Who writes the jobs of a store: its lock's id (taken at the first job), and whether an id is its own. */
export interface JobWriter {
  owner(): string;
  isMine(owner: string): boolean;
  /** Whether the writer `owner` may still be alive (this one, or one whose lock is held). */
  alive(owner: string): boolean;
}

/** The lock of one writer (one open store): taken at its first job, held until the store closes. */
export class OwnerLock {
  private held: Database.Database | undefined;
  private id: string | undefined;

  constructor(private readonly dbPath: string) {}

  /** This writer's id, taking the lock on first use. */
  owner(): string {
    if (this.id) return this.id;
    const id = randomBytes(12).toString('hex');
    if (this.dbPath !== ':memory:') {
      const file = lockFile(this.dbPath, id);
      try {
        mkdirSync(ownersDir(this.dbPath), { recursive: true });
        // Locked under another name first, then renamed: a lock file is never seen unlocked
        // (a sweeper would take it for a dead writer's). No journal, so the open file is all there is.
        // Windows cannot rename a file SQLite holds open, nor delete one: there it gets its name at once.
        const fresh = process.platform === 'win32' ? file : `${file}.new`;
        const db = new Database(fresh);
        db.pragma('journal_mode = OFF');
        // Exclusive locking mode keeps the lock of the first write until the connection closes.
        db.pragma('locking_mode = EXCLUSIVE');
        db.exec(`CREATE TABLE owner (pid INTEGER, started TEXT); INSERT INTO owner VALUES (${process.pid}, '${new Date().toISOString()}')`);
        this.held = db;
        if (fresh !== file) renameSync(fresh, file);
      } catch (e) {
        throw new StudioError(`${file}: cannot create the lock that marks this process's jobs as alive (${(e as Error).message})`, { kind: 'internal', file, cause: e });
      }
    }
    this.id = id;
    return id;
  }

  /** True for this writer's own id. */
  isMine(owner: string): boolean {
    return owner === this.id;
  }

  release(): void {
    if (!this.held || !this.id) return;
    this.held.close();
    this.held = undefined;
    try {
      rmSync(lockFile(this.dbPath, this.id), { force: true });
    } catch {
      // Being probed this instant (Windows will not delete an open file): unlocked now, the next sweep removes it.
    }
  }
}

/**
 * Whether the writer `owner` may still be alive. Only a lock that could be
 * taken proves it dead; a lock file that cannot be opened or read (permissions,
 * an odd file system) counts as alive, so a job is never taken from a writer
 * that may still be writing it.
 */
export function ownerAlive(dbPath: string, owner: string): boolean {
  if (dbPath === ':memory:') return true;
  if (!OWNER_ID.test(owner)) return true;
  const file = lockFile(dbPath, owner);
  // The writer creates its lock before its first job and removes it only once none is running.
  if (!existsSync(file)) return false;
  let probe: Database.Database;
  try {
    probe = new Database(file, { fileMustExist: true, timeout: 0 });
  } catch {
    return true;
  }
  try {
    probe.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch {
    return true;
  } finally {
    probe.close();
  }
}

/** Removes the lock files of writers that are gone (a killed process cannot remove its own). */
export function sweepOwners(dbPath: string): void {
  if (dbPath === ':memory:' || !existsSync(ownersDir(dbPath))) return;
  for (const name of readdirSync(ownersDir(dbPath))) {
    const owner = name.replace(/\.lock$/, '');
    if (!OWNER_ID.test(owner) || !name.endsWith('.lock') || ownerAlive(dbPath, owner)) continue;
    try {
      rmSync(join(ownersDir(dbPath), name), { force: true });
    } catch {
      // Another process is removing it, or holds it after all: either way it is not ours to remove.
    }
  }
}
