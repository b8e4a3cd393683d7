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
export { SymbolicProgram, type SymbolicInput } from './runtime/symbolic-program.js';
export { concurrentMarking, setConcurrentMarking, withConcurrentMarking } from './runtime/gc-mode.js';
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
export { Esm1b } from './models/esm/esm1b.js';
export { createEsmModel, resolveReprLayers, type EsmModel } from './models/esm/model.js';
export { exportEsmOnnx } from './models/esm/onnx.js';
export { loadEsm } from './io/esm/load.js';
export { loadFairEsm } from './io/esm/fair-esm.js';
export { loadHfEsm } from './io/esm/hugging-face.js';
export { writeHfEsm } from './io/esm/hf-writer.js';
export { extractEmbeddings, type ExtractOptions, type ExtractSummary } from './extract/pipeline.js';
export { EsmForwardSession } from './extract/forward-session.js';
export { encode, batchConvert } from './data/tokenizer.js';
export { readFasta, readFastaAll } from './data/fasta.js';
export { readNpy, writeNpy } from './io/npy.js';
export { readSafetensors, writeSafetensors, SafetensorsReader } from './io/safetensors.js';
export { readPt, readPtTensor } from './io/pt-reader.js';
export { writePt } from './io/pt-writer.js';
export { runDistilRank } from './rank/pipeline.js';
export { parseRankConfig, type RankConfig } from './rank/config.js';
export { LowRankLinear, toLowRank, lowRankForward, type LowRankFactors } from './rank/low-rank-linear.js';
export { inputStats, outputBasis, closedFormFactors } from './rank/closed-form.js';
export { symmetricEigen } from './linalg/symmetric-eigen.js';
export { randomizedSvd } from './linalg/randomized-svd.js';
export { truncatedSvd } from './linalg/truncated-svd.js';
