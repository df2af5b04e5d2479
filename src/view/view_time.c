/* view_time.c — the inspector's time keys: < and > move the selected unit through the moments
 * its replayed checkpoint recorded (timeline.h), and the C / P / X export requests.
 *
 * Design note: the UI holds one time shot (fr_ui.t_shot) built from a retained base (the
 * frozen or replay snapshot); fr_ui_snapshot returns the shot, so every panel and `e` show the
 * moment without knowing about time.  Moving to another unit, a new base (live runs publish
 * new snapshots) or the last moment ("now") drops the shot.  Live runs have no history
 * (the worker owns the engine); the keys then say where time travel works.
 */
#include <stdio.h>
#include <string.h>

#include "frtui/timeline.h"
#include "view_impl.h"

static void drop(fr_ui *ui)
{
    fr_snapshot_release(ui->t_shot);
    fr_snapshot_release(ui->t_base);
    ui->t_shot = ui->t_base = NULL;
    ui->t_pos = ui->t_unit = -1;
}

void fr_view_time_sync(fr_ui *ui, const fr_snapshot *live)
{
    if (!ui->t_shot) return;
    const fr_snapshot *base = ui->frozen ? ui->frozen : live;
    if (base != ui->t_base || ui->sel_unit != ui->t_unit) drop(ui);
}

static void move_time(fr_ui *ui, fr_snapshot *live, int d)
{
    const fr_snapshot *base = ui->frozen ? ui->frozen : live;
    int k = ui->sel_unit, n = fr_timeline_count(base, k);
    if (n <= 0) {
        snprintf(ui->msg, sizeof ui->msg, "%s", base && base->status == FR_RUN_REPLAY
                 ? "this unit has no recorded history (checkpoints from version 1.4 on record it)"
                 : "time travel works in replays: open a checkpoint (frtui RUN.frc)");
        return;
    }
    int pos = ui->t_shot ? ui->t_pos : n;   /* n = now */
    int np = pos + d < 0 ? 0 : pos + d > n ? n : pos + d;
    if (np == n) {
        drop(ui);
        snprintf(ui->msg, sizeof ui->msg, "time: the run as saved (iteration %d)", fr_timeline_iter(base, k, n));
        return;
    }
    if (np == pos && ui->t_shot) return;
    char msg[256] = "";
    fr_snapshot *t = fr_timeline_shot(base, k, np, msg, sizeof msg);
    if (!t) { snprintf(ui->msg, sizeof ui->msg, "time travel failed: %.150s", msg); return; }
    fr_snapshot *keep = ui->t_base == base ? NULL : (fr_snapshot *)base;
    if (keep) fr_snapshot_retain(keep);
    fr_snapshot_release(ui->t_shot);
    if (keep) { fr_snapshot_release(ui->t_base); ui->t_base = keep; }
    ui->t_shot = t;
    ui->t_pos = np;
    ui->t_unit = k;
    /* A slider for the status line: one cell per moment, the last one "now". */
    char bar[64];
    int w = n + 1 < 40 ? n + 1 : 40, at = (int)((long)np * (w - 1) / (n > 0 ? n : 1));
    for (int i = 0; i < w; i++) bar[i] = i == at ? '#' : i < at ? '=' : '-';
    bar[w] = 0;
    snprintf(ui->msg, sizeof ui->msg, "time [%s] it %d of %d (moment %d/%d)  < > move", bar, fr_timeline_iter(base, k, np),
             fr_timeline_iter(base, k, n), np + 1, n + 1);
}

int fr_view_key_time(fr_ui *ui, fr_snapshot *live, fr_action act, fr_view_out *out)
{
    switch (act) {
    case FR_ACT_TIME_BACK: move_time(ui, live, -1); return 1;
    case FR_ACT_TIME_FWD: move_time(ui, live, 1); return 1;
    case FR_ACT_LOSS_X: {
        const fr_unit_view *u = fr_view_unit(fr_ui_snapshot(ui, live), ui->sel_unit);
        ui->loss_x_time = !ui->loss_x_time;
        snprintf(ui->msg, sizeof ui->msg, "%s", !ui->loss_x_time ? "loss x axis: iterations"
                 : u && u->loss_t ? "loss x axis: seconds since the unit began"
                 : "loss x axis: seconds (this unit has no clock: replays and resumed units show iterations)");
        return 1;
    }
    case FR_ACT_CSV:
    case FR_ACT_ANIM:
    case FR_ACT_SLIDES:
        out->export_unit = ui->sel_unit;
        out->export_layer = ui->sel_layer;
        out->export_view = act == FR_ACT_CSV ? (ui->mode == FR_MODE_COMPARE ? "csv-all" : "csv")
                         : act == FR_ACT_ANIM ? "timeline" : "slides";
        fr_view_plot_state(ui, &out->export_state);
        return 1;
    default: return 0;
    }
}
