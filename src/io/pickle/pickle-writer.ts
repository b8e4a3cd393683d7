/**
 * A minimal protocol-2 pickle emitter (opcodes as in CPython's Lib/pickletools.py): exactly the
 * opcodes a `torch.save` state dict needs — globals, tuples, ints, floats, strings, bools, None,
 * dicts, REDUCE, BUILD, MARK, SETITEMS and persistent ids. No memo is written; pickles without one are valid.
 */
export class PickleWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly encoder = new TextEncoder();

  /** PROTO 2. */
  proto(): this {
    return this.op(0x80, 2);
  }

  /** GLOBAL `module name`. */
  global(module: string, name: string): this {
    this.op(0x63);
    this.chunks.push(this.encoder.encode(`${module}\n${name}\n`));
    return this;
  }

  /** MARK. */
  mark(): this {
    return this.op(0x28);
  }

  /** A non-negative or negative integer with the shortest binary opcode. */
  int(v: number | bigint): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`PickleWriter.int: ${v} is not an integer`);
    const n = BigInt(v);
    if (n >= 0n && n < 256n) return this.op(0x4b, Number(n)); // BININT1
    if (n >= 0n && n < 65536n) return this.op(0x4d, Number(n) & 0xff, Number(n) >> 8); // BININT2
    if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      const b = new Uint8Array(5);
      b[0] = 0x4a; // BININT
      new DataView(b.buffer).setInt32(1, Number(n), true);
      this.chunks.push(b);
      return this;
    }
    // LONG1: little-endian two's complement in the fewest bytes that keep the sign.
    const bytes: number[] = [];
    let x = n;
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const signBit = (bytes[bytes.length - 1]! & 0x80) !== 0;
      if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }

  /** BINUNICODE (UTF-8, 4-byte length). */
  string(s: string): this {
    const body = this.encoder.encode(s);
    const head = new Uint8Array(5);
    head[0] = 0x58;
    new DataView(head.buffer).setUint32(1, body.length, true);
    this.chunks.push(head, body);
    return this;
  }

  /** NEWTRUE / NEWFALSE. */
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }

  /** A tuple of the values already written since the matching `mark()` (MARK … TUPLE). */
  tuple(): this {
    return this.op(0x74);
  }

  /** A tuple of integers, using the short tuple opcodes where they apply. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.op(0x29); // EMPTY_TUPLE
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    return this.op(values.length > 3 ? 0x74 : 0x84 + values.length); // TUPLE or TUPLE1..3
  }

  /** EMPTY_TUPLE. */
  emptyTuple(): this {
    return this.op(0x29);
  }

  /** REDUCE: call the callable below the argument tuple. */
  reduce(): this {
    return this.op(0x52);
  }

  /** BINPERSID: the value on top is a persistent id. */
  persistentId(): this {
    return this.op(0x51);
  }

  /** EMPTY_DICT. */
  emptyDict(): this {
    return this.op(0x7d);
  }

  /** BUILD: set the state on top as the attributes of the object below it. */
  build(): this {
    return this.op(0x62);
  }

  /** BINFLOAT: a float64, big-endian. */
  float(v: number): this {
    const b = new Uint8Array(9);
    b[0] = 0x47;
    new DataView(b.buffer).setFloat64(1, v, false);
    this.chunks.push(b);
    return this;
  }

  /** NONE. */
  none(): this {
    return this.op(0x4e);
  }

  /** SETITEMS: add the key/value pairs since the last MARK to the dict below it. */
  setItems(): this {
    return this.op(0x75);
  }

  /** STOP, and the finished pickle. */
  finish(): Uint8Array {
    this.op(0x2e);
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private op(...bytes: number[]): this {
    this.chunks.push(Uint8Array.from(bytes));
    return this;
  }
}
