/** Writing a stored trace back out: a prediction matrix (.tsv) or an .npz, so it round-trips through import-trace. */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { zipSync } from 'fflate';
import { encodeNpy } from '../data/npy.js';
import { StudioError, writeError } from '../errors.js';
import { writeOutput, type WriteOptions } from '../files/write.js';
import { NPZ_META, type NpzMeta, type NpzRecording } from './npz-format.js';
import type { Trace } from './types.js';

/** Writes `out` whole or not at all; an existing file is replaced only with `force`. */
export async function exportTrace(trace: Trace, out: string, opts: WriteOptions = {}): Promise<void> {
  const ext = extname(out).toLowerCase();
  if (ext === '.tsv') return writeOutput(out, (tmp) => writeMatrix(trace, tmp), opts);
  if (ext === '.npz') return writeOutput(out, (tmp) => writeTraceNpz(trace, tmp), opts);
  throw new StudioError(`${out}: unknown export format "${ext || '(none)'}"; use .tsv (prediction matrix) or .npz`, { kind: 'input', file: out, field: 'out' });
}

/** One column per exit (predicted class), then `label` when the trace has labels. */
async function writeMatrix(trace: Trace, out: string): Promise<void> {
  const K = trace.exits.length;
  // Plain awaited writes: a full disk fails the export, it never escapes as a stream event.
  const fh = await open(out, 'wx');
  try {
    const header = trace.exits.map((e) => e.name.replace(/[\t\n\r]/g, ' '));
    if (trace.labels) header.push('label');
    let buf = header.join('\t') + '\n';
    for (let i = 0; i < trace.samples; i++) {
      const row: number[] = [];
      for (let k = 0; k < K; k++) row.push(trace.pred[i * K + k]!);
      if (trace.labels) row.push(trace.labels[i]!);
      buf += row.join('\t') + '\n';
      if (buf.length > 1 << 16) {
        await fh.writeFile(buf);
        buf = '';
      }
    }
    await fh.writeFile(buf);
  } finally {
    await fh.close();
  }
}

/**
 * Writes a trace as an .npz at a new path, with what it was recorded from
 * when known. Callers write through writeOutput (files/write.ts), so the file
 * appears whole or not at all: a cluster job killed mid-write never leaves a
 * shard file that looks complete.
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
  writeFileSync(out, zipSync(files, { level: 0 }), { flag: 'wx' });
}

/**
 * Fails now, before a long job, when `out` cannot be written: no such folder, no permission, a folder in the
 * way, or a file already there that is not to be replaced.
 */
export function checkWritable(out: string, opts: WriteOptions = {}): void {
  let st;
  try {
    st = statSync(out, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    accessSync(dirname(out), constants.W_OK);
  } catch (e) {
    throw writeError(out, e);
  }
  if (st && !opts.force) throw new StudioError(`${out}: already exists`, { kind: 'conflict', file: out, code: 'exists', field: 'force' });
}
