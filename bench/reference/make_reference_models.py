#!/usr/bin/python3
"""Train the reference multi-exit models (a 3-exit CNN and a 6-exit ViT-style
transformer on Fashion-MNIST), export them to ONNX and write the test set
beside them, so that traces recorded with Exit Studio can be checked against
figures computed independently (see reference_figures.py).

Run with Debian's interpreter (needs the Debian packages python3-torch,
python3-onnx, python3-numpy, dataset-fashion-mnist; no network):

    /usr/bin/python3 bench/reference/make_reference_models.py --out /tmp/refs

Writes into --out (nothing here belongs in the repository):
    cnn3.onnx, vit6.onnx  input `image` float32 [batch, 1, 28, 28], pixels in
                          [0, 1] (normalisation is inside the models); outputs
                          `exit_1` .. `exit_K` float32 [batch, 10] raw logits,
                          in depth order
    test-images.npy       float32 [10000, 1, 28, 28], the Fashion-MNIST test set
    test-labels.npy       int64 [10000]
    testA-images.npy, testA-labels.npy   the first 5,000 test images
    testB-images.npy, testB-labels.npy   the last 5,000 test images
    cnn3.json, vit6.json  per model: architecture, hand-counted MACs per exit,
                          parameters, ONNX op counts, per-exit test accuracy
                          (torch), training settings, log and time; versions

Only the 60,000 training images are trained on; the test set is used for
evaluation only.
"""

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The Fashion-MNIST reader, the per-exit evaluation and the normalisation
# constants are the embedded sample's (resources/sample/make_sample.py).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.join(REPO, "resources", "sample"))
from make_sample import DATA_DIR, MEAN, STD, evaluate, load_split  # noqa: E402

CLASSES = 10


# --------------------------------------------------------------------------
# cnn3: three conv blocks, an exit after each. The block widths are chosen so
# that the cumulative MACs per exit are close to 0.2 / 0.5 / 1 of the whole
# network, the costs the policy figures are stated with.
# --------------------------------------------------------------------------

CNN_WIDTHS = (16, 32, 88)


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PoolHead(nn.Module):
    """Exit: fixed average pool -> flatten -> (dropout) -> linear. A fixed
    AvgPool2d rather than adaptive pooling keeps the export a plain
    AveragePool (torch 1.13 cannot export adaptive pooling to 2x2 from 7x7)."""

    def __init__(self, channels, kernel, stride, grid, dropout=0.0):
        super().__init__()
        self.pool = nn.AvgPool2d(kernel, stride)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(channels * grid * grid, CLASSES)

    def forward(self, x):
        return self.fc(self.drop(torch.flatten(self.pool(x), 1)))


