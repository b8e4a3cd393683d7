import type { Command } from 'commander';

/** Registers `eval report` (filled in below). */
export function registerEvalReport(_ev: Command): void {}
