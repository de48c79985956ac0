/**
 * chart.js configurations the views share: labelled axes with units,
 * legends, tooltips, decimated long series, zoom on the round axis.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { alpha, color } from '../lib/theme.svelte.js';
import type { XY } from '../lib/series.js';

export interface LineSeries {
  label: string;
  points: XY[];
  color?: string;
  /** 95 % band drawn as a filled area behind the line. */
  band?: { lo: XY[]; hi: XY[] };
  dashed?: boolean;
}

const pctTick = (v: number | string): string => `${Math.round(Number(v) * 1000) / 10} %`;

function axis(title: string, percent = false, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'linear',
    title: { display: true, text: title },
    ...(percent ? { ticks: { callback: pctTick } } : {}),
    ...extra,
  };
}

/** Lines over rounds (x = samples seen), each with an optional 95 % band. */
export function lineChart(o: { series: LineSeries[]; xLabel: string; yLabel: string; percent?: boolean; yMin?: number; yMax?: number; zoom?: boolean }): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  o.series.forEach((s, i) => {
    const c = s.color ?? color(i);
    if (s.band && s.band.lo.length) {
      datasets.push({ label: `${s.label} 95 % low`, data: s.band.lo, borderWidth: 0, pointRadius: 0, fill: false, borderColor: 'transparent', backgroundColor: 'transparent' });
      datasets.push({ label: `${s.label} 95 % band`, data: s.band.hi, borderWidth: 0, pointRadius: 0, fill: '-1', borderColor: 'transparent', backgroundColor: alpha(c, 0.18) });
    }
    datasets.push({ label: s.label, data: s.points, borderColor: c, backgroundColor: c, borderWidth: 2, pointRadius: 0, fill: false, ...(s.dashed ? { borderDash: [6, 4] } : {}) });
  });
  const yExtra: Record<string, unknown> = {};
  if (o.yMin !== undefined) yExtra.min = o.yMin;
  if (o.yMax !== undefined) yExtra.max = o.yMax;
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: { x: axis(o.xLabel), y: axis(o.yLabel, o.percent, yExtra) },
      plugins: {
        decimation: { enabled: true, algorithm: 'lttb', samples: 500 },
        legend: { labels: { filter: (item) => !/95 % (low|band)$/.test(item.text) } },
        tooltip: { filter: (item) => !/95 % (low|band)$/.test(item.dataset.label ?? '') },
        ...(o.zoom ? { zoom: { zoom: { wheel: { enabled: true }, pinch: { enabled: true }, mode: 'x' }, pan: { enabled: true, mode: 'x', modifierKey: 'shift' } } } : {}),
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}

/** Exit mix over time: one filled layer per exit, stacked to 100 %. `layers` are cumulative (see stackedShares). */
export function stackedArea(o: { layers: { label: string; points: XY[] }[]; xLabel: string }): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = o.layers.map((l, i) => ({
    label: l.label,
    data: l.points,
    borderColor: color(i),
    backgroundColor: alpha(color(i), 0.55),
    borderWidth: 1,
    pointRadius: 0,
    fill: i === 0 ? 'origin' : '-1',
  }));
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: { x: axis(o.xLabel), y: axis('Share of samples (cumulative by exit)', true, { min: 0, max: 1 }) },
      plugins: {
        decimation: { enabled: true, algorithm: 'lttb', samples: 300 },
        zoom: { zoom: { wheel: { enabled: true }, mode: 'x' } },
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}

export function barChart(o: { labels: string[]; datasets: { label: string; data: (number | null)[]; color?: string }[]; xLabel: string; yLabel: string; percent?: boolean; stacked?: boolean; yMin?: number; yMax?: number }): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: o.labels,
      datasets: o.datasets.map((d, i) => ({ label: d.label, data: d.data, backgroundColor: d.color ?? color(i), borderColor: d.color ?? color(i) })),
    },
    options: {
      scales: {
        x: { title: { display: true, text: o.xLabel }, stacked: o.stacked ?? false },
        y: {
          title: { display: true, text: o.yLabel },
          beginAtZero: o.yMin === undefined,
          stacked: o.stacked ?? false,
          ...(o.percent ? { ticks: { callback: pctTick } } : {}),
          ...(o.yMin !== undefined ? { min: o.yMin } : {}),
          ...(o.yMax !== undefined ? { max: o.yMax } : {}),
        },
      },
    },
  } as ChartConfiguration;
}

export interface ScatterSeries {
  label: string;
  points: (XY & { name?: string })[];
  color?: string;
  /** Joins the points in x order (a front). */
  line?: boolean;
  pointRadius?: number;
  pointStyle?: string;
}

export function scatterChart(o: { series: ScatterSeries[]; xLabel: string; yLabel: string; yPercent?: boolean }): ChartConfiguration {
  return {
    type: 'scatter',
    data: {
      datasets: o.series.map((s, i) => {
        const c = s.color ?? color(i);
        return {
          label: s.label,
          data: s.points,
          borderColor: c,
          backgroundColor: c,
          pointRadius: s.pointRadius ?? 5,
          pointStyle: s.pointStyle ?? 'circle',
          showLine: s.line ?? false,
          borderWidth: s.line ? 2 : 1,
        };
      }),
    },
    options: {
      scales: { x: axis(o.xLabel), y: axis(o.yLabel, o.yPercent) },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item: { dataset: { label?: string }; raw: unknown }) => {
              const p = item.raw as XY & { name?: string };
              const y = o.yPercent ? pctTick(p.y) : p.y.toFixed(3);
              return `${p.name ?? item.dataset.label ?? ''}: cost ${p.x.toFixed(3)}, ${y}`;
            },
          },
        },
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}
