/**
 * Where a bundle is written: a new or empty folder, or one holding a bundle
 * that `overwrite` (--force) replaces. The files are written beside it and
 * moved into place whole (files/write.ts), so a failed or interrupted write
 * leaves the folder as it was, and a folder holding anything but a bundle's
 * files is never written into.
 */
import { checkFolder, stageFolder, type FolderOptions, type StagedFolder } from '../files/write.js';

/** The names a bundle folder holds (docs/deploy.md), and the manifest's temporary name while it is written. */
export function isBundleFile(name: string): boolean {
  return /^(manifest\.json(\.tmp)?|policy\.json|stage_\d+\.onnx)$/.test(name);
}

export function bundleFolder(dir: string, overwrite: boolean): { check(): Promise<void>; stage(): Promise<StagedFolder> } {
  const opts: FolderOptions = { what: 'a bundle', owns: isBundleFile, force: overwrite };
  return { check: () => checkFolder(dir, opts), stage: () => stageFolder(dir, opts) };
}
