/**
 * Training benchmark against an equivalent PyTorch loop, both sides in the same run:
 *   node dist/bench/train.js [--threads 2] [--torch-threads N] [--configs student-s,student-s+kd,...]
 *                            [--steps 10] [--warmup 3] [--crop 128] [--batch 32] [--lambda 0.5]
 *                            [--temperature 1] [--lr 1e-3] [--weight-decay 0.01] [--seed 0]
 *                            [--train ../shared/data/pretrain/train.fasta.gz] [--peak-size 2048 (0: skip)]
 *                            [--flop-per-cycle 64]
 *   node dist/bench/train.js --time-to-ppl MINUTES [...]   (see bench/train-ttp.ts)
 *
 * Configurations: a preset name (`student-s`, `student-m`, `student-l`, `esm2-8m`, …) trains on the
 * masked-LM loss alone; `NAME+kd` adds the distillation term with an esm2-8m-shaped teacher run on the
 * fly (λ = --lambda, T = --temperature). Batches: the first warm-up + timed batches of epoch 0 of the
 * `train` data stream (seed, crop, batch size, 15 % masking with 80/10/10) whose padded length is
 * crop + 2, so every step has one shape; written to .npy and read by both sides. Both sides start from
 * the same weights (ours, written as a .pt) and train with the same loss and AdamW settings, so their
 * first losses agree and the teacher logits are compared. Each side of each configuration runs in its
 * own process (peak RSS per side). Tokens are non-pad tokens; tokens/s = timed tokens / timed seconds.
 * GFLOP/s counts matrix-multiply FLOPs of the padded batch (train-common.ts `forwardFlops`; backward =
 * 2 × forward), against this machine's fp32 peak measured in the same run as the fastest of several
 * 2048³ float32 matmuls by PyTorch + OpenBLAS at the same thread count. Ratios > 1: protdistil is faster.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { SPECIAL_IDS } from '../src/data/alphabet.js';
import { IGNORE_INDEX } from '../src/data/masking.js';
import { MlmStream, type MlmBatch } from '../src/data/mlm-stream.js';
import { loadSequenceSet, type SequenceSet } from '../src/data/sequence-set.js';
import { ESM2_T6_8M, esmPreset } from '../src/models/esm/config.js';
import { machineLine, median, runPeer, table } from './peer.js';
import { flagReader, ROOT, runOurs, runTorch, stepFlops, writeBatches, writeSpec, type TrainBenchSpec } from './train-common.js';
import { runTimeToPpl } from './train-ttp.js';

const args = process.argv.slice(2);
const flag = flagReader(args);
const threads = Number(flag('--threads', '2'));
/** PyTorch thread counts to run (comma list; each is its own run of the peer). */
const torchThreadsList = flag('--torch-threads', String(threads)).split(',').map(Number);
const trainPath = resolve(flag('--train', join(ROOT, '..', 'shared', 'data', 'pretrain', 'train.fasta.gz')));

interface StepRow { ms: number; teacher_ms: number; tokens: number; padded: number; loss: number }
interface SideResult { steps: StepRow[]; peak_rss_mb: number; compile_ms?: number; teacher_compile_ms?: number; teacher_max_abs_diff?: number | null; torch_version?: string; threads: number }

/** Tokens per epoch (BOS + cropped residues + EOS per sequence, no padding). */
function epochTokens(set: SequenceSet, crop: number): number {
  return set.ids.reduce((a, ids) => a + Math.min(ids.length, crop) + 2, 0);
}

function summarize(r: SideResult, warmup: number) {
  const timed = r.steps.slice(warmup);
  const sec = timed.reduce((a, s) => a + s.ms, 0) / 1000;
  const tokens = timed.reduce((a, s) => a + s.tokens, 0);
  return {
    tokS: tokens / sec,
    medianMs: median(timed.map((s) => s.ms)),
    teacherShare: timed.reduce((a, s) => a + s.teacher_ms, 0) / 1000 / sec,
    sec,
    n: timed.length,
  };
}

