import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkpointError } from '../../../src/errors.js';
import { BytesInput } from '../../../src/io/pickle/pickle-input.js';
import { PickleGlobal, type PickleValue } from '../../../src/io/pickle/pickle-value.js';
import { unpickle, type UnpickleHooks } from '../../../src/io/pickle/unpickler.js';
import { assertFails } from '../helpers.js';

/** Assembles pickle bytes: numbers are bytes, strings are latin-1 text. */
function bytes(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (const c of p) out.push(c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

const rejectAll: UnpickleHooks<never> = {
  findGlobal: (m, n) => {
    throw checkpointError(`refusing ${m}.${n}`);
  },
};

function load<X = never>(b: Uint8Array, hooks: UnpickleHooks<X> = rejectAll as UnpickleHooks<X>): PickleValue<X> {
  return unpickle(new BytesInput(b, 'test.pkl'), hooks);
}

describe('unpickle: protocol 2 data (hand-assembled)', () => {
  it('reads ints of every width, floats and constants', () => {
    // PROTO 2, MARK, BININT1 7, BININT2 0x1234, BININT -2, LONG1 9 bytes (2^64), BINFLOAT 1.5, NONE, NEWTRUE, NEWFALSE, TUPLE, STOP
    const b = bytes(0x80, 2, '(', 'K', 7, 'M', 0x34, 0x12, 'J', 0xfe, 0xff, 0xff, 0xff,
      0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'N', 0x88, 0x89, 't', '.');
    assert.deepEqual(load(b), [7, 0x1234, -2, 2n ** 64n, 1.5, null, true, false]);
  });

  it('reads LONG1 negatives and zero-length longs', () => {
    // LONG1 of ff 7f = 0x7fff; LONG1 of 00 80 = -32768; LONG1 of length 0 = 0
    assert.deepEqual(load(bytes(0x80, 2, '(', 0x8a, 2, 0xff, 0x7f, 0x8a, 2, 0x00, 0x80, 0x8a, 0, 't', '.')), [0x7fff, -32768, 0]);
  });

  it('reads strings and bytes', () => {
    // BINUNICODE 'hé' (3 UTF-8 bytes), SHORT_BINUNICODE 'ok', SHORT_BINBYTES 00 ff, TUPLE3
    const b = bytes(0x80, 2, 'X', 3, 0, 0, 0, 'h', 0xc3, 0xa9, 0x8c, 2, 'ok', 'C', 2, 0, 0xff, 0x87, '.');
    assert.deepEqual(load(b), ['hé', 'ok', Uint8Array.from([0, 255])]);
  });

  it('builds lists and dicts and keeps memoised objects shared', () => {
    // ] q0 ( K1 K2 e  } q1 ( X'a' h0 u  -> {'a': [1, 2]} after  building list then dict; TUPLE2
    const b = bytes(0x80, 2, ']', 'q', 0, '(', 'K', 1, 'K', 2, 'e', '}', 'q', 1, '(', 0x8c, 1, 'a', 'h', 0, 'u', 0x86, '.');
    const v = load(b) as [number[], Map<string, number[]>];
    assert.deepEqual(v[0], [1, 2]);
    assert.equal(v[1].get('a'), v[0]);
  });

  it('reads sets and protocol-0 text opcodes', () => {
    // EMPTY_SET, MARK, K1, K2, ADDITEMS
    assert.deepEqual(load(bytes(0x80, 4, 0x8f, '(', 'K', 1, 'K', 2, 0x90, '.')), new Set([1, 2]));
    // ( (lp0 I5 a I01 a L…L a g0 t .  -> the same list twice in a tuple
    const text = bytes('((lp0\nI5\naI01\naL12345678901234567890L\nag0\n', 't', '.');
    assert.deepEqual(load(text), [[5, true, 12345678901234567890n], [5, true, 12345678901234567890n]]);
  });
});

describe('unpickle: globals', () => {
  it('never resolves a global itself: rejection comes from the hooks', () => {
    const b = bytes(0x80, 2, 'c', 'os\nsystem\n', 'X', 4, 0, 0, 0, 'echo', 0x85, 'R', '.');
    assertFails(() => load(b), 'checkpoint', 'refusing os.system');
  });

  it('resolves STACK_GLOBAL through the hooks too', () => {
    const b = bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    assertFails(() => load(b), 'checkpoint', 'refusing builtins.eval');
  });

  it('calls, constructs and builds allow-listed globals', () => {
    const hooks: UnpickleHooks<never> = {
      findGlobal: (m, n) =>
        new PickleGlobal<never>(m, n, {
          call: (args) => args.length,
          construct: () => ({}),
          build: (target, state) => {
            if (state instanceof Map) for (const [k, v] of state) (target as Record<string, PickleValue>)[k as string] = v;
          },
        }),
    };
    // c m\nf\n ( K1 K2 t R  -> f(1, 2) = 2 ; c m\nC\n ) NEWOBJ } ( X'x' K5 u b  -> {x: 5}
    const b = bytes(0x80, 2, '(', 'c', 'm\nf\n', '(', 'K', 1, 'K', 2, 't', 'R',
      'c', 'm\nC\n', ')', 0x81, '}', '(', 0x8c, 1, 'x', 'K', 5, 'u', 'b', 't', '.');
    assert.deepEqual(load(b, hooks), [2, { x: 5 }]);
  });

  it('refuses REDUCE on globals without a call rule and BUILD on plain data', () => {
    const inert: UnpickleHooks<never> = { findGlobal: (m, n) => new PickleGlobal(m, n) };
    assertFails(() => load(bytes(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.'), inert), 'checkpoint', 'cannot call global torch.FloatStorage');
    assertFails(() => load(bytes(0x80, 2, '}', '}', 'b', '.')), 'checkpoint', 'cannot set the state');
  });

  it('rejects persistent ids without a loader and passes them to one', () => {
    assertFails(() => load(bytes(0x80, 2, 'K', 1, 'Q', '.')), 'checkpoint', 'persistent ids are not supported');
    const hooks: UnpickleHooks<never> = { ...rejectAll, persistentLoad: (pid) => `pid:${String(pid)}` };
    assert.equal(load(bytes(0x80, 2, 'K', 3, 'Q', '.'), hooks), 'pid:3');
  });
});

describe('unpickle: malformed input', () => {
  it('reports truncation with the source name', () => {
    assertFails(() => load(bytes(0x80, 2, 'K')), 'checkpoint', 'test.pkl', 'truncated pickle');
    assertFails(() => load(bytes(0x80, 2, 'X', 9, 0, 0, 0, 'ab')), 'checkpoint', 'truncated pickle', 'BINUNICODE');
    assertFails(() => load(bytes(0x80, 2, 'N')), 'checkpoint', 'truncated pickle', 'opcode');
  });

  it('rejects unknown opcodes, memo misses and stack misuse', () => {
    assertFails(() => load(bytes(0x80, 2, 0xff, '.')), 'checkpoint', 'unsupported pickle opcode 0xff', 'at byte 2');
    assertFails(() => load(bytes(0x80, 2, 'h', 5, '.')), 'checkpoint', 'memo entry 5');
    assertFails(() => load(bytes(0x80, 2, '.')), 'checkpoint', 'STOP with an empty stack');
    assertFails(() => load(bytes(0x80, 2, 'K', 1, '(', 'a', '.')), 'checkpoint', 'stack underflow');
    assertFails(() => load(bytes(0x80, 2, '}', '(', 'K', 1, 'u', '.')), 'checkpoint', 'pairs');
    assertFails(() => load(bytes(0x80, 6, 'N', '.')), 'checkpoint', 'protocol 6');
    assertFails(() => load(bytes(0x80, 2, 'X', 2, 0, 0, 0, 0xc3, 0x28, '.')), 'checkpoint', 'not valid UTF-8');
  });
});
