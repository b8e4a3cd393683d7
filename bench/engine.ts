/**
 * Engine benchmarks against PyTorch CPU (Debian python3-torch) on the same machine in the same run:
 *   node dist/bench/engine.js [--threads 2] [--only matmul,train,overhead] [--steps 5]
 * Prints tables with ratios (ours vs torch; > 1 means protdistil is faster).
 */
import { availableParallelism } from 'node:os';
import { esmPreset } from '../src/models/esm/config.js';
import { Esm2 } from '../src/models/esm/esm2.js';
import { distillationLoss, mse } from '../src/nn/functional/losses.js';
import { Linear } from '../src/nn/linear.js';
import { adamw } from '../src/optim/adam.js';
import { constantSchedule } from '../src/optim/schedules.js';
import { configureRuntime, Program } from '../src/runtime/program.js';
import { realize } from '../src/runtime/realize.js';
import { hostArray } from '../src/tensor/host-array.js';
import { Rng } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { TrainStep } from '../src/train/train-step.js';
import { machineLine, median, runPeer, table, timeIt } from './peer.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const threads = Number(flag('--threads', String(availableParallelism())));
const only = new Set(flag('--only', 'matmul,train,overhead').split(','));
const steps = Number(flag('--steps', '5'));
configureRuntime({ threads });

async function matmulBench(): Promise<void> {
  const shapes: [number, number, number][] = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [32, 1280, 1280]];
  const peer = runPeer<{ torch_version: string; results: { m: number; k: number; n: number; ms: number; gflops: number }[] }>('matmul.py', [
    '--sizes', '256,512,1024,2048', '--extra', '32x1280x1280', '--threads', String(threads), '--repeats', '20',
  ]);
  const rows: (string | number)[][] = [];
  const rng = new Rng(1);
  for (const [m, k, n] of shapes) {
    const a = Tensor.placeholder([m, k]);
    const b = Tensor.placeholder([k, n]);
    const p = await Program.compile([a.matmul(b)]);
    const feeds = [rng.normalArray(m * k), rng.normalArray(k * n)];
    const outs = p.allocOutputs();
    const reps = m * k * n >= 2 ** 30 ? 10 : 50;
    const ms = median(await timeIt(() => p.run(feeds, outs), reps, 3));
    const gf = (2 * m * k * n) / ms / 1e6;
    const t = peer.results.find((r) => r.m === m && r.k === k && r.n === n);
    rows.push([`${m}x${k}x${n}`, ms, gf, t?.ms ?? NaN, t?.gflops ?? NaN, (t?.ms ?? NaN) / ms]);
  }
  console.log(`\nmatmul float32 (threads ${threads}, torch ${peer.torch_version})`);
  console.log(table(['shape', 'ours ms', 'ours GFLOP/s', 'torch ms', 'torch GFLOP/s', 'ratio'], rows));
}

interface PeerStep { step_ms_median: number; tokens_per_s: number; peak_rss_mb: number; params: number; loss_first: number; loss_last: number }

