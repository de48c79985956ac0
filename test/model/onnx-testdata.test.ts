/**
 * Real-world ONNX files from Debian's libonnx-testdata (the ONNX backend test suite): whatever
 * they hold, inspecting them must give a ModelInfo or a StudioError, never a crash.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModel } from '../../src/model/inspect.js';
import { StudioError } from '../../src/errors.js';

const ROOT = '/usr/share/libonnx-testdata/data';

function onnxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? onnxFiles(p) : name.endsWith('.onnx') ? [p] : [];
  });
}

const present = existsSync(ROOT);
const skip = present ? false : `libonnx-testdata is not installed (apt-get install libonnx-testdata puts it under ${ROOT})`;

describe('libonnx-testdata', () => {
  it('inspects every model without a non-StudioError', { skip }, async () => {
    const files = onnxFiles(ROOT).sort();
    assert.ok(files.length > 100, `expected many models, found ${files.length}`);
    let ok = 0;
    const studio = new Map<string, number>();
    for (const f of files) {
      try {
        const info = await inspectModel(f, { allowFewerExits: true, probe: false });
        assert.equal(info.outputs.length > 0, true);
        assert.ok(Number.isFinite(info.totalMacs) && info.totalMacs >= 0, `${f}: totalMacs ${info.totalMacs}`);
        for (const e of info.exits) assert.ok(e.classes >= 2 && Number.isFinite(e.macs), `${f}: exit ${JSON.stringify(e)}`);
        ok++;
      } catch (e) {
        if (!(e instanceof StudioError)) throw new Error(`${f}: non-StudioError ${e instanceof Error ? e.stack : String(e)}`);
        assert.ok(e.message.startsWith(f), `message names the file: ${e.message}`);
        const key = e.message.slice(f.length + 2, f.length + 40);
        studio.set(key, (studio.get(key) ?? 0) + 1);
      }
    }
    // Nearly all of these are valid models: a burst of StudioErrors would mean a loader bug.
    assert.ok(ok >= files.length * 0.9, `only ${ok}/${files.length} inspected; errors: ${JSON.stringify([...studio])}`);
  });

  it('costs a real conv net from the suite', { skip }, async (t) => {
    const path = join(ROOT, 'pytorch-converted/test_Conv2d/model.onnx');
    if (!existsSync(path)) return t.skip(`${path} is not in this version of libonnx-testdata`);
    const info = await inspectModel(path, { allowFewerExits: true });
    assert.ok(info.totalMacs > 0, `Conv2d model has MACs: ${info.totalMacs}`);
  });
});
