/**
 * Reading an exit-policy file back (`bundle FILE.json`): version 2 as the
 * studio writes it now, and version 1 (no evaluation, estimates or
 * guarantee). Every problem names the file and the field.
 */
import { readFileSync } from 'node:fs';
import { inputError } from '../errors.js';
import { describeIssues } from '../runtime/manifest.js';
import type { BundlePolicy } from './bundle.js';
import { POLICY_FORMAT, POLICY_VERSION, policyFileSchema, policyFileV1Schema, type ExitPolicyFile, type ExitPolicyFileV1 } from './policy-file-schema.js';

export type ReadPolicyFile = { version: 1; file: ExitPolicyFileV1 } | { version: 2; file: ExitPolicyFile };

export function readPolicyFile(path: string): ReadPolicyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(path, code === 'ENOENT' ? 'no such file' : code ? `cannot be read (${code})` : `is not valid JSON (${(e as Error).message})`, e);
  }
  const head = (typeof raw === 'object' && raw !== null ? raw : {}) as { format?: unknown; version?: unknown };
  if (head.format !== POLICY_FORMAT) throw inputError(path, `is not an exit-policy file (format is ${JSON.stringify(head.format)}, expected "${POLICY_FORMAT}", as a run's export writes)`);
  if (typeof head.version === 'number' && head.version > POLICY_VERSION) {
    throw inputError(path, `was written by a newer Exit Studio (exit-policy version ${head.version}; this one reads up to ${POLICY_VERSION}); update Exit Studio`);
  }
  if (head.version === 1) {
    const v1 = policyFileV1Schema.safeParse(raw);
    if (!v1.success) throw inputError(path, `is not a valid version-1 exit-policy file: ${describeIssues(v1.error)}`);
    return { version: 1, file: v1.data };
  }
  const v2 = policyFileSchema.safeParse(raw);
  if (!v2.success) throw inputError(path, `is not a valid exit-policy file: ${describeIssues(v2.error)}`);
  return { version: 2, file: v2.data };
}

/** What a bundle stores of a policy file: the rule, its exits and costs, and (version 2) how its figures were obtained. */
export function bundlePolicyOf(read: ReadPolicyFile): BundlePolicy {
  const f = read.file;
  const out: BundlePolicy = { policy: f.decision, exitNames: f.exits.map((e) => e.name), costs: f.exits.map((e) => e.cost), costUnit: f.costSource, name: f.policy.spec };
  if (read.version === 2) {
    out.evaluation = read.file.evaluation;
    out.estimates = read.file.estimates;
    if (read.file.guarantee) out.guarantee = read.file.guarantee;
  }
  return out;
}
