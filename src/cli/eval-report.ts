import type { Command } from 'commander';
import { join } from 'node:path';
import { configError } from '../errors.js';
import { loadEsm } from '../io/esm/load.js';
import { toJsonText, writeFilesAtomic } from '../io/atomic-write.js';
import { modelsPerplexity, type ModelPerplexity } from '../eval/model-perplexity.js';
import type { NgramScore } from '../eval/ngram.js';
import { modelDisplayName, probeModels, type NamedModel, type ProbeRow } from '../eval/probe-models.js';
import { readEvalReportConfig } from '../eval/report-config.js';
import { reportFigureSpec } from '../eval/report-figure.js';
import { lowDataTable, ngramTable, probeTables } from '../eval/report-tables.js';
import { tsneMaps, type TsneMaps } from '../eval/tsne-maps.js';
import { renderVegaLite, svgToPng } from '../report/render.js';
import { BarSet, readTaskFile } from './eval-common.js';
import { ngramFloors } from './eval-ngram.js';
import { perplexityTable } from './eval-perplexity.js';
import { probeNotes } from './eval-probe.js';

/** Registers `eval report`. */
export function registerEvalReport(ev: Command): void {
  ev.command('report')
    .description('run perplexity (with n-gram floors), probes (with the composition floor and low-data sizes) and t-SNE maps for a list of models as CONFIG.json says; writes eval_report.json, eval_report.md and eval_report.png together (nothing is written if any step fails)')
    .argument('<config>', 'JSON: {models, out, cache, layer, grid, seed, composition, perplexity: {fasta, ngramTrain, rules, masks, limit}, tasks: [{name, train, valid, extra, test, trainSizes, poolings, labelCol, ...}], tsne: {task, split, method, pooling, perplexity, neighbours, minDist, iterations, maxPoints}}; relative paths are relative to the file')
    .action(async (configPath: string) => {
      const t0 = performance.now();
      const c = readEvalReportConfig(configPath);
      const models: NamedModel[] = c.models.map((m) => (typeof m === 'string' ? { name: modelDisplayName(m), loaded: loadEsm(m) } : { name: m.name, loaded: loadEsm(m.path) }));
      for (const m of models) process.stderr.write(`model ${m.name}: ${m.loaded.config.numLayers} layers, embed dim ${m.loaded.config.embedDim} (${m.loaded.path})\n`);
      const bars = new BarSet();
      try {
        let perplexity: ModelPerplexity[] = [];
        let floors: { file: string; scores: NgramScore[] }[] = [];
        const p = c.perplexity;
        if (p !== undefined) {
          for (const f of p.fasta) {
            if (models.length > 0) {
              perplexity = perplexity.concat(
                await modelsPerplexity(models, f, { rules: p.rules, seed: c.seed, masks: p.masks, ...(p.limit === undefined ? {} : { limit: p.limit }), onProgress: (w, d, t) => bars.update(w, `perplexity ${w}`, d, t) }),
              );
              bars.stop();
            }
          }
          if (p.ngramTrain !== undefined) floors = (await ngramFloors(p.ngramTrain, p.fasta)).files;
        }
        const tasks: { name: string; rows: ProbeRow[] }[] = [];
        const taskFiles = new Map<string, Awaited<ReturnType<typeof readTaskFile>>[]>();
        for (const t of c.tasks) {
          const cols = { ...(t.seqCol === undefined ? {} : { seqCol: t.seqCol }), ...(t.labelCol === undefined ? {} : { labelCol: t.labelCol }), ...(t.idCol === undefined ? {} : { idCol: t.idCol }) };
          const train = await readTaskFile('train', t.train, cols, t.labels);
          const evals = [await readTaskFile('valid', t.valid, cols, t.labels)];
          for (const e of t.extra) evals.push(await readTaskFile(null, e, cols, t.labels));
          if (t.test !== undefined) evals.push(await readTaskFile('test', t.test, cols, t.labels));
          taskFiles.set(t.name, evals);
          const rows = await probeModels(models, train, evals, {
            poolings: t.poolings,
            layer: c.layer,
            trainSizes: t.trainSizes,
            grid: c.grid,
            seed: c.seed,
            composition: c.composition,
            cacheDir: c.cache,
            onEmbed: (w, pr) => bars.extract(`${t.name} ${w}`, pr),
            onEmbedDone: () => bars.stop(),
            onFit: (w, d, tot) => bars.update(`fit ${t.name} ${w}`, `probe ${t.name} ${w}`, d, tot),
          });
          bars.stop();
          tasks.push({ name: t.name, rows });
        }
        let tsne: TsneMaps | null = null;
        if (c.tsne !== undefined && models.length > 0) {
          const ts = c.tsne;
          const file = (taskFiles.get(ts.task) ?? []).find((f) => f.name === ts.split);
          if (file === undefined) throw configError(`tsne.split '${ts.split}' is not an evaluation split of task '${ts.task}'`);
          tsne = await tsneMaps(models, file, { method: ts.method, neighbours: ts.neighbours, minDist: ts.minDist, pooling: ts.pooling, layer: c.layer, perplexity: ts.perplexity, iterations: ts.iterations, seed: c.seed, maxPoints: ts.maxPoints, cacheDir: c.cache, onStep: (w, s, tot) => bars.update(`${ts.method} ${w}`, `${ts.method === 'tsne' ? 't-SNE' : 'UMAP'} ${w}`, s, tot) });
          bars.stop();
        }
        const md: string[] = ['# protdistil evaluation report', ''];
        if (perplexity.length > 0 || floors.length > 0) {
          md.push('## Masked perplexity', '');
          for (const f of c.perplexity?.fasta ?? []) {
            md.push(`### ${f}`, '', perplexityTable(perplexity.filter((r) => r.file === f), floors.find((x) => x.file === f)?.scores ?? []), '');
          }
          md.push("Only `pure` rows (every scored residue masked) may be set against the floors, which predict each residue from its TRUE neighbours (n-gram counts, add-one smoothing). `bert` rows (80/10/10) leave 10 % of scored residues in the input.", '');
          if (floors.length > 0) md.push('### n-gram floors', '', ngramTable(floors), '');
        }
        for (const t of tasks) md.push(`## Probe: ${t.name}`, '', probeTables(t.name, t.rows), '', lowDataTable(t.name, t.rows), '', ...probeNotes(t.rows).map((n) => `- ${n}`), '');
        if (tsne !== null) md.push(tsne.method === 'tsne' ? `## t-SNE` : '## UMAP', '', `${tsne.rows.length} sequences of ${tsne.data}, ${tsne.method === 'tsne' ? `perplexity ${tsne.perplexity}` : `${c.tsne?.neighbours} neighbours, min. distance ${c.tsne?.minDist}`}, seed ${tsne.seed}: see eval_report.png.`, '');
        const svg = await renderVegaLite(reportFigureSpec({ perplexity, floors, tasks, tsne: tsne }));
        const json = {
          config: configPath,
          models: models.map((m) => ({ name: m.name, path: m.loaded.path, arch: m.loaded.config.arch, layers: m.loaded.config.numLayers, embedDim: m.loaded.config.embedDim })),
          perplexity,
          floors,
          tasks,
          tsne: tsne === null ? null : { ...tsne, panels: tsne.panels.map((p) => ({ model: p.model, pooling: p.pooling, points: Array.from(p.points) })) },
          elapsedSeconds: (performance.now() - t0) / 1000,
        };
        writeFilesAtomic([
          { path: join(c.out, 'eval_report.json'), data: toJsonText(json) },
          { path: join(c.out, 'eval_report.md'), data: md.join('\n') },
          { path: join(c.out, 'eval_report.png'), data: svgToPng(svg, { scale: 1.5 }) },
        ]);
        console.log(md.join('\n'));
        console.log(`wrote ${join(c.out, 'eval_report.json')}, eval_report.md and eval_report.png in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        bars.stop();
      }
    });
}
