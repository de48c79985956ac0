/**
 * The renderer's view of each command's result (renderer/src/lib/types.ts) is
 * written by hand, because the page never imports engine code. This file
 * holds the two sides together at compile time: for every command a view
 * reads, the engine's output, as it looks after crossing the JSON boundary
 * (typed arrays become arrays), must be assignable to the type the view
 * declares. A field renamed or retyped on either side breaks `npm run build`,
 * and so `npm test`, naming the command.
 *
 * Compile-time only: there is nothing to run, so it is not a *.test.ts file.
 */
import type { CommandName, CommandOutput } from '../../src/api/commands.js';
import type { StudioEvent as EngineEvent } from '../../src/api/context.js';
import type {
  DataPreview, ExitPolicyFile, HomeRecent, InferResult, ModelInfo, PolicyCosts, PolicyRunOutput, ProviderInfo, RunRecord, RunShown, SamplePaths, StudioEvent, TraceDiagnostics, TraceMeta, PolicyDescription,
} from '../../renderer/src/lib/types.js';

type TypedArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** What a value becomes through toJsonSafe (src/server/jobs.ts) and Electron's structured clone alike, for the views' purposes. */
type Wire<T> = T extends TypedArray
  ? number[]
  : T extends Date
    ? string
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

/** Resolves to true when the engine's output fits the view's type; otherwise to the pair, which the error message shows. */
type Fits<N extends CommandName, View> = [Wire<CommandOutput<N>>] extends [View] ? true : { command: N; engine: Wire<CommandOutput<N>>; view: View };

/** Accepts only `true`: a mismatch is a type error on its line, showing the two sides. */
type Expect<T extends true> = T;

/** One line per command a view reads. */
export interface WireContract {
  'model.inspect': Expect<Fits<'model.inspect', ModelInfo>>;
  'data.preview': Expect<Fits<'data.preview', DataPreview>>;
  'providers.list': Expect<Fits<'providers.list', ProviderInfo[]>>;
  'trace.infer': Expect<Fits<'trace.infer', InferResult>>;
  'trace.import': Expect<Fits<'trace.import', { traceId: number }>>;
  'trace.list': Expect<Fits<'trace.list', TraceMeta[]>>;
  'trace.show': Expect<Fits<'trace.show', TraceMeta>>;
  'trace.diagnose': Expect<Fits<'trace.diagnose', TraceDiagnostics>>;
  'policy.catalog': Expect<Fits<'policy.catalog', { policies: PolicyDescription[] }>>;
  'policy.run': Expect<Fits<'policy.run', PolicyRunOutput>>;
  'policy.costs': Expect<Fits<'policy.costs', PolicyCosts>>;
  'run.exportPolicy': Expect<Fits<'run.exportPolicy', ExitPolicyFile>>;
  'run.list': Expect<Fits<'run.list', RunRecord[]>>;
  'run.show': Expect<Fits<'run.show', RunShown>>;
  'run.exportFile': Expect<Fits<'run.exportFile', { path?: string }>>;
  'home.recent': Expect<Fits<'home.recent', HomeRecent>>;
  'sample.paths': Expect<Fits<'sample.paths', SamplePaths>>;
  'job.rerun': Expect<Fits<'job.rerun', { kind: string; id: number }>>;
  /** Events a long command streams (progress, warnings, a policy run's partial results). */
  events: Expect<[Wire<EngineEvent>] extends [StudioEvent] ? true : { engine: Wire<EngineEvent>; view: StudioEvent }>;
}
