/**
 * Execution providers: what the installed onnxruntime-node build offers, and
 * the fallback to CPU when the asked-for one is missing (CUDA's libraries, for
 * one, come from a separate download: `npm run setup:cuda`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';

/**
 * onnxruntime writes its own log lines to stderr, in its own format, ahead of
 * the error it then throws (a provider that cannot load prints a red block
 * before the studio's fallback warning says the same in words). Every failure
 * reaches the user through the studio's messages, so only fatal lines pass;
 * EXIT_STUDIO_ORT_LOG=verbose|info|warning|error brings the rest back. Set when
 * this module loads, which is before any session is created: onnxruntime reads
 * the level once, at its first session in the process.
 */
const ORT_LOG_LEVELS = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;
const wantedLog = process.env['EXIT_STUDIO_ORT_LOG'];
ort.env.logLevel = (ORT_LOG_LEVELS as readonly string[]).includes(wantedLog ?? '') ? (wantedLog as (typeof ORT_LOG_LEVELS)[number]) : 'fatal';

/** Names the user may ask for (onnxruntime's backend names). */
const KNOWN = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

export interface ProviderInfo {
  name: string;
  /**
   * True when the provider ships inside the npm package. Others (cuda,
   * tensorrt) need libraries installed beside it (`npm run setup:cuda`);
   * whether they work is only known by starting a session, which inference
   * does, falling back to CPU.
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
    throw new StudioError(`unknown execution provider "${requested}"; choose one of ${KNOWN.join(', ')}`, { kind: 'input', field: 'provider' });
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

/** What probing a provider found, per provider, for this process. */
const probed = new Map<string, { ep: string; warning?: string }>();

/**
 * The provider that will actually run: the requested one when onnxruntime can
 * start it here, otherwise cpu, with a warning (pushed to `warnings`) that says
 * why. A listed provider can still fail to start (CUDA's libraries are a
 * separate download, `npm run setup:cuda`), and that is only known by
 * opening a session: the first model opened with it is the probe, once per
 * process, since its libraries are there for every model or for none.
 */
export async function usableProvider(requested: string, probeModel: string | Uint8Array, warnings: string[]): Promise<string> {
  const choice = chooseProvider(requested);
  warnings.push(...choice.warnings);
  const ep = choice.providers[0]!;
  if (ep === 'cpu') return ep;
  let found = probed.get(ep);
  if (!found) {
    try {
      const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep], graphOptimizationLevel: 'disabled' };
      const session = typeof probeModel === 'string' ? await ort.InferenceSession.create(probeModel, options) : await ort.InferenceSession.create(probeModel, options);
      await session.release();
      found = { ep };
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      found = { ep: 'cpu', warning: `execution provider "${ep}" failed to start (${why}); running on cpu. ${installHint(ep)}` };
    }
    probed.set(ep, found);
  }
  if (found.warning) warnings.push(found.warning);
  return found.ep;
}

function installHint(ep: string): string {
  if (ep === 'cuda' || ep === 'tensorrt') {
    const missing = cudaLibrariesMissing();
    if (missing) return `onnxruntime's CUDA 12 libraries are not installed (${missing} is missing): \`npm run setup:cuda\` in the studio's folder fetches them. They need an NVIDIA driver, the CUDA 12 runtime and cuDNN 9 on the library path.`;
    return "onnxruntime's CUDA 12 libraries are installed; they need an NVIDIA driver, the CUDA 12 runtime and cuDNN 9 on the library path (LD_LIBRARY_PATH).";
  }
  return 'This onnxruntime-node build lists it, but it cannot start on this machine.';
}

/**
 * The CUDA provider library's name when it is missing beside onnxruntime's own
 * (`npm ci` leaves it out: it comes from NuGet, by `npm run setup:cuda`), else undefined.
 */
function cudaLibrariesMissing(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const binding = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const lib = 'libonnxruntime_providers_cuda.so';
  return existsSync(join(binding, lib)) ? undefined : lib;
}
