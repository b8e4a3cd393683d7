import { SPECIAL_IDS } from '../../data/alphabet.js';
import { checkpointError, shapeError } from '../../errors.js';
import type { LayerNorm } from '../../nn/layer-norm.js';
import { fmtShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { EsmConfig } from './config.js';
import type { ContactPredictionHead } from './contact-head.js';
import type { EsmLayer, EsmLmHead } from './layers.js';

/**
 * What ESM-1b and ESM-2 share after their embedding stage (fair-esm `esm/model/esm2.py` and
 * `esm/model/esm1.py` forward, spec §4.4–4.11): the layer stack, the final LayerNorm, the LM head,
 * attention maps with pad rows/columns zeroed, and the contact head.
 *
 * Dims: B batch, T tokens, E embed, L layers, H heads, V vocab.
 */

/** What a forward pass returns. Only what is realized is computed (the graph is lazy). */
export interface EsmOutput {
  /** (B, T, V) */
  readonly logits: Tensor;
  /** Requested representation layers (0 = embeddings, L = final-LN output), each (B, T, E). */
  readonly representations: ReadonlyMap<number, Tensor>;
  /**
   * Per-layer attention probabilities (B, H, T, T), when requested, multiplied by keep[t]·keep[u]
   * so pad rows and columns are exactly zero (spec §4.10). `stackAttentions` gives (B, L, H, T, T).
   */
  readonly attentions: readonly Tensor[];
  /** Contact probabilities (B, T − 2, T − 2) when requested; the block [:n, :n] is meaningful for n residues. */
  readonly contacts: Tensor | null;
}

/** Forward options. */
export interface EsmForwardOptions {
  /** Representation layers to return, in [0, L] (see `resolveReprLayers` for negative indices). */
  readonly reprLayers?: readonly number[];
  readonly needAttentions?: boolean;
  /** Contact predictions (needs the contact head's weights; implies the attention maps). */
  readonly returnContacts?: boolean;
}

/** The parts of a model the trunk runs. */
export interface TrunkParts {
  readonly config: EsmConfig;
  readonly layers: readonly EsmLayer[];
  readonly embLayerNormAfter: LayerNorm;
  readonly lmHead: EsmLmHead;
  readonly contactHead: ContactPredictionHead | null;
  /** The token embedding (V, E), tied to the LM decoder. */
  readonly decoder: Tensor;
}

/** Checks a token matrix and the requested layers; returns the pad mask (B, T) bool. */
export function checkForwardInputs(op: string, cfg: EsmConfig, tokens: Tensor, opts: EsmForwardOptions): Tensor {
  if (tokens.rank !== 2 || (tokens.dtype !== 'int64' && tokens.dtype !== 'int32')) {
    throw shapeError(op, `tokens must be an int (B, T) matrix, got ${tokens.dtype} ${fmtShape(tokens.shape)}`);
  }
  for (const l of opts.reprLayers ?? []) {
    if (!(Number.isInteger(l) && l >= 0 && l <= cfg.numLayers)) throw shapeError(op, `representation layer ${l} is outside [0, ${cfg.numLayers}]`);
  }
  return tokens.equal(cfg.paddingIdx);
}

/** Runs the layers and heads on representation layer 0, `x0` (B, T, E). */
export function runTrunk(m: TrunkParts, x0: Tensor, tokens: Tensor, pad: Tensor, opts: EsmForwardOptions, rotary: boolean): EsmOutput {
  const L = m.config.numLayers;
  const want = new Set(opts.reprLayers ?? []);
  const contacts = opts.returnContacts === true;
  if (contacts && m.contactHead === null) {
    throw checkpointError('contact prediction needs the contact head weights (fair-esm: the <name>-contact-regression.pt file beside the checkpoint), which this model was loaded without');
  }
  const needMaps = opts.needAttentions === true || contacts;
  const reps = new Map<number, Tensor>();
  if (want.has(0)) reps.set(0, x0);
  const [b, t] = [tokens.shape[0] as number, tokens.shape[1] as number];
  const keep = pad.logicalNot().cast('float32'); // (B, T)
  const keep2 = needMaps ? keep.reshape([b, 1, t, 1]).mul(keep.reshape([b, 1, 1, t])) : null; // (B, 1, T, T)
  const attentions: Tensor[] = [];
  let x = x0;
  m.layers.forEach((layer, i) => {
    const r = layer.forward(x, pad, rotary);
    x = r.x;
    if (keep2 !== null) attentions.push(r.probs.mul(keep2));
    if (i + 1 < L && want.has(i + 1)) reps.set(i + 1, x);
  });
  x = m.embLayerNormAfter.forward(x);
  if (want.has(L)) reps.set(L, x);
  const logits = m.lmHead.forward(x, m.decoder);
  const contactMap = contacts && m.contactHead !== null ? m.contactHead.forward(stackAttentions(attentions), tokens, SPECIAL_IDS.eos) : null;
  return { logits, representations: reps, attentions: opts.needAttentions === true ? attentions : [], contacts: contactMap };
}

/** Per-layer maps (B, H, T, T) stacked layer-major to (B, L, H, T, T), as fair-esm returns them. */
export function stackAttentions(perLayer: readonly Tensor[]): Tensor {
  return Tensor.concat(perLayer.map((a) => a.unsqueeze(1)), 1); // L x (B, H, T, T) -> (B, L, H, T, T)
}

