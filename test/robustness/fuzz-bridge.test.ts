/**
 * Fuzzing the desktop IPC bridge (handleInvoke, without Electron) with the
 * engine's real job runner behind it: random and hostile payloads for every
 * command of the command table are refused cleanly (an error outcome of kind
 * 'input', never a throw out of the bridge), and the database is unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { handleInvoke, type AppOrigin, type BridgeDeps, type BridgeResult } from '../../electron/bridge.js';
import { ERROR_OUTCOME } from '../../src/errors.js';
import { JobRunner } from '../../src/server/jobs.js';
import { openStore } from '../../src/store/store.js';
import { syntheticTrace } from '../helpers/trace.js';
import { COMMAND_NAMES, payloadFor, prototypeClean, READ_ONLY, schemaAccepts, type Fuzzed } from './arbitraries.js';
import { fingerprint } from './helpers.js';

const SEED = 20240611;
const RUNS_PER_COMMAND = 60;

const dir = mkdtempSync(join(tmpdir(), 'es-fuzz-bridge-'));
const store = openStore(join(dir, 'studio.sqlite'));
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});
store.traces.save(syntheticTrace(20, 3, 3, { labels: true }), { name: 'kept', source: 'import' });

const origin: AppOrigin = { fileUrl: 'file:///opt/Exit%20Studio/resources/app.asar/dist/ui/index.html' };
const own = { frameUrl: origin.fileUrl, isMainFrame: true };
const runner = new JobRunner(() => store);
const recent: unknown[] = [];
const deps: BridgeDeps = {
  origin,
  run: (id, command, payload, emit) => runner.run(id, command, payload, emit),
  cancel: (id) => runner.cancel(id),
  openFile: async () => null,
  saveFile: async () => null,
  recordRecent: (entries) => void recent.push(...entries),
};

let seq = 0;
async function send(message: unknown): Promise<BridgeResult> {
  // A throw out of the bridge fails the test here: it must always answer.
  return handleInvoke(deps, own, message, () => {});
}

function assertRefused(r: BridgeResult, what: string): void {
  assert.equal(r.ok, false, `${what} was accepted`);
  if (r.ok) return;
  assert.equal(ERROR_OUTCOME[r.error.kind].exitCode, 2, `${what}: refused as the request's fault (input, not-found, conflict), not ${r.error.kind}: ${r.error.message}`);
  assert.ok(r.error.message.length > 0 && r.error.message.length < 20_000, `${what}: a bounded message`);
  assert.ok(!/\n\s+at /.test(r.error.message), `${what}: no stack trace`);
}

describe('the bridge under fuzzed payloads', () => {
  const before = fingerprint(store);

  for (const name of COMMAND_NAMES) {
    test(`${name}: every fuzzed payload is refused cleanly`, async () => {
      await fc.assert(
        fc.asyncProperty(payloadFor(name), async ({ kind, payload }: Fuzzed) => {
          const valid = schemaAccepts(name, payload);
          // Random payloads that happen to fit a command that writes are not sent: only invalid or pointing-nowhere ones are.
          fc.pre(!(kind === 'fuzz' && valid && !READ_ONLY.has(name)));
          const r = await send({ id: `f${seq++}`, command: name, payload });
          if (valid && READ_ONLY.has(name)) assert.equal(r.ok, true, JSON.stringify(r));
          else {
            assertRefused(r, `${name} ${kind}`);
            if (!valid && !r.ok) assert.match(r.error.message, new RegExp(`^${name.replace('.', '\\.')}: invalid payload`));
          }
          assert.equal(fingerprint(store), before, 'the database is unchanged');
          assert.ok(prototypeClean(), 'Object.prototype is untouched');
        }),
        { seed: SEED, numRuns: RUNS_PER_COMMAND, endOnFailure: true },
      );
    });
  }

  test('random messages (not just payloads) never throw and never reach a command', async () => {
    let reached = 0;
    const counting: BridgeDeps = { ...deps, run: async (...a) => (reached++, deps.run(...a)) };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything({ maxDepth: 2 }),
          fc.record({ id: fc.string({ maxLength: 80 }), command: fc.string({ maxLength: 120 }), payload: fc.jsonValue({ maxDepth: 2 }), extra: fc.anything({ maxDepth: 1 }) }, { requiredKeys: ['extra'] }),
          fc.record({ id: fc.oneof(fc.integer(), fc.constant(''), fc.constant('bad id'), fc.constant('r'.repeat(65))), command: fc.constantFrom(...COMMAND_NAMES) }),
        ),
        async (message) => {
          const r = await handleInvoke(counting, own, message, () => {});
          assertRefused(r, 'a malformed message');
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
    assert.equal(reached, 0);
    assert.equal(fingerprint(store), before);
  });

  test('unknown command names are refused as input errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,100}$/), fc.jsonValue({ maxDepth: 2 }), async (command, payload) => {
        fc.pre(!COMMAND_NAMES.includes(command as never) && !command.startsWith('host.'));
        const r = await send({ id: `u${seq++}`, command, payload });
        assertRefused(r, command);
        if (!r.ok) assert.match(r.error.message, /unknown command/);
      }),
      { seed: SEED, numRuns: 100 },
    );
    assert.equal(fingerprint(store), before);
  });

  test('host commands refuse fuzzed payloads too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('host.cancel', 'host.openFile', 'host.saveFile'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ title: fc.integer(), requestId: fc.array(fc.string()) })), async (command, payload) => {
        fc.pre(typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? Object.keys(payload).length > 0 : payload !== null);
        const r = await send({ id: `h${seq++}`, command, payload });
        assertRefused(r, command);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  test('after the fuzzing the bridge still serves a valid trace.list, and nothing was recorded as recent', async () => {
    const r = await send({ id: 'final', command: 'trace.list', payload: {} });
    assert.equal(r.ok, true);
    if (r.ok) assert.equal((r.result as unknown[]).length, 1);
    assert.deepEqual(recent, []);
    assert.deepEqual(runner.active, []);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  });
});
