#!/bin/sh
# Every malformed ONNX file in tests/bad/onnx must make `frtui import FILE -o OUT` exit 2 with
# exactly one line on stderr and leave no output file.  Prints "N passed, N failed".
# Until the CLI has an `import` subcommand this prints "0 passed, 0 failed".
bin=${FRTUI_BIN:-./frtui}
pass=0; fail=0
if [ ! -x "$bin" ] || ! "$bin" help 2>&1 | grep -q 'import'; then
    echo "onnx_bad: $bin has no 'import' command yet; skipping"
    echo "0 passed, 0 failed"; exit 0
fi
out=${TMPDIR:-/tmp}/frtui_onnx_bad.$$.frm
err=${TMPDIR:-/tmp}/frtui_onnx_bad.$$.err
for f in tests/bad/onnx/*.onnx; do
    rm -f "$out"
    "$bin" import "$f" -o "$out" >/dev/null 2>"$err"; rc=$?
    lines=$(wc -l <"$err")
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [ ! -e "$out" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "not ok - $f: exit $rc, $lines stderr lines, output $( [ -e "$out" ] && echo present || echo absent)"
        head -n 3 "$err"
    fi
done
rm -f "$out" "$err"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
