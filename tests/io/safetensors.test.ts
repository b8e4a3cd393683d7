import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensors, SafetensorsReader, safetensorsLayout, writeSafetensors } from '../../src/io/safetensors.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { assertArray, assertFails, esmFixture, expected, ioFixture, tempDir } from './helpers.js';

const tmp = tempDir();
after(tmp.cleanup);

/** Writes a safetensors file from a header (object or raw text) and a data buffer. */
function craft(name: string, header: unknown, data: Uint8Array | number = 0, headerSize?: bigint): string {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerSize ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  const p = join(tmp.dir, name);
  writeFileSync(p, out);
  return p;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('readSafetensors: golden files', () => {
  it('decodes every dtype exactly (F64/F16/BF16 to float32, I64 kept, narrow ints to int32)', () => {
    const { tensors, metadata } = readSafetensors(ioFixture('st', 'dtypes.safetensors'));
    const want = expected().safetensors.dtypes!;
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) assertArray(tensors.get(name), w, name);
    assert.deepEqual(metadata, { format: 'pt', source: 'make_io_fixtures' });
  });

  it('reports a missing __metadata__ as null and uses offsets, not header order', () => {
    const { tensors, metadata } = readSafetensors(ioFixture('st', 'no-metadata.safetensors'));
    assert.equal(metadata, null);
    const want = expected().safetensors['no-metadata']!;
    assertArray(tensors.get('b.weight'), want['b.weight']!, 'b.weight');
    assertArray(tensors.get('a.ids'), want['a.ids']!, 'a.ids');
  });

  it('lists names, dtypes and shapes before reading, then reads one tensor by offset', () => {
    const reader = SafetensorsReader.open(ioFixture('st', 'no-metadata.safetensors'));
    try {
      assert.deepEqual(reader.names, ['b.weight', 'a.ids']);
      const ids = reader.entry('a.ids');
      assert.deepEqual([ids.dtype, ids.shape, ids.byteLength], ['I64', [2], 16]);
      assert.deepEqual([...reader.read('a.ids').data], [5n, 6n]);
      assertFails(() => reader.entry('nope'), 'checkpoint', 'no-metadata.safetensors', "'nope'");
    } finally {
      reader.close();
    }
  });
});

describe('readSafetensors: malformed files', () => {
  it('rejects empty, short and oversized-header files', () => {
    assertFails(() => readSafetensors(craft('nohdr.st', '', 0, 0n)), 'checkpoint', 'nohdr.st', 'header is not valid');
    writeFileSync(join(tmp.dir, 'zero.st'), new Uint8Array(0));
    assertFails(() => readSafetensors(join(tmp.dir, 'zero.st')), 'checkpoint', 'zero.st', 'empty file');
    writeFileSync(join(tmp.dir, 'short.st'), new Uint8Array(5));
    assertFails(() => readSafetensors(join(tmp.dir, 'short.st')), 'checkpoint', 'short.st', 'truncated');
    assertFails(() => readSafetensors(craft('big.st', '{}', 0, 1000n)), 'checkpoint', 'big.st', 'header size 1000 exceeds the file');
  });

  it('rejects invalid JSON and non-object headers', () => {
    assertFails(() => readSafetensors(craft('json.st', '{"a": ')), 'checkpoint', 'json.st', 'not valid UTF-8 JSON');
    assertFails(() => readSafetensors(craft('arr.st', '[1, 2]')), 'checkpoint', 'arr.st');
  });

  it('rejects unknown and unsupported dtypes by name', () => {
    const h = (dtype: string) => ({ t: { dtype, shape: [1], data_offsets: [0, 4] } });
    assertFails(() => readSafetensors(craft('x9.st', h('X9'), 4)), 'checkpoint', "tensor 't'", 'X9', 'unknown');
    assertFails(() => readSafetensors(craft('u32.st', h('U32'), 4)), 'checkpoint', 'U32 is not supported');
  });

  it('rejects offsets that disagree with the shape', () => {
    const p = craft('size.st', { t: f32([2, 3], 0, 20) }, 20);
    assertFails(() => readSafetensors(p), 'checkpoint', "tensor 't'", '[0, 20] hold 20 bytes', 'shape [2, 3] of F32 needs 24');
    assertFails(() => readSafetensors(craft('neg.st', { t: f32([1], 4, 0) }, 4)), 'checkpoint', 'data_offsets [4,0]');
    assertFails(() => readSafetensors(craft('shape.st', { t: f32([-1], 0, 4) }, 4)), 'checkpoint', 'shape [-1]');
  });

  it('rejects overlaps, gaps, trailing and missing data', () => {
    const overlap = { a: f32([2], 0, 8), b: f32([2], 4, 12) };
    assertFails(() => readSafetensors(craft('overlap.st', overlap, 12)), 'checkpoint', "'b'", "overlaps 'a'");
    const gap = { a: f32([1], 0, 4), b: f32([1], 8, 12) };
    assertFails(() => readSafetensors(craft('gap.st', gap, 12)), 'checkpoint', "4 unused bytes between 'a' and tensor 'b'");
    assertFails(() => readSafetensors(craft('trail.st', { a: f32([1], 0, 4) }, 8)), 'checkpoint', 'cover 4 data bytes but the file holds 8');
    assertFails(() => readSafetensors(craft('trunc.st', { a: f32([4], 0, 16) }, 10)), 'checkpoint', 'truncated');
  });

  it('rejects non-string metadata values', () => {
    const p = craft('meta.st', { __metadata__: { n: 1 }, a: f32([1], 0, 4) }, 4);
    assertFails(() => readSafetensors(p), 'checkpoint', "__metadata__['n'] must be a string");
  });
});

