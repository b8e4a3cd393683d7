import { checkpointError } from '../errors.js';
import type { HostArray } from '../tensor/host-array.js';
import { describe, PickleGlobal, type PickleRecord, type PickleValue } from './pickle/pickle-value.js';
import { RandomAccessFile } from './random-access-file.js';
import { loadTorchLegacy } from './torch-legacy.js';
import { StorageView, TorchObjectBuilder } from './torch-objects.js';
import { loadTorchZip } from './torch-zip.js';

/**
 * Reading PyTorch `.pt` files (`torch.save` output, zip or legacy container) without running any
 * of their code. The result is the unpickled object graph with:
 * - tensors as `HostArray`s in C order (strided views materialised; float16/bfloat16/float64 to
 *   float32, int64 kept, narrower ints to int32), each with its own data even when tensors shared
 *   a storage (one tensor object pickled twice, memoised by pickle, stays one `HostArray`);
 * - `dict` and `collections.OrderedDict` as `Map` (insertion order and non-string keys kept);
 * - `argparse.Namespace` as a plain record of its attributes;
 * - tuples and lists as arrays, sets as `Set`, bytes as `Uint8Array`, ints beyond 2^53 as `bigint`.
 */

/** A value read from a `.pt` file. */
export type PtValue = PickleValue<HostArray>;

/** Reads a `.pt` file; see the module comment for how Python objects are represented. */
export function readPt(path: string): PtValue {
  return RandomAccessFile.with(path, checkpointError, (file) => {
    const builder = new TorchObjectBuilder(path);
    const archive = containerOf(file) === 'zip' ? loadTorchZip(file, builder) : loadTorchLegacy(file, builder);
    builder.materialise(archive);
    return withoutBareStorages(path, archive.root);
  });
}

/** Reads a `.pt` file that holds exactly one tensor (optionally of a given rank). */
export function readPtTensor(path: string, options: { rank?: number } = {}): HostArray {
  const value = readPt(path);
  if (!isHostArray(value)) throw checkpointError(`${path}: expected a single tensor, found ${describePt(value)}`);
  if (options.rank !== undefined && value.shape.length !== options.rank) {
    throw checkpointError(
      `${path}: expected a ${options.rank}-D tensor, found shape [${value.shape.join(', ')}] (${value.shape.length}-D)`,
    );
  }
  return value;
}

/** True for tensors in a `readPt` result. */
export function isHostArray(v: PtValue | undefined): v is HostArray {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && 'dtype' in v && 'data' in v && ArrayBuffer.isView(v.data)
  );
}

/** True for records (argparse.Namespace) in a `readPt` result. */
export function isPtRecord(v: PtValue | undefined): v is PickleRecord<HostArray> {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.getPrototypeOf(v) === Object.prototype &&
    !isHostArray(v)
  );
}

/** Short description of a `readPt` value for error messages. */
export function describePt(v: PtValue | undefined): string {
  if (isHostArray(v)) return `a ${v.dtype} tensor of shape [${v.shape.join(', ')}]`;
  if (v instanceof Map) {
    const keys = [...v.keys()].slice(0, 5).map((k) => (typeof k === 'string' ? `'${k}'` : describe(k)));
    return `a dict of ${v.size} entries (${keys.join(', ')}${v.size > 5 ? ', …' : ''})`;
  }
  if (isPtRecord(v)) return `a namespace with attributes ${Object.keys(v).slice(0, 5).join(', ')}`;
  return v === undefined ? 'nothing' : describe(v);
}

/** Decides the container from the first bytes: zip archive or legacy pickle stream. */
function containerOf(file: RandomAccessFile): 'zip' | 'legacy' {
  if (file.size === 0) throw checkpointError(`${file.path}: empty file, not a PyTorch checkpoint`);
  const head = file.read(0, Math.min(4, file.size), 'the file header');
  if (head[0] === 0x50 && head[1] === 0x4b) return 'zip'; // "PK"
  // Legacy files start with a protocol-2 pickle; protocol 0/1 pickles open with MARK or GLOBAL.
  if (head[0] === 0x80 || head[0] === 0x28 || head[0] === 0x63) return 'legacy';
  if (file.size >= 262 && new TextDecoder().decode(file.read(257, 5)) === 'ustar') {
    throw checkpointError(`${file.path}: tar-based checkpoints (PyTorch < 0.4) are not supported`);
  }
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw checkpointError(`${file.path}: not a PyTorch checkpoint (neither a zip archive nor a pickle): starts with bytes ${hex}`);
}

/** Checks that no storage object is left in the graph (a file saving storages rather than tensors). */
function withoutBareStorages(path: string, root: PickleValue<HostArray | StorageView>): PtValue {
  const seen = new Set<object>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof StorageView) {
      throw checkpointError(`${path}: holds a bare storage ('${v.storage.key}') outside a tensor, which is not supported`);
    }
    if (ArrayBuffer.isView(v) || v instanceof PickleGlobal) continue;
    if (Array.isArray(v) || v instanceof Set) for (const x of v) todo.push(x);
    else if (v instanceof Map) for (const [k, x] of v) todo.push(k, x);
    else if (!isHostArray(v as PtValue)) for (const x of Object.values(v)) todo.push(x);
  }
  return root as PtValue;
}
