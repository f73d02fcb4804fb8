"""The book's Transformer (d2l zh 10.7: `TransformerEncoder`, `TransformerDecoder` and the
`EncoderDecoder` around them, with 10.5's multi-head attention and 10.6's positional encoding) in
PyTorch, for the interop test: `export` saves a seeded model's state_dict with
safetensors.torch.save_file (no Dive metadata); `import` loads a Dive checkpoint's weights (all
but `optimizer.*`) into the same modules with strict=True. Both then write, as JSON, the logits of
a fixed batch and the book's greedy `predict_seq2seq` translations, which the Swift test compares
with Dive's.

    python3 book_transformer.py export|export-f16|export-bf16|import FILE.safetensors SRC_VOCAB.json TGT_VOCAB.json RESULT.json \
        HIDDEN FFN HEADS LAYERS STEPS
"""
import json
import math
import sys

import torch
from torch import nn
from safetensors.torch import load_file, save_file


def masked_softmax(X, valid_lens):
    """Softmax over the last axis, with positions at or past each row's valid length set to -1e6."""
    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = X.reshape(-1, shape[-1])
    mask = torch.arange(shape[-1])[None, :] < valid_lens[:, None]
    X = X.masked_fill(~mask, -1e6)
    return nn.functional.softmax(X.reshape(shape), dim=-1)


class DotProductAttention(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(queries.shape[-1])
        return torch.bmm(self.dropout(masked_softmax(scores, valid_lens)), values)


def split_heads(X, heads):                       # (B, T, H) -> (B·heads, T, H/heads)
    X = X.reshape(X.shape[0], X.shape[1], heads, -1).permute(0, 2, 1, 3)
    return X.reshape(-1, X.shape[2], X.shape[3])


def join_heads(X, heads):                        # (B·heads, T, H/heads) -> (B, T, H)
    X = X.reshape(-1, heads, X.shape[1], X.shape[2]).permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class MultiHeadAttention(nn.Module):
    def __init__(self, hidden, heads, dropout):
        super().__init__()
        self.heads = heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(hidden, hidden, bias=False)
        self.W_k = nn.Linear(hidden, hidden, bias=False)
        self.W_v = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(hidden, hidden, bias=False)

    def forward(self, queries, keys, values, valid_lens):
        q, k, v = (split_heads(W(x), self.heads) for W, x in ((self.W_q, queries), (self.W_k, keys), (self.W_v, values)))
        if valid_lens is not None:
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.heads, dim=0)
        return self.W_o(join_heads(self.attention(q, k, v, valid_lens), self.heads))


class PositionalEncoding(nn.Module):
    def __init__(self, hidden, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.P = torch.zeros((1, max_len, hidden))      # not a parameter or buffer: not in the state_dict
        X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
            10000, torch.arange(0, hidden, 2, dtype=torch.float32) / hidden)
        self.P[:, :, 0::2] = torch.sin(X)
        self.P[:, :, 1::2] = torch.cos(X)

    def forward(self, X):
        return self.dropout(X + self.P[:, :X.shape[1], :])


class PositionWiseFFN(nn.Module):
    def __init__(self, hidden, ffn):
        super().__init__()
        self.dense1 = nn.Linear(hidden, ffn)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn, hidden)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(hidden)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class EncoderBlock(nn.Module):
    def __init__(self, hidden, ffn, heads, dropout):
        super().__init__()
        self.attention = MultiHeadAttention(hidden, heads, dropout)
        self.addnorm1 = AddNorm(hidden, dropout)
        self.ffn = PositionWiseFFN(hidden, ffn)
        self.addnorm2 = AddNorm(hidden, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(nn.Module):
    def __init__(self, vocab, hidden, ffn, heads, layers, dropout):
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab, hidden)
        self.pos_encoding = PositionalEncoding(hidden, dropout)
        self.blks = nn.Sequential()
        for i in range(layers):
            self.blks.add_module("block" + str(i), EncoderBlock(hidden, ffn, heads, dropout))

    def forward(self, X, valid_lens):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.hidden))
        for blk in self.blks:
            X = blk(X, valid_lens)
        return X


