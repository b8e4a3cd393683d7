import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProtdistilError } from '../../src/errors.js';
import { consoleTable, formatNumber, markdownTable } from '../../src/report/markdown-table.js';

describe('formatNumber', () => {
  it('prints moderate values fixed and integers exactly', () => {
    assert.equal(formatNumber(0.123456), '0.1235');
    assert.equal(formatNumber(-12.5, 2), '-12.50');
    assert.equal(formatNumber(0.001, 3), '0.001');
    assert.equal(formatNumber(999999.5, 1), '999999.5');
    assert.equal(formatNumber(32), '32');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(-0), '0');
  });

  it('prints tiny and huge values with an exponent', () => {
    assert.equal(formatNumber(0.000123456), '1.2346e-4');
    assert.equal(formatNumber(-0.0009, 2), '-9.00e-4');
    assert.equal(formatNumber(7_840_000, 2), '7.84e+6');
    assert.equal(formatNumber(1e6, 1), '1.0e+6');
    assert.equal(formatNumber(2.5e12, 0), '3e+12');
  });

  it('names values that are not numbers', () => {
    assert.equal(formatNumber(Number.NaN), 'n/a');
    assert.equal(formatNumber(Number.POSITIVE_INFINITY), 'inf');
    assert.equal(formatNumber(Number.NEGATIVE_INFINITY), '-inf');
  });

  it('rejects a bad digits count', () => {
    assert.throws(() => formatNumber(1.5, -1), (e: unknown) => isProtdistilError(e, 'config'));
    assert.throws(() => formatNumber(1.5, 2.5), (e: unknown) => isProtdistilError(e, 'config'));
  });
});

describe('markdownTable', () => {
  it('pads columns, right-aligns number columns and formats numbers', () => {
    const table = markdownTable(
      ['model', 'rank', 'loss'],
      [
        ['ESM2 8M', 320, 0.51234],
        ['low-rank', 64, Number.NaN],
      ],
    );
    assert.equal(
      table,
      [
        '| model    | rank |   loss |',
        '| :------- | ---: | -----: |',
        '| ESM2 8M  |  320 | 0.5123 |',
        '| low-rank |   64 |    n/a |',
      ].join('\n'),
    );
  });

  it('honours explicit alignment, digits and escapes pipes and newlines', () => {
    const table = markdownTable(['a|b', 'x', 'σ'], [['p', 1.23456, 'two\nlines']], {
      align: ['center', 'left', 'right'],
      digits: 2,
    });
    assert.equal(
      table,
      ['| a\\|b | x    |         σ |', '| :--: | :--- | --------: |', '|  p   | 1.23 | two lines |'].join('\n'),
    );
  });

  it('prints a header-only table for no rows', () => {
    assert.equal(markdownTable(['a', 'b'], []), '| a   | b   |\n| :-- | :-- |');
  });

  it('rejects rows of the wrong length and mismatched alignments', () => {
    assert.throws(
      () => markdownTable(['a', 'b'], [['x', 1], ['y']]),
      (e: unknown) => isProtdistilError(e, 'data') && e.message.includes('row 1 has 1 cells'),
    );
    assert.throws(() => markdownTable(['a'], [['x']], { align: ['left', 'right'] }), (e: unknown) => isProtdistilError(e, 'config'));
  });
});

describe('consoleTable', () => {
  it('lays out fixed-width columns with numbers right-aligned', () => {
    const table = consoleTable(
      ['model', 'params', 'ppl'],
      [
        ['teacher', 7_840_000, 8.2],
        ['student', 1200, 9.87654],
      ],
    );
    assert.equal(
      table,
      [
        'model       params     ppl',
        '-------  ---------  ------',
        'teacher  7.8400e+6  8.2000',
        'student       1200  9.8765',
      ].join('\n'),
    );
  });

  it('trims trailing spaces of left-aligned last columns', () => {
    assert.equal(consoleTable(['k', 'note'], [['a', 'long note'], ['b', 'x']]), 'k  note\n-  ---------\na  long note\nb  x');
  });
});
