import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { checkpointError, ioError } from '../../errors.js';
import { loadFairEsm, type FairEsmLoadOptions } from './fair-esm.js';
import { loadHfEsm } from './hugging-face.js';
import type { LoadedEsm } from './loaded.js';

/** Names fair-esm would download by; protdistil never downloads, so these need a local path. */
const HUB_NAME = /^(esm2_t\d+_\d+[MB]_UR50D|esm1b_t33_650M_UR50S|esm1v_t33_650M_UR90S_\d|facebook\/esm[\w-]+)$/;

/**
 * Loads an ESM model from a local path: a Hugging Face directory (or its `model.safetensors`), or
 * a fair-esm `.pt` file (with its contact-regression file when it sits beside it). Nothing is
 * downloaded.
 */
export function loadEsm(path: string, opts: FairEsmLoadOptions = {}): LoadedEsm {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const hint = HUB_NAME.test(path)
      ? ` ('${path}' is a model name; protdistil does not download models: pass the path of a fair-esm .pt file or a Hugging Face directory)`
      : '';
    throw ioError(`model ${path} not found${hint}`, e);
  }
  if (isDir) return loadHfEsm(path);
  if (basename(path) === 'model.safetensors' || basename(path) === 'config.json') return loadHfEsm(dirname(path));
  if (path.endsWith('.safetensors')) {
    throw checkpointError(`${path}: a bare .safetensors file has no model config; pass the Hugging Face directory holding it with config.json`);
  }
  return loadFairEsm(path, opts);
}
