import { checkpointError } from '../errors.js';
import { allocData, type DataOf, type DType, type HostArray, numel } from '../tensor/host-array.js';
import { describe, type GlobalBehaviour, PickleGlobal, type PickleValue } from './pickle/pickle-value.js';
import type { UnpickleHooks } from './pickle/unpickler.js';
import { decodeRaw, hostDTypeOf, RAW_DTYPE_SIZE, type RawDType } from './raw-dtype.js';
import { gatherView, isContiguous, viewSpan } from './strided.js';

/**
 * The PyTorch side of `.pt` loading (torch/serialization.py, torch/_utils.py): the allow-list of
 * globals a checkpoint may name, storages arriving as persistent ids, and tensors rebuilt from
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)`. Tensors are created empty while
 * unpickling and filled afterwards, one storage at a time, so each storage is read once and only
 * the tensors themselves stay in memory.
 */

/** A storage named by a persistent id: `key` selects `data/<key>` (zip) or the legacy record. */
export interface StorageRef {
  readonly key: string;
  readonly raw: RawDType;
  readonly numel: number;
}

/** A storage as a tensor sees it: legacy files may hand out views starting inside a storage. */
export class StorageView {
  constructor(
    readonly storage: StorageRef,
    readonly elementOffset: number,
  ) {}
}

/** Objects the allow-listed globals create: tensors, and storages until tensors consume them. */
export type TorchObject = HostArray | StorageView;

/** A loaded container: the unpickled root and a way to read storage bytes by range. */
export interface TorchArchive {
  readonly root: PickleValue<TorchObject>;
  /** True when the storages were written big-endian. */
  readonly bigEndian: boolean;
  readStorage(storage: StorageRef, byteOffset: number, byteLength: number): Uint8Array;
}

/** Storage classes by qualified name (`torch.FloatStorage`, …) and their element types. */
export const STORAGE_TYPES: Readonly<Record<string, RawDType>> = {
  'torch.FloatStorage': 'f32',
  'torch.DoubleStorage': 'f64',
  'torch.HalfStorage': 'f16',
  'torch.BFloat16Storage': 'bf16',
  'torch.LongStorage': 'i64',
  'torch.IntStorage': 'i32',
  'torch.ShortStorage': 'i16',
  'torch.CharStorage': 'i8',
  'torch.ByteStorage': 'u8',
  'torch.BoolStorage': 'bool',
  'torch.UntypedStorage': 'u8',
  'torch.storage.UntypedStorage': 'u8',
};

/** The error for a global outside the allow-list; nothing is looked up or run. */
export function rejectGlobal(path: string, module: string, name: string): never {
  const why =
    module === 'torch' || module.startsWith('torch.')
      ? 'this PyTorch object is not supported (only dense tensors, storages and parameters are)'
      : 'only tensors, storages, OrderedDict, argparse.Namespace and plain data are allowed';
  throw checkpointError(`${path}: refusing to load global '${module}.${name}' from the pickle: ${why} (nothing in the file is executed)`);
}

/** Hooks that accept no global at all (for the small bookkeeping pickles of legacy files). */
export function plainDataHooks(path: string): UnpickleHooks<never> {
  return { findGlobal: (module, name) => rejectGlobal(path, module, name) };
}

interface PendingTensor {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly target: { dtype: DType; shape: readonly number[]; data: DataOf[DType] };
}

type V = PickleValue<TorchObject>;

/** Resolves globals and storages for one `.pt` file and fills its tensors once the pickle is read. */
export class TorchObjectBuilder implements UnpickleHooks<TorchObject> {
  /** Storages seen so far, by key. */
  readonly storages = new Map<string, StorageRef>();
  private readonly pending: PendingTensor[] = [];
  private readonly tensors = new WeakSet<object>();
  private readonly globals: ReadonlyMap<string, GlobalBehaviour<TorchObject>>;

  constructor(readonly path: string) {
    this.globals = this.allowList();
  }

