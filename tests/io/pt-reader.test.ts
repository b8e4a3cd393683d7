import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHostArray, isPtRecord, type PtValue, readPt, readPtTensor } from '../../src/io/pt-reader.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { assertArray, assertFails, expected, expectedPt, ioFixture } from './helpers.js';

const pt = (name: string): string => ioFixture('pt', name);

/** The Map a `.pt` file holds at top level. */
function readDict(name: string): Map<PtValue, PtValue> {
  const v = readPt(pt(name));
  assert.ok(v instanceof Map, `${name}: top level is not a dict`);
  return v;
}

function tensorAt(m: Map<PtValue, PtValue>, key: string): HostArray {
  const v = m.get(key);
  assert.ok(isHostArray(v), `'${key}' is not a tensor`);
  return v;
}

/** Checks every tensor of a dict fixture against its golden values. */
function assertDict(file: string, golden: string): Map<PtValue, PtValue> {
  const m = readDict(file);
  const want = expected().pt[golden] as Record<string, unknown>;
  assert.deepEqual([...m.keys()].sort(), Object.keys(want).sort(), `${file}: keys`);
  for (const key of Object.keys(want)) assertArray(tensorAt(m, key), expectedPt(golden, key), `${file}:${key}`);
  return m;
}

describe('readPt: single tensors, zip and legacy containers', () => {
  for (const file of ['float2d.pt', 'float2d-legacy.pt', 'float2d-deflate.pt']) {
    it(`reads ${file} exactly`, () => assertArray(readPtTensor(pt(file), { rank: 2 }), expectedPt('float2d'), file));
  }

  it('upcasts float16 and bfloat16 and downcasts float64 to float32', () => {
    for (const name of ['float16', 'bfloat16', 'float64']) assertArray(readPtTensor(pt(`${name}.pt`)), expectedPt(name), name);
    // Hand check: bfloat16(1/3) is 0x3eab -> 0.333984375; float16 65504 is the largest half.
    assert.equal(readPtTensor(pt('bfloat16.pt')).data[0], 0.333984375);
    assert.equal(readPtTensor(pt('float16.pt')).data[2], 65504);
  });

  it('keeps int64 exact beyond 2^53 and reads 3-D tensors', () => {
    const i64 = readPtTensor(pt('int64.pt'));
    assertArray(i64, expectedPt('int64'), 'int64');
    assert.equal(i64.data[2], 2n ** 53n + 1n);
    assertArray(readPtTensor(pt('rank3.pt'), { rank: 3 }), expectedPt('rank3'), 'rank3');
  });

  it('reads big-endian storages from both containers', () => {
    assertArray(readPtTensor(pt('big-endian.pt')), expectedPt('big-endian'), 'zip, byteorder big');
    assertArray(readPtTensor(pt('big-endian-legacy.pt')), expectedPt('big-endian'), 'legacy, little_endian False');
  });
});

describe('readPt: strided views and shared storages', () => {
  it('materialises a transposed view in C order', () => {
    const t = readPtTensor(pt('transposed.pt'));
    assertArray(t, expectedPt('transposed'), 'transposed');
    // base[i][j] = 0.25 * (6i + j) - 3; transposed[j][i] = base[i][j]; row 0 of the 6x5 result:
    assert.deepEqual([...t.data.slice(0, 5)], [0, 6, 12, 18, 24].map((k) => 0.25 * k - 3));
  });

  for (const file of ['views.pt', 'views-legacy.pt']) {
    it(`reads transposed, offset, column and broadcast views of one storage (${file})`, () => {
      assertDict(file, 'views');
    });
  }

  for (const file of ['shared.pt', 'shared-legacy.pt']) {
    it(`gives tensors on one storage equal values in separate buffers (${file})`, () => {
      const m = assertDict(file, 'shared');
      assert.deepEqual([...m.keys()], ['embed.weight', 'lm_head.weight', 'bias', 'embed_row1', 'embed.alias'], 'OrderedDict order');
      const embed = tensorAt(m, 'embed.weight');
      const head = tensorAt(m, 'lm_head.weight');
      assert.deepEqual(head.data, embed.data);
      assert.notEqual(head.data.buffer, embed.data.buffer);
      assert.deepEqual([...tensorAt(m, 'embed_row1').data], [...embed.data.slice(3, 6)]);
      // The same Python tensor object pickled twice is memoised: one HostArray, as torch.load gives one tensor.
      assert.equal(m.get('embed.alias'), embed);
    });
  }
});

