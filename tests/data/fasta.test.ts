import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FastaParser, parseFasta, readFasta, readFastaAll, type FastaRecord } from '../../src/data/fasta.js';
import { isProtdistilError } from '../../src/errors.js';
import { readFixtureJson } from './fixtures.js';

const fx = readFixtureJson<{ fasta: { text: string; labels: string[]; sequences: string[] } }>('tokenization.json').fasta;
const dir = mkdtempSync(join(tmpdir(), 'protdistil-fasta-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const pairs = (recs: readonly FastaRecord[]): [string, string][] => recs.map((r) => [r.label, r.sequence]);

async function rejectsWith(p: Promise<unknown>, code: 'data' | 'io' | 'config', ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isProtdistilError(e, code), `expected a ${code} error, got ${String(e)}`);
    for (const part of parts) assert.ok(e.message.includes(part), `${JSON.stringify(part)} not in: ${e.message}`);
    return true;
  });
}

test('fair-esm fixture: multi-line records, empty label -> seqnum + header line index, stripped labels', async () => {
  const want = fx.labels.map((l, i): [string, string] => [l, fx.sequences[i] as string]);
  assert.deepEqual(pairs(parseFasta(fx.text)), want);
  assert.deepEqual(pairs(await readFastaAll(write('fixture.fa', fx.text))), want);
  assert.ok(want.some(([l]) => l === 'seqnum000000003'));
});

test('records carry their 0-based index and 1-based header line', async () => {
  const recs = await readFastaAll(write('idx.fa', fx.text));
  assert.deepEqual(recs.map((r) => [r.index, r.line]), [[0, 1], [1, 4], [2, 6], [3, 9]]);
});

test('CRLF and lone CR files parse like LF files, line indices included', async () => {
  for (const eol of ['\r\n', '\r']) {
    const text = fx.text.replace(/\n/g, eol);
    assert.deepEqual(pairs(await readFastaAll(write(`eol${eol.length}.fa`, text))), pairs(parseFasta(fx.text)));
  }
});

test('gzip input, detected by magic bytes whatever the name', async () => {
  const want = pairs(parseFasta(fx.text));
  assert.deepEqual(pairs(await readFastaAll(write('in.fa.gz', gzipSync(fx.text)))), want);
  assert.deepEqual(pairs(await readFastaAll(write('in_gz_without_suffix.fa', gzipSync(fx.text)))), want);
});

test('empty label is named from the header line index, counting blank lines', () => {
  const recs = parseFasta('\n\n>\nMK\n>  \t\n\nA\n');
  assert.deepEqual(pairs(recs), [['seqnum000000002', 'MK'], ['seqnum000000004', 'A']]);
  const lines = Array.from({ length: 1_234_567 }, () => '').join('\n');
  assert.equal(parseFasta(`${lines}\n>\nM`)[0]?.label, 'seqnum001234567');
});

test('sequence lines are stripped at the ends (inner spaces kept, as fair-esm) and joined; a header alone gives an empty sequence', () => {
  assert.deepEqual(pairs(parseFasta('>a b \n  MK V \n\n\tLL\n>c\n>d\nW')), [['a b', 'MK VLL'], ['c', ''], ['d', 'W']]);
});

test('duplicate labels are rejected naming the label, both record numbers and the line', async () => {
  const text = '>x\nMK\n>y\nA\n>z\nA\n>y\nV\n';
  await rejectsWith(readFastaAll(write('dup.fa', text)), 'data', 'dup.fa', 'line 7', 'duplicate label "y"', 'record 3', 'record 1');
  assert.throws(() => parseFasta('>\nA\n>seqnum000000000\nM', 'dups.fa'), /duplicate label "seqnum000000000"/);
  assert.equal(parseFasta(text, 't', { checkDuplicates: false }).length, 4);
});

test('sequence data before the first header is an error naming file and line', async () => {
  await rejectsWith(readFastaAll(write('nohead.fa', '\nMKV\n>a\nL\n')), 'data', 'nohead.fa', 'line 2', 'before the first');
  assert.deepEqual(pairs(parseFasta('\n \n>a\nL\n')), [['a', 'L']]);
});

