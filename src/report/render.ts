import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Resvg as ResvgClass, ResvgRenderOptions } from '@resvg/resvg-js';
import type * as VegaNs from 'vega';
import type * as VegaLiteNs from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { configError, ioError, runtimeError } from '../errors.js';
import { parseFontMetrics, textWidth, type FontMetrics } from './font-metrics.js';
import { fontFile, REPORT_FONT_FAMILY, type FontWeight } from './fonts.js';

/**
 * vega, vega-lite and resvg are loaded on first use: they are large, and a process that has them in
 * its heap pays for it in every later garbage collection (measured: a Distil-Rank teacher's training
 * loop ran at 24 instead of 15 ms per step with them loaded), while reports are drawn once, at the end.
 */
let libs: { vega: typeof VegaNs; vegaLite: typeof VegaLiteNs } | undefined;
async function chartLibs(): Promise<{ vega: typeof VegaNs; vegaLite: typeof VegaLiteNs }> {
  libs ??= { vega: await import('vega'), vegaLite: await import('vega-lite') };
  return libs;
}
let resvg: typeof ResvgClass | undefined;
function resvgClass(): typeof ResvgClass {
  resvg ??= (createRequire(import.meta.url)('@resvg/resvg-js') as { Resvg: typeof ResvgClass }).Resvg;
  return resvg;
}

/**
 * Chart rendering without a browser: vega-lite spec -> vega spec -> SVG string (vega's headless View)
 * -> PNG (resvg). Both stages use the bundled DejaVu Sans: vega lays text out with its real advance
 * widths and resvg draws with it, never with system fonts.
 */

/** Raw RGBA pixels of a rasterised SVG, row-major, 4 bytes per pixel. */
export interface RasterImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** Options of `svgToPng` / `rasterizeSvg`. */
export interface RasterOptions {
  /** Pixel density multiplier (2 gives a 2x-wide image for crisp text); default 1. */
  readonly scale?: number;
  /** CSS colour painted under the SVG; default transparent (vega-lite charts paint their own white). */
  readonly background?: string;
}

/** Renders a vega-lite spec to an SVG string, with the report font as the default for all text. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await chartLibs();
  useBundledFontMetrics(vega);
  const withFont: TopLevelSpec = { ...spec, config: { font: REPORT_FONT_FAMILY, ...spec.config } };
  let view: VegaNs.View;
  try {
    const compiled = vegaLite.compile(withFont).spec;
    view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  } catch (e) {
    throw runtimeError(`renderVegaLite: cannot compile spec${titleOf(spec)}: ${errMessage(e)}`, e);
  }
  try {
    return await view.toSVG();
  } catch (e) {
    throw runtimeError(`renderVegaLite: cannot render spec${titleOf(spec)}: ${errMessage(e)}`, e);
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG to PNG bytes, drawing text with the bundled font only. */
export function svgToPng(svg: string, options: RasterOptions = {}): Uint8Array {
  const image = renderSvg('svgToPng', svg, options);
  return new Uint8Array(image.asPng());
}

/** Rasterises an SVG to raw RGBA pixels (same drawing as `svgToPng`); used to inspect output. */
export function rasterizeSvg(svg: string, options: RasterOptions = {}): RasterImage {
  const image = renderSvg('rasterizeSvg', svg, options);
  return { width: image.width, height: image.height, rgba: new Uint8Array(image.pixels) };
}

function renderSvg(op: string, svg: string, options: RasterOptions): ReturnType<ResvgClass['render']> {
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0) throw configError(`${op}: scale must be a positive number, got ${scale}`);
  const renderOptions: ResvgRenderOptions = {
    font: {
      fontFiles: [fontFile('regular'), fontFile('bold')],
      loadSystemFonts: false,
      defaultFontFamily: REPORT_FONT_FAMILY,
      sansSerifFamily: REPORT_FONT_FAMILY,
    },
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    logLevel: 'off',
  };
  if (options.background !== undefined) renderOptions.background = options.background;
  try {
    const Resvg = resvgClass();
    return new Resvg(svg, renderOptions).render();
  } catch (e) {
    throw runtimeError(`${op}: cannot rasterise SVG (${svg.length} chars): ${errMessage(e)}`, e);
  }
}

/** The fields of a vega text scene item that width measurement reads. */
interface TextItem {
  readonly fontSize?: number | string | null;
  readonly fontWeight?: number | string | null;
  readonly limit?: number | null;
}

/** vega-scenegraph's text measurement hook (exported by vega at runtime, absent from its typings). */
interface VegaTextMetrics {
  width: (item: TextItem, text: unknown) => number;
}

let metricsByWeight: Record<FontWeight, FontMetrics> | undefined;

/** Advance widths of the bundled font, parsed once. */
function bundledMetrics(): Record<FontWeight, FontMetrics> {
  if (metricsByWeight === undefined) {
    const load = (weight: FontWeight): FontMetrics => {
      const path = fontFile(weight);
      try {
        return parseFontMetrics(readFileSync(path), path);
      } catch (e) {
        throw ioError(`renderVegaLite: cannot read font ${path}: ${errMessage(e)}`, e);
      }
    };
    metricsByWeight = { regular: load('regular'), bold: load('bold') };
  }
  return metricsByWeight;
}

/**
 * Points vega's text measurement at the bundled font. Without a canvas, vega estimates every character
 * as 0.8 em wide, which spaces axes and legends for text ~40% wider than DejaVu draws it. vega offers
 * only a process-wide hook for this (the one vl-convert uses); setting it is idempotent.
 */
function useBundledFontMetrics(vega: typeof VegaNs): void {
  const hook = (vega as unknown as { textMetrics?: VegaTextMetrics }).textMetrics;
  if (hook === undefined || hook.width === measureWithBundledFont) return;
  bundledMetrics();
  hook.width = measureWithBundledFont;
}

/**
 * Width of one line of a text item. vega truncates text to `item.limit` when drawing; bounds must not
 * exceed the limit either, so the width is clamped to it (vega's own truncation search stays correct,
 * as clamped widths still compare above any shorter limit it tries).
 */
function measureWithBundledFont(item: TextItem, text: unknown): number {
  const size = item.fontSize == null ? 11 : Number(item.fontSize) || 0;
  const line = text == null ? '' : String(text).trim();
  if (size <= 0 || line === '') return 0;
  const metrics = bundledMetrics()[isBold(item.fontWeight) ? 'bold' : 'regular'];
  const width = textWidth(metrics, line, size);
  const limit = item.limit ?? 0;
  return limit > 0 ? Math.min(width, limit) : width;
}

function isBold(weight: number | string | null | undefined): boolean {
  if (weight == null) return false;
  if (weight === 'bold' || weight === 'bolder') return true;
  const n = Number(weight);
  return Number.isFinite(n) && n >= 600;
}

function titleOf(spec: TopLevelSpec): string {
  const title = spec.title;
  if (typeof title === 'string') return ` "${title}"`;
  if (title !== undefined && typeof title === 'object' && !Array.isArray(title) && typeof title.text === 'string') {
    return ` "${title.text}"`;
  }
  return '';
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
