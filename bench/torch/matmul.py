"""Peer benchmark: float32 matrix multiply in PyTorch on the CPU.

    python3 bench/torch/matmul.py --sizes 256,512,1024,2048 --extra 32x1280x1280 --threads 2 --repeats 10

Prints one JSON line: {"torch_version", "threads", "results": [{"m", "k", "n", "ms", "gflops"}, ...]}.
Each shape is timed as warm-up runs followed by the median of --repeats timed runs of
torch.matmul((m, k), (k, n)); gflops = 2*m*k*n / median seconds / 1e9.
"""

import argparse
import json
import statistics
import time

import torch


def parse_shapes(sizes, extra):
    """Square sizes "256,512" and explicit "MxKxN" shapes, in the order given."""
    shapes = [(int(s), int(s), int(s)) for s in sizes.split(",") if s.strip()]
    for spec in (extra or "").split(","):
        if not spec.strip():
            continue
        parts = spec.lower().split("x")
        if len(parts) != 3:
            raise SystemExit(f"--extra: expected MxKxN, got {spec!r}")
        m, k, n = (int(p) for p in parts)
        shapes.append((m, k, n))
    return shapes


def time_matmul(m, k, n, repeats, warmup):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen, dtype=torch.float32)
    b = torch.randn(k, n, generator=gen, dtype=torch.float32)
    out = torch.empty(m, n, dtype=torch.float32)
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b, out=out)  # (m, k) @ (k, n) -> (m, n)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    best = min(times)
    flops = 2.0 * m * k * n
    return {"m": m, "k": k, "n": n, "ms": seconds * 1e3, "gflops": flops / seconds / 1e9, "best_ms": best * 1e3, "gflops_best": flops / best / 1e9}


def main():
    parser = argparse.ArgumentParser(description="Time float32 torch.matmul on the CPU.")
    parser.add_argument("--sizes", default="256,512,1024,2048", help="comma-separated square sizes")
    parser.add_argument("--extra", default="32x1280x1280", help="comma-separated MxKxN shapes")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per shape (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per shape")
    args = parser.parse_args()

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    results = [time_matmul(m, k, n, args.repeats, args.warmup) for m, k, n in parse_shapes(args.sizes, args.extra)]
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
