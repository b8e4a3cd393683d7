import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { checkpointError } from '../../errors.js';
import { parseEsmConfig, usesEmbLayerNormBefore, type EsmConfig } from '../../models/esm/config.js';
import { createEsmModel, NoInit } from '../../models/esm/model.js';
import { describePt, isHostArray, readPt } from '../pt-reader.js';
import { SafetensorsReader } from '../safetensors.js';
import { assignEsmWeights, zeroMaskEmbedding, type OfferedTensor } from './assign.js';
import { applyLowRankField, LOW_RANK_FIELD } from './low-rank-config.js';
import type { LoadedEsm } from './loaded.js';
import { HF_IGNORED, HF_ROTARY_UNUSED, HF_TIED_DECODER, hfToFairEsmName } from './names.js';

/**
 * Hugging Face ESM directories (`EsmForMaskedLM`; spec §8.4, transformers `models/esm`):
 * `config.json` plus `model.safetensors` (or a sharded `model.safetensors.index.json`, or
 * `pytorch_model.bin`). F16/BF16/F64 weights are converted to float32; `position_ids`, and the
 * unused position table of rotary models, are ignored; a missing `lm_head.decoder.weight` falls
 * back to the word embeddings it is tied to; a missing rotary `inv_freq` takes the nominal
 * frequencies, as transformers does. Projections factored by `protdistil compress` are listed in
 * config.json's `protdistil_low_rank` field (low-rank-config.ts) and loaded as such, strictly.
 */

const FILE_DTYPES_FLOAT = new Set(['F16', 'BF16', 'F32', 'F64']);

/** The `config.json` fields that decide the architecture (others are accepted and ignored). */
const HfConfigSchema = z
  .object({
    model_type: z.literal('esm').optional(),
    hidden_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    vocab_size: z.literal(33),
    pad_token_id: z.literal(1),
    mask_token_id: z.literal(32),
    position_embedding_type: z.enum(['rotary', 'absolute']),
    emb_layer_norm_before: z.boolean().nullable().optional(),
    token_dropout: z.boolean(),
    layer_norm_eps: z.number().positive(),
    max_position_embeddings: z.number().int().positive().optional(),
    hidden_act: z.literal('gelu').optional(),
    is_folding_model: z.literal(false).optional(),
  })
  .passthrough();

/** Reads `config.json` of a Hugging Face ESM directory into an ESM config. */
export function readHfEsmConfig(dir: string): EsmConfig {
  return parseHfEsmConfig(readConfigJson(dir), join(dir, 'config.json'));
}

function readConfigJson(dir: string): unknown {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw checkpointError(`${dir}: no config.json; a Hugging Face ESM directory holds config.json and model.safetensors`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw checkpointError(`${path}: not valid JSON: ${(e as Error).message}`, e);
  }
}

function parseHfEsmConfig(raw: unknown, path: string): EsmConfig {
  const r = HfConfigSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw checkpointError(`${path}: not an ESM-1b/ESM-2 config (${issues})`);
  }
  const c = r.data;
  const rotary = c.position_embedding_type === 'rotary';
  try {
    return parseEsmConfig({
      arch: rotary ? 'esm2' : 'esm1b',
      numLayers: c.num_hidden_layers,
      embedDim: c.hidden_size,
      attentionHeads: c.num_attention_heads,
      ffnDim: c.intermediate_size,
      tokenDropout: c.token_dropout,
      layerNormEps: c.layer_norm_eps,
      ...(rotary ? {} : { maxPositions: (c.max_position_embeddings ?? 1026) - 2, embLayerNormBefore: c.emb_layer_norm_before === true }),
    });
  } catch (e) {
    throw checkpointError(`${path}: ${(e as Error).message}`, e);
  }
}

