"""A BERT-base-shaped multi-exit text classifier with random weights, for `npm run bench:big`.

12 encoder layers, hidden 768, 12 heads, FFN 3072, a 30,522-token vocabulary, and an exit (a
pooler and a 2-class head on the first token, as ElasticBERT has) after every second layer: six
exits, about 450 MB of float32 weights. Exported by torch.onnx.export as a user would, the
weights saved as external data beside the .onnx file; tokenized inputs (input_ids and
attention_mask, sequence length 128, padded) go into an .npz.

Usage: python3 bert-model.py MODEL.onnx DATA.npz SAMPLES
Needs PyTorch and onnx (Debian: python3-torch, python3-onnx). Nothing is downloaded.
"""
import math
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn

LAYERS, HIDDEN, HEADS, FFN, VOCAB, SEQ, EXITS, CLASSES = 12, 768, 12, 3072, 30522, 128, 6, 2


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.f1, self.f2 = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN)

    def forward(self, x, bias):
        b, t = x.size(0), x.size(1)

        def heads(y):
            return y.view(b, t, HEADS, HIDDEN // HEADS).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias, -1) @ v
        x = self.ln1(x + self.o(a.transpose(1, 2).reshape(b, t, HIDDEN)))
        return self.ln2(x + self.f2(nn.functional.gelu(self.f1(x))))


class MultiExitBert(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos, self.typ = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(512, HIDDEN), nn.Embedding(2, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.pool = nn.ModuleList(nn.Linear(HIDDEN, HIDDEN) for _ in range(EXITS))
        self.cls = nn.ModuleList(nn.Linear(HIDDEN, CLASSES) for _ in range(EXITS))

    def forward(self, ids, mask):
        pos = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)
        x = self.ln(self.tok(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x, bias)
            if (i + 1) % (LAYERS // EXITS) == 0:
                e = len(outs)
                outs.append(self.cls[e](torch.tanh(self.pool[e](x[:, 0]))))
        return tuple(outs)


def main(model_path, data_path, samples):
    torch.manual_seed(0)
    model = MultiExitBert().eval()
    names = [f'exit_{i + 1}' for i in range(EXITS)]
    example = (torch.randint(0, VOCAB, (2, SEQ)), torch.ones(2, SEQ, dtype=torch.int64))
    tmp = model_path + '.export.onnx'
    torch.onnx.export(model, example, tmp, input_names=['input_ids', 'attention_mask'], output_names=names,
                      dynamic_axes={'input_ids': {0: 'batch'}, 'attention_mask': {0: 'batch'}, **{n: {0: 'batch'} for n in names}},
                      opset_version=14)
    exported = onnx.load(tmp)
    os.remove(tmp)
    onnx.save_model(exported, model_path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=os.path.basename(model_path) + '.data', size_threshold=1024)
    rng = np.random.default_rng(1)
    ids = rng.integers(1000, VOCAB, size=(samples, SEQ), dtype=np.int64)
    ids[:, 0] = 101  # [CLS]
    lengths = rng.integers(SEQ // 4, SEQ + 1, size=samples)
    mask = (np.arange(SEQ)[None, :] < lengths[:, None]).astype(np.int64)
    np.savez(data_path, input_ids=ids, attention_mask=mask)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
