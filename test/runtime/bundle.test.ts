import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMlpMultiExit, cleanupTempModels, floatTensor, makeModel, makeTempDir, node, prng, randomFloats, saveWithExternalData, valueInfo, writeTempModel } from '../helpers/onnx-builder.js';
import { applyBundle, readBundle, writeBundle, type ApplyReport, type BundlePolicy } from '../../src/export/bundle.js';
import { invoke } from '../../src/api/commands.js';
import { writeNpy } from '../../src/data/npy.js';
import { StudioError } from '../../src/errors.js';

after(cleanupTempModels);

const exits = ['exit_0', 'exit_1', 'exit_2'];
const policy: BundlePolicy = {
  policy: { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.6, 0.6, 0] },
  exitNames: exits,
  costs: [0.4, 0.7, 1],
  costUnit: 'normalized',
};

function mlpWithData(n = 50): { model: string; data: string; labels: string } {
  const model = writeTempModel(buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 4, exits: 3, seed: 11 }));
  const dir = makeTempDir();
  const data = join(dir, 'x.npy');
  const labels = join(dir, 'y.npy');
  writeNpy(data, 'float', [n, 6], randomFloats(prng(4), n * 6, 2));
  writeNpy(labels, 'int64', [n], Array.from({ length: n }, (_, i) => i % 4));
  return { model, data, labels };
}

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StudioError, String(e));
    assert.match(e.message, re);
    return true;
  });
}

