"""alloc_heavy.py - a deterministic, allocation-heavy Python workload.

Dicts, lists, strings, tuples, objects, JSON and threads; prints digests
only, so its output is the same on every run of the same Python.
"""
import collections
import hashlib
import json
import random
import threading


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


class Point:
    __slots__ = ("x", "y", "tag")

    def __init__(self, x, y, tag):
        self.x, self.y, self.tag = x, y, tag


def strings(rng, n):
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 40)))
             for _ in range(n)]
    text = " ".join(words)
    counts = collections.Counter(text.split())
    upper = [w.upper() * (1 + len(w) % 3) for w in words]
    return len(text), digest(sorted(counts.most_common(20))), digest(upper[:: 97])


def dicts(rng, n):
    d = {}
    for i in range(n):
        d["k%d_%d" % (i, rng.randint(0, 1 << 30))] = [i] * (i % 17)
    for k in list(d)[::3]:
        del d[k]
    nested = {k: {"v": v, "s": str(v)} for k, v in list(d.items())[:20000]}
    round_trip = json.loads(json.dumps(nested, sort_keys=True))
    return len(d), sum(len(v) for v in d.values()), digest(sorted(round_trip)[:100])


def objects(rng, n):
    pts = [Point(rng.random(), rng.random(), "p%d" % i) for i in range(n)]
    pts.sort(key=lambda p: (p.x, p.y))
    tuples = [(p.tag, round(p.x * p.y, 6)) for p in pts[::10]]
    groups = collections.defaultdict(list)
    for p in pts:
        groups[int(p.x * 100)].append(p.tag)
    return len(pts), digest(tuples[:500]), sum(len(g) for g in groups.values())


def worker(seed, out):
    rng = random.Random(seed)
    out[seed] = (strings(rng, 20000), dicts(rng, 60000), objects(rng, 60000))


def main():
    results = {}
    threads = [threading.Thread(target=worker, args=(s, results)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in sorted(results):
        print(seed, results[seed])
    big = [str(i) * 3 for i in range(300000)]
    print("joined", len("".join(big)), digest(big[::1000]))


main()
