import { type Command } from 'commander';
import { CACHE_DTYPES, type CacheDType } from '../distill/cache-identity.js';
import { mergeShards, type CacheManifest } from '../distill/cache-manifest.js';
import { labelShard } from '../distill/label-run.js';
import { LiveTeacher } from '../distill/teacher.js';
import { teacherFingerprint } from '../distill/train-run.js';
import { configError } from '../errors.js';
import { parseShard } from '../extract/shard.js';
import { loadEsm } from '../io/esm/load.js';
import { parseFloatFlag, parseIntFlag } from './flags.js';
import { progressBar } from './progress.js';

/**
 * `protdistil label TEACHER FASTA OUT`: a teacher-logit cache for `train --teacher-cache`
 * (src/distill/label-run.ts); `protdistil label-merge OUT`: joins the shards of `--shard i/n` runs.
 */

interface LabelFlags {
  masks: string;
  seed: string;
  crop: string;
  maskProb: string;
  shard?: string;
  toksPerBatch: string;
  dtype: string;
  unknownAsUnk?: boolean;
  int8?: boolean;
}

const MB = 2 ** 20;

function describe(m: CacheManifest): string {
  const id = m.identity;
  return `${m.shards.length} shard(s), ${id.sequences.toLocaleString('en-US')} sequences × ${id.masks} mask draw(s), ${m.positions.toLocaleString('en-US')} masked positions, ${(m.bytes / MB).toFixed(1)} MiB (${((m.bytes / MB) / (m.tokens / 1e6)).toFixed(1)} MiB per million teacher tokens), key ${m.key.slice(0, 16)}`;
}

/** Registers `label` and `label-merge`. */
export function registerLabel(program: Command): void {
  program
    .command('label')
    .description('precompute a teacher\'s logits at the masked positions of K deterministic mask draws per sequence (the masks `train` uses with the same --seed/--crop/--mask-prob), for `train --teacher-cache OUT`; shard with --shard i/n across machines, then `label-merge OUT`')
    .argument('<teacher>', 'teacher model: fair-esm .pt, Hugging Face directory, or a model written by train (final/hf)')
    .argument('<fasta>', 'FASTA file (plain or .gz): the --train file of the runs that will use the cache')
    .argument('<out>', 'cache directory (shard files and cache.json)')
    .option('--masks <K>', 'mask draws per sequence: epoch e of training uses draw e mod K', '1')
    .option('--seed <n>', 'seed of crops and masks (as train --seed)', '0')
    .option('--crop <n>', 'residues per sequence (as train --crop)', '1022')
    .option('--mask-prob <p>', 'fraction of residues masked, 80/10/10 rule (as train --mask-prob)', '0.15')
    .option('--shard <i/n>', 'label only the i-th of n contiguous index ranges of the FASTA (1-based)')
    .option('--toks-per-batch <n>', 'padded tokens per teacher batch', '4096')
    .option('--dtype <type>', `stored logit type: ${CACHE_DTYPES.join(' | ')} (float16 halves the cache; see docs/DISTILLATION.md for its effect on the loss)`, 'float32')
    .option('--int8', 'run the teacher with dynamic int8 quantisation of its matrix products (faster, not exact: the cache records it; see docs/DISTILLATION.md for the measured KL)')
    .option('--unknown-as-unk', 'map characters outside the ESM alphabet to <unk> instead of failing (as train --unknown-as-unk)')
    .action(async (teacherPath: string, fasta: string, out: string, o: LabelFlags) => {
      if (!CACHE_DTYPES.includes(o.dtype as CacheDType)) throw configError(`--dtype must be one of ${CACHE_DTYPES.join(', ')}, got '${o.dtype}'`);
      const masks = parseIntFlag('--masks', o.masks, 1, 1000);
      const seed = parseIntFlag('--seed', o.seed, 0, 2 ** 32 - 1);
      const crop = parseIntFlag('--crop', o.crop, 1);
      const maskProb = parseFloatFlag('--mask-prob', o.maskProb, 0);
      if (!(maskProb < 1)) throw configError(`--mask-prob must lie in (0, 1), got '${o.maskProb}'`);
      const toksPerBatch = parseIntFlag('--toks-per-batch', o.toksPerBatch, 1);
      const shard = o.shard === undefined ? null : parseShard(o.shard);

      const loaded = loadEsm(teacherPath);
      const c = loaded.config;
      const description = `${teacherPath} (${c.arch}, ${c.numLayers} layers, dim ${c.embedDim})`;
      const teacher = await LiveTeacher.fromModel(loaded.model, description, await teacherFingerprint(teacherPath), { int8: o.int8 === true });
      process.stderr.write(`teacher: ${teacher.description}\n`);
      let bar: ReturnType<typeof progressBar> | null = null;
      const r = await labelShard(teacher, fasta, out, {
        masks,
        seed,
        crop,
        maskProb,
        shard,
        toksPerBatch,
        dtype: o.dtype as CacheDType,
        unknownAsUnk: o.unknownAsUnk === true,
        teacherMaxTokens: c.arch === 'esm1b' ? c.maxPositions : 1026,
      }, (p) => {
        bar ??= progressBar('label', p.totalTokens, '{tps} tok/s');
        bar.update(p.tokens, { tps: Math.round(p.tokens / Math.max(p.elapsedMs / 1000, 1e-3)) });
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      const f = r.footer;
      const what = `shard ${f.shard.index}/${f.shard.count} (sequences ${f.shard.start}..${f.shard.end - 1} of ${f.identity.sequences})`;
      if (r.skipped) {
        process.stdout.write(`${r.path} already holds ${what} with these settings; nothing to do\n`);
      } else {
        const secs = r.elapsedMs / 1000;
        process.stdout.write(
          `labelled ${what} × ${masks} mask draw(s): ${f.tokens.toLocaleString('en-US')} tokens, ${f.positions.toLocaleString('en-US')} masked positions in ${secs.toFixed(1)} s ` +
            `(${Math.round(f.tokens / secs)} tok/s, teacher ${((r.teacherMs / r.elapsedMs) * 100).toFixed(0)} %) -> ${r.path}\n`,
        );
      }
      if (r.manifest !== null) process.stdout.write(`cache ${out}: ${describe(r.manifest)}\n`);
      else if (shard !== null) process.stdout.write(`when all ${shard.count} shards are in ${out}: protdistil label-merge ${out}\n`);
    });

  program
    .command('label-merge')
    .description('check the shards of `label --shard i/n` runs in OUT (same teacher, FASTA and mask settings; none missing, duplicated or truncated) and write OUT/cache.json for train --teacher-cache')
    .argument('<out>', 'the cache directory holding every shard file')
    .action((out: string) => {
      const { manifest, unchanged } = mergeShards(out);
      process.stdout.write(`${unchanged ? 'already merged' : 'merged'}: cache ${out}: ${describe(manifest)}\n`);
    });
}
