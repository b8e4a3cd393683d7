import type { Config, TopLevelSpec } from 'vega-lite';
import { configError, dataError } from '../errors.js';
import { REPORT_FONT_FAMILY } from './fonts.js';

/**
 * Typed builders for the few chart kinds protdistil reports draw. Each returns a complete vega-lite spec
 * with inline data (renderable alone) and `panelGrid` lays several out as one figure. Values that cannot
 * be drawn (non-finite, or non-positive on a log axis) are dropped, never plotted as zero.
 */

/**
 * One line of a line chart. By default each series gets its own colour; series that give `color`
 * and `style` share a colour per `color` value (e.g. the teacher) and a dash pattern and point shape
 * per `style` value (e.g. the method), with one legend for each.
 */
export interface LineSeries {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** Colour group; default the series name. */
  readonly color?: string;
  /** Line-style group (dash pattern and point shape). */
  readonly style?: string;
}

/** Options of `lineChart`. */
export interface LineChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly LineSeries[];
  readonly logY?: boolean;
  /** Draw a dot at each point (good for sparse sweeps); default false. */
  readonly points?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Options of `groupedBarChart`: `values[g][c]` is the bar of category `c` within group `g`. */
export interface GroupedBarChartOptions {
  readonly title: string;
  readonly groups: readonly string[];
  readonly categories: readonly string[];
  readonly values: readonly (readonly number[])[];
  readonly yDomain?: readonly [number, number];
  /** Log-scale y axis (bars from the bottom of the axis; non-positive values are dropped). */
  readonly logY?: boolean;
  readonly xTitle?: string;
  readonly yTitle?: string;
  readonly width?: number;
  readonly height?: number;
}

/** Singular values of one matrix, any order of magnitude (they are normalised by the largest). */
export interface Spectrum {
  readonly name: string;
  readonly values: readonly number[];
}

/** Options of `spectrumChart`. */
export interface SpectrumChartOptions {
  readonly title: string;
  readonly spectra: readonly Spectrum[];
  /** Rank kept by the compression; drawn as a vertical rule. */
  readonly cutoff?: number;
  /** Log-scale y axis; default true, as spectra span decades. */
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Config shared by every report chart: the bundled font for all text and a white background. */
export const REPORT_CONFIG: Readonly<Config> = Object.freeze({
  font: REPORT_FONT_FAMILY,
  background: 'white',
  title: Object.freeze({ fontSize: 14, anchor: 'middle' as const }),
  axis: Object.freeze({ labelFontSize: 11, titleFontSize: 12 }),
  legend: Object.freeze({ labelFontSize: 11, labelLimit: 220 }),
});

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The fields every single-panel chart starts with: schema, report config, title and size. */
function frame(title: string, size: { readonly width?: number; readonly height?: number }): { $schema: string; config: typeof REPORT_CONFIG; title: string; width: number; height: number } {
  return { $schema: SCHEMA, config: REPORT_CONFIG, title, width: size.width ?? DEFAULT_WIDTH, height: size.height ?? DEFAULT_HEIGHT };
}
const DEFAULT_WIDTH = 320;
/** Dash patterns for line styles, solid first. */
const DASHES: readonly (readonly number[])[] = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3]];
const DEFAULT_HEIGHT = 200;

/** A spec that can sit inside a `concat`: a top-level spec minus the top-level-only properties. */
export type PanelSpec = Extract<TopLevelSpec, { concat: unknown }>['concat'][number];

/** A spec that can sit inside a `layer`. */
type LayerMember = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

