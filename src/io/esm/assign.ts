import { checkpointError } from '../../errors.js';
import type { EsmModel } from '../../models/esm/model.js';
import type { Parameter } from '../../nn/module.js';
import type { HostArray } from '../../tensor/host-array.js';
import { fmtShape, sameShape } from '../../tensor/shape.js';
import { FAIR_TIED_DECODER, fairInvFreqName, toFairEsmName } from './names.js';

/**
 * Strict weight assignment shared by the ESM loaders. Each format lists what it offers under
 * fair-esm names; every missing, unexpected and mis-shaped tensor is reported in one error (in
 * the file's own key names) before anything is read, then tensors are read and assigned one at a
 * time, so loading holds the model plus at most one tensor in flight.
 */

/** One tensor a checkpoint offers. */
export interface OfferedTensor {
  /** fair-esm key (after prefix upgrade / renaming). */
  readonly name: string;
  /** The key as the file spells it, for messages. */
  readonly fileKey: string;
  readonly shape: readonly number[];
  /** True for floating-point storage (float16/bfloat16/float64 are converted to float32 on read). */
  readonly isFloat: boolean;
  read(): HostArray;
}

/** What a format requires beyond the model's parameters. */
export interface AssignOptions {
  /** The checkpoint, for messages. */
  readonly path: string;
  /** fair-esm stores the tied decoder as `lm_head.weight`; Hugging Face may omit it. */
  readonly requireTiedDecoder: boolean;
  /** fair-esm ESM-2 state dicts must carry every layer's `rot_emb.inv_freq`. */
  readonly requireInvFreq: boolean;
  /** How the missing contact regression should be explained, when it is missing. */
  readonly contactHint?: string;
}

interface Slot {
  readonly shape: readonly number[];
  readonly kind: 'param' | 'invFreq' | 'tied';
  readonly required: boolean;
  put(a: HostArray): void;
}

/** Fills `model` from `offered`; throws one `checkpoint` error listing every problem. */
export function assignEsmWeights(model: EsmModel, offered: readonly OfferedTensor[], opts: AssignOptions): void {
  const cfg = model.config;
  const slots = new Map<string, Slot>();
  for (const [name, p] of model.namedParameters()) {
    slots.set(toFairEsmName(name), { shape: p.shape, kind: 'param', required: true, put: (a) => p.assign(a.data) });
  }
  const embed = model.embedTokens.weight;
  slots.set(FAIR_TIED_DECODER, {
    shape: embed.shape,
    kind: 'tied',
    required: opts.requireTiedDecoder,
    put: (a) => checkTied(opts.path, embed, a),
  });
  if (cfg.arch === 'esm2') {
    model.layers.forEach((layer, i) => {
      const attn = layer.selfAttn;
      slots.set(fairInvFreqName(i), {
        shape: [attn.embedDim / attn.heads / 2],
        kind: 'invFreq',
        required: opts.requireInvFreq,
        put: (a) => attn.setInvFreq(Float32Array.from(a.data as Float32Array)),
      });
    });
  }

  const byName = new Map<string, OfferedTensor>();
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  const duplicated: string[] = [];
  for (const t of offered) {
    const slot = slots.get(t.name);
    if (slot === undefined) {
      unexpected.push(t.fileKey);
      continue;
    }
    const prev = byName.get(t.name);
    if (prev !== undefined) {
      duplicated.push(`${prev.fileKey} and ${t.fileKey}`);
      continue;
    }
    byName.set(t.name, t);
    if (!sameShape(t.shape, slot.shape) || !t.isFloat) {
      misshaped.push(`${t.fileKey}: file ${t.isFloat ? '' : 'non-float '}${fmtShape(t.shape)}, model ${fmtShape(slot.shape)}`);
    }
  }
  const missing = [...slots].filter(([name, s]) => s.required && !byName.has(name)).map(([name]) => name);
  const problems: string[] = [];
  if (missing.length > 0) {
    const contact = missing.some((n) => n.startsWith('contact_head.')) && opts.contactHint !== undefined ? ` (${opts.contactHint})` : '';
    problems.push(`missing ${missing.length}: ${missing.join(', ')}${contact}`);
  }
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
  if (misshaped.length > 0) problems.push(`mis-shaped ${misshaped.length}: ${misshaped.join('; ')}`);
  if (duplicated.length > 0) problems.push(`given twice: ${duplicated.join('; ')}`);
  if (problems.length > 0) {
    throw checkpointError(`${opts.path} does not fit ${describeModel(model)} (${problems.join(' | ')})`);
  }
  // Parameters first, so the tied decoder is compared against the loaded embedding.
  const order = [...byName].sort(([a], [b]) => rank(slots.get(a) as Slot) - rank(slots.get(b) as Slot));
  for (const [name, t] of order) {
    let a: HostArray;
    try {
      a = t.read();
    } catch (e) {
      throw checkpointError(`${opts.path}: cannot read ${t.fileKey}: ${(e as Error).message}`, e);
    }
    if (a.dtype !== 'float32') throw checkpointError(`${opts.path}: ${t.fileKey} is ${a.dtype}, expected floating point`);
    (slots.get(name) as Slot).put(a);
  }
}

const rank = (s: Slot): number => (s.kind === 'tied' ? 1 : 0);

/** A short description of the model a checkpoint is loaded into, for error messages. */
export function describeModel(model: EsmModel): string {
  const c = model.config;
  return `an ${c.arch === 'esm2' ? 'ESM-2' : 'ESM-1b'} model with ${c.numLayers} layers, embed dim ${c.embedDim}, ${c.attentionHeads} heads, FFN ${c.ffnDim}`;
}

/** The stored decoder must equal the embedding it is tied to. */
function checkTied(path: string, embed: Parameter, decoder: HostArray): void {
  const e = embed.node.realized as Float32Array;
  const d = decoder.data as Float32Array;
  for (let i = 0; i < e.length; i++) {
    if (e[i] !== d[i] && !(Number.isNaN(e[i]) && Number.isNaN(d[i]))) {
      const [, dim] = embed.shape as [number, number];
      throw checkpointError(
        `${path}: the LM decoder differs from the token embedding it is tied to in ESM (first at row ${Math.floor(i / dim)}, column ${i % dim}: ${d[i]} vs ${e[i]})`,
      );
    }
  }
}

/** Zeroes the `<mask>` row of the ESM-1b token embedding, as fair-esm's loader does (spec §5; idempotent). */
export function zeroMaskEmbedding(model: EsmModel): void {
  const w = model.embedTokens.weight;
  const [, dim] = w.shape as [number, number];
  const data = w.node.realized as Float32Array;
  data.fill(0, model.config.maskIdx * dim, (model.config.maskIdx + 1) * dim);
}
