import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopLevelSpec } from 'vega-lite';
import { isProtdistilError } from '../../src/errors.js';
import { rasterizeSvg, renderVegaLite, svgToPng, type RasterImage } from '../../src/report/render.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, which must directly follow the signature. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  assert.equal(String.fromCharCode(...png.subarray(12, 16)), 'IHDR');
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** The `width`/`height` attributes of the root <svg> element. */
function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg[^>]*>/.exec(svg)?.[0] ?? '';
  const attr = (name: string): number => Number(new RegExp(` ${name}="([\\d.]+)"`).exec(root)?.[1]);
  return { width: attr('width'), height: attr('height') };
}

/** Pixels inside [x0, x1) x [y0, y1) darker than mid-grey on every channel and mostly opaque. */
function darkPixels(img: RasterImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < Math.min(y1, img.height); y++) {
    for (let x = x0; x < Math.min(x1, img.width); x++) {
      const i = 4 * (y * img.width + x);
      const [r, g, b, a] = [img.rgba[i], img.rgba[i + 1], img.rgba[i + 2], img.rgba[i + 3]] as number[];
      if ((a as number) > 128 && (r as number) < 100 && (g as number) < 100 && (b as number) < 100) n++;
    }
  }
  return n;
}

const textSvg = (text: string): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100"><rect width="400" height="100" fill="white"/>` +
  `<text x="10" y="70" font-size="60" font-family="DejaVu Sans" fill="black">${text}</text></svg>`;

const lineSpec: TopLevelSpec = {
  title: 'Validation loss',
  width: 200,
  height: 120,
  data: {
    values: [
      { step: 0, loss: 2.5, run: 'teacher' },
      { step: 100, loss: 1.5, run: 'teacher' },
      { step: 0, loss: 3.0, run: 'student' },
      { step: 100, loss: 1.9, run: 'student' },
    ],
  },
  mark: 'line',
  encoding: {
    x: { field: 'step', type: 'quantitative', title: 'training step' },
    y: { field: 'loss', type: 'quantitative', title: 'cross entropy' },
    color: { field: 'run', type: 'nominal' },
  },
};

/** A lone text mark whose bounds decide the chart width (no plot frame, no padding). */
function textOnlySpec(text: string, limit?: number): TopLevelSpec {
  return {
    width: 10,
    height: 10,
    padding: 0,
    autosize: { type: 'pad' },
    config: { view: { stroke: null } },
    data: { values: [{ t: text }] },
    mark: { type: 'text', align: 'left', baseline: 'top', fontSize: 20, ...(limit === undefined ? {} : { limit }) },
    encoding: { text: { field: 't', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
  };
}

describe('renderVegaLite', () => {
  it('renders titles, axis titles and legend entries as SVG text in the bundled font', async () => {
    const svg = await renderVegaLite(lineSpec);
    assert.ok(svg.startsWith('<svg'));
    for (const text of ['>Validation loss<', '>training step<', '>cross entropy<', '>teacher<', '>student<']) {
      assert.ok(svg.includes(text), `missing ${text}`);
    }
    const families = new Set([...svg.matchAll(/font-family="([^"]*)"/g)].map((m) => m[1]));
    assert.deepEqual([...families], ['DejaVu Sans']);
  });

  it('keeps a font the caller configured', async () => {
    const svg = await renderVegaLite({ ...lineSpec, config: { font: 'Other Sans' } });
    assert.ok(svg.includes('font-family="Other Sans"'));
  });

  it('lays text out with the bundled font widths rather than vega’s 0.8 em estimate', async () => {
    // Ten 'i' at 20 px: DejaVu advance 569/2048 em each = 55.57 px; the estimate would be 160 px.
    const svg = await renderVegaLite(textOnlySpec('iiiiiiiiii'));
    assert.equal(svgSize(svg).width, 56);
    const wide = await renderVegaLite(textOnlySpec('MMMMMMMMMM'));
    assert.equal(svgSize(wide).width, Math.ceil((10 * 1767 * 20) / 2048));
  });

  it('truncates text past its limit and keeps bounds within the limit', async () => {
    const svg = await renderVegaLite(textOnlySpec('iiiiiiiiii', 50));
    assert.ok(svg.includes('>iiiii…<'), svg);
    assert.equal(svgSize(svg).width, 50);
  });

  it('reports a spec vega-lite cannot compile as a runtime error naming the chart', async () => {
    const bad = { title: 'Broken', mark: 'no-such-mark', data: { values: [] } } as unknown as TopLevelSpec;
    await assert.rejects(renderVegaLite(bad), (e: unknown) => isProtdistilError(e, 'runtime') && e.message.includes('"Broken"'));
  });
});

describe('svgToPng', () => {
  it('writes a PNG whose IHDR size matches the SVG size times the scale', async () => {
    const svg = await renderVegaLite(lineSpec);
    const { width, height } = svgSize(svg);
    assert.ok(width > 200 && height > 120);
    const png = svgToPng(svg);
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    assert.deepEqual(pngSize(png), { width, height });
    assert.deepEqual(pngSize(svgToPng(svg, { scale: 2 })), { width: 2 * width, height: 2 * height });
  });

  it('draws text with the bundled font even though system fonts are off', () => {
    const withText = rasterizeSvg(textSvg('Rank'));
    const blank = rasterizeSvg(textSvg(''));
    assert.equal(darkPixels(blank, 0, 0, 400, 100), 0);
    // Glyphs sit between the baseline (y=70) and the cap height (~y=26) from x=10 on.
    assert.ok(darkPixels(withText, 10, 20, 200, 75) > 500);
    assert.equal(darkPixels(withText, 0, 80, 400, 100), 0);
  });

  it('draws a chart title in the title band', async () => {
    const spec: TopLevelSpec = { ...lineSpec, title: { text: 'BIG TITLE', fontSize: 40 } };
    const svg = await renderVegaLite(spec);
    const img = rasterizeSvg(svg);
    const noTitle = rasterizeSvg(await renderVegaLite({ ...lineSpec, title: '' }));
    // The title sits on top: with it the top 45 px hold dark glyph pixels; without it they are blank.
    assert.ok(darkPixels(img, 0, 0, img.width, 45) > 400);
    assert.equal(darkPixels(noTitle, 0, 0, noTitle.width, 5), 0);
    assert.equal(img.height - noTitle.height > 35, true);
  });

  it('paints a background only when asked', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>';
    assert.equal(rasterizeSvg(svg).rgba[3], 0);
    assert.deepEqual([...rasterizeSvg(svg, { background: 'white' }).rgba.subarray(0, 4)], [255, 255, 255, 255]);
  });

  it('rejects a bad scale and input that is not SVG', () => {
    assert.throws(() => svgToPng(textSvg('x'), { scale: 0 }), (e: unknown) => isProtdistilError(e, 'config'));
    assert.throws(() => svgToPng('not svg at all'), (e: unknown) => isProtdistilError(e, 'runtime'));
  });
});
