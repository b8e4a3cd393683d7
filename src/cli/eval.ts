import type { Command } from 'commander';
import { registerEvalNgram } from './eval-ngram.js';
import { registerEvalPerplexity } from './eval-perplexity.js';
import { registerEvalProbe } from './eval-probe.js';
import { registerEvalReport } from './eval-report.js';
import { registerEvalTsne } from './eval-tsne.js';

/**
 * `protdistil eval ...`: what a distilled student kept. `perplexity` (masked-LM perplexity, pure or 80/10/10), `ngram` (perplexity floors), `probe`
 * (linear probes on frozen embeddings with the composition floor), `tsne` (2-D maps) and `report`
 * (all of them for a list of models and tasks, as JSON, markdown and one figure).
 */
export function registerEval(program: Command): void {
  const ev = program
    .command('eval')
    .description('evaluate protein language models: n-gram perplexity floors, linear probes with low-data curves, t-SNE maps, and a combined report');
  registerEvalPerplexity(ev);
  registerEvalNgram(ev);
  registerEvalProbe(ev);
  registerEvalTsne(ev);
  registerEvalReport(ev);
}
