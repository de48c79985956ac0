/** Per-command facts live in the command definitions: what job.rerun may run again, which payload fields are paths, what a call opens. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { commands } from '../../src/api/commands.js';
import { recordedRequest } from '../../src/api/resume.js';

test('a command job.rerun may run again is long: only long commands keep their request with their rows', () => {
  const rerunnable = Object.entries(commands).filter(([, c]) => c.rerunnable).map(([n]) => n);
  assert.deepEqual(rerunnable.sort(), ['policy.run', 'trace.import', 'trace.infer']);
  for (const n of rerunnable) assert.equal(commands[n as keyof typeof commands].long, true, n);
});

test('the path fields a command names are kept absolute with its request', () => {
  const infer = commands['trace.infer'];
  const kept = recordedRequest('trace.infer', infer.paths, { model: 'm.onnx', data: 'd.npy', labels: 'y.npy', batch: 8 });
  assert.deepEqual(kept, { command: 'trace.infer', payload: { model: resolve('m.onnx'), data: resolve('d.npy'), labels: resolve('y.npy'), batch: 8 } });
  const shards = recordedRequest('trace.import', commands['trace.import'].paths, { path: ['a.npz', 'b.npz'] });
  assert.deepEqual(shards.payload, { path: [resolve('a.npz'), resolve('b.npz')] });
  assert.deepEqual(recordedRequest('policy.run', commands['policy.run'].paths, { traceId: 1, out: 'x' }).payload, { traceId: 1, out: 'x' }, 'no path fields: the payload as it came');
});
