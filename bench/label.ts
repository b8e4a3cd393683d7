/**
 * Teacher labelling (`protdistil label`) and cache-fed distillation against PyTorch, in one run:
 *   node dist/bench/label.js [--threads 2] [--teachers esm2_t6_8M,esm1b_t33_650M] [--sequences 48,6]
 *                            [--crop 510,254] [--toks-per-batch 4096] [--train-steps 20] [--train-sequences 160]
 *                            [--kl-models PATH,...] [--kl-sequences 100]
 *
 * 1. Labelling: real Swiss-Prot sequences (the first N of ../shared/data/pretrain/valid.fasta) are
 *    labelled by `labelShard` (crop, 15 % masks, teacher forward, logits at masked positions to a
 *    float32 shard) with a randomly initialised teacher of each preset's shape. The PyTorch peer
 *    (`bench/torch/extract_forward.py --lm-head`) runs the same model (same weights) on the very
 *    batches our teacher saw, LM head included, and its first batch's logits are compared with ours.
 *    Tokens count BOS and EOS, not padding. Cache size is reported per million labelled tokens.
 * 2. Storage: the esm2 teacher's labels again as float16; size, and the KL between the teacher's
 *    distributions from float32 and float16 logits (T = 1 and 2).
 * 3. Int8: each teacher quantised (`label --int8`) labels the same sequences; forward tokens/s
 *    against the float teacher, KL(float ‖ int8) and top-1 agreement at the masked positions. Random
 *    weights say little about the error of a real model: `--kl-models` adds trained models (any
 *    path `label` accepts), labelled on the first `--kl-sequences` valid sequences.
 * 4. Training: `student-s` trained by `runTraining` for a few steps MLM-only (first and last), from
 *    a float32 cache, from a float16 cache and with the esm2 teacher live; tokens/s (median over
 *    steps after the first two, which compile) and the largest loss difference of each cache run
 *    from the live one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlmBatch } from '../src/data/mlm-stream.js';
import { MANIFEST_FILE, type CacheManifest } from '../src/distill/cache-manifest.js';
import { shardFileName, ShardReader } from '../src/distill/cache-shard.js';
import { labelShard, type LabelResult } from '../src/distill/label-run.js';
import { LiveTeacher, type TeacherSource } from '../src/distill/teacher.js';
import { parseTrainConfig } from '../src/distill/train-config.js';
import { runTraining, teacherFingerprint, type StepRecord } from '../src/distill/train-run.js';
import { writeHfEsm } from '../src/io/esm/hf-writer.js';
import { loadEsm } from '../src/io/esm/load.js';
import { toFairEsmName } from '../src/io/esm/names.js';
import { readNpy } from '../src/io/npy.js';
import { writePt } from '../src/io/pt-writer.js';
import { esmPreset } from '../src/models/esm/config.js';
import { createEsmModel, type EsmModel } from '../src/models/esm/model.js';
import { configureRuntime } from '../src/runtime/program.js';
import { hostArray, type HostArray } from '../src/tensor/host-array.js';
import { Rng } from '../src/tensor/random.js';
import { machineLine, median, runPeer, table } from './peer.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const threads = Number(flag('--threads', String(availableParallelism())));
const teachers = flag('--teachers', 'esm2_t6_8M,esm1b_t33_650M').split(',');
const counts = flag('--sequences', '48,6').split(',').map(Number);
const crops = flag('--crop', '510,254').split(',').map(Number);
const toksPerBatch = Number(flag('--toks-per-batch', '4096'));
const trainSteps = Number(flag('--train-steps', '20'));
const trainSequences = Number(flag('--train-sequences', '160'));
const klModels = flag('--kl-models', '').split(',').filter((p) => p !== '');
const klSequences = Number(flag('--kl-sequences', '100'));
configureRuntime({ threads });
const DATA = new URL('../../../shared/data/pretrain/', import.meta.url);
const MiB = 2 ** 20;

/** The first `n` records of a one-line-per-sequence FASTA. */
function firstRecords(path: URL, n: number): string {
  const lines = readFileSync(path, 'utf8').split('\n');
  return `${lines.slice(0, 2 * n).join('\n')}\n`;
}

