import { gradientMap } from '../autograd/grad.js';
import { configError, runtimeError, shapeError } from '../errors.js';
import type { Parameter } from '../nn/module.js';
import { clipGradNorm, globalNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Schedule } from '../optim/schedules.js';
import { collectGraph, type PendingGraph } from '../runtime/graph.js';
import { LoopProgram } from '../runtime/loop-program.js';
import { Program } from '../runtime/program.js';
import { allocData, numel, type DataOf, type DType, type HostArray } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** What the loss function returns: the scalar loss and optional scalar metrics to report. */
export type LossResult = Tensor | { readonly loss: Tensor; readonly metrics?: Readonly<Record<string, Tensor>> };

/** Options of a compiled training step. */
export interface TrainStepOptions {
  /** Named parameters; those that require gradients are trained (frozen ones are read-only). */
  readonly params: readonly (readonly [string, Parameter])[];
  readonly optimizer: Optimizer;
  /** Builds the loss from batch tensors (placeholders at compile time). No `await` inside. */
  readonly loss: (batch: readonly Tensor[]) => LossResult;
  /** Learning rate per 0-based step. */
  readonly schedule: Schedule;
  /** Global-norm gradient clipping threshold (off when undefined). */
  readonly clipNorm?: number;
  /** What to do on a non-finite loss: throw (default) or skip the update. Parameters are never touched. */
  readonly onNonFinite?: 'throw' | 'skip';
}

/** The result of one step. */
export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly finite: boolean;
  readonly metrics: Readonly<Record<string, number>>;
}

interface Compiled {
  readonly graph: PendingGraph;
  /** The single-step program (compiled on first use). */
  program: Program | null;
  /** Multi-step programs by number of steps. */
  readonly loops: Map<number, LoopProgram>;
  readonly batch: readonly Tensor[];
  readonly scalars: readonly Tensor[];
  /** For every program output after the report outputs: the leaf whose data it replaces. */
  readonly updated: readonly Node[];
  readonly metricNames: readonly string[];
  /** Number of reported scalars (loss, gradient norm, metrics): the first program outputs. */
  readonly nReport: number;
  /** Spare buffers, one per updated leaf (outputs are written here, then swapped in). */
  readonly spare: DataOf[DType][];
  readonly reportBufs: Float32Array[];
}

/**
 * A whole training step — forward, loss, backward, optional clipping, optimizer update — compiled
 * into ONE ONNX graph and executed as one ONNX Runtime run. Parameters and optimizer state are
 * graph inputs whose updated values are written into spare buffers that are then swapped in
 * (double buffering), so nothing is copied element by element in JS and nothing is allocated per
 * step. Shapes are static per graph: each distinct batch signature compiles once (bucket
 * variable-length batches to a few padded lengths to bound the number of graphs).
 */
export class TrainStep {
  private readonly trainable: [string, Parameter][];
  private readonly state: Tensor[][];
  private readonly compiled = new Map<string, Compiled>();
  private t = 0;
  /** Milliseconds spent compiling graphs so far. */
  compileMs = 0;

  constructor(private readonly opts: TrainStepOptions) {
    this.trainable = opts.params.filter(([, p]) => p.requiresGrad).map(([n, p]) => [n, p]);
    if (this.trainable.length === 0) throw configError('train step: no trainable parameters (all frozen?)');
    if (opts.clipNorm !== undefined && !(opts.clipNorm > 0)) throw configError(`train step: clipNorm must be > 0, got ${opts.clipNorm}`);
    this.state = this.trainable.map(([, p]) => opts.optimizer.stateSlots.map(() => Tensor.zeros(p.shape)));
  }

  /** The compiled single-step programs, one per batch signature seen so far. */
  get programs(): readonly Program[] {
    return [...this.compiled.values()].flatMap((c) => (c.program === null ? [] : [c.program]));
  }

  /** Number of completed (applied) steps. */
  get step(): number {
    return this.t;
  }

  /**
   * Counts a step whose update was skipped (non-finite loss with `onNonFinite: 'skip'`), so the
   * schedule moves on as the data stream does; parameters and optimizer state stay as they were.
   */
  skipStep(): void {
    this.t++;
  }

  /** Named optimizer state (for checkpoints): `<param>.<slot>` -> data. */
  optimizerState(): Map<string, HostArray> {
    const out = new Map<string, HostArray>();
    this.trainable.forEach(([name], i) => {
      this.opts.optimizer.stateSlots.forEach((slot, k) => {
        const t = (this.state[i] as Tensor[])[k] as Tensor;
        out.set(`${name}.${slot}`, { dtype: 'float32', shape: [...t.shape], data: t.node.realized as Float32Array });
      });
    });
    return out;
  }

