#!/usr/bin/env python3
"""hf_llama_ref.py — a tiny Hugging Face LLaMA-family checkpoint and its perplexity, computed
independently of frtui (pure Python, double precision, written from the Hugging Face modeling
code's semantics: RMSNorm, rotate-half RoPE, grouped-query causal attention, SwiGLU MLP).

usage: hf_llama_ref.py OUTDIR VARIANT
  VARIANT  llama-bf16-shards   llama, BF16, two shards + model.safetensors.index.json, own
                               lm_head, vocab 300, int64 token ids (eval.npy, calib.npy)
           qwen2-f16-tied      qwen2 (q/k/v biases), F16, one file, tie_word_embeddings,
                               head_dim 16 with hidden 32 and 4 heads, int32 token ids
           llama-bytes-f32     llama, F32, vocab 256, plain text (text.txt) cut into windows
Writes OUTDIR/{config.json, *.safetensors, ...} and prints the perplexity of the evaluation
windows (position t predicts token t + 1; T - 1 predictions per window) with 8 decimals.
Weights are rounded to the file's dtype first, so the reference sees exactly the stored values.
"""
import json
import math
import os
import random
import struct
import sys


def bf16_bits(x):
    u = struct.unpack('<I', struct.pack('<f', x))[0]
    u = (u + 0x7fff + ((u >> 16) & 1)) >> 16          # round to nearest even
    return u & 0xffff


def from_bf16(b):
    return struct.unpack('<f', struct.pack('<I', b << 16))[0]


def f16_bits(x):
    return struct.unpack('<H', struct.pack('<e', x))[0]


def from_f16(b):
    return struct.unpack('<e', struct.pack('<H', b))[0]


def quantize(vals, dtype):
    """The values as the file stores them, and their bytes."""
    if dtype == 'BF16':
        bits = [bf16_bits(v) for v in vals]
        return [from_bf16(b) for b in bits], struct.pack('<%dH' % len(bits), *bits)
    if dtype == 'F16':
        bits = [f16_bits(v) for v in vals]
        return [from_f16(b) for b in bits], struct.pack('<%dH' % len(bits), *bits)
    f = [struct.unpack('<f', struct.pack('<f', v))[0] for v in vals]
    return f, struct.pack('<%df' % len(f), *f)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, off, blobs = {'__metadata__': {'format': 'pt'}}, 0, []
    for name, dtype, shape, data in tensors:
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def write_npy(path, rows, descr):
    shape = (len(rows), len(rows[0]))
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    hdr += ' ' * ((64 - (10 + len(hdr) + 1) % 64) % 64) + '\n'
    fmt = '<%d%s' % (shape[0] * shape[1], 'q' if descr == '<i8' else 'i')
    flat = [v for r in rows for v in r]
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + struct.pack(fmt, *flat))


def matvec(W, x):          # W: rows of len(x)
    return [sum(w * v for w, v in zip(row, x)) for row in W]


def rmsnorm(x, w, eps):
    r = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * r * g for v, g in zip(x, w)]


def rope(vec, heads, hd, t, theta):
    out, half = list(vec), hd // 2
    for h in range(heads):
        for i in range(half):
            ang = t * theta ** (-2.0 * i / hd)
            c, s = math.cos(ang), math.sin(ang)
            a, b = vec[h * hd + i], vec[h * hd + i + half]
            out[h * hd + i] = a * c - b * s
            out[h * hd + i + half] = b * c + a * s
    return out


