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
  hfllama — the llama block as Hugging Face writes it (rsqrt norms with the gain first, q scaled before
           q k^T, a finfo.min mask, repeat_kv as expand + reshape, F.silu), exported with dynamic
           batch and sequence axes (symbolic dims, Shape/Slice arithmetic on the tables and mask).
  gpt2hf — GPT-2 as Hugging Face writes it: Conv1D (Gemm on the tokens flattened to rows), tanh GELU
           (gelu_new), masked_fill of a boolean mask (Where), positions from arange (Range + Gather).
  gpt2sdpa — GPT-2 with attention as torch 2 decomposes scaled_dot_product_attention (sqrt of the
           scale on q and on k^T, a -inf triu mask built in the graph: Trilu) and tanh F.gelu.
Writes OUTDIR/{llama,gpt2}_op{14,17}.onnx, hfllama_op17.onnx, gpt2hf_op14.onnx, gpt2sdpa_op14.onnx, ids.npy (8
windows, int64) and, per model, NAME_logits.npy (float32 [8, T, V]) computed by torch in float64
then rounded, plus fixtures.txt (versions, shapes, sums, perplexities).
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
        B, T = x.shape[0], x.shape[1]
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
        t = ids.shape[1]
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, self.cos[:t], self.sin[:t], self.mask[:t, :t])
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
        B, T = x.shape[0], x.shape[1]
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