class DecoderBlock(nn.Module):
    def __init__(self, hidden, ffn, heads, dropout, i):
        super().__init__()
        self.i = i
        self.attention1 = MultiHeadAttention(hidden, heads, dropout)
        self.addnorm1 = AddNorm(hidden, dropout)
        self.attention2 = MultiHeadAttention(hidden, heads, dropout)
        self.addnorm2 = AddNorm(hidden, dropout)
        self.ffn = PositionWiseFFN(hidden, ffn)
        self.addnorm3 = AddNorm(hidden, dropout)

    def forward(self, X, state):
        enc_outputs, enc_valid_lens = state[0], state[1]
        key_values = X if state[2][self.i] is None else torch.cat((state[2][self.i], X), dim=1)
        state[2][self.i] = key_values
        dec_valid_lens = None
        if self.training:
            batch, steps, _ = X.shape
            dec_valid_lens = torch.arange(1, steps + 1).repeat(batch, 1)
        Y = self.addnorm1(X, self.attention1(X, key_values, key_values, dec_valid_lens))
        Z = self.addnorm2(Y, self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens))
        return self.addnorm3(Z, self.ffn(Z)), state


class TransformerDecoder(nn.Module):
    def __init__(self, vocab, hidden, ffn, heads, layers, dropout):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.embedding = nn.Embedding(vocab, hidden)
        self.pos_encoding = PositionalEncoding(hidden, dropout)
        self.blks = nn.Sequential()
        for i in range(layers):
            self.blks.add_module("block" + str(i), DecoderBlock(hidden, ffn, heads, dropout, i))
        self.dense = nn.Linear(hidden, vocab)

    def init_state(self, enc_outputs, enc_valid_lens):
        return [enc_outputs, enc_valid_lens, [None] * self.layers]

    def forward(self, X, state):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.hidden))
        for blk in self.blks:
            X, state = blk(X, state)
        return self.dense(X), state


class EncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, enc_X, dec_X, enc_valid_lens):
        state = self.decoder.init_state(self.encoder(enc_X, enc_valid_lens), enc_valid_lens)
        return self.decoder(dec_X, state)[0]


def predict_seq2seq(net, sentence, src, tgt, steps):
    """The book's greedy translation: <eos>-terminated source padded to `steps`, one token at a time."""
    src_index = {t: i for i, t in enumerate(src)}
    tokens = [src_index.get(t, 0) for t in sentence.lower().split(" ")] + [src_index["<eos>"]]
    enc_valid_len = torch.tensor([len(tokens)])
    tokens = tokens[:steps] + [src_index["<pad>"]] * (steps - len(tokens))
    state = net.decoder.init_state(net.encoder(torch.tensor([tokens]), enc_valid_len), enc_valid_len)
    dec_X = torch.tensor([[tgt.index("<bos>")]])
    out = []
    for _ in range(steps):
        Y, state = net.decoder(dec_X, state)
        dec_X = Y.argmax(dim=2)
        pred = int(dec_X.squeeze(dim=0))
        if pred == tgt.index("<eos>"):
            break
        out.append(pred)
    return " ".join(tgt[i] for i in out)


SENTENCES = ["go .", "i lost .", "he's calm .", "i'm home ."]


def main():
    mode, path, src_path, tgt_path, result_path = sys.argv[1:6]
    hidden, ffn, heads, layers, steps = (int(a) for a in sys.argv[6:11])
    src, tgt = json.load(open(src_path)), json.load(open(tgt_path))
    torch.manual_seed(7)
    net = EncoderDecoder(TransformerEncoder(len(src), hidden, ffn, heads, layers, 0.1),
                         TransformerDecoder(len(tgt), hidden, ffn, heads, layers, 0.1))
    if mode == "export":
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    elif mode in ("export-f16", "export-bf16"):
        net = net.to(torch.float16 if mode == "export-f16" else torch.bfloat16)
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
        net = net.float()                                          # the rounded weights, computed in float32
    else:
        # A Dive checkpoint also holds Adam's moments, under optimizer.*; the rest is the model.
        weights = {k: v for k, v in load_file(path).items() if not k.startswith("optimizer.")}
        net.load_state_dict(weights, strict=True)
    net.eval()
    with torch.no_grad():
        enc_X = (torch.arange(2 * steps) * 7 % len(src)).reshape(2, steps)
        dec_X = (torch.arange(2 * steps) * 5 % len(tgt)).reshape(2, steps)
        logits = net(enc_X, dec_X, torch.tensor([4, steps]))      # (2, steps, V), batch-major
        translations = [predict_seq2seq(net, s, src, tgt, steps) for s in SENTENCES]
    json.dump({"logits": logits.reshape(-1).tolist(), "translations": translations}, open(result_path, "w"))


if __name__ == "__main__":
    main()