/** Lines of y against x, one per series, coloured by series name in the given order. */
export function lineChart(options: LineChartOptions): TopLevelSpec {
  const { title, xTitle, yTitle, series, logY = false, points = false } = options;
  uniqueNames('lineChart', 'series', series.map((s) => s.name));
  const styled = series.some((s) => s.style !== undefined);
  const grouped = series.some((s) => s.color !== undefined);
  const values: { series: string; color?: string; style?: string; x: number; y: number }[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw dataError(`lineChart: series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`);
    }
    for (const [i, x] of s.x.entries()) {
      const y = s.y[i] as number;
      if (!drawable(x, false) || !drawable(y, logY)) continue;
      values.push({ series: s.name, ...(grouped ? { color: s.color ?? s.name } : {}), ...(styled ? { style: s.style ?? '' } : {}), x, y });
    }
  }
  const distinct = (xs: readonly string[]): string[] => [...new Set(xs)];
  const styles = distinct(series.map((s) => s.style ?? ''));
  // Whole-number x (steps, training-set sizes) gets whole-number ticks: without a format, a
  // single x value makes a zero-width domain whose ticks print as "1,000.000000".
  const xs = distinct(values.map((v) => String(v.x))).map(Number);
  const integerX = xs.length > 0 && xs.every((x) => Number.isInteger(x));
  const xAxis = integerX ? { axis: { format: ',d', tickMinStep: 1, ...(xs.length <= 6 ? { values: xs.sort((a, b) => a - b) } : {}) } } : {};
  return {
    ...frame(title, options),
    data: { values },
    mark: { type: 'line', point: points, strokeWidth: 1.75 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false }, ...xAxis },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: logY ? { type: 'log' } : { zero: false } },
      color: {
        field: grouped ? 'color' : 'series',
        type: 'nominal',
        scale: { domain: distinct(series.map((s) => s.color ?? s.name)) },
        legend: { title: null },
      },
      // One line per series even when two share a colour and a style.
      ...(grouped || styled ? { detail: { field: 'series', type: 'nominal' as const } } : {}),
      ...(styled
        ? {
            strokeDash: { field: 'style', type: 'nominal', scale: { domain: styles, range: DASHES.slice(0, styles.length).map((d) => [...d]) }, legend: { title: null } },
            shape: { field: 'style', type: 'nominal', scale: { domain: styles }, legend: { title: null } },
          }
        : {}),
    },
  };
}

/** Bars of each category side by side within each group (groups along x). */
export function groupedBarChart(options: GroupedBarChartOptions): TopLevelSpec {
  const { title, groups, categories, values: table, yDomain, logY = false } = options;
  uniqueNames('groupedBarChart', 'groups', groups);
  uniqueNames('groupedBarChart', 'categories', categories);
  if (table.length !== groups.length) {
    throw dataError(`groupedBarChart: values has ${table.length} rows but there are ${groups.length} groups`);
  }
  const values: { group: string; category: string; value: number }[] = [];
  for (const [g, group] of groups.entries()) {
    const row = table[g] as readonly number[];
    if (row.length !== categories.length) {
      throw dataError(
        `groupedBarChart: values row ${g} ("${group}") has ${row.length} entries but there are ${categories.length} categories`,
      );
    }
    for (const [c, category] of categories.entries()) {
      const value = row[c] as number;
      if (drawable(value, logY)) values.push({ group, category, value });
    }
  }
  if (yDomain !== undefined && !(yDomain[0] < yDomain[1])) {
    throw configError(`groupedBarChart: yDomain must be increasing, got [${yDomain[0]}, ${yDomain[1]}]`);
  }
  if (logY && yDomain !== undefined && !(yDomain[0] > 0)) throw configError(`groupedBarChart: a log-scale yDomain must be positive, got [${yDomain[0]}, ${yDomain[1]}]`);
  // A log axis has no zero: bars rise from the bottom of the domain (whole decades around the data by default).
  const domain = yDomain ?? (logY && values.length > 0 ? decades(values.map((v) => v.value)) : undefined);
  return {
    ...frame(title, options),
    data: { values },
    // Bars start below a yDomain that excludes zero; clipping keeps them inside the plot.
    mark: { type: 'bar', clip: yDomain !== undefined || logY },
    encoding: {
      x: { field: 'group', type: 'nominal', sort: [...groups], title: options.xTitle ?? null, axis: { labelAngle: 0 } },
      xOffset: { field: 'category', type: 'nominal', sort: [...categories] },
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yTitle ?? null,
        ...(domain === undefined && !logY ? {} : { scale: { ...(logY ? { type: 'log' as const } : {}), ...(domain === undefined ? {} : { domain: [domain[0], domain[1]] }) } }),
      },
      ...(logY && domain !== undefined ? { y2: { datum: domain[0] } } : {}),
      color: { field: 'category', type: 'nominal', scale: { domain: [...categories] }, legend: { title: null } },
    },
  };
}

/**
 * Singular value spectra normalised by their largest value (σᵢ/σ₁ against i = 1, 2, ...), with a dashed
 * vertical rule at the rank `cutoff` kept by low-rank compression.
 */
