import type { Command } from 'commander';
import { writeJsonAtomic } from '../io/atomic-write.js';
import { MASK_RULES } from '../eval/perplexity.js';
import { modelsPerplexity, type ModelPerplexity } from '../eval/model-perplexity.js';
import { markdownTable } from '../report/markdown-table.js';
import { BarSet, loadModels } from './eval-common.js';
import { ngramFloors } from './eval-ngram.js';
import { parseIntFlag, parseListFlag } from './flags.js';

/** The perplexity table: every model and rule, with the n-gram floors (pure masking only) below. */
export function perplexityTable(rows: readonly ModelPerplexity[], floors: readonly { readonly name: string; readonly perplexity: number; readonly scoredPositions: number }[] = []): string {
  return markdownTable(
    ['model', 'rule', 'perplexity', 'top-1 accuracy', 'scored positions', 'sequences'],
    [
      ...rows.map((r) => [r.model, r.rule, r.perplexity, r.accuracy, r.scored, r.sequences]),
      ...floors.map((f) => [`floor: ${f.name}`, 'true neighbours', f.perplexity, '', f.scoredPositions, '']),
    ],
    { digits: 3 },
  );
}

interface PerplexityFlags {
  fasta: string;
  rule: string;
  masks: string;
  seed: string;
  limit?: string;
  truncationSeqLength: string;
  toksPerBatch: string;
  ngramTrain?: string;
  json?: string;
  pseudo?: boolean;
}

/** Registers `eval perplexity`. */
export function registerEvalPerplexity(ev: Command): void {
  ev.command('perplexity')
    .description("masked-LM perplexity and top-1 accuracy of each model on the same deterministic scored positions (15 % of standard residues, never BOS/EOS/pad/X). 'pure' (default, the headline) masks every scored position; 'bert' applies the 80/10/10 training rule and is never comparable with the n-gram floors")
    .argument('<models...>', 'fair-esm .pt files or Hugging Face folders; NAME=PATH names a model')
    .requiredOption('--fasta <file>', 'evaluated FASTA (plain or .gz)')
    .option('--rule <list>', `masking rule(s): ${MASK_RULES.join(', ')}`, 'pure')
    .option('--masks <k>', 'independent mask draws per sequence', '1')
    .option('--seed <n>', 'seed of the scored positions', '0')
    .option('--limit <n>', 'only the first N sequences')
    .option('--truncation-seq-length <n>', 'residues kept per sequence (as extract)', '1022')
    .option('--toks-per-batch <n>', 'padded tokens per batch', '4096')
    .option('--ngram-train <fasta>', 'also print the n-gram floors of --fasta counted on this training file')
    .option('--pseudo', 'also pseudo-perplexity: every residue masked alone (one forward pass per residue; for small sets, e.g. with --limit)')
    .option('--json <file>', 'write the results as JSON')
    .action(async (specs: string[], o: PerplexityFlags) => {
      const rules = parseListFlag('--rule', o.rule, MASK_RULES);
      const models = loadModels(specs);
      const bars = new BarSet();
      const rows = await modelsPerplexity(models, o.fasta, {
        rules,
        seed: parseIntFlag('--seed', o.seed, 0),
        masks: parseIntFlag('--masks', o.masks, 1),
        truncation: parseIntFlag('--truncation-seq-length', o.truncationSeqLength, 1),
        ...(o.limit === undefined ? {} : { limit: parseIntFlag('--limit', o.limit, 1) }),
        toksPerBatch: parseIntFlag('--toks-per-batch', o.toksPerBatch, 1),
        pseudo: o.pseudo === true,
        onProgress: (what, d, t) => bars.update(what, `perplexity ${what}`, d, t),
      }).finally(() => bars.stop());
      const floors = o.ngramTrain === undefined ? [] : ((await ngramFloors(o.ngramTrain, [o.fasta])).files[0]?.scores ?? []);
      console.log(perplexityTable(rows, floors));
      if (o.limit !== undefined && floors.length > 0) console.log(`note: the floors score all of ${o.fasta}; the models only its first ${o.limit} sequences`);
      console.log(`\nrule 'pure': every scored residue is <mask>; only pure rows may be set against the floors, which see the true neighbours. 'bert' leaves 10 % of scored residues unchanged, so the answer is in the input.`);
      if (o.json !== undefined) writeJsonAtomic(o.json, { rows, floors });
    });
}
