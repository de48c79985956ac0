/**
 * Schema 7's conversion: every run's series, kept until then as one JSON
 * document per run (every seed's values, exact) and, for a run still going,
 * one JSON document per finished seed, become one row per seed with its
 * series as a binary blob (series-codec.ts). Nothing is rounded on the way:
 * an older run reads back exactly as it did, in a small part of the space
 * (a 20-seed run over 50,000 samples: 5.7 MB of JSON, 0.31 MB of blobs).
 * Any row that cannot be converted fails the migration, which then rolls
 * back and leaves the file as it was.
 */
import type Database from 'better-sqlite3';
import type { SeedSeries, SeedSummary } from '../policies/metrics.js';
import { gridRounds } from '../policies/decimate.js';
import type { SeedResult } from '../policies/run.js';
import type { LearnedPolicy } from '../policies/types.js';
import { decodeExact, encodeExact } from './exact-json.js';
import { encodeSeries } from './series-codec.js';
import type { SeedMeta } from './seed-record.js';

/** What schema 5 and older wrote (JSON: NaN became null). */
interface OldStat {
  perSeed: (number | null)[];
}
interface OldSummary {
  accuracy: OldStat | null;
  /** Absent in runs stored before it was measured. */
  extraError?: OldStat | null;
  onRule?: OldStat | null;
  agreement: OldStat;
  avgCost: OldStat;
  exitShare: OldStat[];
  cumRegret: OldStat;
}
interface OldSeriesStat {
  perSeed: (number | null)[][];
}
interface OldSeries {
  rounds: number[];
  cumRegret: OldSeriesStat;
  avgCost: OldSeriesStat;
  accuracy: OldSeriesStat | null;
  agreement: OldSeriesStat;
  exitShare: OldSeriesStat[];
}
interface OldStoredSeries {
  series: OldSeries;
  fits: { seed: number }[] | null;
}

/** The points every old kept seed was sampled at: policy.run always used the default 2000. */
const OLD_SERIES_POINTS = 2000;

const num = (x: number | null | undefined): number => (x === null || x === undefined ? NaN : x);

function fail(runId: number, why: string): never {
  throw new Error(`cannot upgrade run ${runId}'s stored series (${why}); the file is left as it was`);
}

/** Converts every run's series; true when runs' JSON series were dropped (space to give back). */
export function seriesPerSeed(db: Database.Database): boolean {
  const insert = db.prepare('INSERT OR REPLACE INTO run_seeds (run_id, seed, meta_json, series) VALUES (?, ?, ?, ?)');

  // Seeds an unfinished run kept, to resume from: on the grid of the default points over the
  // samples each seed scored (schema 6's evaluation: half the trace, say, for a held-out run).
  const kept = db
    .prepare(
      `SELECT k.run_id, k.seed, k.result_json,
         COALESCE(json_extract(r.evaluation_json, '$.evaluationSamples'), t.samples) AS samples
       FROM run_seeds_json k JOIN runs r ON r.id = k.run_id JOIN traces t ON t.id = r.trace_id`,
    )
    .all() as { run_id: number; seed: number; result_json: string; samples: number }[];
  for (const k of kept) {
    let r: SeedResult;
    try {
      r = decodeExact<SeedResult>(k.result_json);
    } catch (e) {
      fail(k.run_id, `seed ${k.seed} is not readable JSON: ${(e as Error).message}`);
    }
    const rounds = gridRounds(k.samples, OLD_SERIES_POINTS);
    const series = r.series as SeedSeries | undefined;
    if (!series || !(series.cumRegret instanceof Float64Array) || series.cumRegret.length !== rounds.length) {
      fail(k.run_id, `seed ${k.seed}'s series do not lie on the run's grid of ${rounds.length} points`);
    }
    const meta: SeedMeta = { summary: r.summary, learned: r.learned };
    if (r.fits) meta.fits = r.fits;
    insert.run(k.run_id, k.seed, encodeExact(meta), encodeSeries({ rounds, series }));
  }

  // Complete runs: every seed's values were in the run's one JSON document.
  const runs = db.prepare('SELECT id, seeds_json, summary_json, learned_json, series_json FROM runs WHERE series_json IS NOT NULL').all() as {
    id: number;
    seeds_json: string;
    summary_json: string | null;
    learned_json: string | null;
    series_json: string;
  }[];
  for (const run of runs) {
    let seeds: number[];
    let stored: OldStoredSeries;
    let summary: OldSummary | null;
    let learned: LearnedPolicy | null;
    try {
      seeds = JSON.parse(run.seeds_json) as number[];
      stored = JSON.parse(run.series_json) as OldStoredSeries;
      summary = run.summary_json === null ? null : (JSON.parse(run.summary_json) as OldSummary);
      learned = run.learned_json === null ? null : (JSON.parse(run.learned_json) as LearnedPolicy);
    } catch (e) {
      fail(run.id, `not readable JSON: ${(e as Error).message}`);
    }
    const s = stored.series;
    if (!s || !Array.isArray(s.rounds) || !Array.isArray(seeds)) fail(run.id, 'no grid of rounds or no seed list');
    const rounds = Uint32Array.from(s.rounds);
    const lines: [string, OldSeriesStat | null][] = [
      ['cumRegret', s.cumRegret], ['avgCost', s.avgCost], ['accuracy', s.accuracy], ['agreement', s.agreement],
      ...s.exitShare.map((x, k): [string, OldSeriesStat] => [`exitShare ${k + 1}`, x]),
    ];
    for (const [name, line] of lines) {
      if (line === null) continue;
      if (line.perSeed.length !== seeds.length) fail(run.id, `${name} holds ${line.perSeed.length} seeds; the run lists ${seeds.length}`);
      if (line.perSeed.some((v) => v.length !== rounds.length)) fail(run.id, `${name} does not lie on the run's grid of ${rounds.length} points`);
    }
    const values = (line: OldSeriesStat, i: number): Float64Array => Float64Array.from(line.perSeed[i]!, num);
    seeds.forEach((seed, i) => {
      const series: SeedSeries = {
        cumRegret: values(s.cumRegret, i),
        avgCost: values(s.avgCost, i),
        // A run without labels kept no accuracy series; its seeds have none (NaN), as new ones do.
        accuracy: s.accuracy ? values(s.accuracy, i) : new Float64Array(rounds.length).fill(NaN),
        agreement: values(s.agreement, i),
        exitShare: s.exitShare.map((x) => values(x, i)),
      };
      const meta: SeedMeta = {};
      if (summary) meta.summary = seedSummary(summary, i);
      if (i === 0 && learned) meta.learned = learned;
      const fits = (stored.fits ?? []).filter((f) => f.seed === seed);
      if (fits.length) meta.fits = fits as SeedMeta['fits'];
      insert.run(run.id, seed, encodeExact(meta), encodeSeries({ rounds, series }));
    });
  }

  db.exec('DROP TABLE run_seeds_json; ALTER TABLE runs DROP COLUMN series_json;');
  return runs.length > 0;
}

function seedSummary(s: OldSummary, i: number): SeedSummary {
  return {
    accuracy: s.accuracy ? num(s.accuracy.perSeed[i]) : NaN,
    extraError: num(s.extraError?.perSeed[i]),
    agreement: num(s.agreement.perSeed[i]),
    avgCost: num(s.avgCost.perSeed[i]),
    exitShare: s.exitShare.map((x) => num(x.perSeed[i])),
    cumRegret: num(s.cumRegret.perSeed[i]),
    onRule: num(s.onRule?.perSeed[i]),
  };
}
