/** Hash routes of the studio ("#/lab/3"): parsing and building, kept pure so tests can run them under Node. */

export type Screen = 'home' | 'model' | 'dataset' | 'inference' | 'trace' | 'lab' | 'runs' | 'compare' | 'export';

export interface Route {
  screen: Screen;
  /** Trace id for trace/lab, run id for export. */
  id?: number;
  /** Run ids for compare. */
  ids?: number[];
}

export const SCREENS: { screen: Screen; title: string }[] = [
  { screen: 'home', title: 'Home' },
  { screen: 'model', title: 'Model' },
  { screen: 'dataset', title: 'Dataset' },
  { screen: 'inference', title: 'Inference' },
  { screen: 'trace', title: 'Trace' },
  { screen: 'lab', title: 'Policy lab' },
  { screen: 'runs', title: 'Runs' },
  { screen: 'compare', title: 'Compare' },
  { screen: 'export', title: 'Export' },
];

const known = new Set<string>(SCREENS.map((s) => s.screen));

function positiveInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [pathPart = '', query = ''] = h.split('?');
  const [name = '', idText] = pathPart.split('/');
  if (!known.has(name)) return { screen: 'home' };
  const route: Route = { screen: name as Screen };
  const id = positiveInt(idText);
  if (id !== undefined) route.id = id;
  const idsText = new URLSearchParams(query).get('ids');
  if (idsText) {
    const ids = idsText.split(',').map((s) => positiveInt(s)).filter((x): x is number => x !== undefined);
    if (ids.length) route.ids = [...new Set(ids)];
  }
  return route;
}

export function routeHash(r: Route): string {
  let h = `#/${r.screen}`;
  if (r.id !== undefined) h += `/${r.id}`;
  if (r.ids && r.ids.length) h += `?ids=${r.ids.join(',')}`;
  return h;
}
