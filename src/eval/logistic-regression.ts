import { grad } from '../autograd/grad.js';
import { configError, dataError } from '../errors.js';
import { Program } from '../runtime/program.js';
import { Tensor } from '../tensor/tensor.js';
import { minimizeLbfgs, type LbfgsResult } from './lbfgs.js';

/**
 * Multinomial logistic regression with an L2 penalty, scikit-learn's objective and `C` convention
 * (`LogisticRegression(multi_class='multinomial', penalty='l2')`): minimise
 *   C · Σᵢ CE(softmax(xᵢ W + b), yᵢ) + ½ ‖W‖²      (the intercept b is not penalised),
 * here divided by C·n (the same optimum): mean CE + ‖W‖² / (2 C n). The data term and its
 * gradient — the (n, d) × (d, k) product, softmax and (d, n) × (n, k) back-product — are one
 * compiled engine run per evaluation; L-BFGS (lbfgs.ts) runs on the host in float64.
 */

/** A fitted classifier over `classes` classes and `dim` features. */
export interface LogisticModel {
  readonly dim: number;
  readonly classes: number;
  /** (dim, classes), row-major: logits = x W + b. */
  readonly weight: Float32Array;
  /** (classes). */
  readonly bias: Float32Array;
  readonly C: number;
  /** The objective C·ΣCE + ½‖W‖² at the solution (scikit-learn's scale). */
  readonly objective: number;
  readonly optimizer: Pick<LbfgsResult, 'iterations' | 'evaluations' | 'reason' | 'gradInf'>;
}

/** Options of {@link fitLogisticRegression}. */
export interface LogisticOptions {
  readonly C: number;
  /** Starting point (e.g. the solution at a neighbouring C); zeros by default. */
  readonly init?: Pick<LogisticModel, 'weight' | 'bias'>;
  readonly maxIter?: number;
  readonly gtol?: number;
  readonly onIter?: (iter: number, f: number) => void;
}

/** The compiled mean-CE-and-gradient program of one (n, d, k) problem. */
export class LogisticObjective {
  private constructor(
    private readonly program: Program,
    private readonly feeds: Float32Array[],
    private readonly wBuf: Float32Array,
    private readonly bBuf: Float32Array,
    private readonly outs: Float32Array[],
    readonly rows: number,
    readonly dim: number,
    readonly classes: number,
  ) {}

  /** Compiles the objective over features x (n, d) and class ids y (n) in [0, k). */
  static async create(x: Float32Array, y: Int32Array, dim: number, classes: number): Promise<LogisticObjective> {
    const n = y.length;
    if (x.length !== n * dim) throw dataError(`logistic regression: ${x.length} feature values for ${n} rows of ${dim}`);
    if (n === 0) throw dataError('logistic regression: no training rows');
    const onehot = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      const c = y[i] as number;
      if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw dataError(`logistic regression: class id ${c} of row ${i} is outside [0, ${classes})`);
      onehot[i * classes + c] = 1;
    }
    const X = Tensor.from(x, [n, dim]);
    const Y = Tensor.from(onehot, [n, classes]);
    const wBuf = new Float32Array(dim * classes);
    const bBuf = new Float32Array(classes);
    const W = Tensor.from(wBuf, [dim, classes], 'float32', true);
    const b = Tensor.from(bBuf, [classes], 'float32', true);
    const logits = X.matmul(W).add(b); // (n, d) x (d, k) -> (n, k)
    const meanCe = logits.logSoftmax(-1).mul(Y).sum().neg().div(n);
    const [gW, gb] = grad(meanCe, [W, b]) as [Tensor, Tensor];
    const program = await Program.compile([meanCe, gW, gb]);
    const feeds = program.inputs.map((node) => node.realized as Float32Array);
    return new LogisticObjective(program, feeds, wBuf, bBuf, program.allocOutputs() as Float32Array[], n, dim, classes);
  }

  /** Mean CE at (W, b) = unpacked `theta` (W row-major, then b); gradient written into `g`. */
  async evaluate(theta: Float64Array, g: Float64Array): Promise<number> {
    const nw = this.dim * this.classes;
    for (let i = 0; i < nw; i++) this.wBuf[i] = theta[i] as number;
    for (let i = 0; i < this.classes; i++) this.bBuf[i] = theta[nw + i] as number;
    await this.program.run(this.feeds, this.outs);
    const [ce, gW, gb] = this.outs as [Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < nw; i++) g[i] = gW[i] as number;
    for (let i = 0; i < this.classes; i++) g[nw + i] = gb[i] as number;
    return ce[0] as number;
  }
}

/** Fits the classifier at one C on a compiled objective (warm-started from `init` when given). */
export async function fitLogisticRegression(obj: LogisticObjective, o: LogisticOptions): Promise<LogisticModel> {
  const { dim, classes, rows } = obj;
  if (!(o.C > 0 && Number.isFinite(o.C))) throw configError(`logistic regression: C must be a positive number, got ${o.C}`);
  const nw = dim * classes;
  const lam = 1 / (o.C * rows); // mean CE + lam/2 ‖W‖²
  const theta0 = new Float64Array(nw + classes);
  if (o.init !== undefined) {
    theta0.set(o.init.weight);
    theta0.set(o.init.bias, nw);
  }
  const res = await minimizeLbfgs(
    async (theta, g) => {
      const ce = await obj.evaluate(theta, g);
      let reg = 0;
      for (let i = 0; i < nw; i++) {
        const w = theta[i] as number;
        reg += w * w;
        g[i]! += lam * w;
      }
      return ce + 0.5 * lam * reg;
    },
    theta0,
    { maxIter: o.maxIter ?? 1000, gtol: o.gtol ?? 1e-6, ...(o.onIter === undefined ? {} : { onIter: o.onIter }) },
  );
  return {
    dim,
    classes,
    weight: Float32Array.from(res.x.subarray(0, nw)),
    bias: Float32Array.from(res.x.subarray(nw)),
    C: o.C,
    objective: res.f * o.C * rows,
    optimizer: { iterations: res.iterations, evaluations: res.evaluations, reason: res.reason, gradInf: res.gradInf },
  };
}

/** Class scores (n, k) = x W + b for features x (n, d), computed on the engine. */
export async function decisionFunction(model: Pick<LogisticModel, 'weight' | 'bias' | 'dim' | 'classes'>, x: Float32Array): Promise<Float32Array> {
  const n = x.length / model.dim;
  if (!Number.isInteger(n)) throw dataError(`logistic regression: ${x.length} feature values are not rows of ${model.dim}`);
  if (n === 0) return new Float32Array(0);
  const scores = Tensor.from(x, [n, model.dim]).matmul(Tensor.from(model.weight, [model.dim, model.classes])).add(Tensor.from(model.bias, [model.classes]));
  return (await scores.toArray()) as Float32Array;
}
