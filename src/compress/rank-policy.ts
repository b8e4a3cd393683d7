import { configError } from '../errors.js';
import { maxSavingRank, projectionParameters, type ProjectionFit } from './projection-fit.js';

/**
 * Rank selection for whole-model compression. Three ways to ask:
 * - `rank`: the same rank r for every projection;
 * - `target-cosine`: per projection, the smallest rank whose closed-form output cosine on the
 *   calibration sample reaches x;
 * - `params-fraction`: ranks allocated across projections so that the projections keep at most a
 *   fraction f of their dense parameters, greedily by fidelity lost per parameter saved.
 * In every case a projection whose rank would not store fewer weights than the dense matrix
 * (r·(in + out) ≥ in·out) stays dense.
 */
export type RankPolicy =
  | { readonly kind: 'rank'; readonly rank: number }
  | { readonly kind: 'target-cosine'; readonly cosine: number }
  | { readonly kind: 'params-fraction'; readonly fraction: number };

/** One projection as the allocator sees it. */
export interface AllocationInput {
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** relError[r] for r = 0 … maxSavingRank (see ProjectionFit). */
  readonly relError: Float64Array;
}

/** The rank of each projection (null: stays dense). */
export type RankAllocation = ReadonlyMap<string, number | null>;

/** Basis vectors a fit needs under a policy (the largest rank it may choose). */
export function basisSize(policy: RankPolicy, inFeatures: number, outFeatures: number, allocated: number | null | undefined): number {
  if (policy.kind === 'rank') return Math.min(policy.rank, outFeatures);
  if (policy.kind === 'target-cosine') return Math.max(1, maxSavingRank(inFeatures, outFeatures));
  return Math.max(1, allocated ?? 1);
}

/** The rank a fit gets under `rank` or `target-cosine` (null: stays dense). */
export function chooseRank(policy: RankPolicy, fit: ProjectionFit, opts: { allowFullRank?: boolean } = {}): number | null {
  const { inFeatures: inn, outFeatures: out } = fit.teacher;
  if (policy.kind === 'rank') {
    if (opts.allowFullRank === true && policy.rank === Math.min(inn, out)) return policy.rank;
    return policy.rank <= maxSavingRank(inn, out) ? policy.rank : null;
  }
  if (policy.kind === 'target-cosine') {
    const top = maxSavingRank(inn, out);
    for (let r = 1; r <= top; r++) if ((fit.cosine[r] as number) >= policy.cosine) return r;
    return null;
  }
  throw configError('chooseRank: params-fraction ranks come from allocateRanks');
}

/**
 * Greedy allocation under a parameter budget: start dense everywhere; repeatedly take the move
 * that loses the least relative output error per parameter saved — for a dense projection, the
 * jump to whichever saving rank has the best ratio, for a factored one, one rank down — until the
 * projections hold at most `fraction` of their dense parameters. Errors are each projection's
 * relative output error (fraction of its output energy lost), so projections of every size weigh alike.
 */
export function allocateRanks(inputs: readonly AllocationInput[], fraction: number): RankAllocation {
  if (!(fraction > 0 && fraction < 1)) throw configError(`--params-fraction must be in (0, 1), got ${fraction}`);
  const dense = inputs.reduce((a, p) => a + projectionParameters(p.inFeatures, p.outFeatures, null), 0);
  const floor = inputs.reduce((a, p) => a + projectionParameters(p.inFeatures, p.outFeatures, maxSavingRank(p.inFeatures, p.outFeatures) > 0 ? 1 : null), 0);
  const budget = fraction * dense;
  if (budget < floor) throw configError(`--params-fraction ${fraction} is below what rank 1 everywhere reaches (${(floor / dense).toFixed(4)} of the projection parameters)`);
  const rank = new Map<string, number | null>(inputs.map((p) => [p.path, null]));
  const err = (p: AllocationInput, r: number | null): number => (r === null ? 0 : (p.relError[r] as number));
  const params = (p: AllocationInput, r: number | null): number => projectionParameters(p.inFeatures, p.outFeatures, r);
  // The best first jump of each projection (fixed: it depends only on the projection).
  const jump = new Map<string, { rank: number; cost: number }>();
  for (const p of inputs) {
    const top = Math.min(maxSavingRank(p.inFeatures, p.outFeatures), p.relError.length - 1);
    let best: { rank: number; cost: number } | null = null;
    for (let r = 1; r <= top; r++) {
      const cost = err(p, r) / (params(p, null) - params(p, r));
      if (best === null || cost < best.cost) best = { rank: r, cost };
    }
    if (best !== null) jump.set(p.path, best);
  }
  let total = dense;
  while (total > budget) {
    let pick: { p: AllocationInput; to: number; cost: number } | null = null;
    for (const p of inputs) {
      const cur = rank.get(p.path) as number | null;
      let move: { to: number; cost: number } | null = null;
      if (cur === null) {
        const j = jump.get(p.path);
        if (j !== undefined) move = { to: j.rank, cost: j.cost };
      } else if (cur > 1) {
        move = { to: cur - 1, cost: (err(p, cur - 1) - err(p, cur)) / (params(p, cur) - params(p, cur - 1)) };
      }
      if (move !== null && (pick === null || move.cost < pick.cost)) pick = { p, ...move };
    }
    if (pick === null) break;
    total -= params(pick.p, rank.get(pick.p.path) as number | null) - params(pick.p, pick.to);
    rank.set(pick.p.path, pick.to);
  }
  return rank;
}
