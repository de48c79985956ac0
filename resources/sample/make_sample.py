#!/usr/bin/python3
"""Build Exit Studio's embedded sample: a small multi-exit CNN trained on
Fashion-MNIST, exported to ONNX, plus the labelled test set (all 10,000 images
by default).

Run from the repository root with Debian's interpreter (needs the Debian
packages python3-torch, python3-onnx, python3-numpy, dataset-fashion-mnist):

    /usr/bin/python3 resources/sample/make_sample.py --out resources/sample

Writes into --out:
    model.onnx     input  `image`  float32 [batch, 1, 28, 28], pixels in [0, 1]
                   outputs `exit_1` .. `exit_4` float32 [batch, 10] raw logits,
                   in depth order (mean/std normalisation is inside the model)
    data.npz       one member, image.npy: float32 [N, 1, 28, 28] in [0, 1], the
                   first N test images (N = 10,000, the whole test set, unless
                   --slice), deflated as numpy.savez_compressed does but with a
                   fixed timestamp so that the bytes are reproducible
    labels.npy     int64 [N]
    classes.txt    the 10 class names, one per line, in label order
    manifest.json  shapes, names, cumulative MACs per exit ("exit_macs"), params,
                   measured accuracies, training settings, versions

Only the 60,000 training images are used for training; the test set is used
only for evaluation and for the data written.
"""

import argparse
import gzip
import json
import os
import random
import struct
import sys
import time
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Mean/std of the Fashion-MNIST training pixels scaled to [0, 1].
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (x.astype(np.float32) / 255.0)[:, None, :, :]
    return np.ascontiguousarray(x), y.astype(np.int64)


