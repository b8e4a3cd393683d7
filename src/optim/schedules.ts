import { configError } from '../errors.js';

/**
 * Learning-rate schedules as pure functions of the 0-based step k (the number of updates done
 * before this one), with the Hugging Face `transformers` conventions: linear warmup from 0 over
 * `warmup` steps, then constant, linear decay to 0, or half-cosine decay to `minRatio`·peak at `total`.
 */
export type Schedule = (k: number) => number;

/** Parameters shared by the schedules. */
export interface ScheduleConfig {
  readonly peak: number;
  readonly warmup?: number;
  readonly total?: number;
  /** Cosine floor as a fraction of the peak (default 0). */
  readonly minRatio?: number;
}

function checked(c: ScheduleConfig, needTotal: boolean): { peak: number; warmup: number; total: number } {
  const warmup = c.warmup ?? 0;
  const total = c.total ?? Infinity;
  if (!(c.peak >= 0)) throw configError(`schedule: learning rate must be >= 0, got ${c.peak}`);
  if (!(warmup >= 0 && Number.isInteger(warmup))) throw configError(`schedule: warmup must be a non-negative integer, got ${warmup}`);
  if (needTotal && !(Number.isFinite(total) && total > warmup)) throw configError(`schedule: total steps (${total}) must exceed warmup (${warmup})`);
  return { peak: c.peak, warmup, total };
}

const warm = (k: number, warmup: number): number => (warmup > 0 && k < warmup ? k / warmup : 1);

/** Constant after linear warmup. */
export function constantSchedule(c: ScheduleConfig): Schedule {
  const { peak, warmup } = checked(c, false);
  return (k) => peak * warm(k, warmup);
}

/** Linear warmup then linear decay to 0 at `total`. */
export function linearSchedule(c: ScheduleConfig): Schedule {
  const { peak, warmup, total } = checked(c, true);
  return (k) => (k < warmup ? peak * warm(k, warmup) : peak * Math.max(0, (total - k) / (total - warmup)));
}

/** Linear warmup then half-cosine decay to minRatio·peak at `total`. */
export function cosineSchedule(c: ScheduleConfig): Schedule {
  const { peak, warmup, total } = checked(c, true);
  const floor = c.minRatio ?? 0;
  return (k) => {
    if (k < warmup) return peak * warm(k, warmup);
    const progress = Math.min(1, (k - warmup) / (total - warmup));
    return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  };
}

/** Builds a schedule by name (for configs and CLI flags). */
export function scheduleByName(name: 'constant' | 'linear' | 'cosine', c: ScheduleConfig): Schedule {
  return name === 'constant' ? constantSchedule(c) : name === 'linear' ? linearSchedule(c) : cosineSchedule(c);
}
