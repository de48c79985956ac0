/** The early-exit runtime's public surface: running stage models under an exported policy. */
export { EarlyExitRunner, type BatchResult, type RunnerSpec, type RunnerStage } from './runner.js';
export { makeDecider, eenetFromWeights, type Decider, type ExitSpec, type ExitView } from './decide.js';
export { measureStageLatency, StageTimer, type StageLatency, type StageLatencyOptions } from './latency.js';
export { firstBatch } from './data.js';
export { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, manifestSchema, bundlePolicySchema, type BundleManifest } from './manifest.js';
