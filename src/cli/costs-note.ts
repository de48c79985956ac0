/** The costs an import or a run uses, said on stderr (so --json stays clean), with how to set them where they were assumed. */
import { describeCosts, type ResolvedCosts } from '../trace/costs.js';
import type { Output } from './output.js';

export function noteCosts(out: Output, c: ResolvedCosts): void {
  out.note(`costs (cumulative, last exit = 1): ${describeCosts(c)}`);
  if (c.costsAssumed) out.note('  give --costs c1,c2,... (cumulative, in any unit: layers, MACs, ms) to set them');
  else if (c.macs?.source.includes('estimate')) out.note('  some exits\' MAC counts are estimates (`exit-studio inspect MODEL` says why)');
}
