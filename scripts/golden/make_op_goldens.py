"""Generate the op golden fixtures tests/fixtures/golden/ties.json and primitives.json with PyTorch.

Run from the repository root with a Python that has torch:

    /usr/bin/python3 scripts/golden/make_op_goldens.py [--out tests/fixtures/golden]

Each fixture holds named cases. A case is a PyTorch expression over named inputs; the fixture
stores the inputs, the output, an upstream weight w of the output's shape, and the gradient of
sum(out * w) with respect to every float input (computed by torch.autograd in float64). Float
inputs and weights are float32-representable, so the float32 engine sees exactly the same
values; exact ties stay exact. tests/ops/ties.test.ts and tests/ops/primitive-goldens.test.ts
build the same expression with protdistil's ops (the TypeScript side of each case is written
beside its name there) and compare output and gradients.

ties.json: maximum/minimum, amax/amin and max/min over all elements, clamp and relu on inputs
with exact ties, checked against PyTorch's rules at ties (maximum/minimum split the gradient
evenly between equal operands; amax/amin and the all-element max/min share it evenly among
tied extrema; clamp passes it through at x == min and x == max; relu passes none at 0).

primitives.json: at least one case per primitive op kind, so every primitive's forward and
gradient is checked against PyTorch and not only against our own float64 reference kernels.
"""

import argparse
import os

import torch
import torch.nn.functional as F

from make_golden import write_fixture

DTYPE = torch.float64


def f32(t):
    """Rounds to the nearest float32 and back, so the float32 engine sees the same values."""
    return t.float().to(DTYPE)


