// The scan every input value of a job passes: the first NaN or infinity, wherever it sits, in either float width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstNonFinite } from '../../src/data/dataset.js';

test('firstNonFinite finds the first NaN or infinity at any position (the 4-wide sums and the tail), and passes finite extremes', () => {
  for (const Array of [Float32Array, Float64Array]) {
    for (const n of [1, 3, 4, 7, 8, 1001]) {
      const v = new Array(n).fill(0.5);
      assert.equal(firstNonFinite(v, Array === Float32Array ? 'float' : 'double'), undefined, `${n} finite values`);
      for (const at of new Set([0, n - 1, Math.floor(n / 2)])) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const w = v.slice();
          w[at] = bad;
          if (at > 0) w[0] = Array === Float32Array ? 3.4e38 : Number.MAX_VALUE; // a finite extreme ahead of it changes nothing
          const found = firstNonFinite(w, Array === Float32Array ? 'float' : 'double');
          assert.deepEqual(found, { index: at, value: bad }, `${bad} at ${at} of ${n}`);
        }
      }
    }
  }
  // The largest finite values and negative zero are finite: their products with 0 are 0 (or -0), never NaN.
  assert.equal(firstNonFinite(Float64Array.from([Number.MAX_VALUE, -Number.MAX_VALUE, -0, 5e-324, 1, 2, 3, 4, 5]), 'double'), undefined);
  assert.equal(firstNonFinite(new Int32Array([1, 2]), 'int32'), undefined, 'integers are always finite');
});
