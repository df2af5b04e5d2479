#!/bin/sh
# fetch_nsfwjs.sh — the npm step of `make samples-real`: fetch nsfwjs@4.3.0 with npm (registry
# only), extract the MobileNetV2 files and unwrap them into a plain tfjs layers-model.
#
# usage: sh tests/tools/fetch_nsfwjs.sh [CACHE_DIR]      (default build/npm)
# result: CACHE_DIR/mobilenet_v2/{model.json, group1-shard1of1.bin}
# Idempotent: does nothing when the result exists.  Needs npm, node and tar.  Exit 2 on failure.
set -eu
CACHE=${1:-build/npm}
VER=4.3.0
OUT=$CACHE/mobilenet_v2
if [ -s "$OUT/model.json" ] && [ -s "$OUT/group1-shard1of1.bin" ]; then exit 0; fi
TOOLS=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$CACHE"
if [ ! -s "$CACHE/nsfwjs-$VER.tgz" ]; then
    (cd "$CACHE" && npm pack --silent "nsfwjs@$VER" >/dev/null) || { echo "fetch_nsfwjs: npm pack nsfwjs@$VER failed" >&2; exit 2; }
fi
SRC=package/dist/models/mobilenet_v2
tar -xzf "$CACHE/nsfwjs-$VER.tgz" -C "$CACHE" "$SRC/model.min.js" "$SRC/group1-shard1of1.min.js" ||
    { echo "fetch_nsfwjs: $CACHE/nsfwjs-$VER.tgz lacks $SRC" >&2; exit 2; }
node "$TOOLS/unwrap_nsfwjs.js" "$CACHE/$SRC" "$OUT" >/dev/null || exit 2
echo "fetch_nsfwjs: $OUT ready"