  findGlobal(module: string, name: string): PickleGlobal<TorchObject> {
    const qualified = `${module}.${name}`;
    const behaviour = this.globals.get(qualified);
    if (behaviour === undefined) rejectGlobal(this.path, module, name);
    return new PickleGlobal(module, name, behaviour);
  }

  /** `('storage', storage_type, key, location, numel[, view_metadata])` → a storage view. */
  persistentLoad(pid: V): V {
    if (!Array.isArray(pid) || pid[0] !== 'storage') {
      const what = Array.isArray(pid) && pid[0] === 'module' ? 'a pickled nn.Module class (source code)' : describe(pid);
      throw checkpointError(`${this.path}: unsupported persistent id ${what}; only tensor storages are supported`);
    }
    const [, type, key, , count, view] = pid;
    const raw = type instanceof PickleGlobal ? STORAGE_TYPES[type.qualifiedName] : undefined;
    if (raw === undefined || typeof key !== 'string' || typeof count !== 'number') {
      throw checkpointError(`${this.path}: malformed storage id (type ${describe(type)}, key ${describe(key)}, numel ${describe(count)})`);
    }
    const storage = this.storage(key, raw, count);
    if (view === undefined || view === null) return new StorageView(storage, 0);
    const [, offset, size] = Array.isArray(view) ? view : [];
    if (typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || offset + size > count) {
      throw checkpointError(`${this.path}: storage '${key}' has malformed view metadata ${describe(view)}`);
    }
    return new StorageView(storage, offset);
  }

  /** Reads every storage once and fills the tensors created while unpickling. */
  materialise(archive: TorchArchive): void {
    const groups = new Map<string, PendingTensor[]>();
    for (const t of this.pending) {
      if (numel(t.shape) === 0) continue;
      const g = groups.get(t.storage.key);
      if (g) g.push(t);
      else groups.set(t.storage.key, [t]);
    }
    for (const group of groups.values()) {
      const { raw } = group[0]!.storage;
      const width = RAW_DTYPE_SIZE[raw];
      let lo = Infinity;
      let hi = 0;
      for (const t of group) {
        const [a, b] = viewSpan(t.offset, t.shape, t.strides);
        lo = Math.min(lo, a);
        hi = Math.max(hi, b);
      }
      const bytes = archive.readStorage(group[0]!.storage, lo * width, (hi - lo) * width);
      const all = decodeRaw(raw, bytes, !archive.bigEndian);
      // The first tensor covering the whole span takes the decoded buffer; the others get copies.
      let handedOver = false;
      for (const t of group) {
        const contiguous = isContiguous(t.shape, t.strides);
        if (!handedOver && contiguous && t.offset === lo && hi - lo === numel(t.shape)) {
          t.target.data = all;
          handedOver = true;
        } else if (contiguous) {
          t.target.data = all.slice(t.offset - lo, t.offset - lo + numel(t.shape));
        } else {
          t.target.data = gatherView(all, t.offset - lo, t.shape, t.strides);
        }
      }
    }
  }

  private storage(key: string, raw: RawDType, count: number): StorageRef {
    const seen = this.storages.get(key);
    if (seen === undefined) {
      const ref = { key, raw, numel: count };
      this.storages.set(key, ref);
      return ref;
    }
    if (seen.raw !== raw || seen.numel !== count) {
      throw checkpointError(
        `${this.path}: storage '${key}' is used as ${seen.raw}[${seen.numel}] and as ${raw}[${count}]; ` +
          'storages viewed with two dtypes are not supported',
      );
    }
    return seen;
  }

