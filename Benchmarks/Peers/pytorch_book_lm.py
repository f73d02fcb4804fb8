"""The book's concise language models (8.6 RNN, 9.1 GRU, 9.2 LSTM, 9.3 deep LSTM) trained as its
train_ch8 does, in PyTorch on the CPU: the peer `dive bench models` is compared with, run on the
same machine. Written from ../shared/REFERENCE.md (the d2l helpers' semantics), not from d2l.

    pip install torch==2.13.0+cpu
    python3 Benchmarks/Peers/pytorch_book_lm.py --data ../shared/data --models rnn,gru,lstm --epochs 20

Prints the median tokens/s over the timed epochs (the book counts Y's tokens) and its spread.
"""
import argparse
import collections
import math
import random
import re
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F


def load_corpus(path, max_tokens=10000):
    with open(path) as f:
        lines = [re.sub('[^A-Za-z]+', ' ', line).strip().lower() for line in f]
    tokens = [c for line in lines for c in line]
    counts = collections.Counter(tokens)
    vocab = ['<unk>'] + sorted(counts, key=lambda t: -counts[t])   # stable: ties keep first-seen order
    index = {t: i for i, t in enumerate(vocab)}
    return [index[t] for t in tokens][:max_tokens], len(vocab)


def sequential_batches(corpus, batch, steps):
    offset = random.randint(0, steps)
    n = ((len(corpus) - offset - 1) // batch) * batch
    xs = torch.tensor(corpus[offset:offset + n]).reshape(batch, -1)
    ys = torch.tensor(corpus[offset + 1:offset + 1 + n]).reshape(batch, -1)
    for i in range(0, (xs.shape[1] // steps) * steps, steps):
        yield xs[:, i:i + steps], ys[:, i:i + steps]


class RNNModel(nn.Module):
    def __init__(self, layer, vocab):
        super().__init__()
        self.rnn, self.vocab = layer, vocab
        self.linear = nn.Linear(layer.hidden_size, vocab)

    def forward(self, x, state):
        x = F.one_hot(x.T.long(), self.vocab).to(torch.float32)
        y, state = self.rnn(x, state)
        return self.linear(y.reshape(-1, y.shape[-1])), state

    def begin_state(self, batch):
        shape = (self.rnn.num_layers, batch, self.rnn.hidden_size)
        if isinstance(self.rnn, nn.LSTM):
            return torch.zeros(shape), torch.zeros(shape)
        return torch.zeros(shape)


def clip(params, theta):
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm


def epoch(net, corpus, opt, loss):
    state, tokens, start = None, 0, time.perf_counter()
    for x, y in sequential_batches(corpus, 32, 35):
        if state is None:
            state = net.begin_state(x.shape[0])
        else:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        y_hat, state = net(x, state)
        l = loss(y_hat, y.T.reshape(-1).long()).mean()
        opt.zero_grad()
        l.backward()
        clip([p for p in net.parameters() if p.requires_grad], 1)
        opt.step()
        tokens += y.numel()
    return tokens / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='../shared/data')
    ap.add_argument('--models', default='rnn,gru,lstm,deep-lstm')
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=20)
    args = ap.parse_args()
    corpus, vocab = load_corpus(args.data + '/timemachine.txt')
    layers = {'rnn': lambda: nn.RNN(vocab, 256), 'gru': lambda: nn.GRU(vocab, 256),
              'lstm': lambda: nn.LSTM(vocab, 256), 'deep-lstm': lambda: nn.LSTM(vocab, 256, 2)}
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    for name in args.models.split(','):
        torch.manual_seed(0)
        random.seed(0)
        net = RNNModel(layers[name](), vocab)
        opt = torch.optim.SGD(net.parameters(), lr=1 if name != 'deep-lstm' else 2)
        loss = nn.CrossEntropyLoss()
        rates = [epoch(net, corpus, opt, loss) for _ in range(args.warmup + args.epochs)][args.warmup:]
        med = statistics.median(rates)
        spread = (max(rates) - min(rates)) / 2 / med * 100
        print(f'{name:10s} pytorch cpu {med:10.0f} tokens/s ± {spread:.1f}%   (min {min(rates):.0f}, max {max(rates):.0f})')


if __name__ == '__main__':
    main()
