#!/usr/bin/python3
"""gen_bad.py — writes the hand-made malformed corpora tests/bad/npy, tests/bad/idx, tests/bad/png.

    /usr/bin/python3 tests/tools/gen_bad.py [OUTDIR]      (default: tests/bad)

Deterministic (gzip mtime 0, no randomness) so regenerating gives identical files; the files are
committed.  Every file must be refused by frtui with one error line naming it.

Naming: a file whose name contains "labels" is a malformed *labels* file (checked with the labels
reader); every other npy/idx file is a malformed *samples* file (checked with the dataset / images
reader).  tests/test_regress.c and tests/bad_corpus.t.sh rely on this.
"""
import gzip
import io
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/bad"


def gz(data):
    b = io.BytesIO()
    with gzip.GzipFile(fileobj=b, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(data)
    return b.getvalue()


class Corpus:
    def __init__(self, fmt, ext):
        self.dir = os.path.join(OUT, fmt)
        self.ext = ext
        self.n = 0
        self.names = set()
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))

    def add(self, name, data, ext=None):
        assert name not in self.names, name
        self.names.add(name)
        self.n += 1
        fn = "%03d-%s%s" % (self.n, name, ext if ext is not None else self.ext)
        with open(os.path.join(self.dir, fn), "wb") as f:
            f.write(data)


# ---- .npy ------------------------------------------------------------------------------------

def npy(header, data=b"", major=1, minor=0, pad=True, hlen=None, magic=b"\x93NUMPY"):
    h = header.encode("latin-1")
    pre = 10 if major == 1 else 12
    if pad:
        total = (pre + len(h) + 1 + 63) // 64 * 64
        h = h + b" " * (total - pre - len(h) - 1) + b"\n"
    n = len(h) if hlen is None else hlen
    lenf = struct.pack("<H", n & 0xFFFF) if major == 1 else struct.pack("<I", n & 0xFFFFFFFF)
    return magic + bytes([major, minor]) + lenf + h + data


