#!/usr/bin/python3
"""torch_transformer_fixture.py — transformer ONNX files as torch.onnx.export writes them (issue 16,
item 5, second half), for the importer's tests; not run by `make test` (needs Debian's
python3-torch; the tests read only what this writes).

    apt-get install -y python3-torch
    /usr/bin/python3 tests/tools/torch_transformer_fixture.py [OUTDIR]     (default tests/torch/lm)

Two tiny causal LMs with random weights (seeded), exported at opsets 14 and 17 with a fixed window:
  llama  — RMSNorm (Pow/ReduceMean/Add/Sqrt/Div/Mul as exported), rotate-half RoPE (Slice/Neg/Concat
           with cos/sin constants), grouped KV heads (repeat_interleave), causal softmax attention
           (MatMul/Div/Add mask/Softmax/MatMul), SiLU as x * Sigmoid(x) (opset 14) or the same, SwiGLU
           MLP, untied head; no biases.
  gpt2   — LayerNorm (decomposed at opset 14, one LayerNormalization node at opset 17), learned
           position embeddings (Gather + Add), fused q/k/v projection with bias (Split), GELU with
           erf, tied head.
Writes OUTDIR/{llama,gpt2}_op{14,17}.onnx, ids.npy (8 windows, int64) and, per model,
{llama,gpt2}_logits.npy (float32 [8, T, V]) computed by torch in float64 then rounded, plus
fixtures.txt (versions, shapes, sums).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

T, V, D, L, H, KV, FF = 16, 64, 32, 2, 4, 2, 48
HD = D // H


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(1 + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(t, hd, theta=10000.0):
    inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], -1)
    return ang.cos(), ang.sin()


def rotate_half(x):
    a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-b, a], -1)


class LlamaBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)
        self.q = torch.nn.Linear(D, H * HD, bias=False)
        self.k = torch.nn.Linear(D, KV * HD, bias=False)
        self.v = torch.nn.Linear(D, KV * HD, bias=False)
        self.o = torch.nn.Linear(H * HD, D, bias=False)
        self.gate = torch.nn.Linear(D, FF, bias=False)
        self.up = torch.nn.Linear(D, FF, bias=False)
        self.down = torch.nn.Linear(FF, D, bias=False)

    def forward(self, x, cos, sin, mask):
        B = x.shape[0]
        h = self.n1(x)
        q = self.q(h).view(B, T, H, HD).transpose(1, 2)
        k = self.k(h).view(B, T, KV, HD).transpose(1, 2)
        v = self.v(h).view(B, T, KV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, 1)
        v = v.repeat_interleave(H // KV, 1)
        s = q @ k.transpose(-1, -2) / math.sqrt(HD) + mask
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * HD)
        x = x + self.o(a)
        h = self.n2(x)
        g = self.gate(h)
        return x + self.down(g * torch.sigmoid(g) * self.up(h))


class Llama(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.blocks = torch.nn.ModuleList([LlamaBlock() for _ in range(L)])
        self.norm = RMSNorm(D)
        self.head = torch.nn.Linear(D, V, bias=False)
        cos, sin = rope_tables(T, HD)
        self.register_buffer("cos", cos.float())
        self.register_buffer("sin", sin.float())
        self.register_buffer("mask", torch.full((T, T), -1e9).triu(1))

    def forward(self, ids):
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        return self.head(self.norm(x))


class Gpt2Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.qkv = torch.nn.Linear(D, 3 * D)
        self.proj = torch.nn.Linear(D, D)
        self.fc = torch.nn.Linear(D, 4 * D)
        self.out = torch.nn.Linear(4 * D, D)

    def forward(self, x, mask):
        B = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).split(D, -1)
        q, k, v = (t.view(B, T, H, HD).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-1, -2) / math.sqrt(HD) + mask
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.proj(a)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Gpt2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(V, D)
        self.wpe = torch.nn.Parameter(0.1 * torch.randn(T, D))
        self.blocks = torch.nn.ModuleList([Gpt2Block() for _ in range(L)])
        self.lnf = torch.nn.LayerNorm(D)
        self.register_buffer("mask", torch.full((T, T), -1e9).triu(1))

    def forward(self, ids):
        x = self.wte(ids) + self.wpe
        for b in self.blocks:
            x = b(x, self.mask)
        return F.linear(self.lnf(x), self.wte.weight)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/torch/lm"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20261203)
    torch.set_num_threads(2)
    ids = torch.randint(0, V, (8, T))
    np.save(os.path.join(out, "ids.npy"), ids.numpy().astype(np.int64))
    lines = ["torch " + torch.__version__, f"T {T} V {V} D {D} L {L} H {H} KV {KV} FF {FF}"]
    for name, cls in (("llama", Llama), ("gpt2", Gpt2)):
        m = cls().eval()
        for p in m.parameters():   # LayerNorm/RMSNorm gains off 1 so a wrong norm shows
            if p.dim() == 1 and p.shape[0] == D:
                p.data += 0.05 * torch.randn(D)
        with torch.no_grad():
            ref = torch.cat([m.double()(ids[i:i + 1]) for i in range(8)]).float()
            m.float()
        np.save(os.path.join(out, f"{name}_logits.npy"), ref.numpy())
        for op in (14, 17):
            path = os.path.join(out, f"{name}_op{op}.onnx")
            torch.onnx.export(m, (ids[:1],), path, opset_version=op, input_names=["input_ids"],
                              output_names=["logits"], do_constant_folding=True)
            lines.append(f"{name}_op{op}.onnx {os.path.getsize(path)} bytes")
        lines.append(f"{name} logits sum {float(ref.double().sum()):.6f}")
    with open(os.path.join(out, "fixtures.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
