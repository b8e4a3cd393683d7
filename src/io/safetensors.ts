import { checkpointError } from '../errors.js';
import { type HostArray, hostArray, numel } from '../tensor/host-array.js';
import { RandomAccessFile } from './random-access-file.js';
import { decodeRaw, hostDTypeOf, littleEndianBytes, RAW_DTYPE_SIZE, type RawDType } from './raw-dtype.js';
import { writeStreamedAtomic } from './streamed-write.js';

/**
 * safetensors files (https://github.com/huggingface/safetensors, format in its README): an 8-byte
 * little-endian header size N, N bytes of JSON mapping names to {dtype, shape, data_offsets} plus an
 * optional `__metadata__` string map, then the data buffer. The reader validates the header the way
 * the official one does (known dtypes, sizes matching shapes, offsets covering the buffer exactly,
 * without gaps or overlaps) and reads tensors one at a time by offset.
 */

/** safetensors dtype names this module can decode, and their raw element types. */
const RAW_OF: Readonly<Record<string, RawDType>> = {
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  I64: 'i64',
  I32: 'i32',
  I16: 'i16',
  I8: 'i8',
  U8: 'u8',
  BOOL: 'bool',
};

/** Official dtype names that exist in the format but have no host dtype here. */
const UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4']);

/** The official reader's limit on the header size. */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's header entry. `byteOffset` is absolute in the file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** An open safetensors file: the header is parsed and checked, tensors are read on request. */
export class SafetensorsReader {
  private readonly byName: ReadonlyMap<string, SafetensorsEntry>;

  private constructor(
    private readonly file: RandomAccessFile,
    /** Header entries in header order (`__metadata__` excluded). */
    readonly entries: readonly SafetensorsEntry[],
    /** The `__metadata__` string map, or null when the file has none. */
    readonly metadata: Readonly<Record<string, string>> | null,
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Opens `path` and validates its header without reading any tensor data. */
  static open(path: string): SafetensorsReader {
    const file = RandomAccessFile.open(path, checkpointError);
    try {
      const { entries, metadata } = parseHeader(file);
      return new SafetensorsReader(file, entries, metadata);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  get path(): string {
    return this.file.path;
  }

  /** Tensor names in header order. */
  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** The header entry of `name`; throws a `checkpoint` error naming the file when absent. */
  entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (!e) throw checkpointError(`${this.path}: no tensor '${name}' (the file has ${this.entries.length} tensors)`);
    return e;
  }

  /** Reads one tensor from disk and decodes it to its host dtype. */
  read(name: string): HostArray {
    const e = this.entry(name);
    const raw = RAW_OF[e.dtype]!;
    const bytes = this.file.read(e.byteOffset, e.byteLength, `tensor '${name}'`);
    return hostArray(hostDTypeOf(raw), e.shape, decodeRaw(raw, bytes));
  }

  /** Closes the file. */
  close(): void {
    this.file.close();
  }
}

/** Reads every tensor of a safetensors file (in header order) and its metadata. */
export function readSafetensors(path: string): {
  tensors: Map<string, HostArray>;
  metadata: Readonly<Record<string, string>> | null;
} {
  const reader = SafetensorsReader.open(path);
  try {
    const tensors = new Map<string, HostArray>();
    for (const name of reader.names) tensors.set(name, reader.read(name));
    return { tensors, metadata: reader.metadata };
  } finally {
    reader.close();
  }
}

function parseHeader(file: RandomAccessFile): {
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | null;
} {
  const path = file.path;
  if (file.size === 0) throw checkpointError(`${path}: empty file, not a safetensors file`);
  if (file.size < 8) throw checkpointError(`${path}: truncated safetensors file (${file.size} bytes, no header size)`);
  const n = new DataView(file.read(0, 8).buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES) || n > BigInt(file.size - 8)) {
    throw checkpointError(
      `${path}: safetensors header size ${n} exceeds ${n > BigInt(MAX_HEADER_BYTES) ? `the ${MAX_HEADER_BYTES}-byte limit` : `the file (${file.size} bytes)`}` +
        ' (truncated or not a safetensors file)',
    );
  }
  const headerLen = Number(n);
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(file.read(8, headerLen, 'header'));
    if (!text.startsWith('{')) throw new Error(`header starts with ${JSON.stringify(text.slice(0, 8))}`);
    json = JSON.parse(text);
  } catch (e) {
    throw checkpointError(`${path}: safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`, e);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw checkpointError(`${path}: safetensors header is not a JSON object`);
  }
  const dataStart = 8 + headerLen;
  const bufferLength = file.size - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(path, value);
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(path, name, value);
    entries.push({ name, dtype, shape, byteOffset: dataStart + begin, byteLength: end - begin });
    spans.push({ name, begin, end });
  }
  checkCoverage(path, spans, bufferLength);
  return { entries, metadata };
}

