import type { Command } from 'commander';
import { readFastaAll } from '../data/fasta.js';
import { configError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic-write.js';
import { countFasta, scoreNgrams, type NgramScore } from '../eval/ngram.js';
import { ngramTable } from '../eval/report-tables.js';
import { progressBar } from './progress.js';

/** The n-gram floors of several evaluated files from one training file (shared with `eval report`). */
export async function ngramFloors(train: string, fastas: readonly string[]): Promise<{ train: string; trainSequences: number; trainResidues: number; files: { file: string; scores: NgramScore[] }[] }> {
  if (fastas.length === 0) throw configError('eval ngram: give at least one --fasta file to score');
  const bar = progressBar('count n-grams', 0, '{records} records');
  const counts = await countFasta(train, (n) => {
    if (n % 1000 === 0) bar.update(0, { records: n });
  });
  bar.stop();
  const files: { file: string; scores: NgramScore[] }[] = [];
  for (const f of fastas) {
    const recs = await readFastaAll(f, { checkDuplicates: false });
    files.push({ file: f, scores: scoreNgrams(counts, recs.map((r) => r.sequence)) });
  }
  return { train, trainSequences: counts.sequences, trainResidues: counts.positions, files };
}

/** Registers `eval ngram`. */
export function registerEvalNgram(ev: Command): void {
  ev.command('ngram')
    .description('masked-residue perplexity floors: every standard residue predicted from its TRUE neighbours by n-gram counts of the training file (add-one smoothing over the 20 standard residues, boundary symbol at the ends, X never a target); compare models with them only under pure masking')
    .requiredOption('--train <fasta>', 'training FASTA (plain or .gz) the counts come from')
    .requiredOption('--fasta <files...>', 'evaluated FASTA file(s)')
    .option('--json <file>', 'also write the floors as JSON')
    .action(async (o: { train: string; fasta: string[]; json?: string }) => {
      const t0 = performance.now();
      const r = await ngramFloors(o.train, o.fasta);
      console.log(ngramTable(r.files));
      console.log(`\ncounts from ${r.trainSequences} sequences (${r.trainResidues} standard residues) of ${o.train} in ${((performance.now() - t0) / 1000).toFixed(1)} s; the floors see the true neighbours of every scored residue`);
      if (o.json !== undefined) writeJsonAtomic(o.json, r);
    });
}
