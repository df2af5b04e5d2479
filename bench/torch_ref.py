#!/usr/bin/python3
"""torch_ref.py — PyTorch reference for `frtui bench` (optional; not part of `make test`).

Times one reconstruction iteration (mini-batch gather from a cached calibration set, soft
quantization of every weight, unit forward, MSE loss, backward, Adam) for the same standard unit
shapes as `frtui bench`, at batch 32, plus torch's own sgemm rate (1024^3 matmul) so ratios are
same-run ratios.  Uses Debian's python3-torch (1.13) with /usr/bin/python3:

    /usr/bin/python3 bench/torch_ref.py [--threads 2] [--json bench/torch_ref.json] [--quick]

Side by side with frtui, in one go (same machine, same load):

    /usr/bin/python3 bench/torch_ref.py --json bench/torch_ref.json && ./frtui bench --json bench/results.json

Figures are medians over several runs; 2-core VMs are shared, so expect noise.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

BATCH = 32


def round_ste(x):
    return (x.round() - x).detach() + x


def floor_ste(x):
    return (x.floor() - x).detach() + x


class FlexQ(torch.nn.Module):
    """FlexRound (log-parametrised): W_hat = s1 * clamp(round(W / (s1 * S2 * s3 * s4)))."""

    def __init__(self, w, bits=4):
        super().__init__()
        self.register_buffer("w", w.detach().clone())
        self.lo, self.hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        s1 = (w.abs().max() / self.hi).clamp_min(1e-8)
        self.d1 = torch.nn.Parameter(s1.log())
        self.D2 = torch.nn.Parameter(torch.zeros_like(w))
        shp3 = [w.shape[0]] + [1] * (w.dim() - 1)
        self.d3 = torch.nn.Parameter(torch.zeros(shp3))
        self.d4 = torch.nn.Parameter(torch.zeros([1, w.shape[1]] + [1] * (w.dim() - 2))) if w.dim() == 4 else None

    def forward(self):
        s1 = self.d1.exp()
        div = self.D2.exp() * self.d3.exp()
        if self.d4 is not None:
            div = div * self.d4.exp()
        return s1 * round_ste(self.w / (s1 * div)).clamp(self.lo, self.hi)

    def reg(self):
        return 0.0


class AdaQ(torch.nn.Module):
    """AdaRound: W_hat = s * clamp(floor(W/s) + h(V)), regulariser on (steady state)."""

    def __init__(self, w, bits=4, lam=0.01, beta=10.0):
        super().__init__()
        self.register_buffer("w", w.detach().clone())
        self.lo, self.hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        self.s = float((w.abs().max() / self.hi).clamp_min(1e-8))
        rest = self.w / self.s - (self.w / self.s).floor()
        self.V = torch.nn.Parameter(-torch.log(1.2 / (rest + 0.1) - 1))
        self.lam, self.beta = lam, beta

    def h(self):
        return (torch.sigmoid(self.V) * 1.2 - 0.1).clamp(0, 1)

    def forward(self):
        return self.s * ((self.w / self.s).floor() + self.h()).clamp(self.lo, self.hi)

    def reg(self):
        return self.lam * (1 - (2 * self.h() - 1).abs().pow(self.beta)).sum()


def make_unit(kind, g):
    """Returns (input shape, list of weights, biases, forward(x, ws))."""
    def w(*shape):
        fan = 1
        for d in shape[1:]:
            fan *= d
        return torch.randn(*shape, generator=g) * (2.0 / fan) ** 0.5

    if kind.startswith("BasicBlock"):
        c, hw = (32, 14) if "32ch" in kind else (64, 7)
        ws, bs = [w(c, c, 3, 3), w(c, c, 3, 3)], [torch.zeros(c), torch.zeros(c)]

        def fwd(x, q):
            y = F.relu(F.conv2d(x, q[0], bs[0], padding=1))
            return F.relu(F.conv2d(y, q[1], bs[1], padding=1) + x)
        return (c, hw, hw), ws, fwd
    if kind.startswith("InvRes"):
        c, e, hw = 32, 192, 14
        ws, bs = [w(e, c, 1, 1), w(e, 1, 3, 3), w(c, e, 1, 1)], [torch.zeros(e), torch.zeros(e), torch.zeros(c)]

        def fwd(x, q):
            y = F.relu6(F.conv2d(x, q[0], bs[0]))
            y = F.relu6(F.conv2d(y, q[1], bs[1], padding=1, groups=e))
            return F.conv2d(y, q[2], bs[2]) + x
        return (c, hw, hw), ws, fwd
    if kind.startswith("Linear"):
        ws, b = [w(256, 784)], torch.zeros(256)

        def fwd(x, q):
            return F.linear(x, q[0], b)
        return (784,), ws, fwd
    if kind.startswith("Decoder"):
        return decoder_unit(g)
    c, hw = 96, 28
    ws, b = [w(c, 1, 3, 3)], torch.zeros(c)

    def fwd(x, q):
        return F.conv2d(x, q[0], b, padding=1, groups=c)
    return (c, hw, hw), ws, fwd


def decoder_unit(g):
    """frtui's decoder shape: a LLaMA block, d 512, 8 query / 4 KV heads of 64, SwiGLU 1376, windows
    of 64 tokens (batch 32 = 2048 tokens), written as Hugging Face's LlamaDecoderLayer computes it
    (RMSNorm, rotate-half RoPE, repeated KV heads, causal softmax attention, SiLU(gate) * up).
    torch 1.13 has no fused attention; the scores are materialised, as frtui's kernel does per head."""
    d, H, KV, hd, ff, T = 512, 8, 4, 64, 1376, 64

    def lw(o, i):
        return torch.randn(o, i, generator=g) * 0.02
    ws = [lw(H * hd, d), lw(KV * hd, d), lw(KV * hd, d), lw(d, H * hd), lw(ff, d), lw(ff, d), lw(d, ff)]
    n1, n2 = torch.ones(d), torch.ones(d)
    inv = 10000.0 ** (-torch.arange(0, hd, 2).float() / hd)
    ang = torch.arange(T).float()[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def rope(x):
        a, b = x[..., :hd // 2], x[..., hd // 2:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    def fwd(x, q):
        B = x.shape[0]
        h = rms(x, n1)
        Q = rope(F.linear(h, q[0]).view(B, T, H, hd).transpose(1, 2))
        K = rope(F.linear(h, q[1]).view(B, T, KV, hd).transpose(1, 2)).repeat_interleave(H // KV, 1)
        V = F.linear(h, q[2]).view(B, T, KV, hd).transpose(1, 2).repeat_interleave(H // KV, 1)
        S = Q @ K.transpose(-1, -2) / hd ** 0.5 + mask
        O = (S.softmax(-1) @ V).transpose(1, 2).reshape(B, T, H * hd)
        x = x + F.linear(O, q[3])
        h = rms(x, n2)
        return x + F.linear(F.silu(F.linear(h, q[4])) * F.linear(h, q[5]), q[6])
    return (T, d), ws, fwd


SHAPES = ["BasicBlock 32ch 14x14", "BasicBlock 64ch 7x7", "InvRes t=6 32ch 14x14", "Linear 784x256",
          "Depthwise 3x3 96ch 28x28", "Decoder d512 8/4h T64"]


def median_ms(fn, runs, min_run):
    fn()
    t0 = time.perf_counter()
    fn()
    est = max(time.perf_counter() - t0, 1e-5)
    per = max(3, int(min_run / est) + 1)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        out.append((time.perf_counter() - t0) * 1e3 / per)
    return statistics.median(out), min(out), max(out)


def bench_unit(kind, method, runs, min_run, n_calib=256, unit=None, g=None):
    if g is None:
        g = torch.Generator().manual_seed(1)
    in_shape, ws, fwd = unit if unit is not None else make_unit(kind, g)
    with torch.no_grad():
        cache_x = torch.randn(n_calib, *in_shape, generator=g).abs()
        cache_t = torch.cat([fwd(cache_x[i:i + 16], ws) for i in range(0, n_calib, 16)])
    if method == "rtn":
        qs = [FlexQ(w)() .detach() for w in ws]

        def it():
            with torch.no_grad():
                idx = torch.randint(0, n_calib, (BATCH,), generator=g)
                fwd(cache_x[idx], qs)
        return median_ms(it, runs, min_run)
    qm = [(FlexQ if method == "flexround" else AdaQ)(w) for w in ws]
    params = [p for q in qm for p in q.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3 if method == "flexround" else 1e-3)

    def it():
        idx = torch.randint(0, n_calib, (BATCH,), generator=g)
        x, t = cache_x[idx], cache_t[idx]
        y = fwd(x, [q() for q in qm])
        loss = (y - t).pow(2).sum() / (y.shape[0] * (y[0, 0].numel() if y.dim() == 4 else 1))
        for q in qm:
            loss = loss + q.reg()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return median_ms(it, runs, min_run)


def make_spec_unit(spec, g):
    """A unit from frtui-dev bench's one-line spec: 'in C H W;conv O kh kw sh sw pt pl pb pr dil groups;relu6;...;add'."""
    toks = [t.split() for t in spec.split(";")]
    c, h, w = (int(v) for v in toks[0][1:4])
    layers, ws, bs = [], [], []
    cin = c
    for t in toks[1:]:
        if t[0] == "conv":
            o, kh, kw, sh, sw, pt, pl, pb, pr, dil, grp = (int(v) for v in t[1:12])
            fan = cin // grp * kh * kw
            ws.append(torch.randn(o, cin // grp, kh, kw, generator=g) * (2.0 / fan) ** 0.5)
            bs.append(torch.zeros(o))
            layers.append(("conv", len(ws) - 1, (sh, sw), (pt, pl, pb, pr), dil, grp))
            cin = o
        elif t[0] == "pad":
            pt, pl, pb, pr = (int(v) for v in t[1:5])
            layers.append(("pad", (pl, pr, pt, pb)))
        else:
            layers.append((t[0],))

    def fwd(x, q):
        y = x
        for L in layers:
            if L[0] == "conv":
                _, i, st, (pt, pl, pb, pr), dil, grp = L
                if pt == pb and pl == pr:
                    y = F.conv2d(y, q[i], bs[i], stride=st, padding=(pt, pl), dilation=dil, groups=grp)
                else:
                    y = F.conv2d(F.pad(y, (pl, pr, pt, pb)), q[i], bs[i], stride=st, dilation=dil, groups=grp)
            elif L[0] == "pad":
                y = F.pad(y, L[1])
            elif L[0] == "relu6":
                y = F.relu6(y)
            elif L[0] == "relu":
                y = F.relu(y)
            elif L[0] == "add":
                y = y + x
        return y
    return (c, h, w), ws, fwd


def run_spec(a):
    """Times AdaRound and FlexRound on every unit of --spec; writes 'torch VERSION' then 'ROW ADA_MS FLEX_MS'."""
    runs, min_run = (3, 0.05) if a.quick else (5, 0.2)
    out = ["torch " + torch.__version__]
    for line in open(a.spec):
        row, spec = line.rstrip("\n").split("|", 1)
        r = {}
        for m in ("adaround", "flexround"):
            g = torch.Generator().manual_seed(1)
            r[m] = bench_unit(None, m, runs, min_run, n_calib=64, unit=make_spec_unit(spec, g), g=g)[0]
        print(f"  torch row {row}: AdaRound {r['adaround']:.2f} ms, FlexRound {r['flexround']:.2f} ms", flush=True)
        out.append(f"{row} {r['adaround']:.6g} {r['flexround']:.6g}")
    with open(a.spec_out, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--spec", help="unit specs written by frtui-dev bench (real section)")
    ap.add_argument("--spec-out", help="where --spec results go")
    ap.add_argument("--only", help="only the shapes whose name contains this text (e.g. Decoder)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.spec:
        run_spec(a)
        return
    runs, min_run = (5, 0.05) if a.quick else (7, 0.2)
    A, B = torch.randn(1024, 1024), torch.randn(1024, 1024)
    mm, _, _ = median_ms(lambda: torch.mm(A, B), runs, min_run)
    peak = 2 * 1024 ** 3 / (mm * 1e-3) / 1e9
    print(f"torch {torch.__version__}, {a.threads} threads; sgemm 1024^3: {peak:.1f} GFLOP/s (median of {runs})")
    print(f"  {'unit':<28} {'RTN-fwd':>8} {'AdaRnd':>8} {'FlexRnd':>8}   (ms/iteration, batch {BATCH}, median)")
    rows = []
    for kind in SHAPES:
        if a.only and a.only not in kind:
            continue
        r = {m: bench_unit(kind, m, runs, min_run) for m in ("rtn", "adaround", "flexround")}
        print(f"  {kind:<28} {r['rtn'][0]:8.3f} {r['adaround'][0]:8.3f} {r['flexround'][0]:8.3f}", flush=True)
        rows.append({"unit": kind, **{m + "_ms": {"median": v[0], "min": v[1], "max": v[2]} for m, v in r.items()}})
    if a.json:
        import os
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"torch": torch.__version__, "threads": a.threads, "batch": BATCH, "sgemm_gflops": peak,
                       "units": rows}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, a.json)
        print("JSON:", a.json)


if __name__ == "__main__":
    main()
