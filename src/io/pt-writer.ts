import { checkpointError } from '../errors.js';
import { type DType, type HostArray, numel } from '../tensor/host-array.js';
import { PickleWriter } from './pickle/pickle-writer.js';
import { littleEndianBytes } from './raw-dtype.js';
import { contiguousStrides } from './strided.js';
import { writeStreamedAtomic } from './streamed-write.js';
import { writeZip, type ZipInput } from './zip-writer.js';

/**
 * Writing `.pt` files as `torch.save(obj, path)` does with the zip container
 * (torch/serialization.py `_save`): `archive/data.pkl` is a protocol-2 pickle that rebuilds each
 * tensor with `torch._utils._rebuild_tensor_v2` from a persistent id
 * `('storage', torch.FloatStorage, key, 'cpu', numel)`; `archive/data/<key>` holds the raw
 * little-endian bytes, 64-byte aligned and STORED; `archive/version` is "3". A dict becomes an
 * `OrderedDict`, so `torch.load` returns a state dict usable with `load_state_dict`.
 */

/**
 * What `writePt` stores: a tensor, text, or a dict of such values (nested dicts allowed; keys are
 * strings or integers, e.g. fair-esm's layer indices), saved as an OrderedDict in the given order.
 */
export type PtValue = HostArray | string | number | boolean | null | PtNamespace | ReadonlyMap<string | number, PtValue>;

/** An `argparse.Namespace` (fair-esm stores its model arguments as one): plain attributes. */
export interface PtNamespace {
  readonly namespace: Readonly<Record<string, string | number | boolean | null>>;
}
/** A value for `writePt`: a `PtValue` or a plain record of tensors (a state dict). */
export type PtWritable = PtValue | Readonly<Record<string, HostArray>>;

/** Options of `writePt`. */
export interface PtWriteOptions {
  /** Name of the archive's root folder (torch uses the file stem; any name loads). */
  readonly archiveName?: string;
  /** Write zip64 records even for a small file. */
  readonly forceZip64?: boolean;
}

const STORAGE_CLASS: Readonly<Record<DType, string>> = {
  float32: 'FloatStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  bool: 'BoolStorage',
};

/** Writes `value` to `path` as a zip `.pt` checkpoint that `torch.load` reads (atomically). */
export function writePt(path: string, value: PtWritable, options: PtWriteOptions = {}): void {
  const root = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(root)) throw checkpointError(`writePt: archive name '${root}' must be a plain folder name`);
  const { pickle, tensors } = encodePtPickle(value);
  const entries: ZipInput[] = [
    { name: `${root}/data.pkl`, data: pickle },
    { name: `${root}/byteorder`, data: new TextEncoder().encode('little') },
    ...tensors.map((t, key) => ({ name: `${root}/data/${key}`, data: littleEndianBytes(t) })),
    { name: `${root}/version`, data: new TextEncoder().encode('3\n') },
  ];
  const zipOptions = options.forceZip64 === undefined ? {} : { forceZip64: options.forceZip64 };
  writeStreamedAtomic(path, (sink) => writeZip(sink, entries, zipOptions));
}

/** The `data.pkl` pickle for `value`, and the tensors in storage-key order (key = index). */
export function encodePtPickle(value: PtWritable): { pickle: Uint8Array; tensors: HostArray[] } {
  const w = new PickleWriter().proto();
  const tensors: HostArray[] = [];
  if (isHostArray(value)) writeTensor(w, value, tensors, 'the tensor');
  else if (typeof value !== 'object' || value === null || value instanceof Map || isNamespace(value)) writeValue(w, value, tensors, 'the value', 'the value');
  else writeDict(w, Object.entries(value), tensors);
  return { pickle: w.finish(), tensors };
}

/** `asTensor` / `asValue`: how errors name `v` if it is a tensor / anything else. */
function writeValue(w: PickleWriter, v: unknown, tensors: HostArray[], asTensor: string, asValue: string): void {
  if (typeof v === 'string') w.string(v);
  else if (typeof v === 'boolean') w.bool(v);
  else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) w.int(v);
    else if (Number.isFinite(v)) w.float(v);
    else throw checkpointError(`writePt: ${asValue} is ${v}, which has no place in a checkpoint`);
  } else if (v === null) w.none();
  else if (isNamespace(v)) writeNamespace(w, v);
  else if (isHostArray(v)) writeTensor(w, v, tensors, asTensor);
  else if (v instanceof Map) writeDict(w, [...(v as ReadonlyMap<string | number, unknown>)], tensors);
  else throw checkpointError(`writePt: ${asValue} is not a tensor, number, boolean, string, namespace or dict`);
}

function writeDict(w: PickleWriter, items: readonly (readonly [string | number, unknown])[], tensors: HostArray[]): void {
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  if (items.length === 0) return;
  w.mark();
  for (const [key, v] of items) {
    if (typeof key === 'number') {
      if (!Number.isSafeInteger(key)) throw checkpointError(`writePt: dict key ${key} is not an integer`);
      w.int(key);
    } else w.string(key);
    const name = typeof key === 'number' ? `${key}` : `'${key}'`;
    writeValue(w, v, tensors, `tensor ${name}`, `value of ${name}`);
  }
  w.setItems();
}

/** `argparse.Namespace()` followed by BUILD with its attribute dict, as pickle writes it. */
function writeNamespace(w: PickleWriter, ns: PtNamespace): void {
  w.global('argparse', 'Namespace').emptyTuple().reduce();
  w.emptyDict();
  const items = Object.entries(ns.namespace);
  if (items.length > 0) {
    w.mark();
    for (const [k, v] of items) {
      w.string(k);
      writeValue(w, v, [], `attribute '${k}'`, `attribute '${k}'`);
    }
    w.setItems();
  }
  w.build();
}

function isNamespace(v: unknown): v is PtNamespace {
  return typeof v === 'object' && v !== null && 'namespace' in v && typeof v.namespace === 'object' && v.namespace !== null;
}

function writeTensor(w: PickleWriter, t: HostArray, tensors: HostArray[], what: string): void {
  const storageClass = STORAGE_CLASS[t.dtype];
  if (storageClass === undefined) throw checkpointError(`writePt: ${what} has unsupported dtype ${String(t.dtype)}`);
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw checkpointError(`writePt: ${what} has shape [${t.shape.join(', ')}] (${n} elements) but ${t.data.length} values`);
  }
  const key = String(tensors.length);
  tensors.push(t);
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  // Persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel) resolves to the storage.
  w.mark().string('storage').global('torch', storageClass).string(key).string('cpu').int(n).tuple().persistentId();
  w.int(0).intTuple(t.shape).intTuple(contiguousStrides(t.shape)).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce(); // backward hooks
  w.tuple().reduce();
}

function isHostArray(v: unknown): v is HostArray {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'data' in v && ArrayBuffer.isView(v.data);
}
