/**
 * Execution providers: what the installed onnxruntime-node build offers, and
 * the fallback to CPU when the asked-for one is missing (CUDA's libraries, for
 * one, come from a separate download that offline installs skip).
 */
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';

/** Names the user may ask for (onnxruntime's backend names). */
const KNOWN = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

export interface ProviderInfo {
  name: string;
  /**
   * True when the provider ships inside the npm package. Others (cuda,
   * tensorrt) need libraries installed beside it; whether they are is only
   * known by starting a session, which inference does, falling back to CPU.
   */
  bundled: boolean;
}

export function listProviders(): ProviderInfo[] {
  return (ort.listSupportedBackends() as { name: string; bundled: boolean }[]).map((b) => ({ name: b.name, bundled: b.bundled }));
}

export interface ProviderChoice {
  /** Providers to hand onnxruntime, in order of preference. */
  providers: string[];
  warnings: string[];
}

/** Validates the user's --ep and says what will be tried. */
export function chooseProvider(requested: string): ProviderChoice {
  const ep = requested.toLowerCase();
  if (!(KNOWN as readonly string[]).includes(ep)) {
    throw new StudioError(`unknown execution provider "${requested}"; choose one of ${KNOWN.join(', ')}`);
  }
  if (ep === 'cpu') return { providers: ['cpu'], warnings: [] };
  const listed = listProviders().map((p) => p.name);
  if (!listed.includes(ep)) {
    return {
      providers: ['cpu'],
      warnings: [`execution provider "${ep}" is not in this onnxruntime-node build (it offers: ${listed.join(', ')}); running on cpu`],
    };
  }
  return { providers: [ep], warnings: [] };
}
