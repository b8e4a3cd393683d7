/**
 * The foreign weight names of ESM checkpoints, in one place (spec §8.2–8.4). Three namings meet
 * here: protdistil's module paths (`layers.0.selfAttn.qProj.weight`), fair-esm's state-dict keys
 * after its prefix upgrade (`layers.0.self_attn.q_proj.weight`), which serve as the common
 * vocabulary, and Hugging Face `EsmForMaskedLM` keys (`esm.encoder.layer.0.attention.self.query.weight`).
 */

/** Dotted-path segments that differ between protdistil modules and fair-esm (fair-esm `esm/model/esm2.py`, `esm/modules.py`). */
const MODULE_SEGMENTS: readonly (readonly [ours: string, fairEsm: string])[] = [
  ['embedTokens', 'embed_tokens'],
  ['embedPositions', 'embed_positions'],
  ['embLayerNormBefore', 'emb_layer_norm_before'],
  ['embLayerNormAfter', 'emb_layer_norm_after'],
  ['selfAttnLayerNorm', 'self_attn_layer_norm'],
  ['selfAttn', 'self_attn'],
  ['qProj', 'q_proj'],
  ['kProj', 'k_proj'],
  ['vProj', 'v_proj'],
  ['outProj', 'out_proj'],
  ['finalLayerNorm', 'final_layer_norm'],
  ['lmHead', 'lm_head'],
  ['layerNorm', 'layer_norm'],
  ['contactHead', 'contact_head'],
];
const TO_FAIR = new Map(MODULE_SEGMENTS.map(([a, b]) => [a, b]));
const FROM_FAIR = new Map(MODULE_SEGMENTS.map(([a, b]) => [b, a]));

/** fair-esm key of a protdistil parameter path. */
export function toFairEsmName(ours: string): string {
  return ours.split('.').map((s) => TO_FAIR.get(s) ?? s).join('.');
}

/** protdistil parameter path of a fair-esm key. */
export function fromFairEsmName(fair: string): string {
  return fair.split('.').map((s) => FROM_FAIR.get(s) ?? s).join('.');
}

/** The tied LM decoder as fair-esm stores it (the same tensor as `embed_tokens.weight`). */
export const FAIR_TIED_DECODER = 'lm_head.weight';
/** The tied LM decoder as Hugging Face stores it (may be absent). */
export const HF_TIED_DECODER = 'lm_head.decoder.weight';
/** fair-esm key of a layer's stored rotary frequencies (a buffer, not a parameter). */
export const fairInvFreqName = (layer: number): string => `layers.${layer}.self_attn.rot_emb.inv_freq`;

/**
 * Prefix upgrade of fair-esm ESM-2 keys (`esm/pretrained.py` `_load_model_and_alphabet_core_v2`):
 * strip a leading `encoder.sentence_encoder.`, else a leading `encoder.`.
 */
export function upgradeEsm2Key(key: string): string {
  if (key.startsWith('encoder.sentence_encoder.')) return key.slice('encoder.sentence_encoder.'.length);
  if (key.startsWith('encoder.')) return key.slice('encoder.'.length);
  return key;
}

/**
 * Prefix upgrade of fair-esm ESM-1b keys (`esm/pretrained.py` `_load_model_and_alphabet_core_v1`):
 * drop everything up to `sentence_encoder.`, then, if `encoder` remains, everything up to `encoder.`.
 */
export function upgradeEsm1bKey(key: string): string {
  let k = key;
  const se = k.indexOf('sentence_encoder.');
  if (se >= 0) k = k.slice(se + 'sentence_encoder.'.length);
  const enc = k.indexOf('encoder.');
  if (k.includes('encoder') && enc >= 0) k = k.slice(enc + 'encoder.'.length);
  return k;
}

/**
 * fair-esm ESM-1b argument renaming: a name containing `encoder` becomes the text after
 * `encoder_` (`encoder_embed_dim` -> `embed_dim`); other names are kept.
 */
export function upgradeEsm1bArg(name: string): string {
  if (!name.includes('encoder')) return name;
  const at = name.indexOf('encoder_');
  return at >= 0 ? name.slice(at + 'encoder_'.length) : name;
}

