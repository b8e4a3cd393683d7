import { configError, dataError } from '../errors.js';
import type { EsmModel } from '../models/esm/model.js';
import { Linear } from '../nn/linear.js';
import { checkRank } from '../nn/low-rank-linear.js';
import type { Module } from '../nn/module.js';
import type { RuntimeOptions } from '../runtime/ort.js';
import type { TokenSet } from './calibration-set.js';
import { factorsModule, factorsRelError, fitFactors, fitProjection, maxSavingRank, projectionParameters, type FactorMethod } from './projection-fit.js';
import { allocateRanks, basisSize, chooseRank, type RankAllocation, type RankPolicy } from './rank-policy.js';
import { calibrateSequentially, projectionSites } from './sequential.js';

/**
 * Data-aware low-rank compression of every projection of an ESM model (Distil-Rank for whole
 * models): each projection is replaced by the exact rank-r closed form for the inputs it sees on
 * the calibration set, calibrated sequentially (sequential.ts), with ranks from a policy
 * (rank-policy.ts). The model is changed in place.
 */

/** Per projection: what it became. */
export interface ProjectionReport {
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** null: kept dense. */
  readonly rank: number | null;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  /** Mean output cosine against the dense projection on the sampled calibration inputs (1 when dense). */
  readonly cosine: number;
  /** Output energy lost on all calibration tokens (fraction; 0 when dense). */
  readonly relError: number;
}

/** What a compression did. */
export interface CompressResult {
  readonly policy: RankPolicy;
  readonly method: FactorMethod;
  readonly projections: readonly ProjectionReport[];
  /** Ranks allocated from the uncompressed model's statistics (params-fraction only). */
  readonly allocation: RankAllocation | null;
  readonly calibrationTokens: number;
  readonly calibrationSequences: number;
  readonly sampleRows: number;
  readonly seconds: number;
}

/** Options of {@link compressEsm}. */
export interface CompressOptions {
  readonly policy: RankPolicy;
  /**
   * How factors are computed at the chosen ranks (default `closed-form`). `weight-svd` is the
   * data-free baseline: the truncated SVD of each weight matrix, at the ranks the policy picks
   * from the same calibration statistics, so the two methods are compared at equal ranks.
   */
  readonly method?: FactorMethod;
  /** Calibration rows sampled per projection for output cosines (default 2048). */
  readonly sampleRows?: number;
  /** Accept rank = min(in, out) under a fixed rank (an exact refactorisation; for checks). */
  readonly allowFullRank?: boolean;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (phase: string, done: number, total: number, label: string) => void;
}

/** The fewest calibration tokens accepted: as many as the widest projection input has features, so every input covariance can be full rank. */
export function minimumCalibrationTokens(model: EsmModel): { tokens: number; path: string } {
  let best = { tokens: 0, path: '' };
  for (const site of projectionSites(model)) {
    const m = new Map(model.namedModules()).get(site.members[0] as string) as Linear;
    if (m.inFeatures > best.tokens) best = { tokens: m.inFeatures, path: site.members[0] as string };
  }
  return best;
}

/** Checks the policy against every projection and the calibration set's size, before any work. */
export function checkCompressInputs(model: EsmModel, set: TokenSet, o: CompressOptions): void {
  const need = minimumCalibrationTokens(model);
  if (set.tokens < need.tokens) {
    throw dataError(
      `calibration set too short: ${set.tokens} tokens in ${set.sequences} sequence(s), at least ${need.tokens} are needed (the widest projection input, ${need.path}, has ${need.tokens} features; give more sequences or a larger --max-tokens)`,
    );
  }
  const modules = new Map(model.namedModules());
  for (const site of projectionSites(model)) {
    for (const path of site.members) {
      const m = modules.get(path);
      if (!(m instanceof Linear)) throw configError(`${path} is already low rank: compress a model with dense projections`);
      if (o.policy.kind === 'rank' && !(o.allowFullRank === true && o.policy.rank === Math.min(m.inFeatures, m.outFeatures))) {
        checkRank(o.policy.rank, m.inFeatures, m.outFeatures, `--rank (${path})`);
      }
    }
  }
  if (o.policy.kind === 'target-cosine' && !(o.policy.cosine > 0 && o.policy.cosine <= 1)) throw configError(`--target-cosine must be in (0, 1], got ${o.policy.cosine}`);
  if (o.policy.kind === 'params-fraction' && !(o.policy.fraction > 0 && o.policy.fraction < 1)) throw configError(`--params-fraction must be in (0, 1), got ${o.policy.fraction}`);
}

