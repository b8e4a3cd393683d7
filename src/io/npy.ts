import { readFileSync } from 'node:fs';
import { dataError, ioError } from '../errors.js';
import { type DType, type HostArray, hostArray, numel } from '../tensor/host-array.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  decodeRaw,
  HOST_LITTLE_ENDIAN,
  hostDTypeOf,
  littleEndianBytes,
  RAW_DTYPE_SIZE,
  type RawDType,
} from './raw-dtype.js';
import { fortranStrides, gatherView } from './strided.js';

/**
 * NumPy `.npy` arrays (format spec: numpy/lib/format.py, versions 1.0–3.0). Reading converts floats
 * to float32, 64-bit ints to int64, narrower ints to int32 and bools to bool; big-endian and
 * Fortran-order arrays are converted to little-endian C order. Writing produces version 1.0 files
 * byte-identical to `numpy.save` for `<f4`, `<i4`, `<i8` and `|b1`.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ARRAY_ALIGN = 64;

/** Parsed NPY header. */
export interface NpyHeader {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the array data in the file. */
  readonly dataOffset: number;
}

/** Reads an `.npy` file into a host array. */
export function readNpy(path: string): HostArray {
  let bytes: Uint8Array;
  try {
    const buf = readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    throw ioError(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  return parseNpy(bytes, path);
}

/** Decodes the bytes of an `.npy` file; `name` identifies the source in error messages. */
export function parseNpy(bytes: Uint8Array, name = '<npy bytes>'): HostArray {
  const header = parseNpyHeader(bytes, name);
  const { raw, littleEndian } = parseDescr(header.descr, name);
  const n = numel(header.shape);
  const need = n * RAW_DTYPE_SIZE[raw];
  const have = bytes.length - header.dataOffset;
  if (have !== need) {
    throw dataError(
      `${name}: shape [${header.shape.join(', ')}] of ${header.descr} needs ${need} data bytes, ` +
        `the file has ${have}${have < need ? ' (truncated)' : ''}`,
    );
  }
  const dtype = hostDTypeOf(raw);
  const data = decodeRaw(raw, new Uint8Array(bytes.subarray(header.dataOffset)), littleEndian);
  if (!header.fortranOrder || header.shape.length < 2) return hostArray(dtype, header.shape, data);
  return hostArray(dtype, header.shape, gatherView(data, 0, header.shape, fortranStrides(header.shape)));
}

/** Parses the magic, version and header dictionary of an `.npy` file. */
export function parseNpyHeader(bytes: Uint8Array, name = '<npy bytes>'): NpyHeader {
  if (bytes.length === 0) throw dataError(`${name}: empty file, not an NPY array`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw dataError(`${name}: not an NPY file (starts with bytes ${head}, expected 93 4e 55 4d 50 59 "\\x93NUMPY")`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw dataError(`${name}: truncated NPY header (${bytes.length} bytes)`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw dataError(`${name}: unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (start + headerLen > bytes.length) {
    throw dataError(`${name}: truncated NPY header: needs ${start + headerLen} bytes, the file has ${bytes.length}`);
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dict = new PyLiteralParser(text, name).parseHeader();
  return { ...dict, dataOffset: start + headerLen };
}

/** Encodes a host array as NPY version 1.0 (`<f4`, `<i4`, `<i8` or `|b1`, C order). */
export function encodeNpy(array: HostArray): Uint8Array {
  const descr = DESCR_OF[array.dtype];
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // As numpy.lib.format._wrap_header: pad with spaces and a newline so data starts 64-byte aligned.
  const hlen = header.length + 1;
  const pad = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ARRAY_ALIGN);
  header = `${header}${' '.repeat(pad)}\n`;
  if (header.length > 0xffff) throw dataError(`encodeNpy: header of ${header.length} bytes is too long for NPY 1.0`);
  const data = littleEndianBytes(array);
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  return out;
}

/** Writes a host array to `path` as an `.npy` file (atomically). */
export function writeNpy(path: string, array: HostArray): void {
  writeFileAtomic(path, encodeNpy(array));
}

const DESCR_OF: Readonly<Record<DType, string>> = { float32: '<f4', int32: '<i4', int64: '<i8', bool: '|b1' };

const RAW_OF_DESCR: Readonly<Record<string, RawDType>> = {
  f2: 'f16',
  f4: 'f32',
  f8: 'f64',
  i1: 'i8',
  i2: 'i16',
  i4: 'i32',
  i8: 'i64',
  u1: 'u8',
  b1: 'bool',
};

/** Maps a descr such as `<f4` or `>i8` to a raw dtype and byte order. */
function parseDescr(descr: string, name: string): { raw: RawDType; littleEndian: boolean } {
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const raw = m ? RAW_OF_DESCR[m[2]!] : undefined;
  if (!m || raw === undefined) {
    throw dataError(
      `${name}: unsupported NPY dtype '${descr}' (supported: f2 f4 f8 i1 i2 i4 i8 u1 b1, any byte order)`,
    );
  }
  const order = m[1]!;
  return { raw, littleEndian: order === '<' || order === '|' || (order === '=' && HOST_LITTLE_ENDIAN) };
}

type PyLiteral = string | number | boolean | null | PyLiteral[] | Map<string, PyLiteral>;

/** Parser for the Python dict literal of an NPY header (strings, ints, booleans, tuples). */
class PyLiteralParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly name: string,
  ) {}

  parseHeader(): { descr: string; fortranOrder: boolean; shape: number[] } {
    const value = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('unexpected text after the header dictionary');
    if (!(value instanceof Map)) return this.fail('header is not a dictionary');
    const descr = value.get('descr');
    const fortran = value.get('fortran_order');
    const shape = value.get('shape');
    if (typeof descr !== 'string') {
      const shown = Array.isArray(descr) ? 'a structured dtype' : JSON.stringify(descr ?? null);
      throw dataError(`${this.name}: unsupported NPY dtype: 'descr' is ${shown}, expected a string such as '<f4'`);
    }
    if (typeof fortran !== 'boolean') this.fail(`'fortran_order' must be True or False`);
    const dims = Array.isArray(shape) ? shape : [];
    if (!Array.isArray(shape) || !dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      this.fail(`'shape' must be a tuple of non-negative integers`);
    }
    return { descr, fortranOrder: fortran as boolean, shape: dims as number[] };
  }

  private value(): PyLiteral {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.sequence('}', true) as Map<string, PyLiteral>;
    if (c === '(') return this.sequence(')', false) as PyLiteral[];
    if (c === '[') return this.sequence(']', false) as PyLiteral[];
    if (c === "'" || c === '"') return this.string(c);
    const word = /^(True|False|None|-?\d+)/.exec(this.text.slice(this.pos));
    if (!word) return this.fail(`unexpected character ${JSON.stringify(c ?? 'end of header')}`);
    this.pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0]);
  }

  private sequence(close: string, isDict: boolean): PyLiteral[] | Map<string, PyLiteral> {
    this.pos++; // the opening bracket
    const items: PyLiteral[] = [];
    const map = new Map<string, PyLiteral>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) break;
      const v = this.value();
      if (isDict) {
        if (typeof v !== 'string') this.fail('dictionary keys must be strings');
        this.skipSpace();
        if (this.text[this.pos] !== ':') this.fail(`expected ':' after key '${String(v)}'`);
        this.pos++;
        map.set(v as string, this.value());
      } else {
        items.push(v);
      }
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
    this.pos++; // the closing bracket
    return isDict ? map : items;
  }

  private string(quote: string): string {
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail('unterminated string');
    const s = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return s;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private fail(msg: string): never {
    throw dataError(`${this.name}: malformed NPY header at character ${this.pos}: ${msg} (header: ${this.text.trim()})`);
  }
}
