"""Peer benchmark: protdistil's masked-LM / distillation training loop written in plain PyTorch (CPU, float32).

    python3 bench/torch/train_mlm.py --dir .bench-out/train/student-s-kd --threads 2
    python3 bench/torch/train_mlm.py --dir .bench-out/train/ttp --threads 2 --mode ttp

Everything the run needs is written by `bench/train.ts` into --dir:
  spec.json          model shape (protdistil's EsmConfig), loss and optimizer settings, steps
  student.pt         the student's initial weights (fair-esm key names), exactly protdistil's init
  teacher.pt         the esm2-8m-shaped teacher's weights (when lambda > 0)
  tokens.npy         (N, B, Tmax) int32 corrupted inputs of the N batches, right-padded with <pad>
  targets.npy        (N, B, Tmax) int32 true ids at the masked positions, -100 elsewhere
  lengths.npy        (N,) int32 padded length T of each batch (columns beyond it are not used)
  teacher_logits.npy (N, B, Tmax, V) float32 protdistil's teacher logits (mode throughput, lambda > 0):
                     only compared with the teacher logits computed here on the fly
  valid_*.npy        (mode ttp) pure-mask validation rows and the scored positions

Mode `throughput`: warm-up + timed steps over the N batches; a step is the teacher's forward (when
lambda > 0, under torch.no_grad, on the same corrupted batch) + student forward + loss + backward +
AdamW step + zero_grad. Mode `ttp`: train for a wall-clock budget (training time only; evaluation pauses
the clock) and report pure-mask validation perplexity at fixed marks of training time.

The model follows protdistil's src/models/esm (fair-esm ESM-2 / ESM-1b): ESM-2 = token embedding
(+ token-dropout rescale when the config has it), pad rows zeroed, pre-LN layers with rotary
self-attention (rotate-half; q scaled by Dh^-0.5 before rotary), final LayerNorm, RoBERTa LM head tied to
the embedding. ESM-1b = the same layers without rotary, the token table with its <mask> row multiplied by
zero, learned positions cumsum(non-pad) * non-pad + padding_idx, LayerNorm on the embeddings, the masked
table as the tied decoder. Loss = (1 - lambda) * CE + lambda * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)),
both averaged over the masked positions. AdamW (betas 0.9/0.999, eps 1e-8), lr per step from the same
schedule (linear warm-up from 0, then constant).

Prints one JSON line.
"""

# Dimension letters: N batches, B rows, T tokens, E embedding, H heads, Dh = E/H, F ffn, V vocabulary.

import argparse
import json
import math
import os
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PAD, MASK, IGNORE = 1, 32, -100


def rotate_half(u):
    half = u.shape[-1] // 2
    return torch.cat([-u[..., half:], u[..., :half]], dim=-1)


class RotEmb(nn.Module):
    """Holds the rotary inverse frequencies (fair-esm key layers.i.self_attn.rot_emb.inv_freq)."""

    def __init__(self, head_dim):
        super().__init__()
        self.register_buffer("inv_freq", torch.zeros(head_dim // 2))
        self.cache = {}

    def tables(self, T):
        if T not in self.cache:
            # t * inv_freq rounded to float32 (as protdistil), cos/sin in float64, stored as float32.
            freqs = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq).double()  # (T, Dh/2)
            emb = torch.cat([freqs, freqs], dim=-1)  # (T, Dh)
            self.cache[T] = (emb.cos().float(), emb.sin().float())
        return self.cache[T]


class SelfAttention(nn.Module):
    def __init__(self, embed, heads, rotary):
        super().__init__()
        self.heads, self.head_dim = heads, embed // heads
        self.q_proj = nn.Linear(embed, embed)
        self.k_proj = nn.Linear(embed, embed)
        self.v_proj = nn.Linear(embed, embed)
        self.out_proj = nn.Linear(embed, embed)
        self.rot_emb = RotEmb(self.head_dim) if rotary else None

    def split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, T, E) -> (B, H, T, Dh)

    def forward(self, x, pad_bias):
        B, T, E = x.shape
        q = self.split(self.q_proj(x) * self.head_dim**-0.5)
        k = self.split(self.k_proj(x))
        v = self.split(self.v_proj(x))
        if self.rot_emb is not None:
            cos, sin = self.rot_emb.tables(T)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        scores = q @ k.transpose(-1, -2) + pad_bias  # (B, H, T, T) + (B, 1, 1, T)
        o = torch.softmax(scores, dim=-1) @ v  # (B, H, T, T) @ (B, H, T, Dh) -> (B, H, T, Dh)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, E))