  /** Restores optimizer state and the step counter (exact resume). */
  loadOptimizerState(sd: ReadonlyMap<string, HostArray>, step: number): void {
    const missing: string[] = [];
    this.trainable.forEach(([name, p], i) => {
      this.opts.optimizer.stateSlots.forEach((slot, k) => {
        const v = sd.get(`${name}.${slot}`);
        if (v === undefined || numel(v.shape) !== p.size) missing.push(`${name}.${slot}`);
        else ((this.state[i] as Tensor[])[k] as Tensor).assign(v.data);
      });
    });
    if (missing.length > 0) throw runtimeError(`optimizer state is missing or mis-shaped for: ${missing.join(', ')}`);
    this.t = step;
  }

  private signature(batch: readonly HostArray[]): string {
    return batch.map((b) => `${b.dtype}[${b.shape.join(',')}]`).join(';');
  }

  private async compile(batch: readonly HostArray[]): Promise<Compiled> {
    const o = this.opts;
    const bt = batch.map((b, i) => Tensor.placeholder(b.shape, b.dtype, `batch${i}`));
    const sc = o.optimizer.scalarNames.map((n) => Tensor.placeholder([], 'float32', n));
    const res = o.loss(bt);
    const loss = res instanceof Tensor ? res : res.loss;
    const metrics = res instanceof Tensor ? {} : (res.metrics ?? {});
    if (loss.size !== 1) throw shapeError('train step', `loss must be a scalar, got ${fmtShape(loss.shape)}`);
    if (!loss.requiresGrad) throw configError('train step: the loss does not depend on any trainable parameter');
    const gm = gradientMap(loss);
    let grads = this.trainable.map(([, p]) => gm.get(p.node) ?? Tensor.full(p.shape, 0));
    let norm: Tensor;
    if (o.clipNorm !== undefined) {
      const c = clipGradNorm(grads, o.clipNorm);
      grads = c.grads;
      norm = c.norm;
    } else norm = globalNorm(grads);
    const s: Record<string, Tensor> = {};
    o.optimizer.scalarNames.forEach((n, i) => (s[n] = sc[i] as Tensor));
    const outs: Tensor[] = [loss.reshape([]), norm, ...Object.values(metrics).map((m) => m.reshape([]))];
    const updated: Node[] = [];
    this.trainable.forEach(([, p], i) => {
      // As PyTorch, a parameter the loss does not reach gets no update (not even weight decay).
      if (!gm.has(p.node)) return;
      const st = this.state[i] as Tensor[];
      const u = o.optimizer.update(p, grads[i] as Tensor, st, s);
      outs.push(u.param);
      updated.push(p.node);
      u.state.forEach((ns, k) => {
        outs.push(ns);
        updated.push((st[k] as Tensor).node);
      });
    });
    const nReport = 2 + Object.keys(metrics).length;
    return {
      graph: collectGraph(outs.map((t) => t.node)),
      program: null,
      loops: new Map(),
      batch: bt,
      scalars: sc,
      updated,
      metricNames: Object.keys(metrics),
      nReport,
      spare: updated.map((n) => allocData(n.dtype, numel(n.shape))),
      reportBufs: Array.from({ length: nReport }, () => new Float32Array(1)),
    };
  }

  private async stepGraph(batch: readonly HostArray[]): Promise<Compiled> {
    const key = this.signature(batch);
    let c = this.compiled.get(key);
    if (c === undefined) {
      c = await this.compile(batch);
      this.compiled.set(key, c);
    }
    return c;
  }

  /** Runs one step on a batch (host arrays matching the loss function's inputs). */
  async run(batch: readonly HostArray[]): Promise<StepResult> {
    const c = await this.stepGraph(batch);
    if (c.program === null) {
      const t0 = performance.now();
      c.program = await Program.fromGraph(c.graph);
      this.compileMs += performance.now() - t0;
    }
    const program = c.program;
    const lr = this.opts.schedule(this.t);
    const sv = this.opts.optimizer.scalars(this.t + 1, lr);
    batch.forEach((b, i) => ((c.batch[i] as Tensor).node.realized = b.data));
    c.scalars.forEach((t, i) => {
      // The scalar buffers are reused: written in place, fed every step.
      const buf = (t.node.realized as Float32Array | null) ?? new Float32Array(1);
      buf[0] = sv[i] as number;
      t.node.realized = buf;
    });
    const feeds = program.inputs.map((n) => n.realized as DataOf[DType]);
    await program.run(feeds, [...c.reportBufs, ...c.spare]);
    const loss = c.reportBufs[0]?.[0] as number;
    const gradNorm = c.reportBufs[1]?.[0] as number;
    const metrics: Record<string, number> = {};
    c.metricNames.forEach((n, i) => (metrics[n] = c.reportBufs[2 + i]?.[0] as number));
    const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (!finite) {
      if ((this.opts.onNonFinite ?? 'throw') === 'throw') {
        throw runtimeError(`non-finite loss (${loss}, gradient norm ${gradNorm}) at step ${this.t + 1}; parameters and optimizer state were left unchanged`);
      }
      return { step: this.t, loss, lr, gradNorm, finite, metrics };
    }
    // Swap in the new values; the old buffers become the next step's spares.
    c.updated.forEach((n, i) => {
      const old = n.realized as DataOf[DType];
      n.realized = c.spare[i] as DataOf[DType];
      c.spare[i] = old;
    });
    this.t++;
    return { step: this.t, loss, lr, gradNorm, finite, metrics };
  }

