import { join } from 'node:path';
import { writeDirAtomic } from '../io/atomic-dir.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { fairEsmFileName, writeFairEsm } from '../io/esm/fair-esm-writer.js';
import { writeHfEsm } from '../io/esm/hf-writer.js';
import type { EsmModel } from '../models/esm/model.js';
import { exportEsmOnnxFiles, onnxFileEntries } from '../models/esm/onnx.js';

/** File names inside a model output directory. */
export interface ModelOutputFiles {
  /** fair-esm checkpoint (its `-contact-regression.pt` sits beside it). */
  readonly pt: string;
  /** Hugging Face `EsmForMaskedLM` directory. */
  readonly hf: string;
  /** Standalone ONNX model (tokens -> logits, final representations; over 1.5 GB of weights with `model.onnx.data` beside it). */
  readonly onnx: string;
}

/**
 * Writes a model in the three forms users load (`final/` and `best/` of a training run): a fair-esm
 * `.pt`, a Hugging Face directory and ONNX. The directory is replaced atomically as a whole.
 */
export function writeModelOutputs(model: EsmModel, dir: string, stem = 'model'): ModelOutputFiles {
  const pt = fairEsmFileName(model, stem);
  writeDirAtomic(dir, (tmp) => {
    writeFairEsm(model, join(tmp, pt));
    writeHfEsm(model, join(tmp, 'hf'));
    writeFilesAtomic(onnxFileEntries(join(tmp, 'model.onnx'), exportEsmOnnxFiles(model)));
  });
  return { pt: join(dir, pt), hf: join(dir, 'hf'), onnx: join(dir, 'model.onnx') };
}
