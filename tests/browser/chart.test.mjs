// The loss chart's number handling, in Node (no browser needed): a spike does
// not flatten the curve, and axis labels are numbers a person can read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNum, yRange } from '../../www/playground/views/chart.js';

test('axis labels are plain numbers, never "5e+31k"', () => {
  const cases = [[0, '0'], [0.5, '0.50'], [5, '5.00'], [54.3, '54.3'], [543.2, '543'], [12345, '12.3k'],
    [543210, '543k'], [2.5e6, '2.5M'], [5e31, '5.0e31'], [-3e9, '-3.0e9'], [NaN, '–']];
  for (const [v, want] of cases) assert.equal(formatNum(v), want, String(v));
  for (let e = -3; e <= 38; e++) {
    const label = formatNum(1.7 * 10 ** e);
    assert.doesNotMatch(label, /e\+|e.*k|k.*e/, label);
    assert.ok(label.length <= 7, label);
  }
});

test('a spike does not flatten the rest of the curve', () => {
  // A training curve: 543 falling to ~100, with noise.
  const curve = Array.from({ length: 200 }, (_, i) => 100 + 443 * Math.exp(-i / 10) + (i % 7));
  const [lo, hi] = /** @type {[number, number]} */ (yRange(curve));
  assert.equal(lo, Math.min(...curve), 'an ordinary curve is shown whole');
  assert.equal(hi, Math.max(...curve), 'an ordinary curve is shown whole');

  const spiked = [...curve.slice(0, 100), 5e31, 2e7, ...curve.slice(100)];
  const [, top] = /** @type {[number, number]} */ (yRange(spiked));
  assert.ok(top < 1000, `the y range ends near the curve, not at the spike: ${top}`);
  assert.equal(yRange([]), null);
});
