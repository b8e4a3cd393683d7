import { configError, dataError } from '../errors.js';

/**
 * Result tables as text: GitHub-flavoured markdown for report files and a fixed-width layout for the
 * terminal. Numbers go through `formatNumber`, so both show the same digits.
 */

/** One table cell: text as is, numbers formatted. */
export type TableCell = string | number;

/** Column alignment. */
export type Align = 'left' | 'right' | 'center';

/** Options of `markdownTable` and `consoleTable`. */
export interface TableOptions {
  /** One alignment per column; default right for all-number columns, left otherwise. */
  readonly align?: readonly Align[];
  /** Digits passed to `formatNumber`; default 4. */
  readonly digits?: number;
}

const EXP_BELOW = 1e-3;
const EXP_FROM = 1e6;

/**
 * Formats a number for a table. Integers below 1e6 print exactly (ranks, counts); other values below 1e6
 * and at least 1e-3 in magnitude print fixed with `digits` decimals; tinier or larger ones print as
 * `d.ddde±x` with `digits` decimals. NaN prints as `n/a`, infinities as `inf` / `-inf`.
 */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
    throw configError(`formatNumber: digits must be an integer in [0, 20], got ${digits}`);
  }
  if (Number.isNaN(x)) return 'n/a';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  const mag = Math.abs(x);
  if (Number.isInteger(x) && mag < EXP_FROM) return String(x);
  if (mag >= EXP_BELOW && mag < EXP_FROM) return x.toFixed(digits);
  return x.toExponential(digits);
}

/** A GitHub-flavoured markdown table with padded columns (readable as plain text too). */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly TableCell[])[],
  options: TableOptions = {},
): string {
  const cells = formatCells('markdownTable', headers, rows, options.digits);
  const align = alignments('markdownTable', headers, rows, options.align);
  const texts = [headers.map(escapeMarkdown), ...cells.map((r) => r.map(escapeMarkdown))];
  const widths = columnWidths(texts, 3);
  const line = (r: readonly string[]): string =>
    `| ${r.map((t, c) => pad(t, widths[c] as number, align[c] as Align)).join(' | ')} |`;
  const rule = `| ${align.map((a, c) => alignRule(a, widths[c] as number)).join(' | ')} |`;
  const [head, ...body] = texts;
  return [line(head as string[]), rule, ...body.map(line)].join('\n');
}

/** A fixed-width table for the terminal: header, dashes, rows; columns two spaces apart. */
export function consoleTable(
  headers: readonly string[],
  rows: readonly (readonly TableCell[])[],
  options: TableOptions = {},
): string {
  const cells = formatCells('consoleTable', headers, rows, options.digits);
  const align = alignments('consoleTable', headers, rows, options.align);
  const texts = [[...headers], ...cells];
  const widths = columnWidths(texts, 1);
  const line = (r: readonly string[]): string =>
    r.map((t, c) => pad(t, widths[c] as number, align[c] as Align)).join('  ').trimEnd();
  const dashes = widths.map((w) => '-'.repeat(w)).join('  ');
  const [head, ...body] = texts;
  return [line(head as string[]), dashes, ...body.map(line)].join('\n');
}

/** Checks row lengths and turns every cell into text. */
function formatCells(
  op: string,
  headers: readonly string[],
  rows: readonly (readonly TableCell[])[],
  digits: number | undefined,
): string[][] {
  if (headers.length === 0) throw dataError(`${op}: needs at least one column`);
  return rows.map((row, r) => {
    if (row.length !== headers.length) {
      throw dataError(`${op}: row ${r} has ${row.length} cells but there are ${headers.length} headers`);
    }
    return row.map((cell) => (typeof cell === 'number' ? formatNumber(cell, digits) : cell));
  });
}

/** Given alignments, or right for columns whose cells are all numbers and left otherwise. */
function alignments(
  op: string,
  headers: readonly string[],
  rows: readonly (readonly TableCell[])[],
  given: readonly Align[] | undefined,
): Align[] {
  if (given !== undefined) {
    if (given.length !== headers.length) {
      throw configError(`${op}: align has ${given.length} entries but there are ${headers.length} columns`);
    }
    return [...given];
  }
  return headers.map((_, c) =>
    rows.length > 0 && rows.every((row) => typeof row[c] === 'number') ? 'right' : 'left',
  );
}

function columnWidths(texts: readonly (readonly string[])[], min: number): number[] {
  const widths: number[] = [];
  for (const row of texts) {
    for (const [c, t] of row.entries()) widths[c] = Math.max(widths[c] ?? min, displayLength(t));
  }
  return widths;
}

function pad(text: string, width: number, align: Align): string {
  const space = width - displayLength(text);
  if (space <= 0) return text;
  if (align === 'right') return ' '.repeat(space) + text;
  if (align === 'left') return text + ' '.repeat(space);
  const left = Math.floor(space / 2);
  return ' '.repeat(left) + text + ' '.repeat(space - left);
}

function alignRule(align: Align, width: number): string {
  if (align === 'left') return `:${'-'.repeat(width - 1)}`;
  if (align === 'right') return `${'-'.repeat(width - 1)}:`;
  return `:${'-'.repeat(width - 2)}:`;
}

/** Pipes would end the cell and newlines the row. */
function escapeMarkdown(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Length in code points, so `σ` counts as one column. */
function displayLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
