import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { checkpointError, configError, dataError, ioError, isProtdistilError, ProtdistilError } from '../errors.js';
import { parseNpy, readNpy } from '../io/npy.js';
import { describePt, isHostArray, isPtRecord, readPt } from '../io/pt-reader.js';
import { RandomAccessFile } from '../io/random-access-file.js';
import { SafetensorsReader } from '../io/safetensors.js';
import { ZipReader } from '../io/zip-reader.js';
import type { HostArray } from '../tensor/host-array.js';
import { denseLayer, type DenseLayer } from './dense-layer.js';

/**
 * A user's trained dense layer, read from the files PyTorch and NumPy users have at hand:
 * - `.pt` / `.pth`: `torch.save(linear.state_dict())` (keys `weight` (out, in) and optional `bias`
 *   (out)), a whole module's state dict with `key` naming the layer's prefix (`head.dense` reads
 *   `head.dense.weight` / `head.dense.bias`), or a bare weight tensor; read by the restricted
 *   unpickler, so a file that would run code is refused, never executed;
 * - `.safetensors`: the same names as tensors;
 * - `.npz` (`np.savez(f, weight=W, bias=b)`): the same names as members;
 * - `.npy`: the weight alone.
 * The layer is y = x·Wᵀ + b, as nn.Linear; a missing bias is zero. Every check happens here, before
 * any numeric work: the right names, float dtype, a 2-D weight and a bias of matching length, all
 * values finite. The layer's name is the file stem (it names the experiment in every output).
 */
export interface LayerFile extends DenseLayer {
  /** File stem: the experiment name. */
  readonly name: string;
  readonly path: string;
  /** Whether the file held a bias (otherwise it is zero). */
  readonly hasBias: boolean;
  /** The state-dict prefix read (`--layer-key`), if any. */
  readonly key?: string;
}

/** Layer file formats by extension. */
export const LAYER_FORMATS = { '.pt': 'pt', '.pth': 'pt', '.safetensors': 'safetensors', '.npz': 'npz', '.npy': 'npy' } as const;
type LayerFormat = (typeof LAYER_FORMATS)[keyof typeof LAYER_FORMATS];

/** Names a layer file may carry: a file stem that is safe as a directory name and a JSON key. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Reads and checks one layer file; `flag` (e.g. `--layer`) prefixes every error. */
export function readLayerFile(path: string, options: { key?: string; flag?: string } = {}): LayerFile {
  const flag = options.flag ?? '--layer';
  const ext = extname(path).toLowerCase();
  const format = LAYER_FORMATS[ext as keyof typeof LAYER_FORMATS] as LayerFormat | undefined;
  const what = `${flag} ${path}`;
  if (format === undefined) {
    throw configError(`${what}: unknown layer file type '${ext || '(none)'}' (supported: ${Object.keys(LAYER_FORMATS).join(', ')})`);
  }
  const name = basename(path, extname(path));
  if (!NAME_PATTERN.test(name)) {
    throw configError(`${what}: the file stem '${name}' names the layer in every output; use letters, digits, '.', '_', '+', '-' (rename the file)`);
  }
  if (format === 'npy' && options.key !== undefined) throw configError(`${what}: --layer-key selects tensors by name, but a .npy file holds one unnamed weight`);
  let tensors: Map<string, HostArray>;
  try {
    tensors = readTensors(path, format);
  } catch (e) {
    if (isProtdistilError(e)) throw new ProtdistilError(e.code, `${flag}: ${e.message}`, { cause: e });
    throw e;
  }
  const { weight, bias } = pick(tensors, options.key, what);
  const [out, inn] = checkWeight(weight, what);
  if (bias !== undefined) {
    if (bias.shape.length !== 1 || bias.shape[0] !== out) {
      throw dataError(`${what}: bias has shape [${bias.shape.join(', ')}] but the weight [${out}, ${inn}] needs a bias of shape [${out}]`);
    }
    checkFloat(bias, 'bias', what);
  }
  if (Math.min(inn, out) < 2) {
    throw dataError(`${what}: a ${out} x ${inn} layer has no low-rank factorisation (rank must be below min(in, out) = ${Math.min(inn, out)})`);
  }
  const layer = denseLayer(inn, out, weight.data as Float32Array, bias === undefined ? new Float32Array(out) : (bias.data as Float32Array));
  return { ...layer, name, path, hasBias: bias !== undefined, ...(options.key === undefined ? {} : { key: options.key }) };
}

/** Every layer file (by supported extension) in a directory, sorted by name. */
export function layerFilesIn(dir: string, flag = '--layers-dir'): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw configError(`${flag} ${dir}: not a directory`);
    names = readdirSync(dir);
  } catch (e) {
    if (isProtdistilError(e)) throw e;
    throw ioError(`${flag} ${dir}: cannot read: ${(e as Error).message}`, e);
  }
  const files = names.filter((n) => extname(n).toLowerCase() in LAYER_FORMATS).sort().map((n) => join(dir, n));
  if (files.length === 0) throw configError(`${flag} ${dir}: holds no layer files (${Object.keys(LAYER_FORMATS).join(', ')})`);
  return files;
}