/** Fastest 2048³ float32 torch.matmul (OpenBLAS) over the PyTorch thread counts: the machine's measured fp32 peak now. */
function peakGflops(): number {
  return Math.max(...torchThreadsList.map((t) => {
    const p = runPeer<{ results: { gflops_best: number }[] }>('matmul.py', ['--sizes', flag('--peak-size', '2048'), '--extra', '', '--threads', String(t), '--repeats', '8']);
    return p.results[0]?.gflops_best ?? NaN;
  }));
}

/**
 * The derived fp32 peak: cores × FLOP per cycle × the clock the kernel reports (`cpu MHz`, the nominal
 * clock; boost can be higher). FLOP per cycle: two 512-bit FMA pipes × 16 lanes × 2 = 64 on AVX-512 cores
 * with two FMA units (Zen 5, most Xeons); override with --flop-per-cycle.
 */
function derivedPeak(): { gflops: number; text: string } {
  const c = cpus();
  // os.cpus() reports speed 0 in some VMs; /proc/cpuinfo's `cpu MHz` is the nominal clock there.
  const info = existsSync('/proc/cpuinfo') ? /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8')) : null;
  const mhz = info?.[1] !== undefined ? Math.round(Number(info[1])) : (c[0]?.speed ?? NaN);
  const fpc = Number(flag('--flop-per-cycle', '64'));
  return { gflops: (c.length * fpc * mhz) / 1000, text: `${c.length} cores x ${fpc} FLOP/cycle x ${mhz} MHz` };
}

