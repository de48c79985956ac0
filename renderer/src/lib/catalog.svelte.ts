/**
 * The policy catalog, loaded once per page: the Policy lab's form reads it,
 * and every chart takes a policy's colour from its place in it (registry
 * order), so a policy keeps one colour on every screen.
 */
import { runStyles } from './policy-style.js';
import { call } from './studio.svelte.js';
import { color } from './theme.svelte.js';
import type { PolicyDescription } from './types.js';

export const catalog = $state({ policies: [] as PolicyDescription[] });

let loading: Promise<PolicyDescription[]> | undefined;

export function loadCatalog(): Promise<PolicyDescription[]> {
  loading ??= call('policy.catalog', {}).then(
    (c) => (catalog.policies = c.policies),
    (e: unknown) => {
      loading = undefined;
      throw e;
    },
  );
  return loading;
}

/** Line colours and dashes for runs of these policies (specs), drawn on one chart. */
export function policyColors(specs: readonly string[]): { color: string; dashed: boolean }[] {
  return runStyles(specs, catalog.policies.map((p) => p.id)).map((s) => ({ color: color(s.colorIndex), dashed: s.dashed }));
}
