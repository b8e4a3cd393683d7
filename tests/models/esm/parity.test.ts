import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noGrad } from '../../../src/autograd/mode.js';
import { batchConvert } from '../../../src/data/tokenizer.js';
import { loadFairEsm } from '../../../src/io/esm/fair-esm.js';
import { loadHfEsm } from '../../../src/io/esm/hugging-face.js';
import type { LoadedEsm } from '../../../src/io/esm/loaded.js';
import { bosVector, contactBlock, meanOverResidues, residueCount } from '../../../src/models/esm/pooling.js';
import { realize } from '../../../src/runtime/realize.js';
import type { HostArray } from '../../../src/tensor/host-array.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import {
  BATCHES, checkpointPaths, contactBlockMask, deviation, fixtureInputs, MODELS, nonPad, refArray,
  type Deviation, type FixtureBatch, type FixtureModel,
} from './fixtures.js';

/**
 * Parity with fair-esm on the reference fixtures: both tiny models, both checkpoint formats, the
 * `main`, `masked` and `long` batches; every stored array within 2e-5 · max(1, max|ref|).
 */

const loaders: Record<'pt' | 'hf', (m: FixtureModel) => LoadedEsm> = {
  pt: (m) => loadFairEsm(checkpointPaths(m).pt),
  hf: (m) => loadHfEsm(checkpointPaths(m).hf),
};

function check(what: string, d: Deviation, report: string[]): void {
  report.push(`${what}: max|Δ| ${d.maxAbs.toExponential(2)} / threshold ${d.threshold.toExponential(2)} = ${d.ratio.toFixed(3)}`);
  assert.ok(d.ratio <= 1, `${what}: max |ours − ref| = ${d.maxAbs} exceeds ${d.threshold} (max |ref| ${d.maxRef})`);
}

async function runBatch(loaded: LoadedEsm, model: FixtureModel, batch: FixtureBatch, report: string[]): Promise<void> {
  const L = loaded.config.numLayers;
  const tokens = refArray(model, batch, 'tokens') as HostArray;
  const inp = fixtureInputs(batch);
  const trunc = inp.truncation_seq_length ?? undefined;
  const tok = batchConvert(inp.sequences.map((sequence, i) => ({ label: inp.labels[i] as string, sequence })), trunc === undefined ? {} : { truncationSeqLength: trunc });
  assert.deepEqual(Array.from(tok.tokens.data as BigInt64Array), Array.from(tokens.data as BigInt64Array), 'tokenisation reproduces tokens.npy');
  const withMaps = batch === 'main';
  const out = noGrad(() => loaded.model.forward(Tensor.fromHost(tokens), { reprLayers: [0, 1, 2, 3], needAttentions: withMaps, returnContacts: withMaps }));
  const reps = [0, 1, 2, 3].map((l) => out.representations.get(l) as Tensor);
  await realize(out.logits, ...reps, ...out.attentions, ...(out.contacts === null ? [] : [out.contacts]));
  const tag = `${model} ${loaded.format} ${batch}`;
  const [, T] = tokens.shape as [number, number];
  const refLogits = refArray(model, batch, 'logits') as HostArray;
  check(`${tag} logits`, deviation((await out.logits.toArray()) as Float32Array, refLogits.data as Float32Array, nonPad(tokens, 33)), report);
  for (let l = 0; l <= L; l++) {
    const ref = refArray(model, batch, `repr_layer_${l}`);
    if (ref !== undefined) check(`${tag} repr_layer_${l}`, deviation((await reps[l]!.toArray()) as Float32Array, ref.data as Float32Array, nonPad(tokens, 48)), report);
  }
  const refAtt = refArray(model, batch, 'attentions');
  if (refAtt !== undefined) {
    const ours = new Float32Array(refAtt.data.length);
    // (B, L, H, T, T) from per-layer (B, H, T, T)
    const [B, , H] = refAtt.shape as [number, number, number];
    const per = await Promise.all(out.attentions.map(async (a) => (await a.toArray()) as Float32Array));
    for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) ours.set((per[l] as Float32Array).subarray(b * H * T * T, (b + 1) * H * T * T), ((b * L + l) * H) * T * T);
    check(`${tag} attentions`, deviation(ours, refAtt.data as Float32Array), report);
  }
  const refContacts = refArray(model, batch, 'contacts');
  if (refContacts !== undefined) {
    assert.ok(out.contacts !== null);
    const residues = inp.lengths_with_specials.map((n) => n - 2);
    check(`${tag} contacts`, deviation((await out.contacts.toArray()) as Float32Array, refContacts.data as Float32Array, contactBlockMask(refContacts.shape, residues)), report);
    // The per-sequence block extract.py writes.
    const host = await out.contacts.toHost();
    const block = contactBlock(host, 1, residues[1] as number);
    assert.deepEqual(block.shape, [residues[1], residues[1]]);
  }
  for (let l = 0; l <= L; l++) {
    const refMean = refArray(model, batch, `mean_repr_layer_${l}`);
    const refBos = refArray(model, batch, `bos_repr_layer_${l}`);
    if (refMean === undefined || refBos === undefined) continue;
    const rep = await reps[l]!.toHost();
    const B = refMean.shape[0] as number;
    const means = new Float32Array(refMean.data.length);
    const bos = new Float32Array(refBos.data.length);
    const E = refMean.shape[1] as number;
    for (let b = 0; b < B; b++) {
      means.set(meanOverResidues(rep, b, residueCount(inp.sequences[b] as string, inp.truncation_seq_length ?? 1022)), b * E);
      bos.set(bosVector(rep, b), b * E);
    }
    check(`${tag} mean_repr_layer_${l}`, deviation(means, refMean.data as Float32Array), report);
    check(`${tag} bos_repr_layer_${l}`, deviation(bos, refBos.data as Float32Array), report);
  }
}

for (const model of MODELS) {
  for (const format of ['pt', 'hf'] as const) {
    describe(`${model} from ${format === 'pt' ? 'the fair-esm .pt' : 'the Hugging Face directory'} matches fair-esm`, () => {
      const loaded = loaders[format](model);
      for (const batch of BATCHES) {
        it(`${batch} batch`, async (t) => {
          const report: string[] = [];
          await runBatch(loaded, model, batch, report);
          for (const line of report) t.diagnostic(line);
        });
      }
    });
  }
}
