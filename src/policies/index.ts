/** Exit policies: the public surface of src/policies. */
export type { Observation, Policy, PolicyEnv, PolicyFactory, LearnedPolicy, EENetWeights, ConfidenceMeasure } from './types.js';
export { replay, type ReplayRecord } from './replay.js';
export { Rng, shuffledOrder } from './rng.js';
export { runPolicy, runPolicySync, checkPolicyRegret, type RunOptions, type RunResult } from './run.js';
export { parsePolicySpec, checkPolicyCanRun, type ParsedSpec, type PolicyParams, type CanRun } from './spec.js';
export { checkSublinearRegret, type SublinearCheck, type RunSummary, type RunSeries, type SeriesStat, type RegretKind } from './metrics.js';
export { statOf, tQuantile975, type Stat } from './stats.js';
export { gridRounds, lttb } from './decimate.js';
export { UeeUcb } from './uee-ucb.js';
export { Dee, deeOptimalRule, confidenceBin } from './dee.js';
export { EENetPolicy, fitEENet, eenetDataFromTrace, eenetForward, fillThresholds, type EENetData, type EENetFit, type EENetEpoch, type EENetFitOptions } from './eenet.js';
export { FixedExit } from './fixed.js';
export { RandomExit } from './random.js';
export { oraclePolicy, bestFixedExit } from './oracle.js';
export { ThresholdPolicy, calibrateThreshold, thresholdCost } from './threshold.js';
export { PatiencePolicy } from './patience.js';
export { errorRates, referenceOf, hasLabels } from './reference.js';
export { syntheticTrace, type SyntheticOptions } from './synthetic.js';