class Layer(nn.Module):
    """Pre-LN block: x + Attn(LN(x)), then x + FFN(LN(x)) with exact GELU."""

    def __init__(self, embed, heads, ffn, rotary):
        super().__init__()
        self.self_attn_layer_norm = nn.LayerNorm(embed, eps=1e-5)
        self.self_attn = SelfAttention(embed, heads, rotary)
        self.final_layer_norm = nn.LayerNorm(embed, eps=1e-5)
        self.fc1 = nn.Linear(embed, ffn)
        self.fc2 = nn.Linear(ffn, embed)

    def forward(self, x, pad_bias):
        x = x + self.self_attn(self.self_attn_layer_norm(x), pad_bias)
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))  # (B,T,E) -> (B,T,F) -> (B,T,E)


class LmHead(nn.Module):
    def __init__(self, embed, vocab):
        super().__init__()
        self.dense = nn.Linear(embed, embed)
        self.layer_norm = nn.LayerNorm(embed, eps=1e-5)
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, x, decoder):
        return self.layer_norm(F.gelu(self.dense(x))) @ decoder.t() + self.bias  # (B, T, E) @ (E, V) -> (B, T, V)


class EsmModel(nn.Module):
    """ESM-2 or ESM-1b masked LM from a protdistil EsmConfig (spec.json's `model`)."""

    def __init__(self, c):
        super().__init__()
        self.arch, self.token_dropout = c["arch"], bool(c["tokenDropout"])
        self.pad_idx, self.mask_idx = c["paddingIdx"], c["maskIdx"]
        E, V = c["embedDim"], c["vocabSize"]
        self.embed_tokens = nn.Embedding(V, E)
        if self.arch == "esm1b":
            self.embed_positions = nn.Embedding(c["maxPositions"] + self.pad_idx + 1, E)
            self.emb_layer_norm_before = nn.LayerNorm(E, eps=1e-5)
            keep = torch.ones(V, 1)
            keep[self.mask_idx] = 0
            self.register_buffer("mask_row_keep", keep, persistent=False)
        self.layers = nn.ModuleList(Layer(E, c["attentionHeads"], c["ffnDim"], self.arch == "esm2") for _ in range(c["numLayers"]))
        self.emb_layer_norm_after = nn.LayerNorm(E, eps=1e-5)
        self.lm_head = LmHead(E, V)

    def forward(self, tokens):
        pad = tokens == self.pad_idx  # (B, T)
        keep = (~pad).float()
        if self.arch == "esm1b":
            table = self.embed_tokens.weight * self.mask_row_keep  # (V, E), <mask> row zero
            x = F.embedding(tokens, table)
        else:
            table = self.embed_tokens.weight
            x = self.embed_tokens(tokens)  # (B, T) -> (B, T, E)
        if self.token_dropout:
            is_mask = tokens == self.mask_idx
            ratio = 1 - is_mask.float().sum(1, keepdim=True) / keep.sum(1, keepdim=True)  # (B, 1)
            x = x.masked_fill(is_mask[..., None], 0.0) * (1 - 0.15 * 0.8) / ratio[..., None]
        if self.arch == "esm1b":
            positions = (torch.cumsum(keep, 1) * keep + self.pad_idx).long()
            x = self.emb_layer_norm_before(x + self.embed_positions(positions))
        x = x * keep[..., None]
        pad_bias = torch.zeros_like(keep).masked_fill(pad, float("-inf"))[:, None, None, :]  # (B, 1, 1, T)
        for layer in self.layers:
            x = layer(x, pad_bias)
        return self.lm_head(self.emb_layer_norm_after(x), table)


