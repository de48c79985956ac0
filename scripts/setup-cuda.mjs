// @ts-check
/**
 * `npm run setup:cuda`: onnxruntime's CUDA 12 execution provider for GPU users.
 *
 * onnxruntime-node's npm package holds the CPU build. On Linux x64 its
 * postinstall also fetches the CUDA and TensorRT provider libraries from NuGet
 * (they are too large for the npm registry), which a machine that reaches only
 * the npm registry cannot do, and then the whole install fails. package.json's
 * allowScripts turns that postinstall off; this runs the same installer
 * (onnxruntime-node/script/install.js) on request, and `infer --ep cuda` names
 * this command when the libraries are missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { firstErrorLine } from './setup-errors.mjs';

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('onnxruntime-node/package.json'));
/** @type {{ version: string }} */
const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const platform = `${process.platform}/${process.arch}`;

/**
 * onnxruntime-node's own list of what its installer fetches, per platform.
 * @type {{ requirements: Record<string, string[]>, manifests: Record<string, Record<string, unknown>> }}
 */
const metadata = require(join(dir, 'script', 'install-metadata.js'));

if (!(metadata.requirements[platform] ?? []).includes('cuda12')) {
  console.error(
    `setup:cuda: onnxruntime-node ${version} has no CUDA download for ${process.platform}-${process.arch} (only for linux-x64); inference here runs on the providers the npm package ships for this platform.`,
  );
  process.exit(1);
}

const folder = join(dir, 'bin', 'napi-v6', process.platform, process.arch);
const files = Object.keys(metadata.manifests[`${platform}:cuda12`] ?? {}).map((f) => join(folder, f));
const missing = () => files.filter((f) => !existsSync(f));
const after = 'They need an NVIDIA driver, the CUDA 12 runtime and cuDNN 9 on the library path (LD_LIBRARY_PATH); `exit-studio infer MODEL DATA --ep cuda` then runs on the GPU.';

if (missing().length === 0) {
  console.error(`onnxruntime's CUDA 12 libraries are already in ${folder}. ${after}`);
  process.exit(0);
}

console.error(`Fetching onnxruntime-node ${version}'s CUDA 12 libraries from NuGet (api.nuget.org, package Microsoft.ML.OnnxRuntime.Gpu.Linux)...`);
// ONNXRUNTIME_NODE_INSTALL=1 makes the installer fetch this platform's extras (cuda12 on linux-x64): a
// named value such as `cuda12` falls through its flag parser as "not set", and "not set" under `npm run`
// reads npm's variables for this project as onnxruntime's own checkout and quietly does nothing.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: '1' };
delete env.npm_config_local_prefix;
delete env.npm_package_json;
const run = spawnSync(process.execPath, [join(dir, 'script', 'install.js')], { env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
const left = missing();
if (run.status === 0 && left.length === 0) {
  console.error(`Installed ${files.length} libraries in ${folder}. ${after}`);
  process.exit(0);
}
const why = firstErrorLine(run.stderr ?? '') ?? (run.error ? run.error.message : left.length ? `still missing: ${left.join(', ')}` : `its installer exited with code ${run.status}`);
console.error(
  `setup:cuda: could not fetch onnxruntime's CUDA libraries (${why}). Run \`npm run setup:cuda\` again where api.nuget.org is reachable (behind a proxy, set GLOBAL_AGENT_HTTPS_PROXY); inference meanwhile runs on the CPU.`,
);
process.exit(1);
