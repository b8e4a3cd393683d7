import { checkpointError } from '../errors.js';
import { SafetensorsReader, writeSafetensors } from '../io/safetensors.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import type { Module } from './module.js';

/**
 * Saves a module's parameters as safetensors (names are the module's dotted names), atomically.
 * `metadata` is stored in the header's `__metadata__` map.
 */
export function saveModule(module: Module, path: string, metadata?: Readonly<Record<string, string>>): void {
  writeSafetensors(path, module.stateDict(), metadata);
}

/**
 * Loads parameters saved by `saveModule` into a module. Strict: every missing, unexpected and
 * mis-shaped key is reported at once, and nothing is changed unless all fit. Tensors are read one
 * at a time from the file, so peak memory stays near one copy of the weights plus the model.
 */
export function loadModule(module: Module, path: string): void {
  const reader = SafetensorsReader.open(path);
  try {
    const params = new Map(module.namedParameters());
    const names = new Set(reader.names);
    const missing = [...params.keys()].filter((k) => !names.has(k));
    const unexpected = [...names].filter((k) => !params.has(k));
    const misshaped: string[] = [];
    for (const e of reader.entries) {
      const p = params.get(e.name);
      if (p !== undefined && !sameShape(e.shape, p.shape)) misshaped.push(`${e.name}: file ${fmtShape(e.shape)} vs model ${fmtShape(p.shape)}`);
    }
    const problems = [
      misshaped.length > 0 ? `mis-shaped: ${misshaped.join('; ')}` : '',
      missing.length > 0 ? `missing: ${missing.join(', ')}` : '',
      unexpected.length > 0 ? `unexpected: ${unexpected.join(', ')}` : '',
    ].filter((s) => s !== '');
    if (problems.length > 0) throw checkpointError(`${path} does not fit the model (${problems.join(' | ')})`);
    for (const [name, p] of params) {
      const arr = reader.read(name);
      if (arr.dtype !== p.dtype) throw checkpointError(`${path}: ${name} is ${arr.dtype}, the model expects ${p.dtype}`);
      p.assign(arr.data);
    }
  } finally {
    reader.close();
  }
}
