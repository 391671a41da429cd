#!/usr/bin/env python3
"""Splits a CSV of records for the store benchmark: a seeded random `--hold` records
go to a JSON Lines stream (in random order), the rest stay a CSV to ingest.

    split.py IN.csv BASE.csv STREAM.jsonl --hold N [--seed S] [--first]

With --first the stream is every record after the first N (file order) instead.
Standard library only."""
import argparse
import csv
import json
import random
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("base")
    p.add_argument("stream")
    p.add_argument("--hold", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--first", action="store_true",
                   help="keep the first N records as the base, stream the rest in file order")
    a = p.parse_args()
    with open(a.input, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    if a.first:
        base_idx = set(range(min(a.hold, len(rows))))
        stream_idx = [i for i in range(len(rows)) if i not in base_idx]
    else:
        idx = list(range(len(rows)))
        random.Random(a.seed).shuffle(idx)
        stream_idx = idx[: a.hold]
        held = set(stream_idx)
        base_idx = set(i for i in range(len(rows)) if i not in held)
    with open(a.base, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i, r in enumerate(rows):
            if i in base_idx:
                w.writerow(r)
    with open(a.stream, "w") as f:
        for i in stream_idx:
            f.write(json.dumps(rows[i]) + "\n")
    print(f"{len(base_idx)} base records, {len(stream_idx)} streamed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
