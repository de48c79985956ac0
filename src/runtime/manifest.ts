/**
 * The bundle's two JSON files, as schemas: manifest.json (what the files are, their hashes, how
 * stages connect) and policy.json (the exported policy, its exits and their costs). A bundle is
 * read by code that did not write it (another machine, another version), so both are checked
 * field by field and a problem is reported with the path of the field.
 */
import { z } from 'zod';
import { estimatesSchema, fileEvaluationSchema } from '../export/policy-file-schema.js';
import { guaranteeSchema, learnedPolicySchema } from '../policies/rules/index.js';

export const BUNDLE_FORMAT = 'exit-studio-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

const dim = z.union([z.number().int(), z.string(), z.null()]);
const elementType = z.enum(['float', 'float16', 'bfloat16', 'double', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string', 'unknown']);
const tensor = z.object({ name: z.string().min(1), type: elementType, shape: z.array(dim) });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits');
const file = z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the bundle folder');

export const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.number().int().positive(),
  appVersion: z.string(),
  createdAt: z.string(),
  source: z.object({ file: z.string(), path: z.string(), sha256 }),
  inputs: z.array(tensor).min(1),
  exits: z.array(z.object({ name: z.string().min(1), classes: z.number().int().min(2), kind: z.enum(['logits', 'probs']), cost: z.number() })).min(1),
  costUnit: z.string(),
  stages: z
    .array(
      z.object({
        file,
        sha256,
        bytes: z.number().int().nonnegative(),
        exit: z.string().min(1),
        modelInputs: z.array(z.string()),
        carriedIn: z.array(tensor),
        carriedOut: z.array(tensor.extend({ batchAxis: z.number().int().nonnegative().nullable() })),
      }),
    )
    .min(1),
  policy: z.object({ file, sha256, kind: z.string() }),
  verification: z.object({
    data: z.string(),
    samples: z.number().int().positive(),
    tolerance: z.number(),
    maxAbsDiff: z.array(z.number()),
  }),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

/** policy.json's rule: one of the decision rules (src/policies/rules), checked by the rule's own schema. */
export { learnedPolicySchema };

export const bundlePolicySchema = z.object({
  policy: learnedPolicySchema,
  exitNames: z.array(z.string().min(1)).min(1),
  costs: z.array(z.number()),
  costUnit: z.string().optional(),
  name: z.string().optional(),
  /** How the policy's figures were obtained, the estimates and its guarantee (bundles written since exit-policy version 2). */
  evaluation: fileEvaluationSchema.optional(),
  estimates: estimatesSchema.optional(),
  guarantee: guaranteeSchema.optional(),
});

/** "field a.b.2: message; ..." for the first few problems zod found. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? `field '${i.path.join('.')}'` : 'the file'}: ${i.message}`)
    .join('; ');
}
