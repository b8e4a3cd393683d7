import { dtypeError, shapeError } from '../../errors.js';
import { Embedding } from '../../nn/embedding.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Module } from '../../nn/module.js';
import type { Rng } from '../../tensor/random.js';
import { Tensor } from '../../tensor/tensor.js';
import { usesEmbLayerNormBefore, type EsmConfig } from './config.js';
import { ContactPredictionHead } from './contact-head.js';
import type { EsmModelOptions } from './esm2.js';
import { EsmLayer, EsmLmHead, tokenDropoutRescale } from './layers.js';
import { checkForwardInputs, runTrunk, type EsmForwardOptions, type EsmOutput } from './trunk.js';

/**
 * ESM-1b (Rives et al. 2021, https://www.pnas.org/doi/10.1073/pnas.2016239118), fair-esm
 * `esm/model/esm1.py` ProteinBertModel with `arch = roberta_large` (spec §5): the ESM-2 layer stack
 * without rotary, learned positions with the padding offset (`cumsum(non-pad)·non-pad + padding_idx`
 * into a `max_positions + padding_idx + 1`-row table), and a LayerNorm on the embeddings before
 * the first layer. Inputs longer than `max_positions` (1024) tokens are rejected, as fair-esm does.
 *
 * Dims: B batch, T tokens, E embed, P = max_positions + padding_idx + 1 position rows.
 */
export class Esm1b extends Module {
  readonly embedTokens: Embedding;
  readonly embedPositions: Embedding;
  readonly embLayerNormBefore: LayerNorm | null;
  readonly layers: EsmLayer[];
  readonly embLayerNormAfter: LayerNorm;
  readonly lmHead: EsmLmHead;
  readonly contactHead: ContactPredictionHead | null;
  /** Upper-triangular ones (maxPositions, maxPositions): a row of flags times it is its running sum. */
  private prefixSumTable: Tensor | null = null;
  /** (V, 1): 1 for every token but `<mask>`. */
  private maskRowKeep: Tensor | null = null;

  constructor(readonly config: EsmConfig, rng: Rng, opts: EsmModelOptions = {}) {
    super();
    if (config.arch !== 'esm1b') throw dtypeError('Esm1b', `config arch is ${config.arch}, not esm1b`);
    this.embedTokens = new Embedding(config.vocabSize, config.embedDim, { rng, paddingIdx: config.paddingIdx });
    this.embedPositions = new Embedding(config.maxPositions + config.paddingIdx + 1, config.embedDim, { rng, paddingIdx: config.paddingIdx });
    this.embLayerNormBefore = usesEmbLayerNormBefore(config) ? new LayerNorm(config.embedDim, config.layerNormEps) : null;
    this.layers = Array.from({ length: config.numLayers }, () => new EsmLayer(config, rng));
    this.embLayerNormAfter = new LayerNorm(config.embedDim, config.layerNormEps);
    this.lmHead = new EsmLmHead(config, rng);
    this.contactHead = opts.contactHead === true ? new ContactPredictionHead(config.numLayers, config.attentionHeads, rng) : null;
  }

  /** tokens (B, T) int with T ≤ max_positions -> logits and requested representations, attention maps and contacts. */
  forward(tokens: Tensor, opts: EsmForwardOptions = {}): EsmOutput {
    const cfg = this.config;
    const pad = checkForwardInputs('Esm1b.forward', cfg, tokens, opts); // (B, T) bool
    const t = tokens.shape[1] as number;
    if (t > cfg.maxPositions) {
      throw shapeError('Esm1b.forward', `${t} tokens exceed the ${cfg.maxPositions} learned positions (truncate sequences to ${cfg.maxPositions - 2} residues)`);
    }
    const keep = pad.logicalNot().cast('float32'); // (B, T)
    const table = this.tokenTable(); // (V, E), `<mask>` row zero
    let x = table.gather(tokens, 0); // (B, T) -> (B, T, E)
    if (cfg.tokenDropout) x = tokenDropoutRescale(x, tokens, pad, cfg.maskIdx);
    x = x.add(this.embedPositions.forward(this.positions(keep))); // (B, T, E) + (B, T, E)
    if (this.embLayerNormBefore !== null) x = this.embLayerNormBefore.forward(x);
    x = x.mul(keep.unsqueeze(-1));
    return runTrunk(
      { config: cfg, layers: this.layers, embLayerNormAfter: this.embLayerNormAfter, lmHead: this.lmHead, contactHead: this.contactHead, decoder: table },
      x, tokens, pad, opts, false,
    );
  }

  /**
   * The token table with its `<mask>` row multiplied by zero. fair-esm's ESM-1b loader zeroes that
   * row (spec §5); reading the table through this product keeps it zero in training too (its
   * gradient is zero, so neither Adam nor weight decay moves a zero row), so a trained ESM-1b model
   * saved and loaded again computes exactly what it computed in training. On loaded checkpoints the
   * row is already zero and the product changes nothing.
   */
  private tokenTable(): Tensor {
    if (this.maskRowKeep === null) {
      const keep = new Float32Array(this.config.vocabSize).fill(1);
      keep[this.config.maskIdx] = 0;
      this.maskRowKeep = Tensor.from(keep, [this.config.vocabSize, 1]);
    }
    return this.embedTokens.weight.mul(this.maskRowKeep); // (V, E) * (V, 1)
  }

  /** Accepted for symmetry with ESM-2: learned positions need nothing beyond the 1024-token limit. */
  reserveLength(maxTokens: number): void {
    if (maxTokens > this.config.maxPositions) {
      throw shapeError('Esm1b', `${maxTokens} tokens exceed the ${this.config.maxPositions} learned positions`);
    }
  }

  /**
   * Position ids (fair-esm LearnedPositionalEmbedding, HF `create_position_ids_from_input_ids`):
   * `cumsum(keep)·keep + padding_idx`, so BOS is 2, the first residue 3, … and pads 1.
   */
  private positions(keep: Tensor): Tensor {
    const P = this.config.maxPositions;
    if (this.prefixSumTable === null) {
      const tri = new Float32Array(P * P);
      for (let u = 0; u < P; u++) tri.fill(1, u * P + u, (u + 1) * P); // tri[u, t] = 1 for u ≤ t
      this.prefixSumTable = Tensor.from(tri, [P, P]);
    }
    const tri = this.prefixSumTable.sliceTo(0, keep, 1).sliceTo(1, keep, 1); // (P, P) -> (T, T)
    const running = keep.matmul(tri); // (B, T) @ (T, T) -> (B, T): non-pad count up to and including t
    return running.mul(keep).add(this.config.paddingIdx).cast('int64');
  }
}
