import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PickleWriter } from '../../src/io/pickle/pickle-writer.js';
import { readPt } from '../../src/io/pt-reader.js';
import { writeStreamedAtomic } from '../../src/io/streamed-write.js';
import { writeZip, type ZipInput } from '../../src/io/zip-writer.js';
import { assertFails, ioFixture, tempDir } from './helpers.js';

/** Checkpoints crafted to break one rule of the torch object model each. */

const tmp = tempDir();
after(tmp.cleanup);

/** Writes a zip checkpoint whose data.pkl is built by `pickle` and whose storages are `data`. */
function craft(name: string, pickle: (w: PickleWriter) => void, data: Record<string, Uint8Array>, extra: ZipInput[] = []): string {
  const w = new PickleWriter().proto();
  pickle(w);
  const entries: ZipInput[] = [
    { name: 'archive/data.pkl', data: w.finish() },
    ...Object.entries(data).map(([key, bytes]) => ({ name: `archive/data/${key}`, data: bytes })),
    ...extra,
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ];
  const p = join(tmp.dir, name);
  writeStreamedAtomic(p, (sink) => writeZip(sink, entries));
  return p;
}

/** `_rebuild_tensor_v2(('storage', torch.<cls>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
function tensor(w: PickleWriter, cls: string, key: string, numel: number, offset: number, size: number[], stride: number[]): void {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().string('storage').global('torch', cls).string(key).string('cpu').int(numel).tuple().persistentId();
  w.int(offset).intTuple(size).intTuple(stride).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

describe('torch objects: crafted checkpoints', () => {
  it('reads a hand-built view with offset and stride (sanity check of the crafting)', () => {
    // storage 0..5; view offset 1, size [2, 2], stride [1, 2] -> [[1, 3], [2, 4]]
    const p = craft('view.pt', (w) => tensor(w, 'FloatStorage', '0', 6, 1, [2, 2], [1, 2]), { '0': f32(0, 1, 2, 3, 4, 5) });
    const t = readPt(p);
    assert.deepEqual(t, { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 3, 2, 4]) });
  });

  it('rejects a view that reads past its storage', () => {
    const p = craft('past.pt', (w) => tensor(w, 'FloatStorage', '0', 4, 1, [4], [1]), { '0': f32(1, 2, 3, 4) });
    assertFails(() => readPt(p), 'checkpoint', 'past.pt', 'shape [4] with stride [1] at offset 1', "storage '0' (4 elements)");
  });

  it('rejects missing and short storage entries', () => {
    const missing = craft('missing.pt', (w) => tensor(w, 'FloatStorage', '7', 1, 0, [1], [1]), {});
    assertFails(() => readPt(missing), 'checkpoint', "storage '7' has no entry archive/data/7");
    const short = craft('short.pt', (w) => tensor(w, 'LongStorage', '0', 2, 0, [2], [1]), { '0': new Uint8Array(8) });
    assertFails(() => readPt(short), 'checkpoint', 'archive/data/0 has 8 bytes', "storage '0' of 2 i64 needs 16");
  });

  it('rejects one storage used with two dtypes', () => {
    const p = craft('twotypes.pt', (w) => {
      w.mark();
      tensor(w, 'FloatStorage', '0', 2, 0, [2], [1]);
      tensor(w, 'IntStorage', '0', 2, 0, [2], [1]);
      w.tuple();
    }, { '0': new Uint8Array(8) });
    assertFails(() => readPt(p), 'checkpoint', "storage '0' is used as f32[2] and as i32[2]");
  });

  it('rejects unknown storage classes, malformed sizes, bare storages and module ids', () => {
    const complex = craft('complex.pt', (w) => tensor(w, 'ComplexFloatStorage', '0', 1, 0, [1], [1]), { '0': new Uint8Array(8) });
    assertFails(() => readPt(complex), 'checkpoint', "refusing to load global 'torch.ComplexFloatStorage'");
    const rank = craft('rank.pt', (w) => tensor(w, 'FloatStorage', '0', 4, 0, [2, 2], [1]), { '0': f32(1, 2, 3, 4) });
    assertFails(() => readPt(rank), 'checkpoint', "_rebuild_tensor_v2 on storage '0' has malformed offset/size/stride");
    const bare = craft('bare.pt', (w) => {
      w.mark().string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(1).tuple().persistentId();
    }, { '0': f32(1) });
    assertFails(() => readPt(bare), 'checkpoint', "bare storage ('0')");
    const module = craft('module.pt', (w) => w.mark().string('module').string('x').tuple().persistentId(), {});
    assertFails(() => readPt(module), 'checkpoint', 'pickled nn.Module class');
  });

  it('rejects TorchScript archives and unknown byte orders', () => {
    const empty = (w: PickleWriter) => w.emptyTuple();
    const ts = craft('script.pt', empty, {}, [{ name: 'archive/constants.pkl', data: new Uint8Array(0) }]);
    assertFails(() => readPt(ts), 'checkpoint', 'TorchScript archive');
    const order = craft('order.pt', empty, {}, [{ name: 'archive/byteorder', data: new TextEncoder().encode('middle') }]);
    assertFails(() => readPt(order), 'checkpoint', "byteorder says 'middle'");
  });

  it('detects a corrupted data.pkl by its CRC-32', () => {
    const p = join(tmp.dir, 'corrupt.pt');
    copyFileSync(ioFixture('pt', 'float2d.pt'), p);
    const bytes = readFileSync(p);
    const at = bytes.indexOf(Buffer.from('FloatStorage'));
    bytes[at] = 'G'.charCodeAt(0);
    writeFileSync(p, bytes);
    assertFails(() => readPt(p), 'checkpoint', 'corrupt.pt', 'CRC-32');
  });
});