test('empty and blank files are errors naming the file', async () => {
  await rejectsWith(readFastaAll(write('empty.fa', '')), 'data', 'empty.fa', 'empty');
  await rejectsWith(readFastaAll(write('empty.fa.gz', gzipSync(''))), 'data', 'empty.fa.gz', 'empty');
  await rejectsWith(readFastaAll(write('blank.fa', '\n  \n')), 'data', 'blank.fa', 'no FASTA records');
});

test('binary garbage and non-UTF-8 bytes are errors naming file and line', async () => {
  const garbage = Buffer.from([0x3e, 0x61, 0x0a, 0x4d, 0x4b, 0x0a, 0x00, 0x01, 0x02, 0x9c, 0x0a]);
  await rejectsWith(readFastaAll(write('garbage.bin', garbage)), 'data', 'garbage.bin', 'line 3', '0x00', 'column 1');
  await rejectsWith(readFastaAll(write('latin1.fa', Buffer.from([0x3e, 0x61, 0x0a, 0x4d, 0xe9, 0x0a]))), 'data', 'latin1.fa', 'line 2', 'not UTF-8');
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  await rejectsWith(readFastaAll(write('image.png', png)), 'data', 'image.png', 'line 1');
});

test('a record range yields only records start <= index < end', async () => {
  const text = Array.from({ length: 10 }, (_, i) => `>r${i}\nM`).join('\n');
  const p = write('range.fa', text);
  assert.deepEqual((await readFastaAll(p, { start: 3, end: 6 })).map((r) => r.label), ['r3', 'r4', 'r5']);
  assert.deepEqual((await readFastaAll(p, { start: 8 })).map((r) => r.label), ['r8', 'r9']);
  assert.deepEqual(parseFasta(text, 't', { start: 9, end: 20 }).map((r) => r.label), ['r9']);
  await rejectsWith(readFastaAll(p, { start: 5, end: 2 }), 'config', 'range.fa');
});

test('the parser state machine can be fed line by line', () => {
  const parser = new FastaParser('lines');
  assert.equal(parser.pushLine('>a'), undefined);
  assert.equal(parser.pushLine('MK'), undefined);
  assert.deepEqual(parser.pushLine('>b'), { label: 'a', sequence: 'MK', index: 0, line: 1 });
  assert.deepEqual(parser.finish(), { label: 'b', sequence: '', index: 1, line: 3 });
  assert.equal(parser.lines, 3);
});

test('200k records stream from a file through the async iterator', async () => {
  const p = join(dir, 'big.fa');
  const N = 200_000;
  writeFileSync(p, '');
  for (let i0 = 0; i0 < N; i0 += 10_000) {
    const part: string[] = [];
    for (let i = i0; i < i0 + 10_000; i++) part.push(`>p${i} protein ${i}\n${'MKV'.repeat(1 + (i % 20))}\n${'LA'.repeat(i % 7)}\n`);
    appendFileSync(p, part.join(''));
  }
  let n = 0;
  let residues = 0;
  for await (const rec of readFasta(p)) {
    if (rec.index !== n || rec.label !== `p${n} protein ${n}`) assert.fail(`record ${n}: ${rec.index} ${rec.label}`);
    residues += rec.sequence.length;
    n++;
  }
  assert.equal(n, N);
  let want = 0;
  for (let i = 0; i < N; i++) want += 3 * (1 + (i % 20)) + 2 * (i % 7);
  assert.equal(residues, want);
});

test('records are parsed as the consumer pulls them, not after reading everything', async () => {
  let produced = 0;
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 1_000_000; i++) {
      produced++;
      yield Buffer.from(`>s${i}\nMKV\nLL\n`);
    }
  }
  let got = 0;
  for await (const rec of readFasta(source(), { name: 'generated' })) {
    assert.equal(rec.sequence, 'MKVLL');
    if (++got === 1000) break;
  }
  assert.ok(produced < 2000, `read ahead only a little (${produced} chunks for 1000 records)`);
});
