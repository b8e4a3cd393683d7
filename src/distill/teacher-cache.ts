import { statSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_INDEX } from '../data/masking.js';
import type { MlmBatch } from '../data/mlm-stream.js';
import { configError, dataError } from '../errors.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { identityDiff, MASK_RULE, type CacheIdentity } from './cache-identity.js';
import { readManifest, type CacheManifest } from './cache-manifest.js';
import { ShardReader } from './cache-shard.js';
import type { TeacherSource } from './teacher.js';

/**
 * The teacher of a distillation run read from a teacher-logit cache (`protdistil label`) instead of
 * a live model: no teacher weights in memory, no teacher forward pass. Batch rows are looked up by
 * (sequence index, mask draw) with draw = epoch mod K; the cached positions of each row are checked
 * against the batch's masked positions, and the logits are placed there. Every other position of the
 * (B, T, V) output is 0: the loss reads masked positions only (KL rows are weighted by the mask), so
 * the loss and its gradient equal those of the live teacher whose logits the cache holds.
 *
 * Dims: B batch, T tokens, V vocab, m masked positions of a row.
 */

/** The settings of a training run that a cache must have been labelled with. */
export interface CacheRunSettings {
  /** The run's --train file, its SHA-256 and sequence count. */
  readonly train: string;
  readonly trainSha256: string;
  readonly sequences: number;
  readonly unknownAsUnk: boolean;
  readonly seed: number;
  readonly crop: number;
  readonly maskProb: number;
}

export class TeacherCache implements TeacherSource {
  busyMs = 0;
  readonly description: string;
  readonly fingerprint: string;
  readonly vocabSize: number;
  private cycle: number;
  /** Shard of each sequence index. */
  private readonly owner: Int32Array;

  private constructor(
    readonly dir: string,
    readonly manifest: CacheManifest,
    private readonly shards: readonly ShardReader[],
  ) {
    const id = manifest.identity;
    this.fingerprint = id.teacher;
    this.vocabSize = id.vocab;
    this.cycle = id.masks;
    const teacher = typeof manifest.info.teacher === 'string' ? manifest.info.teacher : 'teacher';
    this.description = `cache ${dir} (${teacher}; ${id.masks} mask draw${id.masks === 1 ? '' : 's'}, ${id.dtype})`;
    this.owner = new Int32Array(id.sequences).fill(-1);
    shards.forEach((s, k) => this.owner.fill(k, s.footer.shard.start, s.footer.shard.end));
  }

  /** Opens a merged cache directory: manifest, then every shard (sizes and keys checked; see label-merge for checksums). */
  static open(dir: string): TeacherCache {
    const manifest = readManifest(dir);
    const readers: ShardReader[] = [];
    try {
      for (const s of manifest.shards) {
        const path = join(dir, s.file);
        const size = statSync(path, { throwIfNoEntry: false })?.size;
        if (size === undefined) throw dataError(`teacher cache ${dir}: shard ${s.file} listed in its manifest is missing`);
        if (size !== s.bytes) throw dataError(`teacher cache ${dir}: shard ${s.file} has ${size} bytes, its manifest says ${s.bytes} (truncated or replaced); merge again`);
        const r = ShardReader.open(path);
        readers.push(r);
        if (r.footer.key !== manifest.key || r.footer.payloadSha256 !== s.payloadSha256) throw dataError(`teacher cache ${dir}: shard ${s.file} is not the one its manifest lists; run protdistil label-merge again`);
      }
    } catch (e) {
      for (const r of readers) r.close();
      throw e;
    }
    return new TeacherCache(dir, manifest, readers);
  }

  get identity(): CacheIdentity {
    return this.manifest.identity;
  }

  /**
   * Checks that the cache was labelled for this run's data and masks; the error names every
   * setting that differs.
   */
  checkRun(run: CacheRunSettings): void {
    const id = this.identity;
    const wanted: CacheIdentity = { ...id, fasta: run.trainSha256, sequences: run.sequences, unknownAsUnk: run.unknownAsUnk, seed: run.seed, crop: run.crop, maskProb: run.maskProb, maskRule: MASK_RULE };
    const diff = identityDiff(id, wanted, ['cache ', 'run ']);
    if (diff.length > 0) {
      throw configError(`--teacher-cache ${this.dir} does not fit this run (${diff.join('; ')}${id.fasta !== run.trainSha256 ? `; --train is ${run.train}` : ''}): its logits belong to other masks; label the run's FASTA with the run's settings`);
    }
  }

  /**
   * The mask cycle a run with this cache uses: K (the cache's draws) unless the run asks for fewer
   * (epoch e then uses draw e mod c). More draws than the cache holds is an error.
   */
  useMaskCycle(requested: number | undefined): number {
    const K = this.identity.masks;
    if (requested !== undefined && requested > K) throw configError(`--mask-cycle ${requested} needs ${requested} mask draws, but --teacher-cache ${this.dir} holds ${K} (label with --masks ${requested})`);
    this.cycle = requested ?? K;
    return this.cycle;
  }

  /** (B, T, V) logits: the cached teacher logits at the batch's masked positions, 0 elsewhere. */
  async logits(batch: MlmBatch): Promise<HostArray> {
    const t0 = performance.now();
    const [B, T] = batch.tokens.shape as [number, number];
    const V = this.vocabSize;
    const out = new Float32Array(B * T * V);
    const draw = batch.epoch % this.cycle;
    const targets = batch.targets.data as BigInt64Array;
    const ignore = BigInt(IGNORE_INDEX);
    for (let b = 0; b < B; b++) {
      const i = batch.rows[b]!;
      const shard = this.shards[this.owner[i] ?? -1];
      if (shard === undefined) throw dataError(`teacher cache ${this.dir} has no sequence ${i} (it covers ${this.owner.length})`);
      const { positions, logits } = shard.entry(i, draw);
      let k = 0;
      for (let t = 0; t < T; t++) {
        if (targets[b * T + t] === ignore) continue;
        if (positions[k] !== t) break;
        k++;
      }
      if (k !== positions.length || k !== countMasked(targets, b * T, T, ignore)) {
        throw dataError(`teacher cache ${this.dir}: sequence ${i}, mask draw ${draw}: the cached masked positions differ from this run's masks (the cache was labelled with other mask settings or another masking code)`);
      }
      for (let j = 0; j < k; j++) out.set(logits.subarray(j * V, (j + 1) * V), (b * T + positions[j]!) * V);
    }
    this.busyMs += performance.now() - t0;
    return hostArray('float32', [B, T, V], out);
  }

  /** Releases the shard files. */
  close(): void {
    for (const s of this.shards) s.close();
  }
}

function countMasked(targets: BigInt64Array, at: number, T: number, ignore: bigint): number {
  let n = 0;
  for (let t = 0; t < T; t++) if (targets[at + t] !== ignore) n++;
  return n;
}