class Cases:
    """Collects cases; inputs drawn from one seeded generator in declaration order."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.cases = {}

    def randn(self, *shape):
        return f32(torch.randn(tuple(shape), generator=self.gen, dtype=DTYPE))

    def positive(self, *shape):
        return f32(torch.randn(tuple(shape), generator=self.gen, dtype=DTYPE).abs() + 0.5)

    def add(self, name, inputs, fn, no_grad=()):
        """inputs: name -> tensor (float64 or int64); fn(**inputs) -> output tensor."""
        leaves = {}
        for k, v in inputs.items():
            v = torch.as_tensor(v)
            if v.is_floating_point():
                v = f32(v.to(DTYPE)).requires_grad_(k not in no_grad)
            leaves[k] = v
        out = fn(**leaves)
        w = self.randn(*out.shape)
        wrt = [k for k, v in leaves.items() if v.is_floating_point() and v.requires_grad]
        grads = torch.autograd.grad((out * w).sum(), [leaves[k] for k in wrt], allow_unused=True)
        self.cases[name] = {
            "inputs": {k: v.detach() for k, v in leaves.items()},
            "dtypes": {k: ("float32" if v.is_floating_point() else "int64") for k, v in leaves.items()},
            "out": out.detach(),
            "w": w,
            "grads": {k: (g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(wrt, grads)},
        }


def make_ties():
    c = Cases(11)
    # maximum / minimum: ties inside one operand and across operands, with broadcasting.
    a = torch.tensor([[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, -0.5, 0.25], [0.5, 3.0, -0.5, -2.0]], dtype=DTYPE)
    b = torch.tensor([0.5, 1.0, -0.5, 0.25], dtype=DTYPE)
    c.add("maximum ties broadcast", {"a": a, "b": b}, lambda a, b: torch.maximum(a, b))
    col = torch.tensor([[1.0], [-0.5], [0.5]], dtype=DTYPE)
    c.add("minimum ties broadcast", {"a": a, "b": col}, lambda a, b: torch.minimum(a, b))
    c.add("maximum with a scalar at ties", {"x": torch.tensor([-1.0, 0.0, 2.0, 0.0, 0.5], dtype=DTYPE)},
          lambda x: torch.maximum(x, torch.zeros((), dtype=DTYPE)))
    c.add("relu at zero", {"x": torch.tensor([-1.0, 0.0, 2.0, 0.0, 0.5], dtype=DTYPE)}, lambda x: torch.relu(x))
    # Reductions: two- and three-way ties, a constant row.
    r = torch.tensor([[1.0, 3.0, 3.0, -2.0, 0.0], [2.0, 2.0, 2.0, 1.0, 2.0], [-1.0, -1.0, -1.0, -1.0, -1.0]], dtype=DTYPE)
    c.add("amax dim 1 with ties", {"x": r}, lambda x: torch.amax(x, dim=1))
    m = torch.tensor([[1.0, -2.0, 3.0, -2.0, 0.0], [2.0, 0.5, 0.5, 4.0, 1.0], [-1.0, -1.0, -1.0, -1.0, -1.0]], dtype=DTYPE)
    c.add("amin dim 1 with ties", {"x": m}, lambda x: torch.amin(x, dim=1))
    c.add("max of all elements with ties", {"x": r}, lambda x: torch.max(x))
    c.add("min of all elements with ties", {"x": m}, lambda x: torch.min(x))
    t3 = torch.tensor([[[1.0, 2.0, 2.0, 0.0], [2.0, -1.0, 0.5, 2.0], [0.0, 0.0, 0.0, 0.0]],
                       [[2.0, 1.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5], [0.0, -3.0, 0.0, 1.0]]], dtype=DTYPE)
    c.add("amax dims 0,2 keepdim with ties", {"x": t3}, lambda x: torch.amax(x, dim=(0, 2), keepdim=True))
    # clamp: values exactly at the bounds.
    cx = torch.tensor([[-1.0, -0.5, 0.0, 0.25], [1.0, 1.5, -0.5, 1.0]], dtype=DTYPE)
    c.add("clamp at both bounds", {"x": cx}, lambda x: torch.clamp(x, -0.5, 1.0))
    c.add("clamp min at the bound", {"x": cx}, lambda x: torch.clamp(x, min=0.0))
    c.add("clamp max at the bound", {"x": cx}, lambda x: torch.clamp(x, max=0.25))
    return {
        "description": (
            "float64 PyTorch values of ops at exact ties; per case: inputs, out, w (torch.randn, "
            "torch.Generator().manual_seed(11), rounded to float32, in case order) and grads = "
            "gradient of sum(out * w) for every float input."
        ),
        "cases": c.cases,
    }


def make_primitives():
    c = Cases(12)
    x23, y23 = c.randn(2, 3), c.randn(2, 3)
    c.add("add sub mul div broadcast", {"a": x23, "b": c.randn(3), "c": c.randn(2, 1), "d": c.positive(2, 3)},
          lambda a, b, c, d: (a + b) * c - a / d)
    c.add("pow tensor and constant exponent", {"a": c.positive(2, 3), "b": c.randn(2, 3)}, lambda a, b: a ** b + a ** 3)
    c.add("maximum minimum", {"a": x23, "b": y23}, lambda a, b: torch.maximum(a, b) * 2 + torch.minimum(a, b))
    p = c.positive(7)
    n = c.randn(7)
    for name, fn, src in [
        ("neg", torch.neg, n), ("exp", torch.exp, n), ("log", torch.log, p), ("sqrt", torch.sqrt, p),
        ("rsqrt", torch.rsqrt, p), ("reciprocal", torch.reciprocal, p), ("tanh", torch.tanh, n),
        ("erf", torch.erf, n), ("abs", torch.abs, n), ("sigmoid", torch.sigmoid, n),
    ]:
        c.add(name, {"x": src}, fn)
    c.add("sign times x", {"x": n}, lambda x: torch.sign(x) * x)
    # Comparisons and logic ops choose branches of where; exact equalities at two positions.
    xa = torch.tensor([0.5, -1.5, 2.0, 0.25, -0.75, 1.25, 3.0, -2.0], dtype=DTYPE)
    xb = torch.tensor([0.5, 1.0, -1.0, 0.25, 0.5, 1.5, 2.0, -3.0], dtype=DTYPE)
    c.add(
        "comparisons and logic select with where",
        {"x": xa, "y": xb},
        lambda x, y: torch.where(((x < y) | (x > 1.0)) & ~(x <= -1.0), x * y, y - x)
        + torch.where(x == y, x, torch.zeros((), dtype=DTYPE))
        + torch.where(x >= y, 2.0 * x, y),
    )
    c.add("bool to float cast scales", {"x": xa, "y": xb}, lambda x, y: (x > 0).to(DTYPE) * y)
    c.add("float to float cast", {"x": x23}, lambda x: x.to(DTYPE) * 3.0)
    s = c.randn(2, 3, 4)
    c.add("sum axes 0,2", {"x": s}, lambda x: x.sum(dim=(0, 2)))
    c.add("sum all", {"x": s}, lambda x: x.sum())
    c.add("mean axis 1 keepdim", {"x": s}, lambda x: x.mean(dim=1, keepdim=True))
    c.add("amax axis 2 without ties", {"x": s}, lambda x: torch.amax(x, dim=2))
    c.add("matmul batched broadcast", {"a": c.randn(2, 1, 3, 4), "b": c.randn(3, 4, 5)}, lambda a, b: a @ b)
    c.add("reshape", {"x": s}, lambda x: x.reshape(4, 6) * torch.arange(6, dtype=DTYPE))
    c.add("transpose", {"x": s}, lambda x: x.permute(2, 0, 1) * torch.arange(3, dtype=DTYPE))
    c.add("slice", {"x": c.randn(4, 5)}, lambda x: x[1:3, 1:4])
    c.add("slice to a reference length", {"x": c.randn(6, 4), "r": c.randn(2, 3)}, lambda x, r: x[: r.shape[1]], no_grad=("r",))
    c.add("pad", {"x": x23}, lambda x: F.pad(x, (0, 2, 1, 0)) * torch.arange(15, dtype=DTYPE).reshape(3, 5))
    c.add("concat", {"a": x23, "b": c.randn(2, 1), "d": c.randn(2, 2)}, lambda a, b, d: torch.cat([a, b, d], dim=1))
    c.add("expand", {"x": c.randn(3, 1)}, lambda x: x.expand(2, 3, 4) * torch.arange(24, dtype=DTYPE).reshape(2, 3, 4))
    idx = torch.tensor([[3, 1], [1, 0]], dtype=torch.int64)
    c.add("gather axis 1 with repeats", {"x": c.randn(2, 4, 3), "idx": idx}, lambda x, idx: x[:, idx])
    c.add(
        "scatterAdd rows with repeats",
        {"base": c.randn(4, 2), "idx": torch.tensor([1, 3, 1], dtype=torch.int64), "u": c.randn(3, 2)},
        lambda base, idx, u: base.index_add(0, idx, u),
    )
    c.add("softmax axis 0", {"x": c.randn(3, 5)}, lambda x: F.softmax(x, dim=0))
    c.add("logSoftmax last", {"x": c.randn(2, 3, 4)}, lambda x: F.log_softmax(x, dim=-1))
    c.add(
        "layerNorm",
        {"x": c.randn(2, 3, 6), "gamma": c.randn(6), "beta": c.randn(6)},
        lambda x, gamma, beta: F.layer_norm(x, (6,), gamma, beta, 1e-5),
    )
    c.add("gelu exact", {"x": c.randn(11)}, lambda x: F.gelu(x))
    return {
        "description": (
            "float64 PyTorch values, at least one case per protdistil primitive; inputs and w drawn "
            "with torch.randn (positive: |randn| + 0.5) from torch.Generator().manual_seed(12) in "
            "case order, rounded to float32; grads = gradient of sum(out * w) for every float input "
            "(zeros where no gradient flows)."
        ),
        "cases": c.cases,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("tests", "fixtures", "golden"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    meta = {"generator": "scripts/golden/make_op_goldens.py", "torch_version": torch.__version__}
    for name, build in {"ties.json": make_ties, "primitives.json": make_primitives}.items():
        body = build()
        write_fixture(args.out, name, {"description": body.pop("description"), **meta, **body})


if __name__ == "__main__":
    main()
