#!/bin/sh
# tests/fuzz/run.sh — build and run the libFuzzer harnesses in tests/fuzz/.
#
#   tests/fuzz/run.sh build [NAME...]            build build/fuzz/fuzz_NAME (all by default)
#   tests/fuzz/run.sh run SECONDS [NAME...]      build, then run each harness for SECONDS, in turn
#   tests/fuzz/run.sh replay DIR NAME            run harness NAME once over every file in DIR
#   tests/fuzz/run.sh totals                     executions so far per harness (from stats.txt)
#   tests/fuzz/run.sh campaign UNTIL [NAME...]   until UNTIL (a `date -d` time, "21:45 UTC"),
#                                                FUZZ_LANES (2) runs at a time of the harness with
#                                                the least estimated time left to FUZZ_TARGET
#                                                (10^7) executions (stats.txt totals / last rate),
#                                                each at most FUZZ_CHUNK (600) s and stopped at the
#                                                target (-runs); when every harness left is
#                                                running, a lane starts a second instance of one
#                                                (a shared corpus is fine for libFuzzer)
#
# FUZZ_NOBUILD=1: run the harnesses as built (no rebuild when someone edits src/ mid-campaign).
# NAME is one of: frm npy idx png inflate json onnx tfjs frc frcs frms exec st (harnesses whose reader does not
# build yet are skipped with a note).  Needs clang + libFuzzer (Debian: clang, libclang-rt-dev
# or clang-14 libclang-rt-14-dev).  Run from the repository root.
#
# Layout: build/fuzz/obj (sources compiled with -fsanitize=fuzzer-no-link,address,undefined),
# build/fuzz/corpus/NAME (the working corpus; seeded from tests/fuzz/seeds/NAME, tests/bad/FMT,
# tests/regress/NAME and samples/ on every run; it keeps growing between runs),
# build/fuzz/artifacts/NAME (crash-*, leak-*, timeout-*, oom-* inputs),
# build/fuzz/stats.txt (one line per run: date name seconds execs exec/s crashes).
# Exit status: 0 when no harness found anything, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 2
ALL="frm npy idx png inflate json onnx tfjs frc frcs frms exec st"
# clang + libFuzzer: Debian 12 packages clang-14 and libclang-rt-14-dev, installed here (as
# `make deps` does for the build) when missing and we are root.
FUZZ_DEB_PKGS=${FUZZ_DEB_PKGS:-clang-14 libclang-rt-14-dev}
find_clang() {
    CC_FUZZ=${CC_FUZZ:-}
    if [ -z "$CC_FUZZ" ]; then
        for c in clang clang-14 clang-15 clang-16; do command -v $c >/dev/null 2>&1 && { CC_FUZZ=$c; break; }; done
    fi
    [ -n "$CC_FUZZ" ] || return 1
    mkdir -p build/fuzz
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >build/fuzz/probe.c
    $CC_FUZZ -fsanitize=fuzzer,address,undefined -o build/fuzz/probe build/fuzz/probe.c >/dev/null 2>&1
}
if ! find_clang; then
    missing=
    for p in $FUZZ_DEB_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: installing$missing"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
    CC_FUZZ=
    find_clang || { echo "fuzz: no clang with libFuzzer (apt-get install $FUZZ_DEB_PKGS)" >&2; exit 2; }
