import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inspectModel } from '../../src/model/inspect.js';
import { measureExitLatency } from '../../src/model/latency.js';
import { pruneToOutput } from '../../src/model/prune.js';
import { loadModel } from '../../src/model/load.js';
import { createSession } from '../../src/model/split-run.js';
import { proto } from '../../src/model/proto.js';
import { externalRef } from '../../src/model/weights.js';
import { buildMlpMultiExit, cleanupTempModels, saveWithExternalData, writeTempModel } from '../helpers/onnx-builder.js';

after(cleanupTempModels);

function feed(batch: number, dim: number): Record<string, ort.Tensor> {
  return { x: new ort.Tensor('float32', Float32Array.from({ length: batch * dim }, (_, i) => Math.cos(i)), [batch, dim]) };
}

describe('pruneToOutput', () => {
  it('gives a model that computes exactly that exit', async () => {
    const bytes = buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 4, exits: 3, extraOutputs: true });
    const ext = saveWithExternalData(bytes);
    const loaded = await loadModel(ext.modelPath);
    const full = await ort.InferenceSession.create(writeTempModel(bytes));
    const want = await full.run(feed(3, 6));
    await full.release();
    for (const name of ['exit_0', 'exit_2']) {
      const pruned = await pruneToOutput(loaded, name);
      // The pruned model names the model's side file instead of copying the weights.
      assert.equal(pruned.weightsDir, dirname(ext.modelPath));
      const inits = proto.ModelProto.decode(pruned.bytes).graph?.initializer ?? [];
      assert.ok(inits.length > 0 && inits.every((t) => externalRef(t) && !t.rawData?.length), 'every weight a reference');
      const s = await createSession({ bytes: pruned.bytes, weightsDir: pruned.weightsDir! });
      assert.deepEqual(s.outputNames, [name]);
      const got = await s.run(feed(3, 6));
      await s.release();
      assert.deepEqual(Array.from(got[name]!.data as Float32Array), Array.from(want[name]!.data as Float32Array));
    }
  });
});

describe('measureExitLatency', () => {
  it('reports per-sample ms that rise with every exit, a shallow exit much cheaper than a deep one', async () => {
    // Exit 0 needs one 64x512 layer; exit 3 adds three 512x512 layers: about 13x the MACs.
    const path = writeTempModel(buildMlpMultiExit({ inputDim: 64, hidden: 512, classes: 10, exits: 4 }));
    const info = await inspectModel(path);
    const { ms, q1, q3, repeats } = await measureExitLatency(path, info, feed(32, 64), { threads: 1, repeats: 7 });
    assert.equal(repeats, 7);
    assert.ok(ms.every((v, i) => q1[i]! <= v && v <= q3[i]!), `median within the quartiles: ${q1} / ${ms} / ${q3}`);
    assert.equal(ms.length, 4);
    assert.ok(ms.every((v) => Number.isFinite(v) && v > 0), `positive: ${ms}`);
    // Each exit adds a 512x512 layer (exit 2 has 8x exit 1's MACs, exit 4 1.5x exit 3's): a strict rise is
    // measured. measureExitLatency lifts a lower reading to its predecessor's (timer noise), so ">=" would hold
    // whatever was measured; ">" fails when a deeper exit was timed cheaper.
    assert.ok(ms.every((v, i) => i === 0 || v > ms[i - 1]!), `each deeper exit measured dearer: ${ms}`);
    assert.ok(ms[3]! > ms[0]! * 2, `deep exit (${ms[3]}) should cost well over the shallow one (${ms[0]})`);
  });
});
