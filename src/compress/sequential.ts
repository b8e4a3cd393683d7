import { noGrad } from '../autograd/mode.js';
import { runtimeError } from '../errors.js';
import type { EsmModel } from '../models/esm/model.js';
import type { Projection } from '../nn/low-rank-linear.js';
import { Module } from '../nn/module.js';
import { swapModules } from '../nn/swap.js';
import type { RuntimeOptions } from '../runtime/ort.js';
import { runtimeOptions } from '../runtime/program.js';
import { SymbolicProgram } from '../runtime/symbolic-program.js';
import type { HostArray } from '../tensor/host-array.js';
import { Tensor } from '../tensor/tensor.js';
import type { TokenSet } from './calibration-set.js';
import { batchMomentOutputs, MomentAccumulator, type InputMoments } from './moments.js';

/**
 * Sequential calibration of every projection of an ESM model, in forward order: layer k's
 * q/k/v (one shared input), then its out projection (whose input, the attention output, already
 * comes from the compressed q/k/v), fc1, fc2, and after the last layer the LM head's dense layer.
 * Each projection's input statistics are gathered from the outputs of everything compressed before
 * it, so later projections are fitted to the inputs the compressed model actually produces (the
 * sequential scheme of data-aware compression work such as GPTQ and SVD-LLM).
 *
 * Memory: the calibration set's residual stream at one layer boundary (padded tokens × E float32
 * per batch) is kept so each layer is run once per site; projection inputs are never stored, only
 * their moments (D² float64 each, one projection group at a time) and a fixed sample of rows for
 * the cosine. Each site compiles one graph (symbolic batch and length) run over every batch.
 *
 * Dims: B batch, T tokens, E embed, D projection input.
 */

/** A group of projections that read the same input. */
export interface ProjectionSite {
  /** e.g. `layers.3 attention in`. */
  readonly label: string;
  /** Module paths of the projections (the first one is tapped for the input). */
  readonly members: readonly string[];
  /** Layer index, or null for the LM head. */
  readonly layer: number | null;
}

/** The sites of a model in forward order. */
export function projectionSites(model: EsmModel): ProjectionSite[] {
  const sites: ProjectionSite[] = [];
  model.layers.forEach((_, i) => {
    const p = `layers.${i}`;
    sites.push({ label: `${p} q/k/v`, members: [`${p}.selfAttn.qProj`, `${p}.selfAttn.kProj`, `${p}.selfAttn.vProj`], layer: i });
    sites.push({ label: `${p} out`, members: [`${p}.selfAttn.outProj`], layer: i });
    sites.push({ label: `${p} fc1`, members: [`${p}.fc1`], layer: i });
    sites.push({ label: `${p} fc2`, members: [`${p}.fc2`], layer: i });
  });
  sites.push({ label: 'lm head dense', members: ['lmHead.dense'], layer: null });
  return sites;
}

/** What a site handler is given. */
export interface SiteInputs {
  readonly site: ProjectionSite;
  readonly moments: InputMoments;
  /** Sampled input rows (m, D), spread evenly over the calibration tokens. */
  readonly sample: Float32Array;
}

/** Returns the modules that replace (some of) the site's projections, by path. */
export type SiteHandler = (inputs: SiteInputs) => Promise<ReadonlyMap<string, Module>>;

/** Options of {@link calibrateSequentially}. */
export interface SequentialOptions {
  /** Input rows sampled per site for cosines. */
  readonly sampleRows: number;
  readonly runtime?: RuntimeOptions;
  readonly onSite?: (done: number, total: number, label: string) => void;
}

/** Records the input of the projection it wraps during a trace (or an eager forward). */
export class InputTap extends Module {
  captured: Tensor | null = null;
  constructor(readonly inner: Projection) {
    super();
  }
  forward(x: Tensor): Tensor {
    this.captured = x;
    return this.inner.forward(x);
  }
}

/** Trace sizes of the symbolic dims: at least 2 and unlike the model's own dims (as the forward session's). */
const TRACE_BATCH = 3;
const TRACE_LENGTH = 13;