describe('bundle', () => {
  it('round trip: write, read back, apply with labels', async () => {
    const { model, data, labels } = mlpWithData();
    const dir = join(makeTempDir(), 'bundle');
    const w = await writeBundle(dir, { modelPath: model, policy, appVersion: '9.9.9', verifyData: data });
    assert.deepEqual(readdirSync(dir).sort(), ['manifest.json', 'policy.json', 'stage_1.onnx', 'stage_2.onnx', 'stage_3.onnx']);
    assert.equal(w.manifest.appVersion, '9.9.9');
    assert.deepEqual(w.manifest.stages.map((s) => s.carriedOut.map((b) => [b.name, b.batchAxis])), [[['h0', 0]], [['h1', 0]], []]);
    assert.equal(w.manifest.verification.samples, 50);
    const b = await readBundle(dir);
    assert.deepEqual(b.policy, policy);
    assert.deepEqual(b.exits.map((e) => e.name), exits);
    const r = await applyBundle(dir, data, { labels, batch: 16, threads: 1 });
    assert.equal(r.samples, 50);
    assert.equal(r.baseline, 'model');
    // An MLP has no convolutions: its portable stages are what it runs (no re-cut).
    assert.equal(r.stages, 'portable', r.warnings.join('; '));
    assert.equal(r.exitCounts.reduce((a, c) => a + c, 0), 50);
    assert.ok(Math.abs(r.exitShares.reduce((a, c) => a + c, 0) - 1) < 1e-12);
    assert.ok(r.accuracy !== null && r.accuracy >= 0 && r.accuracy <= 1);
    assert.ok(r.agreement > 0 && r.agreement <= 1);
    assert.ok(r.meanLatencyMs > 0 && r.fullLatencyMs > 0 && r.speedup > 0);
    assert.ok(Math.abs(r.expectedCost - r.exitShares.reduce((s, p, k) => s + p * policy.costs[k]!, 0)) < 1e-12);
    // A fixed policy at the last exit agrees with the full model on every sample.
    const last = join(makeTempDir(), 'last');
    await writeBundle(last, { modelPath: model, policy: { ...policy, policy: { kind: 'fixed', exit: 2 } } });
    const all = await applyBundle(last, data, { threads: 1 });
    assert.equal(all.agreement, 1);
    const portable = await applyBundle(last, data, { threads: 1, optimize: false });
    assert.equal(portable.stages, 'portable');
    assert.equal(portable.agreement, 1);
    assert.deepEqual(all.exitCounts, [0, 0, 50]);
    assert.equal(all.accuracy, null);
  });

  it('a model with external weights: big stages keep them in side files, checked and loaded from there', async () => {
    const { data, labels } = mlpWithData();
    // Hidden 64: the 6x64 and 64x64 weights are over the 1 KB a tensor needs to go to a side file.
    const { modelPath } = saveWithExternalData(buildMlpMultiExit({ inputDim: 6, hidden: 64, classes: 4, exits: 3, seed: 11 }));
    const dir = join(makeTempDir(), 'side');
    const phases = new Set<string>();
    const w = await writeBundle(dir, { modelPath, policy, verifyData: data, sideFileFrom: 1 }, (p) => phases.add(p.phase));
    assert.deepEqual([...phases].filter((p) => !p.startsWith('verifying')), ['hashing the model', 'splitting the model into stages', 'writing stage 1 of 3', 'writing stage 2 of 3', 'writing stage 3 of 3']);
    assert.ok([...phases].some((p) => p.startsWith('verifying the stages: stage 3 of 3')));
    assert.equal(w.manifest.formatVersion, 2);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.data')).sort(), ['stage_1.onnx.data', 'stage_2.onnx.data', 'stage_3.onnx.data']);
    assert.deepEqual(w.manifest.stages.map((st) => st.weights?.file), ['stage_1.onnx.data', 'stage_2.onnx.data', 'stage_3.onnx.data']);
    assert.deepEqual(w.manifest.stages[0]!.opTypes, ['Gemm', 'Identity', 'Relu']);
    // The same decisions as a bundle with every weight inline.
    const inline = join(makeTempDir(), 'inline');
    const v = await writeBundle(inline, { modelPath, policy, verifyData: data });
    assert.equal(v.manifest.formatVersion, 1, 'no side file: still readable by versions that read format 1');
    assert.ok(v.manifest.stages.every((st) => st.weights === undefined));
    const a = await applyBundle(dir, data, { labels, batch: 16, threads: 1 });
    const b = await applyBundle(inline, data, { labels, batch: 16, threads: 1 });
    assert.deepEqual(a.exitCounts, b.exitCounts);
    assert.equal(a.accuracy, b.accuracy);
    assert.equal(a.baseline, 'model');

    // A bundle whose manifest does not list op types (written before they were recorded) still runs.
    const mpath = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(mpath, 'utf8')) as { stages: { opTypes?: string[] }[] };
    for (const st of m.stages) delete st.opTypes;
    writeFileSync(mpath, JSON.stringify(m));
    assert.deepEqual((await applyBundle(dir, data, { labels, batch: 16, threads: 1 })).exitCounts, a.exitCounts);

    const side = join(dir, 'stage_2.onnx.data');
    const bytes = readFileSync(side);
    bytes[0] ^= 0xff;
    writeFileSync(side, bytes);
    await rejectsWith(readBundle(dir), /stage_2\.onnx\.data: the weights of stage 2 \(stage_2\.onnx\.data\) does not match its hash/);
  });

  it('apply\'s options reach it through the command, as docs/deploy.md documents: model and optimize too', async () => {
    const { model, data } = mlpWithData(20);
    const dir = join(makeTempDir(), 'moved');
    await writeBundle(dir, { modelPath: model, policy });
    // The model is no longer where the bundle recorded it: only `model` gives the speedup its baseline.
    const moved = join(makeTempDir(), 'elsewhere.onnx');
    renameSync(model, moved);
    const ctx = { store: undefined as never, emit: () => {} };
    const apply = (extra: Record<string, unknown>) => invoke(ctx, 'bundle.apply', { dir, data, threads: 1, ...extra }) as Promise<ApplyReport>;
    const lost = await apply({});
    assert.equal(lost.baseline, 'stages');
    const found = await apply({ model: moved, optimize: false });
    assert.equal(found.baseline, 'model', found.warnings.join('; '));
    assert.equal(found.stages, 'portable');
    assert.equal(found.agreement, lost.agreement);
    await assert.rejects(apply({ optimise: false }), /invalid payload .*optimise/);
  });

  it('a changed or missing file is detected and named', async () => {
    const { model } = mlpWithData(8);
    const dir = join(makeTempDir(), 'b');
    await writeBundle(dir, { modelPath: model, policy });
    const stage2 = join(dir, 'stage_2.onnx');
    const bytes = readFileSync(stage2);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(stage2, bytes);
    await rejectsWith(readBundle(dir), /stage_2\.onnx: stage 2 \(stage_2\.onnx\) does not match its hash in manifest\.json/);
    rmSync(stage2);
    await rejectsWith(readBundle(dir), /stage_2\.onnx: stage 2 \(stage_2\.onnx\) is missing from the bundle/);
    const pol = join(dir, 'policy.json');
    writeFileSync(pol, readFileSync(pol, 'utf8').replace('0.6', '0.1'));
    await rejectsWith(readBundle(dir), /policy\.json: the policy file does not match its hash/);
  });

  it('a bad manifest says what is wrong', async () => {
    const { model } = mlpWithData(8);
    const dir = join(makeTempDir(), 'm');
    await writeBundle(dir, { modelPath: model, policy });
    const mpath = join(dir, 'manifest.json');
    const good = readFileSync(mpath, 'utf8');
    writeFileSync(mpath, good.slice(0, 40));
    await rejectsWith(readBundle(dir), /manifest\.json: is not valid JSON/);
    const m = JSON.parse(good) as { stages: { sha256?: string }[]; formatVersion: number };
    delete m.stages[1]!.sha256;
    writeFileSync(mpath, JSON.stringify(m));
    await rejectsWith(readBundle(dir), /manifest\.json: is damaged or incomplete: field 'stages\.1\.sha256'/);
    writeFileSync(mpath, JSON.stringify({ ...JSON.parse(good), formatVersion: 7 }));
    await rejectsWith(readBundle(dir), /newer Exit Studio/);
    rmSync(mpath);
    await rejectsWith(readBundle(dir), /has no manifest\.json: not an Exit Studio bundle/);
    await rejectsWith(readBundle(join(dir, 'nope')), /no such bundle folder/);
  });

  it('an unsplittable model writes nothing and explains why', async () => {
    const rand = prng(3);
    const bad = writeTempModel(
      makeModel({
        nodes: [node('Gemm', ['x', 'w0', 'b0'], ['early'], { transB: 1 }), node('Gemm', ['early', 'w1', 'b1'], ['late'], { transB: 1 })],
        initializers: [
          floatTensor('w0', [3, 4], randomFloats(rand, 12, 1)),
          floatTensor('b0', [3], randomFloats(rand, 3, 1)),
          floatTensor('w1', [3, 3], randomFloats(rand, 9, 1)),
          floatTensor('b1', [3], randomFloats(rand, 3, 1)),
        ],
        inputs: [valueInfo('x', ['batch', 4])],
        outputs: [valueInfo('early', ['batch', 3]), valueInfo('late', ['batch', 3])],
      }),
    );
    const dir = join(makeTempDir(), 'never');
    await rejectsWith(
      writeBundle(dir, { modelPath: bad, policy: { policy: { kind: 'fixed', exit: 0 }, exitNames: ['late', 'early'], costs: [1, 0.5] } }),
      /cannot split at exit 'early' \(position 2\).*depth order/,
    );
    assert.ok(!existsSync(dir));
    await rejectsWith(writeBundle(dir, { modelPath: bad, exits: ['early', 'late'], policy: { policy: { kind: 'fixed', exit: 0 }, exitNames: ['late', 'early'], costs: [1, 1] } }), /must be the same, in the same order/);
  });
});
