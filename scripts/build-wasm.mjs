// Assembles every WebAssembly text module under src/ (*.wat) into dist/src/ (*.wasm), next to the
// compiled JavaScript that loads it. Run by the build, prepare and test scripts after tsc.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wabt = await initWabt();
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.wat') ? [join(dir, e.name)] : []));
for (const file of walk(join(root, 'src'))) {
  const mod = wabt.parseWat(file, readFileSync(file, 'utf8'), { simd: true });
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  const out = join(root, 'dist', relative(root, file)).replace(/\.wat$/, '.wasm');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, buffer);
}
