/**
 * Commands about models and traces: inspect, infer, import, list, show, export.
 * The modules behind them (onnxruntime, image and Parquet readers) load when a
 * command first needs them, not whenever the command table does: a `runs list`
 * or a `run` then starts without them.
 */
import { basename, resolve } from 'node:path';
import type { ModelInfo } from '../model/types.js';
import type { LatencyProfile } from '../inference/exit-latency.js';
import { traceCosts } from '../trace/costs.js';
import type { MergedRecording } from '../trace/merge-shards.js';
import type { Trace } from '../trace/types.js';
import { CancelledError } from '../errors.js';
import { command } from './command.js';
import { phaseEvent } from './context.js';
import { emptyInput, exportTraceInput, idInput, importInput, inferInput, inspectInput, previewInput, recordInput, renameInput } from './schemas.js';

/** Samples per timed pass when inspect measures the latency profile: the inference's default batch. */
const LATENCY_BATCH = 64;
/** Timed passes of that profile, for its quartiles. */
const LATENCY_PASSES = 10;

export const traceCommands = {
  'model.inspect': command(inspectInput, async (ctx, input): Promise<ModelInfo & { latencyMs?: number[]; latencyMethod?: string; latency?: LatencyProfile }> => {
    const [{ inspectModel }, { firstSample }, { measureCascadeLatency }, { syntheticFeeds }] = await Promise.all([
      import('../model/inspect.js'), import('../inference/first-sample.js'), import('../inference/exit-latency.js'), import('../model/split-verify.js'),
    ]);
    const info = await inspectModel(resolve(input.path), {
      ...(input.data ? { sample: firstSample(resolve(input.data)) } : {}),
      ...(input.dims ? { dims: input.dims } : {}),
      onProgress: (p) => ctx.emit(phaseEvent('inspect', p)),
    });
    if (!input.latency) return info;
    // Timed on a synthetic batch: latency depends on shapes, not on values, for the models this targets.
    ctx.emit(phaseEvent('inspect', { phase: 'timing the exits', done: 0, total: 1, unit: 'steps' }));
    const l = await measureCascadeLatency(info, syntheticFeeds(info.inputs, input.batch ?? LATENCY_BATCH), { repeats: LATENCY_PASSES, ...(input.threads ? { threads: input.threads } : {}) });
    return { ...info, latencyMs: l.ms, latencyMethod: l.method, latency: l };
  }, { opens: (_input, info) => [{ kind: 'model', path: info.path }] }),

  'data.preview': command(previewInput, async (_ctx, input) => {
    const [{ inspectModel }, { previewDataset }] = await Promise.all([import('../model/inspect.js'), import('../data/preview.js')]);
    const info = await inspectModel(resolve(input.model));
    return previewDataset(resolve(input.path), info.inputs, { ...(input.labels ? { labels: resolve(input.labels) } : {}), ...(input.count ? { count: input.count } : {}) });
  }, { opens: (input) => [{ kind: 'dataset', path: resolve(input.path) }] }),

  'providers.list': command(emptyInput, async () => (await import('../inference/providers.js')).listProviders()),

  'trace.infer': command(
    inferInput,
    async (ctx, input) =>
      (await import('../inference/job.js')).runInference(ctx.store, input, {
        onProgress: (p) => ctx.emit({ type: 'progress', job: 'infer', ...p }),
        onPhase: (p) => ctx.emit(phaseEvent('infer', p)),
        onWarning: (message) => ctx.emit({ type: 'warning', job: 'infer', message }),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    {
      long: true,
      paths: ['model', 'data', 'labels'],
      rerunnable: true,
      opens: (input) => [{ kind: 'dataset', path: resolve(input.data) }, { kind: 'model', path: resolve(input.model) }],
    },
  ),

  /** An inference written to an .npz (optionally one shard of the data) instead of the database, which it never opens. */
  'trace.record': command(
    recordInput,
    async (ctx, input) =>
      (await import('../inference/record.js')).recordToFile(input, {
        onProgress: (p) => ctx.emit({ type: 'progress', job: 'infer', ...p }),
        onPhase: (p) => ctx.emit(phaseEvent('infer', p)),
        onWarning: (message) => ctx.emit({ type: 'warning', job: 'infer', message }),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    true,
  ),

  'trace.import': command(
    importInput,
    async (ctx, input) => {
      // Several files, or one that infer --out wrote, are the shards of a recording: merged into one trace.
      const [{ importTrace }, { importShards, isShardFile }] = await Promise.all([import('../trace/import.js'), import('../trace/merge-shards.js')]);
      const paths = (typeof input.path === 'string' ? [input.path] : input.path).map((p) => resolve(p));
      const shards = paths.length > 1 || (await isShardFile(paths[0]!));
      // A running trace from the start, written chunk by chunk: a kill mid-import
      // leaves an interrupted row (with the request to run it again), never half a trace.
      const request = { command: 'trace.import', payload: { ...input, path: paths.length > 1 ? paths : paths[0]!, ...(input.labels ? { labels: resolve(input.labels) } : {}) } };
      const traceId = ctx.store.traces.begin({
        name: input.name ?? basename(paths[0]!), source: 'import', samples: 0, classes: 0, exits: [], costs: [], costSource: 'uniform',
        hasConfidence: false, hasProbs: false, hasLabels: false, meta: { importedFrom: paths.length > 1 ? paths : paths[0]! }, request,
      });
      try {
        let trace: Trace;
        let merged: MergedRecording | undefined;
        if (shards) ({ trace, recording: merged } = await importShards(paths, input));
        else trace = await importTrace(paths[0]!, input);
        if (ctx.signal?.aborted) throw new CancelledError('import');
        // A merged trace is named for what was recorded, and keeps the recording's identity (model and dataset hashes).
        const patch = merged ? { meta: { importedFrom: merged.files, recording: merged } } : {};
        ctx.store.traces.fill(traceId, trace, patch);
        if (merged && !input.name) ctx.store.traces.rename(traceId, `${merged.model.name} on ${merged.dataset.name}${merged.shards > 1 ? ` (${merged.shards} shards)` : ''}`);
        return {
          traceId, samples: trace.samples, exits: trace.exits.length, hasLabels: trace.labels !== undefined, hasProbs: trace.probs !== undefined,
          /** The costs the trace holds, and where they came from (equal steps when none were given). */
          costs: traceCosts(trace),
          ...(merged ? { merged } : {}),
        };
      } catch (e) {
        ctx.store.traces.abort(traceId);
        throw e;
      }
    },
    {
      long: true,
      paths: ['path', 'labels'],
      rerunnable: true,
      // Shard files merged into one trace are not one file to open again.
      opens: (input) => (typeof input.path === 'string' ? [{ kind: 'trace', path: resolve(input.path) }] : []),
    },
  ),

  'trace.list': command(emptyInput, (ctx) => ctx.store.traces.list()),
  'trace.show': command(idInput, (ctx, input) => ctx.store.traces.meta(input.id)),
  'trace.rename': command(renameInput, (ctx, input) => {
    ctx.store.traces.rename(input.id, input.name);
    return ctx.store.traces.meta(input.id);
  }),
  'trace.delete': command(idInput, (ctx, input) => {
    ctx.store.traces.delete(input.id);
    return { deleted: input.id };
  }),
  'trace.export': command(exportTraceInput, async (ctx, input) => {
    const trace = ctx.store.traces.load(input.id);
    const out = resolve(input.out);
    await (await import('../trace/export.js')).exportTrace(trace, out, { force: input.force === true });
    return { path: out, samples: trace.samples, exits: trace.exits.length };
  }),
};
