/**
 * Deployable bundles: the model cut into stage models, the exported policy and a manifest that
 * hashes every file. writeBundle splits and verifies before writing anything; readBundle refuses
 * a bundle whose files were changed or lost; applyBundle runs one on data and measures what
 * early exit saves against the full model, on the same machine, in the same run.
 *
 * Layout (docs/deploy.md): stage_1.onnx .. stage_K.onnx, policy.json, manifest.json.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ApplyOptions } from './apply-options.js';
import { StudioError, inputError, missingFile, writeError } from '../errors.js';
import { notRegular, statRegular } from '../files/regular.js';
import { bundleFolder } from './bundle-folder.js';
import { openDataset } from '../data/open.js';
import type { Dataset } from '../data/types.js';
import { readLabels } from '../data/labels.js';
import { usableProvider } from '../inference/providers.js';
import { outputAsFloat, toFeeds } from '../inference/tensors.js';
import { digestBytes, modelDigest } from '../model/digest.js';
import { inspectModel } from '../model/inspect.js';
import { loadModel } from '../model/load.js';
import { sessionOptions } from '../model/split-run.js';
import { splitStages } from '../model/split.js';
import { syntheticFeeds, verifySplit, type SplitVerification } from '../model/split-verify.js';
import { weightBytes, writeStandalone } from '../model/weights.js';
import { sha256File } from '../hash.js';
import { byteProgress, type OnPhase } from '../progress.js';
import type { Guarantee } from '../policies/rules/index.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { Estimates, FileEvaluation } from './policy-file-schema.js';
import { firstBatch } from '../runtime/data.js';
import type { ExitSpec } from '../runtime/decide.js';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, bundlePolicySchema, describeIssues, manifestSchema, type BundleManifest } from '../runtime/manifest.js';
import { EarlyExitRunner, type RunnerStage } from '../runtime/runner.js';
import { appVersion as currentVersion } from '../version.js';

export type { BundleManifest } from '../runtime/manifest.js';

/** The policy as a bundle stores it: what a deployment applies, and to which exits. */
export interface BundlePolicy {
  policy: LearnedPolicy;
  /** Exit names in the order the policy's exit indices refer to (depth order). */
  exitNames: string[];
  /** Cumulative cost of each exit, in costUnit. */
  costs: number[];
  /** "macs", "ms", "normalized", ... (default "normalized"). */
  costUnit?: string;
  /** Display name, e.g. "thresholds:maxProb". */
  name?: string;
  /** How its figures were obtained, what to expect (95 % intervals) and what it guarantees: from the run or the exit-policy file. */
  evaluation?: FileEvaluation;
  estimates?: Estimates;
  guarantee?: Guarantee;
}

export interface WriteBundleOptions {
  modelPath: string;
  /** Exits to cut at, in depth order; default policy.exitNames. Must equal policy.exitNames. */
  exits?: string[];
  policy: BundlePolicy;
  appVersion?: string;
  /** Data to verify the split on: a dataset path or ready feeds. Synthetic inputs when absent. */
  verifyData?: string | Record<string, ort.Tensor>;
  /** Samples to verify on (default 64). */
  verifySamples?: number;
  ep?: string;
  threads?: number;
  /** Replace a bundle already in `dir` (default: refuse). */
  overwrite?: boolean;
  /**
   * A stage whose weights reach this many bytes keeps its larger tensors in a side file,
   * `stage_K.onnx.data` (default 16 MB): onnxruntime loads them with less memory than inline.
   */
  sideFileFrom?: number;
}

export interface WrittenBundle {
  dir: string;
  manifest: BundleManifest;
  verification: SplitVerification;
  /** Every file written, relative to dir. */
  files: string[];
  /** The execution provider the verification ran on (cpu when the one asked for cannot start here). */
  ep: string;
  warnings: string[];
}

const MANIFEST = 'manifest.json';
const POLICY = 'policy.json';
/** Stages with at least this much weight data get a side file (see WriteBundleOptions.sideFileFrom). */
const SIDE_FILE_FROM = 16 * 2 ** 20;
/** In a side file go the tensors of at least this size; smaller ones stay in the stage model (as onnx's own saver does). */
const SIDE_TENSOR_FROM = 1024;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Splits, verifies and writes a bundle into `dir`. Nothing is written when the split does not verify.
 *
 * Memory stays near one session of the model: the stages name the model's external weights
 * instead of copying them, verification makes one session at a time, and each stage file gets
 * its weights read in just before it is written, one stage at a time.
 */
