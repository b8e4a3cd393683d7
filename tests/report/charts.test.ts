import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopLevelSpec } from 'vega-lite';
import { isProtdistilError } from '../../src/errors.js';
import { groupedBarChart, lineChart, panelGrid, spectrumChart } from '../../src/report/charts.js';
import { renderVegaLite } from '../../src/report/render.js';

/** Reads a property path out of a spec without committing to vega-lite's union types. */
function at(spec: unknown, ...path: (string | number)[]): unknown {
  let v: unknown = spec;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

const isData = (e: unknown): boolean => isProtdistilError(e, 'data');
const isConfig = (e: unknown): boolean => isProtdistilError(e, 'config');

const loss = lineChart({
  title: 'Distillation loss',
  xTitle: 'step',
  yTitle: 'KL divergence',
  logY: true,
  series: [
    { name: 'student small', x: [0, 1, 2, 3], y: [2, 1, Number.NaN, 0.5] },
    { name: 'student tiny', x: [0, 1, 2], y: [3, 0, 1.5] },
  ],
});

const bars = groupedBarChart({
  title: 'Contact precision',
  groups: ['teacher', 'rank 64'],
  categories: ['P@L', 'P@L/5'],
  values: [
    [0.4, 0.6],
    [0.35, Number.NaN],
  ],
  yDomain: [0, 1],
  yTitle: 'precision',
});

const spectrum = spectrumChart({
  title: 'Singular values',
  spectra: [
    { name: 'q_proj', values: [8, 4, 2, 0] },
    { name: 'fc1', values: [3, 3, 1.5] },
  ],
  cutoff: 2,
});

describe('lineChart', () => {
  it('keeps drawable points in series order and uses a log y scale when asked', () => {
    assert.deepEqual(at(loss, 'data', 'values'), [
      { series: 'student small', x: 0, y: 2 },
      { series: 'student small', x: 1, y: 1 },
      { series: 'student small', x: 3, y: 0.5 },
      { series: 'student tiny', x: 0, y: 3 },
      { series: 'student tiny', x: 2, y: 1.5 },
    ]);
    assert.equal(at(loss, 'encoding', 'y', 'scale', 'type'), 'log');
    assert.deepEqual(at(loss, 'encoding', 'color', 'scale', 'domain'), ['student small', 'student tiny']);
    assert.equal(at(loss, 'config', 'font'), 'DejaVu Sans');
  });

  it('labels whole-number x values as whole numbers, even a single one', async () => {
    const one = await renderVegaLite(lineChart({ title: 't', xTitle: 'training size', yTitle: 'F1', points: true, series: [{ name: 'a', x: [1000], y: [0.5] }] }));
    assert.match(one, />1,000</);
    assert.doesNotMatch(one, /1,000\.0/);
    const sizes = await renderVegaLite(lineChart({ title: 't', xTitle: 'training size', yTitle: 'F1', series: [{ name: 'a', x: [100, 1000, 2682], y: [0.2, 0.5, 0.6] }] }));
    for (const label of ['100', '1,000', '2,682']) assert.match(sizes, new RegExp(`>${label}<`));
    const fractional = lineChart({ title: 't', xTitle: 'x', yTitle: 'y', series: [{ name: 'a', x: [0.5, 1.5], y: [1, 2] }] });
    assert.equal(at(fractional, 'encoding', 'x', 'axis'), undefined);
  });

  it('keeps zero and negative values on a linear scale', () => {
    const spec = lineChart({ title: 't', xTitle: 'x', yTitle: 'y', series: [{ name: 'a', x: [0, 1], y: [0, -1] }] });
    assert.equal((at(spec, 'data', 'values') as unknown[]).length, 2);
    assert.equal(at(spec, 'encoding', 'y', 'scale', 'type'), undefined);
  });

  it('colours series by their colour group and styles them (dash, point shape) by their style group', async () => {
    const spec = lineChart({
      title: 'sweep',
      xTitle: 'rank',
      yTitle: 'error',
      logY: true,
      points: true,
      series: [
        { name: 'A closed form', color: 'A', style: 'closed form', x: [1, 2], y: [0.1, 0.01] },
        { name: 'A SVD', color: 'A', style: 'SVD', x: [1, 2], y: [0.5, 0.2] },
        { name: 'B closed form', color: 'B', style: 'closed form', x: [1, 2], y: [0.2, 0.02] },
      ],
    });
    assert.deepEqual((at(spec, 'data', 'values') as unknown[])[1], { series: 'A closed form', color: 'A', style: 'closed form', x: 2, y: 0.01 });
    assert.equal(at(spec, 'encoding', 'color', 'field'), 'color');
    assert.deepEqual(at(spec, 'encoding', 'color', 'scale', 'domain'), ['A', 'B']);
    assert.deepEqual(at(spec, 'encoding', 'strokeDash', 'scale', 'domain'), ['closed form', 'SVD']);
    assert.deepEqual(at(spec, 'encoding', 'strokeDash', 'scale', 'range'), [[1, 0], [6, 3]]);
    assert.equal(at(spec, 'encoding', 'shape', 'field'), 'style');
    assert.equal(at(spec, 'encoding', 'detail', 'field'), 'series');
    const svg = await renderVegaLite(spec);
    assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 3, 'one line per series');
    for (const text of ['A', 'B', 'closed form', 'SVD']) assert.ok(svg.includes(`>${text}<`), `legend lacks ${text}`);
  });

  it('rejects series with unequal x and y lengths or duplicate names', () => {
    assert.throws(
      () => lineChart({ title: 't', xTitle: 'x', yTitle: 'y', series: [{ name: 'a', x: [1, 2], y: [1] }] }),
      (e: unknown) => isData(e) && (e as Error).message.includes('"a" has 2 x values but 1 y values'),
    );
    const s = { name: 'dup', x: [1], y: [1] };
    assert.throws(() => lineChart({ title: 't', xTitle: 'x', yTitle: 'y', series: [s, s] }), isData);
  });

  it('renders its title, axis titles and series names', async () => {
    const svg = await renderVegaLite(loss);
    for (const text of ['Distillation loss', 'step', 'KL divergence', 'student small', 'student tiny']) {
      assert.ok(svg.includes(`>${text}<`), `missing ${text}`);
    }
  });
});

