import type { Tensor } from '../tensor/tensor.js';

/**
 * The optimizer protocol: per-parameter state slots (zero-initialised, same shape as the
 * parameter), step-dependent scalars computed on the host (so schedules never recompile a graph),
 * and a pure graph function from (param, grad, state, scalars) to the updated param and state.
 */
export interface Optimizer {
  readonly name: string;
  /** Names of the per-parameter state tensors (e.g. Adam's `grad_sum`, `grad_sq_sum`). */
  readonly stateSlots: readonly string[];
  /** Names of the scalar inputs the update reads. */
  readonly scalarNames: readonly string[];
  /** Values of those scalars for a 1-based step `t` at learning rate `lr`. */
  scalars(t: number, lr: number): number[];
  /** Builds the update for one parameter; `s` holds the scalar inputs by name. */
  update(p: Tensor, g: Tensor, state: readonly Tensor[], s: Readonly<Record<string, Tensor>>): { param: Tensor; state: Tensor[] };
}
