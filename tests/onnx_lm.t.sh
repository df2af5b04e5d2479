#!/bin/sh
# onnx_lm.t.sh — `frtui import` of transformers exported by torch.onnx.export (issue 16, item 5;
# src/import/onnx_tok.c) as a user runs it:
#   frtui import LM.onnx --calib ids.npy --eval ids.npy -o m.frm   (token ids, not images)
#   frtui eval m.frm      perplexity == torch's, computed from its float64 logits (fixtures.txt), 1e-5
#   frtui run m.frm --method flexround --bits 4 ...   quantizes the two decoder blocks and the head
# then the refusals: token ids with --labels, token ids out of the vocabulary, token ids for an
# image model: one line, exit 2, nothing written.  The logit-level checks are tests/test_onnx_lm.c.
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init onnx_lm
D=tests/torch/lm
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { r = a / b - 1; if (r < 0) r = -r; exit !(a > 0 && b > 0 && r < t) }'; }
ppl_of() { "$BIN" eval "$1" 2>&1 | sed -n 's/.*: perplexity \([0-9.]*\),.*/\1/p'; }

for f in llama_op14 llama_op17 gpt2_op14 gpt2_op17 hfllama_op17 gpt2hf_op14 gpt2sdpa_op14; do
    m=${f%_op*}
    want=$(awk -v m="$m" '$1 == "ppl" && $2 == m { print $3 }' "$D/fixtures.txt")
    [ -n "$want" ] || { bad "$f: no reference perplexity in $D/fixtures.txt"; continue; }
    if ! "$BIN" import "$D/$f.onnx" --calib "$D/ids.npy" --eval "$D/ids.npy" -o "$T/$f.frm" >"$T/imp" 2>&1; then
        bad "$f: import: $(head -c 300 "$T/imp")"; continue
    fi
    if grep -q "language model, .* vocabulary 64, windows of 16 tokens, .* 8 calibration / 8 evaluation" "$T/imp"; then ok
    else bad "$f: import said: $(head -c 300 "$T/imp")"; fi
    got=$(ppl_of "$T/$f.frm")
    if near "$got" "$want" 1e-5; then ok; else bad "$f: frtui perplexity '$got', torch '$want'"; fi
    echo "# $f: perplexity frtui $got, torch $want"
done

# a short FlexRound run on the imported LLaMA: both blocks and the head finish, perplexity reported
if "$BIN" run "$T/llama_op14.frm" --method flexround --bits 4 --iters 30 --json "$T/r.json" >"$T/run" 2>&1; then
    if grep -q '"ppl_q"' "$T/r.json" && [ "$(grep -c '"status": "done"' "$T/r.json")" -ge 3 ]; then ok
    else bad "run: report lacks ppl_q or 3 finished units: $(head -c 400 "$T/r.json")"; fi
else
    bad "run: $(tail -c 300 "$T/run")"
fi

# refusals
fr_refused "labels with token ids" "--labels, --mean, --std and --weights do not apply" \
    "$BIN" import "$D/llama_op14.onnx" --calib "$D/ids.npy" --labels "$D/ids.npy" -o "$T/out/x.frm"
# ids.npy with its first id made 64 (the vocabulary is 0..63): the last 8*16*8 bytes are the ids
cp "$D/ids.npy" "$T/big.npy"
off=$(( $(wc -c <"$D/ids.npy") - 8 * 16 * 8 ))
printf '\100' | dd of="$T/big.npy" bs=1 seek="$off" conv=notrunc 2>/dev/null
fr_refused "ids beyond the vocabulary" "64" \
    "$BIN" import "$D/llama_op14.onnx" --calib "$T/big.npy" -o "$T/out/x.frm"
fr_refused "token ids for an image model" "ids.npy: token ids (int32/int64 or text), but tests/torch/resnet_op9.onnx is not a language model" \
    "$BIN" import tests/torch/resnet_op9.onnx --calib "$D/ids.npy" -o "$T/out/x.frm"
fr_t_done
