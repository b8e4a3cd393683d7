#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { parseIntFlag } from './flags.js';
import { setConcurrentMarking } from '../runtime/gc-mode.js';
import { configureRuntime } from '../runtime/program.js';
import { registerCompress } from './compress.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerExtract } from './extract.js';
import { registerLabel } from './label.js';
import { registerRank } from './rank.js';
import { registerTrain } from './train.js';
import { reportFatal } from './errors.js';
import { packageVersion } from '../version.js';

/** The `protdistil` command line: one file per command under src/cli/. */
async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('protdistil')
    .description('make protein language models small and fast (low-rank compression, ESM distillation) on ONNX Runtime')
    .version(packageVersion())
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores, or PROTDISTIL_THREADS)')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.hook('preAction', (cmd) => {
    const o = cmd.opts<{ threads?: string }>();
    if (o.threads !== undefined) configureRuntime({ threads: parseIntFlag('--threads', o.threads, 1, 1024) });
  });
  registerDemo(program);
  registerEval(program);
  registerExtract(program);
  registerLabel(program);
  registerRank(program);
  registerTrain(program);
  registerCompress(program);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const debug = argv.includes('--debug') || process.env.PROTDISTIL_DEBUG === '1';
    return reportFatal(e, debug);
  }
}

// Major-GC marking on the main thread: its helper threads would compete with ONNX Runtime for the
// cores (see runtime/gc-mode.ts; PROTDISTIL_CONCURRENT_MARKING=1 keeps V8's default).
if (process.env.PROTDISTIL_CONCURRENT_MARKING !== '1') setConcurrentMarking(false);

process.exitCode = await main(process.argv);
