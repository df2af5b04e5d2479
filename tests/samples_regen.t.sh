#!/bin/sh
# `make samples` must regenerate the bundled samples bit-identically at the thread count (1) and
# OpenBLAS core (Haswell) the bundles record, on any CPU with AVX2: frtui-dev's default core
# choice (src/engine/blas.c) is what makes that hold on a machine whose OpenBLAS would pick other
# kernels, so the run ignores OPENBLAS_CORETYPE / FRTUI_BLAS_CORE from the environment (the suite
# may run under a forced core, tests/kernels.t.sh).  Retraining all three takes ~30 minutes on 2
# cores, so the suite checks the MLP (~30 s) and leaves the CNNs to `make samples-check`.
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
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
if ! printf '%s\n' "$flags" | grep -qw avx2 || ! printf '%s\n' "$flags" | grep -qw fma; then
    echo "CPU without AVX2+FMA cannot run the Haswell kernels the samples were trained with: skipped"
    echo "0 passed, 0 failed"; exit 0
fi
pass=0; fail=0
if env -u OPENBLAS_CORETYPE -u FRTUI_BLAS_CORE -u FRTUI_BLAS_REEXEC FRTUI_THREADS=1 "$BIN" train-samples --arch mlp --out "$T" >/dev/null 2>"$T/log"; then
    if cmp -s "$T/mlp-fmnist.frm" samples/mlp-fmnist.frm; then pass=$((pass + 1)); echo "ok - mlp-fmnist.frm regenerates bit-identically"
    else fail=$((fail + 1)); echo "not ok - mlp-fmnist.frm differs after retraining"; fi
else
    fail=$((fail + 1)); echo "not ok - train-samples failed: $(tail -n 3 "$T/log")"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
