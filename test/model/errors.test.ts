import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { inspectModel } from '../../src/model/inspect.js';
import { StudioError, type ErrorKind } from '../../src/errors.js';
import {
  buildMlpMultiExit, buildSingleExit, cleanupTempModels, makeModel, makeTempDir, node, saveWithExternalData, valueInfo, writeTempModel,
} from '../helpers/onnx-builder.js';

after(cleanupTempModels);

const good = buildMlpMultiExit({ inputDim: 5, hidden: 6, classes: 3, exits: 3, extraOutputs: true });

async function rejects(path: string, re: RegExp, kind: ErrorKind = 'input'): Promise<void> {
  await assert.rejects(inspectModel(path), (e: unknown) => {
    assert.ok(e instanceof StudioError, `expected StudioError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.ok(e.message.startsWith(`${path}: `), `message names the file: ${e.message}`);
    assert.match(e.message, re);
    assert.ok(!/\n\s+at /.test(e.message), 'no stack trace in the message');
    return true;
  });
}

describe('inspectModel: clear errors', () => {
  it('missing path', () => rejects(join(makeTempDir(), 'nope.onnx'), /no such file/, 'not-found'));
  it('a directory', () => rejects(makeTempDir(), /is a folder, not an ONNX model file/));
  it('a 0-byte file', () => rejects(writeTempModel(new Uint8Array(0)), /empty \(0 bytes\)/));
  it('garbage bytes', () => rejects(writeTempModel(new TextEncoder().encode('this is a csv,file\n1,2,3\n')), /not (a valid )?(an )?ONNX/));
  it('a truncated model', () => rejects(writeTempModel(good.subarray(0, Math.floor(good.length * 0.6))), /truncated|damaged|not an ONNX/));
  it('a single-exit model', () => rejects(writeTempModel(buildSingleExit()), /multi-exit needs at least two exits; found 1: logits/));
  it('a model with no outputs', () => {
    const bytes = makeModel({ nodes: [node('Relu', ['x'], ['y'])], initializers: [], inputs: [valueInfo('x', ['b', 3])], outputs: [] });
    return rejects(writeTempModel(bytes), /the model has no outputs/);
  });
  it('single exit plus ignored outputs lists why they were ignored', async () => {
    const bytes = buildMlpMultiExit({ inputDim: 4, hidden: 5, classes: 3, exits: 1, extraOutputs: true });
    const path = writeTempModel(bytes);
    await rejects(path, /found 1: exit_0; ignored outputs: .*embedding \(shape \[batch, 5\] has C=5 but is a hidden state/);
    await rejects(path, /score \(shape \[batch, 1\] has C=1/);
  });
  it('allowFewerExits returns the info instead', async () => {
    const info = await inspectModel(writeTempModel(buildSingleExit()), { allowFewerExits: true });
    assert.deepEqual(info.exits.map((e) => e.name), ['logits']);
  });
});

describe('external data', () => {
  it('loads when the side file sits next to the model, same answer as inline', async () => {
    const inline = await inspectModel(writeTempModel(good));
    const ext = saveWithExternalData(good, { location: 'weights.bin' });
    const info = await inspectModel(ext.modelPath);
    assert.deepEqual(info.exits, inline.exits);
    assert.equal(info.totalMacs, inline.totalMacs);
  });
  it('resolves location relative to the model file, not the working directory', async () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, 'w'));
    const ext = saveWithExternalData(good, { dir, location: 'w/data.bin' });
    const info = await inspectModel(ext.modelPath);
    assert.equal(info.exits.length, 3);
  });
  it('names the missing side file and the initializer', async () => {
    const ext = saveWithExternalData(good, { location: 'weights.bin' });
    rmSync(ext.dataPath);
    await rejects(ext.modelPath, /external data file 'weights\.bin' for initializer 'w0' is missing/);
  });
  it('says when the side file is too short', async () => {
    const ext = saveWithExternalData(good, { location: 'weights.bin' });
    truncateSync(ext.dataPath, Math.floor(statSync(ext.dataPath).size / 2));
    await rejects(ext.modelPath, /external data file 'weights\.bin' for initializer '\w+' is too short/);
  });
});

describe('property: damaged files only ever raise StudioError', () => {
  it('random truncations and byte flips', async () => {
    const dir = makeTempDir();
    let i = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: good.length }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        async (cut, flips) => {
          const bytes = good.slice(0, cut);
          for (const [at, v] of flips) if (bytes.length) bytes[at % bytes.length] = v;
          const path = join(dir, `m${i++}.onnx`);
          writeFileSync(path, bytes);
          try {
            await inspectModel(path, { probe: false });
          } catch (e) {
            if (!(e instanceof StudioError)) throw new Error(`non-StudioError for cut=${cut} flips=${JSON.stringify(flips)}: ${String(e)}`);
            if (!e.message.startsWith(path)) throw new Error(`message does not name the file: ${e.message}`);
          } finally {
            rmSync(path, { force: true });
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
  it('random bytes', async () => {
    const dir = makeTempDir();
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (bytes) => {
        const path = join(dir, `g${i++}.onnx`);
        writeFileSync(path, bytes);
        try {
          await inspectModel(path, { probe: false });
        } catch (e) {
          if (!(e instanceof StudioError)) throw new Error(`non-StudioError: ${String(e)}`);
        } finally {
          rmSync(path, { force: true });
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
