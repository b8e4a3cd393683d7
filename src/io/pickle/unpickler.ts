import { checkpointError } from '../../errors.js';
import type { PickleInput } from './pickle-input.js';
import { describe, PickleGlobal, type PickleValue } from './pickle-value.js';

/**
 * A restricted unpickler for pickle protocols 0–5 (opcodes as in CPython's Lib/pickletools.py).
 * It builds plain data (see pickle-value.ts) and resolves every GLOBAL through a caller-supplied
 * allow-list whose entries say how to rebuild the few classes a checkpoint needs. Nothing from the
 * file is ever run: a global outside the allow-list is an error, not a lookup.
 */

/** Caller-supplied resolution of globals and persistent ids. */
export interface UnpickleHooks<X> {
  /** Returns the allow-listed global or throws (a `checkpoint` error naming `module.name`). */
  findGlobal(module: string, name: string): PickleGlobal<X>;
  /** Resolves a persistent id (PyTorch storages); absent means persistent ids are rejected. */
  persistentLoad?(pid: PickleValue<X>): PickleValue<X>;
}

/** Reads one pickle (up to and including its STOP opcode) from `input`. */
export function unpickle<X>(input: PickleInput, hooks: UnpickleHooks<X>): PickleValue<X> {
  return new Unpickler(input, hooks).load();
}

type V<X> = PickleValue<X>;