export async function writeBundle(dir: string, opts: WriteBundleOptions, onProgress?: OnPhase): Promise<WrittenBundle> {
  const exits = opts.exits ?? opts.policy.exitNames;
  const pol = bundlePolicySchema.safeParse(opts.policy);
  if (!pol.success) throw new StudioError(`bundle: the policy is not valid: ${describeIssues(pol.error)}`, { kind: 'input' });
  if (exits.join('\u0000') !== opts.policy.exitNames.join('\u0000')) {
    throw new StudioError(`bundle: the policy was learned on exits ${opts.policy.exitNames.join(', ')} but the split is at ${exits.join(', ')}; they must be the same, in the same order`, { kind: 'input' });
  }
  if (opts.policy.costs.length !== exits.length) throw new StudioError(`bundle: ${opts.policy.costs.length} costs for ${exits.length} exits`, { kind: 'input' });
  const folder = bundleFolder(dir, opts.overwrite === true);
  await folder.check();

  const info = await inspectModel(opts.modelPath, { select: exits, allowFewerExits: true, ...(onProgress ? { onProgress } : {}) });
  const specs: ExitSpec[] = exits.map((name) => {
    const e = info.exits.find((x) => x.name === name);
    if (!e) throw inputError(opts.modelPath, `'${name}' is not an exit of the model`);
    return { name, classes: e.classes, kind: e.kind };
  });
  onProgress?.({ phase: 'splitting the model into stages', done: 0, total: 1, unit: 'steps' });
  const split = await splitStages(await loadModel(opts.modelPath), exits);
  const n = opts.verifySamples ?? 64;
  const warnings: string[] = [];
  const ep = await usableProvider(opts.ep ?? 'cpu', opts.modelPath, warnings);
  const settings = { ep, ...(opts.threads ? { threads: opts.threads } : {}) };
  const feeds =
    typeof opts.verifyData === 'string' ? await firstBatch(opts.verifyData, split.inputs, n) : (opts.verifyData ?? syntheticFeeds(split.inputs, n));
  const verification = await verifySplit(split, feeds, settings, (step, done, total) => onProgress?.({ phase: `verifying the stages: ${step}`, done, total, unit: 'steps' }));

  const staged = await folder.stage();
  try {
    const out = staged.path;
    const files: string[] = [];
    const stages: BundleManifest['stages'] = [];
    const sideFileFrom = opts.sideFileFrom ?? SIDE_FILE_FROM;
    for (const s of split.stages) {
      onProgress?.({ phase: `writing stage ${s.index + 1} of ${split.stages.length}`, done: s.index, total: split.stages.length, unit: 'steps' });
      const file = `stage_${s.index + 1}.onnx`;
      // A stage file stands alone, without the model's side file: its weights are read in, tensor
      // by tensor, into the stage file or (a big stage) its own side file.
      const side = weightBytes(s.bytes) >= sideFileFrom ? { name: `${file}.data`, minBytes: SIDE_TENSOR_FROM } : undefined;
      const written = await writeStandalone(s.bytes, s.weightsDir, join(out, file), side);
      files.push(file);
      if (written.data) files.push(side!.name);
      stages.push({
        file,
        sha256: written.model.sha256,
        bytes: written.model.bytes,
        ...(written.data ? { weights: { file: side!.name, ...written.data } } : {}),
        exit: s.exit,
        modelInputs: s.modelInputs,
        carriedIn: s.carriedIn.map(({ name, type, shape }) => ({ name, type, shape })),
        carriedOut: s.carriedOut.map(({ name, type, shape }) => ({ name, type, shape, batchAxis: verification.batchAxes[name] ?? 0 })),
        opTypes: s.opTypes,
      });
    }
    const policyBytes = new TextEncoder().encode(JSON.stringify(pol.data, null, 2) + '\n');
    await writeFile(join(out, POLICY), policyBytes);
    files.push(POLICY);
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      // Side files need format 2; without them the bundle stays readable by versions that read 1.
      formatVersion: stages.some((st) => st.weights) ? BUNDLE_FORMAT_VERSION : 1,
      appVersion: opts.appVersion ?? currentVersion,
      createdAt: new Date().toISOString(),
      source: { file: basename(opts.modelPath), path: resolve(opts.modelPath), sha256: info.sha256 },
      inputs: split.inputs,
      exits: specs.map((e, k) => ({ ...e, cost: opts.policy.costs[k]! })),
      costUnit: opts.policy.costUnit ?? 'normalized',
      stages,
      policy: { file: POLICY, sha256: sha256(policyBytes), kind: opts.policy.policy.kind },
      verification: {
        data: typeof opts.verifyData === 'string' ? resolve(opts.verifyData) : opts.verifyData ? 'feeds' : 'synthetic',
        samples: verification.samples,
        tolerance: 1e-5,
        maxAbsDiff: verification.exits.map((e) => e.maxAbsDiff),
      },
    };
    // The manifest goes last, via a rename: a folder with a manifest is a complete bundle.
    await writeFile(join(out, MANIFEST + '.tmp'), JSON.stringify(manifest, null, 2) + '\n');
    await rename(join(out, MANIFEST + '.tmp'), join(out, MANIFEST));
    files.push(MANIFEST);
    await staged.commit();
    return { dir, manifest, verification, files, ep, warnings };
  } catch (e) {
    await staged.discard();
    throw e instanceof StudioError ? e : writeError(dir, e);
  }
}

