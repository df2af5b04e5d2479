# tests/lib.sh — helpers sourced by the tests/*.t.sh scripts (`. tests/lib.sh`; not a test
# itself: tests/run.sh runs *.t.sh only).  POSIX sh.
#
#   fr_t_init NAME   T := a fresh temp dir (removed on exit), pass/fail counters, BIN
#                    (FRTUI_BIN or ./frtui), TO (a 10 s kill timeout when `timeout` exists).
#   fr_refused LABEL WANT CMD...
#                    CMD (stdin /dev/null; any output file it is told to write goes under
#                    $T/out) must be an input refusal as the project defines it: exit status 2
#                    (so no crash: status < 128) within 10 s, exactly one stderr line, that
#                    line containing WANT (the file's name), and nothing left in $T/out.
#                    Counts a pass or prints "not ok - LABEL: why: message".
#   fr_t_inspector TB
#                    for the tmux tests: skips unless tmux and a $BIN with the inspector exist;
#                    sets BINABS (absolute $BIN) and M (samples/mlp-fmnist.frm, or a bundle that
#                    the test binary TB generates into $T).
#   fr_t_cgroup LIMIT
#                    makes a memory cgroup of LIMIT (e.g. 200M) this machine lets us join (root
#                    and a writable v1 memory hierarchy, or v2 with the memory controller),
#                    sets cg to its directory (empty when impossible; removed on exit) and
#                    cg_join to a command prefix: sh -c "$cg_join" "$cg" CMD... runs CMD in it.
#   fr_t_mpi SECS    for the MPI tests: skips when Open MPI is absent and cannot be installed
#                    (not root); otherwise builds build/mpi/frtui (unless FRTUI_MPI_BIN names one),
#                    sets MBIN and MPIRUN (mpirun --oversubscribe under a SECS kill timeout) and
#                    exports what root needs to run mpirun in a container.  A failed build or a
#                    missing mpirun counts one failure and ends the script.
#   fr_t_skip WHY    prints "NAME: WHY; skipping" and "0 passed, 0 failed", exits 0 (a feature
#                    or file the script needs is missing).
#   fr_t_done        prints "N passed, N failed"; its status is the script's.
#   fr_json_results F  a run's --json without what may differ between identical runs: the elapsed
#                    time and the "memory" section (the budget follows the machine's free memory,
#                    the peak RSS the allocator); the section is last in the report.
fr_json_results() { sed -e '/"elapsed_s"/d' -e '/"memory"/,$d' "$1"; }

fr_t_init() {
    FR_T_NAME=$1
    BIN=${FRTUI_BIN:-./frtui}
    pass=0; fail=0
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    mkdir -p "$T/out"
    trap 'rm -rf "$T"' EXIT INT TERM
    # the inspector's settings (issue 18): never the user's own file; the first-run tour seen
    FRTUI_CONFIG=$T/frtui.config; export FRTUI_CONFIG
    printf 'tour_done = on\n' >"$FRTUI_CONFIG"
    TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 10"
}

fr_refused() {
    label=$1; want=$2; shift 2
    rm -rf "$T/out"; mkdir -p "$T/out"
    $TO "$@" >"$T/stdout" 2>"$T/stderr" </dev/null
    rc=$?
    lines=$(wc -l <"$T/stderr" | tr -d ' ')
    left=$(ls -A "$T/out" | head -n 3 | tr '\n' ' ')
    why=
    if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))$([ "$rc" = 137 ] && echo ' (hang? 10 s timeout)')"
    elif [ "$rc" != 2 ]; then why="exit $rc, want 2"
    elif [ "$lines" != 1 ]; then why="$lines stderr lines, want 1"
    elif ! grep -qF -- "$want" "$T/stderr"; then why="message does not contain '$want'"
    elif [ -n "$left" ]; then why="left output behind: $left"
    fi
    if [ -z "$why" ]; then pass=$((pass + 1)); return 0; fi
    fail=$((fail + 1)); echo "not ok - $label: $why: $(head -c 300 "$T/stderr")"
    return 1
}

fr_t_inspector() {
    command -v tmux >/dev/null 2>&1 || fr_t_skip "tmux not installed"
    [ -x "$BIN" ] || fr_t_skip "$BIN missing"
    "$BIN" --help 2>&1 | grep -q 'inspector' || fr_t_skip "'$BIN --help' shows no inspector"
    BINABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
    M=$T/m.frm
    if [ -f samples/mlp-fmnist.frm ]; then M=$(pwd)/samples/mlp-fmnist.frm
    elif [ -x "$1" ]; then "$1" --gen-model "$M" >/dev/null 2>&1 || fr_t_skip "cannot generate a bundle"
    else fr_t_skip "no sample bundle and no $1"; fi
}

fr_t_cgroup() {
    cg=
    cg_join='echo $$ >"$0/cgroup.procs" && exec "$@"'
    [ "$(id -u)" = 0 ] || return 0
    for base in /sys/fs/cgroup/memory /sys/fs/cgroup; do
        if [ -f "$base/memory.limit_in_bytes" ] || grep -qw memory "$base/cgroup.subtree_control" 2>/dev/null; then
            d="$base/frtui-$FR_T_NAME-$$"
            if mkdir "$d" 2>/dev/null; then
                # Joining must work too (v2 delegation rules can forbid it): probe with a throwaway shell.
                if { echo "$1" >"$d/memory.limit_in_bytes" || echo "$1" >"$d/memory.max"; } 2>/dev/null &&
                   sh -c 'echo $$ >"$0/cgroup.procs"' "$d" 2>/dev/null; then
                    cg=$d
                    trap 'rmdir "$cg" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
                    return 0
                fi
                rmdir "$d" 2>/dev/null
            fi
        fi
    done
}

fr_t_mpi() {
    MBIN=${FRTUI_MPI_BIN:-build/mpi/frtui}
    # the MPI build: make installs Open MPI as root; as another user without it, nothing to test
    if ! command -v mpicc >/dev/null 2>&1 && [ "$(id -u)" != 0 ]; then
        fr_t_skip "Open MPI is not installed (apt-get install libopenmpi-dev openmpi-bin)"
    fi
    if [ -z "$FRTUI_MPI_BIN" ] &&
       ! make --no-print-directory -s MPI=1 SANITIZE= build/mpi/frtui >"$T/make.out" 2>&1; then
        fail=$((fail + 1)); echo "not ok - make MPI=1 build/mpi/frtui: $(tail -3 "$T/make.out")"; fr_t_done; exit
    fi
    for why in "$(command -v mpirun >/dev/null 2>&1 || echo 'mpirun missing after the MPI build')" \
               "$([ -x "$MBIN" ] || echo "$MBIN missing")"; do
        [ -z "$why" ] || { fail=$((fail + 1)); echo "not ok - $why"; fr_t_done; exit; }
    done
    # root may run mpirun only when asked twice; the shared-memory transport's single-copy path
    # needs ptrace rights that containers often lack, and nothing here needs it
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
    export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_btl_vader_single_copy_mechanism
    MPIRUN="mpirun --oversubscribe"
    command -v timeout >/dev/null 2>&1 && MPIRUN="timeout -s KILL $1 $MPIRUN"
}

fr_t_skip() {
    echo "$FR_T_NAME: $*; skipping"
    echo "0 passed, 0 failed"
    exit 0
}

fr_t_done() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
