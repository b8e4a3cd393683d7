import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NgramCounts, residueSymbols, scoreNgrams } from '../../src/eval/ngram.js';

test('n-gram floors by hand: add-one over 20 residues, boundary context, X never a target', () => {
  const c = new NgramCounts(['none', 'left', 'left-right']);
  c.add('AAC');
  c.add('AXA');
  // Targets counted: A A C A A (X is not a target) -> A: 4, C: 1 of 5.
  assert.equal(c.positions, 5);
  // Evaluate "AC": position 0 (A, left = boundary, right = C), position 1 (C, left = A, right = boundary).
  const [uni, bi, two] = scoreNgrams(c, ['AC']) as [ReturnType<typeof scoreNgrams>[number], ReturnType<typeof scoreNgrams>[number], ReturnType<typeof scoreNgrams>[number]];
  const pUniA = (4 + 1) / (5 + 20);
  const pUniC = (1 + 1) / (5 + 20);
  assert.ok(Math.abs(uni.nllNats - -(Math.log(pUniA) + Math.log(pUniC)) / 2) < 1e-12);
  // Left context: boundary precedes A twice (AAC, AXA); A precedes A (AAC), C (AAC); X precedes A (AXA).
  const pBiA = (2 + 1) / (2 + 20); // A after boundary
  const pBiC = (1 + 1) / (2 + 20); // C after A: A is followed by A and C among targets
  assert.ok(Math.abs(bi.nllNats - -(Math.log(pBiA) + Math.log(pBiC)) / 2) < 1e-12);
  // Two-sided: (boundary, C) was never seen -> uniform 1/20; (A, boundary) saw C once (AAC's last).
  const pTwoA = 1 / 20;
  const pTwoC = (1 + 1) / (1 + 20);
  assert.ok(Math.abs(two.nllNats - -(Math.log(pTwoA) + Math.log(pTwoC)) / 2) < 1e-12);
  assert.equal(uni.scoredPositions, 2);
  assert.ok(Math.abs(uni.perplexity - Math.exp(uni.nllNats)) < 1e-12);
});

test('non-standard letters are context only, lower case counts', () => {
  assert.deepEqual(Array.from(residueSymbols('aXBz')), [0, 20, 20, 20]);
  const c = new NgramCounts(['none']);
  c.add('ACD');
  assert.throws(() => scoreNgrams(c, ['XXX']), /no standard residue/);
});
