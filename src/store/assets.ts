/** Models and datasets as the store records them: by path and content hash. */
import { nowIso, type Db } from './db.js';

export { sha256File, sha256Path } from '../hash.js';

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
