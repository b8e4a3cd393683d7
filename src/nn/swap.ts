import { configError } from '../errors.js';
import { Linear } from './linear.js';
import { LowRankLinear, type LowRankFactors } from './low-rank-linear.js';
import { Module } from './module.js';
import { Rng } from '../tensor/random.js';

/**
 * Module swaps over a module tree (MLX `quantize(model, predicate)` style): one pass walks the
 * fields of every module (and arrays of modules), asks `replace` about each sub-module by its
 * dotted path, and writes the replacement into the parent's field. Replaced modules are not
 * descended into. Fields are `readonly` to model code, so the swap is the one place that writes them.
 */

/** Replaces sub-modules in place; `replace` returns the new module, or null to keep (and descend into) the old one. Returns the swapped paths. */
export function swapModules(root: Module, replace: (path: string, module: Module) => Module | null): string[] {
  const swapped: string[] = [];
  const visit = (holder: Record<string | number, unknown>, key: string | number, path: string): void => {
    const v = holder[key];
    if (v instanceof Module) {
      const r = replace(path, v);
      if (r !== null && r !== v) {
        holder[key] = r;
        swapped.push(path);
      } else walk(v, `${path}.`);
    } else if (Array.isArray(v)) v.forEach((_, i) => visit(v as unknown as Record<number, unknown>, i, `${path}.${i}`));
  };
  const walk = (m: Module, prefix: string): void => {
    for (const k of Object.keys(m)) visit(m as unknown as Record<string, unknown>, k, `${prefix}${k}`);
  };
  walk(root, '');
  return swapped;
}

/** What a low-rank swap puts at a path: a rank (a zero-initialised placeholder for a loader to fill) or factors. */
export type LowRankSpec = number | LowRankFactors;

/**
 * Swaps the Linear layers at the given paths (`layers.0.selfAttn.qProj`) for LowRankLinear
 * modules. Strict: every path must name a Linear of the tree, or nothing is changed and one error
 * lists the paths that do not.
 */
export function swapToLowRank(root: Module, specs: ReadonlyMap<string, LowRankSpec>, opts: { allowFullRank?: boolean } = {}): string[] {
  const modules = new Map(root.namedModules());
  const bad = [...specs.keys()].filter((p) => !(modules.get(p) instanceof Linear));
  if (bad.length > 0) {
    throw configError(`low-rank swap: ${bad.map((p) => `'${p}'${modules.has(p) ? ' is not a dense Linear' : ' is not a module of the model'}`).join(', ')}`);
  }
  const built = new Map<string, LowRankLinear>();
  for (const [path, spec] of specs) {
    const lin = modules.get(path) as Linear;
    const o = opts.allowFullRank === true ? { allowFullRank: true } : {};
    if (typeof spec === 'number') built.set(path, new LowRankLinear(lin.inFeatures, lin.outFeatures, spec, { ...o, rng: new ZeroRng() }));
    else {
      if (spec.inFeatures !== lin.inFeatures || spec.outFeatures !== lin.outFeatures) {
        throw configError(`low-rank swap: factors for '${path}' are ${spec.outFeatures} x ${spec.inFeatures}, the layer is ${lin.outFeatures} x ${lin.inFeatures}`);
      }
      built.set(path, LowRankLinear.fromFactors(spec, o));
    }
  }
  return swapModules(root, (path) => built.get(path) ?? null);
}

/** Paths and ranks of the LowRankLinear modules of a tree. */
export function lowRankPaths(root: Module): Map<string, number> {
  return new Map(root.namedModules().filter(([, m]) => m instanceof LowRankLinear).map(([p, m]) => [p, (m as LowRankLinear).rank]));
}

/** Zero-filled "draws": placeholders a loader overwrites cost no random numbers (and no resident memory until written). */
class ZeroRng extends Rng {
  constructor() {
    super(0);
  }
  override uniformArray(n: number): Float32Array {
    return new Float32Array(n);
  }
  override normalArray(n: number): Float32Array {
    return new Float32Array(n);
  }
}