def forward_nll(P, cfg, ids):
    d, H, KV, hd = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['hd']
    eps, theta, T = cfg['rms_norm_eps'], cfg['rope_theta'], len(ids)
    x = [list(P['model.embed_tokens.weight'][i]) for i in ids]
    for l in range(cfg['num_hidden_layers']):
        p = 'model.layers.%d.' % l
        q, k, v = [], [], []
        for t in range(T):
            h = rmsnorm(x[t], P[p + 'input_layernorm.weight'], eps)
            qt = matvec(P[p + 'self_attn.q_proj.weight'], h)
            kt = matvec(P[p + 'self_attn.k_proj.weight'], h)
            vt = matvec(P[p + 'self_attn.v_proj.weight'], h)
            if cfg['bias']:
                qt = [a + b for a, b in zip(qt, P[p + 'self_attn.q_proj.bias'])]
                kt = [a + b for a, b in zip(kt, P[p + 'self_attn.k_proj.bias'])]
                vt = [a + b for a, b in zip(vt, P[p + 'self_attn.v_proj.bias'])]
            q.append(rope(qt, H, hd, t, theta))
            k.append(rope(kt, KV, hd, t, theta))
            v.append(vt)
        for t in range(T):
            o = []
            for h in range(H):
                g = h // (H // KV)
                sc = [sum(q[t][h * hd + j] * k[s][g * hd + j] for j in range(hd)) / math.sqrt(hd) for s in range(t + 1)]
                m = max(sc)
                e = [math.exp(a - m) for a in sc]
                z = sum(e)
                o += [sum(e[s] / z * v[s][g * hd + j] for s in range(t + 1)) for j in range(hd)]
            att = matvec(P[p + 'self_attn.o_proj.weight'], o)
            x[t] = [a + b for a, b in zip(x[t], att)]
        for t in range(T):
            h = rmsnorm(x[t], P[p + 'post_attention_layernorm.weight'], eps)
            gt = matvec(P[p + 'mlp.gate_proj.weight'], h)
            ut = matvec(P[p + 'mlp.up_proj.weight'], h)
            a = [gg / (1 + math.exp(-gg)) * uu for gg, uu in zip(gt, ut)]
            x[t] = [a1 + b1 for a1, b1 in zip(x[t], matvec(P[p + 'mlp.down_proj.weight'], a))]
    head = P['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else P['lm_head.weight']
    nll = 0.0
    for t in range(T - 1):
        lg = matvec(head, rmsnorm(x[t], P['model.norm.weight'], eps))
        m = max(lg)
        nll += m + math.log(sum(math.exp(a - m) for a in lg)) - lg[ids[t + 1]]
    return nll, T - 1


def main():
    out, variant = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261203)
    if variant == 'llama-bf16-shards':
        cfg = dict(model_type='llama', hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=300, rms_norm_eps=1e-5, rope_theta=10000.0,
                   tie_word_embeddings=False, max_position_embeddings=64, hidden_act='silu')
        dtype, T, hd, bias = 'BF16', 8, 8, False
    elif variant == 'qwen2-f16-tied':
        cfg = dict(model_type='qwen2', hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=1, head_dim=16, vocab_size=97, rms_norm_eps=1e-6, rope_theta=1000000.0,
                   tie_word_embeddings=True, max_position_embeddings=32, hidden_act='silu', use_sliding_window=False,
                   sliding_window=4096)
        dtype, T, hd, bias = 'F16', 8, 16, True
    else:
        cfg = dict(model_type='llama', hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                   num_key_value_heads=2, vocab_size=256, rms_norm_eps=1e-5, rope_theta=10000.0,
                   tie_word_embeddings=False, hidden_act='silu', rope_scaling=None)
        dtype, T, hd, bias = 'F32', 16, 16, False
    cfg['_name_or_path'] = 'frtui-test/' + variant
    d, H, KV, V, F = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['vocab_size'], cfg['intermediate_size']
    shapes = [('model.embed_tokens.weight', [V, d], 0.5)]
    for l in range(cfg['num_hidden_layers']):
        p = 'model.layers.%d.' % l
        shapes += [(p + 'input_layernorm.weight', [d], -1), (p + 'self_attn.q_proj.weight', [H * hd, d], d),
                   (p + 'self_attn.k_proj.weight', [KV * hd, d], d), (p + 'self_attn.v_proj.weight', [KV * hd, d], d),
                   (p + 'self_attn.o_proj.weight', [d, H * hd], H * hd), (p + 'post_attention_layernorm.weight', [d], -1),
                   (p + 'mlp.gate_proj.weight', [F, d], d), (p + 'mlp.up_proj.weight', [F, d], d),
                   (p + 'mlp.down_proj.weight', [d, F], F)]
        if bias:
            shapes += [(p + 'self_attn.%s_proj.bias' % c, [(H if c == 'q' else KV) * hd], -2) for c in 'qkv']
    shapes.append(('model.norm.weight', [d], -1))
    if not cfg['tie_word_embeddings']:
        shapes.append(('lm_head.weight', [V, d], d))
    P, files = {}, []
    for name, shape, fan in shapes:
        n = 1
        for s in shape:
            n *= s
        if fan == -1:
            vals = [1.0 + 0.2 * rng.gauss(0, 1) for _ in range(n)]
        elif fan == -2:
            vals = [0.3 * rng.gauss(0, 1) for _ in range(n)]
        else:
            sd = fan if fan < 1 else 1.2 / math.sqrt(fan)
            vals = [sd * rng.gauss(0, 1) for _ in range(n)]
        stored, data = quantize(vals, dtype)
        P[name] = [stored[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])] if len(shape) == 2 else stored
        files.append((name, dtype, shape, data))
    cfg_out = {k: v for k, v in cfg.items()}
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg_out, f, indent=1)
    if variant == 'llama-bf16-shards':
        half = len(files) // 2
        write_safetensors(os.path.join(out, 'model-00001-of-00002.safetensors'), files[:half])
        write_safetensors(os.path.join(out, 'model-00002-of-00002.safetensors'), files[half:])
        wm = {t[0]: 'model-00001-of-00002.safetensors' for t in files[:half]}
        wm.update({t[0]: 'model-00002-of-00002.safetensors' for t in files[half:]})
        with open(os.path.join(out, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': 0}, 'weight_map': wm}, f)
    else:
        write_safetensors(os.path.join(out, 'model.safetensors'), files)
    cfg['hd'], cfg['bias'] = hd, bias
    if variant == 'llama-bytes-f32':
        words = ['the', 'lord', 'said', 'unto', 'moses', 'and', 'in', 'beginning', 'light', 'was', 'good']
        text = ' '.join(rng.choice(words) for _ in range(70)).encode()
        with open(os.path.join(out, 'text.txt'), 'wb') as f:
            f.write(text)
        windows = [list(text[i * T:(i + 1) * T]) for i in range(len(text) // T)]
    else:
        windows = [[rng.randrange(V) for _ in range(T)] for _ in range(5)]
        descr = '<i8' if variant == 'llama-bf16-shards' else '<i4'
        write_npy(os.path.join(out, 'eval.npy'), windows, descr)
        write_npy(os.path.join(out, 'calib.npy'), [[rng.randrange(V) for _ in range(T)] for _ in range(8)], descr)
    nll, n = 0.0, 0
    for w in windows:
        a, b = forward_nll(P, cfg, w)
        nll, n = nll + a, n + b
    print('%.8f' % math.exp(nll / n))


if __name__ == '__main__':
    main()
