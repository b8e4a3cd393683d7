import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configError, ioError } from '../errors.js';
import { parseFloatFlag, parseIntFlag } from './flags.js';

/**
 * Commands whose flags map one-to-one onto keys of a run config: a table of (flag, key, value
 * name, help, parser), `--config FILE` for the same keys as JSON, flags overriding the file. The
 * config schema validates the merged object and supplies the defaults shown in `--help`.
 */

/** Parses one flag value. */
export type FlagParse = (flag: string, v: string) => unknown;

/** One row of a flag table. */
export type FlagRow<K extends string> = readonly [flag: string, key: K, value: string | null, help: string, parse: FlagParse];

export const intFlag = (min = 1): FlagParse => (flag, v) => parseIntFlag(flag, v, min);
export const numFlag = (above = -Infinity): FlagParse => (flag, v) => parseFloatFlag(flag, v, above);
export const nonNegativeFlag: FlagParse = (flag, v) => {
  const x = parseFloatFlag(flag, v);
  if (x < 0) throw configError(`${flag} must be >= 0, got '${v}'`);
  return x;
};
export const strFlag: FlagParse = (_flag, v) => v;
export const boolFlag: FlagParse = () => true;
export const oneOfFlag = (allowed: readonly string[]): FlagParse => (flag, v) => {
  if (!allowed.includes(v)) throw configError(`${flag} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v;
};

/** Adds `--config` and every row of the table to a command; `defaults` are shown in the help. */
export function addFlagTable<K extends string>(cmd: Command, rows: readonly FlagRow<K>[], defaults: Readonly<Partial<Record<K, unknown>>>): Command {
  cmd.option('--config <file>', 'JSON file with run settings (keys in camelCase, as the flags); flags override it');
  for (const [flag, key, value, help] of rows) {
    const d = defaults[key];
    const shown = d === undefined ? '' : ` (default: ${Array.isArray(d) ? d.join(',') : String(d)})`;
    cmd.option(value === null ? flag : `${flag} <${value}>`, `${help}${shown}`);
  }
  return cmd;
}

/** Commander's option values (and `--config`) to the raw object the schema validates. */
export function rawFromFlags<K extends string>(o: Record<string, unknown>, rows: readonly FlagRow<K>[]): Record<string, unknown> {
  let raw: Record<string, unknown> = {};
  if (typeof o.config === 'string') {
    let text: string;
    try {
      text = readFileSync(o.config, 'utf8');
    } catch (e) {
      throw ioError(`--config: cannot read ${o.config}: ${(e as Error).message}`, e);
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw configError(`--config ${o.config}: not valid JSON: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError(`--config ${o.config}: must hold a JSON object`);
  }
  for (const [flag, key, value, , parse] of rows) {
    const v = o[camel(flag)];
    if (v === undefined) continue;
    raw[key] = value === null ? true : parse(flag, String(v));
  }
  return raw;
}

function camel(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
