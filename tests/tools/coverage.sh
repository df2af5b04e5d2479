#!/bin/sh
# coverage.sh DIR — line coverage of src/ after the instrumented test binaries in DIR ran
# (`make coverage`): gcov per source file, one line per file (sorted by coverage) and the total,
# written to DIR/summary.txt and the total echoed.  Only the program's own sources count (tests
# and system headers do not).
DIR=${1:-build/coverage}
out=$DIR/summary.txt
: >"$DIR/files.txt"
for c in src/*/*.c; do
    o=$DIR/obj/${c#src/}; o=${o%.c}
    [ -f "$o.gcno" ] || continue
    # "File 'src/x/y.c'" followed by "Lines executed:P% of N" (gcov -n: no .gcov files written)
    gcov -n -o "$(dirname "$o")" "$c" 2>/dev/null | awk -v f="$c" '
        /^File / { cur = $2; gsub(/\x27/, "", cur); next }
        /^Lines executed:/ && cur == f { split($2, a, ":"); p = a[2]; sub(/%/, "", p); n = $4
                                        printf "%s %d %d\n", f, int(p * n / 100 + 0.5), n; exit }' >>"$DIR/files.txt"
done
awk '{ printf "%6.1f%%  %5d / %5d  %s\n", ($3 ? 100 * $2 / $3 : 0), $2, $3, $1 }' "$DIR/files.txt" | sort -n >"$out"
awk '{ e += $2; n += $3 }
     END { printf "TOTAL %.1f%% of %d lines (%d executed) in %d files\n", (n ? 100 * e / n : 0), n, e, NR }' \
    "$DIR/files.txt" >>"$out"
tail -n 1 "$out"
