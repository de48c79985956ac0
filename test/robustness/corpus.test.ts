/**
 * A second corpus of malformed inputs through the command contract (the first
 * is test/integration/bad-inputs.test.ts, 21 cases): every reader and every
 * command that takes a path. Each case is refused with a StudioError of the
 * right kind that names the file and the problem, without a stack trace;
 * nothing is stored, the database stays sound, an earlier trace still loads,
 * and after the whole corpus a normal inference still succeeds.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { writeNpy } from '../../src/data/npy.js';
import { writeNpz } from '../../src/data/npz.js';
import { MAX_MESSAGE, StudioError } from '../../src/errors.js';
import { openStore } from '../../src/store/store.js';
import {
  buildCnnMultiExit,
  buildMlpMultiExit,
  cleanupTempModels,
  floatTensor,
  makeModel,
  node,
  saveWithExternalData,
  valueInfo,
  writeTempModel,
} from '../helpers/onnx-builder.js';
import { syntheticTrace } from '../helpers/trace.js';
import { npyWithDescr, npyWithHeader, readCounts } from './helpers.js';
import { hostileCases, type Case } from './hostile-cases.js';
import { fifo } from './hostile.js';

const dir = mkdtempSync(join(tmpdir(), 'es-corpus-'));
const store = openStore(join(dir, 'studio.sqlite'));
const ctx: CommandContext = { store, emit: () => {} };
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});

const file = (name: string, content: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const folder = (name: string): string => {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  return p;
};

const mlpBytes = buildMlpMultiExit({ inputDim: 4, hidden: 6, classes: 3, exits: 3, seed: 11 });
const mlp = writeTempModel(mlpBytes, 'ok.onnx');
const cnn = writeTempModel(buildCnnMultiExit({ exits: 2, classes: 3, inChannels: 1, size: 8, seed: 5 }), 'cnn.onnx');
const goodData = join(dir, 'good.npy');
writeNpy(goodData, 'float', [8, 4], new Float32Array(32).map((_, i) => (i % 7) / 7));
const keptTrace = store.traces.save(syntheticTrace(30, 3, 3, { labels: true }), { name: 'kept', source: 'import' });
const policyRun = (await invoke(ctx, 'policy.run', { traceId: keptTrace, policies: ['last'], seeds: 1 })) as { runs: { runId: number }[] };
const runId = policyRun.runs[0]!.runId;

/** An MLP-like two-exit graph from parts, for damaged-graph cases. */
function twoExitGraph(nodes: ReturnType<typeof node>[], inits = [floatTensor('w', [3, 4], new Float32Array(12).fill(0.1))], inputDims: (number | string)[] = ['batch', 4]): Uint8Array {
  return makeModel({ nodes, initializers: inits, inputs: [valueInfo('x', inputDims)], outputs: [valueInfo('e1', ['batch', 3]), valueInfo('e2', ['batch', 3])] });
}

const cycleModel = twoExitGraph([
  node('Gemm', ['x', 'w'], ['e1'], { transB: 1 }),
  node('Add', ['e1', 'loop_b'], ['loop_a']),
  node('Relu', ['loop_a'], ['loop_b']),
  node('Identity', ['loop_b'], ['e2']),
]);
const missingInitModel = twoExitGraph([node('Gemm', ['x', 'w_gone'], ['e1'], { transB: 1 }), node('Relu', ['e1'], ['e2'])], []);
const undefinedInputModel = twoExitGraph([node('Gemm', ['x', 'w'], ['e1'], { transB: 1 }), node('Add', ['e1', 'nobody_makes_this'], ['e2'])]);
const hugeDimModel = twoExitGraph(
  [node('Gemm', ['x', 'w'], ['e1'], { transB: 1 }), node('Relu', ['x'], ['rx']), node('Gemm', ['rx', 'w'], ['e2'], { transB: 1 })],
  [floatTensor('w', [3, 4], new Float32Array(12).fill(0.1))],
  ['batch', 2 ** 40],
);
const externalDirModel = (() => {
  const m = saveWithExternalData(mlpBytes, { name: 'ext.onnx' });
  rmSync(m.dataPath);
  mkdirSync(m.dataPath);
  return m.modelPath;
})();

const npzWithout = (() => {
  const p = join(dir, 'other.npz');
  writeNpz(p, { y: { dtype: 'float', shape: [8, 4], data: new Float32Array(32) }, z: { dtype: 'float', shape: [8, 4], data: new Float32Array(32) } });
  return p;
})();