/**
 * Hugging Face `EsmForMaskedLM` <-> fair-esm key patterns; `{i}` is a layer index (HF `convert_esm.py`).
 * `{p}` is `weight` or `bias`; `{P}` marks a projection, which may also be factored by
 * `protdistil compress` into `a.weight`, `b.weight` and `b.bias` (see low-rank-config.ts).
 */
const HF_PATTERNS: readonly (readonly [hf: string, fairEsm: string])[] = [
  ['esm.embeddings.word_embeddings.weight', 'embed_tokens.weight'],
  ['esm.embeddings.position_embeddings.weight', 'embed_positions.weight'],
  ['esm.embeddings.layer_norm.{p}', 'emb_layer_norm_before.{p}'],
  ['esm.encoder.layer.{i}.attention.self.query.{P}', 'layers.{i}.self_attn.q_proj.{P}'],
  ['esm.encoder.layer.{i}.attention.self.key.{P}', 'layers.{i}.self_attn.k_proj.{P}'],
  ['esm.encoder.layer.{i}.attention.self.value.{P}', 'layers.{i}.self_attn.v_proj.{P}'],
  ['esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq', 'layers.{i}.self_attn.rot_emb.inv_freq'],
  ['esm.encoder.layer.{i}.attention.output.dense.{P}', 'layers.{i}.self_attn.out_proj.{P}'],
  ['esm.encoder.layer.{i}.attention.LayerNorm.{p}', 'layers.{i}.self_attn_layer_norm.{p}'],
  ['esm.encoder.layer.{i}.intermediate.dense.{P}', 'layers.{i}.fc1.{P}'],
  ['esm.encoder.layer.{i}.output.dense.{P}', 'layers.{i}.fc2.{P}'],
  ['esm.encoder.layer.{i}.LayerNorm.{p}', 'layers.{i}.final_layer_norm.{p}'],
  ['esm.encoder.emb_layer_norm_after.{p}', 'emb_layer_norm_after.{p}'],
  ['esm.contact_head.regression.{p}', 'contact_head.regression.{p}'],
  ['lm_head.dense.{P}', 'lm_head.dense.{P}'],
  ['lm_head.layer_norm.{p}', 'lm_head.layer_norm.{p}'],
  ['lm_head.decoder.weight', 'lm_head.weight'],
  ['lm_head.bias', 'lm_head.bias'],
];

/** Hugging Face keys that carry no weights a model needs (spec §8.4). */
export const HF_IGNORED = new Set(['esm.embeddings.position_ids']);
/** Present in Hugging Face ESM-2 files but unused by rotary models. */
export const HF_ROTARY_UNUSED = 'esm.embeddings.position_embeddings.weight';

interface Rule {
  readonly from: RegExp;
  readonly to: string;
}

function compile(from: string, to: string): Rule {
  const src = from
    .replace(/\./g, '\\.')
    .replace('{i}', '(?<i>\\d+)')
    .replace('{p}', '(?<p>weight|bias)')
    .replace('{P}', '(?<p>weight|bias|a\\.weight|b\\.weight|b\\.bias)');
  return { from: new RegExp(`^${src}$`), to: to.replace('{P}', '{p}') };
}

const HF_TO_FAIR = HF_PATTERNS.map(([hf, fair]) => compile(hf, fair));
const FAIR_TO_HF = HF_PATTERNS.map(([hf, fair]) => compile(fair, hf));

function apply(rules: readonly Rule[], name: string, stripPrefix: string | null): string | null {
  for (const r of rules) {
    const m = r.from.exec(name);
    if (m === null) continue;
    return r.to.replace('{i}', m.groups?.i ?? '').replace('{p}', m.groups?.p ?? '');
  }
  // Files saved from the bare `EsmModel` have no `esm.` prefix.
  if (stripPrefix !== null && !name.startsWith(stripPrefix) && !name.startsWith('lm_head.')) return apply(rules, `${stripPrefix}${name}`, null);
  return null;
}

/** fair-esm key of a Hugging Face key, or null for a name outside the ESM layout. */
export function hfToFairEsmName(hf: string): string | null {
  return apply(HF_TO_FAIR, hf, 'esm.');
}

/** Hugging Face key of a fair-esm key, or null when it has none (e.g. the tied decoder is kept by name). */
export function fairEsmToHfName(fair: string): string | null {
  return apply(FAIR_TO_HF, fair, null);
}
