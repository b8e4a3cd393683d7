"""Peer benchmark: the ESM-2 (or ESM-1b) forward pass of embedding extraction and teacher labelling in
plain PyTorch (CPU, float32).

    python3 bench/torch/extract_forward.py --weights W.pt --batches BATCHES.pt --layers 6 --embed 320 \
        --heads 20 --threads 2 [--means-out MEANS.npy] [--arch esm1b] [--lm-head --logits-out FIRST.npy]

W.pt is a flat state dict in fair-esm names (embed_tokens.weight, layers.{i}.self_attn.q_proj.weight, …,
layers.{i}.self_attn.rot_emb.inv_freq, emb_layer_norm_after.*); BATCHES.pt maps "batch_0", "batch_1", …
to int64 (B, T) token matrices, padded with <pad> (1) on the right. Both are written by bench/extract.ts.

For every batch: ESM-2 forward as fair-esm esm/model/esm2.py computes it (token-dropout rescale, pad
zeroing, pre-LN layers with rotate-half rotary attention using the stored inv_freq, key padding mask,
exact GELU, final LayerNorm), then the per-sequence mean of the final representation over the residue
positions (1 … n), as extract.py does. The LM head is not run (extraction does not need logits).

Prints one JSON line: {"tokens", "padded_tokens", "seconds", "tokens_per_s", "batches", "threads",
"torch_version", "peak_rss_mb"}; tokens counts non-pad tokens (BOS and EOS included). The first batch is
run once untimed. --means-out writes the mean vectors in batch order, rows as in the batches.

--arch esm1b runs fair-esm esm/model/esm1.py (arch roberta_large) instead: token-dropout rescale, learned
positions (cumsum(non-pad)·non-pad + padding_idx into embed_positions.weight), emb_layer_norm_before, pad
zeroing, the same pre-LN layers without rotary, emb_layer_norm_after; the <mask> row of the token table is
zeroed as fair-esm's loader does. --lm-head replaces the per-sequence means by the logits of the LM head
(RobertaLMHead: dense, GELU, LayerNorm, tied decoder + bias), which is what teacher labelling
(bench/label.ts) computes; --logits-out saves the first batch's (B, T, V) logits.
"""

# Dimension letters: B batch, T tokens, E embedding, H heads, Dh = E/H head dim.

import argparse
import json
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

PAD, MASK = 1, 32


def rotate_half(u):
    half = u.shape[-1] // 2
    return torch.cat([-u[..., half:], u[..., :half]], dim=-1)


def layer_norm(x, sd, name):
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps=1e-5)


def linear(x, sd, name):
    return F.linear(x, sd[f"{name}.weight"], sd[f"{name}.bias"])


