#!/usr/bin/python3
"""torch_mbv3_fixture.py — a width-reduced MobileNetV3-style network exported by torch.onnx.export
with symbolic batch, height and width, for tests/test_onnx_mbv3.c (issue 15 item 4).

Random weights (seeded), BatchNorm statistics from random batches: the test checks the function,
not a task.
The network has what real MobileNetV3 / MobileNetV2 exports contain:
  - Hardswish (a HardSwish node at opset >= 14, HardSigmoid + Mul below),
  - squeeze-and-excitation: GlobalAveragePool (or ReduceMean over H, W as timm writes it) ->
    1x1 conv -> ReLU -> 1x1 conv -> Hardsigmoid -> Mul broadcast over the feature map, inside an
    inverted residual,
  - ReLU6 written as ReLU then clamp(max=6) (Relu followed by Clip with only a max, as newer
    torch versions write nn.ReLU6), Clip as attributes at opset 10 and as inputs at 13 and 17,
  - x.reshape(x.shape[0], -1) in the head (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
Exported with dynamic_axes {0: batch, 2: height, 3: width}; the reference outputs are torch's at
two input sizes (32x32 and 40x48), so the importer has to resolve height and width.

    apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 tests/tools/torch_mbv3_fixture.py [--out tests/torch/mbv3]
Only needed to regenerate the committed files; the tests never import torch.

    /usr/bin/python3 tests/tools/torch_mbv3_fixture.py --torchvision DIR   (python3-torchvision)
writes full-size torchvision mobilenet_v3_small / _large / mobilenet_v2 (random weights, BN
statistics from random batches) at opsets 13 and 17 with symbolic H/W into DIR/<name>/, for
`build/release/tests/test_onnx_mbv3 DIR/<name>` (10-22 MB each: not committed).
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20261202
SIZES = [(32, 32), (40, 48)]
N = 2


def bn(c):
    b = nn.BatchNorm2d(c)
    with torch.no_grad():
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.2, 0.2)
        b.running_mean.uniform_(-0.2, 0.2)
        b.running_var.uniform_(0.5, 1.5)
    return b


class SE(nn.Module):
    def __init__(self, c, r, mean=False):
        super().__init__()
        self.mean = mean                  # timm's SE: x.mean((2, 3), keepdim=True) -> ReduceMean
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        p = x.mean((2, 3), keepdim=True) if self.mean else self.pool(x)
        s = self.gate(self.fc2(F.relu(self.fc1(p))))
        return x * s


class Relu6Pair(nn.Module):
    """ReLU6 as newer torch exports it: Relu, then Clip with only a max."""
    def forward(self, x):
        return torch.clamp(F.relu(x), max=6.0)


class IR(nn.Module):
    def __init__(self, cin, exp, cout, k, stride, act, se, se_mean=False):
        super().__init__()
        layers = []
        if exp != cin:
            layers += [nn.Conv2d(cin, exp, 1, bias=False), bn(exp), act()]
        layers += [nn.Conv2d(exp, exp, k, stride, k // 2, groups=exp, bias=False), bn(exp), act()]
        if se:
            layers += [SE(exp, max(4, exp // 4), se_mean)]
        layers += [nn.Conv2d(exp, cout, 1, bias=False), bn(cout)]
        self.body = nn.Sequential(*layers)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.skip else y


class MBV3ish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), bn(8), nn.Hardswish())
        self.blocks = nn.Sequential(
            IR(8, 8, 8, 3, 2, nn.ReLU, True, True),    # no expand, SE (ReduceMean), stride 2
            IR(8, 24, 12, 3, 2, Relu6Pair, False),     # Relu+Clip pairs, stride 2, no skip
            IR(12, 36, 12, 5, 1, nn.Hardswish, True),  # hard-swish, SE, skip
        )
        self.head = nn.Sequential(nn.Conv2d(12, 48, 1, bias=False), bn(48), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(48, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.head(self.blocks(self.stem(x))))
        x = x.reshape(x.shape[0], -1)
        return self.fc2(F.hardswish(self.fc1(x)))


def torchvision_exports(root):
    import torchvision
    torch.manual_seed(0)
    for name in ("mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2"):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        m = getattr(torchvision.models, name)(weights=None)
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.momentum = None
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0.0, 0.2)
        m.train()
        with torch.no_grad():
            for _ in range(4):
                m(torch.randn(16, 3, 224, 224))
        m.eval()
        x = torch.randn(N, 3, 224, 224)
        with torch.no_grad():
            y = m(x)
        np.save(os.path.join(d, "input_224x224.npy"), x.numpy())
        np.save(os.path.join(d, "logits_224x224.npy"), y.numpy())
        with open(os.path.join(d, "fixtures.txt"), "w") as f:
            for opset in (13, 17):
                torch.onnx.export(m, torch.randn(1, 3, 224, 224), os.path.join(d, "%s_op%d.onnx" % (name, opset)),
                                  opset_version=opset, input_names=["input"], output_names=["logits"],
                                  dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}})
                f.write("model %s_op%d.onnx %d\n" % (name, opset, opset))
            f.write("size 224 224 input_224x224.npy logits_224x224.npy\n")
        print(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/torch/mbv3")
    ap.add_argument("--torchvision", metavar="DIR")
    args = ap.parse_args()
    if args.torchvision:
        torchvision_exports(args.torchvision)
        return
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = MBV3ish()
    # Running statistics from a few random batches (momentum None = cumulative average), and
    # linear layers wide enough, so activations keep their scale through the net and the logits
    # depend on the input (with default statistics they collapse to nearly the same vector).
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None
            mod.reset_running_stats()
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0.0, 0.4)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(16, 3, 32, 32))
    model.eval()
    g = torch.Generator().manual_seed(SEED + 1)
    for h, w in SIZES:
        x = torch.randn(N, 3, h, w, generator=g)
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(args.out, "input_%dx%d.npy" % (h, w)), x.numpy().astype(np.float32))
        np.save(os.path.join(args.out, "logits_%dx%d.npy" % (h, w)), y.numpy().astype(np.float32))
    dummy = torch.randn(1, 3, 32, 32, generator=g)
    for opset in (10, 13, 17):
        path = os.path.join(args.out, "mbv3_op%d.onnx" % opset)
        torch.onnx.export(model, dummy, path, opset_version=opset, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}})
        import onnx
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        print("%s: %d bytes; ops: %s" % (path, os.path.getsize(path), " ".join(ops)))
    with open(os.path.join(args.out, "fixtures.txt"), "w") as f:
        f.write("# written by tests/tools/torch_mbv3_fixture.py (torch %s); read by tests/test_onnx_mbv3.c\n"
                % torch.__version__)
        for opset in (10, 13, 17):
            f.write("model mbv3_op%d.onnx %d\n" % (opset, opset))
        for h, w in SIZES:
            f.write("size %d %d input_%dx%d.npy logits_%dx%d.npy\n" % (h, w, h, w, h, w))


if __name__ == "__main__":
    main()
