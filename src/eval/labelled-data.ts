import { readFileSync } from 'node:fs';
import { readFastaAll } from '../data/fasta.js';
import { splitLines } from '../data/text-lines.js';
import { configError, dataError, ioError } from '../errors.js';

/**
 * Labelled sequence sets for probes: a TSV or CSV table with one header line (columns picked by
 * name; `shared/data`'s layout is `accession  sequence  label`), or a FASTA file with a labels
 * table keyed by the FASTA label. CSV follows RFC 4180 (quoted fields, doubled quotes); TSV fields
 * are split on tabs.
 */

/** One labelled sequence. */
export interface LabelledSequence {
  readonly id: string;
  readonly sequence: string;
  readonly label: string;
}

/**
 * Column names. Defaults: `sequence`; `label`, or else the one column left besides the sequence
 * and id columns (`shared/data` names it `family` for Pfam, `term` for GO); id `accession` if present.
 */
export interface LabelColumns {
  readonly seqCol?: string;
  readonly labelCol?: string;
  readonly idCol?: string;
}

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Rows of a TSV/CSV file with a header (CSV when the name ends in .csv). */
export function readTable(path: string): { header: string[]; rows: { line: number; fields: string[] }[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw ioError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(e as Error).message})`, e);
  }
  const split = path.toLowerCase().endsWith('.csv') ? splitCsvLine : (l: string) => l.split('\t');
  const lines = splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) throw dataError(`${path}: the file is empty; expected a header line and labelled rows`);
  const header = split(lines[first] as string).map((h) => h.trim());
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = first + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.trim() === '') continue;
    const fields = split(l);
    if (fields.length !== header.length) throw dataError(`${path} line ${i + 1}: ${fields.length} field(s), the header has ${header.length}`);
    rows.push({ line: i + 1, fields });
  }
  if (rows.length === 0) throw dataError(`${path}: no rows after the header line`);
  return { header, rows };
}

function column(path: string, header: readonly string[], name: string, flag: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw configError(`${path}: no column '${name}' (${flag}); the header has: ${header.join(', ')}`);
  return i;
}

function defaultLabelColumn(header: readonly string[], seq: number, id: number): string {
  if (header.includes('label')) return 'label';
  const rest = header.filter((_, i) => i !== seq && i !== id);
  return rest.length === 1 ? (rest[0] as string) : 'label';
}

/** Reads a labelled TSV/CSV table. */
export function readLabelledTable(path: string, cols: LabelColumns = {}): LabelledSequence[] {
  const { header, rows } = readTable(path);
  const s = column(path, header, cols.seqCol ?? 'sequence', '--seq-col');
  const id = cols.idCol !== undefined ? column(path, header, cols.idCol, '--id-col') : header.includes('accession') ? header.indexOf('accession') : -1;
  const l = column(path, header, cols.labelCol ?? defaultLabelColumn(header, s, id), '--label-col');
  return rows.map(({ line, fields }, k) => {
    const sequence = (fields[s] as string).trim();
    const label = (fields[l] as string).trim();
    if (sequence === '') throw dataError(`${path} line ${line}: empty sequence`);
    if (label === '') throw dataError(`${path} line ${line}: empty label`);
    return { id: id >= 0 ? (fields[id] as string).trim() : `row${k + 1}`, sequence, label };
  });
}

/** Reads a FASTA file whose labels come from a table (id column = the FASTA label). */
export async function readLabelledFasta(fasta: string, labels: string, cols: LabelColumns = {}): Promise<LabelledSequence[]> {
  const { header, rows } = readTable(labels);
  const idCol = cols.idCol !== undefined ? column(labels, header, cols.idCol, '--id-col') : 0;
  const l = column(labels, header, cols.labelCol ?? 'label', '--label-col');
  const byId = new Map(rows.map((r) => [(r.fields[idCol] as string).trim(), (r.fields[l] as string).trim()]));
  const recs = await readFastaAll(fasta);
  const missing = recs.filter((r) => !byId.has(r.label));
  if (missing.length > 0) {
    throw dataError(`${labels}: no label for ${missing.length} of ${recs.length} record(s) of ${fasta} (first: ${JSON.stringify(missing[0]?.label)})`);
  }
  return recs.map((r) => ({ id: r.label, sequence: r.sequence, label: byId.get(r.label) as string }));
}

/** Reads a labelled set: a table, or a FASTA file when `labels` is given. */
export async function readLabelled(path: string, cols: LabelColumns = {}, labels?: string): Promise<LabelledSequence[]> {
  return labels === undefined ? readLabelledTable(path, cols) : readLabelledFasta(path, labels, cols);
}
