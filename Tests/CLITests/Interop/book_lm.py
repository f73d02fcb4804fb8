"""The book's concise language model (d2l 8.6 `RNNModel` around `nn.LSTM`/`nn.GRU`/`nn.RNN`) in
PyTorch, for the interop test: `export` saves a seeded model's state_dict with
safetensors.torch.save_file (no Dive metadata); `import` loads a Dive checkpoint into the same
module with strict=True. Both then write, as JSON, the logits of a fixed batch and the book's
greedy `predict_ch8` continuation, which the Swift test compares with Dive's.

    python3 book_lm.py export|export-f16|export-bf16|import FILE.safetensors VOCAB.json RESULT.json [lstm|gru|rnn] [hidden]
"""
import json
import sys

import torch
from torch import nn
from torch.nn import functional as F
from safetensors.torch import load_file, save_file


class RNNModel(nn.Module):
    """d2l.RNNModel (zh 8.6): one-hot inputs, a recurrent layer, a dense output layer."""

    def __init__(self, rnn_layer, vocab_size):
        super().__init__()
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state

    def begin_state(self, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        if isinstance(self.rnn, nn.LSTM):
            return (torch.zeros(shape), torch.zeros(shape))
        return torch.zeros(shape)


def predict_ch8(prefix, num_preds, net, idx_to_token):
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    state = net.begin_state(batch_size=1)
    outputs = [token_to_idx.get(prefix[0], 0)]
    get_input = lambda: torch.tensor([outputs[-1]]).reshape((1, 1))
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(token_to_idx.get(y, 0))
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join(idx_to_token[i] for i in outputs)


def main():
    mode, path, vocab_path, result_path = sys.argv[1:5]
    cell = sys.argv[5] if len(sys.argv) > 5 else "lstm"
    hidden = int(sys.argv[6]) if len(sys.argv) > 6 else 256
    idx_to_token = json.load(open(vocab_path))
    V = len(idx_to_token)
    torch.manual_seed(7)
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](V, hidden)
    net = RNNModel(layer, V)
    if mode == "export":
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    elif mode in ("export-f16", "export-bf16"):
        dtype = torch.float16 if mode == "export-f16" else torch.bfloat16
        net = net.to(dtype)
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
        net = net.float()                                          # the rounded weights, computed in float32
    else:
        net.load_state_dict(load_file(path), strict=True)
    net.eval()
    with torch.no_grad():
        X = (torch.arange(10) * 7 % V).reshape(2, 5)             # (batch 2, 5 steps), the book's layout
        logits, _ = net(X, net.begin_state(batch_size=2))         # (5·2, V), time-major rows
        text = predict_ch8("time traveller", 20, net, idx_to_token)
    json.dump({"inputs": X.tolist(), "logits": logits.reshape(-1).tolist(), "predict": text}, open(result_path, "w"))


if __name__ == "__main__":
    main()
