import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { vocabTxt } from '../../data/alphabet.js';
import { checkpointError } from '../../errors.js';
import { usesEmbLayerNormBefore, type EsmConfig } from '../../models/esm/config.js';
import type { EsmModel } from '../../models/esm/model.js';
import { hostArray, type HostArray } from '../../tensor/host-array.js';
import { toJsonText, writeFileAtomic, type FileEntry } from '../atomic-write.js';
import { safetensorsBytes, writeSafetensors } from '../safetensors.js';
import { LOW_RANK_FIELD, lowRankField } from './low-rank-config.js';
import { fairEsmToHfName, fairInvFreqName, toFairEsmName } from './names.js';

/**
 * Writes an ESM model as a Hugging Face `EsmForMaskedLM` directory: `model.safetensors` (float32,
 * HF key names, the tied decoder left out as transformers' own writer does), `config.json` and
 * `vocab.txt`. `loadHfEsm` reads it back exactly, and transformers' `from_pretrained` loads it.
 */
export function writeHfEsm(model: EsmModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), hfStateDict(model), { format: 'pt' });
  writeFileAtomic(join(dir, 'config.json'), toJsonText(hfModelConfig(model), 'config.json'));
  writeFileAtomic(join(dir, 'vocab.txt'), vocabTxt());
}

/** The model's weights under Hugging Face names (ESM-2 includes each layer's rotary `inv_freq`). */
export function hfStateDict(model: EsmModel): Map<string, HostArray> {
  const out = new Map<string, HostArray>();
  const put = (fair: string, a: HostArray): void => {
    const hf = fairEsmToHfName(fair);
    if (hf === null) throw checkpointError(`writeHfEsm: no Hugging Face name for ${fair}`);
    out.set(hf, a);
  };
  for (const [name, a] of model.stateDict()) put(toFairEsmName(name), a);
  if (model.config.arch === 'esm2') {
    model.layers.forEach((l, i) => put(fairInvFreqName(i), hostArray('float32', [l.selfAttn.invFreq.length], l.selfAttn.invFreq)));
  }
  return out;
}

/** `config.json` of a model: its config's fields, plus the low-rank projections when it has any (low-rank-config.ts). */
export function hfModelConfig(model: EsmModel): Record<string, unknown> {
  const lowRank = lowRankField(model);
  return { ...hfConfig(model.config), ...(lowRank === null ? {} : { [LOW_RANK_FIELD]: lowRank }) };
}

/**
 * The files of `writeHfEsm` as entries for one atomic batch write (`writeFilesAtomic`), with the
 * weights serialised in memory.
 */
export function hfEsmFiles(model: EsmModel, dir: string): FileEntry[] {
  return [
    { path: join(dir, 'model.safetensors'), data: safetensorsBytes(hfStateDict(model), { format: 'pt' }) },
    { path: join(dir, 'config.json'), data: toJsonText(hfModelConfig(model), 'config.json') },
    { path: join(dir, 'vocab.txt'), data: vocabTxt() },
  ];
}

/** `config.json` for a model config, with the fields real ESM files carry. */
export function hfConfig(c: EsmConfig): Record<string, unknown> {
  const rotary = c.arch === 'esm2';
  return {
    architectures: ['EsmForMaskedLM'],
    attention_probs_dropout_prob: 0.0,
    classifier_dropout: null,
    emb_layer_norm_before: usesEmbLayerNormBefore(c),
    esmfold_config: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.0,
    hidden_size: c.embedDim,
    initializer_range: 0.02,
    intermediate_size: c.ffnDim,
    is_folding_model: false,
    layer_norm_eps: c.layerNormEps,
    mask_token_id: c.maskIdx,
    max_position_embeddings: rotary ? 1026 : c.maxPositions + c.paddingIdx + 1,
    model_type: 'esm',
    num_attention_heads: c.attentionHeads,
    num_hidden_layers: c.numLayers,
    pad_token_id: c.paddingIdx,
    position_embedding_type: rotary ? 'rotary' : 'absolute',
    token_dropout: c.tokenDropout,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_list: null,
    vocab_size: c.vocabSize,
  };
}
