"""micro.py - the malloc+free pair alone: instructions (callgrind) and
nanoseconds (native), per allocator.

Instructions per pair = (Ir of `micro -n N` - Ir of `micro -n 0`) / (N *
batch), same size, same batch, same allocator: process start-up, the
allocator's initialisation and micro's warm-up round are in both counts
and cancel; what is left is the steady-state pair with its share of any
refill or flush, the loop and the PLT jumps included. Callgrind counts
instructions exactly, so one run of each is enough and the counts are
the same on a loaded machine.
"""
import concurrent.futures
import os
import statistics

from . import measure

TIERS = [1 << k for k in range(4, 21)]  # 16 B .. 1 MiB
HEADLINE = [16, 64, 1024, 65536]
BATCH = 100


def ir_matrix(micro_exe, allocators, base_env, quick, log):
    """{alloc: {"single"|"batch": {size: instructions per pair}}} and a list
    of failures."""
    sizes = [64] if quick else TIERS
    pairs = 1000 if quick else 20000
    jobs = []
    for a in allocators:
        for mode, batch in (("single", 1), ("batch", BATCH)):
            for size in sizes:
                for n in (0, pairs // batch):
                    cmd = [micro_exe, "-t", "1", "-n", str(n), "-s", str(size), "-b", str(batch)]
                    jobs.append((a, mode, size, batch, n, cmd))
    counts, failures = {}, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futs = {pool.submit(measure.callgrind_ir, j[5], j[0].env(base_env), None): j for j in jobs}
        for i, f in enumerate(concurrent.futures.as_completed(futs)):
            a, mode, size, batch, n, _ = futs[f]
            ir, why = f.result()
            if why:
                failures.append({"allocator": a.name, "micro": "%s %d B" % (mode, size),
                                 "failure": why})
            counts[(a.name, mode, size, n)] = ir
            if (i + 1) % 50 == 0:
                log("  callgrind %d/%d" % (i + 1, len(jobs)))
    out = {}
    for a in allocators:
        for mode, batch in (("single", 1), ("batch", BATCH)):
            for size in sizes:
                n = pairs // batch
                hi, lo = counts.get((a.name, mode, size, n)), counts.get((a.name, mode, size, 0))
                per = None if hi is None or lo is None else (hi - lo) / (n * batch)
                out.setdefault(a.name, {}).setdefault(mode, {})[size] = per
    return out, failures


def _alternating(allocators, base_env, runs, jobs, value, what, log):
    """{alloc: {key: median of value(result)}} and failures: every job
    (key, its name in a failure, micro command) under every allocator, once a round, the
    allocators alternating run by run. value(result) is the figure, or
    None with why for a run that gave none."""
    samples, failures = {}, []
    for r in range(runs):
        for key, name, cmd in jobs:
            for a in allocators:
                res = measure.run(cmd, a.env(base_env), None, 120)
                v, why = value(res) if res.ok else (None, res.status or "failed")
                if v is None:
                    failures.append({"allocator": a.name, "micro": name,
                                     "failure": why})
                    continue
                samples.setdefault(a.name, {}).setdefault(key, []).append(v)
        log("  %s round %d/%d" % (what, r + 1, runs))
    out = {a: {k: statistics.median(v) for k, v in d.items()} for a, d in samples.items()}
    return out, failures


def native_ns(micro_exe, allocators, base_env, quick, runs, log):
    """{alloc: {threads: median ns per 64 B pair per thread}}: natively, one
    and two threads each doing the same number of single pairs; the
    allocators alternate run by run."""
    pairs = 200_000 if quick else 20_000_000
    jobs = [(t, "native %d thread(s)" % t,
             [micro_exe, "-t", str(t), "-n", str(pairs), "-s", "64", "-b", "1"]) for t in (1, 2)]

    def ns(res):
        v = _field(res.out, "ns_per_pair")
        return v, None if v is not None else "no ns_per_pair in output"
    return _alternating(allocators, base_env, runs, jobs, ns, "native", log)


BATCH_SIZES = (4096, 65536)
BATCH_ROUNDS = 11


def native_batch(micro_exe, allocators, base_env, quick, runs, log):
    """{alloc: {size: median user+sys seconds}}: batches of BATCH mallocs
    then BATCH frees of 4 KiB and of 64 KiB blocks, 40 M pairs a run (issue
    13's batch targets, against tcmalloc). The bench/ workloads batch_4k and
    batch_64k run 0.5 M pairs, glibc's pace, which the other allocators do
    in 8-25 ms, mostly start-up: too short for a verdict. At least
    BATCH_ROUNDS rounds, the allocators alternating run by run: on a
    shared machine a ratio of two medians of 5 moved by 10% between
    invocations."""
    rounds = 2_000 if quick else 400_000
    jobs = [(s, "batch %d B" % s,
             [micro_exe, "-t", "1", "-n", str(rounds), "-s", str(s), "-b", str(BATCH)])
            for s in BATCH_SIZES]
    return _alternating(allocators, base_env, runs if quick else max(runs, BATCH_ROUNDS), jobs,
                        lambda res: (res.cpu, None), "batch", log)


def _field(text, key):
    """The number after `key=` in a run's output (None if absent or not a number)."""
    for word in (text or "").split():
        if word.startswith(key + "="):
            try:
                return float(word.split("=", 1)[1])
            except ValueError:
                return None
    return None


field = _field


def exe(bin_dir):
    return os.path.join(bin_dir, "micro")
