/**
 * Gradient recording mode. Inside `noGrad(fn)` new nodes never require gradients, so no
 * gradient nodes are built for them (used for evaluation and optimizer updates).
 */
let depth = 0;

/** True unless inside a `noGrad` scope. */
export function gradEnabled(): boolean {
  return depth === 0;
}

/** Runs `fn` with gradient recording off; nests and restores on throw. */
export function noGrad<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}
