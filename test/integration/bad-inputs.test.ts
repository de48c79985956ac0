/**
 * A corpus of bad inputs through the command contract, as any transport would
 * send them: each is refused with a clear error naming the file and the
 * problem, nothing is stored, and what was stored before stays intact.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { writeNpy, encodeNpy } from '../../src/data/npy.js';
import { StudioError, type ErrorKind } from '../../src/errors.js';
import { openStore } from '../../src/store/store.js';
import { buildMlpMultiExit, buildSingleExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';
import { syntheticTrace } from '../helpers/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'es-bad-'));
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

const mlpBytes = buildMlpMultiExit({ inputDim: 4, hidden: 6, classes: 3, exits: 3, seed: 11 });
const mlp = writeTempModel(mlpBytes, 'ok.onnx');
const goodData = join(dir, 'good.npy');
writeNpy(goodData, 'float', [8, 4], new Float32Array(32).map((_, i) => (i % 7) / 7));
const keptTrace = store.traces.save(syntheticTrace(30, 3, 3, { labels: true }), { name: 'kept', source: 'import' });

const lyingNpy = (() => {
  const full = encodeNpy('float', [100, 4], new Float32Array(400));
  return full.subarray(0, full.length - 64);
})();

const cases: { what: string; command: string; payload: () => Record<string, unknown>; file: () => string; says: RegExp; kind?: ErrorKind }[] = [
  { what: 'truncated ONNX', command: 'model.inspect', payload: () => ({ path: file('truncated.onnx', mlpBytes.subarray(0, Math.floor(mlpBytes.length / 2))) }), file: () => join(dir, 'truncated.onnx'), says: /./ },
  { what: 'garbage ONNX', command: 'model.inspect', payload: () => ({ path: file('garbage.onnx', 'GIF89a not a model at all'.repeat(20)) }), file: () => join(dir, 'garbage.onnx'), says: /ONNX|protobuf|decode/i },
  { what: '0-byte ONNX', command: 'model.inspect', payload: () => ({ path: file('empty.onnx', '') }), file: () => join(dir, 'empty.onnx'), says: /empty|0 bytes/i },
  { what: 'a folder as the model', command: 'model.inspect', payload: () => ({ path: dir }), file: () => dir, says: /folder|directory/i },
  { what: 'a model that does not exist', command: 'model.inspect', payload: () => ({ path: join(dir, 'nope.onnx') }), file: () => join(dir, 'nope.onnx'), says: /no such file/, kind: 'not-found' },
  { what: 'a single-exit model', command: 'model.inspect', payload: () => ({ path: writeTempModel(buildSingleExit(), 'single.onnx') }), file: () => 'single.onnx', says: /multi-exit needs at least two exits; found 1: logits/ },
  { what: 'data of the wrong shape', command: 'trace.infer', payload: () => { const p = join(dir, 'shape.npy'); writeNpy(p, 'float', [8, 5], new Float32Array(40)); return { model: mlp, data: p }; }, file: () => join(dir, 'shape.npy'), says: /"x"/ },
  { what: 'an .npy dtype the studio cannot read', command: 'trace.infer', payload: () => ({ model: mlp, data: file('complex.npy', npyWithDescr('<c8', [2, 4], 64)) }), file: () => join(dir, 'complex.npy'), says: /c8|dtype|type/i },
  { what: 'an .npy whose header lies about its size', command: 'trace.infer', payload: () => ({ model: mlp, data: file('lying.npy', lyingNpy) }), file: () => join(dir, 'lying.npy'), says: /bytes/ },
  { what: 'an empty .npy', command: 'trace.infer', payload: () => ({ model: mlp, data: file('empty.npy', '') }), file: () => join(dir, 'empty.npy'), says: /empty|0 bytes/i },
  { what: 'a ragged CSV', command: 'trace.infer', payload: () => ({ model: mlp, data: file('ragged.csv', '1,2,3,4\n1,2,3\n') }), file: () => join(dir, 'ragged.csv'), says: /line 2/ },
  { what: 'NaN in a CSV', command: 'trace.infer', payload: () => ({ model: mlp, data: file('nan.csv', '1,2,3,4\n1,NaN,3,4\n') }), file: () => join(dir, 'nan.csv'), says: /NaN/ },
  { what: 'Inf in a CSV', command: 'trace.infer', payload: () => ({ model: mlp, data: file('inf.csv', '1,2,3,4\n1,2,Infinity,4\n') }), file: () => join(dir, 'inf.csv'), says: /Inf/ },
  { what: 'an empty CSV', command: 'trace.infer', payload: () => ({ model: mlp, data: file('empty.csv', '') }), file: () => join(dir, 'empty.csv'), says: /empty|0 bytes|no rows/i },
  { what: 'an image folder holding a text file', command: 'trace.infer', payload: () => { const d = join(dir, 'imgs'); mkdirSync(d, { recursive: true }); writeFileSync(join(d, 'a.png'), 'not a png'); return { model: mlp, data: d }; }, file: () => join(dir, 'imgs'), says: /./ },
  { what: 'labels that are not whole numbers', command: 'trace.infer', payload: () => ({ model: mlp, data: goodData, labels: file('frac.txt', '0.5\n1\n2\n0\n1\n2\n0\n1\n') }), file: () => join(dir, 'frac.txt'), says: /0\.5|whole/ },
  { what: 'a ragged prediction matrix', command: 'trace.import', payload: () => ({ path: file('ragged.tsv', 'a\tb\tc\n0\t1\t1\n0\t1\n') }), file: () => join(dir, 'ragged.tsv'), says: /line 3/ },
  { what: 'a prediction matrix with one exit', command: 'trace.import', payload: () => ({ path: file('one.tsv', 'a\n0\n1\n') }), file: () => join(dir, 'one.tsv'), says: /two|2/ },
  { what: 'a 2-D score array', command: 'trace.import', payload: () => { const p = join(dir, 'flat.npy'); writeNpy(p, 'float', [10, 3], new Float32Array(30)); return { path: p }; }, file: () => join(dir, 'flat.npy'), says: /3-D/ },
  { what: 'an empty trace file', command: 'trace.import', payload: () => ({ path: file('empty.tsv', '') }), file: () => join(dir, 'empty.tsv'), says: /empty|0 bytes/i },
  { what: 'an unknown trace format', command: 'trace.import', payload: () => ({ path: file('trace.xlsx', 'PK') }), file: () => join(dir, 'trace.xlsx'), says: /format/ },
];

/** A minimal .npy with any descr, for dtypes the writer does not produce. */
function npyWithDescr(descr: string, shape: number[], bodyBytes: number): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const out = new Uint8Array(total + bodyBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

for (const c of cases) {
  test(`bad input: ${c.what}`, async () => {
    const before = readCounts();
    await assert.rejects(invoke(ctx, c.command, c.payload()), (e: unknown) => {
      assert.ok(e instanceof StudioError, `not a StudioError: ${String(e)}`);
      assert.equal(e.kind, c.kind ?? 'input', e.message);
      assert.ok(e.message.includes(c.file()), `the message does not name ${c.file()}: ${e.message}`);
      assert.match(e.message, c.says);
      assert.ok(!e.message.includes('\n    at '), 'no stack trace in the message');
      return true;
    });
    assert.deepEqual(readCounts(), before, 'nothing was stored');
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(store.traces.load(keptTrace).samples, 30, 'the earlier trace is intact');
  });
}

test('payloads that do not fit a command are refused before any work', async () => {
  for (const [name, payload, says] of [
    ['trace.infer', { model: mlp }, /data/],
    ['trace.infer', { model: mlp, data: goodData, batch: -1 }, /batch/],
    ['policy.run', { traceId: keptTrace, policies: [] }, /policies/],
    ['model.inspect', { path: mlp, extra: 1 }, /extra|unrecognized/i],
    ['no.such.command', {}, /unknown command/],
  ] as [string, unknown, RegExp][]) {
    await assert.rejects(invoke(ctx, name, payload), (e: unknown) => e instanceof StudioError && e.kind === (name === 'no.such.command' ? 'not-found' : 'input') && says.test(e.message));
  }
});

function readCounts(): unknown {
  return store.db.prepare('SELECT (SELECT count(*) FROM traces) AS t, (SELECT count(*) FROM trace_chunks) AS c, (SELECT count(*) FROM runs) AS r, (SELECT count(*) FROM models) AS m').get();
}