def load_model(path, config):
    model = EsmModel(config)
    sd = torch.load(path)
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model


def loss_fn(logits, targets, teacher, lam, temperature):
    """(1 - lam) * CE + lam * T^2 * KL(teacher_T || student_T), over the masked positions; returns (loss, ce, kl)."""
    V = logits.shape[-1]
    flat_t = targets.reshape(-1)
    ce = F.cross_entropy(logits.reshape(-1, V), flat_t, ignore_index=IGNORE)
    if lam == 0:
        return ce, ce, None
    keep = flat_t != IGNORE
    log_ps = F.log_softmax(logits.reshape(-1, V)[keep] / temperature, dim=-1)  # (M, V)
    log_pt = F.log_softmax(teacher.reshape(-1, V)[keep] / temperature, dim=-1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()
    return (1 - lam) * ce + lam * temperature**2 * kl, ce, kl


def lr_at(k, peak, warmup):
    """protdistil's constant schedule: linear warm-up from 0 over `warmup` steps (k = updates done before)."""
    return peak * (k / warmup if warmup > 0 and k < warmup else 1.0)


class Batches:
    def __init__(self, d):  # d: the folder holding tokens.npy, targets.npy, lengths.npy
        self.tokens = np.load(os.path.join(d, "tokens.npy"))
        self.targets = np.load(os.path.join(d, "targets.npy"))
        self.lengths = np.load(os.path.join(d, "lengths.npy"))

    def __len__(self):
        return len(self.lengths)

    def get(self, i):
        T = int(self.lengths[i])
        tokens = torch.from_numpy(self.tokens[i, :, :T].astype(np.int64))
        targets = torch.from_numpy(self.targets[i, :, :T].astype(np.int64))
        return tokens, targets, int((tokens != PAD).sum())


def make_optimizer(model, spec):
    return torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=spec["weightDecay"])


def train_step(model, opt, tokens, targets, teacher, spec, k):
    """One step; returns (loss, teacher seconds)."""
    t0 = time.perf_counter()
    z_t = None
    if teacher is not None:
        with torch.no_grad():
            z_t = teacher(tokens)
    t_teacher = time.perf_counter() - t0
    for g in opt.param_groups:
        g["lr"] = lr_at(k, spec["lr"], spec.get("warmup", 0))
    loss, _, _ = loss_fn(model(tokens), targets, z_t, spec["lambda"], spec["temperature"])
    loss.backward()
    if spec.get("clip") is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clip"])
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(loss), t_teacher, z_t


def throughput(d, spec):
    data = Batches(spec.get("batchesDir", d))
    model = load_model(os.path.join(d, "student.pt"), spec["model"])
    model.train()
    teacher = None
    if spec["lambda"] > 0:
        teacher = load_model(os.path.join(d, "teacher.pt"), spec["teacherModel"]).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    opt = make_optimizer(model, spec)
    ours_z = np.load(os.path.join(d, "teacher_logits.npy"), mmap_mode="r") if teacher is not None else None
    steps = []
    max_dz = 0.0
    for i in range(min(spec.get("batches", len(data)), len(data))):
        tokens, targets, n = data.get(i)
        t0 = time.perf_counter()
        loss, t_teacher, z_t = train_step(model, opt, tokens, targets, teacher, spec, i)
        dt = time.perf_counter() - t0
        if not math.isfinite(loss):
            raise SystemExit(f"non-finite loss at step {i}: {loss}")
        if z_t is not None:
            T = tokens.shape[1]
            max_dz = max(max_dz, float((z_t - torch.from_numpy(np.array(ours_z[i, :, :T]))).abs().max()))
        steps.append({"ms": dt * 1e3, "teacher_ms": t_teacher * 1e3, "tokens": n, "padded": tokens.numel(), "loss": loss})
    return {"steps": steps, "teacher_max_abs_diff": max_dz if teacher is not None else None}


