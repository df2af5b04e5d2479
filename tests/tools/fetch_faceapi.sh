#!/bin/sh
# fetch_faceapi.sh — the npm step of the ResNet side of `make report-contrast`: fetch
# @vladmandic/face-api@1.7.15 with npm (registry only) and extract its face-recognition network's
# weights manifest and shard, plus the package's dist/ (its own tfjs runtime, used only by
# tests/tools/faceapi_reference.mjs to remake the test fixture).
#
# usage: sh tests/tools/fetch_faceapi.sh [CACHE_DIR]      (default build/npm)
# result: CACHE_DIR/faceapi/{face_recognition_model-weights_manifest.json, face_recognition_model.bin}
#         CACHE_DIR/faceapi/package/ (the unpacked tarball's dist/ and model/ face-recognition files)
# Idempotent: does nothing when the result exists.  Needs npm and tar.  Exit 2 on failure.
set -eu
CACHE=${1:-build/npm}
VER=1.7.15
OUT=$CACHE/faceapi
MAN=face_recognition_model-weights_manifest.json
if [ -s "$OUT/$MAN" ] && [ -s "$OUT/face_recognition_model.bin" ]; then exit 0; fi
mkdir -p "$OUT"
TGZ=vladmandic-face-api-$VER.tgz
if [ ! -s "$CACHE/$TGZ" ]; then
    (cd "$CACHE" && npm pack --silent "@vladmandic/face-api@$VER" >/dev/null) ||
        { echo "fetch_faceapi: npm pack @vladmandic/face-api@$VER failed" >&2; exit 2; }
fi
tar -xzf "$CACHE/$TGZ" -C "$OUT" package/model/$MAN package/model/face_recognition_model.bin package/dist/face-api.esm.js ||
    { echo "fetch_faceapi: $CACHE/$TGZ lacks the face-recognition model" >&2; exit 2; }
cp "$OUT/package/model/face_recognition_model.bin" "$OUT/face_recognition_model.bin.tmp"
mv -f "$OUT/face_recognition_model.bin.tmp" "$OUT/face_recognition_model.bin"
cp "$OUT/package/model/$MAN" "$OUT/$MAN.tmp"
mv -f "$OUT/$MAN.tmp" "$OUT/$MAN"
echo "fetch_faceapi: $OUT ready"
