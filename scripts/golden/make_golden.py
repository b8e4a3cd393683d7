"""Generate the golden fixtures in tests/fixtures/golden/ with PyTorch (float64).

Run from the repository root with a Python that has torch and numpy:

    python3 scripts/golden/make_golden.py [--out tests/fixtures/golden]

Every fixture is deterministic: each file seeds its own torch.Generator, so
re-running the script reproduces the committed JSON byte for byte on the same
torch version. Floats are written with Python's repr (shortest round-trip
form of the float64 value); NaN and infinities are refused.
"""

import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

DTYPE = torch.float64


# ---------------------------------------------------------------------------
# JSON helpers


def to_plain(value):
    """Turn tensors (and containers of them) into nested Python lists/floats."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def shape_of(value):
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [len(value)] + (shape_of(value[0]) if value else [])
    return []


def shapes_of(entries, prefix=""):
    """Shape of every array-valued entry, keyed by its name; nested entries as "outer.inner"."""
    shapes = {}
    for k, v in entries.items():
        if isinstance(v, dict) and k != "shapes":
            shapes.update(shapes_of(v, f"{prefix}{k}."))
        elif isinstance(v, (torch.Tensor, list)):
            shapes[prefix + k] = shape_of(v)
    return shapes


def dumps(obj, indent=0):
    """Dicts are indented one key per line; lists and scalars stay on one line."""
    if isinstance(obj, dict):
        pad = "  " * (indent + 1)
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))


def write_fixture(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    text = dumps(to_plain(obj)) + "\n"
    json.loads(text)  # the output must parse back
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} ({len(text)} bytes)")


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=DTYPE)


# ---------------------------------------------------------------------------
# 1. optimizers and LR schedules


def cosine_with_warmup(warmup, total):
    """Hugging Face get_cosine_schedule_with_warmup multiplier (num_cycles = 0.5)."""

    def factor(k):
        if k < warmup:
            return k / max(1, warmup)
        progress = (k - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return factor


def linear_with_warmup(warmup, total):
    """Hugging Face get_linear_schedule_with_warmup multiplier."""

    def factor(k):
        if k < warmup:
            return k / max(1, warmup)
        return max(0.0, (total - k) / max(1, total - warmup))

    return factor


def run_trajectory(W0, b0, x, y, make_opt, schedule, steps, max_norm=None):
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    params = [W, b]
    opt = make_opt(params)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule else None
    rec = {"lr": [], "loss": [], "grad_W": [], "grad_b": [], "W": [], "b": []}
    if max_norm is not None:
        rec["grad_norm"] = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ W + b - y) ** 2).mean()  # (N, Din) @ (Din, Dout) -> (N, Dout)
        loss.backward()
        rec["grad_W"].append(W.grad.clone())
        rec["grad_b"].append(b.grad.clone())
        if max_norm is not None:
            total = torch.nn.utils.clip_grad_norm_(params, max_norm=max_norm)
            rec["grad_norm"].append(float(total))
        rec["lr"].append(opt.param_groups[0]["lr"])
        rec["loss"].append(float(loss))
        opt.step()
        if sched is not None:
            sched.step()
        rec["W"].append(W.detach().clone())
        rec["b"].append(b.detach().clone())
    rec["W"] = torch.stack(rec["W"])
    rec["b"] = torch.stack(rec["b"])
    rec["grad_W"] = torch.stack(rec["grad_W"])
    rec["grad_b"] = torch.stack(rec["grad_b"])
    return rec


def make_optimizers():
    gen = torch.Generator().manual_seed(0)
    W0 = randn(gen, 4, 3)
    b0 = randn(gen, 3)
    x = randn(gen, 5, 4)
    y = randn(gen, 5, 3)
    steps, warmup, total = 8, 2, 8
    cosine = cosine_with_warmup(warmup, total)
    linear = linear_with_warmup(warmup, total)

    def adamw(params):
        return torch.optim.AdamW(params, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)

    def adam(params):
        return torch.optim.Adam(params, lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)

    def sgd(params):
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)

    step_loop = (
        "Each step k = 0..7: zero_grad; loss = mean((x @ W + b - y)^2) over all 5*3 elements; "
        "backward; [clip]; optimizer.step(); scheduler.step(). "
        "Per step: lr = param_groups[0]['lr'] used by that optimizer.step(); loss = loss before the update; "
        "grad_W, grad_b = raw gradients before any clipping; W, b = parameters after the update."
    )
    adamw_rule = (
        "torch 1.13 AdamW: p <- p * (1 - lr*wd); m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2; "
        "p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t = 1-based step count. "
    )
    out = {
        "description": (
            "Optimizer trajectories on a tiny least-squares problem, float64. "
            "W0 (4x3), b0 (3), x (5x4), y (5x3) are torch.randn from torch.Generator().manual_seed(0), "
            "drawn in that order. Every trajectory starts from W0, b0 and runs 8 steps; "
            "entries adamw, adamw_clip, adam, sgd each hold per-step lr (8), loss (8), grad_W (8x4x3), "
            "grad_b (8x3), W (8x4x3), b (8x3). " + step_loop
        ),
        "W0": W0,
        "b0": b0,
        "x": x,
        "y": y,
        "steps": steps,
        "warmup": warmup,
        "total": total,
    }
    out["adamw"] = {
        "description": (
            "torch.optim.AdamW(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1) with LambdaLR using the "
            "Hugging Face cosine-with-warmup multiplier f(k) = k/warmup for k < warmup, else "
            "0.5*(1 + cos(pi*(k - warmup)/(total - warmup))), warmup=2, total=8; lr used at step k is 0.1*f(k) "
            "(so step 0 has lr 0: weights unchanged but Adam moments updated). " + adamw_rule
        ),
        **run_trajectory(W0, b0, x, y, adamw, cosine, steps),
    }
    out["adamw_clip"] = {
        "description": (
            "Same as adamw, plus torch.nn.utils.clip_grad_norm_([W, b], max_norm=0.5) between backward and "
            "optimizer.step(). grad_norm = the returned total L2 norm over both gradients before clipping; "
            "torch 1.13 scales every gradient by min(1, max_norm / (grad_norm + 1e-6))."
        ),
        **run_trajectory(W0, b0, x, y, adamw, cosine, steps, max_norm=0.5),
    }
    out["adam"] = {
        "description": (
            "torch.optim.Adam(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), constant lr (no "
            "scheduler). Weight decay is L2-style: g <- g + wd*p before the moment updates; then the Adam "
            "update p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."
        ),
        **run_trajectory(W0, b0, x, y, adam, None, steps),
    }
    out["sgd"] = {
        "description": (
            "torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0, nesterov=False) with LambdaLR "
            "using the linear warmup/decay multiplier f(k) = k/warmup for k < warmup, else "
            "max(0, (total - k)/(total - warmup)), warmup=2, total=8. Update: g <- g + wd*p; buf <- g on the first "
            "step, else buf <- 0.9*buf + g; p <- p - lr*buf (the buffer is built at step 0 even though its lr is 0)."
        ),
        **run_trajectory(W0, b0, x, y, sgd, linear, steps),
    }
    out["shapes"] = shapes_of(out)
    return out


# ---------------------------------------------------------------------------
# 2. attention


def rotate_half(u):
    half = u.shape[-1] // 2
    return torch.cat([-u[..., half:], u[..., :half]], dim=-1)


def rotary_tables(T, D):
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, D, 2, dtype=DTYPE) / D))  # (D/2,)
    positions = torch.arange(T, dtype=DTYPE)  # (T,)
    freqs = torch.outer(positions, inv_freq)  # (T, D/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, D)
    return inv_freq, emb.cos(), emb.sin()


def padded_attention(q, k, v, lengths):
    B, H, T, D = q.shape
    key_pad = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]  # (B, T)
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)  # (B, H, T, D) @ (B, H, D, T) -> (B, H, T, T)
    scores = scores.masked_fill(key_pad[:, None, None, :], float("-inf"))
    p = torch.softmax(scores, dim=-1)
    out = p @ v  # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D)
    return out, p


def make_attention():
    gen = torch.Generator().manual_seed(1)
    B, H, T, D = 2, 2, 5, 4
    lengths = [5, 3]
    q = randn(gen, B, H, T, D)
    k = randn(gen, B, H, T, D)
    v = randn(gen, B, H, T, D)
    g = randn(gen, B, H, T, D)

    qa, ka, va = (t.clone().requires_grad_(True) for t in (q, k, v))
    out, p = padded_attention(qa, ka, va, lengths)
    dq, dk, dv = torch.autograd.grad((out * g).sum(), [qa, ka, va])

    inv_freq, cos, sin = rotary_tables(T, D)
    qb, kb, vb = (t.clone().requires_grad_(True) for t in (q, k, v))
    q_rot = qb * cos + rotate_half(qb) * sin  # (B, H, T, D) * (T, D)
    k_rot = kb * cos + rotate_half(kb) * sin
    out_r, p_r = padded_attention(q_rot, k_rot, vb, lengths)
    dq_r, dk_r, dv_r = torch.autograd.grad((out_r * g).sum(), [qb, kb, vb])

    common = (
        "Scaled dot-product attention, float64, B=2, H=2, T=5, D=4. q, k, v, g = torch.randn (in that order) from "
        "torch.Generator().manual_seed(1). Key padding: key positions u >= lengths[b] (lengths = [5, 3]) get "
        "score -inf via masked_fill before the softmax. scores = q @ k^T / sqrt(D); p = softmax(scores, -1) "
        "(padded keys get probability exactly 0; every query row, padded or not, is computed); out = p @ v. "
        "dq, dk, dv = vector-Jacobian product of sum(out * g). "
    )
    result = {
        "description": common + (
            "Entry attention_rotary: q and k are first rotated with rotary position embeddings "
            "(ESM-2 rotate-half convention): inv_freq = 1 / 10000^(arange(0, D, 2)/D), freqs[t, i] = t * inv_freq[i] "
            "for positions t = 0..T-1, emb = cat(freqs, freqs) (T x D), cos = cos(emb), sin = sin(emb), "
            "rotate_half(u) = cat(-u[..., D/2:], u[..., :D/2]), u_rot = u * cos + rotate_half(u) * sin; the same "
            "attention runs on q_rot, k_rot, v; its dq, dk are gradients with respect to the UNROTATED q, k."
        ),
        "lengths": lengths,
        "q": q,
        "k": k,
        "v": v,
        "g": g,
        "out": out,
        "p": p,
        "dq": dq,
        "dk": dk,
        "dv": dv,
    }
    result["attention_rotary"] = {
        "description": "Same q, k, v, g, lengths as the top level, with rotary embeddings on q and k (see top description).",
        "inv_freq": inv_freq,
        "cos": cos,
        "sin": sin,
        "q_rot": q_rot,
        "k_rot": k_rot,
        "out": out_r,
        "p": p_r,
        "dq": dq_r,
        "dk": dk_r,
        "dv": dv_r,
    }
    result["shapes"] = shapes_of(result)
    return result


# ---------------------------------------------------------------------------
# 3. layer norm, GELU, softmax


def make_layernorm():
    gen = torch.Generator().manual_seed(2)
    eps = 1e-5
    x = randn(gen, 3, 6)
    gamma = randn(gen, 6)
    beta = randn(gen, 6)
    g = randn(gen, 3, 6)
    xa, ga, ba = (t.clone().requires_grad_(True) for t in (x, gamma, beta))
    out = F.layer_norm(xa, (6,), ga, ba, eps)
    dx, dgamma, dbeta = torch.autograd.grad((out * g).sum(), [xa, ga, ba])

    gx = torch.tensor([-4.0, -2.5, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0], dtype=DTYPE)
    gxa = gx.clone().requires_grad_(True)
    gelu = F.gelu(gxa)  # approximate='none': x * 0.5 * (1 + erf(x / sqrt(2)))
    (dgelu,) = torch.autograd.grad(gelu.sum(), [gxa])

    s = randn(gen, 3, 5)
    g_softmax = randn(gen, 3, 5)
    g_log_softmax = randn(gen, 3, 5)
    sa = s.clone().requires_grad_(True)
    softmax = torch.softmax(sa, dim=-1)
    (dsoftmax,) = torch.autograd.grad((softmax * g_softmax).sum(), [sa])
    sb = s.clone().requires_grad_(True)
    log_softmax = torch.log_softmax(sb, dim=-1)
    (dlog_softmax,) = torch.autograd.grad((log_softmax * g_log_softmax).sum(), [sb])

    result = {
        "description": (
            "float64. x (3x6), gamma (6), beta (6), g (3x6), then s (3x5), g_softmax (3x5), g_log_softmax (3x5) are "
            "torch.randn from torch.Generator().manual_seed(2) in that order. "
            "layernorm: out = F.layer_norm(x, (6,), gamma, beta, eps=1e-5) (biased variance over the last axis); "
            "dx, dgamma, dbeta = VJP of sum(out * g). "
            "gelu: exact erf form gelu(x) = x * 0.5 * (1 + erf(x / sqrt(2))) on gelu_x (11 values); dgelu = "
            "elementwise derivative d gelu(x)/dx (VJP with upstream ones). "
            "softmax, log_softmax over the last axis of s; dsoftmax = VJP of sum(softmax * g_softmax), "
            "dlog_softmax = VJP of sum(log_softmax * g_log_softmax), both with respect to s."
        ),
        "eps": eps,
        "x": x,
        "gamma": gamma,
        "beta": beta,
        "g": g,
        "out": out,
        "dx": dx,
        "dgamma": dgamma,
        "dbeta": dbeta,
        "gelu_x": gx,
        "gelu": gelu,
        "dgelu": dgelu,
        "s": s,
        "softmax": softmax,
        "g_softmax": g_softmax,
        "dsoftmax": dsoftmax,
        "log_softmax": log_softmax,
        "g_log_softmax": g_log_softmax,
        "dlog_softmax": dlog_softmax,
    }
    result["shapes"] = shapes_of(result)
    return result


# ---------------------------------------------------------------------------
# 4. losses


def distill_parts(student, teacher, targets, temperature, lam, ignore_index=-100):
    ce = F.cross_entropy(student, targets, ignore_index=ignore_index)
    keep = targets != ignore_index  # (N,)
    log_ps = F.log_softmax(student / temperature, dim=-1)
    log_pt = F.log_softmax(teacher / temperature, dim=-1)
    kl_rows = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1)  # (N, V) -> (N,)
    kl = kl_rows[keep].sum() / keep.sum()
    loss = (1 - lam) * ce + lam * temperature**2 * kl
    return ce, kl, loss


def make_losses():
    gen = torch.Generator().manual_seed(3)
    N, V = 6, 7
    T, lam = 2.0, 0.3
    student = randn(gen, N, V)
    teacher = randn(gen, N, V) * 2.0
    targets = torch.randint(0, V, (N,), generator=gen)
    targets[1] = -100
    targets[4] = -100

    sa = student.clone().requires_grad_(True)
    ce, kl, loss = distill_parts(sa, teacher, targets, T, lam)
    dce = torch.autograd.grad(ce, [sa], retain_graph=True)[0]
    dkl = torch.autograd.grad(kl, [sa], retain_graph=True)[0]
    dloss = torch.autograd.grad(loss, [sa])[0]

    a = randn(gen, 4, 5)
    b = randn(gen, 4, 5)
    aa = a.clone().requires_grad_(True)
    mse = F.mse_loss(aa, b)
    (dmse,) = torch.autograd.grad(mse, [aa])

    c = randn(gen, 4, 5)
    d = randn(gen, 4, 5)
    ca = c.clone().requires_grad_(True)
    cos_rows = F.cosine_similarity(ca, d, dim=1, eps=1e-8)
    cos_mean = cos_rows.mean()
    (dcos,) = torch.autograd.grad(cos_mean, [ca])

    result = {
        "description": (
            "float64. student (6x7), teacher (6x7, = randn * 2), targets (6, randint [0,7) then entries 1 and 4 set to "
            "-100), mse_a, mse_b (4x5), cos_a, cos_b (4x5) drawn in that order from torch.Generator().manual_seed(3). "
            "Distillation with temperature T = 2.0, lambda = 0.3: ce = F.cross_entropy(student, targets, "
            "ignore_index=-100) (mean over the 4 non-ignored rows); kl = sum over rows r with targets[r] != -100 of "
            "sum_v p_t[r,v] * (log p_t[r,v] - log p_s[r,v]), divided by the number of those rows (4), where "
            "p_t = softmax(teacher / T), p_s = softmax(student / T) over the vocabulary; "
            "loss = (1 - lambda) * ce + lambda * T^2 * kl. dloss, dce, dkl = gradients of loss, ce, kl with "
            "respect to student (ignored rows get zero gradient). "
            "mse = F.mse_loss(mse_a, mse_b) = mean over all 20 elements of (a - b)^2; dmse = d mse / d mse_a. "
            "cos_rows = F.cosine_similarity(cos_a, cos_b, dim=1, eps=1e-8) (row norms are far above eps, so "
            "cos_rows[r] = a_r . b_r / (|a_r| |b_r|)); cos_mean = mean(cos_rows); dcos = d cos_mean / d cos_a."
        ),
        "temperature": T,
        "lambda": lam,
        "ignore_index": -100,
        "student": student,
        "teacher": teacher,
        "targets": targets,
        "ce": float(ce),
        "kl": float(kl),
        "loss": float(loss),
        "dloss": dloss,
        "dce": dce,
        "dkl": dkl,
        "mse_a": a,
        "mse_b": b,
        "mse": float(mse),
        "dmse": dmse,
        "cos_a": c,
        "cos_b": d,
        "cos_rows": cos_rows,
        "cos_mean": float(cos_mean),
        "dcos": dcos,
    }
    result["shapes"] = shapes_of(result)
    return result


# ---------------------------------------------------------------------------
# 5. broadcasting matmul and reductions


def make_matmul_broadcast():
    gen = torch.Generator().manual_seed(4)
    a = randn(gen, 2, 1, 3, 4)
    b = randn(gen, 3, 4, 5)
    g = randn(gen, 2, 3, 3, 5)
    aa, ba = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    c = aa @ ba  # (2, 1, 3, 4) @ (3, 4, 5) -> (2, 3, 3, 5)
    da, db = torch.autograd.grad((c * g).sum(), [aa, ba])

    s = randn(gen, 2, 3, 4)
    g_sum = randn(gen, 2, 1, 4)
    sa = s.clone().requires_grad_(True)
    s_out = sa.sum(dim=1, keepdim=True)  # (2, 3, 4) -> (2, 1, 4)
    (ds,) = torch.autograd.grad((s_out * g_sum).sum(), [sa])

    m = randn(gen, 3, 4)
    g_max = randn(gen, 4)
    sorted_cols = m.sort(dim=0).values
    assert bool((sorted_cols[1:] != sorted_cols[:-1]).all()), "max fixture needs distinct column values"
    ma = m.clone().requires_grad_(True)
    m_out, m_idx = ma.max(dim=0)  # (3, 4) -> (4,)
    (dm,) = torch.autograd.grad((m_out * g_max).sum(), [ma])

    result = {
        "description": (
            "float64. a (2,1,3,4), b (3,4,5), g (2,3,3,5), sum_x (2,3,4), sum_g (2,1,4), max_x (3,4), max_g (4) are "
            "torch.randn from torch.Generator().manual_seed(4) in that order. "
            "matmul: c = a @ b with broadcasting (2,1,3,4) @ (3,4,5) -> (2,3,3,5); da, db = VJP of sum(c * g) "
            "(da summed over the broadcast axis 1 of size 3, db summed over the broadcast leading axis of size 2). "
            "sum: sum_out = sum_x.sum(axis=1, keepdims=True) -> (2,1,4); sum_dx = VJP of sum(sum_out * sum_g). "
            "max: max_out = max_x.max(axis=0) -> (4) (no ties), max_index = argmax row per column; "
            "max_dx = VJP of sum(max_out * max_g) (max_g at the argmax, zero elsewhere)."
        ),
        "a": a,
        "b": b,
        "g": g,
        "c": c,
        "da": da,
        "db": db,
        "sum_x": s,
        "sum_g": g_sum,
        "sum_out": s_out,
        "sum_dx": ds,
        "max_x": m,
        "max_g": g_max,
        "max_out": m_out,
        "max_index": m_idx,
        "max_dx": dm,
    }
    result["shapes"] = shapes_of(result)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("tests", "fixtures", "golden"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    meta = {"generator": "scripts/golden/make_golden.py", "torch_version": torch.__version__}
    fixtures = {
        "adamw.json": make_optimizers,
        "attention.json": make_attention,
        "layernorm.json": make_layernorm,
        "losses.json": make_losses,
        "matmul_broadcast.json": make_matmul_broadcast,
    }
    for name, build in fixtures.items():
        body = build()
        write_fixture(args.out, name, {"description": body.pop("description"), **meta, **body})


if __name__ == "__main__":
    main()
