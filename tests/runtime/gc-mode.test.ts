import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concurrentMarking, setConcurrentMarking, withConcurrentMarking } from '../../src/runtime/gc-mode.js';

test('concurrent marking can be turned off, and withConcurrentMarking restores the setting even when its body throws', async () => {
  assert.equal(concurrentMarking(), true);
  setConcurrentMarking(false);
  try {
    assert.equal(concurrentMarking(), false);
    const seen = await withConcurrentMarking(async () => concurrentMarking());
    assert.equal(seen, true);
    assert.equal(concurrentMarking(), false);
    await assert.rejects(
      withConcurrentMarking(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(concurrentMarking(), false);
    // Garbage collection keeps working with marking on the main thread.
    const junk: Float32Array[] = [];
    for (let i = 0; i < 200; i++) junk.push(new Float32Array(1 << 16));
    assert.equal(junk.length, 200);
  } finally {
    setConcurrentMarking(true);
  }
  assert.equal(concurrentMarking(), true);
});
