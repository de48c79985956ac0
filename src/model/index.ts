/** The model layer's public surface. */
export type { Dim, ElementType, ExitInfo, IgnoredOutput, ModelInfo, TensorInfo } from './types.js';
export { inspectModel, type InspectOptions } from './inspect.js';
export { applySelection } from './order.js';
export { probsFromFirstBatch, probsFromFlat } from './exits.js';
export { measureExitLatency, type LatencyOptions } from './latency.js';
export { loadModel, type LoadedModel } from './load.js';
