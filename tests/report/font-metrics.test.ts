import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import { isProtdistilError } from '../../src/errors.js';
import { parseFontMetrics, textWidth } from '../../src/report/font-metrics.js';
import { fontDirectory, fontFile, REPORT_FONT_FAMILY } from '../../src/report/fonts.js';

/**
 * A minimal TrueType file: head, hhea, hmtx and one cmap subtable, enough for width measurement.
 * `advances` are the hmtx long metrics (glyph i -> advances[i]); glyphs past them reuse the last one.
 */
function syntheticFont(unitsPerEm: number, advances: readonly number[], cmapSubtable: Uint8Array): Uint8Array {
  const head = new Uint8Array(54);
  new DataView(head.buffer).setUint16(18, unitsPerEm);
  const hhea = new Uint8Array(36);
  new DataView(hhea.buffer).setUint16(34, advances.length);
  const hmtx = new Uint8Array(4 * advances.length);
  advances.forEach((a, i) => new DataView(hmtx.buffer).setUint16(4 * i, a));
  const cmap = new Uint8Array(12 + cmapSubtable.length);
  const cv = new DataView(cmap.buffer);
  cv.setUint16(2, 1); // one encoding record
  cv.setUint16(4, 3); // platform Windows
  cv.setUint16(6, cmapSubtable[1] === 12 ? 10 : 1); // full Unicode for format 12, BMP for format 4
  cv.setUint32(8, 12);
  cmap.set(cmapSubtable, 12);
  const tables: [string, Uint8Array][] = [
    ['cmap', cmap],
    ['head', head],
    ['hhea', hhea],
    ['hmtx', hmtx],
  ];
  const total = 12 + 16 * tables.length + tables.reduce((n, [, t]) => n + t.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x00010000);
  v.setUint16(4, tables.length);
  let at = 12 + 16 * tables.length;
  tables.forEach(([tag, bytes], i) => {
    const rec = 12 + 16 * i;
    for (let k = 0; k < 4; k++) out[rec + k] = tag.charCodeAt(k);
    v.setUint32(rec + 8, at);
    v.setUint32(rec + 12, bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  });
  return out;
}

/** Format 4 with a delta segment 'A'-'C' -> glyphs 1-3, an array segment 'x'-'y' -> glyphs 4, 5, and the end marker. */
function format4(): Uint8Array {
  const words = [
    4, 0, 0, 6, 0, 0, 0, // format, length, language, segCountX2 = 6, search fields
    67, 121, 0xffff, // endCode
    0, // reservedPad
    65, 120, 0xffff, // startCode
    (1 - 65) & 0xffff, 0, 1, // idDelta
    0, 4, 0, // idRangeOffset: segment 1 points 4 bytes ahead, at glyphIdArray[0]
    4, 5, // glyphIdArray
  ];
  const out = new Uint8Array(2 * words.length);
  words.forEach((w, i) => new DataView(out.buffer).setUint16(2 * i, w));
  new DataView(out.buffer).setUint16(2, out.length);
  return out;
}

/** Format 12 with one group: U+1F600..U+1F601 -> glyphs 2, 3. */
function format12(): Uint8Array {
  const out = new Uint8Array(16 + 12);
  const v = new DataView(out.buffer);
  v.setUint16(0, 12);
  v.setUint32(4, out.length);
  v.setUint32(12, 1);
  v.setUint32(16, 0x1f600);
  v.setUint32(20, 0x1f601);
  v.setUint32(24, 2);
  return out;
}

/** Advance width resvg gives `text` at 100 px: the shift between start- and end-anchored copies. */
function resvgAdvance(text: string): number {
  const bbox = (anchor: string): number => {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="200"><text x="1000" y="150" font-size="100" ` +
      `font-family="${REPORT_FONT_FAMILY}" text-anchor="${anchor}">${text}</text></svg>`;
    const r = new Resvg(svg, { font: { fontFiles: [fontFile('regular')], loadSystemFonts: false } });
    const box = r.getBBox();
    assert.ok(box !== undefined, `resvg drew nothing for ${text}`);
    return box.x;
  };
  return bbox('start') - bbox('end');
}

describe('bundled font files', () => {
  it('are found from the compiled module, with their license', () => {
    const dir = fontDirectory();
    assert.ok(existsSync(join(dir, 'DejaVuSans.ttf')));
    assert.ok(existsSync(join(dir, 'DejaVuSans-Bold.ttf')));
    assert.match(readFileSync(join(dir, 'LICENSE-DejaVu.txt'), 'utf8'), /Bitstream Vera/);
  });
});

describe('parseFontMetrics', () => {
  it('reads a format 4 cmap: delta segments, glyph arrays, the hmtx tail and missing characters', () => {
    const m = parseFontMetrics(syntheticFont(1000, [500, 600, 700, 800, 900], format4()));
    assert.equal(m.unitsPerEm, 1000);
    assert.equal(m.advance(65), 600); // 'A' -> glyph 1
    assert.equal(m.advance(67), 800); // 'C' -> glyph 3
    assert.equal(m.advance(120), 900); // 'x' -> glyph 4
    assert.equal(m.advance(121), 900); // 'y' -> glyph 5, past the long metrics: last advance
    assert.equal(m.advance(68), 500); // 'D' is missing -> .notdef
    assert.equal(m.advance(0x1f600), 500);
    assert.equal(textWidth(m, 'ACx', 10), (600 + 800 + 900) / 100);
  });

  it('reads a format 12 cmap beyond the BMP', () => {
    const m = parseFontMetrics(syntheticFont(2000, [100, 200, 300, 400], format12()));
    assert.equal(m.advance(0x1f600), 300);
    assert.equal(m.advance(0x1f601), 400);
    assert.equal(m.advance(0x1f602), 100);
    assert.equal(textWidth(m, '\u{1F600}', 20), 3);
  });

  it('rejects bytes that are not a font', () => {
    assert.throws(() => parseFontMetrics(new Uint8Array(8), 'junk.ttf'), (e: unknown) => isProtdistilError(e, 'data') && e.message.includes('junk.ttf'));
    const noCmap = syntheticFont(1000, [500], format4());
    noCmap.set([0x78, 0x78, 0x78, 0x78], 12); // rename the 'cmap' record
    assert.throws(() => parseFontMetrics(noCmap), /no 'cmap' table/);
  });

  it('gives DejaVu Sans advances (units per em 2048, space 651, digits 1303)', () => {
    const m = parseFontMetrics(readFileSync(fontFile('regular')));
    assert.equal(m.unitsPerEm, 2048);
    assert.equal(m.advance(32), 651);
    for (const d of '0123456789') assert.equal(m.advance(d.codePointAt(0) as number), 1303);
    const bold = parseFontMetrics(readFileSync(fontFile('bold')));
    assert.ok(textWidth(bold, 'Rank sweep', 12) > textWidth(m, 'Rank sweep', 12));
  });

  it('agrees with the widths resvg draws', () => {
    const m = parseFontMetrics(readFileSync(fontFile('regular')));
    for (const text of ['Hello world', '0.123456', 'σᵢ / σ₁', 'step (×1000)']) {
      assert.ok(Math.abs(textWidth(m, text, 100) - resvgAdvance(text)) < 0.05, text);
    }
    // Kerning pairs draw narrower than the sum of advances; measurement stays on the safe side.
    const kerned = 'AVAVAV';
    assert.ok(textWidth(m, kerned, 100) > resvgAdvance(kerned) + 10);
  });
});
