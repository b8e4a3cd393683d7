import type { TopLevelSpec } from 'vega-lite';
import { dataError } from '../errors.js';
import { REPORT_CONFIG } from './charts.js';

/** Options of `scatterChart`: points coloured by a nominal label. */
export interface ScatterChartOptions {
  readonly title: string;
  /** (n, 2) coordinates, row-major. */
  readonly points: ArrayLike<number>;
  readonly labels: readonly string[];
  /** Colour domain order (default: sorted labels), shared across panels so colours agree. */
  readonly domain?: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly legend?: boolean;
}

/** A scatter plot of 2-D points coloured by label (axes unlabelled: map coordinates mean nothing alone). */
export function scatterChart(o: ScatterChartOptions): TopLevelSpec {
  if (o.points.length !== 2 * o.labels.length) throw dataError(`scatterChart: ${o.points.length / 2} points but ${o.labels.length} labels`);
  const values = o.labels.map((label, i) => ({ x: o.points[2 * i] as number, y: o.points[2 * i + 1] as number, label })).filter((v) => Number.isFinite(v.x) && Number.isFinite(v.y));
  const domain = o.domain ?? [...new Set(o.labels)].sort();
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: REPORT_CONFIG,
    title: o.title,
    width: o.width ?? 260,
    height: o.height ?? 260,
    data: { values },
    mark: { type: 'circle', size: 14, opacity: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false } },
      color: { field: 'label', type: 'nominal', scale: { domain: [...domain], scheme: domain.length > 10 ? 'category20' : 'tableau10' }, legend: o.legend === false ? null : { title: null, columns: domain.length > 16 ? 2 : 1 } },
    },
  };
}