class HfRMSNorm(torch.nn.Module):
    """Hugging Face's LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), gain first."""
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(1 + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class HfLlamaBlock(LlamaBlock):
    """The same block as Hugging Face writes it: rsqrt norms, q scaled before the product, a
    finfo.min additive mask, repeat_kv as expand + reshape, F.silu."""
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = HfRMSNorm(D), HfRMSNorm(D)

    def forward(self, x, cos, sin, mask):
        B, T = x.shape[0], x.shape[1]
        h = self.n1(x)
        q = self.q(h).view(B, T, H, HD).transpose(1, 2)
        k = self.k(h).view(B, T, KV, HD).transpose(1, 2)
        v = self.v(h).view(B, T, KV, HD).transpose(1, 2)
        q = (q * cos) + (rotate_half(q) * sin)
        k = (k * cos) + (rotate_half(k) * sin)
        k = k[:, :, None, :, :].expand(B, KV, H // KV, T, HD).reshape(B, H, T, HD)
        v = v[:, :, None, :, :].expand(B, KV, H // KV, T, HD).reshape(B, H, T, HD)
        s = (q * HD ** -0.5) @ k.transpose(2, 3) + mask
        a = torch.matmul(F.softmax(s, dim=-1), v).transpose(1, 2).reshape(B, T, H * HD)
        x = x + self.o(a)
        return x + self.down(F.silu(self.gate(self.n2(x))) * self.up(self.n2(x)))


class HfLlama(Llama):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([HfLlamaBlock() for _ in range(L)])
        self.norm = HfRMSNorm(D)
        self.register_buffer("mask", torch.full((T, T), torch.finfo(torch.float32).min).triu(1))


class Conv1D(torch.nn.Module):
    """Hugging Face GPT-2's Conv1D: addmm on the tokens flattened to rows, weight [in, out]."""
    def __init__(self, nf, nx):
        super().__init__()
        self.weight = torch.nn.Parameter(0.1 * torch.randn(nx, nf))
        self.bias = torch.nn.Parameter(0.1 * torch.randn(nf))
        self.nf = nf

    def forward(self, x):
        shape = x.size()[:-1] + (self.nf,)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(shape)


class Gpt2HfBlock(torch.nn.Module):
    """GPT-2 as Hugging Face writes it: Conv1D (Gemm on flattened tokens), tanh GELU (gelu_new),
    masked_fill of a boolean causal mask, scores divided by sqrt of v's last dim."""
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.c_attn, self.c_proj = Conv1D(3 * D, D), Conv1D(D, D)
        self.c_fc, self.c_out = Conv1D(4 * D, D), Conv1D(D, 4 * D)

    def forward(self, x, bias):
        B, T = x.shape[0], x.shape[1]
        q, k, v = self.c_attn(self.ln1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, H, HD).permute(0, 2, 1, 3) for t in (q, k, v))
        s = torch.matmul(q, k.transpose(-1, -2)) / (float(v.size(-1)) ** 0.5)
        s = torch.where(bias[:T, :T], s, torch.tensor(torch.finfo(s.dtype).min, dtype=s.dtype))
        a = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(B, T, D)
        x = x + self.c_proj(a)
        h = self.c_fc(self.ln2(x))
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.c_out(h)


class Gpt2Hf(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(V, D)
        self.wpe = torch.nn.Embedding(T, D)
        self.blocks = torch.nn.ModuleList([Gpt2HfBlock() for _ in range(L)])
        self.lnf = torch.nn.LayerNorm(D)
        self.register_buffer("bias", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, ids):
        pos = torch.arange(0, ids.shape[1], dtype=torch.long).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        for b in self.blocks:
            x = b(x, self.bias)
        return F.linear(self.lnf(x), self.wte.weight)


class Gpt2SdpaBlock(Gpt2Block):
    """GPT-2 with attention as torch 2's scaled_dot_product_attention decomposes it (sqrt of the
    scale on q and on k^T, a -inf causal mask made by triu inside the graph) and
    F.gelu(approximate='tanh')."""
    def forward(self, x, mask):
        B, T = x.shape[0], x.shape[1]
        q, k, v = self.qkv(self.ln1(x)).split(D, -1)
        q, k, v = (t.view(B, T, H, HD).transpose(1, 2) for t in (q, k, v))
        sc = math.sqrt(1.0 / math.sqrt(HD))
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        a = torch.softmax((q * sc) @ (k.transpose(-2, -1) * sc) + causal, dim=-1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, D))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt2Sdpa(Gpt2):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Gpt2SdpaBlock() for _ in range(L)])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/torch/lm"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20261203)
    torch.set_num_threads(2)
    ids = torch.randint(0, V, (8, T))
    np.save(os.path.join(out, "ids.npy"), ids.numpy().astype(np.int64))
    lines = ["torch " + torch.__version__, f"T {T} V {V} D {D} L {L} H {H} KV {KV} FF {FF}"]
    # name, class, opsets, dynamic batch/sequence axes
    for name, cls, opsets, dyn in (("llama", Llama, (14, 17), False), ("gpt2", Gpt2, (14, 17), False),
                                   ("hfllama", HfLlama, (17,), True), ("gpt2hf", Gpt2Hf, (14,), False),
                                   ("gpt2sdpa", Gpt2Sdpa, (14,), False)):
        m = cls().eval()
        for p in m.parameters():   # LayerNorm/RMSNorm gains off 1 so a wrong norm shows
            if p.dim() == 1 and p.shape[0] == D:
                p.data += 0.05 * torch.randn(D)
        with torch.no_grad():
            ref = torch.cat([m.double()(ids[i:i + 1]) for i in range(8)]).float()
            m.float()
        np.save(os.path.join(out, f"{name}_logits.npy"), ref.numpy())
        for op in opsets:
            path = os.path.join(out, f"{name}_op{op}.onnx")
            axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}} if dyn else None
            torch.onnx.export(m, (ids[:1],), path, opset_version=op, input_names=["input_ids"],
                              output_names=["logits"], do_constant_folding=True, dynamic_axes=axes)
            lines.append(f"{name}_op{op}.onnx {os.path.getsize(path)} bytes")
        lines.append(f"{name} logits sum {float(ref.double().sum()):.6f}")
        lp = torch.log_softmax(ref.double()[:, :-1], -1)
        nll = -lp.gather(-1, ids[:, 1:, None]).mean()
        lines.append(f"ppl {name} {math.exp(float(nll)):.10g} (next-token cross-entropy over 8 x {T - 1} predictions, "
                     "float64 logits rounded to float32)")
    with open(os.path.join(out, "fixtures.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
