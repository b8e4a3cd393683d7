import { createHash } from 'node:crypto';

/**
 * What a teacher-logit cache is a cache *of*: the teacher's weights, the FASTA, and every setting
 * that decides the crops and masks (seed, crop, mask probability, the 80/10/10 rule, the number of
 * mask draws), plus how the logits are stored. Its SHA-256 (over canonical JSON) is the cache key:
 * shards with different keys never merge, and `train --teacher-cache` compares each field with the
 * run so a mismatch is named, never silently trained on. Paths and machine names are not part of
 * it, so shards labelled on different machines agree.
 */

/** Stored element type of the logits. */
export type CacheDType = 'float32' | 'float16';

/** Storage types `label --dtype` accepts. */
export const CACHE_DTYPES: readonly CacheDType[] = ['float32', 'float16'];

/** The masking rule the stream applies (data/masking.ts); part of the key so a rule change invalidates caches. */
export const MASK_RULE = 'bert-80-10-10 (select p; 80 % <mask>, 10 % random standard residue, 10 % kept); crop+mask per (seed, draw, sequence)';

/** Everything a cache's contents depend on. */
export interface CacheIdentity {
  /** The teacher weights' fingerprint (SHA-256 of its checkpoint files, as `train` computes it). */
  readonly teacher: string;
  /** SHA-256 of the FASTA file's bytes. */
  readonly fasta: string;
  readonly sequences: number;
  readonly unknownAsUnk: boolean;
  readonly seed: number;
  readonly crop: number;
  readonly maskProb: number;
  readonly maskRule: string;
  /** Mask draws per sequence (K): draw d is the masking of epoch d; train uses draw epoch mod K. */
  readonly masks: number;
  readonly vocab: number;
  readonly dtype: CacheDType;
}

/** Human-readable names of the identity fields, for error messages. */
const FIELD_TEXT: Readonly<Record<keyof CacheIdentity, string>> = {
  teacher: 'teacher weights (fingerprint)',
  fasta: 'FASTA (SHA-256)',
  sequences: 'number of sequences',
  unknownAsUnk: '--unknown-as-unk',
  seed: '--seed',
  crop: '--crop',
  maskProb: '--mask-prob',
  maskRule: 'masking rule',
  masks: '--masks',
  vocab: 'vocabulary size',
  dtype: '--dtype',
};

const FIELDS = Object.keys(FIELD_TEXT) as (keyof CacheIdentity)[];

/** The identity with its fields in a fixed order (the canonical form hashed into the key). */
export function canonicalIdentity(id: CacheIdentity): CacheIdentity {
  return Object.fromEntries(FIELDS.map((k) => [k, id[k]])) as unknown as CacheIdentity;
}

/** The cache key: SHA-256 (hex) of the canonical identity. */
export function cacheKey(id: CacheIdentity): string {
  return createHash('sha256').update(JSON.stringify(canonicalIdentity(id))).digest('hex');
}

/** Shortens long hashes for messages; a fingerprint's `|…` qualifiers (e.g. an int8 teacher's) stay whole. */
function show(v: unknown): string {
  if (typeof v !== 'string') return JSON.stringify(v);
  const [hash = '', ...qualifiers] = v.split('|');
  return [hash.length > 24 ? `${hash.slice(0, 16)}…` : hash, ...qualifiers].join('|');
}

/** The fields in which two identities differ, as `name: a vs b` texts (empty when equal). */
export function identityDiff(a: CacheIdentity, b: CacheIdentity, names: readonly [string, string] = ['', '']): string[] {
  const out: string[] = [];
  for (const k of FIELDS) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${FIELD_TEXT[k]}: ${names[0]}${show(a[k])} vs ${names[1]}${show(b[k])}`);
  }
  return out;
}

/** Validates an identity read from a file (a JSON object with every field of the right type). */
export function parseIdentity(raw: unknown): CacheIdentity | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const str = (k: string): boolean => typeof r[k] === 'string';
  const int = (k: string): boolean => Number.isSafeInteger(r[k]);
  if (!(str('teacher') && str('fasta') && str('maskRule') && int('sequences') && int('seed') && int('crop') && int('masks') && int('vocab'))) return null;
  if (typeof r.unknownAsUnk !== 'boolean' || typeof r.maskProb !== 'number' || !CACHE_DTYPES.includes(r.dtype as CacheDType)) return null;
  return canonicalIdentity(r as unknown as CacheIdentity);
}
