#!/bin/sh
# bench.t.sh — `frtui-dev bench` reports what issues 4 and 6 ask for: the JSON has the inspector and
# import keys and the quantizer's ns/weight, sections can be picked with --only, bad flags are refused.  Speed is never
# asserted here (that is what the figures are for); only that they are there.
# Prints "N passed, N failed".  Environment: FRTUI_BIN (default ./frtui).
BIN=${FRTUI_DEV_BIN:-./frtui-dev}
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/frtui-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

check "--help names the sections" "'$BIN' bench --help | grep -q 'ui (inspector on a pty'"
"$BIN" bench --only nonsense >/dev/null 2>"$TMP/err"; rc=$?
check "unknown section refused with status 2" "[ $rc = 2 ] && grep -q -- '--only expects' '$TMP/err'"
"$BIN" bench --child bogus >/dev/null 2>&1; rc=$?
check "hidden child mode refuses bad arguments" "[ $rc = 2 ]"

"$BIN" bench --quick --only import --json "$TMP/r.json" >"$TMP/out" 2>&1; rc=$?
check "bench --only import runs" "[ $rc = 0 ]"
for k in '"inspector"' '"key_to_screen_ms"' '"it_per_s_headless"' '"ratio_ui_idle"' '"import"' '"peak_rss_mb"' \
         '"baseline_rss_mb"' '"frame_ms_200x60"' '"ui_thread_cpu_pct"'; do
    check "JSON has $k" "grep -q '$k' '$TMP/r.json'"
done
check "the generated ONNX is imported (seconds measured)" \
    "grep -A3 'ONNX convnet' '$TMP/r.json' | grep -q '\"seconds\": [0-9]'"
check "table line for the ONNX import" "grep -q 'Import ONNX convnet ~10 MB (generated): [0-9.]* s, peak RSS' '$TMP/out'"
if command -v python3 >/dev/null 2>&1; then
    check "JSON parses" "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '$TMP/r.json'"
fi
"$BIN" bench --quick --only quant --json "$TMP/q.json" >"$TMP/qout" 2>&1; rc=$?
check "bench --only quant runs" "[ $rc = 0 ]"
# Four layers (the depthwise one twice: flat blocks, row by row) x three methods, each a positive
# ns/weight (a failed layer init would print NaN).
check "quant table has a figure for each method and layer" \
    "[ \$(grep -cE '^  (1x1|3x3|dw).*( +[0-9]+\\.[0-9]+){3}\$' '$TMP/qout') = 4 ]"
if command -v python3 >/dev/null 2>&1; then
    check "quant JSON: 12 positive ns_per_weight" "python3 -c 'import json,sys; q=json.load(open(sys.argv[1]))[\"quant\"]; \
assert len(q) == 12 and all(r[\"ns_per_weight\"] > 0 for r in q), q' '$TMP/q.json'"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