/** Compresses `model` in place on the calibration set. */
export async function compressEsm(model: EsmModel, set: TokenSet, o: CompressOptions): Promise<CompressResult> {
  const t0 = performance.now();
  checkCompressInputs(model, set, o);
  const sampleRows = o.sampleRows ?? 2048;
  const method = o.method ?? 'closed-form';
  const seqOpts = (phase: string) => ({ sampleRows, ...(o.runtime === undefined ? {} : { runtime: o.runtime }), onSite: (d: number, n: number, l: string) => o.onProgress?.(phase, d, n, l) });

  // A parameter budget is allocated from the dense model's statistics (all projections at once),
  // then the sequential pass fits the allocated ranks.
  let allocation: RankAllocation | null = null;
  if (o.policy.kind === 'params-fraction') {
    const inputs: { path: string; inFeatures: number; outFeatures: number; relError: Float64Array }[] = [];
    await calibrateSequentially(model, set, async ({ site, moments, sample }) => {
      const modules = new Map(model.namedModules());
      for (const path of site.members) {
        const fit = await fitProjection(path, modules.get(path) as Linear, moments, 1, sample.subarray(0, 0));
        inputs.push({ path, inFeatures: fit.teacher.inFeatures, outFeatures: fit.teacher.outFeatures, relError: fit.relError });
      }
      return new Map();
    }, seqOpts('spectra'));
    allocation = allocateRanks(inputs, o.policy.fraction);
  }

  const reports: ProjectionReport[] = [];
  await calibrateSequentially(model, set, async ({ site, moments, sample }) => {
    const modules = new Map(model.namedModules());
    const out = new Map<string, Module>();
    for (const path of site.members) {
      const lin = modules.get(path) as Linear;
      const dense = projectionParameters(lin.inFeatures, lin.outFeatures, null);
      const allocated = allocation?.get(path);
      const wanted = o.policy.kind === 'params-fraction' ? (allocated ?? null) : null;
      if (o.policy.kind === 'params-fraction' && wanted === null) {
        reports.push({ path, inFeatures: lin.inFeatures, outFeatures: lin.outFeatures, rank: null, paramsBefore: dense, paramsAfter: dense, cosine: 1, relError: 0 });
        continue;
      }
      const k = basisSize(o.policy, lin.inFeatures, lin.outFeatures, wanted);
      const fit = await fitProjection(path, lin, moments, k, sample);
      const rank = o.policy.kind === 'params-fraction' ? wanted : chooseRank(o.policy, fit, o.allowFullRank === true ? { allowFullRank: true } : {});
      if (rank === null) {
        reports.push({ path, inFeatures: lin.inFeatures, outFeatures: lin.outFeatures, rank: null, paramsBefore: dense, paramsAfter: dense, cosine: 1, relError: 0 });
        continue;
      }
      // weight-svd: the data-free baseline, Linear.toLowRank's truncated SVD (dense bias kept).
      const factors = method === 'closed-form' ? fitFactors(fit, rank) : (await lin.toLowRank(rank)).factors();
      const lr = await factorsModule(fit, factors, sample, o.allowFullRank === true ? { allowFullRank: true } : {});
      out.set(path, lr.module);
      const relError = method === 'closed-form' ? (fit.relError[rank] as number) : await factorsRelError(fit, factors);
      reports.push({ path, inFeatures: lin.inFeatures, outFeatures: lin.outFeatures, rank, paramsBefore: dense, paramsAfter: lr.parameters, cosine: lr.cosine, relError });
    }
    return out;
  }, seqOpts('compress'));
  return {
    policy: o.policy,
    method,
    projections: reports,
    allocation,
    calibrationTokens: set.tokens,
    calibrationSequences: set.sequences,
    sampleRows,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Largest rank each projection could take and still save parameters (for messages and docs). */
export function savingRanks(model: EsmModel): Map<string, number> {
  const modules = new Map(model.namedModules());
  return new Map(projectionSites(model).flatMap((s) => s.members).map((p) => {
    const m = modules.get(p) as Linear;
    return [p, maxSavingRank(m.inFeatures, m.outFeatures)];
  }));
}