/** Loads a Hugging Face ESM directory. */
export function loadHfEsm(dir: string): LoadedEsm {
  const raw = readConfigJson(dir);
  const config = parseHfEsmConfig(raw, join(dir, 'config.json'));
  const sources = openWeights(dir);
  try {
    const offered: OfferedTensor[] = [];
    for (const t of sources.tensors) {
      // Files saved from the bare `EsmModel` name the same tensors without the `esm.` prefix.
      const key = t.fileKey.startsWith('esm.') || t.fileKey.startsWith('lm_head.') ? t.fileKey : `esm.${t.fileKey}`;
      if (HF_IGNORED.has(key)) continue;
      if (config.arch === 'esm2' && key === HF_ROTARY_UNUSED) continue;
      const name = hfToFairEsmName(t.fileKey);
      offered.push({ ...t, name: name ?? `(unknown) ${t.fileKey}` });
    }
    const hasContactHead = offered.some((t) => t.name.startsWith('contact_head.'));
    const model = createEsmModel(config, new NoInit(), { contactHead: hasContactHead });
    const factored = applyLowRankField(model, (raw as Record<string, unknown>)[LOW_RANK_FIELD], join(dir, 'config.json'));
    assignEsmWeights(model, offered, { path: dir, requireTiedDecoder: false, requireInvFreq: false });
    if (config.arch === 'esm1b') zeroMaskEmbedding(model);
    const notes: string[] = [];
    if (factored > 0) notes.push(`${factored} projection(s) are stored as low-rank factors (${LOW_RANK_FIELD} in config.json; written by protdistil compress)`);
    if (!hasContactHead) notes.push('no contact regression weights (esm.contact_head.regression.*): contact prediction is unavailable');
    if (config.arch === 'esm1b' && !usesEmbLayerNormBefore(config)) notes.push('config.json has emb_layer_norm_before false');
    if (!offered.some((t) => t.fileKey === HF_TIED_DECODER)) notes.push('lm_head.decoder.weight absent: the LM decoder uses the tied word embeddings');
    return { model, config, format: 'hugging-face', path: dir, hasContactHead, notes };
  } finally {
    sources.close();
  }
}

interface WeightSources {
  readonly tensors: readonly Omit<OfferedTensor, 'name'>[];
  close(): void;
}

/** model.safetensors, its sharded index, or pytorch_model.bin. */
function openWeights(dir: string): WeightSources {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const bin = join(dir, 'pytorch_model.bin');
  if (existsSync(single)) return fromSafetensors([single]);
  if (existsSync(index)) {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw checkpointError(`${index}: not valid JSON: ${(e as Error).message}`, e);
    }
    if (typeof map !== 'object' || map === null) throw checkpointError(`${index}: no weight_map`);
    const files = [...new Set(Object.values(map as Record<string, unknown>).map(String))];
    return fromSafetensors(files.map((f) => join(dir, f)));
  }
  if (existsSync(bin)) {
    const sd = readPt(bin);
    if (!(sd instanceof Map)) throw checkpointError(`${bin}: expected a state dict, found ${describePt(sd)}`);
    const tensors: Omit<OfferedTensor, 'name'>[] = [];
    for (const [k, v] of sd) {
      if (typeof k !== 'string' || !isHostArray(v)) throw checkpointError(`${bin}: entry ${String(k)} is ${describePt(v)}, not a named tensor`);
      tensors.push({ fileKey: k, shape: v.shape, isFloat: v.dtype === 'float32', read: () => v });
    }
    return { tensors, close: () => undefined };
  }
  throw checkpointError(`${dir}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin`);
}

function fromSafetensors(paths: readonly string[]): WeightSources {
  const readers: SafetensorsReader[] = [];
  try {
    for (const p of paths) readers.push(SafetensorsReader.open(p));
  } catch (e) {
    for (const r of readers) r.close();
    throw e;
  }
  const tensors = readers.flatMap((r) =>
    r.entries.map((e) => ({ fileKey: e.name, shape: e.shape, isFloat: FILE_DTYPES_FLOAT.has(e.dtype), read: () => r.read(e.name) })),
  );
  return { tensors, close: () => readers.forEach((r) => r.close()) };
}