class CNN3(nn.Module):
    """28x28 -> block1 (2 convs, 16ch, pool -> 14x14) -> exit_1 (avgpool 7/7 -> 16x2x2 -> fc)
             -> block2 (2 convs, 32ch, pool ->  7x7)  -> exit_2 (avgpool 4/3 -> 32x2x2 -> fc)
             -> block3 (2 convs, 88ch)                -> exit_3 (avgpool 7 -> 88 -> dropout -> fc)
    """

    def __init__(self):
        super().__init__()
        a, b, c = CNN_WIDTHS
        self.block1 = nn.Sequential(*conv_bn_relu(1, a), *conv_bn_relu(a, a), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(*conv_bn_relu(a, b), *conv_bn_relu(b, b), nn.MaxPool2d(2))
        self.block3 = nn.Sequential(*conv_bn_relu(b, c), *conv_bn_relu(c, c))
        self.exit1 = PoolHead(a, 7, 7, 2)   # 14x14 -> 2x2
        self.exit2 = PoolHead(b, 4, 3, 2)   # 7x7 -> 2x2 (overlapping)
        self.exit3 = PoolHead(c, 7, 7, 1, dropout=0.25)  # 7x7 -> 1x1

    def forward(self, image):
        x = (image - MEAN) / STD
        h1 = self.block1(x)
        h2 = self.block2(h1)
        h3 = self.block3(h2)
        return self.exit1(h1), self.exit2(h2), self.exit3(h3)


def cnn3_macs():
    """Cumulative multiply-accumulates per image up to and including each exit:
    convolutions and linear layers (BN is folded at export; ReLU and pooling
    do no multiply-accumulates)."""
    a, b, c = CNN_WIDTHS
    conv = lambda cin, cout, hw: cout * cin * 9 * hw * hw
    s1 = conv(1, a, 28) + conv(a, a, 28)
    s2 = conv(a, b, 14) + conv(b, b, 14)
    s3 = conv(b, c, 7) + conv(c, c, 7)
    heads = [a * 4 * CLASSES, b * 4 * CLASSES, c * CLASSES]
    macs = [s1 + heads[0], s1 + s2 + heads[1], s1 + s2 + s3 + heads[2]]
    return macs, {"blocks": [s1, s2, s3], "heads": heads}


# --------------------------------------------------------------------------
# vit6: rows as tokens, d 64, 4 heads, FFN 128, 6 post-norm encoder layers
# (torch's own nn.TransformerEncoderLayer, as a user would write it), a CLS
# token and learned positional embedding, an exit on the CLS token after
# every layer (LayerNorm + linear).
# --------------------------------------------------------------------------

VIT = {"tokens": 28, "features": 28, "d": 64, "heads": 4, "ffn": 128, "layers": 6, "dropout": 0.1}


class ViT6(nn.Module):
    """[B, 1, 28, 28] -> 28 row tokens of 28 pixels -> linear (no bias) to d 64
    -> CLS token prepended, learned positional embedding (29 tokens)
    -> 6 x nn.TransformerEncoderLayer (post-norm, 4 heads, FFN 128, ReLU,
       dropout 0.1), after each: exit_k = linear(LayerNorm(CLS token))
    """

    def __init__(self):
        super().__init__()
        d, n = VIT["d"], VIT["tokens"]
        self.embed = nn.Linear(VIT["features"], d, bias=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, d))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d, VIT["heads"], VIT["ffn"], dropout=VIT["dropout"], batch_first=True)
            for _ in range(VIT["layers"]))
        self.exits = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(d), nn.Linear(d, CLASSES)) for _ in range(VIT["layers"]))

    def forward(self, image):
        x = (image - MEAN) / STD
        tokens = self.embed(x.flatten(1, 2))  # [B, 1, 28, 28] -> [B, 28 rows, 28 features] -> [B, 28, d]
        h = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], 1) + self.pos
        outs = []
        for layer, head in zip(self.layers, self.exits):
            h = layer(h)
            outs.append(head(h[:, 0]))
        return tuple(outs)


def vit6_macs():
    """Cumulative MACs per image per exit: the embedding, then per layer the
    QKV projection, attention scores and weighted values, output projection
    and FFN over T = 29 tokens, plus the exit's own linear head (LayerNorm,
    softmax, residual adds do no multiply-accumulates)."""
    T, d, f, L = VIT["tokens"] + 1, VIT["d"], VIT["ffn"], VIT["layers"]
    embed = VIT["tokens"] * VIT["features"] * d
    layer = T * d * 3 * d + 2 * T * T * d + T * d * d + 2 * T * d * f
    head = d * CLASSES
    return [embed + k * layer + head for k in range(1, L + 1)], {"embedding": embed, "layer": layer, "head": head}


# --------------------------------------------------------------------------


