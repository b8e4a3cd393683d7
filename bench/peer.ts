import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { consoleTable } from '../src/report/markdown-table.js';

/** Benchmark helpers: run the PyTorch peer scripts and time our own code. */

/** The Python with Debian's python3-torch (override with PROTDISTIL_BENCH_PYTHON). */
export function peerPython(): string {
  return process.env.PROTDISTIL_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Absolute path of a file under bench/torch (works from dist/bench). */
export function torchScript(name: string): string {
  return fileURLToPath(new URL(`../../bench/torch/${name}`, import.meta.url));
}

/** Runs a peer script and parses the last JSON line it prints. */
export function runPeer<T>(script: string, args: readonly string[]): T {
  const r = spawnSync(peerPython(), [torchScript(script), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`peer ${script} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line === undefined) throw new Error(`peer ${script} printed no JSON`);
  return JSON.parse(line) as T;
}

/** Median of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Times an async function: `warmup` untimed calls then `repeats` timed ones; returns ms each. */
export async function timeIt(fn: () => Promise<unknown>, repeats: number, warmup = 2): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** One line describing the machine, for results files. */
export function machineLine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

/** Fixed-width table for the console (the report module's formatter). */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return consoleTable(headers, rows);
}
