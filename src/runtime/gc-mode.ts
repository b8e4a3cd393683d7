import { setFlagsFromString } from 'node:v8';

/**
 * Where V8 marks the heap during a major garbage collection: on helper threads alongside
 * JavaScript (V8's default) or incrementally on the main thread.
 *
 * ONNX Runtime runs every op on all cores, and each run leaves garbage behind (onnxruntime-node
 * hands back a fresh copy of every output), so during long training loops the concurrent-marking
 * threads compete with ORT for the cores. Measured on a Distil-Rank teacher's training loop: 20 ms
 * per step with concurrent marking, 16 ms without; the whole `protdistil rank` run 38 s -> 32 s
 * (docs/PERFORMANCE.md). The CLI therefore turns concurrent marking off. Latency measurements
 * switch it back on (`withConcurrentMarking`): sub-millisecond runs then pay for marking steps on
 * the main thread instead (0.08 -> 0.15 ms per run for a rank-64 layer at batch 32), and a
 * deployment runs with V8's defaults.
 */

let concurrent = true;

/** Whether V8 marks on helper threads (as last set here; V8's default is on). */
export function concurrentMarking(): boolean {
  return concurrent;
}

/** Turns concurrent marking on or off for the rest of the process (V8 reads it per GC cycle). */
export function setConcurrentMarking(on: boolean): void {
  if (on === concurrent) return;
  setFlagsFromString(on ? '--concurrent-marking' : '--no-concurrent-marking');
  concurrent = on;
}

/** Runs `fn` with V8's default concurrent marking, restoring the previous setting afterwards. */
export async function withConcurrentMarking<T>(fn: () => Promise<T>): Promise<T> {
  const before = concurrent;
  setConcurrentMarking(true);
  try {
    return await fn();
  } finally {
    setConcurrentMarking(before);
  }
}
