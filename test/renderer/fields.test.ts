// The studio names the control an engine error is about: every field the engine tags an error with has a label, or is one no control sets.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIELDS_WITHOUT_CONTROL, fieldLabel, needsText, studioErrorText, withFieldLabel } from '../../renderer/src/lib/fields.js';
import { projectRoot } from '../../src/paths.js';
import { StudioError } from '../../src/errors.js';
import { heldOutSizes } from '../../src/policies/evaluation.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every field an engine error names is one the studio labels, or one no control of it sets', () => {
  const tagged = new Set<string>();
  for (const file of sources(join(projectRoot(), 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/field: '([A-Za-z.]+)'/g)) tagged.add(m[1]!);
  }
  assert.ok(tagged.size >= 10, `found ${tagged.size} tagged fields: is the scan still reading the sources?`);
  const unlabelled = [...tagged].filter((f) => fieldLabel(f) === null && !FIELDS_WITHOUT_CONTROL.includes(f));
  assert.deepEqual(unlabelled, [], 'give these a label in renderer/src/lib/fields.ts, or list them as set by no control');
});

test('a message about a field ends with the control to check; others are shown as they are', () => {
  assert.equal(withFieldLabel('the share must be in (0, 1)', 'holdout'), 'the share must be in (0, 1) (check “Share kept aside to score on (Policy lab)”)');
  assert.equal(withFieldLabel('no trace with id 3', undefined), 'no trace with id 3');
  assert.equal(withFieldLabel('the database is locked', 'db'), 'the database is locked');
});

test('an engine refusal carries the field the studio then names', () => {
  let e: unknown;
  try {
    heldOutSizes(3, 0.1);
  } catch (err) {
    e = err;
  }
  assert.ok(e instanceof StudioError, 'a split of 3 samples at 0.1 leaves nothing to score on: refused');
  assert.equal(e.kind, 'input');
  assert.ok(e.field && fieldLabel(e.field), `the refusal names field ${e.field}`);
  assert.doesNotMatch(e.message, /--[a-z]/, 'the engine message names no CLI flag');
});

test('a refusal for what the trace lacks says, in the studio\'s words, how to record a trace that has it', () => {
  assert.match(needsText('probs'), /“Keep probability vectors” ticked \(Inference\)/);
  assert.match(needsText('scores'), /running the model \(Inference\)/);
  assert.match(needsText('labels'), /labels \(Dataset\)/);
  assert.equal(studioErrorText('EENet needs probability vectors', undefined, 'needs-probs'), `EENet needs probability vectors ${needsText('probs')}`);
  assert.equal(studioErrorText('x: already exists', 'force', 'exists'), 'x: already exists', 'other codes add nothing');
  assert.equal(studioErrorText('bad batch', 'batch', undefined), withFieldLabel('bad batch', 'batch'));
});
