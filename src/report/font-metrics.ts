import { dataError } from '../errors.js';

/**
 * Advance widths read straight from a TrueType file, so chart layout can measure text with the same font
 * the rasteriser draws (there is no canvas in Node to ask). Only what width measurement needs is parsed:
 * `head` (units per em), `hhea` + `hmtx` (advances) and `cmap` formats 4 and 12 (characters to glyphs).
 * Kerning is ignored, which makes measured widths a little wider than drawn ones at worst.
 * Table layouts: https://learn.microsoft.com/en-us/typography/opentype/spec/
 */

/** Advance widths of one font face. */
export interface FontMetrics {
  /** Font design units per em (2048 for DejaVu Sans). */
  readonly unitsPerEm: number;
  /** Advance width of a code point in font units; characters the font lacks get the `.notdef` advance. */
  advance(codePoint: number): number;
}

/** Parses the metrics needed for width measurement from TrueType/OpenType bytes. */
export function parseFontMetrics(bytes: Uint8Array, name = 'font'): FontMetrics {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string): never => {
    throw dataError(`parseFontMetrics(${name}): ${msg}`);
  };
  const u16 = (at: number): number => (at + 2 <= view.byteLength ? view.getUint16(at) : fail(`read past end at ${at}`));
  const u32 = (at: number): number => (at + 4 <= view.byteLength ? view.getUint32(at) : fail(`read past end at ${at}`));

  const tables = new Map<string, number>();
  const numTables = u16(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    const tag = String.fromCharCode(view.getUint8(rec), view.getUint8(rec + 1), view.getUint8(rec + 2), view.getUint8(rec + 3));
    tables.set(tag, u32(rec + 8));
  }
  const table = (tag: string): number => tables.get(tag) ?? fail(`no '${tag}' table`);

  const unitsPerEm = u16(table('head') + 18);
  const numberOfHMetrics = u16(table('hhea') + 34);
  if (unitsPerEm === 0 || numberOfHMetrics === 0) fail(`unitsPerEm=${unitsPerEm}, numberOfHMetrics=${numberOfHMetrics}`);
  const hmtx = table('hmtx');
  // Glyphs past numberOfHMetrics share the last advance (monospaced tails).
  const glyphAdvance = (glyph: number): number => u16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));

  const toGlyph = cmapLookup(table('cmap'), u16, u32, fail);
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    advance(codePoint: number): number {
      let w = cache.get(codePoint);
      if (w === undefined) {
        w = glyphAdvance(toGlyph(codePoint));
        cache.set(codePoint, w);
      }
      return w;
    },
  };
}

/** Width in pixels of `text` set in `metrics` at `fontSize` pixels per em. */
export function textWidth(metrics: FontMetrics, text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) units += metrics.advance(ch.codePointAt(0) as number);
  return (units * fontSize) / metrics.unitsPerEm;
}

/** Picks the best Unicode subtable of `cmap` and returns a code point -> glyph id function (0 = missing). */
function cmapLookup(
  cmap: number,
  u16: (at: number) => number,
  u32: (at: number) => number,
  fail: (msg: string) => never,
): (codePoint: number) => number {
  let format4: number | undefined;
  let format12: number | undefined;
  const count = u16(cmap + 2);
  for (let i = 0; i < count; i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = u16(rec);
    const encoding = u16(rec + 2);
    const sub = cmap + u32(rec + 4);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    const format = u16(sub);
    if (format === 12) format12 ??= sub;
    if (format === 4) format4 ??= sub;
  }
  if (format12 !== undefined) return format12Lookup(format12, u32);
  if (format4 !== undefined) return format4Lookup(format4, u16);
  return fail('no Unicode cmap subtable of format 4 or 12');
}

/** Segment mapping to delta values (BMP only). */
function format4Lookup(sub: number, u16: (at: number) => number): (codePoint: number) => number {
  const segCount = u16(sub + 6) / 2;
  const endCodes = sub + 14;
  const startCodes = endCodes + 2 * segCount + 2;
  const idDeltas = startCodes + 2 * segCount;
  const idRangeOffsets = idDeltas + 2 * segCount;
  return (c) => {
    if (c > 0xffff) return 0;
    for (let s = 0; s < segCount; s++) {
      if (u16(endCodes + 2 * s) < c) continue;
      const start = u16(startCodes + 2 * s);
      if (start > c) return 0;
      const delta = u16(idDeltas + 2 * s);
      const rangeOffsetAt = idRangeOffsets + 2 * s;
      const rangeOffset = u16(rangeOffsetAt);
      if (rangeOffset === 0) return (c + delta) & 0xffff;
      const glyph = u16(rangeOffsetAt + rangeOffset + 2 * (c - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}

/** Segmented coverage (full Unicode range). */
function format12Lookup(sub: number, u32: (at: number) => number): (codePoint: number) => number {
  const numGroups = u32(sub + 12);
  return (c) => {
    for (let g = 0; g < numGroups; g++) {
      const group = sub + 16 + 12 * g;
      const startChar = u32(group);
      const endChar = u32(group + 4);
      if (c < startChar) return 0;
      if (c <= endChar) return u32(group + 8) + (c - startChar);
    }
    return 0;
  };
}