describe('groupedBarChart', () => {
  it('emits one row per finite value, with group and category order fixed', () => {
    assert.deepEqual(at(bars, 'data', 'values'), [
      { group: 'teacher', category: 'P@L', value: 0.4 },
      { group: 'teacher', category: 'P@L/5', value: 0.6 },
      { group: 'rank 64', category: 'P@L', value: 0.35 },
    ]);
    assert.deepEqual(at(bars, 'encoding', 'x', 'sort'), ['teacher', 'rank 64']);
    assert.deepEqual(at(bars, 'encoding', 'xOffset', 'sort'), ['P@L', 'P@L/5']);
    assert.deepEqual(at(bars, 'encoding', 'y', 'scale', 'domain'), [0, 1]);
  });

  it('rejects a value table of the wrong shape and a decreasing domain', () => {
    const base = { title: 't', groups: ['a', 'b'], categories: ['x'] };
    assert.throws(() => groupedBarChart({ ...base, values: [[1]] }), isData);
    assert.throws(
      () => groupedBarChart({ ...base, values: [[1], [1, 2]] }),
      (e: unknown) => isData(e) && (e as Error).message.includes('row 1 ("b") has 2 entries'),
    );
    assert.throws(() => groupedBarChart({ ...base, values: [[1], [2]], yDomain: [1, 0] }), isConfig);
  });

  it('draws bars on a log axis from the decade below the smallest value, dropping values it cannot draw', async () => {
    const gaps = groupedBarChart({ title: '1 - cosine', groups: ['a', 'b'], categories: ['x', 'y'], values: [[0.3, 2e-5], [0, 1e-3]], logY: true });
    assert.deepEqual(at(gaps, 'data', 'values'), [
      { group: 'a', category: 'x', value: 0.3 },
      { group: 'a', category: 'y', value: 2e-5 },
      { group: 'b', category: 'y', value: 1e-3 },
    ]);
    assert.equal(at(gaps, 'encoding', 'y', 'scale', 'type'), 'log');
    assert.deepEqual(at(gaps, 'encoding', 'y', 'scale', 'domain'), [1e-5, 1]);
    assert.deepEqual(at(gaps, 'encoding', 'y2'), { datum: 1e-5 });
    const svg = await renderVegaLite(gaps);
    assert.equal((svg.match(/aria-roledescription="bar"/g) ?? []).length, 3);
    assert.doesNotMatch(svg, /NaN/);
    assert.throws(() => groupedBarChart({ title: 't', groups: ['a'], categories: ['x'], values: [[1]], logY: true, yDomain: [0, 1] }), isConfig);
  });

  it('renders groups, categories and bars', async () => {
    const svg = await renderVegaLite(bars);
    for (const text of ['Contact precision', 'teacher', 'rank 64', 'P@L', 'P@L/5', 'precision']) {
      assert.ok(svg.includes(`>${text}<`), `missing ${text}`);
    }
    assert.equal((svg.match(/aria-roledescription="bar"/g) ?? []).length, 3);
  });
});

