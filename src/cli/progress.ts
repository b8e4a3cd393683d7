import cliProgress from 'cli-progress';

/** A progress bar on stderr (only on a TTY unless forced; silent bars cost nothing). */
export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/** Creates a bar with a label and a payload format (e.g. `loss {loss}`). */
export function progressBar(label: string, total: number, payloadFormat = '', enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {eta_formatted}${payloadFormat === '' ? '' : ` | ${payloadFormat}`}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, {});
  return {
    update: (v, p) => bar.update(v, p ?? {}),
    stop: () => bar.stop(),
  };
}
