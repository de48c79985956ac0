/** The studio's store: one SQLite file, one object with a repository per kind of record. */
import { AssetStore } from './assets.js';
import { openDb, recoverInterrupted, type Db } from './db.js';
import { FileHashStore } from './file-hashes.js';
import { OwnerLock, ownerAlive, type JobWriter } from './liveness.js';
import { RunStore } from './runs.js';
import { TraceStore } from './traces.js';

export class Store {
  readonly traces: TraceStore;
  readonly assets: AssetStore;
  readonly runs: RunStore;
  /** Hashes of the files jobs read, by file stamp: an unchanged file is not read again to hash it. */
  readonly fileHashes: FileHashStore;
  private readonly lock: OwnerLock;

  constructor(readonly db: Db, readonly path: string) {
    this.lock = new OwnerLock(path);
    const writer: JobWriter = {
      owner: () => this.lock.owner(),
      isMine: (o) => this.lock.isMine(o),
      alive: (o) => this.lock.isMine(o) || ownerAlive(path, o),
    };
    this.traces = new TraceStore(db, writer);
    this.assets = new AssetStore(db);
    this.runs = new RunStore(db, writer);
    this.fileHashes = new FileHashStore(db);
  }

  /** Marks jobs whose writer has gone since the store opened as interrupted (opening does it too). */
  recover(): void {
    recoverInterrupted(this.db, this.path, (o) => this.lock.isMine(o));
  }

  close(): void {
    this.db.close();
    this.lock.release();
  }
}

export function openStore(path: string): Store {
  return new Store(openDb(path), path);
}
