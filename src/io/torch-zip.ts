import { checkpointError } from '../errors.js';
import { BytesInput } from './pickle/pickle-input.js';
import { unpickle } from './pickle/unpickler.js';
import type { RandomAccessFile } from './random-access-file.js';
import { RAW_DTYPE_SIZE } from './raw-dtype.js';
import type { StorageRef, TorchArchive, TorchObjectBuilder } from './torch-objects.js';
import { type ZipEntry, ZipReader } from './zip-reader.js';

/**
 * The zip container `torch.save` writes since PyTorch 1.6 (torch/serialization.py,
 * caffe2/serialize/inline_container.cc): `<root>/data.pkl` holds the object pickle,
 * `<root>/data/<key>` the raw bytes of each storage, `<root>/version` the format version and,
 * in newer releases, `<root>/byteorder` ("little" or "big"). `<root>` is any single folder name.
 */

/** Finds the archive's root folder: the one directory holding `data.pkl`. */
function archiveRoot(zip: ZipReader): string {
  const roots = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'data.pkl'.length));
  if (roots.length === 0) {
    const shown = [...zip.entries.keys()].slice(0, 5).join(', ');
    throw checkpointError(`${zip.path}: zip archive has no <root>/data.pkl, so it is not a torch.save checkpoint (entries: ${shown})`);
  }
  if (roots.length > 1) throw checkpointError(`${zip.path}: zip archive has several data.pkl roots: ${roots.join(', ')}`);
  const root = roots[0]!;
  if (zip.entry(`${root}constants.pkl`) !== undefined) {
    throw checkpointError(`${zip.path}: this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint`);
  }
  return root;
}

/** Unpickles `data.pkl` of a zip checkpoint; storages are read later, by range, from their entries. */
export function loadTorchZip(file: RandomAccessFile, builder: TorchObjectBuilder): TorchArchive {
  const zip = ZipReader.open(file);
  const root = archiveRoot(zip);
  const pickleEntry = zip.entry(`${root}data.pkl`)!;
  const rootValue = unpickle(new BytesInput(zip.read(pickleEntry), `${file.path}:${pickleEntry.name}`), builder);
  const orderEntry = zip.entry(`${root}byteorder`);
  const order = orderEntry === undefined ? 'little' : new TextDecoder().decode(zip.read(orderEntry)).trim();
  if (order !== 'little' && order !== 'big') {
    throw checkpointError(`${file.path}: ${root}byteorder says '${order}', expected 'little' or 'big'`);
  }
  const entries = new Map<string, ZipEntry>();
  const storageEntry = (storage: StorageRef): ZipEntry => {
    const known = entries.get(storage.key);
    if (known) return known;
    const name = `${root}data/${storage.key}`;
    const entry = zip.entry(name);
    if (entry === undefined) throw checkpointError(`${file.path}: storage '${storage.key}' has no entry ${name} in the archive`);
    const need = storage.numel * RAW_DTYPE_SIZE[storage.raw];
    if (entry.size < need) {
      throw checkpointError(
        `${file.path}: entry ${name} has ${entry.size} bytes but storage '${storage.key}' of ${storage.numel} ${storage.raw} needs ${need}`,
      );
    }
    entries.set(storage.key, entry);
    return entry;
  };
  return {
    root: rootValue,
    bigEndian: order === 'big',
    readStorage: (storage, byteOffset, byteLength) => zip.readRange(storageEntry(storage), byteOffset, byteLength),
  };
}