fi
PKGS="ncursesw libpng libzstd openblas zlib"
PKG_CFLAGS=$(pkg-config --cflags $PKGS 2>/dev/null)
PKG_LIBS=$(pkg-config --libs $PKGS 2>/dev/null)
# UBSan checks stay recoverable so that tests/fuzz/ubsan.supp can silence findings that are
# already reported (halt_on_error=1 makes every other one fatal, as libFuzzer needs).
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=tests/fuzz/ubsan.supp}
export UBSAN_OPTIONS
# tests/fuzz/cov_ignore.txt: checksum loops and the mutators' repacking without coverage
# callbacks (they gave no guidance and were the structure-aware harnesses' largest cost).
CFLAGS_F="-std=c11 -D_GNU_SOURCE -g -O1 $SAN -fsanitize-coverage-ignorelist=tests/fuzz/cov_ignore.txt -Iinclude -Isrc $PKG_CFLAGS"
B=build/fuzz
mkdir -p $B/obj
# Rebuild everything when the compiler or flags change.
stamp="$CC_FUZZ $CFLAGS_F"
if [ "$(cat $B/obj/.flags 2>/dev/null)" != "$stamp" ]; then rm -f $B/obj/*.o; echo "$stamp" >$B/obj/.flags; fi

# Compile every library source (not main.c) with coverage instrumentation.  A source that does
# not compile (work in progress elsewhere) is left out; harnesses needing it then fail to link
# and are skipped.
build_lib() {
    # One folder per part since the reorganisation; the tools (a second program) and the CLI's
    # main are not needed by any harness.
    for s in src/*/*.c; do
        case $s in src/app/main.c|src/tools/*) continue ;; esac
        o=$B/obj/$(basename "$s" .c).o
        if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find include src -name '*.h' -newer "$o" 2>/dev/null | head -n 1)" ]; then
            echo "$s $o"
        fi
    done | xargs -r -n 2 -P "${FUZZ_JOBS:-2}" sh -c \
        "$CC_FUZZ $CFLAGS_F -fsanitize=fuzzer-no-link -c \"\$0\" -o \"\$1\" 2>\"\$1.log\" || { echo \"fuzz: \$0 does not compile (see \$1.log); left out\" >&2; rm -f \"\$1\"; }"
    # Re-archive only when an object changed: several `run.sh run` may go at once (one per
    # core), and one of them deleting the archive while another links would break that link.
    if [ ! -f $B/libfrtui-fuzz.a ] || [ -n "$(find $B/obj -name '*.o' -newer $B/libfrtui-fuzz.a | head -n 1)" ]; then
        rm -f $B/libfrtui-fuzz.a.tmp.$$
        ar rcs $B/libfrtui-fuzz.a.tmp.$$ $B/obj/*.o && mv -f $B/libfrtui-fuzz.a.tmp.$$ $B/libfrtui-fuzz.a
    fi
}

build_one() {
    n=$1
    if [ -n "${FUZZ_NOBUILD:-}" ]; then [ -x $B/fuzz_$n ]; return; fi
    [ -f tests/fuzz/fuzz_$n.c ] || { echo "fuzz: no harness tests/fuzz/fuzz_$n.c" >&2; return 1; }
    # Up to date: relinking a harness another run.sh is executing gains nothing.
    if [ -x $B/fuzz_$n ] && [ $B/fuzz_$n -nt $B/libfrtui-fuzz.a ] && [ $B/fuzz_$n -nt tests/fuzz/fuzz_$n.c ] \
            && [ -z "$(find tests/fuzz -name '*.h' -newer $B/fuzz_$n | head -n 1)" ]; then
        return 0
    fi
    if ! $CC_FUZZ $CFLAGS_F -fsanitize=fuzzer -o $B/fuzz_$n tests/fuzz/fuzz_$n.c $B/libfrtui-fuzz.a \
            $PKG_LIBS -lpthread -lm 2>$B/fuzz_$n.log; then
        echo "fuzz: fuzz_$n does not link yet (see $B/fuzz_$n.log); skipped" >&2
        rm -f $B/fuzz_$n
        return 1
    fi
    return 0
}

# Seeds for harness $1 into directory $2.
seed() {
    n=$1; d=$2
    mkdir -p "$d"
    for s in tests/fuzz/seeds/$n tests/regress/$n; do
        [ -d "$s" ] && find "$s" -maxdepth 1 -type f -exec cp -n {} "$d"/ \; 2>/dev/null
    done
    case $n in
    frm) src=tests/bad/frm ;; npy) src=tests/bad/npy ;; idx) src=tests/bad/idx ;;
    png) src=tests/bad/png ;; onnx) src="tests/bad/onnx tests/onnx tests/torch/lm" ;; frc) src=tests/bad/frc ;;
    inflate) src="tests/bad/idx tests/bad/npy" ;; *) src= ;;
    esac
    for s in $src; do
        [ -d "$s" ] || continue
        find "$s" -maxdepth 1 -type f -size -256k | while read -r f; do
            cp -n "$f" "$d/$(echo "$s" | tr / _)_$(basename "$f")"
        done
    done
    if { [ "$n" = frm ] || [ "$n" = frms ]; } && [ -d samples ]; then
        find samples -maxdepth 1 -name '*.frm' -size -256k -exec cp -n {} "$d"/ \;
    fi
    if [ "$n" = tfjs ] || [ "$n" = json ]; then
        for c in tests/tfjs/*/ tests/bad/tfjs/*/; do
            [ -f "${c}model.json" ] || continue
            t="$d/$(echo "$c" | tr / _)seed"
            [ -f "$t" ] && continue
            if [ "$n" = json ]; then cp "${c}model.json" "$t"; continue; fi
            w=$(ls "$c" | grep -v -e model.json -e expect | head -n 1)
            { cat "${c}model.json"; printf '\000'; [ -n "$w" ] && cat "$c$w"; } >"$t"
        done
    fi
}

# "NAME total-executions total-seconds last-exec/s" from stats.txt.
total() {
    awk -v n="$1" '$2 == n { split($4, a, "="); split($5, b, "=");
                             if (a[2] ~ /^[0-9]+$/) { e += a[2]; s += $3 + 0; r = b[2] + 0 } }
        END { printf "%s %d %d %d\n", n, e, s, r }' $B/stats.txt 2>/dev/null || echo "$1 0 0 0"
}

maxlen() {
    case $1 in frcs|frms) echo 65536 ;; frm|onnx|tfjs|frc) echo 262144 ;; png) echo 65536 ;; *) echo 16384 ;; esac
}

# Per-harness libFuzzer options.  -entropic=0 for the three structure-aware harnesses: the
# entropic scheduler's per-feature bookkeeping (InputCorpus::UpdateFeatureFrequency,
# AddRareFeature) was 45 % of fuzz_exec's time (~19,000 features: every kernel path at every
# size class) and 36 % of fuzz_frms's (perf).  On the same corpus, seed and number of runs
# (2 Dec 2026): exec 12,000 runs in 3.9 CPU s instead of 8.2, ending with as much coverage
# (cov 3888 / ft 19369 against 3886 / 19224); frcs 60,000 runs in 3.6 CPU s instead of 5.7
# (cov 1070 / ft 2218 against 1072 / 2214); frms 60,000 in 3.1 instead of 4.1-4.8 (cov 2238
# against 2230-2240).  The inputs, mutators and checks are the same.
extra() {
    case $1 in exec|frcs|frms) echo "-entropic=0" ;; *) echo "" ;; esac
}

cmd=${1:-run}; [ $# -gt 0 ] && shift
case $cmd in
build)
    build_lib
    names=${*:-$ALL}; st=0
    for n in $names; do build_one "$n" || st=1; done
    exit $st ;;
replay)
    dir=$1; n=$2
    build_lib; build_one "$n" || exit 0
    files=$(find "$dir" -type f | sort)
    [ -z "$files" ] && exit 0
    # shellcheck disable=SC2086
    exec $B/fuzz_$n -runs=0 $files ;;
run)
    secs=${1:-60}; [ $# -gt 0 ] && shift
    names=${*:-$ALL}
    [ -n "${FUZZ_NOBUILD:-}" ] || build_lib
    found=0
    for n in $names; do
        build_one "$n" || continue
        seed "$n" $B/corpus/$n
        mkdir -p $B/artifacts/$n
        dict=; [ -f tests/fuzz/$n.dict ] && dict=-dict=tests/fuzz/$n.dict
        log=$B/fuzz_$n.run${FUZZ_LOG_TAG:-}.log
        echo "fuzz: $n for ${secs}s (corpus $B/corpus/$n, $(ls $B/corpus/$n | wc -l) files)"
        # -rss_limit_mb / -malloc_limit_mb: a reader that allocates from a declared size before
        # checking it against the input shows up as an oom-* artefact (issue 8, item 7).
        t0=$(date +%s)
        $B/fuzz_$n -max_total_time="$secs" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
            -max_len="$(maxlen "$n")" -print_final_stats=1 $dict $(extra "$n") \
            -artifact_prefix=$B/artifacts/$n/ $B/corpus/$n >"$log" 2>&1
        rc=$?
        took=$(( $(date +%s) - t0 ))   # actual seconds: a run stops early on a finding or SIGINT
        execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
        eps=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -n 1)
        crashes=$(ls $B/artifacts/$n | wc -l)
        echo "$(date -u +%FT%TZ) $n ${took}s execs=${execs:-?} exec/s=${eps:-?} exit=$rc artifacts=$crashes" | tee -a $B/stats.txt
        if [ "$rc" != 0 ]; then
            found=1
            grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 8
        fi
    done
    exit $found ;;
totals)
    for n in $ALL; do total $n; done | awk -v t="${FUZZ_TARGET:-10000000}" \
        '{ printf "%-8s %12d execs %7d s  %s\n", $1, $2, $3, ($2 >= t ? ">= target" : "") }' ;;
campaign)
    until=$(date -u -d "${1:?campaign UNTIL}" +%s) || exit 2
    shift
    names=${*:-$ALL}
    build_lib
    for n in $names; do build_one "$n" || true; done
    rm -rf $B/lock; mkdir -p $B/lock
    lane() {
        while :; do
            left=$(( until - $(date -u +%s) ))
            [ $left -lt 60 ] && return
            pick=
            # Nearest to the target first (remaining executions / last rate): as many readers
            # as possible get there; the slowest one takes what time is left.
            est=$(for m in $names; do total $m; done | awk -v t="${FUZZ_TARGET:-10000000}" \
                    '$2 < t { print int((t - $2) / ($4 > 0 ? $4 : 1)) + 1, $1 }' | sort -n)
            order=$(echo "$est" | awk '{print $2}')
            for n in $order; do
                if [ -x $B/fuzz_$n ] && mkdir $B/lock/$n 2>/dev/null; then pick=$n; lock=$n; break; fi
            done
            # Everything left is already running: a second instance of the first one (libFuzzer
            # processes may share a corpus directory), so no lane idles at the end.
            for n in $order; do
                [ -z "$pick" ] && [ -x $B/fuzz_$n ] && mkdir $B/lock/$n.$1 2>/dev/null && { pick=$n; lock=$n.$1; }
            done
            [ -n "$pick" ] || return
            # A run ends at the chunk, the deadline, or a little after the estimated time to
            # the target (the rate varies with the load), whichever comes first.
            need=$(echo "$est" | awk -v n="$pick" '$2 == n { print int($1 * 1.2) + 30 }')
            secs=${FUZZ_CHUNK:-600}; [ "${need:-$secs}" -lt $secs ] && secs=$need
            [ $left -lt $((secs + 30)) ] && secs=$((left - 30))
            # -runs: stop at the target (+3 %) instead of overshooting it for the rest of the chunk.
            runs=$(total "$pick" | awk -v t="${FUZZ_TARGET:-10000000}" '{ print int((t - $2) * 1.03) + 1000 }')
            FUZZ_NOBUILD=1 FUZZ_LOG_TAG=.lane$1 FUZZ_RUNS=$runs sh "$0" run "$secs" "$pick"
            rmdir $B/lock/$lock
        done
    }
    i=0
    while [ $i -lt "${FUZZ_LANES:-2}" ]; do lane $i & i=$((i + 1)); sleep 2; done
    wait
    sh "$0" totals ;;
*)
    sed -n '2,26p' "$0"; exit 2 ;;
esac
