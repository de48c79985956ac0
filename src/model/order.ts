/**
 * Exit order is depth: the compute needed to reach an exit (MACs of its ancestor subgraph),
 * then its node count. Declaration order is never trusted: exporters shuffle outputs freely.
 */
import { inputError } from '../errors.js';
import type { ExitInfo, ModelInfo } from './types.js';

export type UnorderedExit = Omit<ExitInfo, 'index'> & { ancestors?: ReadonlySet<number> };

function contains(a: ReadonlySet<number> | undefined, b: ReadonlySet<number> | undefined): boolean {
  if (!a || !b || a.size <= b.size) return false;
  for (const x of b) if (!a.has(x)) return false;
  return true;
}

/** Sorts by MACs, then nodes; exact ties fall to "whose subgraph contains the other's", then name. */
export function orderExits(list: UnorderedExit[]): ExitInfo[] {
  const sorted = [...list].sort((a, b) => {
    if (a.macs !== b.macs) return a.macs - b.macs;
    if (a.nodes !== b.nodes) return a.nodes - b.nodes;
    if (contains(a.ancestors, b.ancestors)) return 1;
    if (contains(b.ancestors, a.ancestors)) return -1;
    return a.name.localeCompare(b.name, 'en', { numeric: true });
  });
  return sorted.map(({ ancestors: _a, ...e }, index) => ({ ...e, index }));
}

function describe(names: string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/** The error for a model (or selection) with fewer than two exits. */
export function tooFewExits(path: string, info: Pick<ModelInfo, 'exits' | 'ignored'>): Error {
  const found = info.exits.map((e) => e.name);
  const ign = info.ignored.map((i) => `${i.name} (${i.reason})`);
  return inputError(
    path,
    `multi-exit needs at least two exits; found ${found.length}: ${describe(found)}` + (ign.length ? `; ignored outputs: ${ign.join('; ')}` : ''),
  );
}

/**
 * A user's choice of exits, in the user's order (it overrides depth order). Names may be
 * detected exits or ignored outputs that have an exit's shape.
 */
export function applySelection(info: ModelInfo, names: string[]): ModelInfo {
  const pool = new Map<string, Omit<ExitInfo, 'index'>>();
  for (const e of info.exits) pool.set(e.name, e);
  for (const i of info.ignored) if (i.asExit && !pool.has(i.name)) pool.set(i.name, i.asExit);
  const seen = new Set<string>();
  const picked: ExitInfo[] = [];
  for (const name of names) {
    if (seen.has(name)) throw inputError(info.path, `exit '${name}' is selected twice`);
    seen.add(name);
    const e = pool.get(name);
    if (!e) {
      const ign = info.ignored.find((i) => i.name === name);
      if (ign) throw inputError(info.path, `output '${name}' cannot be an exit: ${ign.reason}`);
      throw inputError(info.path, `unknown exit '${name}'; the model's outputs are: ${describe(info.outputs.map((o) => o.name))}`);
    }
    picked.push({ ...e, index: picked.length });
  }
  if (picked.length < 2) {
    throw inputError(info.path, `multi-exit needs at least two exits; selected ${picked.length}: ${describe(picked.map((e) => e.name))}`);
  }
  const classes = new Set(picked.map((e) => e.classes));
  if (classes.size > 1) {
    throw inputError(info.path, `selected exits disagree on the number of classes: ${picked.map((e) => `${e.name} has ${e.classes}`).join(', ')}`);
  }
  const ignored = info.ignored.filter((i) => !seen.has(i.name));
  for (const e of info.exits) {
    if (!seen.has(e.name)) ignored.push({ name: e.name, reason: 'not in the selected exits', asExit: stripIndex(e) });
  }
  return { ...info, exits: picked, ignored };
}

function stripIndex(e: ExitInfo): Omit<ExitInfo, 'index'> {
  const { index: _i, ...rest } = e;
  return rest;
}
