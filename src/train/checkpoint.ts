import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointError, configError, ioError } from '../errors.js';
import { writeDirAtomic } from '../io/atomic-dir.js';
import { toJsonText, writeFileAtomic } from '../io/atomic-write.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { HostArray } from '../tensor/host-array.js';

/**
 * Training checkpoints: one directory per save, `checkpoints/step-<n>/` with
 * `model.safetensors` (parameters under protdistil names), `optimizer.safetensors` (every state
 * slot as `<param>.<slot>`) and `state.json` (step, data cursor, schedule position, best
 * validation, the run identity). Each directory is written atomically (io/atomic-dir.ts), then
 * `checkpoints/latest.json` is replaced atomically to point at it, so a run killed at any moment —
 * also during a save — resumes from the last complete checkpoint. The two newest are kept.
 *
 * Every random draw of a run (init, crops, masks, batch order) is a function of the seed and the
 * (epoch, batch, sequence) position, so the data cursor is all the "RNG state" a resume needs.
 */

/** What a checkpoint's state.json holds. */
export interface TrainState {
  readonly format: 'protdistil-train-state';
  readonly version: 1;
  /** Optimizer steps applied. */
  readonly step: number;
  /** The next batch to train on. */
  readonly epoch: number;
  readonly batchIndex: number;
  /** Non-pad tokens and scored positions consumed so far. */
  readonly tokensSeen: number;
  /** Training wall time so far (ms), for time budgets across resumes. */
  readonly elapsedMs: number;
  /** Best pure-mask validation perplexity so far and its step (null before the first evaluation). */
  readonly best: { readonly perplexity: number; readonly step: number } | null;
  /** Byte length of the JSONL log at save time (a resumed run truncates the log there). */
  readonly logBytes: number;
  /** Everything that must match for a resume (model, data, objective, schedule). */
  readonly identity: Readonly<Record<string, unknown>>;
}

/** A checkpoint read back. */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly state: TrainState;
  readonly params: Map<string, HostArray>;
  readonly optimizer: Map<string, HostArray>;
}

const KEEP = 2;
const stepDir = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** Writes a checkpoint under `root` (the run's `checkpoints/` folder) and points `latest.json` at it. */
export function saveCheckpoint(root: string, state: TrainState, params: ReadonlyMap<string, HostArray>, optimizer: ReadonlyMap<string, HostArray>): string {
  const name = stepDir(state.step);
  const dir = join(root, name);
  writeDirAtomic(dir, (tmp) => {
    writeSafetensors(join(tmp, 'model.safetensors'), params);
    faultPoint('checkpoint-write');
    writeSafetensors(join(tmp, 'optimizer.safetensors'), optimizer);
    writeFileAtomic(join(tmp, 'state.json'), toJsonText(state, 'state.json'));
  });
  writeFileAtomic(join(root, 'latest.json'), toJsonText({ checkpoint: name, step: state.step }, 'latest.json'));
  const all = readdirSync(root).filter((e) => /^step-\d{8}$/.test(e)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - KEEP))) if (old !== name) rmSync(join(root, old), { recursive: true, force: true });
  return dir;
}

/** Reads the checkpoint `latest.json` points at (`root` = a run's `checkpoints/` folder, or a run directory). */
export function loadLatestCheckpoint(rootOrRun: string): LoadedCheckpoint {
  const root = existsSync(join(rootOrRun, 'checkpoints', 'latest.json')) ? join(rootOrRun, 'checkpoints') : rootOrRun;
  const latest = join(root, 'latest.json');
  if (!existsSync(latest)) throw checkpointError(`no checkpoint to resume from in ${rootOrRun} (no checkpoints/latest.json; was the run started with --save-every, and did it save once?)`);
  const pointer = readJson(latest) as { checkpoint?: unknown };
  if (typeof pointer.checkpoint !== 'string' || !/^step-\d{8}$/.test(pointer.checkpoint)) throw checkpointError(`${latest}: not a checkpoint pointer`);
  const dir = join(root, pointer.checkpoint);
  const state = readJson(join(dir, 'state.json')) as TrainState;
  if (state.format !== 'protdistil-train-state' || state.version !== 1) throw checkpointError(`${dir}/state.json: not a protdistil training state (format ${String(state.format)}, version ${String(state.version)})`);
  return {
    dir,
    state,
    params: readSafetensors(join(dir, 'model.safetensors')).tensors,
    optimizer: readSafetensors(join(dir, 'optimizer.safetensors')).tensors,
  };
}

/** Compares a checkpoint's run identity with this run's; throws naming every field that differs. */
export function checkIdentity(saved: Readonly<Record<string, unknown>>, current: Readonly<Record<string, unknown>>, dir: string): void {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])].sort();
  const diffs = keys.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]));
  if (diffs.length > 0) {
    const shown = diffs.map((k) => `${k}: checkpoint ${JSON.stringify(saved[k])} vs now ${JSON.stringify(current[k])}`).join('; ');
    throw configError(`cannot resume from ${dir}: the run configuration differs (${shown}); resume with the same model, data, objective and schedule, or start a new --out`);
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw checkpointError(`${path}: not valid JSON (${(e as Error).message}); the checkpoint is damaged`, e);
  }
}

const faultHits = new Map<string, number>();

/**
 * Fault injection for crash and full-disk tests: `PROTDISTIL_FAULT=<point>[#n]` kills the process
 * at the n-th pass (default 1st) through that point with SIGKILL, as `kill -9` would;
 * `PROTDISTIL_FAULT=<point>[#n]:enospc` throws the error a full disk gives there instead.
 */
export function faultPoint(point: string): void {
  const f = process.env.PROTDISTIL_FAULT;
  if (f === undefined || !f.startsWith(point)) return;
  const m = /^([a-z-]+)(?:#(\d+))?(:enospc)?$/.exec(f);
  if (m === null || m[1] !== point) return;
  const hits = (faultHits.get(point) ?? 0) + 1;
  faultHits.set(point, hits);
  if (hits !== Number(m[2] ?? '1')) return;
  if (m[3] === ':enospc') throw ioError(`cannot write the checkpoint: ENOSPC: no space left on device`);
  process.kill(process.pid, 'SIGKILL');
}
