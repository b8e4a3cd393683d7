import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ioError } from '../errors.js';

/**
 * The bundled report font. Charts name it in their config and the rasteriser loads only these files, so
 * text looks the same on every machine, including ones with no system fonts at all. DejaVu Sans is
 * shipped in `assets/fonts/` with its license (`LICENSE-DejaVu.txt`).
 */
export const REPORT_FONT_FAMILY = 'DejaVu Sans';

/** Font files of the report font, by weight. */
export const REPORT_FONT_FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' } as const;

/** Weights the bundled font comes in. */
export type FontWeight = keyof typeof REPORT_FONT_FILES;

let cachedDir: string | undefined;

/**
 * Absolute path of `assets/fonts/`. Found by walking up from this module, since it runs both from
 * `src/report/` (sources) and `dist/src/report/` (compiled), which sit at different depths.
 */
export function fontDirectory(): string {
  if (cachedDir !== undefined) return cachedDir;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'assets', 'fonts');
    if (existsSync(join(candidate, REPORT_FONT_FILES.regular))) {
      cachedDir = candidate;
      return candidate;
    }
    if (dirname(dir) === dir) break;
  }
  throw ioError(`fontDirectory: no assets/fonts/${REPORT_FONT_FILES.regular} found above ${start}`);
}

/** Absolute path of the bundled font file of one weight. */
export function fontFile(weight: FontWeight): string {
  return join(fontDirectory(), REPORT_FONT_FILES[weight]);
}
