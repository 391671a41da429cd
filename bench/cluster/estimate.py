#!/usr/bin/env python3
"""Prints the measured figures of bench/cluster/run and a paper estimate for a large run.

Usage: estimate.py OUT_DIR LOCAL_CORES NODES CORES_PER_NODE TARGET_RECORDS

Per-core rates come from the embedded run's phase times (summary.json) on LOCAL_CORES
cores; the estimate applies them to TARGET_RECORDS on NODES x CORES_PER_NODE cores with
the split SPIRIT's cluster mode has today (see docs/cluster.md):
  client:    read + normalise all records, EM on the histogram, cluster the edges, write;
  executors: each rebuilds the prepared table (in parallel), then candidate generation,
             the training histogram and scoring are spread over all cores.
Candidate pairs are assumed to grow linearly with records (the block-size cap keeps
blocks bounded; real data whose blocks grow faster needs tighter rules), and the
training histogram is capped at em_pairs_per_rule per rule.
"""
import json
import os
import sys


def load(out, name):
    with open(os.path.join(out, name, "summary.json")) as f:
        s = json.load(f)
    with open(os.path.join(out, name + ".secs")) as f:
        secs = float(f.read())
    rss = None
    p = os.path.join(out, name + ".rss")
    if os.path.exists(p):
        with open(p) as f:
            text = f.read().split()
            rss = int(text[-1]) * 1024 if text else None
    return s, secs, rss


def fmt_secs(s):
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def main():
    out, local_cores, nodes, cpn, target = sys.argv[1:6]
    local_cores, nodes, cpn, target = int(local_cores), int(nodes), int(cpn), int(target)
    emb, emb_secs, emb_rss = load(out, "embedded")
    _, one_secs, _ = load(out, "one")
    _, two_secs, _ = load(out, "two")
    phases = dict(emb["phase_seconds"])
    n = emb["records"]
    pairs = emb["candidate_pairs"]
    edges = emb["edges"]
    rules = len(emb["blocking_rules"])

    print()
    print(f"| run | wall | vs embedded |")
    print(f"|---|---|---|")
    for name, secs in [("embedded", emb_secs), ("1 executor", one_secs), ("2 executors", two_secs)]:
        print(f"| {name} | {secs:.2f} s | {secs / emb_secs:.2f}x |")
    print()
    print(f"records {n:,}, candidate pairs {pairs:,}, edges {edges:,}; embedded phases: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in emb["phase_seconds"]))

    # Per-core rates (work units per core-second) from the embedded run.
    def rate(units, phase):
        t = phases.get(phase, 0.0)
        return units / (t * local_cores) if t > 0 else float("inf")

    # reading and normalising ("load" in summaries written before it was split in two)
    load_s = phases.get("load", phases.get("read", 0.0) + phases.get("normalise", 0.0))
    load_rate = n / (load_s * local_cores) if load_s > 0 else float("inf")
    block_rate = rate(n, "block")
    score_rate = rate(pairs, "score")
    train_pairs = pairs
    train_rate = rate(train_pairs, "train")
    cluster_rate = edges / phases["cluster"] if phases.get("cluster") else float("inf")
    write_rate = (n + edges) / phases["write"] if phases.get("write") else float("inf")
    print(f"per-core rates: read+normalise {load_rate:,.0f} records/s, blocking {block_rate:,.0f} records/s, "
          f"training histogram + EM {train_rate:,.0f} pairs/s, scoring {score_rate:,.0f} pairs/s; "
          f"client clustering {cluster_rate:,.0f} edges/s, writing {write_rate:,.0f} rows/s")

    scale = target / n
    t_pairs = pairs * scale
    t_edges = edges * scale
    cap = 500_000 * rules
    t_train_pairs = min(t_pairs, max(cap, train_pairs))
    cores = nodes * cpn
    client = target / (load_rate * cpn) + target / (block_rate * cpn)
    rebuild = target / (load_rate * cpn) + target / (block_rate * cpn)
    train = t_train_pairs / (train_rate * cores)
    score = t_pairs / (score_rate * cores)
    tail = t_edges / cluster_rate + (target + t_edges) / write_rate
    total = client + rebuild + train + score + tail
    print()
    print(f"paper estimate: {target:,} records on {nodes} nodes x {cpn} cores ({cores} cores)")
    print(f"| step | where | work | time |")
    print(f"|---|---|---|---|")
    print(f"| read, normalise, block | client ({cpn} cores) | {target:,} records | {fmt_secs(client)} |")
    print(f"| rebuild the table | every executor, in parallel | {target:,} records each | {fmt_secs(rebuild)} |")
    print(f"| training histogram | {cores} cores | {t_train_pairs:,.0f} pairs | {fmt_secs(train)} |")
    print(f"| scoring | {cores} cores | {t_pairs:,.0f} pairs | {fmt_secs(score)} |")
    print(f"| cluster + write | client (one core) | {t_edges:,.0f} edges | {fmt_secs(tail)} |")
    print(f"| total | | | {fmt_secs(total)} |")
    if emb_rss:
        per = emb_rss / n
        print(f"memory: the embedded run peaked at {emb_rss / 2**20:,.0f} MiB for {n:,} records "
              f"({per:,.0f} bytes/record including the engine); the prepared table is held whole by "
              f"the client and by every executor, so {target:,} records need about "
              f"{per * target / 2**30:,.0f} GiB on each node at that ratio "
              f"(an upper bound: the ratio includes fixed costs)")
    overhead = two_secs - emb_secs
    print(f"measured cluster overhead here (2 executors minus embedded, same cores): {overhead:+.2f} s")


if __name__ == "__main__":
    main()
