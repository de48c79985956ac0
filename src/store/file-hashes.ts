/**
 * The hashes of the files jobs read (models, their weights, datasets, labels), each kept with the
 * stamp of the file it was made from (src/hash.ts), so a job on a file unchanged since does not
 * read it again only to find the same hash: 157 MB of data took 0.14 s to hash on a 2-core
 * machine, each time a job started (a model of 440 MB, at that rate, 0.4 s). A row whose file changed is replaced when
 * the file is hashed again; rows of files gone are never read and cost a few dozen bytes each.
 * A job writes the hashes it made only once it succeeds (pending): one that fails leaves the
 * store as it was.
 */
import { sameStamp, type FileStamp, type HashMemo } from '../hash.js';
import { nowIso, type Db } from './db.js';

interface Row extends FileStamp {
  sha256: string;
}

export class FileHashStore implements HashMemo {
  constructor(private readonly db: Db) {}

  recall(path: string, stamp: FileStamp): string | undefined {
    const row = this.db
      .prepare('SELECT sha256, size, mtime_ns AS mtimeNs, ctime_ns AS ctimeNs, ino, dev FROM file_hashes WHERE path = ?')
      .get(path) as Row | undefined;
    return row && sameStamp(row, stamp) ? row.sha256 : undefined;
  }

  /** A memo that recalls from the store and holds what it is given to keep until commit(). */
  pending(): HashMemo & { commit(): void } {
    const held: [string, FileStamp, string][] = [];
    return {
      recall: (path, stamp) => held.find(([p, s]) => p === path && sameStamp(s, stamp))?.[2] ?? this.recall(path, stamp),
      keep: (path, stamp, sha256) => void held.push([path, stamp, sha256]),
      commit: () => {
        for (const [path, stamp, sha256] of held.splice(0)) this.keep(path, stamp, sha256);
      },
    };
  }

  keep(path: string, stamp: FileStamp, sha256: string): void {
    this.db
      .prepare(
        `INSERT INTO file_hashes (path, size, mtime_ns, ctime_ns, ino, dev, sha256, hashed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,
           ino = excluded.ino, dev = excluded.dev, sha256 = excluded.sha256, hashed_at = excluded.hashed_at`,
      )
      .run(path, stamp.size, stamp.mtimeNs, stamp.ctimeNs, stamp.ino, stamp.dev, sha256, nowIso());
  }
}
