#!/bin/sh
# `make samples` must regenerate the bundled samples bit-identically at the thread count the
# bundles record (1).  Retraining all three takes ~30 minutes on 2 cores, so the suite checks
# the MLP (~30 s) and leaves the CNNs to `make samples-check`.
BIN=${FRTUI_DEV_BIN:-./frtui-dev}
T=$(mktemp -d /tmp/frtui-regen.XXXXXX)
trap 'rm -rf "$T"' EXIT
if [ ! -f samples/mlp-fmnist.frm ] || [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "samples or Fashion-MNIST missing: skipped"; echo "0 passed, 0 failed"; exit 0
fi
case "${BUILD:-build/release}" in
    */release) ;;
    *) echo "sanitizer build: optimisation flags differ from the samples' build, skipped"; echo "0 passed, 0 failed"; exit 0 ;;
esac
pass=0; fail=0
if FRTUI_THREADS=1 "$BIN" train-samples --arch mlp --out "$T" >/dev/null 2>"$T/log"; then
    if cmp -s "$T/mlp-fmnist.frm" samples/mlp-fmnist.frm; then pass=$((pass + 1)); echo "ok - mlp-fmnist.frm regenerates bit-identically"
    else fail=$((fail + 1)); echo "not ok - mlp-fmnist.frm differs after retraining"; fi
else
    fail=$((fail + 1)); echo "not ok - train-samples failed: $(tail -n 3 "$T/log")"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
