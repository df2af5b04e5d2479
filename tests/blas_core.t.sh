#!/bin/sh
# blas_core.t.sh — the OpenBLAS core choice (src/engine/blas.c), checked through `frtui info
# --verbose` (tests/kernels.t.sh checks what runs record):
#   1. with OPENBLAS_CORETYPE and FRTUI_BLAS_CORE unset, a CPU with AVX2+FMA runs the Haswell
#      kernels (the reproducible default), whatever the library would pick;
#   2. FRTUI_BLAS_CORE=native runs the library's own choice, never one of its generic/old kernels
#      (Prescott & co.) on an AVX2 CPU: frtui re-executes with a better one if needed;
#   3. a user-set OPENBLAS_CORETYPE always wins and is reported as set by the user (also a weak
#      one such as Prescott: no silent override).
# Prints "N passed, N failed".  Run from the repository root (tests/run.sh does).
BIN=${FRTUI_BIN:-./frtui}
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "not ok - $1"; }
if [ ! -x "$BIN" ]; then
    echo "blas_core: $BIN missing; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
# The "OpenBLAS core: NAME (how), N thread(s)" line; `info` prints it before looking at files.
core_line() { "$@" "$BIN" info --verbose </dev/null 2>/dev/null | grep '^OpenBLAS core: ' | head -n 1; }
core_name() { printf '%s\n' "$1" | sed -n 's/^OpenBLAS core: \([^ ]*\).*/\1/p'; }

line=$(core_line env -u OPENBLAS_CORETYPE -u FRTUI_BLAS_REEXEC -u FRTUI_BLAS_CORE)
name=$(core_name "$line")
if [ -n "$name" ]; then ok "info --verbose reports the core ($line)"; else no "no core line from info --verbose: '$line'"; fi
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { printf '%s\n' "$flags" | grep -qw "$1"; }
if has avx2 && has fma; then
    # The reproducible default: Haswell on every AVX2 CPU, whatever the library detects.
    case $line in
        "OpenBLAS core: Haswell (reproducible default"*) ok "AVX2 CPU runs the reproducible Haswell kernels by default" ;;
        *) no "AVX2 CPU, OPENBLAS_CORETYPE unset: want Haswell (reproducible default), got '$line'" ;;
    esac
    # The opt-out: the library's own choice, raised from a generic core.
    line=$(core_line env -u OPENBLAS_CORETYPE -u FRTUI_BLAS_REEXEC FRTUI_BLAS_CORE=native)
    name=$(core_name "$line")
    case $(printf '%s' "$name" | tr 'A-Z' 'a-z') in
        prescott|core2|penryn|dunnington|nehalem|sandybridge|atom|katmai|coppermine|northwood|banias|athlon|opteron|barcelona|bobcat|unknown|generic|"")
            no "FRTUI_BLAS_CORE=native on an AVX2 CPU runs the generic core '$name' ($line)" ;;
        *) ok "FRTUI_BLAS_CORE=native runs a modern core: $line" ;;
    esac
    case $line in
        *"set by user"*) no "unset variable reported as user-set: $line" ;;
        *"native"*) ok "native mode is reported as such" ;;
        *) no "native mode not reported: $line" ;;
    esac
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
        case $name in
            SkylakeX|Cooperlake|SapphireRapids|Zen*) ok "native on an AVX-512 CPU uses AVX-512-era kernels: $name" ;;
            Haswell) ok "native on an AVX-512 CPU uses Haswell kernels (SkylakeX failed the self-check?): $line" ;;
            *) no "native on an AVX-512 CPU uses $name ($line)" ;;
        esac
    fi
else
    echo "# CPU has no AVX2+FMA: generic-core check skipped"
fi

for want in Haswell Prescott; do
    line=$(core_line env -u FRTUI_BLAS_REEXEC OPENBLAS_CORETYPE=$want)
    case $line in
        *"OPENBLAS_CORETYPE=$want set by user"*) ok "user-set OPENBLAS_CORETYPE=$want is respected and reported ($line)" ;;
        *) no "user-set OPENBLAS_CORETYPE=$want: got '$line'" ;;
    esac
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
