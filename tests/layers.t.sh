#!/bin/sh
# layers.t.sh — the architecture as a test (issue 12 §6; README "Map").  Arrows only point down:
#   app -> {view, recon, io, import, engine};  view -> snapshot only;  recon -> {quant, engine, io};
#   io / import / quant / engine -> base;  tools (frtui-dev) may use everything, nothing uses tools.
# A header include/frtui/X.h belongs to the part whose folder holds X.c (devtools.h: tools), and
# headers are checked like sources (ckpt.h including worker.h is io pointing up at recon).
# Checked, with greps over #include lines:
#   - curses only in src/app/tui.c;
#   - view includes nothing from recon but snapshot.h, nothing from quant, io, import, app, tools,
#     and not exec.h;
#   - engine nothing from quant, recon, io (nor import, view, app, tools); base nothing above it;
#   - io and import nothing from recon (nor view, app, tools); quant nothing from recon, io,
#     import, view, app, tools; recon nothing from view, app, tools;
#   - app nothing from tools; nothing in src/ outside src/tools includes devtools.h, bench.h,
#     bench_proc.h, pty.h or train.h.
# Then it plants upward includes in a temporary copy of the tree and checks each is caught.
# Prints "N passed, N failed".  Run from the repository root (tests/run.sh does).
. tests/lib.sh
fr_t_init layers

# Known upward arrows, one "file: header" per line; an entry that no longer occurs fails the
# test, so the list cannot go stale.
#   ckpt.h -> runcfg.h: the checkpoint codec serialises the run settings, a plain-data struct
#     (no code of recon is called; the glue that does call it is src/recon/recon_ckpt.c).
#   raster.c -> png.h: the view's rasteriser writes PNG files itself (view -> io).
#   timeline.c -> apng.h: the same for the animated export of replayed frames (the APNG encoder
#     sits beside the PNG one in io; it takes pixels and a path, nothing of the run).
ALLOW='
include/frtui/ckpt.h: runcfg.h
src/view/raster.c: png.h
src/view/timeline.c: apng.h
'

# violations DIR: one line "FILE: HEADER: why" per upward arrow in the tree at DIR (one awk
# pass: the header -> part map comes from the folders holding the .c files).
violations() {
    (cd "$1" && { for c in src/*/*.c; do echo "MAP ${c#src/}"; done
                  grep -H '^[[:space:]]*#[[:space:]]*include' src/*/*.c src/*/*.h include/frtui/*.h 2>/dev/null; }) |
    awk '
    function part_of_file(f,   p) { if (f ~ /^src\//) { split(f, p, "/"); return p[2] }
                                    return part_of_header(substr(f, 15)) }
    function part_of_header(h,   b) { b = h; sub(/\.h$/, "", b)
                                      if (b == "devtools") return "tools"
                                      return (b in part) ? part[b] : "base" }
    function why(from, to, h) {
        if (h ~ /^(devtools|bench|bench_proc|pty|train)\.h$/ && from != "tools")
            return "developer-tool header " h " outside src/tools"
        if (from == to || from == "tools") return ""
        if (from == "base") return "base depends on nothing (includes " to ")"
        if (from == "engine") return to == "base" ? "" : "engine -> " to
        if (from == "quant") return (to == "base" || to == "engine") ? "" : "quant -> " to
        if (from == "io" || from == "import") return (to ~ /^(base|engine|quant|io|import)$/) ? "" : from " -> " to
        if (from == "recon") return (to ~ /^(view|app|tools|import)$/) ? "recon -> " to : ""
        if (from == "view") {
            if (to == "base" || (to == "recon" && h == "snapshot.h")) return ""
            if (to == "engine") return h == "exec.h" ? "view -> engine (exec.h)" : ""
            return "view -> " to " (view sees snapshots only)"
        }
        if (from == "app") return to == "tools" ? "app -> tools" : ""
        return ""
    }
    $1 == "MAP" { n = split($2, q, "/"); b = q[2]; sub(/\.c$/, "", b); part[b] = q[1]; next }
    {
        file = $0; sub(/:.*/, "", file)
        line = $0; sub(/^[^:]*:/, "", line)
        if (line ~ /<[^>]*curses[^>]*>/) {
            if (file != "src/app/tui.c") { inc = line; sub(/^[^<]*/, "", inc); sub(/>.*/, ">", inc)
                                            print file ": " inc ": curses outside src/app/tui.c" }
            next
        }
        if (match(line, /"frtui\/[^"]*"/)) { h = substr(line, RSTART + 7, RLENGTH - 8); to = part_of_header(h) }
        else if (match(line, /"\.\.\/[^"\/]*\/[^"]*"/)) { s = substr(line, RSTART + 4, RLENGTH - 5)
                                                         to = s; sub(/\/.*/, "", to); h = s; sub(/^[^\/]*\//, "", h) }
        else next
        w = why(part_of_file(file), to, h)
        if (w != "") print file ": " h ": " w
    }'
}

ROOT=$(pwd)
violations "$ROOT" >"$T/found"
printf '%s\n' "$ALLOW" | sed '/^[[:space:]]*$/d; s/^[[:space:]]*//' >"$T/allow"
n_allowed=0
while IFS= read -r v; do
    key=$(printf '%s\n' "$v" | cut -d: -f1-2)
    if grep -qxF "$key" "$T/allow"; then n_allowed=$((n_allowed + 1)); continue; fi
    fail=$((fail + 1)); echo "not ok - upward include: $v"
done <"$T/found"
while IFS= read -r a; do
    if cut -d: -f1-2 "$T/found" | grep -qxF "$a"; then :; else
        fail=$((fail + 1)); echo "not ok - allow-list entry '$a' no longer occurs: remove it from tests/layers.t.sh"
    fi
done <"$T/allow"
[ "$fail" = 0 ] && { pass=$((pass + 1)); echo "ok - no upward include ($n_allowed allow-listed, see ALLOW)"; }

# The test must catch what it claims to: plant each kind of upward arrow in a copy.
plant() { # LABEL FILE LINE WANT: after appending LINE to FILE in a fresh copy, a violation naming WANT appears
    rm -rf "$T/tree"; mkdir -p "$T/tree"
    cp -R "$ROOT/src" "$ROOT/include" "$T/tree/"
    printf '%s\n' "$3" >>"$T/tree/$2"
    if violations "$T/tree" | grep -v -x -F -f "$T/found" | grep -q -- "$4"; then
        pass=$((pass + 1)); echo "ok - planted $1 is caught"
    else
        fail=$((fail + 1)); echo "not ok - planted $1 ($2: $3) is not caught"
    fi
}
plant "engine -> recon" src/engine/graph.c '#include "frtui/worker.h"' "engine -> recon"
plant "engine -> quant (header)" include/frtui/exec.h '#include "frtui/quant.h"' "engine -> quant"
plant "io -> recon" src/io/frm.c '#include "frtui/recon.h"' "io -> recon"
plant "import -> recon" src/import/onnx.c '#include "frtui/snapshot.h"' "import -> recon"
plant "view -> recon" src/view/plot.c '#include "frtui/worker.h"' "view -> recon"
plant "view -> exec" src/view/view.c '#include "frtui/exec.h"' "exec.h"
plant "view -> quant" src/view/view_render.c '#include "frtui/qstats.h"' "view -> quant"
plant "curses outside tui.c" src/view/canvas.c '#include <ncursesw/curses.h>' "curses outside"
plant "app -> tools" src/app/cli.c '#include "frtui/bench.h"' "bench.h"
plant "a tool header in recon" src/recon/worker.c '#include "frtui/train.h"' "developer-tool header"
fr_t_done