/** The named tensors of a file (a .npy weight is called `weight`). */
function readTensors(path: string, format: LayerFormat): Map<string, HostArray> {
  if (format === 'npy') return new Map([['weight', readNpy(path)]]);
  if (format === 'safetensors') {
    const reader = SafetensorsReader.open(path);
    try {
      return new Map(reader.names.map((n) => [n, reader.read(n)]));
    } finally {
      reader.close();
    }
  }
  if (format === 'npz') return readNpz(path);
  const value = readPt(path);
  if (isHostArray(value)) return new Map([['weight', value]]);
  if (!(value instanceof Map) || isPtRecord(value)) throw checkpointError(`${path}: expected a state dict (torch.save(layer.state_dict())) or a weight tensor, found ${describePt(value)}`);
  const out = new Map<string, HostArray>();
  for (const [k, v] of value) {
    if (typeof k !== 'string') throw checkpointError(`${path}: expected a state dict with string keys, found key ${String(k)}`);
    // Non-tensor entries (e.g. a module's extra state) are skipped; only named tensors can be layer weights.
    if (isHostArray(v)) out.set(k, v);
  }
  return out;
}

/** NumPy's .npz: a zip of `<name>.npy` members (stored or deflated). */
function readNpz(path: string): Map<string, HostArray> {
  return RandomAccessFile.with(path, checkpointError, (file) => {
    if (file.size === 0) throw checkpointError(`${path}: empty file, not a NumPy .npz archive`);
    const zip = ZipReader.open(file);
    const out = new Map<string, HostArray>();
    for (const [name, entry] of zip.entries) {
      if (!name.endsWith('.npy')) throw checkpointError(`${path}: member '${name}' is not a .npy array`);
      out.set(name.slice(0, -4), parseNpy(zip.read(entry), `${path}:${name}`));
    }
    return out;
  });
}

/** Selects `weight` and `bias` (under `key.` when given); strict about anything else. */
function pick(tensors: Map<string, HostArray>, key: string | undefined, what: string): { weight: HostArray; bias?: HostArray } {
  const prefix = key === undefined ? '' : `${key}.`;
  const weight = tensors.get(`${prefix}weight`);
  const bias = tensors.get(`${prefix}bias`);
  const candidates = [...tensors].filter(([k, v]) => k.endsWith('.weight') && v.shape.length === 2).map(([k]) => `'${k.slice(0, -'.weight'.length)}'`);
  const hint = candidates.length > 0 ? `; layers in the file: ${candidates.slice(0, 8).join(', ')}${candidates.length > 8 ? ', …' : ''} (choose one with --layer-key)` : '';
  if (weight === undefined) {
    const names = [...tensors.keys()].slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw dataError(`${what}: no tensor '${prefix}weight' (the file holds ${tensors.size}: ${names || 'none'}${tensors.size > 8 ? ', …' : ''})${hint}`);
  }
  if (key === undefined) {
    const extra = [...tensors.keys()].filter((k) => k !== 'weight' && k !== 'bias');
    if (extra.length > 0) {
      throw dataError(`${what}: besides 'weight' and 'bias' the file holds ${extra.length} unexpected tensor(s) (${extra.slice(0, 5).map((k) => `'${k}'`).join(', ')}${extra.length > 5 ? ', …' : ''}); a single nn.Linear state dict was expected${hint}`);
    }
  }
  return bias === undefined ? { weight } : { weight, bias };
}

/** A 2-D finite float weight; returns [out, in]. */
function checkWeight(w: HostArray, what: string): [number, number] {
  if (w.shape.length !== 2) throw dataError(`${what}: weight must be 2-D (out_features, in_features), got shape [${w.shape.join(', ')}] (${w.shape.length}-D)`);
  const [out, inn] = w.shape as [number, number];
  if (out === 0 || inn === 0) throw dataError(`${what}: empty weight (shape [${out}, ${inn}])`);
  checkFloat(w, 'weight', what);
  return [out, inn];
}

/** Float dtype and finite values, with the count and first position of any that are not. */
function checkFloat(a: HostArray, role: string, what: string): void {
  if (a.dtype !== 'float32') throw dataError(`${what}: ${role} must be floating point, got ${a.dtype}`);
  const data = a.data as Float32Array;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    const cols = a.shape.length === 2 ? (a.shape[1] as number) : 0;
    const at = cols > 0 ? `row ${Math.floor(first / cols)}, column ${first % cols}` : `index ${first}`;
    throw dataError(`${what}: ${role} has ${bad} non-finite value(s); the first is ${data[first]} at ${at}`);
  }
}
