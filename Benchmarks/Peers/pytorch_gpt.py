"""The `gpt` recipe's peer: the same decoder-only Transformer language model and schedule in
PyTorch on the CPU, run side by side with `dive train gpt` on the same machine.

Model (as Sources/DiveZoo/Models/GPT.swift): token and learned position embeddings drawn from
N(0, 0.02²); 4 pre-LayerNorm blocks of causal 4-head self-attention (W_q, W_k, W_v, W_o without
bias) and a ReLU FFN C → 4C → C with biases (PyTorch's default initialisation, as Dive's layers);
a final LayerNorm; logits through the token embedding (tied). Training (nanoGPT's shakespeare-char
CPU run): batch 12 of windows of 64 at random offsets, AdamW lr 1e-3, β2 0.99, weight decay 0.1
(every parameter, as Dive's AdamW), warmup 100 steps ((t+1)/100), cosine to 1e-4 at the last step,
gradient norm clipped at 1, 2000 iterations in 20 "epochs" of 100. Data: The Time Machine read the
book's way (letters and spaces, lower case, 28 characters), the last 10% held out; the held-out
loss is the mean over every whole window of it, after each epoch.

    pip install torch==2.13.0+cpu
    python3 Benchmarks/Peers/pytorch_gpt.py --data "$DIVE_DATA" [--epochs 20] [--seed 0]

Prints each epoch's training loss, held-out loss and tokens/s (training only, as Dive counts), then
one JSON line: the median tokens/s over the epochs after the first, its spread, and the final
held-out loss.
"""
import argparse
import collections
import json
import math
import re
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F


def load_corpus(path):
    with open(path) as f:
        lines = [re.sub('[^A-Za-z]+', ' ', line).strip().lower() for line in f]
    tokens = [c for line in lines for c in line]
    counts = collections.Counter(tokens)
    vocab = ['<unk>'] + sorted(counts, key=lambda t: -counts[t])
    index = {t: i for i, t in enumerate(vocab)}
    return [index[t] for t in tokens], len(vocab)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(width, width, bias=False) for _ in range(4))
        self.dense1, self.dense2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def attention(self, h):
        B, T, C = h.shape
        split = lambda t: t.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # (B, heads, T, C/heads)
        y = F.scaled_dot_product_attention(split(self.W_q(h)), split(self.W_k(h)), split(self.W_v(h)), is_causal=True)
        return self.W_o(y.transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.dense2(F.relu(self.dense1(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, block, layers=4, heads=4, width=128):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(vocab, width) * 0.02)
        self.wpe = nn.Parameter(torch.randn(block, width) * 0.02)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)

    def forward(self, x):
        h = self.wte[x] + self.wpe[: x.shape[1]]
        for b in self.blocks:
            h = b(h)
        return self.ln_f(h) @ self.wte.T  # (B, T, V)


def lr_at(step, base, final, warmup, total):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(total - warmup, 1)
    return final + (base - final) * (1 + math.cos(math.pi * t)) / 2


def held_out_loss(model, tokens, block, batch=64):
    windows = (len(tokens) - 1) // block
    total = 0.0
    model.eval()
    with torch.no_grad():
        for first in range(0, windows, batch):
            ws = range(first, min(first + batch, windows))
            x = torch.tensor([tokens[w * block:(w + 1) * block] for w in ws])
            y = torch.tensor([tokens[w * block + 1:(w + 1) * block + 1] for w in ws])
            total += F.cross_entropy(model(x).reshape(-1, model.wte.shape[0]), y.reshape(-1), reduction='sum').item()
    model.train()
    return total / (windows * block)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--iterations', type=int, default=100, help='iterations per epoch')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    block, batch = 64, 12
    corpus, vocab = load_corpus(f'{a.data}/timemachine.txt')
    held = round(len(corpus) * 0.1)
    train, valid = torch.tensor(corpus[:len(corpus) - held]), corpus[len(corpus) - held:]
    model = GPT(vocab, block)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    total = a.epochs * a.iterations
    rates, step = [], 0
    for epoch in range(a.epochs):
        t0, loss_sum = time.perf_counter(), 0.0
        losses = []
        for _ in range(a.iterations):
            starts = torch.randint(len(train) - block, (batch,))
            x = torch.stack([train[s:s + block] for s in starts])
            y = torch.stack([train[s + 1:s + 1 + block] for s in starts])
            for g in opt.param_groups:
                g['lr'] = lr_at(step, 1e-3, 1e-4, 100, total)
            loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.detach())
            step += 1
        loss_sum = torch.stack(losses).mean().item()  # one read per epoch, as Dive
        seconds = time.perf_counter() - t0
        rates.append(a.iterations * batch * block / seconds)
        valid_loss = held_out_loss(model, valid, block)
        print(f'epoch {epoch + 1}/{a.epochs}  loss {loss_sum:.4f}  held-out loss {valid_loss:.4f}  {rates[-1]:.0f} tok/s', flush=True)
    timed = rates[1:] or rates
    median = statistics.median(timed)
    spread = (max(timed) - min(timed)) / 2 / median
    print(json.dumps({'peer': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'tokens_per_s': round(median, 1), 'spread': round(spread, 4), 'held_out_loss': round(valid_loss, 4)}))


if __name__ == '__main__':
    main()
