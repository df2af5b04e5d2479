#!/usr/bin/python3
"""torch_fixture.py — ONNX fixtures exported by torch.onnx.export, for tests/test_torch_onnx.c
and tests/torch_onnx.t.sh.

Trains two tiny CNNs on Fashion-MNIST (a ResNet-ish one and a MobileNetV2-ish one with an SE
block), exports each at several opsets with and without constant folding, and writes the
reference outputs the C tests compare against.  Only needed to *regenerate* tests/torch/; the
test suite itself never imports torch.

    apt-get install -y python3-torch python3-onnx      # Debian 12: torch 1.13.0, onnx 1.13
    /usr/bin/python3 tests/tools/torch_fixture.py [--data /usr/share/datasets/fashion-mnist]
                                                  [--out tests/torch]

Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), 2 intra-op threads, a
fixed subset of the training images in a fixed (seeded) order.  Re-running on the same torch
version and CPU gives the same weights; the C tests only depend on the committed files.
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530          # Fashion-MNIST training-set pixel mean / std (x in [0,1])
N_TRAIN, EPOCHS, BATCH, LR = 8000, 2, 64, 5e-3
N_EVAL, N_LOGITS = 256, 16
SEED = 20240607


def read_idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack(">I", buf[:4])[0]
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, buf[4:4 + 4 * nd])
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def normalise(u8):
    """Exactly the preprocessing frtui applies: x/255, then (x - mean)/std, in float32."""
    x = torch.from_numpy(u8.astype(np.float32)) * np.float32(1.0 / 255.0)
    return (x - np.float32(MEAN)) / np.float32(STD)


class ResNetish(nn.Module):
    """Conv+BN+ReLU stem, one residual block (add), MaxPool, a strided conv, AdaptiveAvgPool2d(1),
    x.view(x.size(0), -1) (Shape->Gather->Unsqueeze->Concat->Reshape in the export), Linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv4 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True)
        self.bn4 = nn.BatchNorm2d(16)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(x)))
        y = self.bn3(self.conv3(y))
        x = F.relu(x + y)
        x = self.pool(x)
        x = F.relu(self.bn4(self.conv4(x)))
        x = self.gap(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


class SE(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        s = self.gate(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class MobileNetish(nn.Module):
    """Stem conv+BN+ReLU6 (Clip), an inverted residual with depthwise conv, ReLU6 and an SE block
    (Hardsigmoid, Mul), a strided inverted residual with Hardswish, a 1x1 head with Hardswish,
    AdaptiveAvgPool2d(1), Flatten, Dropout (identity in eval mode), Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU6(inplace=True))
        self.b1 = nn.Sequential(
            nn.Conv2d(8, 24, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU6(inplace=True),
            nn.Conv2d(24, 24, 3, padding=1, groups=24, bias=False), nn.BatchNorm2d(24), nn.ReLU6(inplace=True),
            SE(24, 8),
            nn.Conv2d(24, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.b2 = nn.Sequential(
            nn.Conv2d(8, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32, bias=False), nn.BatchNorm2d(32), nn.Hardswish(),
            nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.head = nn.Sequential(nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.Hardswish())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b1(x)
        x = self.b2(x)
        x = self.head(x)
        return self.fc(self.drop(self.flat(self.gap(x))))


def train(model, xs, ys, log):
    g = torch.Generator().manual_seed(SEED + 1)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for ep in range(EPOCHS):
        perm = torch.randperm(len(xs), generator=g)
        tot, n = 0.0, 0
        for i in range(0, len(xs), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        log("  epoch %d: train loss %.4f" % (ep + 1, tot / n))
    model.eval()


# (file suffix, opset, do_constant_folding, keep_initializers_as_inputs)
# The default export (training=EVAL) fuses BatchNorm into the preceding Conv in torch's eval
# peephole pass, whatever do_constant_folding says.  The *_nofold variants use
# training=TrainingMode.PRESERVE on the eval-mode model, which skips that pass, so they keep real
# BatchNormalization nodes (inference form) for the importer to fold — and, without constant
# folding, Constant nodes for every constant (Clip bounds, Unsqueeze axes, shape pieces).
VARIANTS = [
    ("op9", 9, True, True),          # legacy form: initializers also listed as graph inputs
    ("op9_nofold", 9, False, False),
    ("op13", 13, True, False),
    ("op13_nofold", 13, False, False),
    ("op17", 17, True, False),
    ("op17_nofold", 17, False, False),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default="tests/torch")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = lambda s: (print(s), sys.stdout.flush())

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    tr_x = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    tr_y = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    te_x = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    te_y = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    sel = np.random.RandomState(SEED).permutation(len(tr_x))[:N_TRAIN]
    xs = normalise(tr_x[sel][:, None])
    ys = torch.from_numpy(tr_y[sel].astype(np.int64))

    # Evaluation fixture: the first N_EVAL test images, uint8 N,1,28,28, labels int64.
    ev_u8 = np.ascontiguousarray(te_x[:N_EVAL][:, None])
    ev_y = te_y[:N_EVAL].astype(np.int64)
    np.save(os.path.join(args.out, "images.npy"), ev_u8)
    np.save(os.path.join(args.out, "labels.npy"), ev_y)
    ev_x = normalise(ev_u8)

    summary = []
    for name, cls in (("resnet", ResNetish), ("mbv2", MobileNetish)):
        torch.manual_seed(SEED)
        model = cls()
        log("%s: %d parameters, training on %d images x %d epochs" %
            (name, sum(p.numel() for p in model.parameters()), N_TRAIN, EPOCHS))
        train(model, xs, ys, log)
        with torch.no_grad():
            logits = model(ev_x)
        correct = int((logits.argmax(1).numpy() == ev_y).sum())
        # Margin between the top two logits: how safely argmax ties could flip under float noise.
        top2 = torch.topk(logits, 2, dim=1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        log("  torch top-1 on %d test images: %d/%d = %.4f (smallest top-2 margin %.3g)" %
            (N_EVAL, correct, N_EVAL, correct / N_EVAL, margin))
        np.save(os.path.join(args.out, "%s_logits16.npy" % name),
                np.ascontiguousarray(logits[:N_LOGITS].numpy().astype(np.float32)))
        dummy = ev_x[:2]
        for suf, opset, fold, keep in VARIANTS:
            path = os.path.join(args.out, "%s_%s.onnx" % (name, suf))
            mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
            torch.onnx.export(model, dummy, path, opset_version=opset, do_constant_folding=fold, training=mode,
                              keep_initializers_as_inputs=keep, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            ops = ops_of(path)
            log("  %s: %d bytes; ops: %s" % (path, os.path.getsize(path), " ".join(ops)))
            summary.append((os.path.basename(path), "%s_logits16.npy" % name, correct, opset, fold, keep, ops))

    with open(os.path.join(args.out, "fixtures.txt"), "w") as f:
        f.write("# written by tests/tools/torch_fixture.py; read by tests/test_torch_onnx.c and tests/torch_onnx.t.sh\n")
        f.write("# torch %s, onnx %s, numpy %s\n" % (torch.__version__, onnx_version(), np.__version__))
        f.write("mean %.4f\nstd %.4f\nn_eval %d\nn_logits %d\n" % (MEAN, STD, N_EVAL, N_LOGITS))
        f.write("# model  logits  torch_correct_of_%d  opset  constant_folding  initializers_as_inputs\n" % N_EVAL)
        for fn, lg, c, opset, fold, keep, _ in summary:
            f.write("model %s %s %d %d %d %d\n" % (fn, lg, c, opset, int(fold), int(keep)))
    log("wrote %s/fixtures.txt" % args.out)


def onnx_version():
    try:
        import onnx
        return onnx.__version__
    except ImportError:
        return "n/a"


def ops_of(path):
    try:
        import onnx
    except ImportError:
        return []
    m = onnx.load(path)
    onnx.checker.check_model(m)
    seen = []
    for n in m.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return seen


if __name__ == "__main__":
    main()
