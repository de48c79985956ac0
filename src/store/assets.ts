/** Models and datasets as the store records them: by path and content hash. */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nowIso, type Db } from './db.js';

/** SHA-256 of a file, streamed (datasets can be larger than memory). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Content identity of a dataset: a file's SHA-256, or for a folder (images)
 * the SHA-256 over every file's relative path and content hash, in name order.
 * Only regular files have content: a named pipe in the folder (hidden, so the
 * image reader skipped it) would make the hash wait forever for a writer.
 */
export async function sha256Path(path: string): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path);
  const h = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(full);
      if (st.isDirectory()) await walk(full, r);
      else if (st.isFile()) h.update(`${r}\0${await sha256File(full)}\n`);
    }
  };
  await walk(path, '');
  return h.digest('hex');
}

export class AssetStore {
  constructor(private readonly db: Db) {}

  /** Returns the id of the model row for (sha256, path), creating or refreshing it. */
  upsertModel(path: string, sha256: string, info: unknown): number {
    this.db
      .prepare(
        `INSERT INTO models (path, sha256, info_json, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (sha256, path) DO UPDATE SET info_json = excluded.info_json`,
      )
      .run(path, sha256, JSON.stringify(info), nowIso());
    return (this.db.prepare('SELECT id FROM models WHERE sha256 = ? AND path = ?').get(sha256, path) as { id: number }).id;
  }

  /** The id of a known model file, or undefined. */
  modelId(path: string, sha256: string): number | undefined {
    return (this.db.prepare('SELECT id FROM models WHERE sha256 = ? AND path = ?').get(sha256, path) as { id: number } | undefined)?.id;
  }

  /** Deletes a model row that no trace refers to (one a failed run just added). */
  forgetUnusedModel(id: number): void {
    this.db.prepare('DELETE FROM models WHERE id = ? AND NOT EXISTS (SELECT 1 FROM traces WHERE model_id = ?)').run(id, id);
  }

  upsertDataset(path: string, sha256: string, format: string, samples: number): number {
    this.db
      .prepare(
        `INSERT INTO datasets (path, sha256, format, samples, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (sha256, path) DO UPDATE SET format = excluded.format, samples = excluded.samples`,
      )
      .run(path, sha256, format, samples, nowIso());
    return (this.db.prepare('SELECT id FROM datasets WHERE sha256 = ? AND path = ?').get(sha256, path) as { id: number }).id;
  }

  recentModels(limit = 10): { id: number; path: string; sha256: string; createdAt: string }[] {
    return this.db.prepare('SELECT id, path, sha256, created_at AS createdAt FROM models ORDER BY id DESC LIMIT ?').all(limit) as {
      id: number; path: string; sha256: string; createdAt: string;
    }[];
  }

  recentDatasets(limit = 10): { id: number; path: string; sha256: string; format: string; samples: number; createdAt: string }[] {
    return this.db.prepare('SELECT id, path, sha256, format, samples, created_at AS createdAt FROM datasets ORDER BY id DESC LIMIT ?').all(limit) as {
      id: number; path: string; sha256: string; format: string; samples: number; createdAt: string;
    }[];
  }
}
