import { checkpointError } from '../errors.js';
import type { HostArray } from '../tensor/host-array.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A trainable leaf tensor. Modules discover parameters by walking their fields. */
export class Parameter extends Tensor {
  /** Wraps host data as a parameter (requires gradients until frozen). */
  static of(arr: HostArray): Parameter {
    return new Parameter(Tensor.fromHost(arr, true).node);
  }
}

/**
 * Base class of layers: plain classes whose fields hold Parameters, sub-Modules and arrays of
 * them; dotted names follow field names (`layers.0.attn.q.weight`), as in PyTorch.
 */
export abstract class Module {
  /** Training mode (dropout and similar behave differently in eval mode). */
  training = true;

  /** Parameters with dotted names, in field order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const visit = (name: string, v: unknown): void => {
      if (v instanceof Parameter) out.push([name, v]);
      else if (v instanceof Module) out.push(...v.namedParameters(`${name}.`));
      else if (Array.isArray(v)) v.forEach((item, i) => visit(`${name}.${i}`, item));
    };
    for (const [k, v] of Object.entries(this)) visit(`${prefix}${k}`, v);
    return out;
  }

  /** Parameters in field order. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that currently require gradients. */
  trainableParameters(): [string, Parameter][] {
    return this.namedParameters().filter(([, p]) => p.requiresGrad);
  }

  /** Sub-modules (including this one) with dotted names. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    const visit = (name: string, v: unknown): void => {
      if (v instanceof Module) out.push(...v.namedModules(`${name}.`));
      else if (Array.isArray(v)) v.forEach((item, i) => visit(`${name}.${i}`, item));
    };
    for (const [k, v] of Object.entries(this)) visit(`${prefix}${k}`, v);
    return out;
  }

  /** Stops gradients to every parameter (graphs built afterwards get no gradient nodes for them). */
  freeze(): this {
    for (const p of this.parameters()) p.node.requiresGrad = false;
    return this;
  }

  /** Re-enables gradients for every parameter. */
  unfreeze(): this {
    for (const p of this.parameters()) p.node.requiresGrad = true;
    return this;
  }

  /** Sets training mode on this module and all sub-modules. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Evaluation mode. */
  eval(): this {
    return this.train(false);
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.size, 0);
  }

  /** Current parameter values (parameters must be realized: they always are between steps). */
  stateDict(): Map<string, HostArray> {
    const out = new Map<string, HostArray>();
    for (const [name, p] of this.namedParameters()) {
      if (p.node.realized === null) throw checkpointError(`parameter ${name} has no data`);
      out.set(name, { dtype: p.dtype, shape: [...p.shape], data: p.node.realized });
    }
    return out;
  }

  /**
   * Loads parameter values. Strict by default: every missing, unexpected and mis-shaped key is
   * reported at once and nothing is changed unless all keys fit.
   */
  loadStateDict(sd: ReadonlyMap<string, HostArray>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const params = new Map(this.namedParameters());
    const missing = [...params.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !params.has(k));
    const misshaped: string[] = [];
    for (const [k, p] of params) {
      const v = sd.get(k);
      if (v === undefined) continue;
      if (!sameShape(v.shape, p.shape) || v.dtype !== p.dtype) misshaped.push(`${k}: checkpoint ${v.dtype} ${fmtShape(v.shape)} vs model ${p.dtype} ${fmtShape(p.shape)}`);
    }
    const problems: string[] = [];
    if (misshaped.length > 0) problems.push(`mis-shaped: ${misshaped.join('; ')}`);
    if (strict && missing.length > 0) problems.push(`missing: ${missing.join(', ')}`);
    if (strict && unexpected.length > 0) problems.push(`unexpected: ${unexpected.join(', ')}`);
    if (problems.length > 0) throw checkpointError(`state dict does not fit the model (${problems.join(' | ')})`);
    for (const [k, p] of params) {
      const v = sd.get(k);
      if (v !== undefined) p.assign(v.data);
    }
  }
}
