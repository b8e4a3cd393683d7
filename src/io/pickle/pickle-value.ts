/**
 * The values a restricted unpickle produces: None, bools, ints (`bigint` beyond 2^53), floats,
 * strings, bytes, lists and tuples (both as arrays), dicts (as `Map`, keeping order and non-string
 * keys), sets, records for objects with attributes, allow-listed globals, and `X`, the objects the
 * caller's globals create (tensors).
 */

/** Values the unpickler produces; `X` are the objects that allow-listed globals create. */
export type PickleValue<X = never> =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue<X>[]
  | Map<PickleValue<X>, PickleValue<X>>
  | Set<PickleValue<X>>
  | PickleRecord<X>
  | PickleGlobal<X>
  | X;

/** Objects with named attributes (e.g. an `argparse.Namespace`). */
export interface PickleRecord<X = never> {
  [key: string]: PickleValue<X>;
}

/** How an allow-listed global is rebuilt; every hook is optional and unlisted uses are errors. */
export interface GlobalBehaviour<X> {
  /** `REDUCE`: the global called with positional arguments. */
  call?(args: PickleValue<X>[]): PickleValue<X>;
  /** `NEWOBJ`: `cls.__new__(cls, *args)`. */
  construct?(args: PickleValue<X>[]): PickleValue<X>;
  /** `BUILD` on an object this global created: apply the pickled state. */
  build?(target: PickleValue<X>, state: PickleValue<X>): void;
}

/** A resolved, allow-listed global (`module.name`) on the pickle stack. */
export class PickleGlobal<X = never> {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly behaviour: GlobalBehaviour<X> = {},
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Short description of a pickle value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return `global ${v.qualifiedName}`;
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof Set) return 'a set';
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
