// Hashes remembered by file stamp: an unchanged file is not read again, any change to its content is seen,
// and a job on data rewritten in place (same size, modification time put back) runs again instead of reusing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeNpy } from '../../src/data/npy.js';
import { fileStamp, sha256File, SETTLE_MS, type FileStamp, type HashMemo } from '../../src/hash.js';
import { runInference } from '../../src/inference/job.js';
import { openStore } from '../../src/store/store.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'es-hashes-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Sets a file's times to a whole second, which utimes can put back exactly later (it takes no
 * nanoseconds): a time put back a few ns off would be a change of stamp by itself.
 */
function wholeSecondTimes(path: string): Date {
  const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(path, t, t);
  return t;
}
const stampOf = (path: string): FileStamp => fileStamp(statSync(path, { bigint: true }));

/** A memo in memory that records what it was asked, with no settling time: the files here are seconds old. */
function memo(): HashMemo & { kept: Map<string, { stamp: FileStamp; sha: string }>; recalled: number } {
  const kept = new Map<string, { stamp: FileStamp; sha: string }>();
  const m = {
    kept,
    recalled: 0,
    settleMs: 0,
    recall(path: string, stamp: FileStamp) {
      const k = kept.get(path);
      if (!k || JSON.stringify(k.stamp) !== JSON.stringify(stamp)) return undefined;
      m.recalled++;
      return k.sha;
    },
    keep(path: string, stamp: FileStamp, s: string) {
      kept.set(path, { stamp, sha: s });
    },
  };
  return m;
}

test('sha256File trusts a kept hash only at the stamp it was made at, and keeps no hash of a file changed just before', async () => {
  const file = join(dir, 'a.bin');
  writeFileSync(file, 'first content');
  const t = wholeSecondTimes(file);
  const m = memo();
  assert.equal(await sha256File(file, undefined, m), sha(Buffer.from('first content')));
  assert.equal(m.kept.size, 1);
  // What the memo says is what comes back while the stamp holds: the file is not read (a planted value shows it).
  m.kept.set(file, { stamp: stampOf(file), sha: 'planted' });
  let heard = 0;
  assert.equal(await sha256File(file, (n) => (heard += n), m), 'planted');
  assert.equal(heard, statSync(file).size, 'progress hears the whole file at once');
  // The same size and modification time, other bytes: the status-change time moved, so the file is read again.
  const before = stampOf(file);
  writeFileSync(file, 'other content');
  utimesSync(file, t, t);
  assert.deepEqual({ ...stampOf(file), ctimeNs: before.ctimeNs }, before, 'only the status-change time tells the files apart');
  assert.equal(await sha256File(file, undefined, m), sha(Buffer.from('other content')));
  // Replaced by another file (a new inode), even one with the same times.
  const other = join(dir, 'b.bin');
  writeFileSync(other, 'third content');
  utimesSync(other, t, t);
  renameSync(other, file);
  assert.equal(await sha256File(file, undefined, m), sha(Buffer.from('third content')));
  // With the default settling time, a file written a moment ago is hashed but not remembered.
  const fresh = memo();
  const settled: HashMemo = { recall: fresh.recall, keep: fresh.keep };
  assert.equal(await sha256File(file, undefined, settled), sha(Buffer.from('third content')));
  assert.equal(fresh.kept.size, 0, `kept a file changed less than ${SETTLE_MS} ms before`);
});

test('a job on data it hashed before does not hash it again; data rewritten in place with its size and time put back is inferred again', async () => {
  const model = writeTempModel(buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 3, exits: 2, seed: 3 }), 'hash-mlp.onnx');
  const data = join(dir, 'x.npy');
  const values = Float32Array.from({ length: 40 * 6 }, (_, i) => Math.sin(i));
  writeNpy(data, 'float', [40, 6], values);
  const t = wholeSecondTimes(data);
  const store = openStore(join(dir, 'studio.sqlite'));
  await sleep(SETTLE_MS + 100); // the store's memo keeps only files that settled
  const phases = (): { hashed: string[]; onPhase: (p: { phase: string }) => void } => {
    const hashed: string[] = [];
    return { hashed, onPhase: (p) => void (p.phase.startsWith('hashing') && !hashed.includes(p.phase) && hashed.push(p.phase)) };
  };
  const first = await runInference(store, { model, data, batch: 8 });
  assert.equal(store.fileHashes.recall(data, stampOf(data)), sha(readFileSync(data)), 'the data\'s hash is kept with its stamp');
  const again = await runInference(store, { model, data, batch: 8 });
  assert.equal(again.reused, true);
  assert.equal(again.traceId, first.traceId);
  // Other values, the same size, the modification time put back: a stamp of size and mtime alone would reuse the old trace.
  const before = stampOf(data);
  writeNpy(data, 'float', [40, 6], values.map((v) => -v));
  utimesSync(data, t, t);
  assert.deepEqual({ ...stampOf(data), ctimeNs: before.ctimeNs }, before, 'only the status-change time tells the files apart');
  const p = phases();
  const changed = await runInference(store, { model, data, batch: 8 }, { onPhase: p.onPhase });
  assert.equal(changed.reused, false, 'the rewritten data reused the trace of the old');
  assert.notDeepEqual(store.traces.load(changed.traceId).maxProb, store.traces.load(first.traceId).maxProb);
  assert.ok(p.hashed.includes('hashing the data'));
  store.close();
});