  /** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`. */
  private rebuildTensor(args: V[]): V {
    const [view, offset, size, stride] = args;
    const ints = (x: V | undefined): x is number[] =>
      Array.isArray(x) && x.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
    if (!(view instanceof StorageView)) {
      throw checkpointError(`${this.path}: _rebuild_tensor_v2 expects a storage, got ${describe(view)}`);
    }
    if (typeof offset !== 'number' || !ints(size) || !ints(stride) || size.length !== stride.length) {
      throw checkpointError(
        `${this.path}: _rebuild_tensor_v2 on storage '${view.storage.key}' has malformed offset/size/stride ` +
          `(${describe(offset)}, ${describe(size)}, ${describe(stride)})`,
      );
    }
    const start = view.elementOffset + offset;
    const [, end] = viewSpan(start, size, stride);
    if (numel(size) > 0 && end > view.storage.numel) {
      throw checkpointError(
        `${this.path}: tensor of shape [${size.join(', ')}] with stride [${stride.join(', ')}] at offset ${offset} ` +
          `reads past the end of storage '${view.storage.key}' (${view.storage.numel} elements)`,
      );
    }
    const dtype = hostDTypeOf(view.storage.raw);
    const target = { dtype, shape: [...size], data: allocData(dtype, 0) as DataOf[DType] };
    this.pending.push({ storage: view.storage, offset: start, shape: target.shape, strides: [...stride], target });
    this.tensors.add(target);
    return target;
  }

  private allowList(): Map<string, GlobalBehaviour<TorchObject>> {
    const tensorArg = (what: string, args: V[]): V => {
      const t = args[0];
      if (typeof t !== 'object' || t === null || !this.tensors.has(t)) {
        throw checkpointError(`${this.path}: ${what} expects a tensor, got ${describe(t)}`);
      }
      return t;
    };
    const toSet: GlobalBehaviour<TorchObject> = { call: (args) => new Set(Array.isArray(args[0]) ? args[0] : []) };
    const list: [string, GlobalBehaviour<TorchObject>][] = [
      ['torch._utils._rebuild_tensor_v2', { call: (args) => this.rebuildTensor(args) }],
      ['torch._utils._rebuild_tensor', { call: (args) => this.rebuildTensor(args) }],
      ['torch._utils._rebuild_parameter', { call: (args) => tensorArg('_rebuild_parameter', args) }],
      ['torch._utils._rebuild_parameter_with_state', { call: (args) => tensorArg('_rebuild_parameter_with_state', args) }],
      [
        'collections.OrderedDict',
        {
          call: (args) => new Map(Array.isArray(args[0]) ? args[0].map((kv) => (Array.isArray(kv) ? [kv[0]!, kv[1]!] : [kv, null])) : []),
          build: () => {
            // State dicts carry instance attributes such as `_metadata` (module versions); not needed.
          },
        },
      ],
      [
        'argparse.Namespace',
        {
          construct: () => ({}),
          call: () => ({}),
          build: (target, state) => this.setAttributes(target, state),
        },
      ],
      ['torch.Size', { call: (args) => (Array.isArray(args[0]) ? args[0] : []) }],
      ['torch.device', { call: (args) => args.filter((a) => a !== null).join(':') }],
      ['_codecs.encode', { call: (args) => this.encodeLatin1(args) }],
      ['builtins.set', toSet],
      ['builtins.frozenset', toSet],
      ['__builtin__.set', toSet],
      ['__builtin__.frozenset', toSet],
      ['builtins.bytes', { call: () => new Uint8Array(0) }],
      ['__builtin__.bytes', { call: () => new Uint8Array(0) }],
    ];
    const map = new Map(list);
    for (const name of Object.keys(STORAGE_TYPES)) map.set(name, {});
    return map;
  }

  /** BUILD on a Namespace: its state is the attribute dict. */
  private setAttributes(target: V, state: V): void {
    if (!(state instanceof Map) || typeof target !== 'object' || target === null || Array.isArray(target)) {
      throw checkpointError(`${this.path}: argparse.Namespace state must be a dict, got ${describe(state)}`);
    }
    const record = target as Record<string, V>;
    for (const [k, v] of state) {
      if (typeof k !== 'string') throw checkpointError(`${this.path}: argparse.Namespace attribute name ${describe(k)} is not a string`);
      Object.defineProperty(record, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }

  /** Protocol-2 pickles store `bytes` as `_codecs.encode(text, 'latin1')`. */
  private encodeLatin1(args: V[]): Uint8Array {
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
      throw checkpointError(`${this.path}: _codecs.encode is only allowed as (str, 'latin1'), got encoding ${describe(encoding)}`);
    }
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  }
}
