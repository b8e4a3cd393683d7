import { checkpointError } from '../errors.js';
import { FileInput } from './pickle/pickle-input.js';
import { describe } from './pickle/pickle-value.js';
import { unpickle } from './pickle/unpickler.js';
import type { RandomAccessFile } from './random-access-file.js';
import { RAW_DTYPE_SIZE } from './raw-dtype.js';
import { plainDataHooks, type TorchArchive, type TorchObjectBuilder } from './torch-objects.js';

/**
 * The legacy `.pt` stream (`torch.save(..., _use_new_zipfile_serialization=False)`, PyTorch < 1.6
 * default; torch/serialization.py `_legacy_save`): five consecutive pickles — the magic number,
 * the protocol version 1001, a sys-info dict, the object pickle, the list of storage keys — then,
 * per key in that order, an int64 element count followed by the storage's raw bytes.
 */

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** Unpickles a legacy checkpoint and locates each storage's bytes without reading them. */
export function loadTorchLegacy(file: RandomAccessFile, builder: TorchObjectBuilder): TorchArchive {
  const path = file.path;
  const input = new FileInput(file, 0, path);
  const plain = plainDataHooks(path);
  const magic = unpickle(input, plain);
  if (magic !== MAGIC) {
    throw checkpointError(`${path}: not a PyTorch checkpoint: the first pickle is ${describe(magic)}, not the legacy magic number`);
  }
  const version = unpickle(input, plain);
  if (version !== PROTOCOL_VERSION) {
    throw checkpointError(`${path}: unsupported legacy protocol version ${describe(version)} (expected ${PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickle(input, plain);
  const littleEndian = sysInfo instanceof Map ? sysInfo.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') {
    throw checkpointError(`${path}: legacy sys_info pickle lacks a boolean 'little_endian' (got ${describe(sysInfo)})`);
  }
  const root = unpickle(input, builder);
  const keys = unpickle(input, plain);
  if (!Array.isArray(keys) || !keys.every((k): k is string => typeof k === 'string')) {
    throw checkpointError(`${path}: legacy storage key list is ${describe(keys)}, expected a list of strings`);
  }

  // Walk the storage records: [int64 count][count × element bytes] per key, in list order.
  const offsets = new Map<string, number>();
  let pos = input.position;
  for (const key of keys) {
    const ref = builder.storages.get(key);
    if (ref === undefined) {
      throw checkpointError(`${path}: storage '${key}' is listed in the file but no tensor uses it, so its size is unknown`);
    }
    const head = new DataView(file.read(pos, 8, `the element count of storage '${key}'`).buffer);
    const count = head.getBigInt64(0, littleEndian);
    if (count !== BigInt(ref.numel)) {
      throw checkpointError(`${path}: storage '${key}' records ${count} elements but the pickle says ${ref.numel}`);
    }
    offsets.set(key, pos + 8);
    pos += 8 + ref.numel * RAW_DTYPE_SIZE[ref.raw];
    if (pos > file.size) {
      throw checkpointError(`${path}: truncated file: storage '${key}' ends at byte ${pos} but the file has ${file.size} bytes`);
    }
  }
  return {
    root,
    bigEndian: !littleEndian,
    readStorage: (storage, byteOffset, byteLength) => {
      const start = offsets.get(storage.key);
      if (start === undefined) throw checkpointError(`${path}: storage '${storage.key}' is not in the file's storage list`);
      return file.read(start + byteOffset, byteLength, `storage '${storage.key}'`);
    },
  };
}
