#!/bin/sh
# hf.t.sh — `frtui import` of Hugging Face LLaMA-family checkpoints (issue 16, item 5), checked
# against an independent reference: tests/tools/hf_llama_ref.py writes three tiny checkpoints
# (llama BF16 in two shards with an index and int64 token ids; qwen2 F16 with q/k/v biases, a
# tied head, head_dim != hidden/heads and int32 ids; a byte-level llama F32 with plain text) and
# computes their perplexity in pure-Python double precision from Hugging Face's semantics.
# frtui's imported model must give the same perplexity (1e-5), and so must llama.cpp on
# frtui's GGUF export of it (1e-3; tests/test_gguf --ppl).  A short FlexRound run on an imported
# model exports Q4_1 blocks that llama.cpp measures within 1 % of the run.  Then the refusals:
# one line, exit 2, nothing written.  Prints "N passed, N failed".
. tests/lib.sh
fr_t_init hf
TG=${BUILD:-build/release}/tests/test_gguf
REF=tests/tools/hf_llama_ref.py
{ [ -x "$BIN" ] && [ -x "$TG" ]; } || fr_t_skip "$BIN or $TG missing"
command -v python3 >/dev/null 2>&1 || fr_t_skip "python3 missing"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
# |a / b - 1| < tol
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { r = a / b - 1; if (r < 0) r = -r; exit !(a > 0 && b > 0 && r < t) }'; }
ppl_of() { "$BIN" eval "$1" 2>&1 | sed -n 's/.*: perplexity \([0-9.]*\),.*/\1/p'; }

for v in llama-bf16-shards qwen2-f16-tied llama-bytes-f32; do
    D=$T/$v
    want=$(python3 "$REF" "$D" "$v") || { bad "$v: reference failed"; continue; }
    if [ "$v" = llama-bytes-f32 ]; then data="--calib $D/text.txt --eval $D/text.txt --seq-len 16"
    else data="--calib $D/calib.npy --eval $D/eval.npy"; fi
    # shellcheck disable=SC2086
    "$BIN" import "$D" $data -o "$T/$v.frm" >"$T/imp" 2>&1 || { bad "$v: import: $(head -c 300 "$T/imp")"; continue; }
    got=$(ppl_of "$T/$v.frm")
    if near "$got" "$want" 1e-5; then ok; else bad "$v: frtui perplexity '$got', reference '$want'"; fi
    "$BIN" export "$T/$v.frm" --gguf "$T/$v.gguf" >/dev/null 2>&1
    lc=$("$TG" --ppl "$T/$v.gguf" "$T/$v.frm" 2>"$T/l.err")
    if near "$lc" "$want" 1e-3; then ok; else bad "$v: llama.cpp on the GGUF export '$lc', reference '$want': $(head -c 200 "$T/l.err")"; fi
    echo "# $v: reference $want, frtui $got, llama.cpp $lc"
done
check_info() { "$BIN" info "$T/qwen2-f16-tied.frm" | grep -q "Hugging Face qwen2 checkpoint .*F16 tied head, q/k/v biases"; }
if check_info; then ok; else bad "info: the provenance names the checkpoint, dtype, tied head and biases"; fi

# a quantized run on an imported checkpoint, through GGUF into llama.cpp
A=$T/llama-bf16-shards.frm
FRTUI_THREADS=1 "$BIN" run "$A" --preset flexround-llm --group-size 32 --first-last-bits 4 --iters 3 --quiet \
    --checkpoint "$T/a.frc" --json "$T/a.json" >"$T/run" 2>&1 || bad "run on the import: $(head -c 300 "$T/run")"
"$BIN" export "$T/a.frc" --gguf "$T/a.gguf" >"$T/x" 2>&1
pq=$(sed -n 's/.*"ppl_q": \([0-9.]*\).*/\1/p' "$T/a.json")
lq=$("$TG" --ppl "$T/a.gguf" "$A" 2>/dev/null)
if grep -q "Q4_1" "$T/x" && near "$lq" "$pq" 0.01; then ok; else bad "FlexRound W4 of the import: run '$pq', llama.cpp '$lq'"; fi

