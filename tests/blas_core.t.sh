#!/bin/sh
# blas_core.t.sh — the OpenBLAS core-type fix (src/blas.c), checked through `frtui info --verbose`:
#   1. with OPENBLAS_CORETYPE unset, on a CPU with AVX2+FMA (or AVX-512) the core in use must not
#      be one of OpenBLAS's generic/old kernels (Prescott & co.): either the library detected a
#      good core itself or frtui re-executed with a better one;
#   2. a user-set OPENBLAS_CORETYPE always wins and is reported as set by the user (also a weak
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

line=$(core_line env -u OPENBLAS_CORETYPE -u FRTUI_BLAS_REEXEC)
name=$(core_name "$line")
if [ -n "$name" ]; then ok "info --verbose reports the core ($line)"; else no "no core line from info --verbose: '$line'"; fi
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { printf '%s\n' "$flags" | grep -qw "$1"; }
if has avx2 && has fma; then
    case $(printf '%s' "$name" | tr 'A-Z' 'a-z') in
        prescott|core2|penryn|dunnington|nehalem|sandybridge|atom|katmai|coppermine|northwood|banias|athlon|opteron|barcelona|bobcat|unknown|generic|"")
            no "AVX2 CPU but generic core '$name' in use with OPENBLAS_CORETYPE unset ($line)" ;;
        *) ok "AVX2 CPU runs a modern core with OPENBLAS_CORETYPE unset: $name" ;;
    esac
    case $line in
        *"set by user"*) no "unset variable reported as user-set: $line" ;;
        *) ok "unset variable not reported as user-set" ;;
    esac
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
        case $name in
            SkylakeX|Cooperlake|SapphireRapids|Zen*) ok "AVX-512 CPU uses AVX-512-era kernels: $name" ;;
            Haswell) ok "AVX-512 CPU uses Haswell kernels (SkylakeX failed the self-check?): $line" ;;
            *) no "AVX-512 CPU uses $name ($line)" ;;
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
