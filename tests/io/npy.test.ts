import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeNpy, parseNpy, parseNpyHeader, readNpy, writeNpy } from '../../src/io/npy.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { assertArray, assertFails, expected, ioFixture, tempDir } from './helpers.js';

const npy = (name: string): string => ioFixture('npy', `${name}.npy`);

describe('readNpy: golden files written by numpy', () => {
  const names = [
    'f4', 'f4-1d', 'f8', 'f2', 'i8', 'i4', 'i2', 'i1', 'u1', 'b1', 'be-f4', 'be-i8',
    'fortran-f4', 'fortran-i4-3d', 'scalar', 'empty', 'v2', 'v3',
  ];
  for (const name of names) {
    it(`reads ${name}.npy exactly`, () => {
      const want = expected().npy[name];
      assert.ok(want, `expected.json lacks npy/${name}`);
      assertArray(readNpy(npy(name)), want, name);
    });
  }

  it('converts dtypes as documented (hand-checked values)', () => {
    const f2 = readNpy(npy('f2'));
    assert.equal(f2.dtype, 'float32');
    assert.deepEqual([...f2.data].slice(0, 5), [1, -2.5, 65504, 2 ** -24, Infinity]);
    const i8 = readNpy(npy('i8'));
    assert.equal(i8.dtype, 'int64');
    assert.equal(i8.data[2], 2n ** 53n + 1n);
    assert.equal(readNpy(npy('u1')).dtype, 'int32');
    assert.deepEqual([...readNpy(npy('be-f4')).data], [1.5, -2, Math.fround(1e-3)]);
  });

  it('turns Fortran order into C order', () => {
    // numpy: np.asfortranarray(np.arange(12).reshape(3, 4) * 0.5); C-order reading gives 0, 0.5, 1, …
    const a = readNpy(npy('fortran-f4'));
    assert.deepEqual(a.shape, [3, 4]);
    assert.deepEqual([...a.data], Array.from({ length: 12 }, (_, i) => i * 0.5));
    assert.equal(parseNpyHeader(readFileSync(npy('fortran-f4'))).fortranOrder, true);
  });

  it('reads the header versions', () => {
    assert.equal(parseNpyHeader(readFileSync(npy('v2'))).dataOffset % 64, 0);
    assert.equal(readFileSync(npy('v3'))[6], 3);
  });
});

describe('readNpy: errors', () => {
  it('rejects truncated data and trailing bytes naming the sizes', () => {
    assertFails(() => readNpy(npy('truncated')), 'data', 'truncated.npy', 'needs 24 data bytes', 'has 19', 'truncated');
    assertFails(() => readNpy(npy('extra-bytes')), 'data', 'extra-bytes.npy', 'needs 24 data bytes', 'has 28');
  });

  it('rejects bad magic and empty files', () => {
    assertFails(() => readNpy(npy('bad-magic')), 'data', 'bad-magic.npy', 'not an NPY file');
    assertFails(() => readNpy(npy('empty-file')), 'data', 'empty-file.npy', 'empty file');
  });

  it('rejects unsupported dtypes by name', () => {
    assertFails(() => readNpy(npy('u2')), 'data', "'<u2'");
    assertFails(() => readNpy(npy('complex')), 'data', "'<c8'");
    assertFails(() => readNpy(npy('structured')), 'data', 'structured dtype');
  });

  it('rejects a missing file with an io error', () => {
    assertFails(() => readNpy(npy('does-not-exist')), 'io', 'does-not-exist.npy');
  });

  it('rejects malformed headers', () => {
    const bytes = encodeNpy({ dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const headerLen = bytes[8]! | (bytes[9]! << 8);
    const text = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen)).replace("'shape': (1,)", "'shape': (x,)");
    assert.ok(text.includes('(x,)'));
    const broken = new Uint8Array(bytes);
    broken.set(new TextEncoder().encode(text), 10);
    assertFails(() => parseNpy(broken, 'broken.npy'), 'data', 'broken.npy', 'malformed NPY header');
    const badVersion = new Uint8Array(bytes);
    badVersion[6] = 4;
    assertFails(() => parseNpy(badVersion, 'v4.npy'), 'data', 'version 4.0');
  });
});

describe('writeNpy', () => {
  it('writes files byte-identical to numpy.save', () => {
    for (const name of ['f4', 'f4-1d', 'i8', 'i4', 'b1', 'scalar', 'empty']) {
      const original = readFileSync(npy(name));
      assert.deepEqual(encodeNpy(readNpy(npy(name))), new Uint8Array(original), `${name}.npy`);
    }
  });

  it('round-trips every host dtype through a file', () => {
    const { dir, cleanup } = tempDir();
    try {
      const arrays: HostArray[] = [
        { dtype: 'float32', shape: [2, 2], data: Float32Array.from([0.1, -0, Infinity, 3]) },
        { dtype: 'int32', shape: [3], data: Int32Array.from([-7, 0, 2 ** 31 - 1]) },
        { dtype: 'int64', shape: [1, 2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
        { dtype: 'bool', shape: [2, 1, 1], data: Uint8Array.from([1, 0]) },
      ];
      for (const [i, a] of arrays.entries()) {
        const p = join(dir, `a${i}.npy`);
        writeNpy(p, a);
        assert.deepEqual(readNpy(p), { dtype: a.dtype, shape: [...a.shape], data: a.data });
      }
    } finally {
      cleanup();
    }
  });
});