async function trainBench(): Promise<void> {
  const presets: [string, number, number][] = [['small', 32, 256], ['medium', 32, 256], ['large', 16, 256]];
  const rows: (string | number)[][] = [];
  for (const [name, B, T] of presets) {
    const rng = new Rng(0);
    const config = esmPreset(name);
    const model = new Esm2(config, rng.fork());
    initEmbedding(model, config.paddingIdx, rng.fork());
    const step = new TrainStep({
      params: model.namedParameters(),
      optimizer: adamw({ weightDecay: 0.01 }),
      schedule: constantSchedule({ peak: 1e-3 }),
      loss: ([tokens, targets, teacher]) => distillationLoss(model.forward(tokens!).logits, teacher!, targets!, { lambda: 0.5, temperature: 2 }).loss,
    });
    // Tokens: BOS, residues, EOS; 15% of residues masked with targets, others ignored.
    const toks = new BigInt64Array(B * T);
    const tg = new BigInt64Array(B * T).fill(-100n);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (t === 0) toks[i] = 0n;
        else if (t === T - 1) toks[i] = 2n;
        else {
          const id = BigInt(4 + rng.int(20));
          if (rng.uniform() < 0.15) {
            toks[i] = 32n;
            tg[i] = id;
          } else toks[i] = id;
        }
      }
    }
    const batch = [hostArray('int64', [B, T], toks), hostArray('int64', [B, T], tg), hostArray('float32', [B, T, 33], rng.normalArray(B * T * 33))];
    const t0 = performance.now();
    const first = await step.run(batch);
    const firstMs = performance.now() - t0;
    const times = await timeIt(() => step.run(batch), steps, 1);
    const ms = median(times);
    const rss = process.resourceUsage().maxRSS / 1024;
    const peer = runPeer<PeerStep>('train_step.py', ['--preset', name, '--batch', String(B), '--seq', String(T), '--steps', String(steps), '--warmup', '1', '--threads', String(threads)]);
    const ours = (B * T) / (ms / 1000);
    rows.push([name, `${B}x${T}`, model.numParameters(), ms, ours, peer.step_ms_median, peer.tokens_per_s, ours / peer.tokens_per_s, step.compileMs, firstMs, rss, peer.peak_rss_mb, first.loss]);
  }
  console.log(`\ntraining step: forward + (1-λ)CE + λT²KL + backward + AdamW (threads ${threads}, median of ${steps})`);
  console.log(table(['preset', 'batch', 'params', 'ours ms', 'ours tok/s', 'torch ms', 'torch tok/s', 'ratio', 'compile ms', 'first step ms', 'ours peak RSS MB', 'torch peak RSS MB', 'loss'], rows));
}

/** Student embedding init N(0, 0.02²) with a zero padding row, as the PyTorch peer (train_step.py) and student training use (N(0, 1) gave step-0 losses of 30-58). */
function initEmbedding(model: Esm2, paddingIdx: number, rng: Rng): void {
  const e = model.embedTokens;
  const w = rng.normalArray(e.num * e.dim).map((v) => 0.02 * v);
  w.fill(0, paddingIdx * e.dim, (paddingIdx + 1) * e.dim);
  e.weight.assign(w);
}

async function overheadBench(): Promise<void> {
  const w = Tensor.from(new Rng(2).normalArray(16), [4, 4]);
  const x = Tensor.from(new Rng(3).normalArray(8), [2, 4]);
  // Full eager path: build the graph, hash it, find the cached session, run.
  const eager = await timeIt(async () => {
    const y = x.matmul(w).add(1).tanh();
    await realize(y);
  }, 2000, 50);
  // Compiled program: run only.
  const p = await Program.compile([Tensor.placeholder([2, 4]).matmul(w).add(1).tanh()]);
  const feeds = [x.node.realized as Float32Array, w.node.realized as Float32Array];
  const outs = p.allocOutputs();
  const run = await timeIt(() => p.run(feeds.slice(0, p.inputs.length), outs), 2000, 50);
  // A whole training step of a tiny model: Linear(8, 4), MSE, AdamW, batch 16.
  const rng = new Rng(5);
  const lin = new Linear(8, 4, { rng });
  const step = new TrainStep({ params: lin.namedParameters(), optimizer: adamw(), schedule: constantSchedule({ peak: 1e-3 }), loss: ([a, b]) => mse(lin.forward(a!), b!) });
  const batch = [hostArray('float32', [16, 8], rng.normalArray(128)), hostArray('float32', [16, 4], rng.normalArray(64))];
  const train = await timeIt(() => step.run(batch), 2000, 50);
  console.log('\nper-call engine overhead, tiny graphs');
  console.log(table(['path', 'median µs', 'p90 µs'], [
    ['realize: matmul 2x4x4 + add + tanh (build + hash + cached session + run)', median(eager) * 1000, pct(eager, 0.9) * 1000],
    ['Program.run: same graph compiled, pre-allocated outputs', median(run) * 1000, pct(run, 0.9) * 1000],
    ['TrainStep.run: Linear(8,4) + MSE + backward + AdamW, batch 16', median(train) * 1000, pct(train, 0.9) * 1000],
  ]));
}

function pct(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

console.log(`protdistil engine benchmark — ${new Date().toISOString()} — ${machineLine()}`);
if (only.has('overhead')) await overheadBench();
if (only.has('matmul')) await matmulBench();
if (only.has('train')) await trainBench();
