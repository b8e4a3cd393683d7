import { basename } from 'node:path';
import { checkpointError } from '../../errors.js';
import { usesEmbLayerNormBefore } from '../../models/esm/config.js';
import type { EsmModel } from '../../models/esm/model.js';
import { hostArray, type HostArray } from '../../tensor/host-array.js';
import { writePt, type PtValue } from '../pt-writer.js';
import { defaultRegressionPath } from './fair-esm.js';
import { FAIR_TIED_DECODER, fairInvFreqName, toFairEsmName } from './names.js';

/**
 * Writes an ESM model as a fair-esm checkpoint that `esm.pretrained.load_model_and_alphabet_local`
 * and `loadFairEsm` read (fair-esm `esm/pretrained.py`, spec §8.1-8.3):
 *
 * - ESM-2: `{'model': state dict, 'cfg': {'model': Namespace(encoder_layers, encoder_embed_dim,
 *   encoder_attention_heads, token_dropout)}}`; fair-esm picks ESM-2 by a file stem starting with
 *   `esm2`, so name such files `esm2_….pt`.
 * - ESM-1b: `{'model': state dict, 'args': Namespace(arch='roberta_large', encoder_layers, …)}`.
 *
 * Keys carry the prefixes fair-esm strips on load (`encoder.sentence_encoder.` for the trunk,
 * `encoder.` for the LM head) and the tied decoder as `lm_head.weight`; ESM-2 layers carry their
 * rotary `inv_freq`. fair-esm loads `<stem>-contact-regression.pt` beside any checkpoint whose
 * name does not mark it as regression-free, so one is always written: the model's contact head
 * when it has one, otherwise an untrained (all-zero) regression, so contact maps of such a model
 * are a constant 0.5 and carry no information.
 */
export function writeFairEsm(model: EsmModel, path: string): void {
  const c = model.config;
  const sd = new Map<string, PtValue>();
  const regression = new Map<string, PtValue>();
  const put = (fair: string, a: HostArray): void => {
    if (fair.startsWith('contact_head.')) regression.set(fair, a);
    else sd.set(fair.startsWith('lm_head.') ? `encoder.${fair}` : `encoder.sentence_encoder.${fair}`, a);
  };
  const params = model.stateDict();
  for (const [name, a] of params) put(toFairEsmName(name), a);
  const embed = params.get('embedTokens.weight');
  if (embed === undefined) throw checkpointError('writeFairEsm: the model has no token embedding');
  put(FAIR_TIED_DECODER, embed);
  if (c.arch === 'esm2') {
    model.layers.forEach((l, i) => put(fairInvFreqName(i), hostArray('float32', [l.selfAttn.invFreq.length], l.selfAttn.invFreq)));
  }
  if (regression.size === 0) {
    const channels = c.numLayers * c.attentionHeads;
    regression.set('contact_head.regression.weight', hostArray('float32', [1, channels], new Float32Array(channels)));
    regression.set('contact_head.regression.bias', hostArray('float32', [1], new Float32Array(1)));
  }
  const top = new Map<string, PtValue>([['model', sd]]);
  if (c.arch === 'esm2') {
    top.set('cfg', new Map<string, PtValue>([['model', { namespace: { encoder_layers: c.numLayers, encoder_embed_dim: c.embedDim, encoder_attention_heads: c.attentionHeads, token_dropout: c.tokenDropout } }]]));
  } else {
    top.set('args', {
      namespace: {
        arch: 'roberta_large',
        encoder_layers: c.numLayers,
        encoder_embed_dim: c.embedDim,
        encoder_ffn_embed_dim: c.ffnDim,
        encoder_attention_heads: c.attentionHeads,
        max_positions: c.maxPositions,
        token_dropout: c.tokenDropout,
        emb_layer_norm_before: usesEmbLayerNormBefore(c),
      },
    });
  }
  writePt(path, top, { archiveName: basename(path).replace(/\.(pt|pth)$/i, '') || 'archive' });
  writePt(defaultRegressionPath(path), new Map<string, PtValue>([['model', regression]]), { archiveName: 'regression' });
}

/** The file name fair-esm needs to recognise the architecture (`esm2…` for ESM-2). */
export function fairEsmFileName(model: EsmModel, stem: string): string {
  return model.config.arch === 'esm2' && !stem.startsWith('esm2') ? `esm2_${stem}.pt` : `${stem}.pt`;
}