def save_npz_reproducible(path, arrays):
    """numpy.savez_compressed, except that every member carries the zip epoch
    (1980-01-01) instead of the current time, so the same arrays always give the
    same bytes (and the sha256 in resources/README.md can be checked)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(a), allow_pickle=False)


class ExitHead(nn.Module):
    """Cheap exit: average pool (to a 2x2 or 1x1 grid) -> flatten -> linear.

    Uses a fixed AvgPool2d rather than adaptive pooling so that the ONNX export
    is a plain AveragePool (torch 1.13 cannot export adaptive pooling to 2x2
    from a 7x7 map)."""

    def __init__(self, channels, kernel, stride, grid, classes=10):
        super().__init__()
        self.pool = nn.AvgPool2d(kernel, stride)
        self.fc = nn.Linear(channels * grid * grid, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(x), 1))


def conv_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class MultiExitCNN(nn.Module):
    """Three conv blocks, an exit after each, and a final conv head.

    28x28 -> block1 (16ch, 14x14) -> exit_1
          -> block2 (32ch,  7x7)  -> exit_2
          -> block3 (64ch,  3x3)  -> exit_3
          -> conv 128 (3x3) -> global avg pool -> fc 10 = exit_4
    """

    def __init__(self, classes=10):
        super().__init__()
        self.block1 = conv_block(1, 16)
        self.block2 = conv_block(16, 32)
        self.block3 = conv_block(32, 64)
        self.exit1 = ExitHead(16, 7, 7, 2, classes)  # 14x14 -> 2x2
        self.exit2 = ExitHead(32, 4, 3, 2, classes)  # 7x7 -> 2x2 (overlapping)
        self.exit3 = ExitHead(64, 3, 3, 1, classes)  # 3x3 -> 1x1
        self.final = nn.Sequential(
            nn.Conv2d(64, 128, 3, padding=1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.AvgPool2d(3),
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(128, classes),
        )

    def forward(self, image):
        x = (image - MEAN) / STD
        h1 = self.block1(x)
        h2 = self.block2(h1)
        h3 = self.block3(h2)
        return self.exit1(h1), self.exit2(h2), self.exit3(h3), self.final(h3)


def exit_costs():
    """Multiply-accumulates per image, per exit (cumulative) and per stage.
    Counts convolutions and linear layers only (BN/ReLU/pool are negligible)."""
    c1 = 16 * 1 * 9 * 28 * 28
    c2 = 32 * 16 * 9 * 14 * 14
    c3 = 64 * 32 * 9 * 7 * 7
    e1, e2, e3 = 16 * 4 * 10, 32 * 4 * 10, 64 * 10
    fin = 128 * 64 * 9 * 3 * 3 + 128 * 10
    return [c1 + e1, c1 + c2 + e2, c1 + c2 + c3 + e3, c1 + c2 + c3 + fin]


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = None
    for i in range(0, len(x), batch):
        outs = model(torch.from_numpy(x[i:i + batch]))
        yb = torch.from_numpy(y[i:i + batch])
        c = [int((o.argmax(1) == yb).sum()) for o in outs]
        correct = c if correct is None else [a + b for a, b in zip(correct, c)]
    return [c / len(x) for c in correct]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="resources/sample")
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--exit-weights", default="1,1,1,1",
                    help="comma-separated loss weight per exit")
    ap.add_argument("--slice", type=int, default=None, metavar="N",
                    help="write only the first N test images to data.npz "
                         "(default: all 10,000)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ref-logits", metavar="DIR",
                    help="also write the torch logits of the data written as DIR/exit_k.npy "
                         "(to compare against another ONNX runtime)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    print(f"train {xtr.shape} test {xte.shape}", flush=True)

    model = MultiExitCNN()
    weights = [float(w) for w in args.exit_weights.split(",")]
    assert len(weights) == 4, "need 4 exit weights"
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)

    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            outs = model(xtr_t[idx])
            loss = sum(w * F.cross_entropy(o, ytr_t[idx]) for w, o in zip(weights, outs))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / len(xtr):.4f} "
              f"test acc {' '.join(f'{a:.4f}' for a in acc)} "
              f"({time.time() - t0:.0f}s)", flush=True)
    train_s = time.time() - t0

    model.eval()
    acc_full = evaluate(model, xte, yte)
    n = len(xte) if args.slice is None else args.slice
    assert 0 < n <= len(xte), f"--slice must be 1..{len(xte)}"
    xs, ys = np.ascontiguousarray(xte[:n]), np.ascontiguousarray(yte[:n])
    acc_data = evaluate(model, xs, ys)

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    out_names = [f"exit_{k + 1}" for k in range(4)]
    dyn = {"image": {0: "batch"}}
    dyn.update({name: {0: "batch"} for name in out_names})
    torch.onnx.export(
        model, torch.from_numpy(xs[:2]), onnx_path,
        input_names=["image"], output_names=out_names, dynamic_axes=dyn,
        opset_version=args.opset, do_constant_folding=True, export_params=True)

    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    got_outs = [o.name for o in m.graph.output]
    assert got_outs == out_names, got_outs
    assert [i.name for i in m.graph.input] == ["image"]

    # The input is named after the model's input, so the studio matches it by name.
    save_npz_reproducible(os.path.join(args.out, "data.npz"), {"image": xs.astype(np.float32)})
    np.save(os.path.join(args.out, "labels.npy"), ys.astype(np.int64))
    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")

    if args.ref_logits:
        os.makedirs(args.ref_logits, exist_ok=True)
        with torch.no_grad():
            ref = model(torch.from_numpy(xs))
        for name, r in zip(out_names, ref):
            np.save(os.path.join(args.ref_logits, name + ".npy"), r.numpy().astype(np.float32))

    # Reference check with onnxruntime when the Python binding exists.
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime (python) not available: ONNX outputs not re-run here")
    else:
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        with torch.no_grad():
            ref = [o.numpy() for o in model(torch.from_numpy(xs))]
        got = sess.run(out_names, {"image": xs})
        for name, r, g in zip(out_names, ref, got):
            print(f"{name}: max |torch - ort| = {np.abs(r - g).max():.2e}")

    n_params = sum(p.numel() for p in model.parameters())
    manifest = {
        "model": "model.onnx",
        "data": "data.npz",
        "labels": "labels.npy",
        "classes": "classes.txt",
        "dataset": "Fashion-MNIST (Zalando, MIT), test images 0..%d" % (n - 1),
        "input": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 28, 28],
                  "range": [0.0, 1.0], "normalisation": "inside the model: (x - %.4f) / %.4f" % (MEAN, STD)},
        "outputs": [{"name": nm, "shape": ["batch", 10], "kind": "logits"} for nm in out_names],
        "exit_macs": exit_costs(),
        "params": n_params,
        "samples": n,
        "accuracy_data": [round(a, 4) for a in acc_data],
        "accuracy_test_full": [round(a, 4) for a in acc_full],
        "training": {"seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
                     "optimizer": "Adam + OneCycleLR", "max_lr": args.lr,
                     "exit_loss_weights": weights, "threads": args.threads},
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "numpy": np.__version__, "opset": args.opset},
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    print(f"params {n_params}  train time {train_s:.0f}s")
    print(f"exit MACs {exit_costs()}")
    print(f"acc data[{n}] " + " ".join(f"{a:.4f}" for a in acc_data))
    print(f"acc test[{len(xte)}] " + " ".join(f"{a:.4f}" for a in acc_full))
    for fn in sorted(os.listdir(args.out)):
        print(f"  {fn}: {os.path.getsize(os.path.join(args.out, fn))} bytes")


if __name__ == "__main__":
    sys.exit(main())
