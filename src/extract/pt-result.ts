import { checkpointError } from '../errors.js';
import { PickleWriter } from '../io/pickle/pickle-writer.js';
import { littleEndianBytes } from '../io/raw-dtype.js';
import { contiguousStrides } from '../io/strided.js';
import { writeStreamedAtomic } from '../io/streamed-write.js';
import { writeZip, type ZipInput } from '../io/zip-writer.js';
import { numel, type DType, type HostArray } from '../tensor/host-array.js';

/**
 * The per-sequence `.pt` file of fair-esm's `scripts/extract.py`: `torch.save` of a dict
 * `{"label": str, "representations": {layer: tensor}, "mean_representations": {…},
 * "bos_representations": {…}, "contacts": tensor}` with integer layer keys. Written in the zip
 * container (as `pt-writer.ts` does for flat state dicts); dicts are `collections.OrderedDict`,
 * which `torch.load` returns and which index like plain dicts.
 */

/** A value of a result dict: text, a tensor, or tensors by layer. */
export type ResultValue = string | HostArray | ReadonlyMap<number, HostArray>;

const STORAGE_CLASS: Readonly<Record<DType, string>> = { float32: 'FloatStorage', int64: 'LongStorage', int32: 'IntStorage', bool: 'BoolStorage' };

/** Writes `entries` (in order) as a `.pt` dict that `torch.load` and `readPt` read. */
export function writeResultPt(path: string, entries: readonly (readonly [string, ResultValue])[]): void {
  const w = new PickleWriter().proto();
  const tensors: HostArray[] = [];
  writeDict(w, entries, tensors);
  const pickle = w.finish();
  const zip: ZipInput[] = [
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
    ...tensors.map((t, key) => ({ name: `archive/data/${key}`, data: littleEndianBytes(t) })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ];
  writeStreamedAtomic(path, (sink) => writeZip(sink, zip));
}

function writeDict(w: PickleWriter, entries: readonly (readonly [string | number, ResultValue])[], tensors: HostArray[]): void {
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  if (entries.length === 0) return;
  w.mark();
  for (const [k, v] of entries) {
    if (typeof k === 'number') w.int(k);
    else w.string(k);
    if (typeof v === 'string') w.string(v);
    else if (v instanceof Map) writeDict(w, [...v], tensors);
    else writeTensor(w, v as HostArray, tensors);
  }
  w.setItems();
}

function writeTensor(w: PickleWriter, t: HostArray, tensors: HostArray[]): void {
  const n = numel(t.shape);
  if (t.data.length !== n) throw checkpointError(`writeResultPt: tensor of shape [${t.shape.join(', ')}] has ${t.data.length} values`);
  const key = String(tensors.length);
  tensors.push(t);
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  // Persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel), then offset, size, stride, requires_grad, hooks.
  w.mark().string('storage').global('torch', STORAGE_CLASS[t.dtype]).string(key).string('cpu').int(n).tuple().persistentId();
  w.int(0).intTuple(t.shape).intTuple(contiguousStrides(t.shape)).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.tuple().reduce();
}
