"""The book's 9.7 GRU encoder-decoder trained as its train_seq2seq does, in PyTorch on the CPU: the
peer `dive bench models --recipes seq2seq` is compared with, run on the same machine. Written from
../shared/REFERENCE.md (the d2l helpers' semantics), not from d2l.

    pip install torch==2.13.0+cpu
    python3 Benchmarks/Peers/pytorch_book_seq2seq.py --data ../shared/data --epochs 20

Prints the median tokens/s over the timed epochs (the book counts the valid target tokens) and its
spread, then the loss of the last epoch.
"""
import argparse
import collections
import random
import statistics
import time
import warnings

warnings.filterwarnings('ignore', message='Failed to initialize NumPy')   # torch without numpy
import torch
from torch import nn


def preprocess(text):
    text = text.replace('\u202f', ' ').replace('\xa0', ' ').lower()
    out = [' ' + c if i > 0 and c in ',.!?' and text[i - 1] != ' ' else c for i, c in enumerate(text)]
    return ''.join(out)


def tokenize(text, num_examples):
    source, target = [], []
    for i, line in enumerate(text.split('\n')):
        if i > num_examples:
            break
        parts = line.split('\t')
        if len(parts) == 2:
            source.append(parts[0].split(' '))
            target.append(parts[1].split(' '))
    return source, target


class Vocab:
    """`<unk>` = 0, then the reserved tokens, then tokens seen at least min_freq times by falling count."""
    def __init__(self, lines, min_freq, reserved):
        counts = collections.Counter(t for line in lines for t in line)
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        self.tokens = ['<unk>'] + reserved + [t for t, n in ranked if n >= min_freq and t not in reserved]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def __getitem__(self, token):
        return self.index.get(token, 0)


def build_array(lines, vocab, steps):
    rows = [[vocab[t] for t in line] + [vocab['<eos>']] for line in lines]
    rows = [r[:steps] + [vocab['<pad>']] * (steps - len(r[:steps])) for r in rows]
    array = torch.tensor(rows)
    return array, (array != vocab['<pad>']).sum(1)


class Encoder(nn.Module):
    def __init__(self, vocab, embed, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden, layers, dropout=dropout)

    def forward(self, x):
        return self.rnn(self.embedding(x).permute(1, 0, 2))          # (T, B, H), (L, B, H)


class Decoder(nn.Module):
    """The zh decoder: the context is the top layer of the state it is given, repeated over time."""
    def __init__(self, vocab, embed, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed + hidden, hidden, layers, dropout=dropout)
        self.dense = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        x = self.embedding(x).permute(1, 0, 2)                          # (T, B, E)
        context = state[-1].repeat(x.shape[0], 1, 1)                    # (T, B, H)
        y, state = self.rnn(torch.cat((x, context), 2), state)
        return self.dense(y).permute(1, 0, 2), state                    # (B, T, V)


def masked_loss(pred, label, valid_len):
    mask = (torch.arange(label.shape[1])[None, :] < valid_len[:, None]).float()
    ce = nn.functional.cross_entropy(pred.permute(0, 2, 1), label, reduction='none')
    return (ce * mask).mean(dim=1)


def xavier(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
    if isinstance(module, nn.GRU):
        for name, p in module.named_parameters():
            if 'weight' in name:
                nn.init.xavier_uniform_(p)


def clip(params, theta):
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm


def epoch(encoder, decoder, batches, opt, bos):
    params = [p for p in list(encoder.parameters()) + list(decoder.parameters()) if p.requires_grad]
    loss_sum, tokens, start = 0.0, 0, time.perf_counter()
    for x, x_len, y, y_len in batches():
        opt.zero_grad()
        dec_input = torch.cat([torch.full((y.shape[0], 1), bos), y[:, :-1]], 1)   # <bos> + Y[:, :-1]
        _, state = encoder(x)
        y_hat, _ = decoder(dec_input, state)
        l = masked_loss(y_hat, y, y_len)
        l.sum().backward()
        clip(params, 1)
        opt.step()
        with torch.no_grad():
            loss_sum += l.sum().item()
            tokens += y_len.sum().item()
    return tokens / (time.perf_counter() - start), loss_sum / tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='../shared/data')
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=20)
    args = ap.parse_args()
    with open(args.data + '/fra-eng/fra.txt', encoding='utf-8') as f:
        source, target = tokenize(preprocess(f.read()), 600)
    reserved = ['<pad>', '<bos>', '<eos>']
    src_vocab, tgt_vocab = Vocab(source, 2, reserved), Vocab(target, 2, reserved)
    steps, batch = 10, 64
    x_all, x_len_all = build_array(source, src_vocab, steps)
    y_all, y_len_all = build_array(target, tgt_vocab, steps)

    def batches():
        order = torch.randperm(len(x_all))
        for i in range(0, len(order), batch):
            j = order[i:i + batch]
            yield x_all[j], x_len_all[j], y_all[j], y_len_all[j]

    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'{len(x_all)} pairs, vocabularies {len(src_vocab)} / {len(tgt_vocab)}')
    torch.manual_seed(0)
    random.seed(0)
    encoder = Encoder(len(src_vocab), 32, 32, 2, 0.1)
    decoder = Decoder(len(tgt_vocab), 32, 32, 2, 0.1)
    encoder.apply(xavier)
    decoder.apply(xavier)
    encoder.train()
    decoder.train()
    opt = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=0.005)
    results = [epoch(encoder, decoder, batches, opt, tgt_vocab['<bos>']) for _ in range(args.warmup + args.epochs)]
    rates = [rate for rate, _ in results[args.warmup:]]
    med = statistics.median(rates)
    spread = (max(rates) - min(rates)) / 2 / med * 100
    print(f'seq2seq    pytorch cpu {med:10.0f} tokens/s ± {spread:.1f}%   (min {min(rates):.0f}, max {max(rates):.0f}); '
          f'loss {results[-1][1]:.3f}')


if __name__ == '__main__':
    main()
