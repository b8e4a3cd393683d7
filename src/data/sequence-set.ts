import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dataError, ioError } from '../errors.js';
import { readFasta } from './fasta.js';
import { encode, type UnknownPolicy } from './tokenizer.js';

/**
 * A FASTA file held in memory as token ids (one byte per residue, no BOS/EOS): the corpus of a
 * training run or an evaluation. 100,000 Swiss-Prot sequences take about 35 MB. Encoding happens
 * once, so a character outside the alphabet is reported up front with its record and position.
 */
export interface SequenceSet {
  /** The file, for messages. */
  readonly source: string;
  readonly labels: readonly string[];
  /** Residue ids per record (alphabet ids, without BOS/EOS). */
  readonly ids: readonly Uint8Array[];
  /** Total residues. */
  readonly residues: number;
}

/** Options of {@link loadSequenceSet}. */
export interface SequenceSetOptions {
  /** Characters outside the alphabet: an error naming record and position (default), or `<unk>`. */
  readonly unknown?: UnknownPolicy;
  /** Keep only the first `limit` records. */
  readonly limit?: number;
}

/** Reads a FASTA file (plain or gzip) into a {@link SequenceSet}; an empty file or record is an error. */
export async function loadSequenceSet(path: string, opts: SequenceSetOptions = {}): Promise<SequenceSet> {
  const labels: string[] = [];
  const ids: Uint8Array[] = [];
  let residues = 0;
  for await (const rec of readFasta(path, opts.limit === undefined ? {} : { end: opts.limit })) {
    if (rec.sequence.length === 0) throw dataError(`${path} line ${rec.line}: record ${JSON.stringify(rec.label)} has an empty sequence`);
    const enc = encode(rec.sequence, { label: rec.label, unknown: opts.unknown ?? 'error' });
    ids.push(Uint8Array.from(enc));
    labels.push(rec.label);
    residues += enc.length;
  }
  if (ids.length === 0) throw dataError(`${path}: no FASTA records`);
  return { source: path, labels, ids, residues };
}

/** SHA-256 of a file's bytes (hex): identifies a data file in run configs and caches. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    throw ioError(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  return h.digest('hex');
}