  /**
   * Runs k steps in ONE ONNX Runtime run (an ONNX Loop over the step graph, runtime/lower-loop.ts):
   * `stacked[i]` holds batch input i of every step, shape (k, …per-step shape), step after step.
   * The results are those of k calls of `run` on the rows — the same kernels on the same values —
   * but parameters and optimizer state pass from step to step inside ONNX Runtime instead of being
   * copied out after every step. A non-finite loss anywhere in the chunk discards the chunk and
   * replays it step by step with `run`, so the error (or skip) happens at the same step, with the
   * same state, as it would have there (when it throws, the chunk's earlier steps are applied but
   * their results are not returned).
   */
  async runSteps(stacked: readonly HostArray[]): Promise<StepResult[]> {
    const first = stacked[0];
    if (first === undefined) throw configError('train step: runSteps needs the stacked batch inputs');
    const k = first.shape[0] ?? 0;
    if (!Number.isInteger(k) || k < 1) throw shapeError('train step', `stacked batches need a leading step axis of at least 1, got ${fmtShape(first.shape)}`);
    const rows = stacked.map((b, i) => {
      if (b.shape[0] !== k) throw shapeError('train step', `stacked batch input ${i} has shape ${fmtShape(b.shape)}; every input needs ${k} steps on its first axis`);
      if (b.data.length !== numel(b.shape)) throw shapeError('train step', `stacked batch input ${i} has ${b.data.length} values for shape ${fmtShape(b.shape)}`);
      return { dtype: b.dtype, shape: b.shape.slice(1), data: b.data };
    });
    const row = (j: number): HostArray[] =>
      rows.map((r) => {
        const n = numel(r.shape);
        return { dtype: r.dtype, shape: r.shape, data: r.data.subarray(j * n, (j + 1) * n) } as HostArray;
      });
    if (k === 1) return [await this.run(row(0))];
    const c = await this.stepGraph(row(0));
    let loop = c.loops.get(k);
    if (loop === undefined) {
      loop = await LoopProgram.compile(c.graph, {
        steps: k,
        stacked: [...c.batch, ...c.scalars].map((t) => t.node),
        carried: c.updated.map((n, i) => ({ input: n, output: c.nReport + i })),
        scan: Array.from({ length: c.nReport }, (_, i) => i),
      });
      this.compileMs += loop.compileMs;
      c.loops.set(k, loop);
    }
    const lrs = Array.from({ length: k }, (_, j) => this.opts.schedule(this.t + j));
    const scalars = c.scalars.map(() => new Float32Array(k));
    lrs.forEach((lr, j) => this.opts.optimizer.scalars(this.t + j + 1, lr).forEach((v, i) => ((scalars[i] as Float32Array)[j] = v)));
    const scans = Array.from({ length: c.nReport }, () => new Float32Array(k));
    const carried = c.updated.map((n) => n.realized as DataOf[DType]);
    await loop.run([...rows.map((r) => r.data), ...scalars], carried, c.spare, scans);
    const [losses, norms] = scans as [Float32Array, Float32Array];
    const finite = (j: number): boolean => Number.isFinite(losses[j]) && Number.isFinite(norms[j]);
    if (!lrs.every((_, j) => finite(j))) {
      const replayed: StepResult[] = [];
      for (let j = 0; j < k; j++) replayed.push(await this.run(row(j)));
      return replayed;
    }
    c.updated.forEach((n, i) => {
      const old = n.realized as DataOf[DType];
      n.realized = c.spare[i] as DataOf[DType];
      c.spare[i] = old;
    });
    const start = this.t;
    this.t += k;
    return lrs.map((lr, j) => {
      const metrics: Record<string, number> = {};
      c.metricNames.forEach((n, i) => (metrics[n] = scans[2 + i]?.[j] as number));
      return { step: start + j + 1, loss: losses[j] as number, lr, gradNorm: norms[j] as number, finite: true, metrics };
    });
  }
}
