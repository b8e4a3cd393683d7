import { shapeError } from '../../errors.js';
import { fmtShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/** Losses as pure functions of tensors. Rows are the leading dims; classes the last dim. */

/** Default ignore index, as PyTorch's cross_entropy. */
export const IGNORE_INDEX = -100;

function checkRows(op: string, logits: Tensor, targets: Tensor): void {
  if (logits.rank !== targets.rank + 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw shapeError(op, `targets ${fmtShape(targets.shape)} must match the leading dims of logits ${fmtShape(logits.shape)}`);
  }
}

/** (N…, V) one-hot float of integer targets; targets outside [0, V) (e.g. ignore) give zero rows. */
function oneHot(targets: Tensor, v: number): Tensor {
  const classes = Tensor.constant(Array.from({ length: v }, (_, i) => i), [v], targets.dtype);
  return targets.unsqueeze(-1).equal(classes).cast('float32');
}

/** 1 where the target is not ignored, as float (N…). */
export function validMask(targets: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  return targets.equal(ignoreIndex).logicalNot().cast('float32');
}

/** Mean of `x` over rows where `w` is 1 (0 when no row counts). */
function maskedMean(x: Tensor, w: Tensor): Tensor {
  return x.mul(w).sum().div(w.sum().maximum(1));
}

/**
 * Cross-entropy of integer targets, averaged over non-ignored rows (PyTorch `cross_entropy`
 * with `ignore_index`, reduction 'mean').
 */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  checkRows('crossEntropy', logits, targets);
  const v = logits.shape[logits.rank - 1] as number;
  const nll = logits.logSoftmax(-1).mul(oneHot(targets, v)).sum(-1).neg(); // (N…)
  return maskedMean(nll, validMask(targets, ignoreIndex));
}

/**
 * KL(teacher_T ‖ student_T) with temperature T, summed over classes and averaged over rows where
 * `rowWeight` is 1 (all rows if omitted). The teacher is treated as a constant (Hinton et al.,
 * https://arxiv.org/abs/1503.02531).
 */
export function klDivergence(student: Tensor, teacher: Tensor, temperature = 1, rowWeight?: Tensor): Tensor {
  if (student.rank !== teacher.rank || student.shape.some((d, i) => d !== teacher.shape[i])) {
    throw shapeError('klDivergence', `student ${fmtShape(student.shape)} and teacher ${fmtShape(teacher.shape)} logits differ`);
  }
  const t = teacher.detach();
  const logPt = (temperature === 1 ? t : t.div(temperature)).logSoftmax(-1);
  const logPs = (temperature === 1 ? student : student.div(temperature)).logSoftmax(-1);
  const kl = logPt.exp().mul(logPt.sub(logPs)).sum(-1); // (N…)
  return rowWeight === undefined ? kl.mean() : maskedMean(kl, rowWeight);
}

/** Options of the distillation loss. */
export interface DistillLossOptions {
  /** Weight of the KL term, λ in [0, 1]. */
  readonly lambda: number;
  /** Softmax temperature T. */
  readonly temperature: number;
  readonly ignoreIndex?: number;
}

/**
 * (1 − λ)·CE(student, targets) + λ·T²·KL(teacher_T ‖ student_T), both over the masked (non-ignored)
 * positions. Returns the total and both parts.
 */
export function distillationLoss(student: Tensor, teacher: Tensor, targets: Tensor, o: DistillLossOptions): { loss: Tensor; ce: Tensor; kl: Tensor } {
  const ignore = o.ignoreIndex ?? IGNORE_INDEX;
  const ce = crossEntropy(student, targets, ignore);
  const kl = klDivergence(student, teacher, o.temperature, validMask(targets, ignore));
  const loss = ce.mul(1 - o.lambda).add(kl.mul(o.lambda * o.temperature * o.temperature));
  return { loss, ce, kl };
}

/** Mean squared error over all elements. */
export function mse(a: Tensor, b: Tensor): Tensor {
  return a.sub(b).square().mean();
}
