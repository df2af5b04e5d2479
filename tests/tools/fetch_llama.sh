#!/bin/sh
# fetch_llama.sh — the independent runtime of the GGUF check (issue 16): llama.cpp's prebuilt
# shared libraries as npm publishes them for node-llama-cpp, @node-llama-cpp/linux-x64@3.22.1
# (MIT; llama.cpp itself MIT).  Only the C libraries are used (tests/test_gguf.c loads them with
# dlopen); node is not needed to run them, and nothing in frtui links them.
#
# usage: sh tests/tools/fetch_llama.sh [CACHE_DIR]      (default build/npm)
# result: CACHE_DIR/llama/bins/linux-x64/{libllama.v0.5.0.so, libggml*.so}
# Idempotent: does nothing when the result exists.  Needs npm and tar.  Exit 2 on failure.
set -eu
CACHE=${1:-build/npm}
VER=3.22.1
OUT=$CACHE/llama
LIB=$OUT/bins/linux-x64/libllama.v0.5.0.so
if [ -s "$LIB" ]; then exit 0; fi
mkdir -p "$CACHE"
TGZ=node-llama-cpp-linux-x64-$VER.tgz
if [ ! -s "$CACHE/$TGZ" ]; then
    (cd "$CACHE" && npm pack --silent "@node-llama-cpp/linux-x64@$VER" >/dev/null) ||
        { echo "fetch_llama: npm pack @node-llama-cpp/linux-x64@$VER failed" >&2; exit 2; }
fi
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
tar -xzf "$CACHE/$TGZ" -C "$OUT.tmp" --strip-components=1 package/bins/linux-x64 package/LICENSE ||
    { echo "fetch_llama: $CACHE/$TGZ lacks bins/linux-x64" >&2; rm -rf "$OUT.tmp"; exit 2; }
[ -s "$OUT.tmp/bins/linux-x64/libllama.v0.5.0.so" ] ||
    { echo "fetch_llama: $CACHE/$TGZ has no libllama.v0.5.0.so" >&2; rm -rf "$OUT.tmp"; exit 2; }
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "fetch_llama: $OUT ready"