describe('spectrumChart', () => {
  it('normalises by the largest value, indexes from 1 and drops zeros on the log axis', () => {
    const lines = at(spectrum, 'layer', 0);
    assert.deepEqual(at(lines, 'data', 'values'), [
      { spectrum: 'q_proj', index: 1, value: 1 },
      { spectrum: 'q_proj', index: 2, value: 0.5 },
      { spectrum: 'q_proj', index: 3, value: 0.25 },
      { spectrum: 'fc1', index: 1, value: 1 },
      { spectrum: 'fc1', index: 2, value: 1 },
      { spectrum: 'fc1', index: 3, value: 0.5 },
    ]);
    assert.equal(at(lines, 'encoding', 'y', 'scale', 'type'), 'log');
    const linear = spectrumChart({ title: 't', spectra: [{ name: 'a', values: [2, 0] }], logY: false });
    assert.deepEqual(at(linear, 'layer', 0, 'data', 'values'), [
      { spectrum: 'a', index: 1, value: 1 },
      { spectrum: 'a', index: 2, value: 0 },
    ]);
  });

  it('adds a labelled rule at the cutoff only when one is given', () => {
    assert.deepEqual(at(spectrum, 'layer', 1, 'data', 'values'), [{ cutoff: 2, label: 'rank 2' }]);
    assert.equal(at(spectrum, 'layer', 1, 'layer', 0, 'mark', 'type'), 'rule');
    const none = spectrumChart({ title: 't', spectra: [{ name: 'a', values: [1] }] });
    assert.equal((at(none, 'layer') as unknown[]).length, 1);
  });

  it('rejects negative, non-finite and all-zero spectra and a bad cutoff', () => {
    assert.throws(() => spectrumChart({ title: 't', spectra: [{ name: 'a', values: [1, -1] }] }), isData);
    assert.throws(() => spectrumChart({ title: 't', spectra: [{ name: 'a', values: [1, Number.NaN] }] }), isData);
    assert.throws(
      () => spectrumChart({ title: 't', spectra: [{ name: 'a', values: [0, 0] }] }),
      (e: unknown) => isData(e) && (e as Error).message.includes('all zero'),
    );
    assert.throws(() => spectrumChart({ title: 't', spectra: [{ name: 'a', values: [1] }], cutoff: -1 }), isConfig);
  });

  it('renders the rule with its label', async () => {
    const svg = await renderVegaLite(spectrum);
    for (const text of ['Singular values', 'rank 2', 'q_proj', 'fc1', 'σᵢ / σ₁']) {
      assert.ok(svg.includes(`>${text}<`), `missing ${text}`);
    }
    assert.equal((svg.match(/aria-roledescription="rule mark"/g) ?? []).length, 1);
  });
});

describe('panelGrid', () => {
  const grid = panelGrid([loss, bars, spectrum], 2, 'Compression report');

  it('concatenates panels without their top-level properties', () => {
    assert.equal(at(grid, 'columns'), 2);
    assert.equal(at(grid, 'title', 'text'), 'Compression report');
    const panels = at(grid, 'concat') as Record<string, unknown>[];
    assert.equal(panels.length, 3);
    for (const p of panels) {
      assert.equal('$schema' in p || 'config' in p || 'background' in p, false);
    }
    assert.equal(at(panels, 1, 'title'), 'Contact precision');
  });

  it('rejects bad column counts and an empty grid', () => {
    assert.throws(() => panelGrid([loss], 0), isConfig);
    assert.throws(() => panelGrid([loss], 1.5), isConfig);
    assert.throws(() => panelGrid([] as TopLevelSpec[], 2), isConfig);
  });

  it('renders every panel under the grid title', async () => {
    const svg = await renderVegaLite(grid);
    for (const text of ['Compression report', 'Distillation loss', 'Contact precision', 'Singular values', 'rank 2']) {
      assert.ok(svg.includes(`>${text}<`), `missing ${text}`);
    }
  });
});
