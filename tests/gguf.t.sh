#!/bin/sh
# gguf.t.sh — `frtui export ... --gguf` at the command line (issue 16, item 6): the full-precision
# sample LM and a FlexRound checkpoint of it (per-group 32, asymmetric W4 -> Q4_1 blocks) as
# GGUF, measured by llama.cpp itself (tests/test_gguf --ppl, libllama from npm; `make test`
# fetches it): its perplexity within 1 % of the one frtui's run reports.  Refusals: a CNN, a
# bundle asked for a checkpoint's outputs.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init gguf
LM=samples/tinylm-kjv.frm
TG=${BUILD:-build/release}/tests/test_gguf
{ [ -x "$BIN" ] && [ -x "$TG" ] && [ -f "$LM" ]; } || fr_t_skip "$BIN, $TG or $LM missing"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
# a / b within 1 %
close() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b - 1; if (r < 0) r = -r; exit !(a > 0 && b > 0 && r < 0.01) }'; }

"$BIN" export "$LM" --gguf "$T/fp.gguf" >"$T/fp.out" 2>&1
if grep -q "GGUF for llama.cpp, 4 blocks, vocabulary 256" "$T/fp.out" && [ -s "$T/fp.gguf" ]; then ok
else bad "export of the FP bundle: $(head -c 300 "$T/fp.out")"; fi
fp=$("$BIN" eval "$LM" | sed -n 's/.*perplexity \([0-9.]*\),.*/\1/p')
lfp=$("$TG" --ppl "$T/fp.gguf" "$LM" 2>"$T/l.err")
if close "$lfp" "$fp"; then ok; else bad "llama.cpp FP perplexity '$lfp' vs frtui's '$fp': $(head -c 300 "$T/l.err")"; fi

FRTUI_THREADS=1 "$BIN" run "$LM" --preset flexround-llm --bits 4 --group-size 32 --first-last-bits 4 --iters 4 --n-calib 32 \
    --quiet --checkpoint "$T/r.frc" --json "$T/r.json" >"$T/run.out" 2>&1 || bad "run: $(head -c 300 "$T/run.out")"
"$BIN" export "$T/r.frc" --gguf "$T/q.gguf" >"$T/q.out" 2>&1
if grep -q "blk.3.ffn_down.weight *Q4_1 *4-bit codes exact" "$T/q.out" && grep -q "output.weight *Q4_1" "$T/q.out"; then ok
else bad "checkpoint export table: $(head -c 400 "$T/q.out")"; fi
pq=$(sed -n 's/.*"ppl_q": \([0-9.]*\).*/\1/p' "$T/r.json")
tok=$(sed -n 's/.*"lm": {"vocab": 256, "tokens": \([0-9]*\).*/\1/p' "$T/r.json")
win=$(( ${tok:-0} / 127 ))
lq=$("$TG" --ppl "$T/q.gguf" "$LM" "$win" 2>"$T/l.err")
if [ "$win" -gt 0 ] && close "$lq" "$pq"; then ok
else bad "llama.cpp quantized perplexity '$lq' vs the run's '$pq' ($win windows): $(head -c 300 "$T/l.err")"; fi

fr_refused "a CNN has no GGUF form" "resnet-fmnist.frm: not a language model" "$BIN" export samples/resnet-fmnist.frm --gguf "$T/out/x.gguf"
fr_refused "a bundle is not a checkpoint for -o" "tinylm-kjv.frm: is a model bundle (.frm), not a checkpoint" "$BIN" export "$LM" -o "$T/out/x.frm"
echo "# FP perplexity frtui $fp, llama.cpp $lfp; FlexRound W4 Q4_1: run $pq, llama.cpp $lq ($win windows)"
fr_t_done
