import { createHash } from 'node:crypto';

/**
 * Output file names from FASTA labels. fair-esm writes `<label>.pt` as is (a `/` in a label makes
 * sub-directories); here a label that is already a safe, portable file name is kept unchanged, and
 * any other gets its unsafe characters replaced and a short hash of the full label appended, so
 * distinct labels never share a file, on any machine or shard.
 */

const UNSAFE = /[\x00-\x1f\x7f/\\:*?"<>|]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Bytes kept of the label; leaves room for the hash, the extension and the temp-file prefix within 255. */
const MAX_STEM_BYTES = 180;

/** True when `label` can be used as a file stem as it is. */
export function isSafeStem(label: string): boolean {
  if (label === '' || label === '.' || label === '..') return false;
  if (label.startsWith('.') || label.endsWith('.') || label.endsWith(' ') || label.startsWith(' ')) return false;
  if (WINDOWS_RESERVED.test(label)) return false;
  UNSAFE.lastIndex = 0;
  if (UNSAFE.test(label)) return false;
  return Buffer.byteLength(label, 'utf8') <= MAX_STEM_BYTES;
}

/** The file stem for a label: the label itself when safe, else a sanitised prefix plus `~` and 10 hex digits of its SHA-1. */
export function fileStem(label: string): string {
  if (isSafeStem(label)) return label;
  let safe = label.replace(UNSAFE, '_').replace(/^[. ]+|[. ]+$/g, (m) => '_'.repeat(m.length));
  const chars = Array.from(safe);
  while (Buffer.byteLength(chars.join(''), 'utf8') > MAX_STEM_BYTES - 11) chars.pop();
  safe = chars.join('');
  const hash = createHash('sha1').update(label, 'utf8').digest('hex').slice(0, 10);
  return `${safe}~${hash}`;
}
