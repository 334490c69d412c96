// The benchmark's pure statistics helpers, on literal samples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, median, p99, percentile, rounded, sorted, summarize } from '../bench/stats.js';

test('median: the middle sample, or the mean of the two middle ones', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
});

test('p99 is the nearest-rank percentile: always a measured value', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(p99(hundred), 99);
  assert.equal(p99([...hundred, 101, 102, 103].reverse()), 102);
  assert.equal(p99([5, 1]), 5);
  assert.equal(p99([0.4]), 0.4);
  assert.equal(percentile([10, 20, 30, 40], 50), 20);
  assert.equal(percentile([10, 20, 30, 40], 100), 40);
  assert.throws(() => percentile([1], 0), RangeError);
});

test('NaN samples (failed trials) are left out, and the input is not reordered', () => {
  const xs = [3, NaN, 1, 2];
  assert.deepEqual(sorted(xs), [1, 2, 3]);
  assert.deepEqual(xs.slice(0, 1), [3]);
  assert.equal(median(xs), 2);
  assert.equal(mean([1, 2, NaN, 6]), 3);
});

test('summarize: min, median, mean, p99, max; null without samples', () => {
  assert.deepEqual(summarize([2, 4, 6, 8]), { n: 4, min: 2, median: 5, mean: 5, p99: 8, max: 8 });
  assert.equal(summarize([]), null);
  assert.equal(summarize([NaN]), null);
  assert.deepEqual(rounded(summarize([1.23456, 2.34567])), { n: 2, min: 1.235, median: 1.79, mean: 1.79, p99: 2.346, max: 2.346 });
});
