/**
 * The page's events against the engine's, at compile time. Command results
 * need no such file: the page's typed `call` (renderer/src/lib/studio.svelte.ts)
 * returns each command's result as the command table gives it
 * (src/api/wire.ts), so a view that reads a field the engine renamed fails
 * svelte-check where it reads it. Events arrive through a callback the host
 * types by hand; this holds that type to the engine's: a mismatch breaks
 * `npm run build`, and so `npm test`.
 *
 * Compile-time only: there is nothing to run, so it is not a *.test.ts file.
 */
import type { StudioEvent as EngineEvent } from '../../src/api/context.js';
import type { Wire } from '../../src/api/wire.js';
import type { StudioEvent } from '../../renderer/src/lib/types.js';

/** Accepts only `true`: a mismatch is a type error on its line, showing the two sides. */
type Expect<T extends true> = T;

export interface WireContract {
  /** Events a long command streams (progress, warnings, a policy run's partial results). */
  events: Expect<[Wire<EngineEvent>] extends [StudioEvent] ? true : { engine: Wire<EngineEvent>; view: StudioEvent }>;
}
