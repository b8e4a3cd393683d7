import { readFileSync } from 'node:fs';
import { runtimeError } from '../errors.js';

// WebAssembly is a Node global that TypeScript's ES library does not describe; the part used here:
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => WasmInstance };

/**
 * The eigensolver's inner loops as WebAssembly with 128-bit SIMD (kernels.wat, assembled by the
 * build into kernels.wasm next to this file): the symmetric sweep of the Householder reduction and
 * the two row sweeps of the back-transformation. Callers lay their float64 arrays out in the
 * kernels' memory (`reserve`, then `view`) and pass element offsets. One instance per thread.
 * Measured against the same loops in TypeScript, n = 1280: tridiagonalisation 0.77 → 0.24 s.
 */
export class EigenKernels {
  private readonly memory: WasmMemory;
  private readonly fns: {
    sweep: (s: number, n: number, c0: number, m: number, v: number, p: number, u: number, t: number) => void;
    dual_dot: (y: number, k: number, i0: number, i1: number, c1: number, c2: number, wa: number, wb: number) => void;
    dual_update: (y: number, k: number, i0: number, i1: number, c1: number, c2: number, b1: number, b2: number, wa: number, wb: number) => void;
  };

  private constructor(instance: WasmInstance) {
    const e = instance.exports as Record<string, unknown>;
    this.memory = e.memory as WasmMemory;
    this.fns = e as unknown as EigenKernels['fns'];
  }

  /** Makes room for `doubles` float64 values; views taken before are invalid afterwards. */
  reserve(doubles: number): void {
    const bytes = doubles * 8;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw runtimeError(`eigensolver: cannot allocate ${(bytes / 2 ** 20).toFixed(0)} MiB of kernel memory`, e);
      }
    }
  }

  /** A float64 view of `length` values at element offset `at`. */
  view(at: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, at * 8, length);
  }

  /**
   * p += S·v over the lower triangle of the m x m block of S (n x n at offset s) at (c0, c0),
   * applying the deferred update S −= u·tᵀ + t·uᵀ to each element just before its use.
   * v, p, u, t: offsets of the block's vectors (entry 0 = block row 0).
   */
  sweep(s: number, n: number, c0: number, m: number, v: number, p: number, u: number, t: number): void {
    this.fns.sweep(s * 8, n, c0, m, v * 8, p * 8, u * 8, t * 8);
  }

  /** For rows i in [i0, i1) of Y (rows of k at offset y): wb += c1[i]·Y_i, wa += c2[i]·Y_i (c1[i] at offset c1 + i). */
  dualDot(y: number, k: number, i0: number, i1: number, c1: number, c2: number, wa: number, wb: number): void {
    this.fns.dual_dot(y * 8, k, i0, i1, c1 * 8, c2 * 8, wa * 8, wb * 8);
  }

  /** For rows i in [i0, i1) of Y: Y_i ← Y_i − (b2·c2[i])·wa − (b1·c1[i])·wb. */
  dualUpdate(y: number, k: number, i0: number, i1: number, c1: number, c2: number, b1: number, b2: number, wa: number, wb: number): void {
    this.fns.dual_update(y * 8, k, i0, i1, c1 * 8, c2 * 8, b1, b2, wa * 8, wb * 8);
  }

  private static instance: EigenKernels | undefined;

  /** This thread's instance (compiled and instantiated on first use). */
  static get(): EigenKernels {
    if (EigenKernels.instance === undefined) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
      } catch (e) {
        throw runtimeError('eigensolver: kernels.wasm is missing next to the compiled code (run the build: npm run build)', e);
      }
      EigenKernels.instance = new EigenKernels(new WebAssembly.Instance(new WebAssembly.Module(bytes)));
    }
    return EigenKernels.instance;
  }
}
