#!/usr/bin/env python3
"""real_table.py — the README's real-network tables from `frtui run --json` reports.

usage: python3 tests/tools/real_table.py RTN.json ADAROUND.json FLEXROUND.json [MORE.json ...] [TITLE]

Rows follow the files (a row's label is its method plus the --keep-best / --s1-param it used);
the per-layer table is FLEXROUND.json's.

`make report-real` prints the same metrics from one `frtui report` process; this script assembles
them from separate runs (run one method at a time, e.g. to fit memory or to resume), so the
README can show exactly the runs whose JSON files are kept.  Output: Markdown, to stdout.
"""
import json
import sys


def load(p):
    with open(p) as f:
        return json.load(f)


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    files = [a for a in sys.argv[1:] if a.endswith(".json")]
    rest = [a for a in sys.argv[1:] if not a.endswith(".json")]
    runs = [load(p) for p in files]
    title = rest[0] if rest else ""
    r0 = runs[0]
    if title:
        print(title + "\n")
    print("| method | feature cosine | rel. MSE | top-1 agreement % | KL | aggressive % first block | "
          "aggressive % mean over blocks | time s |")
    print("|---|---|---|---|---|---|---|---|")
    print("| FP | 1 | 0 | 100 | 0 | - | - | - |")
    for r in runs:
        f = r["fidelity"]
        blocks = [u for u in r["units"] if u["name"].startswith("block:")]
        first = blocks[0] if blocks else None
        mean = sum(u["aggressive_pct"] for u in blocks) / len(blocks) if blocks else float("nan")
        label = r["method"]
        if r.get("keep_best"):
            label += " --keep-best %d" % r["keep_best"]
        if r.get("s1_param") == "direct":
            label += " --s1-param direct"
        print("| %s | %.4f | %.4g | %.1f | %.4g | %.2f | %.2f | %.0f |" % (
            label, f["cosine"], f["rel_mse"], 100 * f["top1_agreement"], f["kl"],
            first["aggressive_pct"] if first else float("nan"), mean, r["elapsed_s"]))
    fl = runs[2]
    print("\nFlexRound, per unit and layer: aggressive % (clip %), mean |W| of the aggressively rounded "
          "weights / of the layer\n")
    print("| # | unit | layer | bits | aggressive % | clipped % | mean abs W aggr. | mean abs W layer |")
    print("|---|---|---|---|---|---|---|---|")
    for u in fl["units"]:
        for l in u["layers"]:
            ma = l["mean_abs_w_aggressive"]
            print("| %d | %s | %s | W%d | %.2f | %.2f | %s | %.3g |" % (
                u["index"] + 1, u["name"], l["name"], l["bits"], l["aggressive_pct"], l["clipped_pct"],
                "-" if ma is None else "%.3g" % ma, l["mean_abs_w"]))
    print("\nsettings: %s W%d, %d it/unit, batch %d, seed %d, %s units, %d thread(s), OpenBLAS %s" % (
        r0["model"], r0["bits"], r0["iters"], r0["batch"], r0["seed"], r0["granularity"], r0["threads"],
        r0["blas_core"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
