/* test_pty.c — the pty driver and screen model behind `frtui bench`'s inspector figures
 * (src/tools/pty.c) and the bench's generated ONNX file: what they show, never how fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/bench_proc.h"
#include "frtui/graph.h"
#include "frtui/onnx.h"
#include "frtui/pty.h"

static int line_is(const fr_vt *v, int row, const char *want)
{
    char buf[512];
    fr_vt_line(v, row, buf, sizeof buf);
    if (strcmp(buf, want) != 0) fprintf(stderr, "row %d: '%s' != '%s'\n", row, buf, want);
    return strcmp(buf, want) == 0;
}

static void t_vt_basic(void)
{
    fr_vt v;
    fr_vt_init(&v, 10, 4);
    const char *s = "\033[2J\033[1;1Hhello\033[2;3Hw\xc3\xb6rld\033[38;5;196m!\033[m";
    fr_vt_feed(&v, s, strlen(s));
    FR_CHECK(line_is(&v, 0, "hello"));
    FR_CHECK(line_is(&v, 1, "  w\xc3\xb6rld!"));
    FR_CHECK(fr_vt_find(&v, "rld") == 1);
    FR_CHECK(fr_vt_find(&v, "absent") == -1);
    /* erase to end of line, hpa, REP, ECH */
    s = "\033[1;3H\033[K\033[5Gx\033[3b\033[2;1H\033[3X";
    fr_vt_feed(&v, s, strlen(s));
    FR_CHECK(line_is(&v, 0, "he  xxxx"));
    FR_CHECK(line_is(&v, 1, "   \xc3\xb6rld!"));
    fr_vt_free(&v);
}

static void t_vt_wrap_scroll(void)
{
    fr_vt v;
    fr_vt_init(&v, 4, 3);
    /* xenl: the last column does not wrap until the next glyph */
    fr_vt_feed(&v, "abcd", 4);
    FR_CHECK(v.y == 0 && v.wrap);
    fr_vt_feed(&v, "e\r\nf\r\ng", 7);   /* third line feed scrolls */
    FR_CHECK(line_is(&v, 0, "e"));
    FR_CHECK(line_is(&v, 1, "f"));
    FR_CHECK(line_is(&v, 2, "g"));
    /* scrolling region + reverse index, insert/delete line, split sequence across feeds */
    const char *s = "\033[1;2r\033[1;1H\033M";
    fr_vt_feed(&v, s, strlen(s));
    FR_CHECK(line_is(&v, 0, ""));
    FR_CHECK(line_is(&v, 1, "e"));
    FR_CHECK(line_is(&v, 2, "g"));
    s = "\033[r\033[3;1H\033";
    fr_vt_feed(&v, s, strlen(s));
    fr_vt_feed(&v, "[1L", 3);
    FR_CHECK(line_is(&v, 2, ""));
    s = "\033[1;1H\033[M";
    fr_vt_feed(&v, s, strlen(s));
    FR_CHECK(line_is(&v, 0, "e"));
    /* OSC strings and private modes change nothing */
    s = "\033]0;title\007\033[?1049h\033[?25l";
    fr_vt_feed(&v, s, strlen(s));
    FR_CHECK(line_is(&v, 0, "e"));
    fr_vt_free(&v);
}

static void t_pty_spawn(void)
{
    char *argv[] = {"/bin/sh", "-c", "stty size; printf '\\033[3;5Hmarker'; read x; echo \"got $x\"", NULL};
    fr_pty p;
    fr_err e;
    fr_err_clear(&e);
    FR_CHECK(fr_pty_spawn(&p, argv, 40, 12, "xterm-256color", -1, &e) == FR_OK);
    if (p.pid < 0) return;
    FR_CHECK(fr_pty_wait_text(&p, "12 40", 10));   /* the window size reached the child */
    FR_CHECK(fr_pty_wait_text(&p, "marker", 10));
    FR_CHECK(fr_vt_find(&p.vt, "marker") == 2);
    FR_CHECK(fr_pty_send(&p, "key\r", 4) == 0);
    FR_CHECK(fr_pty_wait_text(&p, "got key", 10));
    int st = fr_pty_close(&p, 0);
    FR_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The bench's ~10 MB ONNX model is a file the importer really takes. */
static void t_bench_onnx(void)
{
    char path[256], msg[200] = "";
    snprintf(path, sizeof path, "%s/frtui-test-bench-%d.onnx", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FR_CHECKF(fr_bench_write_onnx(path, 2.0, msg, sizeof msg) == 0, "%s", msg);
    fr_model m;
    fr_model_init(&m);
    fr_err e;
    fr_err_clear(&e);
    FR_CHECKF(fr_onnx_import(path, &m, &e) == FR_OK, "%s", e.msg);
    int convs = 0, linears = 0;
    for (int i = 0; i < m.g.n_nodes; i++) {
        convs += m.g.nodes[i].op == FR_OP_CONV;
        linears += m.g.nodes[i].op == FR_OP_LINEAR;
    }
    FR_CHECK(convs == 5 && linears == 1);   /* 3 + one residual block of two; BN folded */
    fr_model_free(&m);
    unlink(path);
}

int main(void)
{
    FR_RUN(t_vt_basic);
    FR_RUN(t_vt_wrap_scroll);
    FR_RUN(t_pty_spawn);
    FR_RUN(t_bench_onnx);
    return FR_REPORT();
}
