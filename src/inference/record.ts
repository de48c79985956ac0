/**
 * Recording a trace into a file instead of the database: `infer --out
 * FILE.npz`, optionally for one shard of the dataset (`--shard I/N`), which is
 * how a cluster job runs on machines that share no database. The inference
 * job runs unchanged against a private in-memory store, so the file holds
 * exactly what a stored trace would; the user's database is never opened.
 */
import { basename, resolve } from 'node:path';
import { StudioError } from '../errors.js';
import { openStore } from '../store/store.js';
import { writeOutput } from '../files/write.js';
import { checkWritable, writeTraceNpz } from '../trace/export.js';
import type { NpzRecording } from '../trace/npz-format.js';
import { shardPlace, type ShardPlace } from '../trace/shards.js';
import { runInference, type InferRequest, type JobHooks } from './job.js';

export interface RecordRequest extends Omit<InferRequest, 'force' | 'name'> {
  /** The .npz to write. */
  out: string;
  /** Replace `out` if it exists (default: refuse it before any inference). */
  force?: boolean;
}

export interface RecordResult {
  path: string;
  samples: number;
  exits: number;
  shard: ShardPlace;
  seconds: number;
  samplesPerSecond: number;
  exitLatencyMs: number[];
  ep: string;
  warnings: string[];
  modelSha256: string;
  datasetSha256: string;
}

export async function recordToFile(req: RecordRequest, hooks: JobHooks = {}): Promise<RecordResult> {
  const out = resolve(req.out);
  if (!out.toLowerCase().endsWith('.npz')) throw new StudioError(`${out}: a recorded trace is written as .npz; give a path ending in .npz`, { kind: 'input', file: out, field: 'out' });
  // Checked before the inference: a shard that cannot write its result must not spend its compute first.
  checkWritable(out, { force: req.force === true });
  const store = openStore(':memory:');
  try {
    const r = await runInference(store, { ...req, force: true }, hooks);
    const meta = store.traces.meta(r.traceId);
    const trace = store.traces.load(r.traceId);
    const shard = r.shard ?? shardPlace({ index: 0, count: 1 }, r.samples);
    const recording: NpzRecording = {
      model: { name: basename(req.model), sha256: meta.modelSha256! },
      dataset: { name: basename(resolve(req.data)), sha256: meta.datasetSha256! },
      shard,
      settings: { limit: req.limit ?? null, labelColumn: req.labelColumn ?? null, image: req.image ?? null },
    };
    await writeOutput(out, (tmp) => writeTraceNpz(trace, tmp, recording), { force: req.force === true });
    return {
      path: out, samples: r.samples, exits: r.exits, shard, seconds: r.seconds, samplesPerSecond: r.samplesPerSecond,
      exitLatencyMs: r.exitLatencyMs, ep: r.ep, warnings: r.warnings, modelSha256: recording.model.sha256, datasetSha256: recording.dataset.sha256,
    };
  } finally {
    store.close();
  }
}
