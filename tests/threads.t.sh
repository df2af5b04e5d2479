#!/bin/sh
# threads.t.sh — a run's results do not depend on FRTUI_THREADS (issue 15, item 5): the conv
# kernels cut the batch into chunks fixed by shape and batch (src/engine/conv.c), the linear layer
# and the loss into fixed ranges, so 1, 2 and 3 threads give the same JSON report bit for bit (but
# for the elapsed time and the recorded thread count).  Short runs, because the suite shares two
# cores: every MLP unit (linear layers), and the MobileNetV2-style sample's stem and first inverted
# residual (3x3 conv, depthwise, pointwise, residual add) with FlexRound and AdaRound.
# Prints "N passed, N failed".
. tests/lib.sh
fr_t_init threads
[ -x "$BIN" ] || fr_t_skip "$BIN missing"
norm() { fr_json_results "$1" | grep -v '"threads"'; }
check() { # NAME FILE ARGS...
    name=$1; f=$2; shift 2
    [ -f "$f" ] || { echo "# $f missing: skipped"; return; }
    for t in 1 2 3; do
        FRTUI_THREADS=$t "$BIN" run "$f" --iters 4 --n-calib 64 --quiet --json "$T/$name-$t.json" "$@" >/dev/null 2>"$T/err" ||
            { fail=$((fail + 1)); echo "not ok - $name at $t threads: $(head -c 300 "$T/err")"; return; }
    done
    for t in 2 3; do
        if [ "$(norm "$T/$name-1.json" | md5sum)" = "$(norm "$T/$name-$t.json" | md5sum)" ]; then
            pass=$((pass + 1)); echo "ok - $name: $t threads give the 1-thread report"
        else
            fail=$((fail + 1)); echo "not ok - $name: $t threads differ from 1"; diff "$T/$name-1.json" "$T/$name-$t.json" | head -n 6
        fi
    done
}
check mlp samples/mlp-fmnist.frm
check mobilenetv2 samples/mobilenetv2-fmnist.frm --unit block:ir0.dw
check mobilenetv2-adaround samples/mobilenetv2-fmnist.frm --unit block:ir0.dw --method adaround
fr_t_done