def hdr(descr="<f4", shape="(2, 3)", fortran="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def gen_npy():
    c = Corpus("npy", ".npy")
    f32 = struct.pack("<6f", *[0.5] * 6)
    good = npy(hdr(), f32)
    # Truncations at every boundary of a valid (2,3) float32 file.
    for cut, what in [(0, "empty"), (3, "in-magic"), (6, "after-magic"), (7, "after-major"), (8, "after-minor"),
                      (9, "in-header-len"), (10, "after-header-len"), (40, "mid-header"), (63, "before-newline"),
                      (64, "at-data"), (70, "mid-element"), (len(good) - 4, "last-element"), (len(good) - 1, "minus-1")]:
        c.add("trunc-" + what, good[:cut])
    c.add("trailing-byte", good + b"\0")
    c.add("trailing-element", good + f32[:4])
    c.add("bad-magic", b"\x94" + good[1:])
    c.add("magic-lowercase", b"\x93numpy" + good[6:])
    c.add("version-0", npy(hdr(), f32, major=0))
    c.add("version-4", npy(hdr(), f32, major=4))
    c.add("version-255", npy(hdr(), f32, major=255))
    c.add("hlen-past-end", npy(hdr(), f32, pad=True, hlen=0xFFFF))
    c.add("v2-hlen-past-end", npy(hdr(), f32, major=2, hlen=0x7FFFFFFF))
    c.add("v2-hlen-4g", npy(hdr(), f32, major=2, hlen=0xFFFFFFFF))
    c.add("hlen-zero", npy(hdr(), f32, hlen=0))
    c.add("hlen-short", npy(hdr(), f32, hlen=20))
    c.add("header-not-dict", npy("['descr', '<f4']", f32))
    c.add("header-unclosed-dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", f32))
    c.add("header-unknown-key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", f32))
    c.add("header-missing-shape", npy("{'descr': '<f4', 'fortran_order': False, }", f32))
    c.add("header-missing-descr", npy("{'fortran_order': False, 'shape': (2, 3), }", f32))
    c.add("header-missing-fortran", npy("{'descr': '<f4', 'shape': (2, 3), }", f32))
    c.add("header-unterminated-string", npy("{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32))
    c.add("header-nul-in-key", npy("{'des\0cr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32))
    c.add("header-trailing-text", npy(hdr() + " junk", f32))
    c.add("fortran-true", npy(hdr(fortran="True"), f32))
    c.add("fortran-garbage", npy(hdr(fortran="Maybe"), f32))
    c.add("dtype-big-endian", npy(hdr(descr=">f4"), f32))
    c.add("dtype-f8", npy(hdr(descr="<f8"), f32 * 2))
    c.add("dtype-f2", npy(hdr(descr="<f2"), f32[:12]))
    c.add("dtype-object", npy(hdr(descr="|O"), f32))
    c.add("dtype-structured", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", f32))
    c.add("dtype-long-string", npy(hdr(descr="<f4" + "x" * 40), f32))
    c.add("dtype-i4-samples", npy(hdr(descr="<i4"), f32))
    c.add("shape-not-tuple", npy(hdr(shape="[2, 3]"), f32))
    c.add("shape-negative", npy(hdr(shape="(-2, 3)"), f32))
    c.add("shape-float", npy(hdr(shape="(2.0, 3)"), f32))
    c.add("shape-unclosed", npy(hdr(shape="(2, 3"), f32))
    c.add("shape-9-dims", npy(hdr(shape="(1, 1, 1, 1, 1, 1, 1, 1, 6)"), f32))
    c.add("shape-5-dims", npy(hdr(shape="(1, 1, 1, 2, 3)"), f32))
    c.add("shape-scalar", npy(hdr(shape="()"), f32[:4]))
    c.add("shape-1-dim", npy(hdr(shape="(6,)"), f32))
    c.add("shape-zero-dim", npy(hdr(shape="(0, 3)"), b""))
    c.add("shape-2e40-elements", npy(hdr(shape="(1099511627776,)"), f32))
    c.add("shape-2e40-4d", npy(hdr(shape="(1048576, 1, 1024, 1024)"), f32))
    c.add("shape-overflow-product", npy(hdr(shape="(4294967296, 4294967296)"), f32))
    c.add("shape-int64-max", npy(hdr(shape="(9223372036854775807,)"), f32))
    c.add("shape-20-digits", npy(hdr(shape="(99999999999999999999,)"), f32))
    c.add("shape-9g-bytes", npy(hdr(descr="|u1", shape="(9, 1024, 1024, 1024)"), f32))
    c.add("shape-int-max-plus-1-samples", npy(hdr(descr="|u1", shape="(2147483648, 1)"), b"\0" * 16))
    c.add("count-short-by-one", npy(hdr(), f32[:20]))
    c.add("count-long-by-one", npy(hdr(), f32 + f32[:4]))
    nan = struct.pack("<f", float("nan"))
    inf = struct.pack("<f", float("inf"))
    c.add("nan-first", npy(hdr(), nan + f32[4:]))
    c.add("nan-last", npy(hdr(), f32[:20] + nan))
    c.add("inf", npy(hdr(), f32[:8] + inf + f32[12:]))
    c.add("minus-inf", npy(hdr(), f32[:8] + struct.pack("<f", float("-inf")) + f32[12:]))
    c.add("all-nan-4d", npy(hdr(shape="(1, 1, 2, 3)"), nan * 6))
    c.add("gz-truncated", gz(good)[:-9], ".npy.gz")
    c.add("gz-bad-crc", gz(good)[:-8] + b"\0\0\0\0" + gz(good)[-4:], ".npy.gz")
    c.add("gz-bad-isize", gz(good)[:-4] + struct.pack("<I", 12345), ".npy.gz")
    c.add("gz-of-bad-magic", gz(b"\x94" + good[1:]), ".npy.gz")
    c.add("gz-of-nan", gz(npy(hdr(), nan * 6)), ".npy.gz")
    c.add("gz-bad-method", b"\x1f\x8b\x07" + gz(good)[3:], ".npy.gz")
    c.add("gz-header-only", gz(good)[:10], ".npy.gz")
    c.add("gz-bomb-8m", gz(npy(hdr(descr="|u1", shape="(1, 1, 1, 1)"), b"\0" * (8 << 20))), ".npy.gz")
    # Labels files (checked with the labels reader).
    lab = lambda descr, shape, data: npy(hdr(descr=descr, shape=shape), data)
    c.add("labels-negative", lab("<i8", "(3,)", struct.pack("<3q", 1, -1, 2)))
    c.add("labels-too-large", lab("<i4", "(3,)", struct.pack("<3i", 1, 1000, 2)))
    c.add("labels-int64-huge", lab("<i8", "(2,)", struct.pack("<2q", 0, 1 << 40)))
    c.add("labels-float", lab("<f4", "(2,)", struct.pack("<2f", 0, 1)))
    c.add("labels-2d", lab("<i4", "(2, 2)", struct.pack("<4i", 0, 1, 2, 3)))
    c.add("labels-empty", lab("<i4", "(0,)", b""))
    c.add("labels-scalar", lab("<i4", "()", struct.pack("<i", 1)))
    c.add("labels-truncated", lab("<i4", "(4,)", struct.pack("<3i", 0, 1, 2)))
    # Issue 8 R1: 128 MiB of content behind a header declaring 1 byte.  Must be refused after
    # inflating about the header's worth, not the whole content (RSS checked by test_regress).
    c.add("gz-bomb-128m", gz(npy(hdr(descr="|u1", shape="(1, 1, 1, 1)"), bytes(128 << 20))), ".npy.gz")
    # Issue 14 item 5: a valid labels file whose label 7 is beyond the model's 4 classes
    # (tests/onnx/mlp.onnx); `import` used to write a bundle its own reader refuses.
    c.add("labels-beyond-classes", lab("<i4", "(2,)", struct.pack("<2i", 7, 1)))
    return c.n


# ---- IDX ---------------------------------------------------------------------------------------

def idx(dims, data=None, dtype=0x08, magic0=b"\0\0", ndim=None):
    nd = len(dims) if ndim is None else ndim
    h = magic0 + bytes([dtype, nd]) + b"".join(struct.pack(">I", d & 0xFFFFFFFF) for d in dims)
    if data is None:
        n = 1
        for d in dims:
            n *= d
        data = bytes(i % 251 for i in range(n))
    return h + data


def gen_idx():
    c = Corpus("idx", ".idx")
    good = idx([2, 4, 4])
    for cut, what in [(0, "empty"), (1, "in-magic"), (3, "before-ndim"), (4, "after-magic"), (6, "in-dim0"),
                      (8, "after-dim0"), (12, "after-dim1"), (15, "in-dim2"), (16, "at-data"), (17, "one-data-byte"),
                      (len(good) - 16, "minus-one-sample"), (len(good) - 1, "minus-1")]:
        c.add("trunc-" + what, good[:cut])
    c.add("trailing-byte", good + b"\0")
    c.add("trailing-sample", good + good[16:32])
    c.add("magic-nonzero-byte0", b"\x01" + good[1:])
    c.add("magic-nonzero-byte1", good[:1] + b"\x01" + good[2:])
    for t, nm in [(0x09, "i8"), (0x0B, "i16"), (0x0C, "i32"), (0x0D, "f32"), (0x0E, "f64"), (0x00, "zero"), (0xFF, "ff")]:
        c.add("dtype-" + nm, idx([2, 4, 4], dtype=t))
    c.add("ndim-0", idx([], data=b"\x05", ndim=0))
    c.add("ndim-1-images", idx([5]))
    c.add("ndim-2", idx([2, 16]))
    c.add("ndim-5", idx([1, 1, 2, 4, 4]))
    c.add("ndim-255", idx([1] * 4, ndim=255))
    c.add("dim0-zero", idx([0, 4, 4], data=b""))
    c.add("dim1-zero", idx([2, 0, 4], data=b""))
    c.add("dim2-zero", idx([2, 4, 0], data=b""))
    c.add("dim-2e31", idx([0x80000000, 1, 1], data=b"\0" * 8))
    c.add("dim-ffffffff", idx([0xFFFFFFFF, 28, 28], data=b"\0" * 64))
    c.add("dims-2e40", idx([1 << 20, 1 << 10, 1 << 10], data=b"\0" * 64))
    c.add("dims-overflow-64", idx([0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF], data=b"\0" * 64))
    c.add("dims-9g", idx([9, 1024, 1024, 1024], data=b"\0" * 64))
    c.add("count-short-by-one", idx([2, 4, 4], data=bytes(31)))
    c.add("count-long-by-one", idx([2, 4, 4], data=bytes(33)))
    c.add("count-n-lies", idx([3, 4, 4], data=bytes(32)))
    c.add("images-as-4d-short", idx([2, 1, 4, 4], data=bytes(31)))
    g = gz(good)
    c.add("gz-truncated", g[:-9], ".idx.gz")
    c.add("gz-truncated-trailer", g[:-3], ".idx.gz")
    c.add("gz-bad-crc", g[:-8] + bytes(4) + g[-4:], ".idx.gz")
    c.add("gz-bad-isize", g[:-4] + struct.pack("<I", 7), ".idx.gz")
    c.add("gz-bad-method", g[:2] + b"\x07" + g[3:], ".idx.gz")
    c.add("gz-reserved-flags", g[:3] + b"\xe0" + g[4:], ".idx.gz")
    c.add("gz-header-only", g[:10], ".idx.gz")
    c.add("gz-magic-only", g[:2], ".idx.gz")
    c.add("gz-bad-block-type", g[:10] + b"\x07" + g[11:], ".idx.gz")
    c.add("gz-trailing-garbage", g + b"garbage", ".idx.gz")
    c.add("gz-of-bad-magic", gz(b"\x01" + good[1:]), ".idx.gz")
    c.add("gz-of-truncated", gz(good[:-1]), ".idx.gz")
    c.add("gz-bomb-8m", gz(idx([1, 1, 1], data=bytes(8 << 20))), ".idx.gz")
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = raw.compress(good) + raw.flush()
    stored_bad = b"\x1f\x8b\x08\0\0\0\0\0\0\xff" + b"\x01\x05\x00\x00\x00" + struct.pack("<II", 0, 5)
    c.add("gz-stored-len-mismatch", stored_bad, ".idx.gz")
    c.add("gz-deflate-truncated", b"\x1f\x8b\x08\0\0\0\0\0\0\xff" + body[: len(body) // 2], ".idx.gz")
    # Labels files (checked with the labels reader).
    c.add("labels-ndim-3", idx([2, 4, 4]), ".idx")
    c.add("labels-n-zero", idx([0], data=b""), ".idx")
    c.add("labels-short", idx([10], data=bytes(9)), ".idx")
    c.add("labels-long", idx([10], data=bytes(11)), ".idx")
    c.add("labels-dim-2e31", idx([0x80000000], data=bytes(4)), ".idx")
    c.add("labels-dtype-i32", idx([2], data=bytes(8), dtype=0x0C), ".idx")
    c.add("labels-trunc-header", idx([10])[:6], ".idx")
    c.add("labels-gz-bad-crc", (lambda g2: g2[:-8] + bytes(4) + g2[-4:])(gz(idx([4]))), ".idx.gz")
    c.add("gz-bomb-128m", gz(idx([1, 1, 1], data=bytes(128 << 20))), ".idx.gz")   # issue 8 R1
    c.add("labels-beyond-classes", idx([2], data=bytes([9, 1])), ".idx")          # issue 14 item 5
    return c.n


# ---- PNG ---------------------------------------------------------------------------------------

SIG = b"\x89PNG\r\n\x1a\n"


def chunk(typ, data, crc=None):
    c = zlib.crc32(typ + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", c)


def ihdr(w=4, h=4, depth=8, ctype=2, comp=0, filt=0, inter=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, comp, filt, inter))


def rows(w, h, bpp=3, filt=0):
    return b"".join(bytes([filt]) + bytes((x * 7 + y * 13) % 256 for x in range(w * bpp)) for y in range(h))


def png(w=4, h=4, depth=8, ctype=2, bpp=3, raw=None, extra=b"", idat=None, iend=True, **kw):
    raw = rows(w, h, bpp) if raw is None else raw
    d = zlib.compress(raw, 9) if idat is None else idat
    return SIG + ihdr(w, h, depth, ctype, **kw) + extra + chunk(b"IDAT", d) + (chunk(b"IEND", b"") if iend else b"")


def gen_png():
    c = Corpus("png", ".png")
    good = png()
    ihdr_end = 8 + 25
    idat_start = ihdr_end
    idat_len = struct.unpack(">I", good[idat_start:idat_start + 4])[0]
    idat_end = idat_start + 12 + idat_len
    for cut, what in [(0, "empty"), (4, "in-signature"), (8, "after-signature"), (12, "in-ihdr-length"),
                      (16, "after-ihdr-type"), (24, "mid-ihdr"), (29, "before-ihdr-crc"), (ihdr_end, "after-ihdr"),
                      (idat_start + 8, "after-idat-type"), (idat_start + 8 + idat_len // 2, "mid-idat"),
                      (idat_end - 4, "before-idat-crc"), (idat_end, "after-idat"), (idat_end + 6, "mid-iend")]:
        c.add("trunc-" + what, good[:cut])
    c.add("bad-signature", b"\x89PNX" + good[4:])
    c.add("signature-crlf-mangled", SIG[:4] + b"\n\x1a\n\n" + good[8:])
    c.add("jpeg-magic", b"\xff\xd8\xff\xe0" + good[4:])
    c.add("ihdr-bad-crc", SIG + ihdr()[:-4] + b"\0\0\0\0" + good[ihdr_end:])
    c.add("idat-bad-crc", good[:idat_end - 4] + b"\0\0\0\0" + good[idat_end:])
    c.add("width-zero", png(w=0))
    c.add("height-zero", png(h=0))
    c.add("width-2e31", png(w=0x80000000, raw=rows(4, 4)))
    c.add("width-over-limit", png(w=16385, h=1, raw=rows(16385, 1)))
    c.add("height-over-limit", png(w=1, h=16385, raw=rows(1, 16385)))
    c.add("huge-1e6-square", png(w=1000000, h=1000000, raw=rows(4, 4)))
    c.add("max-dims-no-data", png(w=16384, h=16384, raw=rows(4, 1)))
    c.add("depth-3", png(depth=3))
    c.add("depth-0", png(depth=0))
    c.add("depth-16-palette", png(depth=16, ctype=3, bpp=1))
    c.add("depth-4-rgb", png(depth=4))
    c.add("colour-type-1", png(ctype=1))
    c.add("colour-type-5", png(ctype=5))
    c.add("colour-type-7", png(ctype=7))
    c.add("compression-1", png(comp=1))
    c.add("filter-method-1", png(filt=1))
    c.add("interlace-2", png(inter=2))
    c.add("ihdr-short", SIG + chunk(b"IHDR", b"\0\0\0\4\0\0\0\4\x08") + good[ihdr_end:])
    c.add("ihdr-long", SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0) + b"\0") + good[ihdr_end:])
    c.add("ihdr-missing", SIG + good[ihdr_end:])
    c.add("ihdr-twice", SIG + ihdr() + ihdr() + good[ihdr_end:])
    c.add("idat-before-ihdr", SIG + good[idat_start:idat_end] + ihdr() + chunk(b"IEND", b""))
    c.add("idat-missing", SIG + ihdr() + chunk(b"IEND", b""))
    c.add("iend-missing", good[:idat_end])
    c.add("idat-empty", png(idat=b""))
    c.add("idat-not-zlib", png(idat=b"this is not zlib data"))
    c.add("idat-zlib-bad-header", png(idat=b"\x78\x00" + zlib.compress(rows(4, 4))[2:]))
    c.add("idat-zlib-bad-adler", png(idat=zlib.compress(rows(4, 4))[:-4] + b"\0\0\0\0"))
    c.add("idat-zlib-truncated", png(idat=zlib.compress(rows(4, 4))[:-8]))
    c.add("idat-deflate-bad-block", png(idat=b"\x78\x9c\x07" + zlib.compress(rows(4, 4))[3:]))
    c.add("idat-preset-dict", png(idat=b"\x78\xbb" + b"\0\0\0\0" + zlib.compress(rows(4, 4))[2:]))
    c.add("rows-short-by-one", png(raw=rows(4, 3)))
    c.add("rows-short-by-one-byte", png(raw=rows(4, 4)[:-1]))
    c.add("row-filter-5", png(raw=rows(4, 4, filt=5)))
    c.add("row-filter-255", png(raw=bytes([255]) + rows(4, 4)[1:]))
    c.add("palette-missing", png(ctype=3, bpp=1))
    c.add("palette-empty", png(ctype=3, bpp=1, extra=chunk(b"PLTE", b"")))
    c.add("palette-not-multiple-of-3", png(ctype=3, bpp=1, extra=chunk(b"PLTE", b"\0" * 10)))
    c.add("palette-257-entries", png(ctype=3, bpp=1, extra=chunk(b"PLTE", b"\0" * 771)))
    c.add("palette-after-idat", SIG + ihdr(ctype=3) + chunk(b"IDAT", zlib.compress(rows(4, 4, 1))) +
          chunk(b"PLTE", b"\0" * 12) + chunk(b"IEND", b""))
    c.add("chunk-length-2e31", SIG + ihdr() + struct.pack(">I", 0x80000000) + b"IDAT" + zlib.compress(rows(4, 4)))
    c.add("chunk-length-past-end", SIG + ihdr() + struct.pack(">I", 100000) + b"IDAT" + zlib.compress(rows(4, 4)))
    c.add("unknown-critical-chunk", png(extra=chunk(b"ABCD", b"x")))
    c.add("chunk-type-nonalpha", png(extra=chunk(b"a\x01cd", b"x")))
    c.add("bomb-idat-64m", png(w=16384, h=1366, raw=bytes(1366 * (16384 * 3 + 1) - 7)))
    c.add("gray16-short-rows", png(depth=16, ctype=0, bpp=2, raw=rows(4, 4, 2)[:-3]))
    c.add("interlaced-truncated-pass", png(inter=1, raw=rows(4, 4)[:10]))
    # F2 (fuzz_png): a zTXt chunk declaring 1.8 GB that libpng would allocate before reading.
    c.add("ztxt-length-1.8g", SIG + ihdr(ctype=3) + struct.pack(">I", 0x70000000) + b"zTXt" + b"PLTEK\x82")
    return c.n


if __name__ == "__main__":
    n1, n2, n3 = gen_npy(), gen_idx(), gen_png()
    print("gen_bad: %d npy, %d idx, %d png files under %s" % (n1, n2, n3, OUT))
