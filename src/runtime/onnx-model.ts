import { runtimeError } from '../errors.js';
import type { DataOf, DType, HostArray } from '../tensor/host-array.js';
import { ortTensor, OrtSession } from './ort.js';
import { runtimeOptions } from './program.js';

const FROM_ORT: Readonly<Record<string, DType>> = { float32: 'float32', int32: 'int32', int64: 'int64', bool: 'bool' };

/** A standalone ONNX model (e.g. an exported student) loaded into ONNX Runtime. */
export class OnnxModel {
  private constructor(private readonly session: OrtSession) {}

  /** Loads serialised model bytes. */
  static async load(bytes: Uint8Array): Promise<OnnxModel> {
    return new OnnxModel(await OrtSession.create(bytes, runtimeOptions()));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs with host arrays by input name; returns host arrays by output name. */
  async run(feeds: Readonly<Record<string, HostArray>>): Promise<Record<string, HostArray>> {
    const f: Record<string, ReturnType<typeof ortTensor>> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = ortTensor(v.dtype, v.data, v.shape);
    const out = await this.session.runAlloc(f);
    const res: Record<string, HostArray> = {};
    for (const [k, v] of Object.entries(out)) {
      const t = v as unknown as { type: string; dims: readonly number[]; data: DataOf[DType] };
      const dtype = FROM_ORT[t.type];
      if (dtype === undefined) throw runtimeError(`model output ${k} has unsupported type ${t.type}`);
      res[k] = { dtype, shape: [...t.dims], data: t.data };
    }
    return res;
  }
}
