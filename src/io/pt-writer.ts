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

/** What `writePt` stores: one tensor, or named tensors (saved as an OrderedDict in this order). */
export type PtWritable = HostArray | ReadonlyMap<string, HostArray> | Readonly<Record<string, HostArray>>;

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
  if (isHostArray(value)) {
    writeTensor(w, value, tensors, 'the tensor');
  } else {
    const items: [string, HostArray][] = value instanceof Map ? [...value] : Object.entries(value);
    w.global('collections', 'OrderedDict').emptyTuple().reduce();
    if (items.length > 0) {
      w.mark();
      for (const [name, t] of items) {
        if (!isHostArray(t)) throw checkpointError(`writePt: value of '${name}' is not a tensor`);
        w.string(name);
        writeTensor(w, t, tensors, `tensor '${name}'`);
      }
      w.setItems();
    }
  }
  return { pickle: w.finish(), tensors };
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
