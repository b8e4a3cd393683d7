import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { configError, dataError, ioError } from '../errors.js';
import { toJsonText, writeFileAtomic } from '../io/atomic-write.js';
import { shardRange } from '../extract/shard.js';
import { identityDiff, parseIdentity, type CacheIdentity } from './cache-identity.js';
import { SHARD_FORMAT, SHARD_VERSION, shardFileName, ShardReader, type ShardFooter } from './cache-shard.js';

/**
 * The manifest of a teacher-logit cache directory (`cache.json`): the key and identity shared by
 * all shards, and the shard files that together cover every sequence exactly once. `label` writes
 * it for an unsharded run; `label-merge` writes it after checking independently labelled shards
 * (same key, same split, none missing or duplicated, none truncated, checksums intact). Shards are
 * referenced in place, not copied.
 */

/** Name of the manifest inside a cache directory. */
export const MANIFEST_FILE = 'cache.json';

/** One shard as the manifest lists it. */
export interface ManifestShard {
  readonly file: string;
  readonly index: number;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
  readonly positions: number;
  readonly tokens: number;
  readonly payloadSha256: string;
}

/** The parsed `cache.json`. */
export interface CacheManifest {
  readonly format: string;
  readonly version: number;
  readonly key: string;
  readonly identity: CacheIdentity;
  readonly shards: readonly ManifestShard[];
  /** Masked positions, teacher tokens and bytes over all shards. */
  readonly positions: number;
  readonly tokens: number;
  readonly bytes: number;
  /** The first shard's labelling info (teacher description, FASTA name). */
  readonly info: Readonly<Record<string, unknown>>;
}

/** The shard files (`*.logits`, not hidden temp files) in a directory, sorted by name. */
export function listShardFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.logits') && !f.startsWith('.')).sort();
}

/** Result of {@link mergeShards}. */
export interface MergeResult {
  readonly manifest: CacheManifest;
  /** The directory already had this exact manifest; nothing was written. */
  readonly unchanged: boolean;
}

/**
 * Checks the shards in `dir` and writes its manifest. Errors (one line each): no shards; a shard
 * truncated or damaged (checksum); shards of different caches (names the differing setting);
 * shards of different splits; a shard missing or present twice; an existing different manifest
 * (never overwritten).
 */
export function mergeShards(dir: string): MergeResult {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw ioError(`${dir}: no such directory`);
  const files = listShardFiles(dir);
  if (files.length === 0) throw dataError(`${dir} holds no teacher-logit shards (*.logits); run protdistil label first`);
  const readers: ShardReader[] = [];
  try {
    for (const f of files) readers.push(ShardReader.open(join(dir, f)));
    const first = readers[0]!;
    for (const r of readers.slice(1)) {
      if (r.footer.key !== first.footer.key) {
        const diff = identityDiff(first.footer.identity, r.footer.identity).join('; ');
        throw configError(`${files[0]} and ${basename(r.path)} in ${dir} come from different labelling runs (${diff}); a cache joins shards of one run only`);
      }
      if (r.footer.shard.count !== first.footer.shard.count) {
        throw configError(`${files[0]} is shard ${first.footer.shard.index}/${first.footer.shard.count} but ${basename(r.path)} is shard ${r.footer.shard.index}/${r.footer.shard.count}: shards of one cache share one split`);
      }
    }
    const n = first.footer.shard.count;
    const byIndex = new Map<number, ShardReader>();
    for (const r of readers) {
      const seen = byIndex.get(r.footer.shard.index);
      if (seen !== undefined) throw configError(`shard ${r.footer.shard.index}/${n} appears twice in ${dir}: ${basename(seen.path)} and ${basename(r.path)}; keep one`);
      byIndex.set(r.footer.shard.index, r);
    }
    const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
    if (missing.length > 0) {
      const list = missing.slice(0, 5).map((i) => `${i}/${n}`).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
      throw dataError(`${dir} lacks shard ${list} (expected ${shardFileName(missing[0]!, n)}); label it with --shard ${missing[0]}/${n} and merge again`);
    }
    const ordered = Array.from({ length: n }, (_, i) => byIndex.get(i + 1)!);
    for (const r of ordered) {
      const want = shardRange(r.footer.identity.sequences, { index: r.footer.shard.index, count: n });
      if (r.footer.shard.start !== want.start || r.footer.shard.end !== want.end) {
        throw dataError(`${r.path} covers sequences ${r.footer.shard.start}..${r.footer.shard.end - 1}, but shard ${r.footer.shard.index}/${n} of ${r.footer.identity.sequences} is ${want.start}..${want.end - 1}`);
      }
      r.verifyPayload();
    }
    const manifest = manifestOf(ordered.map((r) => ({ file: basename(r.path), footer: r.footer, bytes: statSync(r.path).size })));
    const path = join(dir, MANIFEST_FILE);
    const text = toJsonText(manifest, MANIFEST_FILE);
    if (existsSync(path)) {
      if (readFileSync(path, 'utf8') === text) return { manifest, unchanged: true };
      throw configError(`${path} already describes another cache or shard set; nothing was overwritten (remove it to merge again)`);
    }
    writeFileAtomic(path, text);
    return { manifest, unchanged: false };
  } finally {
    for (const r of readers) r.close();
  }
}

function manifestOf(shards: readonly { file: string; footer: ShardFooter; bytes: number }[]): CacheManifest {
  const f0 = shards[0]!.footer;
  const list: ManifestShard[] = shards.map(({ file, footer, bytes }) => ({
    file,
    index: footer.shard.index,
    count: footer.shard.count,
    start: footer.shard.start,
    end: footer.shard.end,
    bytes,
    positions: footer.positions,
    tokens: footer.tokens,
    payloadSha256: footer.payloadSha256,
  }));
  return {
    format: `${SHARD_FORMAT}-cache`,
    version: SHARD_VERSION,
    key: f0.key,
    identity: f0.identity,
    shards: list,
    positions: list.reduce((a, s) => a + s.positions, 0),
    tokens: list.reduce((a, s) => a + s.tokens, 0),
    bytes: list.reduce((a, s) => a + s.bytes, 0),
    info: f0.info,
  };
}

/** Reads and checks `dir/cache.json`; a directory of unmerged shards gets a hint to merge. */
export function readManifest(dir: string): CacheManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) {
    if (!existsSync(dir)) throw ioError(`teacher cache ${dir}: no such directory`);
    if (listShardFiles(dir).length > 0) throw configError(`teacher cache ${dir} holds shards but no ${MANIFEST_FILE}: run protdistil label-merge ${dir} first`);
    throw configError(`${dir} is not a teacher cache (no ${MANIFEST_FILE}; make one with protdistil label)`);
  }
  let raw: CacheManifest;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as CacheManifest;
  } catch (e) {
    throw dataError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const identity = parseIdentity(raw?.identity);
  if (raw?.format !== `${SHARD_FORMAT}-cache` || identity === null || !Array.isArray(raw.shards) || raw.shards.length === 0) throw dataError(`${path} is not a teacher-cache manifest`);
  if (raw.version !== SHARD_VERSION) throw dataError(`${path}: teacher-cache version ${String(raw.version)}; this protdistil reads version ${SHARD_VERSION}`);
  return { ...raw, identity };
}
