"""Peer benchmark: one distillation training step of an ESM-2-style student in plain PyTorch (CPU, float32).

    python3 bench/torch/train_step.py --preset small --batch 8 --seq 128 --steps 10 --warmup 2 --threads 2

Prints one JSON line: {"preset", "batch", "seq", "threads", "step_ms_median", "tokens_per_s",
"peak_rss_mb", "params", "torch_version", "loss_first", "loss_last"}.

A step is forward + loss + backward + AdamW step + zero_grad. The teacher is not run: its logits are a fixed
random (B, T, V) tensor, so the numbers measure the student's training cost only.
Loss = (1 - lambda) * CE(masked positions) + lambda * T^2 * KL(softmax(teacher/T) || softmax(student/T)),
the KL summed over the vocabulary and averaged over the masked positions.
"""

# Dimension letters: B batch, T tokens, E embedding, H heads, Dh = E/H head dim, V vocabulary.

import argparse
import json
import math
import resource
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

VOCAB = 33
CLS, PAD, EOS, MASK = 0, 1, 2, 32
RESIDUES = (4, 24)  # token ids of the 20 standard amino acids: [4, 24)
IGNORE = -100


@dataclass(frozen=True)
class Preset:
    layers: int
    embed: int
    heads: int


PRESETS = {
    "small": Preset(layers=8, embed=128, heads=2),
    "medium": Preset(layers=10, embed=256, heads=4),
    "large": Preset(layers=28, embed=384, heads=6),
}


# ---------------------------------------------------------------------------
# model


def rotate_half(u):
    half = u.shape[-1] // 2
    return torch.cat([-u[..., half:], u[..., :half]], dim=-1)


class Rotary(nn.Module):
    """Rotate-half rotary position embedding on q and k (ESM-2 esm/rotary_embedding.py)."""

    def __init__(self, head_dim):
        super().__init__()
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, q, k):
        T = q.shape[-2]
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq)  # (T, Dh/2)
        emb = torch.cat([freqs, freqs], dim=-1)  # (T, Dh)
        cos, sin = emb.cos(), emb.sin()
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class SelfAttention(nn.Module):
    def __init__(self, embed, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = embed // heads
        self.scaling = self.head_dim**-0.5
        self.q_proj = nn.Linear(embed, embed)
        self.k_proj = nn.Linear(embed, embed)
        self.v_proj = nn.Linear(embed, embed)
        self.out_proj = nn.Linear(embed, embed)
        self.rot = Rotary(self.head_dim)

    def split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, T, E) -> (B, H, T, Dh)

    def forward(self, x, key_pad):
        B, T, E = x.shape
        q = self.split(self.q_proj(x) * self.scaling)
        k = self.split(self.k_proj(x))
        v = self.split(self.v_proj(x))
        q, k = self.rot(q, k)
        scores = q @ k.transpose(-1, -2)  # (B, H, T, Dh) @ (B, H, Dh, T) -> (B, H, T, T)
        scores = scores.masked_fill(key_pad[:, None, None, :], float("-inf"))
        p = torch.softmax(scores, dim=-1)
        o = p @ v  # (B, H, T, T) @ (B, H, T, Dh) -> (B, H, T, Dh)
        o = o.transpose(1, 2).reshape(B, T, E)  # (B, H, T, Dh) -> (B, T, E)
        return self.out_proj(o)


