#!/usr/bin/env python3
"""Helper for bench/compare (standard library only).

  table.py render OUTDIR          print the markdown results table for a bench/compare run
  table.py time TIMEFILE -- CMD…  run CMD, write its peak RSS in /usr/bin/time -v format
                                  (fallback when GNU time is missing); exits with CMD's status

OUTDIR holds runs.tsv (set, tool, status, log stem; one line per run, in run order),
meta.tsv (key, value) and per run: STEM.out (stdout), STEM.err (stderr), STEM.time
(/usr/bin/time -v report) and STEM.wall (wall seconds). SPIRIT runs add STEM-eval.out,
the JSON of `spirit evaluate`.
"""
import json
import os
import re
import resource
import subprocess
import sys

SET_LABEL = {"febrl4": "FEBRL4 (link 5k×5k)", "febrl3": "FEBRL3 (dedupe 5k)",
             "100k": "people 100k", "1m": "people 1M"}
TOOL_LABEL = {"spirit": "SPIRIT", "splink": "Splink", "recordlinkage": "recordlinkage",
              "anonlink": "anonlink"}
# The bars SPIRIT must clear: pairwise F1, Splink's CORE_S / SPIRIT's wall, peak RSS.
BARS = {"febrl4": {"f1": 0.999, "speedup": 20},
        "febrl3": {"f1": 0.99},
        "100k": {"f1": 0.97, "speedup": 10},
        "1m": {"f1": 0.985, "speedup": 8, "rss_gib": 2}}
# Which line of each peer's output is its headline figure (peer_eval.fmt format).
PEER_LINE = {("splink", "febrl4"): "pairwise @ match_probability>=0.5",
             ("splink", "dedupe"): "clusters (connected components) @ p>=0.5",
             ("recordlinkage", "febrl4"): "ECM (unsupervised)",
             ("anonlink", "febrl4"): "greedy 1:1 @ Dice>=0.85"}
PRF = r": TP=\d+ predicted=\d+ true=\d+ precision=([\d.]+) recall=([\d.]+) F1=([\d.]+)"


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return default


def peak_rss_kib(stem):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", read(stem + ".time"))
    return int(m.group(1)) if m else None


def core_s(stem):
    """Splink's own work in seconds, from its timed run (`--core`): the CORE_S line."""
    m = re.search(r"^CORE_S=([\d.]+)", read(stem + "-core.out"), re.M)
    return float(m.group(1)) if m else None


def wall_s(stem):
    try:
        return float(read(stem + ".wall").strip())
    except ValueError:
        return None


def load_json(text):
    """The JSON object printed on stdout (ignores any text before the first '{')."""
    i = text.find("{")
    if i < 0:
        return None
    try:
        return json.loads(text[i:])
    except json.JSONDecodeError:
        return None


def spirit_result(stem):
    summary = load_json(read(stem + ".out"))
    ev = load_json(read(stem + "-eval.out"))
    report = (ev or {}).get("report", ev or {})
    pw = report.get("pairwise") if isinstance(report, dict) else None
    if not summary or not pw:
        return None
    return {"p": pw["precision"], "r": pw["recall"], "f1": pw["f1"], "summary": summary,
            "report": report}


def peer_result(tool, set_name, stem):
    kind = "febrl4" if set_name == "febrl4" else "dedupe"
    label = PEER_LINE.get((tool, kind))
    if label is None:
        return None
    m = re.search("^" + re.escape(label) + PRF, read(stem + ".out"), re.M)
    if not m:
        return None
    return {"p": float(m.group(1)), "r": float(m.group(2)), "f1": float(m.group(3))}


