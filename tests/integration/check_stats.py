#!/usr/bin/env python3
"""check_stats.py - checks the stats dumps of one preloaded case run.

Usage: check_stats.py STATS_DIR PIDS_FILE

STATS_DIR holds the dumps tierpool wrote at exit (TIERPOOL_STATS=
STATS_DIR/tp.%p.json, TIERPOOL_FORMAT=json), one per process, children
included. PIDS_FILE lists the pids of the programs the case started itself
(the main processes). Passes when every dump is JSON with the fields the
schema promises, and every main process left a dump whose total_get is
above 0: the pools really served the program.
"""
import json
import os
import sys

REQUIRED = ("total_get", "total_put", "discarded", "tiers")
TIER_REQUIRED = ("size", "get", "put", "live")


def load(path):
    """The dump at path, or an error string."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return None, f"{path}: not readable JSON: {e}"
    if not isinstance(doc, dict):
        return None, f"{path}: top level is not an object"
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        return None, f"{path}: missing {', '.join(missing)}"
    if not isinstance(doc["tiers"], list) or not doc["tiers"]:
        return None, f"{path}: 'tiers' is not a non-empty list"
    for i, t in enumerate(doc["tiers"]):
        miss = [k for k in TIER_REQUIRED if not isinstance(t, dict) or k not in t]
        if miss:
            return None, f"{path}: tiers[{i}] lacks {', '.join(miss)}"
    return doc, None


def main():
    stats_dir, pids_file = sys.argv[1], sys.argv[2]
    with open(pids_file, encoding="utf-8") as f:
        pids = [line.strip() for line in f if line.strip()]
    files = sorted(n for n in os.listdir(stats_dir) if n.endswith(".json"))
    errors = []
    docs = {}
    for n in files:
        doc, err = load(os.path.join(stats_dir, n))
        if err:
            errors.append(err)
        else:
            docs[n] = doc
    for pid in pids:
        n = f"tp.{pid}.json"
        if n not in files:
            errors.append(f"main process {pid}: no dump {n} in {stats_dir}")
            continue
        doc = docs.get(n)
        if doc is None:
            continue
        tiers = doc["tiers"]
        sum_get = sum(t["get"] for t in tiers)
        sum_put = sum(t["put"] for t in tiers)
        print(f"pid {pid}: total_get {doc['total_get']} total_put {doc['total_put']} "
              f"discarded {doc['discarded']}")
        if not doc["total_get"] > 0:
            errors.append(f"main process {pid}: total_get is {doc['total_get']}, "
                          "the pools served nothing")
        if sum_get != doc["total_get"] or sum_put != doc["total_put"]:
            errors.append(f"main process {pid}: tiers sum to get {sum_get} put {sum_put}, "
                          f"totals say {doc['total_get']} {doc['total_put']}")
        for t in tiers:
            if t["live"] != t["get"] - t["put"]:
                errors.append(f"main process {pid}: tier {t['size']}: live {t['live']} "
                              f"!= get {t['get']} - put {t['put']}")
    print(f"{len(files)} dumps, {len(pids)} main processes")
    for e in errors:
        print("check_stats:", e, file=sys.stderr)
    return 1 if errors or not pids else 0


if __name__ == "__main__":
    sys.exit(main())