/** A teacher that remembers the token batches it saw (for the peer) and its first logits. */
class Recording implements TeacherSource {
  readonly batches: HostArray[] = [];
  first: Float32Array | null = null;
  constructor(private readonly inner: TeacherSource) {}
  get description(): string {
    return this.inner.description;
  }
  get fingerprint(): string {
    return this.inner.fingerprint;
  }
  get vocabSize(): number {
    return this.inner.vocabSize;
  }
  get busyMs(): number {
    return this.inner.busyMs;
  }
  async logits(batch: MlmBatch): Promise<HostArray> {
    this.batches.push(batch.tokens);
    const z = await this.inner.logits(batch);
    this.first ??= (z.data as Float32Array).slice();
    return z;
  }
}

/** fair-esm state dict of a model, for the peer. */
function writeFairEsmDict(model: EsmModel, path: string): void {
  const sd = new Map<string, HostArray>();
  for (const [k, v] of model.stateDict()) sd.set(toFairEsmName(k), v);
  if (model.config.arch === 'esm2') model.layers.forEach((l, i) => sd.set(`layers.${i}.self_attn.rot_emb.inv_freq`, hostArray('float32', [l.selfAttn.invFreq.length], l.selfAttn.invFreq)));
  writePt(path, sd);
}

const manifestOf = (dir: string): CacheManifest => JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as CacheManifest;

/** Mean KL(p ‖ q) over positions between softmax(a/T) and softmax(b/T), rows of V, in float64. */
function meanKl(a: Float32Array, b: Float32Array, V: number, T: number): number {
  let sum = 0;
  const rows = a.length / V;
  const logSoftmax = (z: Float32Array, r: number): Float64Array => {
    const out = new Float64Array(V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, z[r * V + v]! / T);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(z[r * V + v]! / T - max);
    for (let v = 0; v < V; v++) out[v] = z[r * V + v]! / T - max - Math.log(s);
    return out;
  };
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmax(a, r);
    const lq = logSoftmax(b, r);
    for (let v = 0; v < V; v++) sum += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
  }
  return sum / rows;
}

/** One untimed full-length row through a teacher (the peer warms up on its first batch too). */
async function warmUp(teacher: TeacherSource, crop: number): Promise<void> {
  const warm = new BigInt64Array(crop + 2).fill(5n);
  warm[0] = 0n;
  warm[crop + 1] = 2n;
  await teacher.logits({ epoch: 0, index: 0, rows: [0], tokens: hostArray('int64', [1, crop + 2], warm), targets: hostArray('int64', [1, crop + 2], new BigInt64Array(crop + 2).fill(-100n)), selected: 0, tokenCount: crop + 2 });
}

/** Share of positions where the two logit rows have the same arg-max. */
function top1Agreement(a: Float32Array, b: Float32Array, V: number): number {
  let same = 0;
  const rows = a.length / V;
  for (let r = 0; r < rows; r++) {
    let ia = 0;
    let ib = 0;
    for (let v = 1; v < V; v++) {
      if (a[r * V + v]! > a[r * V + ia]!) ia = v;
      if (b[r * V + v]! > b[r * V + ib]!) ib = v;
    }
    if (ia === ib) same++;
  }
  return same / rows;
}

/** The cached logits of sequences 0..n-1 (mask draw 0), concatenated. */
function cacheLogits(cacheDir: string, n: number): Float32Array {
  const reader = ShardReader.open(join(cacheDir, shardFileName(1, 1)));
  try {
    const parts = Array.from({ length: n }, (_, i) => reader.entry(i, 0).logits);
    const out = new Float32Array(parts.reduce((k, x) => k + x.length, 0));
    let at = 0;
    for (const x of parts) {
      out.set(x, at);
      at += x.length;
    }
    return out;
  } finally {
    reader.close();
  }
}

/**
 * Labels `fasta` with the float teacher's model quantised to int8 (`label --int8`) and compares it
 * with the float cache `floatCache`: forward tokens/s of both, and KL(float ‖ int8) / top-1 agreement
 * at the masked positions.
 */
