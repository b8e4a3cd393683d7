"""Peer benchmark: the Distil-Rank three-teacher pipeline in plain PyTorch (CPU, float32).

    /usr/bin/python3 bench/torch/distil_rank.py --train train.npy --val val.npy [--rank 64] [--steps 1000]
        [--batch-size 64] [--lr 3e-3] [--teachers random,task-trained,spectral] [--seed 42]
        [--latency-repeats 300] [--latency-warmup 30] [--threads N]

The pipeline `protdistil rank` reproduces, written the way the original benchmark does it in PyTorch:
for each teacher Linear(D, D) over the embeddings,
  - random: nn.Linear's default init (kaiming-uniform a=sqrt(5) weight, U(+-1/sqrt(fan_in)) bias);
  - task-trained: that init trained with Adam (lr 1e-3, 500 steps, batch 64) to denoise x + 0.3*N(0,1) -> x;
  - spectral: U diag(2 exp(-i/100)) V^T with U, V from QR of Gaussian matrices, zero bias;
then weight-space truncated SVD (torch.linalg.svd, teacher bias kept), and a distilled student
(A = sqrt(S) V^T, B = U sqrt(S) warm start, AdamW lr 3e-3 wd 0.01 with CosineAnnealingLR over the steps,
loss MSE + 0.1 (1 - cosine), shuffled batches cycling over epochs), both evaluated on the validation rows
against the teacher's outputs (mean cosine, MSE, MSE / mean(y^2)); and latency of teacher and student
(torch.inference_mode, batch 1, 32, 1024: warm-up runs then the median of the timed runs), measured
for every teacher as the original does. Prints exactly one JSON line.
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

TEACHERS = ("random", "task-trained", "spectral")


class LowRank(nn.Module):
    """W ~ B A: A (r x in) without bias, B (out x r) with bias."""

    def __init__(self, a, b, bias):
        super().__init__()
        self.a = nn.Linear(a.shape[1], a.shape[0], bias=False)
        self.b = nn.Linear(b.shape[1], b.shape[0])
        with torch.no_grad():
            self.a.weight.copy_(a)
            self.b.weight.copy_(b)
            self.b.bias.copy_(bias)

    def forward(self, x):
        return self.b(self.a(x))


def fidelity(pred, target):
    cos = F.cosine_similarity(pred, target, dim=-1).mean().item()
    mse = F.mse_loss(pred, target).item()
    return {"cosine": cos, "mse": mse, "rel_mse": mse / target.pow(2).mean().item()}


def batches(n, batch, gen):
    """Shuffled row indices, epoch after epoch, in full batches."""
    buf = torch.empty(0, dtype=torch.long)
    while True:
        while buf.numel() < batch:
            buf = torch.cat([buf, torch.randperm(n, generator=gen)])
        out, buf = buf[:batch], buf[batch:]
        yield out


def make_teacher(kind, d, x_train, args, gen):
    lin = nn.Linear(d, d)
    history = []
    if kind == "task-trained":
        opt = torch.optim.Adam(lin.parameters(), lr=args.teacher_lr)
        it = batches(x_train.shape[0], args.teacher_batch_size, gen)
        for _ in range(args.teacher_steps):
            clean = x_train[next(it)]
            noisy = clean + args.teacher_noise * torch.randn(clean.shape, generator=gen)
            loss = F.mse_loss(lin(noisy), clean)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.item())
    elif kind == "spectral":
        u, _ = torch.linalg.qr(torch.randn(d, d, generator=gen))
        v, _ = torch.linalg.qr(torch.randn(d, d, generator=gen))
        s = 2.0 * torch.exp(-torch.arange(d, dtype=torch.float32) / 100.0)
        with torch.no_grad():
            lin.weight.copy_(u @ torch.diag(s) @ v.T)
            lin.bias.zero_()
    lin.requires_grad_(False)
    return lin, history


def latency(model, d, batch, repeats, warmup):
    x = torch.randn(batch, d)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run_teacher(kind, x_train, x_val, args, gen):
    d = x_train.shape[1]
    r = args.rank
    t0 = time.perf_counter()
    teacher, history = make_teacher(kind, d, x_train, args, gen)
    build_s = time.perf_counter() - t0
    with torch.no_grad():
        y_train = teacher(x_train)
        y_val = teacher(x_val)

    t0 = time.perf_counter()
    u, s, vh = torch.linalg.svd(teacher.weight.detach())
    root = s[:r].sqrt()
    a = root[:, None] * vh[:r]
    b = u[:, :r] * root[None, :]
    svd_s = time.perf_counter() - t0
    svd_student = LowRank(a, b, teacher.bias.detach())
    with torch.no_grad():
        svd_fid = fidelity(svd_student(x_val), y_val)

    student = LowRank(a, b, teacher.bias.detach())
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps) if args.schedule == "cosine" else None
    it = batches(x_train.shape[0], args.batch_size, gen)
    losses = []
    t0 = time.perf_counter()
    for _ in range(args.steps):
        idx = next(it)
        pred = student(x_train[idx])
        target = y_train[idx]
        loss = F.mse_loss(pred, target) + args.cosine_weight * (1 - F.cosine_similarity(pred, target, dim=-1).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
    train_s = time.perf_counter() - t0
    student.requires_grad_(False)
    with torch.no_grad():
        student_fid = fidelity(student(x_val), y_val)

    t0 = time.perf_counter()
    lat = []
    for batch in args.latency_batches:
        tm = latency(teacher, d, batch, args.latency_repeats, args.latency_warmup)
        sm = latency(student, d, batch, args.latency_repeats, args.latency_warmup)
        lat.append({"batch": batch, "teacher_ms": tm, "student_ms": sm, "speedup": tm / sm})
    latency_s = time.perf_counter() - t0
    headline = next(l for l in lat if l["batch"] == 32)
    params_teacher = sum(p.numel() for p in teacher.parameters())
    params_student = sum(p.numel() for p in student.parameters())
    return {
        "svd_cosine": svd_fid["cosine"],
        "svd_rel_mse": svd_fid["rel_mse"],
        "svd_mse": svd_fid["mse"],
        "student_cosine": student_fid["cosine"],
        "student_rel_mse": student_fid["rel_mse"],
        "student_mse": student_fid["mse"],
        "cosine_improvement": student_fid["cosine"] - svd_fid["cosine"],
        "mse_reduction": 100 * (1 - student_fid["mse"] / svd_fid["mse"]),
        "latency_teacher_ms": headline["teacher_ms"],
        "latency_student_ms": headline["student_ms"],
        "speedup": headline["speedup"],
        "params_teacher": params_teacher,
        "params_student": params_student,
        "compression": params_teacher / params_student,
        "latency": lat,
        "final_loss": losses[-1] if losses else None,
        "teacher_build_s": build_s,
        "svd_s": svd_s,
        "training_s": train_s,
        "latency_s": latency_s,
    }


def main():
    t_start = time.perf_counter()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--rank", type=int, default=64)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--cosine-weight", type=float, default=0.1)
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    p.add_argument("--teachers", default=",".join(TEACHERS))
    p.add_argument("--teacher-steps", type=int, default=500)
    p.add_argument("--teacher-lr", type=float, default=1e-3)
    p.add_argument("--teacher-batch-size", type=int, default=64)
    p.add_argument("--teacher-noise", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--latency-repeats", type=int, default=300)
    p.add_argument("--latency-warmup", type=int, default=30)
    p.add_argument("--latency-batches", default="1,32,1024")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    args = p.parse_args()
    args.latency_batches = [int(b) for b in args.latency_batches.split(",")]
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    x_train = torch.from_numpy(np.load(args.train)).float()
    x_val = torch.from_numpy(np.load(args.val)).float()
    load_s = time.perf_counter() - t0
    teachers = {}
    for kind in args.teachers.split(","):
        teachers[kind] = run_teacher(kind, x_train, x_val, args, gen)
    print(json.dumps({
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "rank": args.rank,
        "input_dim": x_train.shape[1],
        "n_train": x_train.shape[0],
        "n_val": x_val.shape[0],
        "load_s": load_s,
        "teachers": teachers,
        "pipeline_s": time.perf_counter() - t_start,
    }))


if __name__ == "__main__":
    main()
