/**
 * One colour per policy on every chart: a policy's place in the registry's
 * catalog picks its colour, so UEE-UCB is the same blue in the lab, in
 * Compare and in a screenshot. Past the palette, the colours repeat with a
 * dashed line. Pure, tested under Node.
 */

/** Which palette colour (theme.svelte.ts's PALETTE, of `palette` colours) and whether dashed. */
export interface PolicyStyle {
  colorIndex: number;
  dashed: boolean;
}

/** The policy a spec names: "eenet" of "eenet:0.59". */
export function policyHead(spec: string): string {
  const s = spec.trim().toLowerCase();
  const colon = s.indexOf(':');
  return colon < 0 ? s : s.slice(0, colon);
}

/**
 * The style of a policy among the catalog's ids (in registry order). A policy
 * the catalog does not know (yet) takes the colour after the known ones.
 */
export function policyStyle(spec: string, catalogIds: readonly string[], palette = 10): PolicyStyle {
  const i = catalogIds.indexOf(policyHead(spec));
  const at = i < 0 ? catalogIds.length : i;
  return { colorIndex: at % palette, dashed: at >= palette };
}

/**
 * Styles for several runs drawn on one chart: each its policy's style, and a
 * second run of the same policy dashed so the two stay apart.
 */
export function runStyles(specs: readonly string[], catalogIds: readonly string[]): PolicyStyle[] {
  const seen = new Map<string, number>();
  return specs.map((spec) => {
    const head = policyHead(spec);
    const n = seen.get(head) ?? 0;
    seen.set(head, n + 1);
    const s = policyStyle(spec, catalogIds);
    return n === 0 ? s : { ...s, dashed: !s.dashed };
  });
}
