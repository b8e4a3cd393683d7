import { dtypeError } from '../errors.js';
import type { DataOf, DType, HostArray } from '../tensor/host-array.js';

/**
 * Element types as they are stored in files (NPY, safetensors, PyTorch storages), and their decoding
 * into the host dtypes: every float becomes float32, 64-bit ints stay int64, narrower ints widen to
 * int32, bool stays one byte per element.
 */
export type RawDType = 'f64' | 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

/** Bytes per element of each raw dtype. */
export const RAW_DTYPE_SIZE: Readonly<Record<RawDType, number>> = Object.freeze({
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u8: 1,
  bool: 1,
});

/** Host dtype that a raw dtype decodes to. */
export function hostDTypeOf(raw: RawDType): DType {
  switch (raw) {
    case 'f64':
    case 'f32':
    case 'f16':
    case 'bf16':
      return 'float32';
    case 'i64':
      return 'int64';
    case 'bool':
      return 'bool';
    default:
      return 'int32';
  }
}

/** True when this machine stores multi-byte numbers little-endian (typed arrays use host order). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of every `width`-byte element of `bytes`, in place. */
export function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Decodes one IEEE half-precision value given as its 16 bits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * The 16 bits of the IEEE half-precision value nearest to a float32 (round to nearest, ties to even;
 * overflow to ±Infinity, NaN stays NaN; values below the smallest subnormal round to ±0).
 */
export function floatToHalf(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15; // half exponent field
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand (with its implicit 1) into 10 bits.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 13 + (1 - e)
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** Copies `bytes` into a fresh buffer when it is not aligned for `width`-byte typed-array views. */
function aligned(bytes: Uint8Array, width: number): Uint8Array {
  // `new Uint8Array(view)` copies; `Buffer#slice` would not.
  return bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
}

/**
 * Decodes `bytes` (a whole number of `raw` elements in the given byte order) into host data.
 * `bytes` may be byte-swapped in place and its buffer reused by the result (no copy for float32,
 * int32, int64 and bool), so callers hand over a buffer they no longer need.
 */
export function decodeRaw(raw: RawDType, bytes: Uint8Array, littleEndian = true): DataOf[DType] {
  const width = RAW_DTYPE_SIZE[raw];
  if (bytes.length % width !== 0) {
    throw dtypeError('decodeRaw', `${bytes.length} bytes is not a whole number of ${raw} elements (${width} bytes each)`);
  }
  const n = bytes.length / width;
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytesInPlace(bytes, width);
  const b = aligned(bytes, width);
  switch (raw) {
    case 'f32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'f64':
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'f16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
    case 'bf16': {
      // bfloat16 is the upper half of a float32: shift the 16 bits back into place.
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'i64':
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'i32':
      return new Int32Array(b.buffer, b.byteOffset, n);
    case 'i16':
      return Int32Array.from(new Int16Array(b.buffer, b.byteOffset, n));
    case 'i8':
      return Int32Array.from(new Int8Array(b.buffer, b.byteOffset, n));
    case 'u8':
      return Int32Array.from(b);
    case 'bool': {
      for (let i = 0; i < n; i++) if (b[i] !== 0) b[i] = 1;
      return new Uint8Array(b.buffer, b.byteOffset, n);
    }
    default:
      throw dtypeError('decodeRaw', `unknown raw dtype ${String(raw)}`);
  }
}

/** Raw dtype that stores a host dtype without conversion. */
export function rawDTypeOf(dtype: DType): RawDType {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'int64':
      return 'i64';
    case 'bool':
      return 'bool';
    default:
      throw dtypeError('rawDTypeOf', `unknown dtype ${String(dtype)}`);
  }
}

/** The little-endian bytes of a host array's data (a view, not a copy, on little-endian hosts). */
export function littleEndianBytes(array: HostArray): Uint8Array {
  const d = array.data;
  const view = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, d.BYTES_PER_ELEMENT);
  return copy;
}
