#!/bin/sh
# readers.t.sh — issue 14, items 6, 7 and 10: what every reader does before it parses.
#   - a FIFO in place of any input is refused at once (exit 2, one line), not waited on forever;
#   - a 1 GiB file with a wrong magic is refused after reading its first bytes (time, RSS);
#   - tfjs weight paths cannot leave the model's directory through a symlinked directory or a
#     symlinked file, and the message is the same whether the target exists or not.
# Prints "N passed, N failed".  Run from the repository root.
. tests/lib.sh
fr_t_init readers
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
M=tests/bad/frc/model.frm
[ -f "$M" ] || fr_t_skip "$M missing"

# 1. FIFOs (the 10 s kill in fr_refused turns a hang into a failure).
mkfifo "$T/f.frm" "$T/f.frc" "$T/f.onnx" "$T/f.npy" "$T/f.idx" "$T/model.json" "$T/labels.npy" || fr_t_skip "no mkfifo"
fr_refused "info FIFO" "$T/f.frm" "$BIN" info "$T/f.frm"
fr_refused "eval FIFO" "$T/f.frm" "$BIN" eval "$T/f.frm"
fr_refused "export FIFO checkpoint" "$T/f.frc" "$BIN" export "$T/f.frc" --model "$M" -o "$T/out/x.frm"
fr_refused "resume FIFO checkpoint" "$T/f.frc" "$BIN" run "$M" --resume "$T/f.frc" --quiet
fr_refused "import FIFO onnx" "$T/f.onnx" "$BIN" import "$T/f.onnx" -o "$T/out/x.frm"
fr_refused "import FIFO model.json" "$T/model.json" "$BIN" import "$T/model.json" -o "$T/out/x.frm"
fr_refused "import FIFO calib npy" "$T/f.npy" "$BIN" import tests/onnx/mlp.onnx --calib "$T/f.npy" -o "$T/out/x.frm"
fr_refused "import FIFO calib idx" "$T/f.idx" "$BIN" import tests/onnx/mlp.onnx --calib "$T/f.idx" -o "$T/out/x.frm"
mkdir "$T/pngs" && mkfifo "$T/pngs/a.png"
fr_refused "import FIFO in a PNG folder" "$T/pngs/a.png" "$BIN" import tests/onnx/mlp.onnx --calib "$T/pngs" -o "$T/out/x.frm"
# a tfjs weights shard that is a FIFO
mkdir "$T/tj" && cp tests/tfjs/seq_f32/model.json "$T/tj/" && mkfifo "$T/tj/weights.bin"
fr_refused "import FIFO weights shard" "$T/tj/model.json" "$BIN" import "$T/tj/model.json" -o "$T/out/x.frm"

