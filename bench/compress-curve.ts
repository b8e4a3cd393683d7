/**
 * Perplexity against parameters: `protdistil compress` at several parameter budgets, with the
 * data-aware closed form and with plain weight SVD at the same ranks (`--method weight-svd`), on
 * one trained model, one calibration set and one held-out set:
 *   node dist/bench/compress-curve.js MODEL [--fractions 0.3,0.4,0.5,0.6,0.8] [--fasta CALIB.fasta]
 *        [--valid VALID.fasta] [--valid-sequences 300] [--max-tokens 50000] [--out .bench-out/compress-curve]
 *        [--speed-shapes 16x256] [--threads 2]
 *
 * Each (budget, method) is one `compress` run into its own directory; the table is read back from
 * the runs' compress_report.json files (pure-mask perplexity on the same scored positions for every
 * run, parameters, final-representation agreement, forward tokens/s) and written as
 * compress_curve.json beside them. Ranks: `--params-fraction F` allocates them from the dense model's
 * statistics, so both methods get the same ranks at the same F.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, table } from './peer.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? (args[i + 1] as string) : def;
};
const model = args[0];
if (model === undefined || model.startsWith('--')) throw new Error('usage: node dist/bench/compress-curve.js MODEL [--fractions …]');
const fractions = flag('--fractions', '0.3,0.4,0.5,0.6,0.8').split(',').map(Number);
const data = join(ROOT, '..', 'shared', 'data', 'pretrain');
const fasta = resolve(flag('--fasta', join(data, 'mini_train.fasta')));
const valid = resolve(flag('--valid', join(data, 'valid.fasta')));
const out = resolve(flag('--out', join(ROOT, '.bench-out', 'compress-curve')));
const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
mkdirSync(out, { recursive: true });

interface Report {
  totals: { params_before: number; params_after: number; projection_params_before: number; projection_params_after: number; file_bytes_after: number };
  perplexity: { before: number; after: number; scored: number; sequences: number };
  representation_agreement: { token_cosine: number; mean_cosine: number };
  throughput: { batch: number; length: number; tokens_per_second_before: number; tokens_per_second_after: number; speedup: number }[];
  projections: { rank: number | null }[];
}

console.log(`protdistil compress curve — ${new Date().toISOString()} — ${machineLine()}`);
console.log(`model ${model}; calibration ${fasta} (--max-tokens ${flag('--max-tokens', '50000')}); held-out ${valid} (first ${flag('--valid-sequences', '300')} sequences, pure masking)`);
const rows: { fraction: number; method: string; report: Report; seconds: number }[] = [];
for (const fraction of fractions) {
  for (const method of ['closed-form', 'weight-svd']) {
    const dir = join(out, `${method}-${fraction}`);
    rmSync(dir, { recursive: true, force: true });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, '--threads', flag('--threads', '2'), 'compress', model, '--fasta', fasta, '--out', dir, '--params-fraction', String(fraction), '--method', method, '--valid', valid,
      '--valid-sequences', flag('--valid-sequences', '300'), '--max-tokens', flag('--max-tokens', '50000'), '--speed-shapes', flag('--speed-shapes', '16x256'), '--seed', '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`compress ${method} ${fraction} failed (exit ${r.status})`);
    const report = JSON.parse(readFileSync(join(dir, 'compress_report.json'), 'utf8')) as Report;
    rows.push({ fraction, method, report, seconds: (performance.now() - t0) / 1000 });
    console.log(`  ${method} ${fraction}: perplexity ${report.perplexity.before.toFixed(3)} -> ${report.perplexity.after.toFixed(3)}`);
  }
}
const first = rows[0]?.report as Report;
console.log(`\ndense model: ${first.totals.params_before.toLocaleString('en-US')} parameters, ${first.totals.projection_params_before.toLocaleString('en-US')} in projections; pure-mask perplexity ${first.perplexity.before.toFixed(3)} (${first.perplexity.scored} scored positions in ${first.perplexity.sequences} sequences)`);
console.log(table(
  ['budget', 'method', 'projection params', 'params', 'factored', 'perplexity', 'Δ perplexity', 'token cosine', 'tok/s after / before'],
  rows.map(({ fraction, method, report: r }) => [fraction, method, `${((100 * r.totals.projection_params_after) / r.totals.projection_params_before).toFixed(1)}%`, r.totals.params_after.toLocaleString('en-US'),
    `${r.projections.filter((p) => p.rank !== null).length}/${r.projections.length}`, r.perplexity.after.toFixed(3), (r.perplexity.after - r.perplexity.before).toFixed(3), r.representation_agreement.token_cosine.toFixed(4),
    r.throughput.map((t) => `${t.speedup.toFixed(2)}x (${t.batch}x${t.length})`).join(' ')]),
));
writeFileSync(join(out, 'compress_curve.json'), `${JSON.stringify({ machine: machineLine(), date: new Date().toISOString(), model, fasta, valid, rows }, null, 2)}\n`);
console.log(`details: ${join(out, 'compress_curve.json')}`);