/** Runs the sites in order, calling `handler` for each and swapping in what it returns. */
export async function calibrateSequentially(model: EsmModel, set: TokenSet, handler: SiteHandler, o: SequentialOptions): Promise<void> {
  const cfg = model.config;
  const E = cfg.embedDim;
  const rotary = cfg.arch === 'esm2';
  const runtime = { ...(o.runtime ?? runtimeOptions()), memoryArena: true };
  model.reserveLength(Math.max(set.maxLength, 2));
  const tokens = Tensor.placeholder([TRACE_BATCH, TRACE_LENGTH], 'int64', 'tokens');
  const x = Tensor.placeholder([TRACE_BATCH, TRACE_LENGTH, E], 'float32', 'x');
  const tokenInput = { tensor: tokens, name: 'tokens', dims: ['batch', 'length'] };
  const streamInputs = [{ tensor: x, name: 'x', dims: ['batch', 'length', null] }, tokenInput];
  const modules = (): Map<string, Module> => new Map(model.namedModules());

  // Representation layer 0 of every batch: the residual stream entering layer 0.
  const embed = await SymbolicProgram.compile([noGrad(() => model.forward(tokens, { reprLayers: [0] }).representations.get(0) as Tensor)], [tokenInput], { graphName: 'compress_embed', runtime });
  let stream: HostArray[] = [];
  for (const b of set.batches) stream.push(((await embed.run([b.tokens])) as [HostArray])[0]);

  const sites = projectionSites(model);
  let done = 0;
  for (const site of sites) {
    o.onSite?.(done, sites.length, site.label);
    const tapPath = site.members[0] as string;
    const target = modules().get(tapPath);
    if (target === undefined) throw runtimeError(`calibration: the model has no module ${tapPath}`);
    const tap = new InputTap(target as Projection);
    swapModules(model, (p) => (p === tapPath ? tap : null));
    let program: SymbolicProgram;
    try {
      const outs = noGrad(() => {
        const pad = tokens.equal(cfg.paddingIdx); // (B, T) bool
        if (site.layer === null) model.lmHead.forward(model.embLayerNormAfter.forward(x), model.embedTokens.weight);
        else (model.layers[site.layer] as (typeof model.layers)[number]).forward(x, pad, rotary);
        const u = tap.captured;
        if (u === null) throw runtimeError(`calibration: ${tapPath} was not reached by the trace`);
        return [...batchMomentOutputs(u, pad.logicalNot().cast('float32')), u];
      });
      program = await SymbolicProgram.compile(outs, streamInputs, { graphName: 'compress_site', runtime });
    } finally {
      swapModules(model, (p) => (p === tapPath ? tap.inner : null));
    }
    const D = (tap.inner as { inFeatures: number }).inFeatures;
    const acc = new MomentAccumulator(D, site.members.join(', '));
    const sampler = new RowSampler(D, set.tokens, o.sampleRows, cfg.paddingIdx);
    for (const [i, b] of set.batches.entries()) {
      const [sum, gram, u] = (await program.run([stream[i] as HostArray, b.tokens])) as [HostArray, HostArray, HostArray];
      const count = b.lengths.reduce((a, n) => a + n, 0);
      acc.add(count, sum, gram, `calibration batch ${i + 1} of ${set.batches.length}, sequences ${b.labels[0]} … ${b.labels[b.labels.length - 1]}`);
      sampler.take(u, b.tokens);
    }
    const replacements = await handler({ site, moments: acc.result(), sample: sampler.rows() });
    if (replacements.size > 0) swapModules(model, (p) => replacements.get(p) ?? null);

    // After a layer's last site, move the stream through the (now compressed) layer.
    if (site.layer !== null && site.members[0] === `layers.${site.layer}.fc2`) {
      const layer = model.layers[site.layer] as (typeof model.layers)[number];
      const next = noGrad(() => layer.forward(x, tokens.equal(cfg.paddingIdx), rotary).x);
      const advance = await SymbolicProgram.compile([next], streamInputs, { graphName: 'compress_layer', runtime });
      const moved: HostArray[] = [];
      for (const [i, b] of set.batches.entries()) moved.push(((await advance.run([stream[i] as HostArray, b.tokens])) as [HostArray])[0]);
      stream = moved;
    }
    done++;
  }
  o.onSite?.(done, sites.length, 'done');
}

/** Every k-th non-pad token row, k = ⌊tokens / rows⌋, up to `rows` rows: a sample spread evenly over the set. */
class RowSampler {
  private readonly data: Float32Array;
  private readonly stride: number;
  private seen = 0;
  private taken = 0;

  constructor(private readonly dim: number, tokens: number, private readonly limit: number, private readonly padIdx: number) {
    this.data = new Float32Array(Math.min(limit, tokens) * dim);
    this.stride = Math.max(1, Math.floor(tokens / Math.max(limit, 1)));
  }

  take(u: HostArray, tokens: HostArray): void {
    const [B, T] = tokens.shape as [number, number];
    const tok = tokens.data as BigInt64Array;
    const src = u.data as Float32Array;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        if (tok[b * T + t] === BigInt(this.padIdx)) continue;
        if (this.seen++ % this.stride !== 0 || this.taken >= this.limit) continue;
        const at = (b * T + t) * this.dim;
        this.data.set(src.subarray(at, at + this.dim), this.taken * this.dim);
        this.taken++;
      }
    }
  }

  rows(): Float32Array {
    return this.data.subarray(0, this.taken * this.dim);
  }
}