# 2. a 1 GiB sparse file with a wrong magic: refused from its first bytes
for ext in frm frc npy; do
    truncate -s 1G "$T/big.$ext" || continue
    s0=$(date +%s%N)
    case $ext in
    frm) fr_refused "1 GiB bad-magic .frm" "$T/big.frm" "$BIN" info "$T/big.frm" ;;
    frc) fr_refused "1 GiB bad-magic .frc" "$T/big.frc" "$BIN" export "$T/big.frc" --model "$M" -o "$T/out/x.frm" ;;
    npy) fr_refused "1 GiB bad-magic .npy" "$T/big.npy" "$BIN" import tests/onnx/mlp.onnx --calib "$T/big.npy" -o "$T/out/x.frm" ;;
    esac
    ms=$(( ($(date +%s%N) - s0) / 1000000 ))
    if [ "$ms" -lt 2000 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not ok - 1 GiB .$ext took $ms ms"; fi
    rm -f "$T/big.$ext"
done

# 3. tfjs weights outside the model directory
mkdir -p "$T/secret" "$T/esc"
sz=$(wc -c <tests/tfjs/seq_f32/weights.bin)
head -c "$sz" /dev/urandom >"$T/secret/weights.bin"
cp tests/tfjs/seq_f32/model.json "$T/esc/model.json"
ln -s "$T/secret" "$T/esc/up"
sed 's#"weights.bin"#"up/weights.bin"#' tests/tfjs/seq_f32/model.json >"$T/esc/model.json"
grep -q '"up/weights.bin"' "$T/esc/model.json" || echo "note: could not rewrite the weights path"
fr_refused "tfjs shard through a symlinked directory" "$T/esc/model.json" "$BIN" import "$T/esc/model.json" -o "$T/out/x.frm"
msg_exists=$(sed 's/(up\/[a-z.]*)//' "$T/stderr")   # the name the manifest gives is the user's own
sed 's#"weights.bin"#"up/missing.bin"#' tests/tfjs/seq_f32/model.json >"$T/esc/model.json"
fr_refused "tfjs missing shard through a symlinked directory" "$T/esc/model.json" "$BIN" import "$T/esc/model.json" -o "$T/out/x.frm"
msg_missing=$(sed 's/(up\/[a-z.]*)//' "$T/stderr")
if [ "$msg_exists" = "$msg_missing" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not ok - messages differ: '$msg_exists' / '$msg_missing'"; fi
mkdir "$T/esc2" && ln -s "$T/secret/weights.bin" "$T/esc2/weights.bin" && cp tests/tfjs/seq_f32/model.json "$T/esc2/"
fr_refused "tfjs shard that is a symlink" "$T/esc2/model.json" "$BIN" import "$T/esc2/model.json" -o "$T/out/x.frm"
# a model directory reached through a symlink still imports
ln -s "$(pwd)/tests/tfjs/seq_f32" "$T/linked"
"$BIN" import "$T/linked/model.json" -o "$T/ok.frm" >/dev/null 2>"$T/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok - symlinked model dir: $(cat "$T/err")"; }

# 4. issue 14 item 6: derived sizes during import go through the memory check.
# A 10-million-sample .npy.gz (a few KB) resized to resblock's 3x6x6 input needs 1.08 GB.
/usr/bin/python3 - "$T" <<'PY'
import gzip, struct, sys, zlib
t = sys.argv[1]
n = 10000000
hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 1, 1, 1), }" % n
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
with gzip.open(t + "/many.npy.gz", "wb", compresslevel=9) as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + bytes(n))
def png(w, h):
    raw = b"".join(b"\0" + bytes(3 * w) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
import os
os.mkdir(t + "/bigpngs")
for i in range(5):
    open(t + "/bigpngs/%d.png" % i, "wb").write(png(300, 300))
PY
FRTUI_MEM_AVAILABLE=64M fr_refused "resize of 10^7 samples under 64 MiB" "many.npy.gz" "$BIN" import tests/onnx/resblock.onnx --calib "$T/many.npy.gz" --n-calib 0 -o "$T/out/x.frm"
# Five 300x300 PNGs: each (270 KB) fits in 1 MiB, the folder (1.35 MB) does not.
FRTUI_MEM_AVAILABLE=1M fr_refused "PNG folder total over 1 MiB" "bigpngs" "$BIN" import tests/onnx/resblock.onnx --calib "$T/bigpngs" -o "$T/out/x.frm"
FRTUI_MEM_AVAILABLE=2M "$BIN" import tests/onnx/resblock.onnx --calib "$T/bigpngs" --n-calib 2 -o "$T/two.frm" >/dev/null 2>"$T/err" &&
    pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok - two PNGs under 2 MiB: $(cat "$T/err")"; }

# 5. issue 14 item 5: an ONNX model whose input side (70000) is beyond what a .frm holds is
# refused by `import` with a message naming the model (it used to write a bundle `info` refused).
/usr/bin/python3 - "$T/wide.onnx" <<'PY'
import sys
def varint(v):
    out = b""
    while True:
        b = v & 0x7f; v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v: return out
def f_int(n, v): return varint(n << 3) + varint(v)
def f_msg(n, b): return varint(n << 3 | 2) + varint(len(b)) + b
def f_str(n, s): return f_msg(n, s.encode())
def vi(name, dims):
    shape = b"".join(f_msg(1, f_str(2, "N") if d < 0 else f_int(1, d)) for d in dims)
    return f_str(1, name) + f_msg(2, f_msg(1, f_int(1, 1) + f_msg(2, shape)))
g = f_msg(1, f_str(1, "x") + f_str(2, "y") + f_str(4, "Relu")) + f_str(2, "wide")
g += f_msg(11, vi("x", [-1, 1, 1, 70000])) + f_msg(12, vi("y", [-1, 1, 1, 70000]))
m = f_int(1, 8) + f_msg(7, g) + f_msg(8, f_str(1, "") + f_int(2, 13))
open(sys.argv[1], "wb").write(m)
PY
fr_refused "ONNX input side beyond the .frm limit" "$T/wide.onnx" "$BIN" import "$T/wide.onnx" -o "$T/out/x.frm"
fr_t_done
