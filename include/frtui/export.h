/* export.h — exporting a run: the quantized model (.frm, safetensors) and PNGs of the views.
 *
 * Design note
 *   Exporters read a checkpoint (fr_ckpt) plus its bundle, or an immutable fr_snapshot; they
 *   never touch a live engine, so they run on any thread and on replayed runs alike.
 *   Quantized .frm: the graph is the BN-folded graph the engine quantized (fr_recon_model);
 *   every finished conv/linear weight is replaced by its dequantised Ŵ = s1·(code − zp), and
 *   the integer codes travel as extra tensors "<layer>.qcodes" (float-encoded integers, same
 *   shape as the weight) described by fr_model.quant_json (docs/FORMAT.md, "Quantized
 *   bundles").  Layers of unfinished units stay full precision (as in the run's accuracy).
 *   Activation quantizers cannot be expressed in a bundle graph: their steps are listed in the
 *   JSON, and `frtui eval` then measures the weights-only model.
 *   All files go through fr_atomic_*.
 */
#ifndef FRTUI_EXPORT_H
#define FRTUI_EXPORT_H

#include "frtui/recon_ckpt.h"
#include "frtui/graph.h"
#include "frtui/snapshot.h"

/* Builds the quantized model in memory (out owns its graph and quant_json; meta and the
 * datasets are shallow copies of m's: free with fr_export_model_free, never fr_model_free).
 * *acc_q (may be NULL) receives the quantized top-1 on m's eval set measured on the engine
 * (−1 when m has no eval data). */
int fr_export_model(const fr_ckpt *c, const fr_model *m, fr_model *out, double *acc_q, fr_err *e);
void fr_export_model_free(fr_model *out);
int fr_export_frm(const fr_ckpt *c, const fr_model *m, const char *path, double *acc_q, fr_err *e);

/* safetensors: per finished layer "<name>.qcodes" (I8 symmetric / U8 asymmetric, the weight's
 * shape), "<name>.scale" (F32 [ns1]), "<name>.zero_point" (I32 [ns1]); __metadata__ holds
 * format, method, bits, act_bits, model, seed, granularity.  FR_EINPUT when nothing is
 * finished. */
int fr_export_safetensors(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e);

/* PNG of one view of unit `unit`: "heatmap" (S2·s3·s4 per weight, FlexRound), "scatter" (|W| vs
 * rounding shift with the ±1 band), "loss" (history, EMA), "hist" (rounding-shift histogram of
 * every layer), "compare" (RTN / AdaRound / FlexRound scatter panels; needs the unit's alt
 * views: "run compare first").  layer selects the layer for heatmap/scatter/compare (0-based).
 * Titles: model / unit / method / bits / iteration. */
int fr_export_png_view(const fr_snapshot *s, int unit, const char *view, const char *path, fr_err *e);
int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e);

/* Sub-commands (src/cli_ckpt.c), dispatched from main.c; exit status 0 / 2 like cli.h's:
 *   frtui export RUN.frc -o OUT.frm [--safetensors OUT.safetensors] [--model FILE.frm]
 *   frtui export-png RUN.frc --unit NAME --view V -o FILE.png [--layer N] [--model FILE.frm] */
int fr_cli_export(int argc, char **argv);
int fr_cli_export_png(int argc, char **argv);
/* Loads RUN.frc and its bundle (model_path, or the path recorded in the checkpoint), checked
 * against each other; prints one line and returns the exit status on failure. */
int fr_cli_load_ckpt(const char *ckpt_path, const char *model_path, fr_ckpt *c, fr_model *m);
/* fr_cli_load_ckpt plus the run's read-only snapshot (fr_ckpt_snapshot), which replay and
 * export-png both start from.  On failure everything is freed, one line printed and the exit
 * status returned. */
int fr_cli_load_replay(const char *ckpt_path, const char *model_path, fr_ckpt *c, fr_model *m, fr_snapshot **s);

#endif
