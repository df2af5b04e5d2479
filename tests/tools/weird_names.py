#!/usr/bin/env python3
"""weird_names.py SRC.onnx OUT.onnx CALIB.npy — renames every node of an ONNX model to a name
holding a quote, a backslash, a comma, a newline, an ESC sequence, a C1 CSI and a broken UTF-8
byte (the report and terminal escaper test, tests/cli_opts.t.sh), and writes float32 calibration
data (N=64 samples of the model's input width, read from the first initializer's shape).
Standard library only: a minimal protobuf re-encoder for ModelProto.graph.node.name."""
import struct
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7f; v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, j = varint(b, i); out.append((f, wt, b[i:j])); i = j
        elif wt == 1:
            out.append((f, wt, b[i:i + 8])); i += 8
        elif wt == 5:
            out.append((f, wt, b[i:i + 4])); i += 4
        elif wt == 2:
            n, i = varint(b, i); out.append((f, wt, b[i:i + n])); i += n
        else:
            raise ValueError("wire type %d" % wt)
    return out


def encode(fs):
    out = bytearray()
    for f, wt, v in fs:
        out += enc_varint(f << 3 | wt)
        if wt == 2:
            out += enc_varint(len(v))
        out += v
    return bytes(out)


def main():
    src, dst, calib = sys.argv[1:4]
    model = fields(open(src, 'rb').read())
    k = 0
    for mi, (f, wt, v) in enumerate(model):
        if f != 7:
            continue
        graph = fields(v)
        for gi, (gf, gwt, gv) in enumerate(graph):
            if gf != 1:
                continue
            node = fields(gv)
            node = [(nf, nwt, (b'q"%d\\b,c\nd\x01\x1b[31m\xc2\x9b2J\xff' % k) if nf == 3 else nv)
                    for nf, nwt, nv in node]
            k += 1
            graph[gi] = (gf, gwt, encode(node))
        model[mi] = (f, wt, encode(graph))
    open(dst, 'wb').write(encode(model))
    n, d = 64, 8
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
    with open(calib, 'wb') as fp:
        fp.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode())
        fp.write(struct.pack('<%df' % (n * d), *[((i * 37) % 17 - 8) / 8.0 for i in range(n * d)]))


main()
