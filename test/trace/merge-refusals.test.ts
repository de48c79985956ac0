/**
 * import-trace refuses shard files that are not the pieces of one recording,
 * each with an input error that names the file and what differs, and stores
 * nothing: shards of different models, exits, classes, datasets or settings,
 * of different splits, missing or overlapping shards, files that are not
 * shard files, and damaged ones.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { writeNpy } from '../../src/data/npy.js';
import { isStudioError, type ErrorKind } from '../../src/errors.js';
import { recordToFile, type RecordRequest } from '../../src/inference/record.js';
import { openStore } from '../../src/store/store.js';
import { writeTraceNpz } from '../../src/trace/export.js';
import { NPZ_META, type NpzMeta } from '../../src/trace/npz-format.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';
import { syntheticTrace } from '../helpers/trace.js';
import { tempDir } from '../data/util.js';

const tmp = tempDir();
const store = openStore(tmp.file('studio.sqlite'));
const ctx: CommandContext = { store, emit: () => {} };
after(() => {
  store.close();
  tmp.cleanup();
  cleanupTempModels();
});

const INPUT = 5;
const modelA = writeTempModel(buildMlpMultiExit({ inputDim: INPUT, hidden: 6, classes: 3, exits: 3, seed: 1 }), 'model-a.onnx');
const modelB = writeTempModel(buildMlpMultiExit({ inputDim: INPUT, hidden: 6, classes: 3, exits: 3, seed: 2 }), 'model-b.onnx');

function data(name: string, seed: number): string {
  const path = tmp.file(name);
  writeNpy(path, 'float', [40, INPUT], Float32Array.from({ length: 40 * INPUT }, (_, i) => Math.sin(i * seed)));
  return path;
}
const X = data('x.npy', 1);
const X2 = data('x2.npy', 2);
const Y = tmp.file('y.npy');
writeNpy(Y, 'int32', [40], Int32Array.from({ length: 40 }, (_, i) => i % 3));

let n = 0;
async function shard(index: number, count: number, over: Partial<RecordRequest> = {}): Promise<string> {
  const r = await recordToFile({ model: modelA, data: X, threads: 1, shard: { index, count }, out: tmp.file(`s${n++}-${index}of${count}.npz`), ...over });
  return r.path;
}

/** A copy of a shard file with its exits.json changed, as a damaged or tampered file would be. */
function tampered(path: string, change: (m: NpzMeta) => void): string {
  const files = unzipSync(readFileSync(path));
  const meta = JSON.parse(new TextDecoder().decode(files[NPZ_META])) as NpzMeta;
  change(meta);
  files[NPZ_META] = new TextEncoder().encode(JSON.stringify(meta));
  const out = path.replace(/\.npz$/, `-tampered${n++}.npz`);
  writeFileSync(out, zipSync(files, { level: 0 }));
  return out;
}