describe('readPt: dtypes, edge shapes and module state', () => {
  it('maps int32/int16/int8/uint8 to int32 and bool to bool', () => {
    const m = assertDict('ints.pt', 'ints');
    assert.equal(tensorAt(m, 'u8').dtype, 'int32');
    assert.deepEqual([...tensorAt(m, 'i8').data], [-128, 127, -3]);
    assert.equal(tensorAt(m, 'flags').dtype, 'bool');
  });

  it('reads 0-d, empty and one-element tensors', () => {
    const m = assertDict('edge-shapes.pt', 'edge-shapes');
    assert.deepEqual(tensorAt(m, 'scalar').shape, []);
    assert.deepEqual(tensorAt(m, 'empty').shape, [0, 3]);
  });

  it('reads nn.Parameter and a module state_dict with _metadata', () => {
    assertDict('parameter.pt', 'parameter');
    const m = assertDict('linear-state-dict.pt', 'linear-state-dict');
    assert.deepEqual([...tensorAt(m, 'bias').data], [0.125, -4]);
  });
});

describe('readPt: Python objects', () => {
  for (const file of ['objects.pt', 'objects-legacy.pt', 'objects-p4.pt', 'objects-p5.pt']) {
    it(`rebuilds namespaces, containers and scalars (${file})`, () => {
      const m = readDict(file);
      const args = m.get('args');
      assert.ok(isPtRecord(args));
      assert.deepEqual(args, { arch: 'roberta_large', layers: 3, dropout: 0.1, token_dropout: true, name: null });
      assert.deepEqual(m.get('tuple'), [1, 'a', null]);
      assert.deepEqual(m.get('list'), [1.5, -2, true, false]);
      assert.deepEqual(m.get('set'), new Set([1, 2, 3]));
      assert.deepEqual(m.get('frozenset'), new Set([4]));
      assert.deepEqual(m.get('bytes'), Uint8Array.from([0, 1, 255]));
      assert.deepEqual(m.get('empty_bytes'), new Uint8Array(0));
      assert.equal(m.get('big'), BigInt(expected().objects.big));
      assert.equal(m.get('neg'), -(2 ** 40));
      assert.equal(m.get('negsmall'), -5);
      assert.equal(m.get('int32max'), 2 ** 31 - 1);
      assert.equal(m.get('unicode'), 'h\u00e9llo \u2713');
      assert.deepEqual(m.get('nested'), new Map([['a', new Map([['b', [1, 2]]])]]));
      assert.deepEqual(m.get('int_keys'), new Map([[1, 'one'], [2, 'two']]));
      assert.deepEqual(m.get('size'), [2, 3]);
      assert.equal(m.get('device'), 'cpu');
      assertArray(tensorAt(m, 'tensor'), expected().objects.tensor, `${file}:tensor`);
    });
  }
});

describe('readPt: hostile pickles are rejected, never run', () => {
  const cases: [string, string][] = [
    ['hostile-zip-os-system.pt', 'os.system'],
    ['hostile-bare-os-system.pt', 'os.system'],
    ['hostile-zip-eval.pt', 'builtins.eval'],
    ['hostile-bare-posix.pt', 'posix.system'],
    ['hostile-legacy-popen.pt', 'subprocess.Popen'],
    ['hostile-getattr.pt', '__builtin__.getattr'],
  ];
  for (const [file, global] of cases) {
    it(`${file} -> checkpoint error naming ${global}`, () => {
      assertFails(() => readPt(pt(file)), 'checkpoint', file, `refusing to load global '${global}'`);
    });
  }
});

describe('readPt: broken files', () => {
  it('names the problem for empty, truncated, garbage and foreign files', () => {
    assertFails(() => readPt(pt('empty.pt')), 'checkpoint', 'empty.pt', 'empty file');
    assertFails(() => readPt(pt('truncated.pt')), 'checkpoint', 'truncated.pt', 'truncated');
    assertFails(() => readPt(pt('truncated-legacy.pt')), 'checkpoint', 'truncated-legacy.pt', /storage '\d+' ends at byte \d+ but the file has \d+ bytes/);
    assertFails(() => readPt(pt('garbage.pt')), 'checkpoint', 'garbage.pt', 'not a PyTorch checkpoint');
    assertFails(() => readPt(pt('not-torch.zip')), 'checkpoint', 'not-torch.zip', 'no <root>/data.pkl');
    assertFails(() => readPt(pt('missing.pt')), 'io', 'missing.pt');
  });

  it('readPtTensor insists on one tensor of the requested rank', () => {
    assertFails(() => readPtTensor(pt('shared.pt')), 'checkpoint', 'shared.pt', 'expected a single tensor', "a dict of 5 entries ('embed.weight'");
    assertFails(() => readPtTensor(pt('rank3.pt'), { rank: 2 }), 'checkpoint', 'expected a 2-D tensor', 'shape [2, 3, 4]');
  });
});