class Unpickler<X> {
  private stack: V<X>[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, V<X>>();
  private readonly createdBy = new WeakMap<object, PickleGlobal<X>>();
  private opPos = 0;

  constructor(
    private readonly input: PickleInput,
    private readonly hooks: UnpickleHooks<X>,
  ) {}

  load(): V<X> {
    const inp = this.input;
    for (;;) {
      this.opPos = inp.position;
      const op = inp.byte('an opcode');
      switch (op) {
        case 0x80: { // PROTO
          const v = inp.byte('the protocol version');
          if (v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: // FRAME: frames only group opcodes; the length is not needed.
          inp.bytes(8, 'a frame length');
          break;
        case 0x2e: // STOP
          if (this.stack.length === 0) this.fail('STOP with an empty stack');
          return this.stack.pop()!;
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: // POP
          if (this.marks.length > 0 && this.marks[this.marks.length - 1] === this.stack.length) this.marks.pop();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.stack.push(this.top());
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4a: // BININT
          this.stack.push(this.view(4, 'BININT').getInt32(0, true));
          break;
        case 0x4b: // BININT1
          this.stack.push(inp.byte('BININT1'));
          break;
        case 0x4d: // BININT2
          this.stack.push(this.view(2, 'BININT2').getUint16(0, true));
          break;
        case 0x8a: // LONG1
          this.stack.push(this.long(inp.byte('LONG1 length')));
          break;
        case 0x8b: // LONG4
          this.stack.push(this.long(this.size(4, 'LONG4')));
          break;
        case 0x49: { // INT (text; "00"/"01" are False/True)
          const s = inp.line('INT');
          this.stack.push(s === '00' ? false : s === '01' ? true : this.int(s));
          break;
        }
        case 0x4c: // LONG (text)
          this.stack.push(this.int(inp.line('LONG').replace(/L$/, '')));
          break;
        case 0x47: // BINFLOAT (big-endian double)
          this.stack.push(this.view(8, 'BINFLOAT').getFloat64(0, false));
          break;
        case 0x46: // FLOAT (text)
          this.stack.push(Number.parseFloat(inp.line('FLOAT')));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.utf8(inp.byte('SHORT_BINUNICODE length'), 'SHORT_BINUNICODE'));
          break;
        case 0x58: // BINUNICODE
          this.stack.push(this.utf8(this.size(4, 'BINUNICODE'), 'BINUNICODE'));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.utf8(this.size(8, 'BINUNICODE8'), 'BINUNICODE8'));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str, read as latin-1 text)
          this.stack.push(this.latin1(inp.byte('SHORT_BINSTRING length'), 'SHORT_BINSTRING'));
          break;
        case 0x54: // BINSTRING
          this.stack.push(this.latin1(this.size(4, 'BINSTRING'), 'BINSTRING'));
          break;
        case 0x43: // SHORT_BINBYTES
          this.stack.push(new Uint8Array(inp.bytes(inp.byte('SHORT_BINBYTES length'), 'SHORT_BINBYTES')));
          break;
        case 0x42: // BINBYTES
          this.stack.push(new Uint8Array(inp.bytes(this.size(4, 'BINBYTES'), 'BINBYTES')));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.stack.push(new Uint8Array(inp.bytes(this.size(8, 'BINBYTES8'), 'BINBYTES8')));
          break;
        case 0x29: // EMPTY_TUPLE
          this.stack.push([]);
          break;
        case 0x74: // TUPLE
          this.stack.push(this.popMark());
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: { // TUPLE3
          const n = op - 0x84;
          if (this.stack.length < n) this.fail(`TUPLE${n} needs ${n} stack items, found ${this.stack.length}`);
          this.stack.push(this.stack.splice(this.stack.length - n, n));
          break;
        }
        case 0x5d: // EMPTY_LIST
          this.stack.push([]);
          break;
        case 0x6c: // LIST
          this.stack.push(this.popMark());
          break;
        case 0x61: { // APPEND
          const v = this.pop();
          this.list(this.top(), 'APPEND').push(v);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.list(this.top(), 'APPENDS').push(...items);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.stack.push(new Map());
          break;
        case 0x64: { // DICT
          const m = new Map<V<X>, V<X>>();
          this.setItems(m, this.popMark());
          this.stack.push(m);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.dict(this.top(), 'SETITEM').set(k, v);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.dict(this.top(), 'SETITEMS'), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.stack.push(new Set());
          break;
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.fail(`ADDITEMS on ${describe(s)}, expected a set`);
          for (const v of items) s.add(v);
          break;
        }
        case 0x91: // FROZENSET
          this.stack.push(new Set(this.popMark()));
          break;
        case 0x71: // BINPUT
          this.memo.set(inp.byte('BINPUT index'), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.size(4, 'LONG_BINPUT'), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x70: // PUT (text)
          this.memo.set(this.int(inp.line('PUT')) as number, this.top());
          break;
        case 0x68: // BINGET
          this.stack.push(this.get(inp.byte('BINGET index')));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.get(this.size(4, 'LONG_BINGET')));
          break;
        case 0x67: // GET (text)
          this.stack.push(this.get(this.int(inp.line('GET')) as number));
          break;
        case 0x63: { // GLOBAL
          const module = inp.line('GLOBAL module');
          const name = inp.line('GLOBAL name');
          this.stack.push(this.hooks.findGlobal(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            this.fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
          }
          this.stack.push(this.hooks.findGlobal(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.tuple(this.pop(), 'REDUCE arguments');
          const fn = this.pop();
          if (!(fn instanceof PickleGlobal) || !fn.behaviour.call) this.fail(`cannot call ${describe(fn)} (REDUCE)`);
          this.push(fn.behaviour.call(args), fn);
          break;
        }
        case 0x81: // NEWOBJ
        case 0x92: { // NEWOBJ_EX
          const kwargs = op === 0x92 ? this.pop() : null;
          if (kwargs instanceof Map && kwargs.size > 0) this.fail('NEWOBJ_EX with keyword arguments is not supported');
          const args = this.tuple(this.pop(), 'NEWOBJ arguments');
          const cls = this.pop();
          if (!(cls instanceof PickleGlobal) || !cls.behaviour.construct) this.fail(`cannot instantiate ${describe(cls)} (NEWOBJ)`);
          this.push(cls.behaviour.construct(args), cls);
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const target = this.top();
          const creator = typeof target === 'object' && target !== null ? this.createdBy.get(target) : undefined;
          if (!creator?.behaviour.build) this.fail(`cannot set the state of ${describe(target)} (BUILD)`);
          creator.behaviour.build(target, state);
          break;
        }
        case 0x51: // BINPERSID
          this.stack.push(this.persistent(this.pop()));
          break;
        case 0x50: // PERSID (text)
          this.stack.push(this.persistent(inp.line('PERSID')));
          break;
        default:
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} ${printable(op)}`);
      }
    }
  }

  private push(v: V<X>, creator: PickleGlobal<X>): void {
    if (typeof v === 'object' && v !== null) this.createdBy.set(v, creator);
    this.stack.push(v);
  }

  private persistent(pid: V<X>): V<X> {
    if (!this.hooks.persistentLoad) this.fail('persistent ids are not supported in this pickle');
    return this.hooks.persistentLoad(pid);
  }

  private pop(): V<X> {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack.pop()!;
  }

  private top(): V<X> {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): V<X>[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('MARK expected but none is open');
    return this.stack.splice(at);
  }

  private get(i: number): V<X> {
    if (!this.memo.has(i)) this.fail(`memo entry ${i} is read before it is written`);
    return this.memo.get(i)!;
  }

  private setItems(m: Map<V<X>, V<X>>, items: V<X>[]): void {
    if (items.length % 2 !== 0) this.fail(`dict items come in pairs, got ${items.length} values`);
    for (let i = 0; i < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
  }

  private list(v: V<X>, op: string): V<X>[] {
    if (!Array.isArray(v)) this.fail(`${op} on ${describe(v)}, expected a list`);
    return v;
  }

  private dict(v: V<X>, op: string): Map<V<X>, V<X>> {
    if (!(v instanceof Map)) this.fail(`${op} on ${describe(v)}, expected a dict`);
    return v;
  }

  private tuple(v: V<X>, what: string): V<X>[] {
    if (!Array.isArray(v)) this.fail(`${what} must be a tuple, got ${describe(v)}`);
    return v;
  }

  private view(n: number, what: string): DataView {
    const b = this.input.bytes(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  /** Reads an unsigned little-endian length of `n` bytes (4 or 8). */
  private size(n: 4 | 8, what: string): number {
    const v = this.view(n, `${what} length`);
    const len = n === 4 ? v.getUint32(0, true) : Number(v.getBigUint64(0, true));
    if (!Number.isSafeInteger(len)) this.fail(`${what} length ${len} is too large`);
    return len;
  }

  /** Two's-complement little-endian integer of `n` bytes; a number when it is exactly representable. */
  private long(n: number): number | bigint {
    const b = this.input.bytes(n, 'LONG');
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return toNumberIfSafe(v);
  }

  private int(text: string): number | bigint {
    if (!/^[+-]?\d+$/.test(text.trim())) this.fail(`malformed integer ${JSON.stringify(text)}`);
    return toNumberIfSafe(BigInt(text.trim()));
  }

  private utf8(n: number, what: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.input.bytes(n, what));
    } catch (e) {
      if (e instanceof TypeError) this.fail(`${what} is not valid UTF-8`);
      throw e;
    }
  }

  private latin1(n: number, what: string): string {
    return new TextDecoder('latin1').decode(this.input.bytes(n, what));
  }

  private fail(msg: string): never {
    throw checkpointError(`${this.input.name}: malformed pickle at byte ${this.opPos}: ${msg}`);
  }
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function printable(op: number): string {
  return op >= 0x20 && op < 0x7f ? `('${String.fromCharCode(op)}')` : '';
}
