/** External weights kept by reference, the model digest over them, and timed passes summarized. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StudioError } from '../../src/errors.js';
import { modelDigest } from '../../src/model/digest.js';
import { inspectModel } from '../../src/model/inspect.js';
import { loadModel } from '../../src/model/load.js';
import { proto } from '../../src/model/proto.js';
import { quantile, summarizePasses } from '../../src/model/timing.js';
import { cutInitializers, externalRef, resolvableFromFolder } from '../../src/model/weights.js';
import { buildMlpMultiExit, cleanupTempModels, makeTempDir, saveWithExternalData, writeTempModel } from '../helpers/onnx-builder.js';

after(cleanupTempModels);

const mlp = (): Uint8Array => buildMlpMultiExit({ inputDim: 4, hidden: 3, classes: 2, exits: 2 });

describe('external weights', () => {
  it('only relative locations inside the model folder are kept as references', () => {
    const ref = (location: string) => ({ location, offset: 0, length: 4 });
    assert.equal(resolvableFromFolder(ref('model.onnx.data')), true);
    assert.equal(resolvableFromFolder(ref('weights/part1.bin')), true);
    assert.equal(resolvableFromFolder(ref('../elsewhere.bin')), false);
    assert.equal(resolvableFromFolder(ref('/abs/weights.bin')), false);
    assert.equal(resolvableFromFolder(ref('')), false);
  });

  it('cutInitializers keeps references and names the folder; a location outside it is read in', async () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, 'w'));
    const { modelPath } = saveWithExternalData(mlp(), { dir, location: 'w/model.bin' });
    const loaded = await loadModel(modelPath);
    const tensors = loaded.model.graph!.initializer!;
    const kept = await cutInitializers(modelPath, tensors);
    assert.equal(kept.weightsDir, dir);
    assert.ok(kept.initializer.every((t) => externalRef(t)?.location === 'w/model.bin'));

    // The same model moved into a subfolder, its side file named as ../w/model.bin: onnxruntime
    // would refuse that path for a model given as bytes, so the bytes come inline.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const moved = proto.ModelProto.decode(readFileSync(modelPath));
    for (const t of moved.graph!.initializer!) for (const e of t.externalData ?? []) if (e.key === 'location') e.value = '../w/model.bin';
    const movedPath = join(sub, 'model.onnx');
    writeFileSync(movedPath, proto.ModelProto.encode(moved).finish());
    // (loadModel refuses such a model: the tensors are taken from the file as it is.)
    const inlined = await cutInitializers(movedPath, proto.ModelProto.decode(readFileSync(movedPath)).graph!.initializer!);
    assert.equal(inlined.weightsDir, undefined);
    assert.ok(inlined.initializer.every((t) => !externalRef(t) && (t.rawData?.length ?? 0) > 0));
    assert.deepEqual(
      inlined.initializer.map((t) => Array.from(t.rawData!)),
      proto.ModelProto.decode(mlp()).graph!.initializer!.map((t) => Array.from(t.rawData!)),
      'the bytes read in are the weights',
    );
  });

  it('a side file that goes missing is named in the error', async () => {
    const { modelPath, dataPath } = saveWithExternalData(mlp());
    // An absolute location is read in (onnxruntime would not resolve it for bytes).
    const model = proto.ModelProto.decode(readFileSync(modelPath));
    for (const t of model.graph!.initializer!) for (const e of t.externalData ?? []) if (e.key === 'location') e.value = dataPath;
    writeFileSync(modelPath, proto.ModelProto.encode(model).finish());
    renameSync(dataPath, `${dataPath}.gone`);
    // (loadModel refuses an absolute location: the tensors are taken from the file as it is.)
    await assert.rejects(cutInitializers(modelPath, model.graph!.initializer!), (e: unknown) => {
      assert.ok(e instanceof StudioError);
      assert.ok(e.message.startsWith(`${modelPath}: external data file '${dataPath}' for initializer`), e.message);
      assert.match(e.message, /is missing$/);
      return true;
    });
  });
});

describe('modelDigest', () => {
  it('is the SHA-256 of the file for a model without external data (identities stored before stay valid)', async () => {
    const path = writeTempModel(mlp());
    const want = createHash('sha256').update(readFileSync(path)).digest('hex');
    assert.equal(await modelDigest(await loadModel(path)), want);
    assert.equal((await inspectModel(path)).sha256, want);
  });

  it('covers the external weights: other weights beside the same .onnx give another digest', async () => {
    const { modelPath, dataPath } = saveWithExternalData(mlp());
    const before = (await inspectModel(modelPath)).sha256;
    assert.notEqual(before, createHash('sha256').update(readFileSync(modelPath)).digest('hex'));
    const data = readFileSync(dataPath);
    data[data.length - 1] ^= 0x01;
    writeFileSync(dataPath, data);
    const after = (await inspectModel(modelPath)).sha256;
    assert.notEqual(after, before);
    // Progress counts every byte read: the .onnx and its side file.
    let done = 0;
    let total = 0;
    await inspectModel(modelPath, { onProgress: (p) => ((done = p.done), (total = p.total), assert.equal(p.phase, 'hashing the model')) });
    assert.equal(done, total);
    assert.equal(total, readFileSync(modelPath).length + data.length);
    assert.equal(dirname(dataPath), dirname(modelPath));
  });
});

describe('timed passes', () => {
  it('quantile interpolates between order statistics', () => {
    assert.equal(quantile([3, 1, 2], 0.5), 2);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
    assert.equal(quantile([7], 0.75), 7);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('summarizePasses: cumulative per sample, median and quartiles per exit', () => {
    // Three passes of three stages over a batch of 2 samples.
    const s = summarizePasses([[2, 4, 6], [4, 4, 4], [6, 2, 8]], 2);
    // Cumulative ms per sample per pass: [1, 3, 6], [2, 4, 6], [3, 4, 8].
    assert.deepEqual(s.ms, [2, 4, 6]);
    assert.deepEqual(s.q1, [1.5, 3.5, 6]);
    assert.deepEqual(s.q3, [2.5, 4, 7]);
    assert.deepEqual([s.repeats, s.batch], [3, 2]);
    // Times already to each exit (pruned models) are not summed again.
    assert.deepEqual(summarizePasses([[2, 6]], 2, true).ms, [1, 3]);
    assert.throws(() => summarizePasses([], 2), /no timed passes/);
  });
});