describe('writeSafetensors', () => {
  const tensors: Record<string, HostArray> = {
    'z.mask': { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    'b.weight': { dtype: 'float32', shape: [2, 2], data: Float32Array.from([0.5, -1, 2, 3.25]) },
    'a.weight': { dtype: 'float32', shape: [1], data: Float32Array.from([7]) },
    ids: { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 60n), 9n]) },
    '10': { dtype: 'int32', shape: [1, 1], data: Int32Array.from([-4]) },
  };

  it('round-trips F32/I64/I32/BOOL with metadata', () => {
    const p = join(tmp.dir, 'rt.safetensors');
    writeSafetensors(p, tensors, { format: 'pt' });
    const back = readSafetensors(p);
    assert.deepEqual(back.metadata, { format: 'pt' });
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.tensors.get(name);
      assert.deepEqual(got, { dtype: t.dtype, shape: [...t.shape], data: t.data }, name);
    }
  });

  it('orders tensors like the official writer: I64, F32, I32, BOOL, then by name; header padded to 8', () => {
    const { header, order } = safetensorsLayout(tensors);
    assert.deepEqual(order.map(([n]) => n), ['ids', 'a.weight', 'b.weight', '10', 'z.mask']);
    assert.equal(header.length % 8, 0);
    const json = new TextDecoder().decode(header);
    assert.match(json, /^\{"ids":\{"dtype":"I64","shape":\[2\],"data_offsets":\[0,16\]\},"a\.weight"/);
    assert.match(json, /\} *$/);
  });

  it('rewrites the Hugging Face ESM files byte for byte', () => {
    for (const model of ['esm2_t3_tiny', 'esm1b_t3_tiny']) {
      const src = esmFixture(model, 'hf', 'model.safetensors');
      const { tensors: all, metadata } = readSafetensors(src);
      const p = join(tmp.dir, `${model}.safetensors`);
      writeSafetensors(p, all, metadata ?? undefined);
      assert.ok(Buffer.compare(readFileSync(p), readFileSync(src)) === 0, `${model}: rewritten file differs`);
    }
  });

  it('rejects reserved names and inconsistent arrays, leaving no file behind', () => {
    const p = join(tmp.dir, 'bad.safetensors');
    const t = { dtype: 'float32', shape: [1], data: new Float32Array(1) } as const;
    assertFails(() => writeSafetensors(p, { __metadata__: t }), 'checkpoint', '__metadata__');
    const wrong = { dtype: 'float32', shape: [3], data: new Float32Array(2) } as const;
    assertFails(() => writeSafetensors(p, { w: wrong }), 'checkpoint', "'w'", 'shape [3]', '2 elements');
    assert.throws(() => readFileSync(p), /ENOENT/);
  });
});
