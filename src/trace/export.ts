/** Writing a stored trace back out: a prediction matrix (.tsv) or an .npz, so it round-trips through import-trace. */
import { accessSync, constants, createWriteStream, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { once } from 'node:events';
import { zipSync } from 'fflate';
import { encodeNpy } from '../data/npy.js';
import { StudioError, writeError } from '../errors.js';
import { NPZ_META, type NpzMeta, type NpzRecording } from './npz-format.js';
import type { Trace } from './types.js';

export async function exportTrace(trace: Trace, out: string): Promise<void> {
  const ext = extname(out).toLowerCase();
  try {
    if (ext === '.tsv') return await writeMatrix(trace, out);
    if (ext === '.npz') return writeTraceNpz(trace, out);
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw writeError(out, e);
  }
  throw new StudioError(`${out}: unknown export format "${ext || '(none)'}"; use .tsv (prediction matrix) or .npz`, { file: out });
}

/** One column per exit (predicted class), then `label` when the trace has labels. */
async function writeMatrix(trace: Trace, out: string): Promise<void> {
  const K = trace.exits.length;
  const ws = createWriteStream(out);
  const header = trace.exits.map((e) => e.name.replace(/[\t\n]/g, ' '));
  if (trace.labels) header.push('label');
  ws.write(header.join('\t') + '\n');
  let buf = '';
  for (let i = 0; i < trace.samples; i++) {
    const row: number[] = [];
    for (let k = 0; k < K; k++) row.push(trace.pred[i * K + k]!);
    if (trace.labels) row.push(trace.labels[i]!);
    buf += row.join('\t') + '\n';
    if (buf.length > 1 << 16) {
      if (!ws.write(buf)) await once(ws, 'drain');
      buf = '';
    }
  }
  ws.end(buf);
  await once(ws, 'finish');
}

/**
 * Writes a trace as an .npz, with what it was recorded from when known. The
 * file appears whole or not at all (written aside, then renamed): a cluster
 * job killed mid-write never leaves a shard file that looks complete.
 */
export function writeTraceNpz(trace: Trace, out: string, recording?: NpzRecording): void {
  const N = trace.samples;
  const K = trace.exits.length;
  const files: Record<string, Uint8Array> = {
    'pred.npy': encodeNpy('int32', [N, K], trace.pred),
    'costs.npy': encodeNpy('double', [K], trace.costs),
  };
  if (trace.maxProb) files['max_prob.npy'] = encodeNpy('float', [N, K], trace.maxProb);
  if (trace.entropy) files['entropy.npy'] = encodeNpy('float', [N, K], trace.entropy);
  if (trace.margin) files['margin.npy'] = encodeNpy('float', [N, K], trace.margin);
  if (trace.probs) files['probs.npy'] = encodeNpy('float', [N, K, trace.classes], trace.probs);
  if (trace.labels) files['labels.npy'] = encodeNpy('int32', [N], trace.labels);
  const meta: NpzMeta = { format: 'exit-studio/trace', version: 1, classes: trace.classes, costSource: trace.costSource, exits: trace.exits, ...(trace.macsBasis ? { macsBasis: trace.macsBasis } : {}), ...(recording ? { recording } : {}) };
  files[NPZ_META] = new TextEncoder().encode(JSON.stringify(meta, null, 2));
  const aside = `${out}.partial-${process.pid}`;
  try {
    writeFileSync(aside, zipSync(files, { level: 0 }));
    renameSync(aside, out);
  } catch (e) {
    rmSync(aside, { force: true });
    throw writeError(out, e);
  }
}

/** Fails now, before a long job, when `out` cannot be written: no such folder, no permission, a folder in the way. */
export function checkWritable(out: string): void {
  try {
    if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    accessSync(dirname(out), constants.W_OK);
  } catch (e) {
    throw writeError(out, e);
  }
}
