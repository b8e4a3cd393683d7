import { noGrad } from '../autograd/mode.js';
import { padTokens } from '../data/batching.js';
import { configError, shapeError } from '../errors.js';
import type { EsmModel } from '../models/esm/model.js';
import type { RuntimeOptions } from '../runtime/ort.js';
import { runtimeOptions } from '../runtime/program.js';
import { SymbolicProgram } from '../runtime/symbolic-program.js';
import type { HostArray } from '../tensor/host-array.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * An ESM forward pass compiled once for every batch shape. The model is traced with a
 * placeholder token matrix and lowered with symbolic batch and length dims (the export lowering,
 * which the ESM graph supports), while parameters stay graph inputs fed from the model's own
 * buffers on each run: one ONNX Runtime session serves every (B, T) without padding batches to
 * bucket lengths and without a second copy of the weights.
 *
 * Dims: B batch, T tokens, E embed, V vocab.
 */

/** What a session computes. */
export interface ForwardOutputsSpec {
  /** Representation layers in [0, L]. */
  readonly reprLayers: readonly number[];
  readonly logits: boolean;
  readonly contacts: boolean;
}

/** Host results of one batch. */
export interface ForwardResult {
  /** (B, T, E) per requested layer. */
  readonly representations: ReadonlyMap<number, HostArray>;
  /** (B, T, V) when requested. */
  readonly logits: HostArray | null;
  /** (B, T − 2, T − 2) when requested. */
  readonly contacts: HostArray | null;
}

/** Trace sizes: at least 2 (unit dims would be squeezed) and unlike the model's own dims. */
const TRACE_BATCH = 3;
const TRACE_LENGTH = 13;

/** A compiled ESM forward pass for token matrices of any shape up to `maxTokens` columns. */
export class EsmForwardSession {
  private constructor(
    private readonly program: SymbolicProgram,
    private readonly outputKinds: readonly ({ kind: 'repr'; layer: number } | { kind: 'logits' } | { kind: 'contacts' })[],
    readonly maxTokens: number,
    readonly compileMs: number,
  ) {}

  /**
   * Traces `model` under `noGrad` (no gradient nodes, the inference attention path) and compiles it
   * for the requested outputs. The session reads the parameters' current buffers at every run.
   */
  static async create(
    model: EsmModel,
    spec: ForwardOutputsSpec,
    opts: { maxTokens: number; runtime?: RuntimeOptions; memoryArena?: boolean },
  ): Promise<EsmForwardSession> {
    const t0 = performance.now();
    if (!spec.logits && !spec.contacts && spec.reprLayers.length === 0) throw configError('EsmForwardSession: nothing requested');
    model.reserveLength(opts.maxTokens);
    const tokens = Tensor.placeholder([TRACE_BATCH, TRACE_LENGTH], 'int64', 'tokens');
    const out = noGrad(() => model.forward(tokens, { reprLayers: spec.reprLayers, returnContacts: spec.contacts }));
    const kinds: ({ kind: 'repr'; layer: number } | { kind: 'logits' } | { kind: 'contacts' })[] = [];
    const outputs: Tensor[] = [];
    for (const l of spec.reprLayers) {
      kinds.push({ kind: 'repr', layer: l });
      outputs.push(out.representations.get(l) as Tensor);
    }
    if (spec.logits) {
      kinds.push({ kind: 'logits' });
      outputs.push(out.logits);
    }
    if (spec.contacts && out.contacts !== null) {
      kinds.push({ kind: 'contacts' });
      outputs.push(out.contacts);
    }
    // ORT's memory arena on by default: attention buffers (B·H·T² floats, hundreds of MB for long
    // batches) are then reused instead of mapped and faulted in afresh by every op, which measured
    // up to 2x faster on extraction batches (docs/PERFORMANCE.md); the arena keeps its peak size.
    const runtime = { ...(opts.runtime ?? runtimeOptions()), memoryArena: opts.memoryArena ?? true };
    const program = await SymbolicProgram.compile(outputs, [{ tensor: tokens, name: 'tokens', dims: ['batch', 'length'] }], { graphName: 'esm_forward', runtime });
    return new EsmForwardSession(program, kinds, opts.maxTokens, performance.now() - t0);
  }

  /** Runs one (B, T) int64 token matrix (T ≥ 2: every row has BOS and EOS). */
  async run(input: HostArray): Promise<ForwardResult> {
    if (input.dtype !== 'int64' || input.shape.length !== 2) throw shapeError('EsmForwardSession.run', `tokens must be an int64 (B, T) matrix, got ${input.dtype} ${fmtShape(input.shape)}`);
    // The contact map drops BOS and EOS: a batch of empty sequences (T = 2) gets one pad column,
    // which changes nothing at the real positions.
    const needsPad = this.outputKinds.some((k) => k.kind === 'contacts') && (input.shape[1] as number) < 3;
    const tokens = needsPad ? padTokens(input as HostArray<'int64'>, 3) : input;
    const T = tokens.shape[1] as number;
    if (T > this.maxTokens) throw shapeError('EsmForwardSession.run', `${T} tokens per row exceed the ${this.maxTokens} this session was built for`);
    const outs = await this.program.run([tokens]);
    const representations = new Map<number, HostArray>();
    let logits: HostArray | null = null;
    let contacts: HostArray | null = null;
    this.outputKinds.forEach((k, i) => {
      const arr = outs[i] as HostArray;
      if (k.kind === 'repr') representations.set(k.layer, arr);
      else if (k.kind === 'logits') logits = arr;
      else contacts = arr;
    });
    return { representations, logits, contacts };
  }
}
