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
msg_exists=$(cat "$T/stderr")
sed 's#"weights.bin"#"up/missing.bin"#' tests/tfjs/seq_f32/model.json >"$T/esc/model.json"
fr_refused "tfjs missing shard through a symlinked directory" "$T/esc/model.json" "$BIN" import "$T/esc/model.json" -o "$T/out/x.frm"
msg_missing=$(cat "$T/stderr")
if [ "$msg_exists" = "$msg_missing" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not ok - messages differ: '$msg_exists' / '$msg_missing'"; fi
mkdir "$T/esc2" && ln -s "$T/secret/weights.bin" "$T/esc2/weights.bin" && cp tests/tfjs/seq_f32/model.json "$T/esc2/"
fr_refused "tfjs shard that is a symlink" "$T/esc2/model.json" "$BIN" import "$T/esc2/model.json" -o "$T/out/x.frm"
# a model directory reached through a symlink still imports
ln -s "$(pwd)/tests/tfjs/seq_f32" "$T/linked"
"$BIN" import "$T/linked/model.json" -o "$T/ok.frm" >/dev/null 2>"$T/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok - symlinked model dir: $(cat "$T/err")"; }
fr_t_done
