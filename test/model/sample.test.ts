import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { samplePaths } from '../../src/paths.js';
import { inspectModel } from '../../src/model/inspect.js';

const { model } = samplePaths();
const skip = existsSync(model) ? false : `sample model not built yet (${model})`;

describe('sample model', () => {
  it('has at least three exits in depth order with non-decreasing MACs', { skip }, async () => {
    const info = await inspectModel(model);
    assert.ok(info.exits.length >= 3, `exits: ${info.exits.map((e) => e.name)}`);
    assert.ok(info.exits[0]!.macs > 0);
    for (let k = 1; k < info.exits.length; k++) {
      assert.ok(info.exits[k]!.macs >= info.exits[k - 1]!.macs, `MACs: ${info.exits.map((e) => e.macs)}`);
    }
    assert.ok(new Set(info.exits.map((e) => e.classes)).size === 1 && info.exits[0]!.classes === 10, 'Fashion-MNIST: 10 classes');
    assert.ok(info.totalMacs >= info.exits[info.exits.length - 1]!.macs);
    assert.equal(info.warnings, undefined, `no shape gaps: ${info.warnings}`);
  });

  it('MACs equal the hand count in manifest.json', { skip }, async (t) => {
    const manifest = join(dirname(model), 'manifest.json');
    if (!existsSync(manifest)) return t.skip('no manifest.json beside the sample');
    const want = (JSON.parse(readFileSync(manifest, 'utf8')) as { exit_macs?: unknown }).exit_macs;
    if (!Array.isArray(want)) return t.skip('manifest.json has no exit_macs list');
    const info = await inspectModel(model);
    assert.deepEqual(info.exits.map((e) => e.macs), want);
  });
});
