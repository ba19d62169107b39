"""alloc_heavy.py - an allocation-heavy Python program for scripts/bench.

Builds and drops many small objects the way Python programs do: dicts of
records, lists of tuples, strings joined and split, a JSON round trip and a
tree of nodes. Deterministic (seeded). Usage: alloc_heavy.py [ROUNDS [RECORDS]]: ROUNDS
rounds (default 3) of RECORDS records (default 40000).
Run with PYTHONMALLOC=malloc to send every object through malloc instead of
pymalloc's own arenas.
"""
import json
import random
import sys


class Node:
    __slots__ = ("key", "left", "right")

    def __init__(self, key):
        self.key = key
        self.left = None
        self.right = None


def insert(root, key):
    if root is None:
        return Node(key)
    node = root
    while True:
        side = "left" if key < node.key else "right"
        child = getattr(node, side)
        if child is None:
            setattr(node, side, Node(key))
            return root
        node = child


def round_(rng, n):
    records = {}
    for i in range(n):
        key = "user%08d" % rng.randrange(10 * n)
        records[key] = {"id": i, "name": key.upper(), "tags": [str(i % 7), str(i % 11)],
                        "score": rng.random()}
    rows = sorted((r["score"], k, tuple(r["tags"])) for k, r in records.items())
    text = "\n".join("%s,%.6f,%s" % (k, s, "|".join(t)) for s, k, t in rows)
    parsed = [line.split(",") for line in text.split("\n")]
    blob = json.dumps(records)
    back = json.loads(blob)
    root = None
    for k in list(back)[: n // 4]:
        root = insert(root, k)
    return len(parsed) + len(back) + (root is not None)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 40000
    rng = random.Random(12345)
    total = 0
    for _ in range(rounds):
        total += round_(rng, records)
    print("alloc_heavy", rounds, records, total)


if __name__ == "__main__":
    main()