async function int8Row(model: EsmModel, what: string, fasta: string, floatCache: string, floatForward: number, n: number, crop: number, maxTokens: number): Promise<(string | number)[]> {
  const q8 = await LiveTeacher.fromModel(model, `${what} int8`, 'int8', { int8: true });
  await warmUp(q8, crop);
  const busy0 = q8.busyMs;
  const out = `${floatCache}-int8`;
  const r = await labelShard(q8, fasta, out, { masks: 1, seed: 0, crop, maskProb: 0.15, shard: null, toksPerBatch, dtype: 'float32', unknownAsUnk: false, teacherMaxTokens: maxTokens });
  const forward = r.footer.tokens / ((q8.busyMs - busy0) / 1000);
  const a = cacheLogits(floatCache, n);
  const b = cacheLogits(out, n);
  const V = model.config.vocabSize;
  return [what, q8.int8?.matmuls ?? 0, a.length / V, floatForward.toFixed(1), forward.toFixed(1), (forward / floatForward).toFixed(2), meanKl(a, b, V, 1).toExponential(2), meanKl(a, b, V, 2).toExponential(2), top1Agreement(a, b, V).toFixed(4)];
}

interface PeerResult { tokens: number; seconds: number; tokens_per_s: number; batches: number; threads: number; torch_version: string; peak_rss_mb: number }

