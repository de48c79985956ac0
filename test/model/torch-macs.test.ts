/**
 * MAC counts of real torch.onnx.export models against hand counts. The models are made on the
 * fly by test/fixtures/make_torch_models.py (python3-torch, python3-onnx); the hand counts below
 * follow the architectures written there, layer by layer, not the product's code.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inspectModel } from '../../src/model/inspect.js';
import { findPython, makeTorchModels } from '../helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'exit-studio-torch-'));
let skipReason = '';
before(() => {
  const found = findPython();
  if ('missing' in found) {
    skipReason = found.missing;
    return;
  }
  makeTorchModels(found.python, dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** True when the test may go on; otherwise marks it skipped with the reason. */
function ready(t: TestContext): boolean {
  if (skipReason) t.skip(skipReason);
  return !skipReason;
}

/**
 * One pre-norm encoder layer over n tokens of width d: the QKV projection, scores Q·Kᵀ and the
 * weighted sum of V (n × n × d each, over all heads together), the output projection, the FFN.
 */
function encoderLayer(n: number, d: number, ffn: number): number {
  return n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * ffn;
}

describe('MACs of torch-exported models', () => {
  // RowViT: 28 rows of 28 pixels as tokens, a CLS token in front; d 64, 4 heads, FFN 128, 10 classes.
  const embedding = 28 * 28 * 64;
  const layer = encoderLayer(29, 64, 128);
  const head = 64 * 10;
  const vitExits = [1, 2, 3, 4, 5, 6].map((k) => embedding + k * layer + head);

  it('the hand count of the ViT is the one in the issue', () => {
    assert.equal(embedding, 50_176);
    assert.equal(layer, 1_057_920);
    assert.equal(29 * 64 * 192, 356_352, 'QKV');
    assert.equal(29 * 29 * 64, 53_824, 'scores, and again the weighted sum of V');
    assert.equal(29 * 64 * 64, 118_784, 'output projection');
    assert.equal(2 * 29 * 64 * 128, 475_136, 'FFN');
    assert.equal(head, 640);
  });

  it('ViT encoder (shapes from Shape → Gather → Concat → Reshape chains): every exit exact', async (t) => {
    if (!ready(t)) return;
    const info = await inspectModel(join(dir, 'vit.onnx'));
    assert.deepEqual(info.exits.map((e) => e.name), ['exit_0', 'exit_1', 'exit_2', 'exit_3', 'exit_4', 'exit_5']);
    assert.deepEqual(info.exits.map((e) => e.macs), vitExits);
    assert.deepEqual(info.exits.map((e) => e.macsSource), new Array(6).fill('static'));
    assert.equal(info.totalMacs, embedding + 6 * layer + 6 * head);
    assert.deepEqual(info.macsBasis.inputs, [{ name: 'x', shape: [1, 28, 28] }]);
    assert.deepEqual(info.macsBasis.dims, []);
    assert.equal(info.macsBasis.unsized, 0);
    assert.equal(info.macsBasis.probed, 0);
    // 6 × (QKV, scores, values, projection, fc1, fc2) + the embedding = 37 MatMuls, and 6 Gemm heads.
    assert.equal(info.macsBasis.nodes, 43);
    assert.equal(info.warnings, undefined);
  });

  it('the same ViT with every tensor, shape constants included, in external data', async (t) => {
    if (!ready(t)) return;
    const info = await inspectModel(join(dir, 'vit-external.onnx'));
    assert.deepEqual(info.exits.map((e) => e.macs), vitExits);
    assert.deepEqual(info.exits.map((e) => e.macsSource), new Array(6).fill('static'));
  });

  // Decoder: vocab 50, d 32, 2 heads, FFN 96, 3 causal layers; each exit reads the last position (32 × 50).
  const decoderExits = (seq: number): number[] => [1, 2, 3].map((k) => k * encoderLayer(seq, 32, 96) + 32 * 50);

  it('causal decoder: the sequence length comes from the data, and the counts are exact for it', async (t) => {
    if (!ready(t)) return;
    const ids = new ort.Tensor('int64', BigInt64Array.from({ length: 20 }, (_, i) => BigInt(i % 50)), [1, 20]);
    const info = await inspectModel(join(dir, 'decoder.onnx'), { sample: async () => ({ ids }) });
    assert.deepEqual(info.exits.map((e) => e.macs), decoderExits(20));
    assert.deepEqual(info.exits.map((e) => e.macsSource), ['static', 'static', 'static']);
    assert.deepEqual(info.macsBasis.dims, [{ name: 'seq', value: 20, from: 'data' }]);
    assert.deepEqual(info.macsBasis.inputs, [{ name: 'ids', shape: [1, 20] }]);
  });

  it('causal decoder: a length given by name, or an assumed one that makes every exit an estimate', async (t) => {
    if (!ready(t)) return;
    const given = await inspectModel(join(dir, 'decoder.onnx'), { dims: { seq: 37 } });
    assert.deepEqual(given.exits.map((e) => e.macs), decoderExits(37));
    assert.deepEqual(given.exits.map((e) => e.macsSource), ['static', 'static', 'static']);
    assert.deepEqual(given.macsBasis.dims, [{ name: 'seq', value: 37, from: 'user' }]);

    const assumed = await inspectModel(join(dir, 'decoder.onnx'));
    assert.deepEqual(assumed.macsBasis.dims, [{ name: 'seq', value: 128, from: 'default' }]);
    assert.deepEqual(assumed.exits.map((e) => e.macs), decoderExits(128));
    assert.deepEqual(assumed.exits.map((e) => e.macsSource), ['estimate', 'estimate', 'estimate']);

    await assert.rejects(inspectModel(join(dir, 'decoder.onnx'), { dims: { sequence: 10 } }), /decoder\.onnx: no symbolic input dim is called 'sequence'; the model's are: seq/);
    await assert.rejects(inspectModel(join(dir, 'decoder.onnx'), { dims: { batch: 4 } }), /dim 'batch' is the batch: MACs are counted per sample/);
  });

  it("ViT of torch's nn.TransformerEncoderLayer over conv patches (opset 17): exact", async (t) => {
    if (!ready(t)) return;
    const info = await inspectModel(join(dir, 'vit-patches.onnx'));
    // Patches: a 4×4 stride-4 conv 1 → 48 over 28×28 gives 7×7 = 49 tokens, and the CLS token: 50 of width 48.
    const patches = 48 * 7 * 7 * 16;
    const layer = encoderLayer(50, 48, 96);
    assert.deepEqual(info.exits.map((e) => e.macs), [1, 2, 3, 4].map((k) => patches + k * layer + 48 * 10));
    assert.deepEqual(info.exits.map((e) => e.macsSource), new Array(4).fill('static'));
  });

  it('BERT-style encoder with an attention mask, two symbolic inputs sharing one length', async (t) => {
    if (!ready(t)) return;
    const info = await inspectModel(join(dir, 'bert.onnx'), { dims: { seq: 16 } });
    // Per layer: Q, K, V and output projections are separate Linears (4 n d²), the rest as in encoderLayer; each exit a pooler d × d and a 5-class head.
    const layer = encoderLayer(16, 32, 64);
    assert.deepEqual(info.exits.map((e) => e.macs), [1, 2, 3].map((k) => k * layer + 32 * 32 + 32 * 5));
    assert.deepEqual(info.exits.map((e) => e.macsSource), ['static', 'static', 'static']);
    assert.deepEqual(info.macsBasis.inputs, [{ name: 'ids', shape: [1, 16] }, { name: 'mask', shape: [1, 16] }]);
  });

  it('CNN with grouped, depthwise, dilated and transposed convolutions: exact', async (t) => {
    if (!ready(t)) return;
    const info = await inspectModel(join(dir, 'cnn.onnx'));
    // conv(Cin, Cout, k, groups, out side) = Cout × side² × (Cin / groups) × k²
    const conv = (cin: number, cout: number, k: number, g: number, side: number): number => cout * side * side * (cin / g) * k * k;
    const stage1 = conv(3, 16, 3, 1, 32) + conv(16, 32, 3, 4, 16);
    const stage2 = conv(32, 32, 3, 32, 16) + conv(32, 64, 1, 1, 16) + conv(64, 64, 3, 8, 8);
    // ConvTranspose 64 → 32, k 2, stride 2, 2 groups, from 8×8: each input element feeds (32 / 2) × 2² outputs.
    const stage3 = 64 * 8 * 8 * (32 / 2) * 2 * 2 + conv(32, 48, 3, 2, 16);
    assert.deepEqual(info.exits.map((e) => e.macs), [stage1 + 32 * 10, stage1 + stage2 + 64 * 10, stage1 + stage2 + stage3 + 48 * 10]);
    assert.deepEqual(info.exits.map((e) => e.macsSource), ['static', 'static', 'static']);
  });
});
