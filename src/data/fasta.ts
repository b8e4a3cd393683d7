/**
 * FASTA reading with fair-esm's rules (`esm/data.py` `FastaBatchedDataset.from_file`): a line starting
 * with `>` opens a record whose label is the rest of the line, stripped; an empty label becomes
 * `seqnum` + the 0-based line index of the header, zero-padded to 9 digits; sequence lines are stripped
 * and concatenated; duplicate labels are an error. Stricter than fair-esm, which silently drops them,
 * sequence text before the first header is an error, as are empty files and binary data.
 *
 * Files are streamed (plain or gzip, see `text-lines.ts`), so only one record is held at a time, plus the
 * label set used to reject duplicates: a Map from label to record index, roughly (label length + 80)
 * bytes per record, about 10 GB for 100 M UniRef-sized labels. Pass `checkDuplicates: false` to skip it.
 */
import { configError, dataError } from '../errors.js';
import { readLineChunks, splitLines, type ByteSource } from './text-lines.js';
import { pythonStrip, type SequenceRecord } from './tokenizer.js';

/** One FASTA record. */
export interface FastaRecord extends SequenceRecord {
  /** 0-based record number in the file. */
  readonly index: number;
  /** 1-based line number of the header line. */
  readonly line: number;
}

/** Options of {@link readFasta} and {@link parseFasta}. */
export interface FastaOptions {
  /** Reject repeated labels (default true); costs memory per record, see the module doc. */
  checkDuplicates?: boolean;
  /** Yield only records with `start <= index < end` (0-based); reading stops after `end`. */
  start?: number;
  end?: number;
}

// C0 controls other than tab/LF/VT/FF/CR, DEL, and the replacement character left by invalid UTF-8.
const BINARY = /[\x00-\x08\x0e-\x1f\x7f\ufffd]/;

/**
 * The line-by-line state machine behind every FASTA reader. Feed lines without terminators; each header
 * completes the previous record, which `pushLine` returns. Call `finish` after the last line.
 */
export class FastaParser {
  private lineIndex = 0;
  private recordIndex = 0;
  private label: string | undefined;
  private headerLine = 0;
  private parts: string[] = [];
  private readonly seen: Map<string, number> | undefined;

  /** `source` names the file in error messages. */
  constructor(
    private readonly source: string,
    options: Pick<FastaOptions, 'checkDuplicates'> = {},
  ) {
    this.seen = options.checkDuplicates === false ? undefined : new Map();
  }

  /** Consumes one line; returns the record it completed, if any. */
  pushLine(line: string): FastaRecord | undefined {
    const lineNo = ++this.lineIndex;
    const bad = BINARY.exec(line);
    if (bad !== null) {
      const code = (bad[0].codePointAt(0) as number).toString(16).padStart(2, '0');
      const what = bad[0] === '\ufffd' ? 'bytes that are not UTF-8 text' : `control character 0x${code}`;
      throw dataError(`${this.source} line ${lineNo}: ${what} at column ${bad.index + 1}; this does not look like a FASTA file`);
    }
    if (line.charCodeAt(0) === 0x3e) {
      const done = this.flush();
      const text = pythonStrip(line.slice(1));
      this.label = text.length > 0 ? text : `seqnum${String(lineNo - 1).padStart(9, '0')}`;
      this.headerLine = lineNo;
      this.checkDuplicate(this.label, lineNo);
      return done;
    }
    const seq = pythonStrip(line);
    if (this.label === undefined) {
      if (seq.length > 0) {
        throw dataError(
          `${this.source} line ${lineNo}: sequence data before the first '>' header ` +
            `(${JSON.stringify(seq.slice(0, 20))}); a FASTA file starts with a '>label' line`,
        );
      }
      return undefined;
    }
    if (seq.length > 0) this.parts.push(seq);
    return undefined;
  }

  /** Ends the input: returns the last record; throws if the input held no record at all. */
  finish(): FastaRecord | undefined {
    if (this.label === undefined && this.recordIndex === 0) {
      throw dataError(
        this.lineIndex === 0
          ? `${this.source}: the file is empty; expected FASTA records ('>label' lines followed by sequence lines)`
          : `${this.source}: no FASTA records (no line starts with '>') in ${this.lineIndex} blank line(s)`,
      );
    }
    return this.flush();
  }

  /** Number of lines consumed so far. */
  get lines(): number {
    return this.lineIndex;
  }

  private flush(): FastaRecord | undefined {
    if (this.label === undefined) return undefined;
    const rec: FastaRecord = {
      label: this.label,
      sequence: this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join(''),
      index: this.recordIndex++,
      line: this.headerLine,
    };
    this.label = undefined;
    this.parts = [];
    return rec;
  }

  private checkDuplicate(label: string, lineNo: number): void {
    if (this.seen === undefined) return;
    // The record being opened gets index recordIndex (the previous one was flushed just before).
    const prev = this.seen.get(label);
    if (prev !== undefined) {
      throw dataError(
        `${this.source} line ${lineNo}: duplicate label ${JSON.stringify(label)}: record ${this.recordIndex} ` +
          `repeats record ${prev} (0-based record numbers); labels must be unique`,
      );
    }
    this.seen.set(label, this.recordIndex);
  }
}

/**
 * Streams the records of a FASTA file (plain or gzip, detected by magic bytes) or byte stream, one at a
 * time. `name` labels errors (the path by default). Breaking out of the loop closes the file.
 */
export async function* readFasta(
  source: ByteSource,
  options: FastaOptions & { name?: string } = {},
): AsyncGenerator<FastaRecord, void, undefined> {
  const name = options.name ?? (typeof source === 'string' ? source : '<stream>');
  const start = options.start ?? 0;
  const end = options.end ?? Infinity;
  checkRange(name, start, end);
  const parser = new FastaParser(name, options);
  for await (const lines of readLineChunks(source, name)) {
    for (const line of lines) {
      const rec = parser.pushLine(line);
      if (rec === undefined || rec.index < start) continue;
      if (rec.index >= end) return;
      yield rec;
    }
  }
  const last = parser.finish();
  if (last !== undefined && last.index >= start && last.index < end) yield last;
}

/** Reads a whole FASTA file into memory (see {@link readFasta}). */
export async function readFastaAll(source: ByteSource, options: FastaOptions & { name?: string } = {}): Promise<FastaRecord[]> {
  const out: FastaRecord[] = [];
  for await (const rec of readFasta(source, options)) out.push(rec);
  return out;
}

/** Parses FASTA text already in memory; `name` labels errors. */
export function parseFasta(text: string, name = '<text>', options: FastaOptions = {}): FastaRecord[] {
  const start = options.start ?? 0;
  const end = options.end ?? Infinity;
  checkRange(name, start, end);
  const parser = new FastaParser(name, options);
  const out: FastaRecord[] = [];
  const keep = (rec: FastaRecord | undefined): void => {
    if (rec !== undefined && rec.index >= start && rec.index < end) out.push(rec);
  };
  for (const line of splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) keep(parser.pushLine(line));
  keep(parser.finish());
  return out;
}

function checkRange(name: string, start: number, end: number): void {
  const ok = Number.isInteger(start) && start >= 0 && (end === Infinity || (Number.isInteger(end) && end >= start));
  if (!ok) throw configError(`${name}: record range [${start}, ${end}) must be non-negative integers with start <= end`);
}
