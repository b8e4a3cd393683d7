import { parentPort } from 'node:worker_threads';
import { symmetricEigen } from './symmetric-eigen.js';

/**
 * Worker-thread entry of `symmetricEigenInWorker`: receives a symmetric matrix (transferred, not
 * copied), decomposes it with `symmetricEigen` and transfers the result back.
 */
interface Request {
  readonly n: number;
  readonly data: Float64Array;
  readonly vectors: number;
}

parentPort?.on('message', (req: Request) => {
  try {
    const r = symmetricEigen({ rows: req.n, cols: req.n, data: req.data }, { vectors: req.vectors });
    parentPort?.postMessage({ ok: true, values: r.values, vectors: r.vectors.data, cols: r.vectors.cols }, [r.values.buffer as ArrayBuffer, r.vectors.data.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