def forward(tokens, sd, layers, heads, arch="esm2"):
    """tokens (B, T) -> final representation (B, T, E)."""
    B, T = tokens.shape
    pad = tokens.eq(PAD)  # (B, T)
    x = F.embedding(tokens, sd["embed_tokens.weight"])  # (B, T) -> (B, T, E)
    E = x.shape[-1]
    dh = E // heads
    is_mask = tokens.eq(MASK)
    x = x.masked_fill(is_mask.unsqueeze(-1), 0.0)
    ratio = is_mask.sum(-1).to(x.dtype) / (~pad).sum(-1)
    x = x * (1 - 0.15 * 0.8) / (1 - ratio)[:, None, None]
    if arch == "esm1b":
        keep = (~pad).long()
        positions = torch.cumsum(keep, dim=1) * keep + PAD  # (B, T)
        x = x + F.embedding(positions, sd["embed_positions.weight"])
        x = layer_norm(x, sd, "emb_layer_norm_before")
    x = x * (1 - pad.unsqueeze(-1).type_as(x))
    for i in range(layers):
        p = f"layers.{i}"
        h = layer_norm(x, sd, f"{p}.self_attn_layer_norm")
        q = linear(h, sd, f"{p}.self_attn.q_proj") * dh**-0.5
        k = linear(h, sd, f"{p}.self_attn.k_proj")
        v = linear(h, sd, f"{p}.self_attn.v_proj")
        q, k, v = (t.view(B, T, heads, dh).transpose(1, 2) for t in (q, k, v))  # (B, T, E) -> (B, H, T, Dh)
        if arch == "esm2":
            freqs = torch.outer(torch.arange(T, dtype=torch.float32), sd[f"{p}.self_attn.rot_emb.inv_freq"])
            emb = torch.cat([freqs, freqs], dim=-1)  # (T, Dh)
            cos, sin = emb.cos(), emb.sin()
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        scores = q @ k.transpose(-1, -2)  # (B, H, T, Dh) @ (B, H, Dh, T) -> (B, H, T, T)
        if pad.any():
            scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v  # (B, H, T, T) @ (B, H, T, Dh) -> (B, H, T, Dh)
        o = o.transpose(1, 2).reshape(B, T, E)  # (B, H, T, Dh) -> (B, T, E)
        x = x + linear(o, sd, f"{p}.self_attn.out_proj")
        h = F.gelu(linear(layer_norm(x, sd, f"{p}.final_layer_norm"), sd, f"{p}.fc1"))  # exact erf GELU
        x = x + linear(h, sd, f"{p}.fc2")
    return layer_norm(x, sd, "emb_layer_norm_after")


def lm_head(rep, sd):
    """final representation (B, T, E) -> logits (B, T, V), decoder tied to the token table."""
    h = layer_norm(F.gelu(linear(rep, sd, "lm_head.dense")), sd, "lm_head.layer_norm")
    return F.linear(h, sd["embed_tokens.weight"]) + sd["lm_head.bias"]  # (B, T, E) @ (E, V) -> (B, T, V)


def residue_means(rep, tokens):
    """Mean over positions 1 … n of each row (n = non-pad tokens − 2)."""
    out = []
    for b in range(tokens.shape[0]):
        n = int((tokens[b] != PAD).sum()) - 2
        out.append(rep[b, 1 : n + 1].mean(0))
    return torch.stack(out)


def main():
    parser = argparse.ArgumentParser(description="Time the ESM-2 extraction forward pass in PyTorch.")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--batches", required=True)
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--embed", type=int, required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--means-out", default=None)
    parser.add_argument("--arch", choices=["esm2", "esm1b"], default="esm2")
    parser.add_argument("--lm-head", action="store_true")
    parser.add_argument("--logits-out", default=None)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sd = torch.load(args.weights)
    bt = torch.load(args.batches)
    batches = [bt[f"batch_{i}"] for i in range(len(bt))]
    assert sd["embed_tokens.weight"].shape[1] == args.embed
    if args.arch == "esm1b":
        sd["embed_tokens.weight"][MASK] = 0.0
    means = []
    first_logits = None
    with torch.inference_mode():
        forward(batches[0], sd, args.layers, args.heads, args.arch)  # warm-up
        start = time.perf_counter()
        for tokens in batches:
            rep = forward(tokens, sd, args.layers, args.heads, args.arch)
            if args.lm_head:
                z = lm_head(rep, sd)
                if first_logits is None:
                    first_logits = z
            else:
                means.append(residue_means(rep, tokens))
        seconds = time.perf_counter() - start
    if args.logits_out is not None and first_logits is not None:
        np.save(args.logits_out, first_logits.numpy())
    tokens = sum(int((b != PAD).sum()) for b in batches)
    if args.means_out is not None and means:
        np.save(args.means_out, torch.cat(means).numpy())
    print(
        json.dumps(
            {
                "tokens": tokens,
                "padded_tokens": sum(b.numel() for b in batches),
                "seconds": seconds,
                "tokens_per_s": tokens / seconds,
                "batches": len(batches),
                "threads": torch.get_num_threads(),
                "torch_version": torch.__version__,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            }
        )
    )


if __name__ == "__main__":
    main()