/** A bundle read and checked: every file present and matching its hash. */
export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  policy: BundlePolicy;
  exits: ExitSpec[];
  stages: RunnerStage[];
}

function unreadable(path: string, what: string, e: unknown): StudioError {
  const code = (e as NodeJS.ErrnoException).code;
  return inputError(path, code === 'ENOENT' ? `${what} is missing from the bundle (manifest.json lists it); copy the whole bundle folder again` : `cannot read ${what} (${code ?? String(e)})`, e);
}

function checkHash(path: string, what: string, want: string, got: string): void {
  if (got !== want) {
    throw inputError(path, `${what} does not match its hash in manifest.json (expected sha256 ${want.slice(0, 12)}…, found ${got.slice(0, 12)}…): it was changed or damaged after the bundle was written; write the bundle again`);
  }
}

/** A pipe or device under a bundle file's name would block the read: refused first (a missing file is reported by the read). */
async function refuseIrregular(path: string): Promise<void> {
  const odd = await stat(path).then(notRegular, () => undefined);
  if (odd) throw inputError(path, odd);
}

/** A small file of the bundle, read and checked against its hash. */
async function readChecked(dir: string, file: string, want: string, what: string): Promise<Uint8Array> {
  const path = join(dir, file);
  let bytes: Uint8Array;
  await refuseIrregular(path);
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw unreadable(path, what, e);
  }
  checkHash(path, what, want, sha256(bytes));
  return bytes;
}

/** A stage file checked against its hash by streaming it: its path is what the runner gets, not its bytes. */
async function checkFile(dir: string, file: string, want: string, what: string, onBytes?: (n: number) => void): Promise<string> {
  const path = join(dir, file);
  let got: string;
  await refuseIrregular(path);
  try {
    got = await sha256File(path, onBytes);
  } catch (e) {
    throw unreadable(path, what, e);
  }
  checkHash(path, what, want, got);
  return path;
}

/**
 * Reads and validates a bundle folder; every problem names the file and says what to do. Stage
 * files are hashed as streams and handed on by path (onnxruntime reads them itself).
 */
