/**
 * A small seeded PRNG so masking, shuffling and initialisation are reproducible across runs and
 * platforms: xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c), a 128-bit
 * state with 32-bit outputs, seeded by running a 32-bit SplitMix-style mixer over the seed (so nearby
 * seeds give unrelated streams). Normals come from Box-Muller, consuming two uniforms per pair.
 * Not cryptographic.
 */
import { configError } from '../errors.js';

/** The four 32-bit state words; {@link Rng.state} and {@link Rng.fromState} round-trip it. */
export type RngState = readonly [number, number, number, number];

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
const TWO_POW_32 = 4294967296;

/** Deterministic random stream for a seed. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // The cached second Box-Muller value. Kept as a plain number plus a flag: a `number | undefined`
  // field would box every stored double on the heap (one allocation per two normals).
  private spare = 0;
  private hasSpare = false;

  /** `seed`: any integer in [0, 2^32) (other safe integers are reduced mod 2^32). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw configError(`Rng: seed must be an integer, got ${seed}`);
    let x = Number(BigInt.asUintN(32, BigInt(seed)));
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Rebuilds a generator from a saved state (the cached Box-Muller spare is not part of it). */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    if (state.every((w) => w === 0) || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw configError(`Rng.fromState: need four uint32 words, not all zero; got [${state.join(', ')}]`);
    }
    [r.s0, r.s1, r.s2, r.s3] = state;
    return r;
  }

  /** Current state, for checkpointing a run. */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uniform uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling), 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw configError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal N(0, 1) by Box-Muller; the second value of each pair is cached for the next call. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.float(); // (0, 1], so the log is finite
    const u2 = this.float();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /**
   * Fills `out` with standard normals: exactly the values successive `normal()` calls would
   * return, in order (spare included), about a quarter faster for long runs — the generator's
   * state stays in locals for the whole loop.
   */
  fillNormal(out: Float64Array): Float64Array {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasSpare) {
      this.hasSpare = false;
      out[i++] = this.spare;
    }
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    while (i < n) {
      // Two xoshiro128** draws, as nextUint32 (inlined).
      let x = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
      let t = (s1 << 9) >>> 0;
      s2 = (s2 ^ s0) >>> 0;
      s3 = (s3 ^ s1) >>> 0;
      s1 = (s1 ^ s2) >>> 0;
      s0 = (s0 ^ s3) >>> 0;
      s2 = (s2 ^ t) >>> 0;
      s3 = rotl(s3, 11);
      const u1 = 1 - x / TWO_POW_32;
      x = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
      t = (s1 << 9) >>> 0;
      s2 = (s2 ^ s0) >>> 0;
      s3 = (s3 ^ s1) >>> 0;
      s1 = (s1 ^ s2) >>> 0;
      s0 = (s0 ^ s3) >>> 0;
      s2 = (s2 ^ t) >>> 0;
      s3 = rotl(s3, 11);
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * (x / TWO_POW_32);
      out[i++] = r * Math.cos(theta);
      if (i < n) out[i++] = r * Math.sin(theta);
      else {
        this.spare = r * Math.sin(theta);
        this.hasSpare = true;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** Uniform float in [0, 1) (alias of `float`). */
  uniform(): number {
    return this.float();
  }

  /** A new Float32Array of N(mean, std²) samples. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const z = this.fillNormal(new Float64Array(n));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * (z[i] as number);
    return out;
  }

  /** A new Float32Array of U(lo, hi) samples. */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.float();
    return out;
  }

  /** An independent generator seeded from this stream (one per purpose: init, data, masking). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}