export function spectrumChart(options: SpectrumChartOptions): TopLevelSpec {
  const { title, spectra, cutoff, logY = true } = options;
  uniqueNames('spectrumChart', 'spectra', spectra.map((s) => s.name));
  const values: { spectrum: string; index: number; value: number }[] = [];
  for (const s of spectra) {
    let max = 0;
    for (const [i, v] of s.values.entries()) {
      if (!Number.isFinite(v) || v < 0) {
        throw dataError(`spectrumChart: spectrum "${s.name}" value ${i} is ${v}; singular values are finite and >= 0`);
      }
      max = Math.max(max, v);
    }
    if (max === 0) throw dataError(`spectrumChart: spectrum "${s.name}" is empty or all zero; cannot normalise`);
    for (const [i, v] of s.values.entries()) {
      const value = v / max;
      if (drawable(value, logY)) values.push({ spectrum: s.name, index: i + 1, value });
    }
  }
  if (cutoff !== undefined && !(Number.isFinite(cutoff) && cutoff >= 0)) {
    throw configError(`spectrumChart: cutoff must be a finite rank >= 0, got ${cutoff}`);
  }
  const lines: LayerMember = {
    data: { values },
    mark: { type: 'line', strokeWidth: 1.75 },
    encoding: {
      x: { field: 'index', type: 'quantitative', title: 'index i', scale: { zero: false } },
      y: { field: 'value', type: 'quantitative', title: 'σᵢ / σ₁', scale: logY ? { type: 'log' } : { zero: true } },
      color: {
        field: 'spectrum',
        type: 'nominal',
        scale: { domain: spectra.map((s) => s.name) },
        legend: { title: null },
      },
    },
  };
  const rule: LayerMember[] =
    cutoff === undefined
      ? []
      : [
          {
            data: { values: [{ cutoff, label: `rank ${cutoff}` }] },
            layer: [
              {
                mark: { type: 'rule', strokeDash: [5, 4], color: '#333', strokeWidth: 1.25 },
                encoding: { x: { field: 'cutoff', type: 'quantitative' } },
              },
              {
                mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, color: '#333', fontSize: 11 },
                encoding: { x: { field: 'cutoff', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
              },
            ],
          },
        ];
  return {
    ...frame(title, options),
    layer: [lines, ...rule],
  };
}

/**
 * Lays charts out `columns` per row under one title. Each panel keeps its own colour legend. Panels'
 * top-level settings (config, background, padding, autosize) give way to the grid's report config.
 */
export function panelGrid(specs: readonly TopLevelSpec[], columns: number, title?: string): TopLevelSpec {
  if (!Number.isInteger(columns) || columns < 1) throw configError(`panelGrid: columns must be a positive integer, got ${columns}`);
  if (specs.length === 0) throw configError('panelGrid: needs at least one chart');
  return {
    $schema: SCHEMA,
    config: REPORT_CONFIG,
    ...(title === undefined ? {} : { title: { text: title, fontSize: 16 } }),
    columns,
    spacing: 24,
    concat: specs.map(asPanel),
    resolve: {
      scale: { color: 'independent', strokeDash: 'independent', shape: 'independent' },
      legend: { color: 'independent', strokeDash: 'independent', shape: 'independent' },
    },
  };
}

/** Drops the properties only a top-level spec may carry. */
function asPanel(spec: TopLevelSpec): PanelSpec {
  const { $schema: _schema, config: _config, background: _bg, padding: _pad, autosize: _auto, ...panel } = spec;
  // Top-level variable params are the one property a nested spec types differently; report charts use
  // none, so the remaining properties are a valid panel.
  return panel as PanelSpec;
}

/** The whole powers of ten around positive values: [10^⌊log10 min⌋, 10^⌈log10 max⌉] (a decade at least). */
function decades(vs: readonly number[]): [number, number] {
  // Parsed from text so that a decade is the exact double (10 ** -5 is not 1e-5).
  const lo = Number(`1e${Math.floor(Math.log10(Math.min(...vs)))}`);
  const hi = Number(`1e${Math.ceil(Math.log10(Math.max(...vs)))}`);
  return [lo, hi > lo ? hi : lo * 10];
}

/** Whether `v` can be drawn on a linear axis, or a log axis when `log`. */
function drawable(v: number, log: boolean): boolean {
  return Number.isFinite(v) && (!log || v > 0);
}

function uniqueNames(op: string, what: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw dataError(`${op}: ${what} name "${n}" appears more than once`);
    seen.add(n);
  }
}