# refusals: copies of the llama checkpoint with one fault each
L=$T/llama-bf16-shards
mk() { rm -rf "$T/bad"; cp -r "$L" "$T/bad"; python3 -c "$1" "$T/bad"; }
edit_cfg='import json,sys; p=sys.argv[1]+"/config.json"; c=json.load(open(p)); KEY; json.dump(c,open(p,"w"))'
mk "$(echo "$edit_cfg" | sed 's/KEY/c["model_type"]="gpt2"/')"
fr_refused "model_type gpt2" 'model_type "gpt2" is not one frtui imports' "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk "$(echo "$edit_cfg" | sed 's/KEY/c["rope_scaling"]={"type":"llama3","factor":8.0}/')"
fr_refused "rope_scaling" "rope_scaling is set" "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk "$(echo "$edit_cfg" | sed 's/KEY/del c["hidden_size"]/')"
fr_refused "missing hidden_size" '"hidden_size" is missing' "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk "$(echo "$edit_cfg" | sed 's/KEY/c["intermediate_size"]=50/')"
fr_refused "shape against config" 'config.json makes it [50, 32]' "$BIN" import "$T/bad" -o "$T/out/x.frm"
edit_idx='import json,sys; p=sys.argv[1]+"/model.safetensors.index.json"; c=json.load(open(p)); m=c["weight_map"]; KEY; json.dump(c,open(p,"w"))'
mk "$(echo "$edit_idx" | sed 's/KEY/del m["model.layers.1.mlp.up_proj.weight"]/')"
fr_refused "tensor missing from the index" 'weight_map has no "model.layers.1.mlp.up_proj.weight"' "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk "$(echo "$edit_idx" | sed 's|KEY|m["model.norm.weight"]="../../etc/passwd"|')"
fr_refused "shard outside the folder" "is not a file name in the checkpoint's folder" "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk 'import sys; p=sys.argv[1]+"/model-00002-of-00002.safetensors"; b=open(p,"rb").read(); open(p,"wb").write(b[:len(b)-7])'
fr_refused "truncated shard" "do not hold" "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk 'import sys,struct; p=sys.argv[1]+"/model-00001-of-00002.safetensors"; b=open(p,"rb").read(); open(p,"wb").write(struct.pack("<Q",1<<40)+b[8:])'
fr_refused "header length beyond the file" "not a safetensors file (header length 1099511627776" "$BIN" import "$T/bad" -o "$T/out/x.frm"
mk 'import sys,json,struct; p=sys.argv[1]+"/model-00001-of-00002.safetensors"; b=open(p,"rb").read(); n=struct.unpack("<Q",b[:8])[0]; h=json.loads(b[8:8+n]); h["model.embed_tokens.weight"]["dtype"]="I16"; s=json.dumps(h).encode(); open(p,"wb").write(struct.pack("<Q",len(s))+s+b[8+n:])'
fr_refused "integer weights" "is I16 (only F32, F16 and BF16" "$BIN" import "$T/bad" -o "$T/out/x.frm"
python3 -c 'import struct,sys; h="{'"'"'descr'"'"': '"'"'<i8'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (1, 8), }"; h+=" "*((64-(10+len(h)+1)%64)%64)+"\n"; open(sys.argv[1],"wb").write(b"\x93NUMPY\x01\x00"+struct.pack("<H",len(h))+h.encode()+struct.pack("<8q",1,2,3,300,4,5,6,7))' "$T/oov.npy"
fr_refused "token id outside the vocabulary" "token id 300 at window 0, position 3" "$BIN" import "$L" --eval "$T/oov.npy" -o "$T/out/x.frm"
fr_refused "text for a 300-token vocabulary" "plain text needs a byte-level model" "$BIN" import "$L" --eval "$T/llama-bytes-f32/text.txt" -o "$T/out/x.frm"
fr_refused "window beyond max_position_embeddings" "longer than max_position_embeddings 64" "$BIN" import "$L" --seq-len 65 -o "$T/out/x.frm"
fr_refused "image options on a language model" "not --weights, --labels" "$BIN" import "$L" --mean 0.5 -o "$T/out/x.frm"
fr_t_done