/** Refused as bad input, naming `file` and saying `why`; nothing stored, not even an interrupted row. */
async function refused(paths: string[], file: string, why: RegExp, kind: ErrorKind = 'input'): Promise<void> {
  let err: unknown;
  try {
    await invoke(ctx, 'trace.import', { path: paths });
  } catch (e) {
    err = e;
  }
  assert.ok(isStudioError(err), `expected a refusal mentioning ${why}, got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  assert.ok(err.message.includes(file), `"${err.message}" should name ${file}`);
  assert.match(err.message, why);
  assert.equal(store.traces.list().length, 0);
  assert.equal(store.traces.interrupted().length, 0);
}

test('shards of different models', async () => {
  const b = await shard(1, 2, { model: modelB });
  await refused([await shard(0, 2), b], b, /model-b\.onnx \(sha256 [0-9a-f]{12}…\), but .*model-a\.onnx .*shards of different models cannot be merged/);
});

test('shards of different exits', async () => {
  const two = await shard(1, 2, { exits: ['exit_0', 'exit_2'] });
  await refused([await shard(0, 2), two], two, /records exits exit_0, exit_2, but .* records exit_0, exit_1, exit_2: shards with different exits/);
});

test('shards of different classes', async () => {
  const other = tampered(await shard(1, 2), (m) => (m.classes = 7));
  await refused([await shard(0, 2), other], other, /has 7 classes, but .* has 3: shards with different classes/);
});

test('shards of different datasets, or of the same file read to a different --limit', async () => {
  const x2 = await shard(1, 2, { data: X2 });
  await refused([await shard(0, 2), x2], x2, /recorded on x2\.npy \(sha256 [0-9a-f]{12}…, 40 samples\), but .* on x\.npy .*shards of different datasets/);
  const limited = await shard(1, 2, { limit: 30 });
  await refused([await shard(0, 2), limited], limited, /x\.npy \(sha256 [0-9a-f]{12}…, 30 samples\), but .*40 samples\).*different datasets/);
});

test('shards read with different settings', async () => {
  const other = tampered(await shard(1, 2), (m) => (m.recording!.settings.image = { mean: [0.5], std: [0.2] }));
  await refused([await shard(0, 2), other], other, /recorded with settings .*"mean":\[0\.5\].*shards must read the data the same way/);
});

test('shards of different splits', async () => {
  const third = await shard(1, 3);
  await refused([await shard(0, 2), third], third, /is one of 3 shards, but .* is one of 2/);
});

test('missing shards, named with their samples', async () => {
  const [a, c] = [await shard(0, 3), await shard(2, 3)];
  await refused([c, a], basename(a), /2 of 3 shard files given \(.*\); missing shard 1\/3 \(samples 13–25 of 40\)\. A merged trace holds every shard/);
  await refused([await shard(3, 8)], 'of8', /1 of 8 shard files given .*missing shard 0\/8 .*, shard 4\/8 \(samples 20–24 of 40\), shard 5\/8 \(samples 25–29 of 40\) and 2 more/);
});

test('overlapping shards: the same shard twice', async () => {
  const [a, b] = [await shard(0, 2), await shard(1, 2)];
  const again = tmp.file('copy-of-shard-1.npz');
  copyFileSync(b, again);
  await refused([a, b, again], again, /shard 1\/2 \(samples 20–39 of 40\), and so is .*: the shards overlap/);
});

test('shards recorded with and without probabilities or labels', async () => {
  const probs = await shard(1, 2, { probs: true });
  await refused([await shard(0, 2), probs], probs, /holds confidence, probabilities \(3 classes\), but .* holds confidence: record every shard with the same choice of class scores \(probs\) and labels/);
  const labelled = await shard(1, 2, { labels: Y });
  await refused([await shard(0, 2), labelled], labelled, /holds confidence, labels, but/);
});

test('files that are not shard files, or damaged ones', async () => {
  const a = await shard(0, 2);
  const plain = tmp.file('exported.npz');
  writeTraceNpz(syntheticTrace(20, 3, 3), plain);
  await refused([a, plain], plain, /is not a shard file: .*shard files are written by recording one shard of a dataset into its own \.npz file/);
  const tsv = tmp.file('matrix.tsv');
  writeFileSync(tsv, 'exit_1\texit_2\n0\t1\n');
  await refused([a, tsv], tsv, /only shard files can be merged/);
  const garbage = tmp.file('garbage.npz');
  writeFileSync(garbage, 'not a zip archive, only text pretending to be one');
  await refused([a, garbage], garbage, /not a readable \.npz/);
  await refused([a, tmp.file('gone.npz')], 'gone.npz', /no such file/, 'not-found');
  const moved = tampered(await shard(1, 2), (m) => (m.recording!.shard.first = 10));
  await refused([a, moved], moved, /damaged: shard 1\/2 \(samples 20–39 of 40\) is expected, but it says 20 samples from sample 10/);
  const noHash = tampered(await shard(1, 2), (m) => (m.recording!.model.sha256 = 'abc'));
  await refused([a, noHash], noHash, /damaged: recording\.model\.sha256: expected a SHA-256/);
  const short = tampered(await shard(1, 2), (m) => (m.recording!.shard = { index: 1, count: 2, first: 19, samples: 21, total: 40 }));
  await refused([a, short], short, /damaged/);
});

test('after every refusal, the same files merge once complete', async () => {
  const files = [await shard(1, 3), await shard(0, 3), await shard(2, 3)];
  const r = (await invoke(ctx, 'trace.import', { path: files })) as { traceId: number; samples: number };
  assert.equal(r.samples, 40);
  assert.deepEqual(store.traces.list().map((t) => t.id), [r.traceId]);
});
