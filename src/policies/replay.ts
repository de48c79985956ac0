/**
 * The replay engine: streams a trace to a policy in a seeded shuffled order
 * and records the exit it took each round. It reveals only what a deployed
 * model would have computed (see observation.ts) and checks every answer, so
 * the exits it records are exits the policy could really have taken. The
 * stream goes to the observation block by block (BLOCK_ROWS rounds), so that
 * what a policy reads is gathered into contiguous buffers once per block
 * instead of read at random each round.
 */
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import { BLOCK_ROWS, ObservationCursor, TraceObservation } from './observation.js';
import { shuffledOrder } from './rng.js';
import type { Policy } from './types.js';

export interface ReplayRecord {
  /** Sample index streamed at round t (0-based rounds). */
  order: Uint32Array;
  /** Exit index taken at round t. */
  exit: Uint8Array;
}

/**
 * Replays `policy` over `order` (default: the trace shuffled by `seed`), which
 * may hold only some of the samples (a held-out evaluation stream).
 * Reuses `out` buffers when they fit, so multi-seed runs allocate once.
 */
export function replay(
  trace: Trace,
  policy: Policy,
  opts: { seed: number; supervised?: boolean; order?: Uint32Array; out?: ReplayRecord },
): ReplayRecord {
  const K = trace.exits.length;
  if (K > 255) throw new StudioError(`a trace with ${K} exits is beyond the replay engine's 255`, { kind: 'input' });
  const order = opts.order ?? shuffledOrder(trace.samples, opts.seed, opts.out?.order);
  const n = order.length;
  const exit = opts.out && opts.out.exit.length === n ? opts.out.exit : new Uint8Array(n);
  const cursor = new ObservationCursor(trace, opts.supervised === true);
  const obs = new TraceObservation(cursor);
  const last = K - 1;
  for (let t0 = 0; t0 < n; t0 += BLOCK_ROWS) {
    const t1 = Math.min(n, t0 + BLOCK_ROWS);
    cursor.setBlock(order.subarray(t0, t1));
    let at = cursor.off;
    for (let t = t0; t < t1; t++, at++) {
      cursor.at = at;
      cursor.depth = 0; // nothing computed: a policy that reads in begin() gets an error
      let d = policy.begin(t + 1);
      if (!(d >= 0 && d <= last && d === (d | 0))) {
        throw new StudioError(`policy ${policy.name} chose exit index ${d}; exits are 0..${last}`, { kind: 'internal' });
      }
      cursor.depth = d + 1;
      while (d < last && !policy.stop(obs)) {
        d++;
        cursor.depth = d + 1;
      }
      policy.end(obs, d);
      exit[t] = d;
    }
  }
  return { order, exit };
}
