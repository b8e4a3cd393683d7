import type { OpAttrs, OpKind } from '../ops/kinds.js';
import type { DataOf, DType } from './host-array.js';

let nextId = 1;

/**
 * One vertex of the lazy graph IR. Leaves are `input` (data supplied at run time, possibly a
 * placeholder filled per run) and `const` (small literal values embedded in the graph). Any node
 * whose `realized` is set is treated as data by lowering, but keeps its inputs for autodiff.
 */
export class Node {
  readonly id: number;
  readonly op: OpKind;
  readonly inputs: readonly Node[];
  readonly attrs: OpAttrs[OpKind];
  readonly shape: readonly number[];
  readonly dtype: DType;
  /**
   * Whether gradients flow to this node: set at construction from inputs and grad mode; leaves
   * (parameters) may be switched by `freeze()` before graphs are built on them.
   */
  requiresGrad: boolean;
  /** Gradient accumulated by `backward()` for leaves. */
  grad: import('./tensor.js').Tensor | null = null;
  /** Host data once computed or supplied. */
  realized: DataOf[DType] | null = null;

  constructor(
    op: OpKind,
    inputs: readonly Node[],
    attrs: OpAttrs[OpKind],
    shape: readonly number[],
    dtype: DType,
    requiresGrad: boolean,
  ) {
    this.id = nextId++;
    this.op = op;
    this.inputs = inputs;
    this.attrs = attrs;
    this.shape = shape;
    this.dtype = dtype;
    this.requiresGrad = requiresGrad;
  }

  /** True for nodes that lowering turns into graph inputs. */
  get isData(): boolean {
    return this.realized !== null || this.op === 'input';
  }
}