class Layer(nn.Module):
    """Pre-LayerNorm transformer block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, embed, heads):
        super().__init__()
        self.self_attn_layer_norm = nn.LayerNorm(embed, eps=1e-5)
        self.self_attn = SelfAttention(embed, heads)
        self.final_layer_norm = nn.LayerNorm(embed, eps=1e-5)
        self.fc1 = nn.Linear(embed, 4 * embed)
        self.fc2 = nn.Linear(4 * embed, embed)

    def forward(self, x, key_pad):
        x = x + self.self_attn(self.self_attn_layer_norm(x), key_pad)
        h = F.gelu(self.fc1(self.final_layer_norm(x)))  # exact erf GELU; (B, T, E) -> (B, T, 4E)
        return x + self.fc2(h)


class Student(nn.Module):
    """ESM-2-shaped masked language model: embedding, L pre-LN layers, final LN, tied RoBERTa LM head."""

    def __init__(self, preset):
        super().__init__()
        E = preset.embed
        self.embed_tokens = nn.Embedding(VOCAB, E)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList(Layer(E, preset.heads) for _ in range(preset.layers))
        self.emb_layer_norm_after = nn.LayerNorm(E, eps=1e-5)
        self.lm_dense = nn.Linear(E, E)
        self.lm_layer_norm = nn.LayerNorm(E, eps=1e-5)
        self.lm_bias = nn.Parameter(torch.zeros(VOCAB))

    def forward(self, tokens):
        pad = tokens == PAD  # (B, T)
        x = self.embed_tokens(tokens)  # (B, T) -> (B, T, E)
        x = x.masked_fill(pad[..., None], 0.0)
        for layer in self.layers:
            x = layer(x, pad)
        x = self.emb_layer_norm_after(x)
        z = self.lm_layer_norm(F.gelu(self.lm_dense(x)))
        return z @ self.embed_tokens.weight.t() + self.lm_bias  # (B, T, E) @ (E, V) -> (B, T, V)


# ---------------------------------------------------------------------------
# data and loss


def make_batch(batch, seq, seed=0):
    """Fixed synthetic batch: right-padded rows <cls> residues <eos> <pad>..., 15% of residues masked."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(max(3, seq // 2), seq + 1, (batch,), generator=gen)
    lengths[0] = seq  # at least one full row, so T is the padded length
    residues = torch.randint(RESIDUES[0], RESIDUES[1], (batch, seq), generator=gen)
    pos = torch.arange(seq)[None, :]  # (1, T)
    tokens = torch.where(pos < lengths[:, None], residues, torch.full_like(residues, PAD))
    tokens[:, 0] = CLS
    tokens[torch.arange(batch), lengths - 1] = EOS
    is_residue = (pos > 0) & (pos < (lengths[:, None] - 1))
    masked = is_residue & (torch.rand(batch, seq, generator=gen) < 0.15)
    if not masked.any():
        masked[0, 1] = True
    targets = torch.where(masked, tokens, torch.full_like(tokens, IGNORE))
    inputs = torch.where(masked, torch.full_like(tokens, MASK), tokens)
    teacher = torch.randn(batch, seq, VOCAB, generator=gen) * 2.0
    return inputs, targets, teacher


def distill_loss(logits, teacher, targets, temperature, lam):
    """(1 - lam) * CE + lam * T^2 * KL(teacher_T || student_T), both over the masked positions only."""
    flat_logits = logits.reshape(-1, VOCAB)  # (B, T, V) -> (B*T, V)
    flat_targets = targets.reshape(-1)
    ce = F.cross_entropy(flat_logits, flat_targets, ignore_index=IGNORE)
    keep = flat_targets != IGNORE
    log_ps = F.log_softmax(flat_logits[keep] / temperature, dim=-1)  # (M, V)
    log_pt = F.log_softmax(teacher.reshape(-1, VOCAB)[keep] / temperature, dim=-1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean()
    return (1.0 - lam) * ce + lam * temperature**2 * kl


# ---------------------------------------------------------------------------
# benchmark


def main():
    parser = argparse.ArgumentParser(description="Time a distillation training step of an ESM-2-style student.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128, help="padded token length T, including <cls> and <eos>")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--lambda", dest="lam", type=float, default=0.5, help="weight of the KL term")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.seq < 3 or args.batch < 1:
        raise SystemExit("need --steps >= 1, --warmup >= 0, --seq >= 3, --batch >= 1")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Student(PRESETS[args.preset])
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    inputs, targets, teacher = make_batch(args.batch, args.seq)

    losses, times = [], []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        logits = model(inputs)
        loss = distill_loss(logits, teacher, targets, args.temperature, args.lam)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        losses.append(float(loss))
        if step >= args.warmup:
            times.append(elapsed)

    if not all(math.isfinite(v) for v in losses):
        raise SystemExit(f"non-finite loss: {losses}")
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "preset": args.preset,
                "batch": args.batch,
                "seq": args.seq,
                "threads": torch.get_num_threads(),
                "step_ms_median": median * 1e3,
                "tokens_per_s": args.batch * args.seq / median,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "params": sum(p.numel() for p in model.parameters()),
                "torch_version": torch.__version__,
                "loss_first": losses[0],
                "loss_last": losses[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