def save_npy(path, array):
    """Write through a temporary name, so that two runs building different
    models into one folder never leave a half-written file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array))
    os.replace(tmp, path)


def train(name, model, xtr, ytr, xte, yte, epochs, batch_size, lr, weight_decay, seed):
    """Joint training of every exit: loss = sum over exits of cross-entropy.
    AdamW with a OneCycle schedule; shuffling from its own seeded generator."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = (len(xtr) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    c0 = time.process_time()
    log = []
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), batch_size):
            idx = perm[i:i + batch_size]
            outs = model(xtr_t[idx])
            loss = sum(F.cross_entropy(o, ytr_t[idx]) for o in outs)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        acc = evaluate(model, xte, yte)
        log.append({"epoch": epoch + 1, "loss": round(total / len(xtr), 4), "test_acc": [round(a, 4) for a in acc]})
        print(f"{name} epoch {epoch + 1}/{epochs} loss {total / len(xtr):.4f} "
              f"test acc {' '.join(f'{a:.4f}' for a in acc)} "
              f"({time.time() - t0:.0f}s wall, {time.process_time() - c0:.0f}s cpu)", flush=True)
    return {"wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1), "epochs": log}


def export(model, path, exits, sample, opset):
    import onnx
    out_names = [f"exit_{k + 1}" for k in range(exits)]
    dyn = {"image": {0: "batch"}}
    dyn.update({n: {0: "batch"} for n in out_names})
    model.eval()
    torch.onnx.export(
        model, torch.from_numpy(sample), path,
        input_names=["image"], output_names=out_names, dynamic_axes=dyn,
        opset_version=opset, do_constant_folding=True, export_params=True)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    assert [o.name for o in m.graph.output] == out_names, [o.name for o in m.graph.output]
    assert [i.name for i in m.graph.input] == ["image"]
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return out_names, dict(sorted(ops.items()))


MODELS = {
    "cnn3": {"make": CNN3, "macs": cnn3_macs, "config": {"widths": list(CNN_WIDTHS)},
             "train": {"epochs": 3, "batch_size": 128, "lr": 3e-3, "weight_decay": 1e-4}},
    "vit6": {"make": ViT6, "macs": vit6_macs, "config": VIT,
             "train": {"epochs": 6, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4}},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--models", default="cnn3,vit6", help="comma-separated: " + ", ".join(MODELS))
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, help="override every model's default epochs")
    ap.add_argument("--train-samples", type=int, default=60000,
                    help="train on the first N training images (for a quick smoke run)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n!r}; known: {', '.join(MODELS)}")

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    xtr, ytr = xtr[:args.train_samples], ytr[:args.train_samples]
    print(f"train {xtr.shape} test {xte.shape}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    half = len(xte) // 2
    for prefix, sl in (("test", slice(None)), ("testA", slice(0, half)), ("testB", slice(half, None))):
        save_npy(os.path.join(args.out, f"{prefix}-images.npy"), xte[sl])
        save_npy(os.path.join(args.out, f"{prefix}-labels.npy"), yte[sl])
    data = {
        "dataset": "Fashion-MNIST (Zalando, MIT) test set",
        "test": "test-images.npy / test-labels.npy: all 10,000 test images",
        "testA": f"testA-*.npy: test images 0..{half - 1}",
        "testB": f"testB-*.npy: test images {half}..{len(xte) - 1}",
        "images": {"dtype": "float32", "shape": ["N", 1, 28, 28], "range": [0.0, 1.0]},
        "labels": {"dtype": "int64", "shape": ["N"]},
    }
    import onnx
    versions = {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                "python": sys.version.split()[0], "opset": args.opset}

    for name in names:
        spec = MODELS[name]
        settings = dict(spec["train"])
        if args.epochs:
            settings["epochs"] = args.epochs
        # Each model starts from the same seeds, whichever models are built in the run.
        random.seed(args.seed)
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        model = spec["make"]()
        run = train(name, model, xtr, ytr, xte, yte, seed=args.seed, **settings)
        model.eval()
        acc = evaluate(model, xte, yte)
        acc_a = evaluate(model, xte[:half], yte[:half])
        acc_b = evaluate(model, xte[half:], yte[half:])
        path = os.path.join(args.out, f"{name}.onnx")
        out_names, ops = export(model, path, len(acc), xte[:2], args.opset)
        macs, parts = spec["macs"]()
        manifest = {
            "onnx": f"{name}.onnx",
            "architecture": spec["make"].__doc__.strip(),
            "config": spec["config"],
            "outputs": out_names,
            "exit_macs": macs,
            "exit_macs_parts": parts,
            "exit_macs_normalized": [round(m / macs[-1], 4) for m in macs],
            "params": sum(p.numel() for p in model.parameters()),
            "onnx_ops": ops,
            "accuracy_test": [round(a, 4) for a in acc],
            "accuracy_testA": [round(a, 4) for a in acc_a],
            "accuracy_testB": [round(a, 4) for a in acc_b],
            "training": {"seed": args.seed, "train_samples": len(xtr), "optimizer": "AdamW + OneCycleLR",
                         "loss": "sum over exits of cross-entropy", "threads": args.threads, **settings,
                         "wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "log": run["epochs"]},
            "data": data,
            "versions": versions,
        }
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(f"{name}: params {manifest['params']}  MACs per exit {macs}  "
              f"test acc {' '.join(f'{a:.4f}' for a in acc)}  train {run['wall_s']:.0f}s wall / {run['cpu_s']:.0f}s cpu",
              flush=True)

    for fn in sorted(os.listdir(args.out)):
        print(f"  {fn}: {os.path.getsize(os.path.join(args.out, fn))} bytes")


if __name__ == "__main__":
    sys.exit(main())
