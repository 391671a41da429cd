#!/usr/bin/env python3
"""Prints the measured figures of bench/cluster/run and a paper estimate for a large run.

Usage: estimate.py OUT_DIR LOCAL_CORES NODES CORES_PER_NODE TARGET_RECORDS

Per-core rates come from the embedded run's phase times (summary.json) on LOCAL_CORES
cores; the estimate applies them to TARGET_RECORDS on NODES x CORES_PER_NODE cores with
the split SPIRIT's cluster mode has today (see docs/cluster.md):
  client:    read + normalise all records, write them to the shared folder, EM on the
             histogram, cluster the edges, write the outputs;
  executors: candidate generation, the training histogram and scoring spread over all
             cores; a task holds only the prepared records of its partition's blocks.
Executor memory comes from the measured peaks of the two-executor run: the memory a task
slot needs per record it holds, applied to the partitions a run of the target size gets
(one per RECORDS_PER_TASK records, as the client picks them).
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


RECORDS_PER_TASK = 250_000
MIN_PARTITIONS = 8


def kib(out, name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        text = f.read().split()
    return int(text[0]) * 1024 if text else None


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
    train = t_train_pairs / (train_rate * cores)
    score = t_pairs / (score_rate * cores)
    tail = t_edges / cluster_rate + (target + t_edges) / write_rate
    total = client + train + score + tail
    print()
    print(f"paper estimate: {target:,} records on {nodes} nodes x {cpn} cores ({cores} cores)")
    print(f"| step | where | work | time |")
    print(f"|---|---|---|---|")
    print(f"| read, normalise, block | client ({cpn} cores) | {target:,} records | {fmt_secs(client)} |")
    print(f"| training histogram | {cores} cores | {t_train_pairs:,.0f} pairs | {fmt_secs(train)} |")
    print(f"| scoring | {cores} cores | {t_pairs:,.0f} pairs | {fmt_secs(score)} |")
    print(f"| cluster + write | client (one core) | {t_edges:,.0f} edges | {fmt_secs(tail)} |")
    print(f"| total | | | {fmt_secs(total)} |")
    execs = [kib(out, f"two.exec{i}.rss") for i in (1, 2)]
    idle = kib(out, "idle.rss")
    if emb_rss and all(execs):
        print()
        print("| peak RSS | MiB | vs embedded |")
        print("|---|---|---|")
        print(f"| embedded run (client) | {emb_rss / 2**20:,.0f} | 1.00x |")
        for i, e in enumerate(execs, 1):
            print(f"| executor {i} of 2 | {e / 2**20:,.0f} | {e / emb_rss:.2f}x |")
        per = emb_rss / n
        parts = max(MIN_PARTITIONS, -(-n // RECORDS_PER_TASK))
        slots = local_cores
        held = slots * n / parts
        per_task = (max(execs) - (idle or 0)) / held
        t_parts = max(MIN_PARTITIONS, -(-target // RECORDS_PER_TASK))
        t_exec = (idle or 0) + cpn * (target / t_parts) * per_task
        print(f"memory per record: client {per:,.0f} bytes (the whole table, edges included); "
              f"executor {per_task:,.0f} bytes per record a task slot holds "
              f"({parts} partitions of {n:,} records, {slots} slots, idle executor "
              f"{(idle or 0) / 2**20:,.0f} MiB)")
        print(f"at {target:,} records: the client needs about {per * target / 2**30:,.0f} GiB; "
              f"each executor ({cpn} slots, {t_parts} partitions of {target // t_parts:,} records) "
              f"about {t_exec / 2**30:,.1f} GiB, whatever the number of nodes")
    overhead = two_secs - emb_secs
    print(f"measured cluster overhead here (2 executors minus embedded, same cores): {overhead:+.2f} s")


if __name__ == "__main__":
    main()
