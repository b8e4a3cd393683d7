import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
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
  BATCHES, checkpointPaths, contactBlockMask, deviation, esmFixturePath, EXPECTED_ARRAYS, expectsArray, fixtureInputs, MODELS, nonPad,
  refArray, refArrayUnder,
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

/** Compares every array of EXPECTED_ARRAYS[batch]; a missing reference file throws in refArray. */
async function runBatch(loaded: LoadedEsm, model: FixtureModel, batch: FixtureBatch, report: string[]): Promise<void> {
  const L = loaded.config.numLayers;
  const compared = new Set<string>();
  const ref = (name: string): HostArray => {
    compared.add(name);
    return refArray(model, batch, name);
  };
  const tokens = ref('tokens');
  const inp = fixtureInputs(batch);
  const trunc = inp.truncation_seq_length ?? undefined;
  const tok = batchConvert(inp.sequences.map((sequence, i) => ({ label: inp.labels[i] as string, sequence })), trunc === undefined ? {} : { truncationSeqLength: trunc });
  assert.deepEqual(Array.from(tok.tokens.data as BigInt64Array), Array.from(tokens.data as BigInt64Array), 'tokenisation reproduces tokens.npy');
  const withAttentions = expectsArray(batch, 'attentions');
  const withContacts = expectsArray(batch, 'contacts');
  const out = noGrad(() => loaded.model.forward(Tensor.fromHost(tokens), { reprLayers: [0, 1, 2, 3], needAttentions: withAttentions, returnContacts: withContacts }));
  const reps = [0, 1, 2, 3].map((l) => out.representations.get(l) as Tensor);
  await realize(out.logits, ...reps, ...out.attentions, ...(out.contacts === null ? [] : [out.contacts]));
  const tag = `${model} ${loaded.format} ${batch}`;
  const [, T] = tokens.shape as [number, number];
  check(`${tag} logits`, deviation((await out.logits.toArray()) as Float32Array, ref('logits').data as Float32Array, nonPad(tokens, 33)), report);
  for (let l = 0; l <= L; l++) {
    if (!expectsArray(batch, `repr_layer_${l}`)) continue;
    check(`${tag} repr_layer_${l}`, deviation((await reps[l]!.toArray()) as Float32Array, ref(`repr_layer_${l}`).data as Float32Array, nonPad(tokens, 48)), report);
  }
  if (withAttentions) {
    const refAtt = ref('attentions');
    const ours = new Float32Array(refAtt.data.length);
    // (B, L, H, T, T) from per-layer (B, H, T, T)
    const [B, , H] = refAtt.shape as [number, number, number];
    const per = await Promise.all(out.attentions.map(async (a) => (await a.toArray()) as Float32Array));
    for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) ours.set((per[l] as Float32Array).subarray(b * H * T * T, (b + 1) * H * T * T), ((b * L + l) * H) * T * T);
    check(`${tag} attentions`, deviation(ours, refAtt.data as Float32Array), report);
  }
  if (withContacts) {
    const refContacts = ref('contacts');
    assert.ok(out.contacts !== null);
    const residues = inp.lengths_with_specials.map((n) => n - 2);
    check(`${tag} contacts`, deviation((await out.contacts.toArray()) as Float32Array, refContacts.data as Float32Array, contactBlockMask(refContacts.shape, residues)), report);
    // The per-sequence block extract.py writes.
    const host = await out.contacts.toHost();
    const block = contactBlock(host, 1, residues[1] as number);
    assert.deepEqual(block.shape, [residues[1], residues[1]]);
  }
  for (let l = 0; l <= L; l++) {
    if (!expectsArray(batch, `mean_repr_layer_${l}`) && !expectsArray(batch, `bos_repr_layer_${l}`)) continue;
    const refMean = ref(`mean_repr_layer_${l}`);
    const refBos = ref(`bos_repr_layer_${l}`);
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
  assert.deepEqual([...compared].sort(), [...EXPECTED_ARRAYS[batch]].sort(), `${tag}: every listed reference array is compared`);
}

test('the reference directories hold exactly the listed arrays, with the shapes manifest.json records', () => {
  const manifest = JSON.parse(readFileSync(esmFixturePath('manifest.json'), 'utf8')) as { models: Record<string, { arrays: Record<string, { shape: number[] }> }> };
  for (const model of MODELS) {
    const listed = Object.keys(manifest.models[model]?.arrays ?? {});
    for (const batch of BATCHES) {
      const expected = EXPECTED_ARRAYS[batch].map((n) => `${n}.npy`).sort();
      assert.deepEqual(readdirSync(esmFixturePath(model, batch)).filter((f) => f.endsWith('.npy')).sort(), expected, `${model}/${batch} files`);
      assert.deepEqual(listed.filter((k) => k.startsWith(`${model}/${batch}/`)).map((k) => k.slice(model.length + batch.length + 2)).sort(), expected, `${model}/${batch} in manifest.json`);
      for (const name of EXPECTED_ARRAYS[batch]) {
        assert.deepEqual(refArray(model, batch, name).shape, manifest.models[model]?.arrays[`${model}/${batch}/${name}.npy`]?.shape, `${model}/${batch}/${name} shape`);
      }
    }
  }
});

test('a missing reference file fails instead of skipping', () => {
  assert.throws(() => refArray('esm2_t3_tiny', 'masked', 'contacts'), /not a reference array of the masked batch/);
  const dir = mkdtempSync(join(tmpdir(), 'esm-ref-'));
  try {
    assert.throws(() => refArrayUnder(dir, 'esm2_t3_tiny', 'main', 'contacts'), /esm2_t3_tiny\/main\/contacts\.npy cannot be read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

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