/** A bundle folder with the right files but no manifest. */
const noManifestBundle = (() => {
  const d = folder('bundle-no-manifest');
  writeFileSync(join(d, 'policy.json'), '{}');
  writeFileSync(join(d, 'stage_1.onnx'), mlpBytes);
  return d;
})();
const emptyManifestBundle = (() => {
  const d = folder('bundle-empty-manifest');
  writeFileSync(join(d, 'manifest.json'), '');
  return d;
})();

const infer = (data: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model: mlp, data, ...extra });

const cases: Case[] = [
  // ONNX models
  { what: 'ONNX with a cycle', command: 'model.inspect', payload: () => ({ path: file('cycle.onnx', cycleModel) }), file: () => join(dir, 'cycle.onnx'), says: /cycle/ },
  { what: 'ONNX with a missing initializer', command: 'model.inspect', payload: () => ({ path: file('noinit.onnx', missingInitModel) }), file: () => join(dir, 'noinit.onnx'), says: /w_gone/ },
  { what: 'ONNX reading an undefined tensor', command: 'model.inspect', payload: () => ({ path: file('undef.onnx', undefinedInputModel) }), file: () => join(dir, 'undef.onnx'), says: /nobody_makes_this/ },
  { what: 'ONNX whose external data file is a folder', command: 'model.inspect', payload: () => ({ path: externalDirModel }), file: () => externalDirModel, says: /external data/ },
  { what: 'ONNX with huge declared dimensions, fed data', command: 'trace.infer', payload: () => ({ model: file('huge.onnx', hugeDimModel), data: goodData }), file: () => goodData, says: /"x"|shape|dimension/i },
  { what: 'a data preview whose model is missing', command: 'data.preview', payload: () => ({ path: goodData, model: join(dir, 'gone.onnx') }), file: () => join(dir, 'gone.onnx'), says: /no such/, kind: 'not-found' },
  // NPY headers that lie
  { what: '.npy whose shape is far bigger than the file', command: 'trace.infer', payload: () => infer(file('bigshape.npy', npyWithDescr('<f4', [1_000_000, 4], 64))), file: () => join(dir, 'bigshape.npy'), says: /bytes/ },
  { what: '.npy with a negative shape', command: 'trace.infer', payload: () => infer(file('neg.npy', npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-8, 4), }", 128))), file: () => join(dir, 'neg.npy'), says: /shape/ },
  { what: '.npy with a garbage shape', command: 'trace.infer', payload: () => infer(file('garbshape.npy', npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': 'eight by four', }", 128))), file: () => join(dir, 'garbshape.npy'), says: /shape/ },
  { what: '.npy with an unknown descr', command: 'trace.infer', payload: () => infer(file('descr.npy', npyWithDescr('<q9', [8, 4], 128))), file: () => join(dir, 'descr.npy'), says: /q9/ },
  { what: '.npy with fortran_order garbage', command: 'trace.infer', payload: () => infer(file('fortran.npy', npyWithHeader("{'descr': '<f4', 'fortran_order': 'maybe', 'shape': (8, 4), }", 128))), file: () => join(dir, 'fortran.npy'), says: /fortran_order/ },
  { what: '.npy with a truncated magic', command: 'trace.infer', payload: () => infer(file('magic.npy', new Uint8Array([0x93, 0x4e, 0x55, 0x4d]))), file: () => join(dir, 'magic.npy'), says: /magic|header|not a \.npy/i },
  { what: '.npy header that is not a dict', command: 'trace.infer', payload: () => infer(file('notdict.npy', npyWithHeader('[1, 2, 3]', 0))), file: () => join(dir, 'notdict.npy'), says: /dict/ },
  // NPZ
  { what: '.npz that is not a zip', command: 'trace.infer', payload: () => infer(file('notzip.npz', 'this is plain text, not a zip archive at all')), file: () => join(dir, 'notzip.npz'), says: /zip/ },
  { what: '.npz without the needed array', command: 'trace.infer', payload: () => infer(npzWithout), file: () => npzWithout, says: /"x"/ },
  { what: '.npz member that is not .npy', command: 'trace.infer', payload: () => infer(file('member.npz', zipSync({ 'x.npy': new TextEncoder().encode('hello, not numpy') }, { level: 0 }))), file: () => join(dir, 'member.npz'), says: /magic|npy/i },
  { what: '0-byte .npz', command: 'trace.infer', payload: () => infer(file('empty.npz', '')), file: () => join(dir, 'empty.npz'), says: /empty|0 bytes/i },
  // CSV / TSV
  { what: 'CSV with a header only', command: 'trace.infer', payload: () => infer(file('headonly.csv', 'a,b,c,d\n')), file: () => join(dir, 'headonly.csv'), says: /no rows|no samples/i },
  { what: 'CSV with mixed delimiters', command: 'trace.infer', payload: () => infer(file('mixed.csv', '1,2,3,4\n1;2;3;4\n5,6,7,8\n')), file: () => join(dir, 'mixed.csv'), says: /line 2/ },
  { what: 'CSV with quoted garbage', command: 'trace.infer', payload: () => infer(file('quoted.csv', '1,2,3,4\n"abc",2,3,"4\n')), file: () => join(dir, 'quoted.csv'), says: /line 2/ },
  { what: '0-byte TSV', command: 'trace.infer', payload: () => infer(file('empty.tsv', '')), file: () => join(dir, 'empty.tsv'), says: /empty|0 bytes/i },
  // JSONL
  { what: 'JSONL with a non-object line', command: 'trace.infer', payload: () => infer(file('array.jsonl', '{"x": [1, 2, 3, 4]}\n[1, 2, 3, 4]\n')), file: () => join(dir, 'array.jsonl'), says: /line 2.*object/ },
  { what: 'JSONL with truncated JSON', command: 'trace.infer', payload: () => infer(file('trunc.jsonl', '{"x": [1, 2, 3, 4]}\n{"x": [1, 2,\n')), file: () => join(dir, 'trunc.jsonl'), says: /line 2.*JSON/ },
  { what: 'JSONL with wrong nesting', command: 'trace.infer', payload: () => infer(file('nest.jsonl', '{"x": {"values": [1, 2, 3, 4]}}\n')), file: () => join(dir, 'nest.jsonl'), says: /line 1/ },
  { what: '0-byte JSONL', command: 'trace.infer', payload: () => infer(file('empty.jsonl', '')), file: () => join(dir, 'empty.jsonl'), says: /empty|0 bytes/i },
  // Image folders
  { what: 'an empty image folder', command: 'trace.infer', payload: () => ({ model: cnn, data: folder('noimgs') }), file: () => join(dir, 'noimgs'), says: /no images/ },
  { what: 'a PNG name holding JPEG garbage', command: 'trace.infer', payload: () => { const d = folder('fakepng'); writeFileSync(join(d, 'a.png'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 3, 4, 5, 6, 7])); return { model: cnn, data: d }; }, file: () => join(dir, 'fakepng', 'a.png'), says: /decode|not a PNG|image/i },
  { what: 'a 0-byte PNG', command: 'trace.infer', payload: () => { const d = folder('zeropng'); writeFileSync(join(d, 'a.png'), ''); return { model: cnn, data: d }; }, file: () => join(dir, 'zeropng', 'a.png'), says: /image|empty|decode/i },
  // Labels
  { what: 'negative labels', command: 'trace.infer', payload: () => infer(goodData, { labels: file('neg.txt', '0\n1\n-1\n2\n0\n1\n2\n0\n') }), file: () => join(dir, 'neg.txt'), says: /-1/ },
  { what: 'more labels than samples without a limit', command: 'trace.infer', payload: () => infer(goodData, { labels: file('many.txt', '0\n1\n2\n0\n1\n2\n0\n1\n2\n0\n') }), file: () => join(dir, 'many.txt'), says: /10 labels for 8 samples/ },
  { what: 'a labels path that is a folder', command: 'trace.infer', payload: () => infer(goodData, { labels: folder('labelsdir') }), file: () => join(dir, 'labelsdir'), says: /folder/ },
  { what: '0-byte labels', command: 'trace.infer', payload: () => infer(goodData, { labels: file('empty-labels.txt', '') }), file: () => join(dir, 'empty-labels.txt'), says: /empty/ },
  { what: 'data that does not exist', command: 'trace.infer', payload: () => infer(join(dir, 'nowhere.npy')), file: () => join(dir, 'nowhere.npy'), says: /no such/, kind: 'not-found' },
  // Paths for every command that takes one
  { what: 'trace.import of a missing file', command: 'trace.import', payload: () => ({ path: join(dir, 'missing.tsv') }), file: () => join(dir, 'missing.tsv'), says: /no such/, kind: 'not-found' },
  { what: 'trace.import of a folder', command: 'trace.import', payload: () => ({ path: folder('tracedir') }), file: () => join(dir, 'tracedir'), says: /folder/ },
  { what: 'trace.import of a 0-byte .npz', command: 'trace.import', payload: () => ({ path: file('empty-trace.npz', '') }), file: () => join(dir, 'empty-trace.npz'), says: /empty|0 bytes/i },
  { what: 'trace.export onto a folder', command: 'trace.export', payload: () => ({ id: keptTrace, out: folder('out.tsv') }), file: () => join(dir, 'out.tsv'), says: /folder|directory/i },
  { what: 'trace.export into a missing folder', command: 'trace.export', payload: () => ({ id: keptTrace, out: join(dir, 'no', 'such', 'out.npz') }), file: () => join(dir, 'no', 'such', 'out.npz'), says: /no such folder|does not exist/i },
  { what: 'run.exportFile into a missing folder', command: 'run.exportFile', payload: () => ({ id: runId, out: join(dir, 'absent', 'policy.json') }), file: () => join(dir, 'absent', 'policy.json'), says: /no such folder|does not exist/i },
  { what: 'run.exportFile onto a folder', command: 'run.exportFile', payload: () => ({ id: runId, out: folder('policy-dir.json') }), file: () => join(dir, 'policy-dir.json'), says: /folder|directory/i },
  { what: 'bundle.apply on a folder without a manifest', command: 'bundle.apply', payload: () => ({ dir: noManifestBundle, data: goodData }), file: () => noManifestBundle, says: /manifest/ },
  { what: 'bundle.apply on a missing folder', command: 'bundle.apply', payload: () => ({ dir: join(dir, 'nobundle'), data: goodData }), file: () => join(dir, 'nobundle'), says: /no such/, kind: 'not-found' },
  { what: 'bundle.apply with a 0-byte manifest', command: 'bundle.apply', payload: () => ({ dir: emptyManifestBundle, data: goodData }), file: () => join(emptyManifestBundle, 'manifest.json'), says: /JSON|empty/ },
  { what: 'run.bundle with a missing model', command: 'run.bundle', payload: () => ({ runId, model: join(dir, 'vanished.onnx'), out: join(dir, 'bundle-out') }), file: () => join(dir, 'vanished.onnx'), says: /no such/, kind: 'not-found' },
];

const hostile = await hostileCases({ dir, ctx, file, folder, mlp, mlpBytes, goodData, cnn, runId, keptTrace });
after(hostile.cleanup);

for (const c of [...cases, ...hostile.cases]) {
  test(`corpus: ${c.what}`, async () => {
    const before = readCounts(store);
    await assert.rejects(invoke(ctx, c.command, c.payload()), (e: unknown) => {
      assert.ok(e instanceof StudioError, `not a StudioError: ${e instanceof Error ? e.stack : String(e)}`);
      assert.equal(e.kind, c.kind ?? 'input', e.message);
      assert.ok(e.message.includes(c.file()), `the message does not name ${c.file()}: ${e.message}`);
      assert.match(e.message, c.says);
      assert.ok(!/\n\s+at /.test(e.message), 'no stack trace in the message');
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.ok(e.message.length <= MAX_MESSAGE + 40, `a bounded message: ${e.message.length} characters`);
      if (c.code) assert.equal(e.code, c.code);
      if (c.secret) assert.ok(!e.message.includes(c.secret), `the message echoes the file: ${e.message}`);
      return true;
    });
    c.after?.();
    assert.deepEqual(readCounts(store), before, 'nothing was stored');
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(store.traces.load(keptTrace).samples, 30, 'the earlier trace is intact');
  });
}

test('force lifts the refusal of a model other than the trace\'s: the bundle is written, and its warnings say so', async () => {
  const out = join(dir, 'forced-other-bundle');
  const r = (await invoke(ctx, 'run.bundle', { ...hostile.otherBundle, out, force: true })) as { warnings: string[] };
  assert.ok(existsSync(join(out, 'manifest.json')), 'a bundle was written');
  assert.ok(r.warnings.some((w) => w.includes(hostile.otherBundle.model) && /bundled anyway, as forced/.test(w)), r.warnings.join('\n'));
});

test('the corpus holds at least 25 cases beyond the first 21, and a hostile case for each kind of attack', () => {
  assert.ok(cases.length >= 25, `${cases.length} cases`);
  assert.ok(hostile.cases.length >= 50, `${hostile.cases.length} hostile cases`);
});

test('a named pipe hidden in an image folder is neither read nor hashed: the inference runs', { timeout: 60_000 }, async () => {
  const images = folder('images-with-hidden-pipe');
  for (const n of ['a', 'b']) await sharp(new Uint8Array(64).fill(128), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(images, `${n}.png`));
  fifo(join(images, '.thumbnail.png'));
  const r = (await invoke(ctx, 'trace.infer', { model: cnn, data: images })) as { traceId: number; samples: number };
  assert.equal(r.samples, 2);
  assert.equal(store.traces.load(r.traceId).samples, 2);
});

test('after the whole corpus, a normal inference still succeeds', async () => {
  const r = (await invoke(ctx, 'trace.infer', { model: mlp, data: goodData, labels: file('ok-labels.txt', '0\n1\n2\n0\n1\n2\n0\n1\n') })) as { traceId: number; samples: number };
  assert.equal(r.samples, 8);
  assert.equal(store.traces.load(r.traceId).samples, 8);
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
});