def validation(d):
    v = {k: np.load(os.path.join(d, f"valid_{k}.npy")) for k in ("tokens", "lengths", "pos", "truth")}
    return v


def perplexity(model, v, toks_per_batch=4096):
    """exp(mean NLL) and top-1 accuracy over the exported scored positions (rows already pure-masked)."""
    model.eval()
    order = np.argsort(-v["lengths"], kind="stable")
    nll, correct, count = 0.0, 0, 0
    at = 0
    with torch.inference_mode():
        while at < len(order):
            T = int(v["lengths"][order[at]])
            rows = order[at : at + max(1, toks_per_batch // T)]
            at += len(rows)
            tokens = torch.from_numpy(v["tokens"][rows, :T].astype(np.int64))
            logp = F.log_softmax(model(tokens).double(), dim=-1)  # (B, T, V)
            where = {int(r): b for b, r in enumerate(rows)}
            sel = np.isin(v["pos"][:, 0], rows)
            b_idx = torch.tensor([where[int(r)] for r in v["pos"][sel, 0]], dtype=torch.long)
            t_idx = torch.from_numpy(v["pos"][sel, 1].astype(np.int64))
            truth = torch.from_numpy(v["truth"][sel].astype(np.int64))
            picked = logp[b_idx, t_idx]  # (K, V)
            nll -= float(picked.gather(1, truth[:, None]).sum())
            correct += int((picked.argmax(-1) == truth).sum())
            count += int(truth.numel())
    model.train()
    return math.exp(nll / count), correct / count, count


def time_to_ppl(d, spec):
    data = Batches(spec.get("batchesDir", d))
    v = validation(d)
    model = load_model(os.path.join(d, "student.pt"), spec["model"])
    model.train()
    opt = make_optimizer(model, spec)
    budget, every = spec["budgetSec"], spec["evalEverySec"]
    curve = []

    def evaluate(clock, step, tokens):
        e0 = time.perf_counter()
        ppl, acc, n = perplexity(model, v)
        curve.append({"elapsed_s": clock, "step": step, "tokens": tokens, "ppl": ppl, "acc": acc, "scored": n, "eval_s": time.perf_counter() - e0})

    evaluate(0.0, 0, 0)
    clock, tokens_seen, k, next_eval, losses = 0.0, 0, 0, every, []
    while clock < budget:
        if k >= len(data):
            raise SystemExit(f"ran out of exported batches after {k} steps ({clock:.0f} s): raise --ttp-max-tok-s")
        t0 = time.perf_counter()
        tokens, targets, n = data.get(k)
        loss, _, _ = train_step(model, opt, tokens, targets, None, spec, k)
        clock += time.perf_counter() - t0
        if not math.isfinite(loss):
            raise SystemExit(f"non-finite loss at step {k}: {loss}")
        k += 1
        tokens_seen += n
        losses.append(loss)
        if clock >= next_eval and clock < budget:
            evaluate(clock, k, tokens_seen)
            next_eval += every
    evaluate(clock, k, tokens_seen)
    return {"curve": curve, "steps": k, "tokens": tokens_seen, "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None}


def main():
    p = argparse.ArgumentParser(description="PyTorch peer of protdistil's training loop (see the module docstring).")
    p.add_argument("--dir", required=True)
    p.add_argument("--mode", choices=("throughput", "ttp"), default="throughput")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    with open(os.path.join(a.dir, "spec.json")) as f:
        spec = json.load(f)
    torch.manual_seed(0)
    out = throughput(a.dir, spec) if a.mode == "throughput" else time_to_ppl(a.dir, spec)
    out.update({
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