export async function readBundle(dir: string, onProgress?: OnPhase): Promise<Bundle> {
  if (!existsSync(dir)) throw missingFile(dir, 'bundle folder');
  if (!statSync(dir).isDirectory()) throw inputError(dir, 'is a file; a bundle is a folder holding manifest.json, policy.json and stage_*.onnx');
  const mpath = join(dir, MANIFEST);
  if (!existsSync(mpath)) throw inputError(dir, 'has no manifest.json: not an Exit Studio bundle');
  await statRegular(mpath);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(mpath, 'utf8'));
  } catch (e) {
    throw inputError(mpath, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  const format = (raw as { format?: unknown; formatVersion?: unknown } | null) ?? {};
  if (format.format !== BUNDLE_FORMAT) throw inputError(mpath, `is not an Exit Studio bundle manifest (format is ${JSON.stringify(format.format)}, expected "${BUNDLE_FORMAT}")`);
  if (typeof format.formatVersion === 'number' && format.formatVersion > BUNDLE_FORMAT_VERSION) {
    throw inputError(mpath, `was written by a newer Exit Studio (bundle format ${format.formatVersion}; this version reads up to ${BUNDLE_FORMAT_VERSION}); update Exit Studio`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw inputError(mpath, `is damaged or incomplete: ${describeIssues(parsed.error)}`);
  const manifest = parsed.data;
  if (manifest.stages.length !== manifest.exits.length) throw inputError(mpath, `lists ${manifest.stages.length} stages for ${manifest.exits.length} exits`);
  manifest.stages.forEach((s, k) => {
    if (s.exit !== manifest.exits[k]!.name) throw inputError(mpath, `stage ${k + 1} ends at '${s.exit}' but exit ${k + 1} is '${manifest.exits[k]!.name}'`);
  });

  const policyBytes = await readChecked(dir, manifest.policy.file, manifest.policy.sha256, 'the policy file');
  let policyRaw: unknown;
  try {
    policyRaw = JSON.parse(new TextDecoder().decode(policyBytes));
  } catch (e) {
    throw inputError(join(dir, manifest.policy.file), 'is not valid JSON', e);
  }
  const pol = bundlePolicySchema.safeParse(policyRaw);
  if (!pol.success) throw inputError(join(dir, manifest.policy.file), `is not a valid policy: ${describeIssues(pol.error)}`);
  const policy = pol.data as BundlePolicy;
  if (policy.exitNames.join('\u0000') !== manifest.exits.map((e) => e.name).join('\u0000')) {
    throw inputError(join(dir, manifest.policy.file), `names exits ${policy.exitNames.join(', ')} but the stages end at ${manifest.exits.map((e) => e.name).join(', ')}`);
  }

  const stages: RunnerStage[] = [];
  const total = manifest.stages.reduce((t, s) => t + s.bytes + (s.weights?.bytes ?? 0), 0);
  const onBytes = onProgress ? byteProgress(onProgress, 'checking the stage files', total) : undefined;
  for (const [k, s] of manifest.stages.entries()) {
    const path = await checkFile(dir, s.file, s.sha256, `stage ${k + 1} (${s.file})`, onBytes);
    if (s.weights) await checkFile(dir, s.weights.file, s.weights.sha256, `the weights of stage ${k + 1} (${s.weights.file})`, onBytes);
    stages.push({ path, exit: s.exit, modelInputs: s.modelInputs, carriedIn: s.carriedIn, carriedOut: s.carriedOut, ...(s.opTypes ? { opTypes: s.opTypes } : {}) });
  }
  const exits = manifest.exits.map(({ name, classes, kind }) => ({ name, classes, kind }));
  return { dir, manifest, policy, exits, stages };
}

export interface ApplyReport {
  bundle: string;
  data: string;
  samples: number;
  ep: string;
  threads: number | null;
  batch: number;
  exits: string[];
  /** Samples that exited at each exit, and their share. */
  exitCounts: number[];
  exitShares: number[];
  /** With labels: accuracy of the early-exit predictions, and of the full model's last exit. */
  accuracy: number | null;
  fullAccuracy: number | null;
  /** Share of samples whose early-exit prediction equals the full model's last exit. */
  agreement: number;
  /** Mean wall time per sample, early exit and full model, ms. */
  meanLatencyMs: number;
  fullLatencyMs: number;
  /** fullLatencyMs / meanLatencyMs. */
  speedup: number;
  /** What the speedup is measured against: the original model, or (when it is not at hand) all stages run through. */
  baseline: 'model' | 'stages';
  /**
   * Which stages ran: 'optimized' (re-cut on this machine from onnxruntime's optimized graph,
   * verified at load; split-optimize.ts) or 'portable' (the bundle's stage files as they are;
   * the reason is among the warnings).
   */
  stages: 'optimized' | 'portable';
  /** Mean cost per sample the bundle's costs and the exit shares predict, in costUnit. */
  expectedCost: number;
  costUnit: string;
  /**
   * What the policy's run expected, to hold the measured figures against: its estimates (95 %
   * intervals across seeds) and how they were obtained; null for bundles that do not carry them.
   */
  expected: { evaluation: FileEvaluation; estimates: Estimates } | null;
  warnings: string[];
}

function argmaxRows(scores: ArrayLike<number>, rows: number, C: number, out: Int32Array, at: number): void {
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (scores[r * C + c]! > scores[r * C + best]!) best = c;
    out[at + r] = best;
  }
}

/** The original model for the baseline, when present and unchanged. */
async function baselineModel(bundle: Bundle, override: string | undefined, warnings: string[], onProgress?: OnPhase): Promise<string | undefined> {
  const path = override ?? bundle.manifest.source.path;
  if (!existsSync(path)) {
    if (override) throw missingFile(override, 'model file');
    warnings.push(`the full model is not at ${path}; the speedup is measured against running every stage (verified equal to the full model)`);
    return undefined;
  }
  const loaded = await loadModel(path);
  const got = await modelDigest(loaded, onProgress ? byteProgress(onProgress, 'hashing the full model', await digestBytes(loaded)) : undefined);
  if (got !== bundle.manifest.source.sha256 && sha256(loaded.bytes) === bundle.manifest.source.sha256) {
    // Bundles written before the digest covered external data hold the hash of the .onnx file alone.
    warnings.push(`the bundle records the hash of ${basename(path)} alone, not of its external weights, so those were not checked; write the bundle again to record both`);
    return path;
  }
  if (got !== bundle.manifest.source.sha256) {
    if (override) throw inputError(override, 'is not the model this bundle was cut from (its sha256 differs from the manifest)');
    warnings.push(`${path} changed since the bundle was written; the speedup is measured against running every stage`);
    return undefined;
  }
  return path;
}

/**
 * Runs a bundle on a dataset and reports accuracy, agreement with the full model, exit shares,
 * latency and the speedup over the full model (same EP, same threads, alternating batch by
 * batch so neither side gets the warmer cache).
 */
export async function applyBundle(dir: string, dataPath: string, opts: ApplyOptions = {}, onProgress?: OnPhase): Promise<ApplyReport> {
  const bundle = await readBundle(dir, onProgress);
  const { manifest } = bundle;
  const warnings: string[] = [];
  const ep = await usableProvider(opts.ep ?? 'cpu', join(dir, manifest.stages[0]!.file), warnings);
  const settings = { ep, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.optimize === false ? { optimize: false } : {}) };
  const batchSize = opts.batch ?? 64;
  const K = bundle.stages.length;

  const ds = await openDataset(dataPath, manifest.inputs, opts.limit ? { limit: opts.limit } : undefined);
  let runner: EarlyExitRunner | undefined;
  let full: EarlyExitRunner | ort.InferenceSession | undefined;
  try {
    // The full model first: loading a model costs onnxruntime a passing second copy of its
    // weights, and a stage's passing copy is a fraction of the whole model's.
    const fullPath = await baselineModel(bundle, opts.model, warnings, onProgress);
    onProgress?.({ phase: 'loading the full model', done: 0, total: 2, unit: 'steps' });
    full = fullPath
      ? await ort.InferenceSession.create(fullPath, sessionOptions(settings))
      : await EarlyExitRunner.create({ stages: bundle.stages, exits: bundle.exits, policy: { kind: 'fixed', exit: K - 1 } }, settings);
    onProgress?.({ phase: 'loading the stages', done: 1, total: 2, unit: 'steps' });
    runner = await EarlyExitRunner.create({ stages: bundle.stages, exits: bundle.exits, policy: bundle.policy.policy }, settings);
    if (runner.note && /could not be cut/.test(runner.note)) warnings.push(runner.note);
    return await compareOnData(runner, full, ds, { dir, dataPath, opts, bundle, ep, batchSize, baseline: fullPath ? 'model' : 'stages', warnings }, onProgress);
  } finally {
    await runner?.release();
    await full?.release();
    await ds.close();
  }
}

interface Comparison {
  dir: string;
  dataPath: string;
  opts: ApplyOptions;
  bundle: Bundle;
  ep: string;
  batchSize: number;
  baseline: ApplyReport['baseline'];
  warnings: string[];
}

/** The staged runner and the full model over the whole dataset, alternating batch by batch. */
async function compareOnData(runner: EarlyExitRunner, full: EarlyExitRunner | ort.InferenceSession, ds: Dataset, c: Comparison, onProgress?: OnPhase): Promise<ApplyReport> {
  const { dir, dataPath, opts, bundle, ep, batchSize, warnings } = c;
  const { manifest } = bundle;
  const K = bundle.stages.length;
  const lastExit = manifest.exits[K - 1]!;
  const n = ds.samples;
  const labels = opts.labels ? await readLabels(opts.labels, n) : ds.labels;
  const pred = new Int32Array(n);
  const fullPred = new Int32Array(n);
  const exitCounts: number[] = new Array<number>(K).fill(0);
  let stagedMs = 0;
  let fullMs = 0;
  let at = 0;
  let warmed = false;
  let b = 0;
  for await (const batch of ds.batches(batchSize)) {
    const feeds = toFeeds(batch);
    const rows = Number(Object.values(feeds)[0]!.dims[0]);
    const runFull = async (): Promise<number> => {
      const t0 = performance.now();
      if (full instanceof EarlyExitRunner) {
        const r = await full.run(feeds);
        fullPred.set(r.pred, at);
      } else {
        const own: Record<string, ort.Tensor> = {};
        for (const name of full.inputNames) own[name] = feeds[name]!;
        const out = await full.run(own, [lastExit.name]);
        argmaxRows(outputAsFloat(out[lastExit.name]!, lastExit.name), rows, lastExit.classes, fullPred, at);
      }
      return performance.now() - t0;
    };
    const runStaged = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await runner.run(feeds);
      const t = performance.now() - t0;
      pred.set(r.pred, at);
      for (let i = 0; i < rows; i++) exitCounts[r.exit[i]!]!++;
      return t;
    };
    if (!warmed) {
      // One untimed pass of each first: session warm-up (allocations, kernel selection) is not latency.
      await runFull();
      await runStaged();
      exitCounts.fill(0); // the timed pass below counts them
      warmed = true;
    }
    if (b++ % 2 === 0) {
      fullMs += await runFull();
      stagedMs += await runStaged();
    } else {
      stagedMs += await runStaged();
      fullMs += await runFull();
    }
    at += rows;
    onProgress?.({ phase: 'running the bundle and the full model', done: at, total: n });
  }
  let agree = 0;
  let right = 0;
  let fullRight = 0;
  for (let i = 0; i < n; i++) {
    if (pred[i] === fullPred[i]) agree++;
    if (labels) {
      if (pred[i] === labels[i]) right++;
      if (fullPred[i] === labels[i]) fullRight++;
    }
  }
  const exitShares = exitCounts.map((c) => c / n);
  const meanLatencyMs = stagedMs / n;
  const fullLatencyMs = fullMs / n;
  return {
    bundle: dir,
    data: dataPath,
    samples: n,
    ep,
    threads: opts.threads ?? null,
    batch: batchSize,
    exits: manifest.exits.map((e) => e.name),
    exitCounts,
    exitShares,
    accuracy: labels ? right / n : null,
    fullAccuracy: labels ? fullRight / n : null,
    agreement: agree / n,
    meanLatencyMs,
    fullLatencyMs,
    speedup: fullLatencyMs / meanLatencyMs,
    baseline: c.baseline,
    stages: runner.layout,
    expectedCost: exitShares.reduce((s, p, k) => s + p * manifest.exits[k]!.cost, 0),
    costUnit: manifest.costUnit,
    expected: bundle.policy.evaluation && bundle.policy.estimates ? { evaluation: bundle.policy.evaluation, estimates: bundle.policy.estimates } : null,
    warnings,
  };
}