async function throughput(): Promise<void> {
  const configs = flag('--configs', 'student-s,student-s+kd,student-m,student-m+kd,student-l,student-l+kd,esm2-8m').split(',');
  const steps = Number(flag('--steps', '10'));
  const warmup = Number(flag('--warmup', '3'));
  const crop = Number(flag('--crop', '128'));
  const B = Number(flag('--batch', '32'));
  const lambda = Number(flag('--lambda', '0.5'));
  const temperature = Number(flag('--temperature', '1'));
  const lr = Number(flag('--lr', '1e-3'));
  const weightDecay = Number(flag('--weight-decay', '0.01'));
  const seed = Number(flag('--seed', '0'));
  const measurePeak = Number(flag('--peak-size', '2048')) > 0;
  const out = join(ROOT, '.bench-out', 'train');
  const batchesDir = join(out, 'batches');
  mkdirSync(batchesDir, { recursive: true });

  console.log(`protdistil training benchmark — ${new Date().toISOString()} — ${machineLine()}`);
  // The batches (and the epoch's token counts) are cached in .bench-out/train/batches: loading the
  // 100,000 sequences is the slow part of a short run.
  const T = crop + 2;
  const key = { train: trainPath, seed, crop, batch: B };
  const metaPath = join(batchesDir, 'meta.json');
  let meta = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as { key: typeof key; n: number; sequences: number; epochTokens: number; epochTokensFull: number }) : null;
  if (meta === null || JSON.stringify(meta.key) !== JSON.stringify(key) || meta.n < warmup + steps) {
    const t0 = performance.now();
    const train = await loadSequenceSet(trainPath);
    const stream = new MlmStream(train, { seed, crop, batchSize: B, maskProb: 0.15 });
    const picked: MlmBatch[] = [];
    const plan = stream.plan(0);
    for (let i = 0; i < plan.length && picked.length < Math.max(warmup + steps, 16); i++) {
      const b = stream.batch(0, i);
      if (b.tokens.shape[1] === T && b.tokens.shape[0] === B) picked.push(b);
    }
    if (picked.length < warmup + steps) throw new Error(`only ${picked.length} full-length batches in the epoch`);
    writeBatches(batchesDir, picked, SPECIAL_IDS.pad, IGNORE_INDEX);
    meta = { key, n: picked.length, sequences: train.ids.length, epochTokens: epochTokens(train, crop), epochTokensFull: epochTokens(train, 1022) };
    writeFileSync(metaPath, `${JSON.stringify(meta)}\n`);
    console.log(`data: ${train.ids.length} sequences of ${trainPath} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  console.log(`data: ${warmup} warm-up + ${steps} timed batches of ${B} x ${T} tokens (crop ${crop}, seed ${seed}): the first full-length batches of epoch 0 of the train stream over ${meta.sequences} sequences of ${trainPath}`);
  console.log(`threads: protdistil (ONNX Runtime) ${threads}, PyTorch ${torchThreadsList.join(' and ')}; AdamW lr ${lr}, weight decay ${weightDecay}; distillation λ ${lambda}, T ${temperature}`);
  const peakBefore = measurePeak ? peakGflops() : NaN;
  const derived = derivedPeak();
  console.log(`fp32 peak: measured now ${peakBefore.toFixed(0)} GFLOP/s (fastest of 8 ${flag('--peak-size', '2048')}³ torch.matmul at ${torchThreadsList.join('/')} threads); derived ${derived.gflops.toFixed(0)} GFLOP/s (${derived.text})`);

  const rows: (string | number)[][] = [];
  const extra: (string | number)[][] = [];
  const results: Record<string, unknown> = {};
  const speeds = new Map<string, { ours: number; torch: number }>();
  for (const name of configs) {
    const kd = name.endsWith('+kd');
    const preset = kd ? name.slice(0, -3) : name;
    const model = esmPreset(preset);
    const dir = join(out, name);
    mkdirSync(dir, { recursive: true });
    const spec: TrainBenchSpec = {
      name, model, teacherModel: kd ? ESM2_T6_8M : null, lambda: kd ? lambda : 0, temperature, lr, warmup: 0, weightDecay, clip: null, seed, threads, batchesDir, batches: warmup + steps,
    };
    writeSpec(dir, spec);
    console.log(`\n${name}: protdistil…`);
    const ours = runOurs<SideResult>(dir, 'throughput');
    const o = summarize(ours, warmup);
    const fl = stepFlops(model, spec.teacherModel, B, T);
    const flops = fl.student + fl.teacher;
    const oG = (flops * o.n) / o.sec / 1e9;
    const perThreads: Record<number, { torch: SideResult; tokS: number }> = {};
    for (const tt of torchThreadsList) {
      console.log(`${name}: PyTorch at ${tt} thread(s)…`);
      const torch = runTorch<SideResult>(dir, 'throughput', tt);
      const p = summarize(torch, warmup);
      const pG = (flops * p.n) / p.sec / 1e9;
      perThreads[tt] = { torch, tokS: p.tokS };
      rows.push([name, tt, o.tokS, p.tokS, o.tokS / p.tokS, o.medianMs, p.medianMs, kd ? `${(100 * o.teacherShare).toFixed(0)} %` : '-', kd ? `${(100 * p.teacherShare).toFixed(0)} %` : '-', ours.peak_rss_mb, torch.peak_rss_mb, oG, pG]);
      extra.push([name, tt, ours.steps[0]?.loss ?? NaN, torch.steps[0]?.loss ?? NaN, ours.steps.at(-1)?.loss ?? NaN, torch.steps.at(-1)?.loss ?? NaN, torch.teacher_max_abs_diff ?? '-', ours.compile_ms ?? NaN, ours.steps[0]?.ms ?? NaN, flops / 1e9]);
      console.log(`${name}: ours ${o.tokS.toFixed(0)} tok/s, torch (${tt} thread(s)) ${p.tokS.toFixed(0)} tok/s, ratio ${(o.tokS / p.tokS).toFixed(2)}; teacher share ${kd ? `${(100 * o.teacherShare).toFixed(0)} % / ${(100 * p.teacherShare).toFixed(0)} %` : '-'}; peak RSS ${ours.peak_rss_mb.toFixed(0)} / ${torch.peak_rss_mb.toFixed(0)} MB; ${oG.toFixed(1)} / ${pG.toFixed(1)} GFLOP/s; loss step 1 ${ours.steps[0]?.loss.toFixed(5)} / ${torch.steps[0]?.loss.toFixed(5)}, last ${ours.steps.at(-1)?.loss.toFixed(5)} / ${torch.steps.at(-1)?.loss.toFixed(5)}; max |Δ teacher logit| ${torch.teacher_max_abs_diff ?? '-'}; ours compile ${(ours.compile_ms ?? NaN).toFixed(0)} ms (ours / torch)`);
    }
    const best = Math.max(...Object.values(perThreads).map((x) => x.tokS));
    speeds.set(name, { ours: o.tokS, torch: best });
    results[name] = { spec, ours, torch: perThreads, oursTokS: o.tokS, flopsPerStep: flops };
  }
  const peakAfter = measurePeak ? peakGflops() : NaN;
  const peak = Math.max(peakBefore, peakAfter);
  console.log(`\nfp32 peak measured again at the end: ${peakAfter.toFixed(0)} GFLOP/s; "% of peak" below uses the larger measured value, ${peak.toFixed(0)} GFLOP/s, and the derived ${derived.gflops.toFixed(0)} GFLOP/s`);
  console.log(`\ntraining throughput (tokens/s over ${steps} timed steps after ${warmup} warm-up; batch ${B} x ${T}; ratio = ours / torch, > 1: protdistil faster)`);
  console.log(table(['config', 'torch threads', 'ours tok/s', 'torch tok/s', 'ratio', 'ours step ms (median)', 'torch step ms (median)', 'teacher share ours', 'teacher share torch', 'ours peak RSS MB', 'torch peak RSS MB', 'ours GFLOP/s', 'torch GFLOP/s'], rows));
  const pct = (g: number, of: number): string => `${((100 * g) / of).toFixed(1)} %`;
  console.log(table(['config', 'torch threads', 'ours % of measured peak', 'torch % of measured peak', 'ours % of derived peak', 'torch % of derived peak'], rows.map((r) => [r[0] as string, r[1] as number, pct(r[11] as number, peak), pct(r[12] as number, peak), pct(r[11] as number, derived.gflops), pct(r[12] as number, derived.gflops)])));
  console.log('\nchecks: both sides start from the same weights on the same batches (first loss should agree to ~1e-5), the teacher logits torch computed vs ours');
  console.log(table(['config', 'torch threads', 'ours loss step 1', 'torch loss step 1', 'ours loss last', 'torch loss last', 'max |Δ teacher logit|', 'ours compile ms', 'ours first step ms', 'GFLOP per step'], extra));
  const goal = [...speeds.values()].every((s) => s.ours / s.torch >= 1.25);
  console.log(`goal ≥ 1.25x on every configuration (against the faster PyTorch thread count): ${goal ? 'met' : 'NOT met'} (${[...speeds].map(([n, s]) => `${n} ${(s.ours / s.torch).toFixed(2)}`).join(', ')})`);

  const epochRows: (string | number)[][] = [];
  const ep = meta.epochTokens;
  const epFull = meta.epochTokensFull;
  for (const [name, s] of speeds) epochRows.push([name, ep / s.ours / 3600, ep / s.torch / 3600]);
  console.log(`\none epoch of ${trainPath}: ${ep.toLocaleString('en-US')} tokens at crop ${crop} (${epFull.toLocaleString('en-US')} at crop 1022, where attention costs more per token and these speeds do not apply); hours = epoch tokens / measured tokens/s`);
  console.log(table(['config', `ours h/epoch (crop ${crop})`, `torch h/epoch (crop ${crop}, faster thread count)`], epochRows));
  const file = join(out, 'bench_train.json');
  writeFileSync(file, `${JSON.stringify({ machine: machineLine(), date: new Date().toISOString(), threads, torchThreads: torchThreadsList, crop, batch: B, steps, warmup, peakGflops: { before: peakBefore, after: peakAfter, derived: derived.gflops, derivedFrom: derived.text }, epochTokens: { [crop]: ep, 1022: epFull }, results }, null, 2)}\n`);
  console.log(`details: ${file}`);
}

if (args.includes('--time-to-ppl')) await runTimeToPpl(args);
else await throughput();
