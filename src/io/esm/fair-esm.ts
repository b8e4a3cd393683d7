import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkpointError } from '../../errors.js';
import { parseEsmConfig, type EsmConfig } from '../../models/esm/config.js';
import { createEsmModel, NoInit } from '../../models/esm/model.js';
import type { HostArray } from '../../tensor/host-array.js';
import { describePt, isHostArray, isPtRecord, readPt, type PtValue } from '../pt-reader.js';
import { assignEsmWeights, zeroMaskEmbedding, type OfferedTensor } from './assign.js';
import type { LoadedEsm } from './loaded.js';
import { upgradeEsm1bArg, upgradeEsm1bKey, upgradeEsm2Key } from './names.js';

/**
 * fair-esm `.pt` checkpoints (spec §8.1–8.3; fair-esm `esm/pretrained.py`): zip or legacy
 * containers read by the restricted unpickler, ESM-2 (`cfg["model"]` namespace, keys under
 * `encoder.sentence_encoder.` / `encoder.`) or ESM-1b (`args` namespace with `arch =
 * roberta_large`), plus the sibling `<stem>-contact-regression.pt`. The architecture comes from the
 * file's contents; fair-esm decides by the file stem (`esm2…`), which agrees for released files.
 */

/** Options of {@link loadFairEsm}. */
export interface FairEsmLoadOptions {
  /**
   * The contact-regression file: a path, `null` for none, or (default) `<stem>-contact-regression.pt`
   * beside the checkpoint when it exists.
   */
  readonly regression?: string | null;
}

type Attrs = Readonly<Record<string, PtValue>>;

/** Reads a fair-esm checkpoint into an ESM-2 or ESM-1b model. */
export function loadFairEsm(path: string, opts: FairEsmLoadOptions = {}): LoadedEsm {
  const top = readPt(path);
  if (!(top instanceof Map)) throw checkpointError(`${path}: expected a fair-esm checkpoint (a dict with 'model' and 'cfg' or 'args'), found ${describePt(top)}`);
  const sd = top.get('model');
  if (!(sd instanceof Map)) {
    throw checkpointError(`${path}: no 'model' state dict (top-level keys: ${[...top.keys()].map(String).join(', ')}); is this a fair-esm checkpoint?`);
  }
  const arch = detectArch(path, top);
  const upgrade = arch === 'esm2' ? upgradeEsm2Key : upgradeEsm1bKey;
  const tensors = new Map<string, { fileKey: string; array: HostArray }>();
  collect(path, sd, upgrade, tensors);

  const notes: string[] = [];
  const regression = opts.regression === undefined ? defaultRegressionPath(path) : opts.regression;
  if (regression !== null) {
    if (opts.regression !== undefined && !existsSync(regression)) throw checkpointError(`contact regression file ${regression} does not exist`);
    if (existsSync(regression)) {
      const r = readPt(regression);
      const rsd = r instanceof Map ? r.get('model') : undefined;
      if (!(rsd instanceof Map)) throw checkpointError(`${regression}: expected {'model': {contact_head.regression.*}}, found ${describePt(r)}`);
      collect(regression, rsd, upgrade, tensors);
    }
  }
  const hasContactHead = [...tensors.keys()].some((k) => k.startsWith('contact_head.'));
  if (!hasContactHead) notes.push(`no contact regression weights (${basename(defaultRegressionPath(path))} not found beside the checkpoint): contact prediction is unavailable`);

  const config = arch === 'esm2' ? esm2Config(path, top) : esm1bConfig(path, top, tensors);
  const model = createEsmModel(config, new NoInit(), { contactHead: hasContactHead });
  const offered: OfferedTensor[] = [...tensors].map(([name, { fileKey, array }]) => ({
    name,
    fileKey,
    shape: array.shape,
    isFloat: array.dtype === 'float32',
    read: () => array,
  }));
  assignEsmWeights(model, offered, { path, requireTiedDecoder: true, requireInvFreq: true });
  if (arch === 'esm1b') zeroMaskEmbedding(model);
  return { model, config, format: 'fair-esm', path, hasContactHead, notes };
}

/** `<dir>/<stem>-contact-regression.pt` for `<dir>/<stem>.pt`. */
export function defaultRegressionPath(path: string): string {
  const stem = basename(path).replace(/\.(pt|pth)$/i, '');
  return join(dirname(path), `${stem}-contact-regression.pt`);
}

