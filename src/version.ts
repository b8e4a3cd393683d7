import { readFileSync } from 'node:fs';

/**
 * The version in protdistil's package.json, read at run time so `--version` always matches the
 * installed package. From dist/src/ the manifest is two levels up, both in a checkout and
 * in an installed package (npm always ships package.json).
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version string');
  return pkg.version;
}
