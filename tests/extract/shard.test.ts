import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProtdistilError } from '../../src/errors.js';
import { parseShard, shardRange } from '../../src/extract/shard.js';
import { labelsPath, shardedPath, stackFormatOf } from '../../src/extract/stack.js';

test('shards are 1-based i/n and tile the records contiguously, sizes within one', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.deepEqual(parseShard(' 1 / 1 '), { index: 1, count: 1 });
  for (const bad of ['0/4', '5/4', '2', '2/0', 'a/b', '1.5/3', '-1/2']) {
    assert.throws(() => parseShard(bad), (e) => isProtdistilError(e, 'config') && e.message.includes(`'${bad}'`), bad);
  }
  for (const total of [0, 1, 7, 10, 1001]) {
    for (const n of [1, 2, 3, 8]) {
      let next = 0;
      const sizes: number[] = [];
      for (let i = 1; i <= n; i++) {
        const { start, end } = shardRange(total, { index: i, count: n });
        assert.equal(start, next, `${total} ${i}/${n}`);
        sizes.push(end - start);
        next = end;
      }
      assert.equal(next, total);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
  }
  assert.deepEqual(shardRange(5, null), { start: 0, end: 5 });
});

test('stack paths: format from the extension, labels beside, shard suffix before the extension', () => {
  assert.equal(stackFormatOf('/x/emb.NPY'), 'npy');
  assert.equal(stackFormatOf('emb.pth'), 'pt');
  assert.throws(() => stackFormatOf('emb.h5'), /must end in .pt, .npy or .safetensors/);
  assert.equal(labelsPath('/x/emb.safetensors'), '/x/emb.labels.txt');
  assert.equal(shardedPath('/x/emb.pt', { index: 3, count: 8 }), '/x/emb.shard-3-of-8.pt');
  assert.equal(shardedPath('/x/emb.pt', null), '/x/emb.pt');
});
