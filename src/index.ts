/**
 * protdistil: make protein language models small and fast, on ONNX Runtime.
 * The public API: the lazy tensor engine, autodiff, modules, optimizers, compiled training steps,
 * ONNX export, and the ESM models.
 */
export { ProtdistilError, isProtdistilError, type ErrorCode } from './errors.js';
export { Tensor, type TensorLike } from './tensor/tensor.js';
export { hostArray, numel, type DType, type HostArray } from './tensor/host-array.js';
export { Rng } from './tensor/random.js';
export { realize } from './runtime/realize.js';
export { Program, configureRuntime, runtimeOptions, sessionCache } from './runtime/program.js';
export { evaluateReference } from './runtime/reference.js';
export { OnnxModel } from './runtime/onnx-model.js';
export { grad, backward, gradientMap } from './autograd/grad.js';
export { noGrad, gradEnabled } from './autograd/mode.js';
export { Module, Parameter } from './nn/module.js';
export { Linear } from './nn/linear.js';
export { LayerNorm } from './nn/layer-norm.js';
export { Embedding } from './nn/embedding.js';
export { saveModule, loadModule } from './nn/serialization.js';
export { gelu, relu } from './nn/functional/activations.js';
export { scaledDotProductAttention } from './nn/functional/attention.js';
export { applyRotary, rotaryTables, rotaryInvFreq, rotateHalf } from './nn/functional/rotary.js';
export { crossEntropy, klDivergence, distillationLoss, mse, validMask, IGNORE_INDEX } from './nn/functional/losses.js';
export { cosineSimilarity } from './nn/functional/similarity.js';
export { adam, adamw } from './optim/adam.js';
export { sgd } from './optim/sgd.js';
export { constantSchedule, linearSchedule, cosineSchedule, scheduleByName, type Schedule } from './optim/schedules.js';
export { clipGradNorm, globalNorm } from './optim/clip.js';
export type { Optimizer } from './optim/optimizer.js';
export { TrainStep, type StepResult, type TrainStepOptions } from './train/train-step.js';
export { exportOnnx, exportOnnxFile, type ExportInput } from './export/onnx-export.js';
export * from './models/esm/config.js';
export { Esm2 } from './models/esm/esm2.js';
