/**
 * Extraction throughput against PyTorch on the same machine in the same run:
 *   node dist/bench/extract.js [--threads 2] [--sequences 64] [--presets esm2_t6_8M,esm2_t12_35M] [--toks-per-batch 4096]
 *
 * A FASTA of real-length proteins (lengths drawn from a log-normal fitted to UniProtKB/Swiss-Prot,
 * median ≈ 300, clipped to 30…1500 and truncated to 1022 as extract.py does; residues drawn with
 * Swiss-Prot's amino-acid composition) is extracted by `extractEmbeddings` (mean of the last layer,
 * one `.pt` per sequence, the stacked matrix) with randomly initialised ESM-2 models of the preset
 * sizes. The PyTorch peer (`bench/torch/extract_forward.py`) runs the same ESM-2 forward on the same
 * token batches with the same weights and returns its mean vectors, which are compared with ours.
 * Tokens count BOS and EOS, not padding. Ratios > 1 mean protdistil is faster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBatchIndices } from '../src/data/batching.js';
import { batchConvert } from '../src/data/tokenizer.js';
import { extractEmbeddings } from '../src/extract/pipeline.js';
import { readStack } from '../src/extract/stack.js';
import { toFairEsmName } from '../src/io/esm/names.js';
import { readNpy } from '../src/io/npy.js';
import { writePt } from '../src/io/pt-writer.js';
import { esmPreset } from '../src/models/esm/config.js';
import { createEsmModel } from '../src/models/esm/model.js';
import { configureRuntime } from '../src/runtime/program.js';
import { hostArray, type HostArray } from '../src/tensor/host-array.js';
import { Rng } from '../src/tensor/random.js';
import { machineLine, runPeer, table } from './peer.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const threads = Number(flag('--threads', String(availableParallelism())));
const nSeq = Number(flag('--sequences', '64'));
const presets = flag('--presets', 'esm2_t6_8M,esm2_t12_35M').split(',');
const toksPerBatch = Number(flag('--toks-per-batch', '4096'));
configureRuntime({ threads });

/** Swiss-Prot amino-acid composition (release 2024, %), in the order of the letters. */
const LETTERS = 'ARNDCQEGHILKMFPSTWYV';
const PERCENT = [8.25, 5.53, 4.06, 5.46, 1.38, 3.93, 6.72, 7.07, 2.27, 5.91, 9.64, 5.8, 2.41, 3.86, 4.74, 6.65, 5.36, 1.1, 2.92, 6.86];

function proteinFasta(n: number, rng: Rng): { text: string; sequences: string[] } {
  const total = PERCENT.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const p of PERCENT) cdf.push((acc += p / total));
  const sequences: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.min(1500, Math.max(30, Math.round(Math.exp(Math.log(300) + 0.65 * rng.normal()))));
    let s = 'M';
    for (let j = 1; j < len; j++) {
      const u = rng.uniform();
      let k = 0;
      while (k < cdf.length - 1 && u > (cdf[k] as number)) k++;
      s += LETTERS[k];
    }
    sequences.push(s);
  }
  return { text: sequences.map((s, i) => `>protein_${i}\n${s.replace(/(.{60})/g, '$1\n')}\n`).join(''), sequences };
}

interface PeerResult { tokens: number; seconds: number; tokens_per_s: number; batches: number; threads: number; torch_version: string; peak_rss_mb: number }

const dir = mkdtempSync(join(tmpdir(), 'protdistil-bench-extract-'));
try {
  const rng = new Rng(2024);
  const { text, sequences } = proteinFasta(nSeq, rng);
  const fasta = join(dir, 'proteins.fasta');
  writeFileSync(fasta, text);
  const lengths = sequences.map((s) => s.length);
  console.log(`protdistil extraction benchmark — ${new Date().toISOString()} — ${machineLine()}`);
  console.log(`${nSeq} proteins, ${lengths.reduce((a, b) => a + b, 0)} residues (median ${[...lengths].sort((a, b) => a - b)[nSeq >> 1]}, max ${Math.max(...lengths)}), --toks-per-batch ${toksPerBatch}, threads ${threads}`);

  // The batches extract.py (and our pipeline) form, for the peer.
  const batches = getBatchIndices(lengths, toksPerBatch, 1);
  const batchTokens = new Map<string, HostArray>();
  batches.forEach((idx, b) => batchTokens.set(`batch_${b}`, batchConvert(idx.map((i) => sequences[i] as string), { truncationSeqLength: 1022 }).tokens));
  const batchesPt = join(dir, 'batches.pt');
  writePt(batchesPt, batchTokens);

  const rows: (string | number)[][] = [];
  for (const name of presets) {
    const cfg = esmPreset(name);
    const model = createEsmModel(cfg, new Rng(7));
    const sd = new Map<string, HostArray>();
    for (const [k, v] of model.stateDict()) sd.set(toFairEsmName(k), v);
    if (model.config.arch === 'esm2') model.layers.forEach((l, i) => sd.set(`layers.${i}.self_attn.rot_emb.inv_freq`, hostArray('float32', [l.selfAttn.invFreq.length], l.selfAttn.invFreq)));
    const weights = join(dir, `${name}.pt`);
    writePt(weights, sd);

    const out = join(dir, `out-${name}`);
    const stackPath = join(dir, `${name}-means.npy`);
    const ours = await extractEmbeddings(model, fasta, out, { toksPerBatch, stack: { layer: -1, out: stackPath } });
    const meansOut = join(dir, `${name}-torch-means.npy`);
    const peer = runPeer<PeerResult>('extract_forward.py', [
      '--weights', weights, '--batches', batchesPt, '--layers', String(cfg.numLayers), '--embed', String(cfg.embedDim),
      '--heads', String(cfg.attentionHeads), '--threads', String(threads), '--means-out', meansOut,
    ]);
    if (peer.tokens !== ours.tokens) throw new Error(`token counts differ: ours ${ours.tokens}, torch ${peer.tokens}`);
    // Peer means are in batch order; ours in FASTA order.
    const torchMeans = readNpy(meansOut).data as Float32Array;
    const ourMeans = readStack(stackPath).matrix.data as Float32Array;
    const E = cfg.embedDim;
    let maxDiff = 0;
    let row = 0;
    for (const idx of batches) {
      for (const i of idx) {
        for (let j = 0; j < E; j++) maxDiff = Math.max(maxDiff, Math.abs((torchMeans[row * E + j] as number) - (ourMeans[i * E + j] as number)));
        row++;
      }
    }
    const steadyMs = ours.elapsedMs - ours.compileMs;
    const fwd = ours.tokens / (ours.forwardMs / 1000);
    const e2e = ours.tokens / (steadyMs / 1000);
    rows.push([name, model.numParameters(), ours.tokens, String(batches.length), fwd, e2e, ours.compileMs, peer.tokens_per_s, fwd / peer.tokens_per_s, e2e / peer.tokens_per_s, maxDiff.toExponential(1)]);
    rmSync(out, { recursive: true, force: true });
    console.log(`  ${name}: done (torch ${peer.torch_version}, peer peak RSS ${peer.peak_rss_mb.toFixed(0)} MB)`);
  }
  console.log('\nESM-2 extraction, mean of the last layer (tokens/s; forward = model only, pipeline = FASTA in to .pt files out, after the one-off compile)');
  console.log(table(['model', 'params', 'tokens', 'batches', 'ours forward tok/s', 'ours pipeline tok/s', 'compile ms', 'torch forward tok/s', 'ratio forward', 'ratio pipeline', 'max |Δ mean|'], rows));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
