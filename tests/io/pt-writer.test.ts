import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BytesInput } from '../../src/io/pickle/pickle-input.js';
import { PickleGlobal, type PickleValue } from '../../src/io/pickle/pickle-value.js';
import { unpickle } from '../../src/io/pickle/unpickler.js';
import { isHostArray, readPt } from '../../src/io/pt-reader.js';
import { encodePtPickle, writePt } from '../../src/io/pt-writer.js';
import { RandomAccessFile } from '../../src/io/random-access-file.js';
import { ZipReader } from '../../src/io/zip-reader.js';
import { checkpointError } from '../../src/errors.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { assertFails, ioFixture, tempDir } from './helpers.js';

const tmp = tempDir();
after(tmp.cleanup);

const weight: HostArray = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0.5, -1.25, 3, 1e-7, -0, 65504]) };
const ids: HostArray = { dtype: 'int64', shape: [4], data: BigInt64Array.from([0n, -1n, 2n ** 53n + 1n, -(2n ** 62n)]) };
const counts: HostArray = { dtype: 'int32', shape: [1, 2], data: Int32Array.from([-(2 ** 31), 7]) };
const mask: HostArray = { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) };
const scalar: HostArray = { dtype: 'float32', shape: [], data: Float32Array.from([2.5]) };
const stateDict = new Map([['encoder.weight', weight], ['ids', ids], ['counts', counts], ['scalar', scalar]]);

/**
 * Golden outputs, verified with the real torch.load (PyTorch 1.13, also weights_only=True):
 *   /usr/bin/python3 scripts/fixtures/make_io_fixtures.py --verify tests/fixtures/io/pt/pt-writer-golden.pt \
 *       --expect tests/fixtures/io/pt/pt-writer-golden.json
 * Rewrite them after an intended format change with PROTDISTIL_UPDATE_GOLDEN=1, then verify again.
 */
const GOLDEN = [
  { file: 'pt-writer-golden', options: {} },
  { file: 'pt-writer-golden-zip64', options: { forceZip64: true } },
] as const;

function expectationJson(tensors: Map<string, HostArray>): string {
  const spec: Record<string, unknown> = {};
  for (const [name, t] of tensors) {
    const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? String(v) : v));
    spec[name] = { dtype: t.dtype, shape: t.shape, values };
  }
  return `${JSON.stringify(spec, null, 1)}\n`;
}

describe('writePt: round trips through readPt', () => {
  it('stores a state dict of float32/int64/int32/0-d tensors in order', () => {
    const p = join(tmp.dir, 'state.pt');
    writePt(p, stateDict);
    const back = readPt(p);
    assert.ok(back instanceof Map);
    assert.deepEqual([...back.keys()], [...stateDict.keys()]);
    for (const [name, t] of stateDict) assert.deepEqual(back.get(name), { dtype: t.dtype, shape: [...t.shape], data: t.data }, name);
  });

  it('stores a single tensor, a record of tensors, bool and empty tensors', () => {
    const single = join(tmp.dir, 'single.pt');
    writePt(single, weight);
    const t = readPt(single);
    assert.ok(isHostArray(t));
    assert.deepEqual([...t.data], [...weight.data]);
    const rec = join(tmp.dir, 'record.pt');
    const empty: HostArray = { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) };
    writePt(rec, { mask, empty });
    const back = readPt(rec) as Map<PickleValue<HostArray>, PickleValue<HostArray>>;
    assert.deepEqual(back.get('mask'), mask);
    assert.deepEqual(back.get('empty'), { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) });
  });

  it('rejects mismatched data without leaving a file', () => {
    const p = join(tmp.dir, 'bad.pt');
    const bad = { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } as const;
    assertFails(() => writePt(p, { w: bad }), 'checkpoint', "tensor 'w'", 'shape [2, 2]', '3 values');
    assert.throws(() => readFileSync(p), /ENOENT/);
  });
});

describe('writePt: the torch.save layout', () => {
  it('writes archive/{data.pkl, byteorder, data/<key>, version} STORED with 64-byte aligned data', () => {
    const p = join(tmp.dir, 'layout.pt');
    writePt(p, stateDict);
    RandomAccessFile.with(p, checkpointError, (file) => {
      const zip = ZipReader.open(file);
      const names = [...zip.entries.keys()];
      assert.deepEqual(names, ['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1', 'archive/data/2', 'archive/data/3', 'archive/version']);
      for (const e of zip.entries.values()) {
        assert.equal(e.method, 0, `${e.name} stored`);
        assert.equal(zip.dataOffset(e) % 64, 0, `${e.name} aligned`);
      }
      assert.equal(new TextDecoder().decode(zip.read(zip.entry('archive/version')!)), '3\n');
      assert.equal(new TextDecoder().decode(zip.read(zip.entry('archive/byteorder')!)), 'little');
      assert.equal(zip.entry('archive/data/1')!.size, 4 * 8);
    });
  });

  it('pickles tensors as _rebuild_tensor_v2 over persistent storage ids', () => {
    const seen: string[] = [];
    const pids: PickleValue<never>[] = [];
    const hooks = {
      findGlobal: (m: string, n: string) => {
        seen.push(`${m}.${n}`);
        return new PickleGlobal<never>(m, n, { call: (args) => (n === 'OrderedDict' ? new Map() : args) });
      },
      persistentLoad: (pid: PickleValue<never>) => {
        pids.push(pid);
        return 'storage';
      },
    };
    const { pickle } = encodePtPickle(new Map([['w', weight]]));
    assert.deepEqual(pickle.subarray(0, 2), Uint8Array.from([0x80, 2]));
    const root = unpickle(new BytesInput(pickle, 'data.pkl'), hooks);
    assert.deepEqual(new Set(seen), new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch.FloatStorage']));
    const [pid] = pids as PickleValue<never>[][];
    assert.deepEqual([pid![0], (pid![1] as PickleGlobal).qualifiedName, pid![2], pid![3], pid![4]], ['storage', 'torch.FloatStorage', '0', 'cpu', 6]);
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
    assert.ok(root instanceof Map);
    assert.deepEqual(root.get('w'), ['storage', 0, [2, 3], [3, 1], false, new Map()]);
  });

  it('writes zip64 records when forced, and reads them back', () => {
    const p = join(tmp.dir, 'zip64.pt');
    writePt(p, stateDict, { forceZip64: true });
    const bytes = readFileSync(p);
    const eocd = bytes.subarray(bytes.length - 22);
    assert.equal(eocd.readUInt32LE(16), 0xffffffff, 'EOCD central-directory offset is deferred to zip64');
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'zip64 locator');
    const back = readPt(p) as Map<PickleValue<HostArray>, PickleValue<HostArray>>;
    assert.deepEqual(back.get('ids'), ids);
  });

  for (const { file, options } of GOLDEN) {
    it(`reproduces ${file}.pt, checked loadable by torch.load`, () => {
      const golden = ioFixture('pt', `${file}.pt`);
      const spec = ioFixture('pt', `${file}.json`);
      const p = join(tmp.dir, `${file}.pt`);
      writePt(p, stateDict, options);
      if (process.env.PROTDISTIL_UPDATE_GOLDEN === '1') {
        writeFileSync(golden, readFileSync(p));
        writeFileSync(spec, expectationJson(stateDict));
      }
      assert.ok(Buffer.compare(readFileSync(p), readFileSync(golden)) === 0, `${file}.pt: output differs from the verified file`);
      assert.equal(readFileSync(spec, 'utf8'), expectationJson(stateDict));
    });
  }
});
