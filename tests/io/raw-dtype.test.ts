import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRaw, floatToHalf, halfToFloat, littleEndianBytes, swapBytesInPlace } from '../../src/io/raw-dtype.js';

describe('halfToFloat', () => {
  it('decodes hand-derived IEEE half bit patterns', () => {
    // sign | 5-bit exponent (bias 15) | 10-bit fraction
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc100), -2.5);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24); // smallest subnormal
    assert.equal(halfToFloat(0x0400), 2 ** -14); // smallest normal
    assert.equal(halfToFloat(0x3555), 0.333251953125);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.ok(Object.is(halfToFloat(0x8000), -0));
  });
});

describe('decodeRaw', () => {
  it('widens bf16 by placing its bits in the top half of a float32', () => {
    // 0x3eab is bfloat16(1/3) = 0.333984375; 0xc020 is -2.5.
    const bytes = Uint8Array.from([0xab, 0x3e, 0x20, 0xc0]);
    assert.deepEqual([...(decodeRaw('bf16', bytes) as Float32Array)], [0.333984375, -2.5]);
  });

  it('rounds float64 to float32 and keeps int64 exact', () => {
    const f64 = new Float64Array([0.1, 1e40]);
    const f = decodeRaw('f64', new Uint8Array(f64.buffer)) as Float32Array;
    assert.equal(f[0], Math.fround(0.1));
    assert.equal(f[1], Infinity);
    const i64 = new BigInt64Array([2n ** 53n + 1n, -5n]);
    assert.deepEqual([...(decodeRaw('i64', new Uint8Array(i64.buffer)) as BigInt64Array)], [2n ** 53n + 1n, -5n]);
  });

  it('widens narrow ints to int32 with their sign', () => {
    assert.deepEqual([...(decodeRaw('i8', Uint8Array.from([0x80, 0x7f, 0xfd])) as Int32Array)], [-128, 127, -3]);
    assert.deepEqual([...(decodeRaw('u8', Uint8Array.from([0, 255])) as Int32Array)], [0, 255]);
    assert.deepEqual([...(decodeRaw('i16', Uint8Array.from([0x00, 0x80, 0xfe, 0xff])) as Int32Array)], [-32768, -2]);
  });

  it('reads big-endian data when told so', () => {
    // 1.5 as a big-endian float32 is 3f c0 00 00.
    assert.deepEqual([...(decodeRaw('f32', Uint8Array.from([0x3f, 0xc0, 0, 0]), false) as Float32Array)], [1.5]);
  });

  it('normalises bool bytes to 0/1 and rejects partial elements', () => {
    assert.deepEqual([...decodeRaw('bool', Uint8Array.from([0, 2, 1]))], [0, 1, 1]);
    assert.throws(() => decodeRaw('f32', new Uint8Array(6)), /6 bytes is not a whole number of f32/);
  });

  it('handles views at odd byte offsets', () => {
    const buf = Uint8Array.from([9, 0, 0, 0xc0, 0x3f]);
    assert.deepEqual([...(decodeRaw('f32', buf.subarray(1)) as Float32Array)], [1.5]);
  });
});

describe('byte order helpers', () => {
  it('swaps each element in place', () => {
    const b = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    swapBytesInPlace(b, 4);
    assert.deepEqual([...b], [4, 3, 2, 1, 8, 7, 6, 5]);
  });

  it('gives the little-endian bytes of a host array', () => {
    const bytes = littleEndianBytes({ dtype: 'int32', shape: [2], data: Int32Array.from([1, -2]) });
    assert.deepEqual([...bytes], [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  });
});

describe('floatToHalf', () => {
  it('encodes hand-checked values (IEEE 754 binary16)', () => {
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(-2.5), 0xc100);
    assert.equal(floatToHalf(65504), 0x7bff);
    assert.equal(floatToHalf(2 ** -24), 0x0001);
    assert.equal(floatToHalf(2 ** -14), 0x0400);
    assert.equal(floatToHalf(1 / 3), 0x3555); // 0.3333… rounds down to 0.333251953125
    assert.equal(floatToHalf(0), 0x0000);
    assert.equal(floatToHalf(-0), 0x8000);
    assert.equal(floatToHalf(Infinity), 0x7c00);
    assert.equal(floatToHalf(-Infinity), 0xfc00);
    assert.ok((floatToHalf(NaN) & 0x7c00) === 0x7c00 && (floatToHalf(NaN) & 0x3ff) !== 0);
  });

  it('rounds to nearest with ties to even, overflows to Infinity, underflows to zero', () => {
    // Between 1 (0x3c00) and 1 + 2^-10 (0x3c01): the midpoint goes to the even 0x3c00, just above it up.
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
    assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01);
    // Midpoint between 0x3c01 and 0x3c02 goes to the even 0x3c02.
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
    // 65520 is the midpoint between 65504 and 65536 (not representable): ties to even overflows.
    assert.equal(floatToHalf(65519), 0x7bff);
    assert.equal(floatToHalf(65520), 0x7c00);
    assert.equal(floatToHalf(1e6), 0x7c00);
    // Subnormals: half of the smallest subnormal ties to even (0); a bit more rounds up.
    assert.equal(floatToHalf(2 ** -25), 0x0000);
    assert.equal(floatToHalf(2 ** -25 * 1.5), 0x0001);
    assert.equal(floatToHalf(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal steps: even
    assert.equal(floatToHalf(-(2 ** -30)), 0x8000);
    // Largest subnormal rounding up into the smallest normal.
    assert.equal(floatToHalf(2 ** -14 - 2 ** -26), 0x0400);
  });

  it('round-trips every finite half exactly and picks the nearest half for values between them', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = halfToFloat(h);
      if (!Number.isFinite(x)) continue;
      assert.equal(floatToHalf(x), h === 0x8000 ? 0x8000 : h, `half 0x${h.toString(16)}`);
    }
    // Brute-force nearest check on a grid of float32 values across the normal and subnormal range.
    const positive = Array.from({ length: 0x7c00 }, (_, h) => halfToFloat(h));
    for (let k = 0; k < 4000; k++) {
      const x = Math.fround(Math.exp(-20 + (k / 4000) * 31) * (1 + (k % 7) * 1e-4));
      const h = floatToHalf(x);
      const got = Math.abs(halfToFloat(h) - x);
      let lo = 0;
      let hi = positive.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((positive[mid] as number) <= x) lo = mid;
        else hi = mid;
      }
      const best = Math.min(Math.abs((positive[lo] as number) - x), Math.abs((positive[hi] as number) - x));
      assert.equal(got, best, `x = ${x}`);
    }
  });
});