function collect(path: string, sd: Map<PtValue, PtValue>, upgrade: (k: string) => string, out: Map<string, { fileKey: string; array: HostArray }>): void {
  for (const [k, v] of sd) {
    if (typeof k !== 'string') throw checkpointError(`${path}: state dict key ${String(k)} is not a string`);
    if (!isHostArray(v)) throw checkpointError(`${path}: state dict entry '${k}' is ${describePt(v)}, not a tensor`);
    const name = upgrade(k);
    const prev = out.get(name);
    if (prev !== undefined) throw checkpointError(`${path}: keys '${prev.fileKey}' and '${k}' both map to '${name}'`);
    out.set(name, { fileKey: k, array: v });
  }
}

/** ESM-2 files carry `cfg['model']`; ESM-1b files carry `args` with `arch = roberta_large`. */
function detectArch(path: string, top: Map<PtValue, PtValue>): 'esm2' | 'esm1b' {
  const cfg = top.get('cfg');
  const args = top.get('args');
  if (cfg instanceof Map && cfg.get('model') !== undefined && cfg.get('model') !== null) return 'esm2';
  if (isPtRecord(args)) {
    const arch = args.arch;
    if (arch === 'roberta_large') return 'esm1b';
    if (arch === 'protein_bert_base') throw checkpointError(`${path}: ESM-1 checkpoints (arch protein_bert_base) are not supported; ESM-1b and ESM-2 are`);
    if (arch === 'msa_transformer') throw checkpointError(`${path}: the MSA Transformer is not supported; ESM-1b and ESM-2 are`);
    throw checkpointError(`${path}: unknown fair-esm arch ${JSON.stringify(arch)} (expected roberta_large for ESM-1b)`);
  }
  throw checkpointError(`${path}: neither cfg['model'] (ESM-2) nor an args namespace (ESM-1b) found; top-level keys: ${[...top.keys()].map(String).join(', ')}`);
}

/** Attributes of a namespace, or of a dict with string keys. */
function attrs(v: PtValue | undefined): Attrs | null {
  if (isPtRecord(v)) return v;
  if (v instanceof Map) {
    const o: Record<string, PtValue> = {};
    for (const [k, x] of v) if (typeof k === 'string') o[k] = x;
    return o;
  }
  return null;
}

function intField(path: string, where: string, a: Attrs, key: string): number {
  const v = a[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw checkpointError(`${path}: ${where}.${key} must be a positive integer, found ${describePt(v)}`);
  return v;
}

function boolField(path: string, where: string, a: Attrs, key: string, fallback: boolean | null): boolean {
  const v = a[key];
  if (v === undefined && fallback !== null) return fallback;
  if (typeof v !== 'boolean') throw checkpointError(`${path}: ${where}.${key} must be true or false, found ${describePt(v)}`);
  return v;
}

function toConfig(path: string, raw: Record<string, unknown>): EsmConfig {
  try {
    return parseEsmConfig(raw);
  } catch (e) {
    throw checkpointError(`${path}: ${(e as Error).message}`, e);
  }
}

/** ESM-2: layers, embed dim, heads and token dropout from `cfg['model']`; FFN is 4E (fair-esm `esm/model/esm2.py`). */
function esm2Config(path: string, top: Map<PtValue, PtValue>): EsmConfig {
  const m = attrs((top.get('cfg') as Map<PtValue, PtValue>).get('model'));
  if (m === null) throw checkpointError(`${path}: cfg['model'] is not a namespace or dict`);
  const embedDim = intField(path, "cfg['model']", m, 'encoder_embed_dim');
  return toConfig(path, {
    arch: 'esm2',
    numLayers: intField(path, "cfg['model']", m, 'encoder_layers'),
    embedDim,
    attentionHeads: intField(path, "cfg['model']", m, 'encoder_attention_heads'),
    ffnDim: 4 * embedDim,
    tokenDropout: boolField(path, "cfg['model']", m, 'token_dropout', null),
  });
}

/** ESM-1b: renamed args (`encoder_layers` -> `layers`, …); the embedding LN is on iff its weights exist. */
function esm1bConfig(path: string, top: Map<PtValue, PtValue>, tensors: ReadonlyMap<string, unknown>): EsmConfig {
  const raw = attrs(top.get('args')) as Attrs;
  const a: Record<string, PtValue> = {};
  for (const [k, v] of Object.entries(raw)) a[upgradeEsm1bArg(k)] = v;
  return toConfig(path, {
    arch: 'esm1b',
    numLayers: intField(path, 'args', a, 'layers'),
    embedDim: intField(path, 'args', a, 'embed_dim'),
    attentionHeads: intField(path, 'args', a, 'attention_heads'),
    ffnDim: intField(path, 'args', a, 'ffn_embed_dim'),
    maxPositions: a.max_positions === undefined ? 1024 : intField(path, 'args', a, 'max_positions'),
    tokenDropout: boolField(path, 'args', a, 'token_dropout', false),
    embLayerNormBefore: [...tensors.keys()].some((k) => k.startsWith('emb_layer_norm_before')),
  });
}