function parseMetadata(path: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw checkpointError(`${path}: __metadata__ must be an object of strings, got ${JSON.stringify(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw checkpointError(`${path}: __metadata__['${k}'] must be a string, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

function parseEntry(path: string, name: string, value: unknown): { dtype: string; shape: number[]; begin: number; end: number } {
  const where = `${path}: tensor '${name}'`;
  if (typeof value !== 'object' || value === null) throw checkpointError(`${where}: header entry is ${JSON.stringify(value)}, not an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw checkpointError(`${where}: dtype is ${JSON.stringify(dtype)}, not a string`);
  const raw = RAW_OF[dtype];
  if (raw === undefined) {
    const why = UNSUPPORTED.has(dtype) ? 'is not supported' : 'is unknown';
    throw checkpointError(`${where}: dtype ${dtype} ${why} (supported: ${Object.keys(RAW_OF).join(' ')})`);
  }
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw checkpointError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const [begin, end] = Array.isArray(offsets) && offsets.length === 2 ? offsets : [];
  if (!isCount(begin) || !isCount(end) || begin > end) {
    throw checkpointError(`${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
  }
  const need = numel(shape) * RAW_DTYPE_SIZE[raw];
  if (end - begin !== need) {
    throw checkpointError(
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${need}`,
    );
  }
  return { dtype, shape, begin, end };
}

/** The tensors must tile the data buffer exactly: no gaps, no overlaps, nothing left over. */
function checkCoverage(path: string, spans: { name: string; begin: number; end: number }[], bufferLength: number): void {
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous = '(start of data)';
  for (const s of sorted) {
    if (s.begin < expected) {
      throw checkpointError(`${path}: tensor '${s.name}' at bytes [${s.begin}, ${s.end}] overlaps '${previous}' (ends at ${expected})`);
    }
    if (s.begin > expected) {
      throw checkpointError(`${path}: ${s.begin - expected} unused bytes between '${previous}' and tensor '${s.name}' at ${s.begin}`);
    }
    expected = s.end;
    previous = s.name;
  }
  if (expected !== bufferLength) {
    throw checkpointError(
      `${path}: tensors cover ${expected} data bytes but the file holds ${bufferLength}` +
        (expected > bufferLength ? ' (truncated file)' : ' (trailing bytes)'),
    );
  }
}

/** dtype names for writing, ranked as the official writer orders them (wider/higher first). */
const WRITE_DTYPE = { int64: 'I64', float32: 'F32', int32: 'I32', bool: 'BOOL' } as const;
const WRITE_RANK: Readonly<Record<string, number>> = { I64: 3, F32: 2, I32: 1, BOOL: 0 };

/**
 * Writes tensors as safetensors the way the official writer does: tensors ordered by dtype (I64,
 * F32, I32, BOOL) then name, so each offset is aligned to its element size; the header lists
 * `__metadata__` first and is padded with spaces to a multiple of 8 bytes. Written atomically and
 * streamed from the arrays' own buffers.
 */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, HostArray> | Readonly<Record<string, HostArray>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  const { header, order } = safetensorsLayout(tensors, metadata);
  writeStreamedAtomic(path, (sink) => {
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, BigInt(header.length), true);
    sink.write(size);
    sink.write(header);
    for (const [, array] of order) sink.write(littleEndianBytes(array));
  });
}

/** The padded header bytes and the tensor order of a safetensors file for `tensors`. */
export function safetensorsLayout(
  tensors: ReadonlyMap<string, HostArray> | Readonly<Record<string, HostArray>>,
  metadata?: Readonly<Record<string, string>>,
): { header: Uint8Array; order: [string, HostArray][] } {
  const list: [string, HostArray][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, array] of list) {
    if (name === '__metadata__') throw checkpointError(`writeSafetensors: '__metadata__' cannot be a tensor name`);
    if (WRITE_DTYPE[array.dtype] === undefined) {
      throw checkpointError(`writeSafetensors: tensor '${name}' has unsupported dtype ${String(array.dtype)}`);
    }
    if (array.data.length !== numel(array.shape)) {
      throw checkpointError(`writeSafetensors: tensor '${name}' has shape [${array.shape.join(', ')}] but ${array.data.length} elements`);
    }
  }
  const rank = (a: HostArray): number => WRITE_RANK[WRITE_DTYPE[a.dtype]]!;
  list.sort(([an, a], [bn, b]) => rank(b) - rank(a) || (an < bn ? -1 : an > bn ? 1 : 0));
  // Built as text so integer-like names keep their place (object keys would be reordered).
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify({ ...metadata })}`);
  let offset = 0;
  for (const [name, a] of list) {
    const end = offset + a.data.byteLength;
    const entry = { dtype: WRITE_DTYPE[a.dtype], shape: [...a.shape], data_offsets: [offset, end] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    offset = end;
  }
  const text = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(Math.ceil(text.length / 8) * 8).fill(0x20);
  padded.set(text);
  return { header: padded, order: list };
}

/** A whole safetensors file in memory, laid out as `writeSafetensors` writes it (for batch writes with `writeFilesAtomic`). */
export function safetensorsBytes(tensors: ReadonlyMap<string, HostArray>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { header, order } = safetensorsLayout(tensors, metadata);
  const parts = order.map(([, a]) => littleEndianBytes(a));
  const out = new Uint8Array(8 + header.length + parts.reduce((s, p) => s + p.length, 0));
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