const dir = mkdtempSync(join(tmpdir(), 'protdistil-bench-label-'));
try {
  console.log(`protdistil labelling benchmark — ${new Date().toISOString()} — ${machineLine()}, threads ${threads}`);
  const labelRows: (string | number)[][] = [];
  const sizeRows: (string | number)[][] = [];
  const int8Rows: (string | number)[][] = [];
  let esm2Teacher: { model: EsmModel; hf: string } | null = null;
  for (const [k, name] of teachers.entries()) {
    const n = counts[k] ?? counts[0]!;
    const crop = crops[k] ?? crops[0]!;
    const fasta = join(dir, `label-${name}.fasta`);
    writeFileSync(fasta, firstRecords(new URL('valid.fasta', DATA), n));
    const cfg = esmPreset(name);
    const t0 = performance.now();
    const model = createEsmModel(cfg, new Rng(7));
    const weights = join(dir, `${name}.pt`);
    writeFairEsmDict(model, weights);
    const live = await LiveTeacher.fromModel(model, `${name} (random weights)`, `random-${name}`);
    const rec = new Recording(live);
    console.log(`  ${name}: model, peer weights and teacher session ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await warmUp(live, crop);
    const busy0 = live.busyMs;
    const out = join(dir, `cache-${name}`);
    const r: LabelResult = await labelShard(rec, fasta, out, { masks: 1, seed: 0, crop, maskProb: 0.15, shard: null, toksPerBatch, dtype: 'float32', unknownAsUnk: false, teacherMaxTokens: cfg.arch === 'esm1b' ? cfg.maxPositions : 1026 });
    const tokens = r.footer.tokens;
    const oursForward = tokens / ((live.busyMs - busy0) / 1000);
    const oursLabel = tokens / (r.elapsedMs / 1000);
    const batchesPt = join(dir, `batches-${name}.pt`);
    writePt(batchesPt, new Map(rec.batches.map((b, i) => [`batch_${i}`, b])));
    const logitsOut = join(dir, `first-${name}.npy`);
    const peer = runPeer<PeerResult>('extract_forward.py', [
      '--weights', weights, '--batches', batchesPt, '--layers', String(cfg.numLayers), '--embed', String(cfg.embedDim), '--heads', String(cfg.attentionHeads),
      '--threads', String(threads), '--arch', cfg.arch, '--lm-head', '--logits-out', logitsOut,
    ]);
    if (peer.tokens !== tokens) throw new Error(`token counts differ: ours ${tokens}, torch ${peer.tokens}`);
    const theirs = readNpy(logitsOut).data as Float32Array;
    const firstTokens = rec.batches[0]!.data as BigInt64Array;
    let maxDiff = 0;
    firstTokens.forEach((t, p) => {
      if (t === 1n) return; // pad
      for (let v = 0; v < cfg.vocabSize; v++) maxDiff = Math.max(maxDiff, Math.abs(theirs[p * cfg.vocabSize + v]! - rec.first![p * cfg.vocabSize + v]!));
    });
    const m = r.manifest ?? manifestOf(out);
    let maxAbs = 0;
    firstTokens.forEach((t, p) => {
      if (t !== 1n) for (let v = 0; v < cfg.vocabSize; v++) maxAbs = Math.max(maxAbs, Math.abs(rec.first![p * cfg.vocabSize + v]!));
    });
    labelRows.push([name, `${(model.numParameters() / 1e6).toFixed(1)} M`, `${n} × ≤${crop}`, tokens, rec.batches.length, oursForward.toFixed(1), oursLabel.toFixed(1), peer.tokens_per_s.toFixed(1), (oursForward / peer.tokens_per_s).toFixed(2), (oursLabel / peer.tokens_per_s).toFixed(2), `${maxDiff.toExponential(1)} (of ${maxAbs.toFixed(1)})`]);
    sizeRows.push([name, 'float32', (m.positions / tokens).toFixed(4), (m.bytes / (tokens / 1e6) / MiB).toFixed(2), '-', '-']);
    console.log(`  ${name}: labelled (torch ${peer.torch_version}, peer peak RSS ${peer.peak_rss_mb.toFixed(0)} MB)`);
    int8Rows.push(await int8Row(model, `${name} (random weights)`, fasta, out, oursForward, n, crop, cfg.arch === 'esm1b' ? cfg.maxPositions : 1026));
    console.log(`  ${name}: labelled with the int8 teacher`);
    if (cfg.arch === 'esm2' && esm2Teacher === null) {
      const out16 = join(dir, `cache16-${name}`);
      await labelShard(live, fasta, out16, { masks: 1, seed: 0, crop, maskProb: 0.15, shard: null, toksPerBatch, dtype: 'float16', unknownAsUnk: false, teacherMaxTokens: 1026 });
      const m16 = manifestOf(out16);
      const A = cacheLogits(out, n);
      const B = cacheLogits(out16, n);
      sizeRows.push([name, 'float16', (m16.positions / tokens).toFixed(4), (m16.bytes / (tokens / 1e6) / MiB).toFixed(2), meanKl(A, B, cfg.vocabSize, 1).toExponential(2), meanKl(A, B, cfg.vocabSize, 2).toExponential(2)]);
      const hf = join(dir, `teacher-${name}`);
      writeHfEsm(model, hf);
      esm2Teacher = { model, hf };
    }
  }
  console.log('\nLabelling: teacher logits at 15 % masked positions (tokens/s; forward = teacher session only, label = FASTA in to shard file out)');
  console.log(table(['teacher', 'params', 'sequences', 'tokens', 'batches', 'ours forward tok/s', 'ours label tok/s', 'torch forward+LM head tok/s', 'ratio forward', 'ratio label', 'max |Δ logit| batch 1 (of max |logit|)'], labelRows));
  console.log('\nCache size (one mask draw; masked positions per labelled token; KL(float32 ‖ float16) of the teacher distributions, mean over positions)');
  console.log(table(['teacher', 'dtype', 'positions/token', 'MiB per M tokens', 'KL T=1', 'KL T=2'], sizeRows));

  for (const path of klModels) {
    const { model, config } = loadEsm(path);
    const fasta = join(dir, 'kl.fasta');
    writeFileSync(fasta, firstRecords(new URL('valid.fasta', DATA), klSequences));
    const maxTokens = config.arch === 'esm1b' ? config.maxPositions : 1026;
    const crop = Math.min(510, maxTokens - 2);
    const live = await LiveTeacher.fromModel(model, path, 'float');
    const out = join(dir, `kl-cache-${int8Rows.length}`);
    const r = await labelShard(live, fasta, out, { masks: 1, seed: 0, crop, maskProb: 0.15, shard: null, toksPerBatch, dtype: 'float32', unknownAsUnk: false, teacherMaxTokens: maxTokens });
    int8Rows.push(await int8Row(model, `${path} (trained)`, fasta, out, r.footer.tokens / (r.teacherMs / 1000), klSequences, crop, maxTokens));
  }
  console.log('\nInt8 teacher (label --int8): forward tok/s against the float teacher, and the teacher distributions at the masked positions of the same batches (mean KL(float ‖ int8), top-1 agreement)');
  console.log(table(['teacher', 'int8 products', 'positions', 'float tok/s', 'int8 tok/s', 'int8 / float', 'KL T=1', 'KL T=2', 'top-1 agreement'], int8Rows));

  if (esm2Teacher !== null && trainSteps > 0) {
    const train = join(dir, 'train.fasta');
    writeFileSync(train, firstRecords(new URL('mini_train.fasta', DATA), trainSequences));
    const crop = 254;
    const fp = await teacherFingerprint(esm2Teacher.hf);
    const teacher = await LiveTeacher.fromModel(esm2Teacher.model, 'esm2 teacher', fp);
    const caches: Record<string, string> = { float32: join(dir, 'train-cache32'), float16: join(dir, 'train-cache16') };
    const labelMs: Record<string, number> = {};
    for (const [dtype, out] of Object.entries(caches)) {
      const r = await labelShard(teacher, train, out, { masks: 1, seed: 0, crop, maskProb: 0.15, shard: null, toksPerBatch, dtype: dtype as 'float32' | 'float16', unknownAsUnk: false, teacherMaxTokens: 1026 });
      labelMs[dtype] = r.elapsedMs;
    }
    const base = { train, student: 'student-s', crop, batchSize: 16, maxSteps: trainSteps, warmupSteps: 1, logEvery: 1, saveEvery: 100000, evalEvery: 100000, seed: 0 };
    // MLM-only runs first and last, so drift over the run (heap growth, thermal state, other load)
    // shows as a difference between the two and does not favour the runs in between.
    const runs: [string, Record<string, unknown>][] = [
      ['MLM only (λ = 0), first', {}],
      ['cache float32', { teacherCache: caches.float32 }],
      ['cache float16', { teacherCache: caches.float16 }],
      ['live esm2 teacher', { teacher: esm2Teacher.hf, maskCycle: 1 }], // the caches hold one draw: later epochs reuse it
      ['MLM only (λ = 0), last', {}],
    ];
    const results: { name: string; tps: number; losses: number[]; share: number | null }[] = [];
    for (const [name, extra] of runs) {
      const steps: StepRecord[] = [];
      const res = await runTraining(parseTrainConfig({ ...base, ...extra, out: join(dir, `train-${results.length}`) }), false, { onStep: (s) => steps.push(s) });
      results.push({ name, tps: median(steps.slice(2).map((s) => s.tokensPerSec)), losses: steps.map((s) => s.loss), share: res.teacherShare });
      console.log(`  trained: ${name}`);
    }
    const mlm = (results[0]!.tps + results[4]!.tps) / 2;
    const liveLosses = results[3]!.losses;
    const rel = (r: { losses: number[] }, s: number): number => Math.abs(r.losses[s]! - liveLosses[s]!) / liveLosses[s]!;
    const rows = results.map((r, i) => [
      r.name,
      r.tps.toFixed(1),
      (r.tps / mlm).toFixed(2),
      r.share === null ? '-' : `${(r.share * 100).toFixed(1)} %`,
      i !== 1 && i !== 2 ? '-' : rel(r, 0).toExponential(1),
      i !== 1 && i !== 2 ? '-' : Math.max(...r.losses.map((_, s) => rel(r, s))).toExponential(1),
    ]);
    console.log(`\nTraining student-s (crop ${crop}, batch 16, ${trainSteps} steps, median tok/s over steps 3..${trainSteps}); caches labelled in ${(labelMs.float32! / 1000).toFixed(1)} s (float32), ${(labelMs.float16! / 1000).toFixed(1)} s (float16)`);
    console.log(table(['run', 'tok/s', 'vs MLM only (mean of first and last)', 'teacher share of step', 'rel |Δ loss| vs live, step 1', 'max over steps'], rows));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
