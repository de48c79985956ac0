/** The studio's store: one SQLite file, one object with a repository per kind of record. */
import { AssetStore } from './assets.js';
import { openDb, type Db } from './db.js';
import { RunStore } from './runs.js';
import { TraceStore } from './traces.js';

export class Store {
  readonly traces: TraceStore;
  readonly assets: AssetStore;
  readonly runs: RunStore;

  constructor(readonly db: Db, readonly path: string) {
    this.traces = new TraceStore(db);
    this.assets = new AssetStore(db);
    this.runs = new RunStore(db);
  }

  close(): void {
    this.db.close();
  }
}

export function openStore(path: string): Store {
  return new Store(openDb(path), path);
}