def peer_notes(tool, set_name, stem):
    """Secondary figures the peers print (thresholds tuned against the truth, other cuts)."""
    out, notes = read(stem + ".out"), []
    if tool == "splink" and set_name == "febrl4":
        m = re.search(r"^best F1 over thresholds: F1=([\d.]+) at p>=(\S+)", out, re.M)
        if m:
            notes.append(f"best F1 over thresholds {m.group(1)} (p ≥ {m.group(2)}, tuned on the truth)")
    if tool == "splink" and set_name != "febrl4":
        for thr in ("0.9", "0.99"):
            m = re.search(r"^clusters \(connected components\) @ p>=" + re.escape(thr) + PRF, out, re.M)
            if m:
                notes.append(f"clusters at p ≥ {thr}: F1 {m.group(3)}")
    if tool == "recordlinkage":
        m = re.search(r"^Logistic regression \(supervised, 2-fold\)" + PRF, out, re.M)
        if m:
            notes.append(f"supervised logistic regression (uses half the truth): F1 {m.group(3)}")
    if tool == "anonlink":
        m = re.search(r"^best greedy 1:1 over Dice thresholds \S+ \(t=(\S+)\)" + PRF, out, re.M)
        if m:
            notes.append(f"best threshold {m.group(1)} (tuned on the truth): F1 {m.group(4)}")
    # seconds the peer spends on evaluation and on the extra variants it reports besides the
    # headline row (its phase log, "  [label] 1.23s"); they are part of its wall time
    extra = sum(float(s) for lab, s in re.findall(r"^  \[([^\]]+)\] ([\d.]+)s$", out, re.M)
                if lab.startswith(("evaluate", "edge evaluation", "cluster @ 0.9", "sweep", "logistic")))
    if extra >= 0.05:
        notes.append(f"its wall includes {extra:.1f} s of evaluation and extra variants")
    return notes


def fnum(x, nd=4):
    return "—" if x is None else f"{x:.{nd}f}"


def mark(ok):
    return "✓" if ok else "✗"


def render(outdir):
    runs = []
    for line in read(os.path.join(outdir, "runs.tsv")).splitlines():
        parts = line.split("\t")
        if len(parts) == 4:
            runs.append(dict(zip(("set", "tool", "status", "stem"), parts)))
    meta = dict(l.split("\t", 1) for l in read(os.path.join(outdir, "meta.tsv")).splitlines() if "\t" in l)

    rows = {}  # (set, tool) -> dict
    for r in runs:
        stem = os.path.join(outdir, r["stem"])
        res = None
        if r["status"] == "ok":
            res = spirit_result(stem) if r["tool"] == "spirit" else peer_result(r["tool"], r["set"], stem)
        rows[(r["set"], r["tool"])] = dict(r, res=res, wall=wall_s(stem), rss=peak_rss_kib(stem),
                                           core=core_s(stem),
                                           log=r["stem"] + (".out" if r["status"] == "na" else ".err"))

    sets = list(dict.fromkeys(r["set"] for r in runs))
    out = []
    out.append(f"# SPIRIT vs peers — {meta.get('date', '')}")
    out.append("")
    info = [f"{k}: {meta[k]}" for k in ("machine", "spirit", "commit", "peers") if meta.get(k)]
    if info:
        out.append("  \n".join(info))
        out.append("")
    out.append("| data | tool | precision | recall | F1 | wall s | Splink CORE_S | peak RSS MB | speed-up vs Splink | bar |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    notes, phases = [], []
    for s in sets:
        splink = rows.get((s, "splink"))
        splink_core = splink["core"] if splink else None
        for (rs, tool), row in rows.items():
            if rs != s:
                continue
            cells = [SET_LABEL.get(s, s), TOOL_LABEL.get(tool, tool)]
            res = row["res"]
            if row["status"] == "na":
                cells += ["— (no peer script for this set)"] + ["—"] * 6 + [""]
                out.append("| " + " | ".join(cells) + " |")
                continue
            if res is None:
                cells += [f"failed (see log `{row['log']}`)"] + ["—"] * 6
                cells.append(bar_cell(s, None, None, None, tool) if tool == "spirit" else "")
                out.append("| " + " | ".join(cells) + " |")
                continue
            wall, rss = row["wall"], row["rss"]
            speed = splink_core / wall if splink_core and wall and tool != "splink" else None
            cells += [fnum(res["p"]), fnum(res["r"]), fnum(res["f1"]),
                      fnum(wall, 2), fnum(row["core"], 2) if tool == "splink" else "",
                      "—" if rss is None else f"{rss / 1024:.0f}",
                      "—" if speed is None else f"{speed:.1f}×"]
            cells.append(bar_cell(s, res, speed, rss, tool, splink is not None) if tool == "spirit" else "")
            out.append("| " + " | ".join(cells) + " |")
            if tool == "spirit":
                phases.append((s, res))
            else:
                for n in peer_notes(tool, s, os.path.join(outdir, row["stem"])):
                    notes.append(f"- {SET_LABEL.get(s, s)}, {TOOL_LABEL.get(tool, tool)}: {n}")
    out.append("")
    out.append("F1 is pairwise. SPIRIT: `spirit evaluate` over all record pairs inside its clusters "
               "(FEBRL4: only pairs across the two files). Peers: their own measure (peer_eval.py) — "
               "Splink FEBRL4: scored pairs at p ≥ 0.5; Splink people: pairs inside connected "
               "components at p ≥ 0.5; recordlinkage: ECM matches; anonlink: greedy 1:1 at Dice ≥ 0.85. "
               "Wall and peak RSS: the whole process (SPIRIT: `resolve` only, evaluation not counted). "
               "Splink CORE_S: Splink's own work (load, train with its default u sample of 1e6 pairs, "
               "predict, cluster once, write; no import, no evaluation) from a second run with "
               "`--core --u-pairs 1e6`. Speed-up: Splink CORE_S / tool wall. MB = 2^20 bytes.")
    if phases:
        out.append("")
        out.append("## SPIRIT phases")
        out.append("")
        cores = os.cpu_count() or 1
        out.append("| data | records | candidate pairs | edges | entities | B³ F1 | exact-cluster F1 | "
                   "phase times (s) | scored pairs/s per core |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for s, res in phases:
            sm, rep = res["summary"], res["report"]
            times = dict(sm.get("phase_seconds", []))
            ph = " · ".join(f"{n} {t:.2f}" for n, t in sm.get("phase_seconds", []))
            b3 = (rep.get("bcubed") or {}).get("f1")
            ex = (rep.get("cluster_exact") or {}).get("f1")
            score = times.get("score")
            rate = (f"{sm.get('candidate_pairs', 0) / score / cores / 1e6:.2f} M"
                    if score else "—")
            out.append(f"| {SET_LABEL.get(s, s)} | {sm.get('records', '—'):,} | {sm.get('candidate_pairs', 0):,} | "
                       f"{sm.get('edges', 0):,} | {sm.get('entities', 0):,} | {fnum(b3)} | {fnum(ex)} | {ph} | {rate} |")
        out.append("")
        out.append(f"Scored pairs per second per core: candidate pairs / score phase / {cores} cores "
                   "(the score phase includes generating the pairs from the blocks).")
    if notes:
        out.append("")
        out.append("## Peer notes")
        out.append("")
        out.extend(notes)
    return "\n".join(out) + "\n"


def bar_cell(s, res, speed, rss, tool, have_splink=True):
    bar = BARS.get(s)
    if not bar:
        return ""
    if res is None:
        return "✗ (run failed)"
    parts = [f"F1 ≥ {bar['f1']} {mark(res['f1'] >= bar['f1'])}"]
    if "speedup" in bar:
        if speed is None:
            parts.append(f"≥ {bar['speedup']}× Splink: no Splink figure")
        else:
            parts.append(f"≥ {bar['speedup']}× Splink {mark(speed >= bar['speedup'])}")
    if "rss_gib" in bar:
        ok = rss is not None and rss < bar["rss_gib"] * 1024 * 1024
        parts.append(f"RSS < {bar['rss_gib']} GiB {mark(ok)}")
    return "; ".join(parts)


def time_fallback(timefile, cmd):
    rc = subprocess.call(cmd)
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(timefile, "w") as fh:
        fh.write(f"\tCommand being timed: \"{' '.join(cmd)}\"\n")
        fh.write(f"\tMaximum resident set size (kbytes): {kib}\n")
        fh.write(f"\tExit status: {rc}\n")
    return rc


def main(argv):
    if len(argv) >= 2 and argv[0] == "render":
        sys.stdout.write(render(argv[1]))
        return 0
    if len(argv) >= 4 and argv[0] == "time" and argv[2] == "--":
        return time_fallback(argv[1], argv[3:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
