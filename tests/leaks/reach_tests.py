#!/usr/bin/python3
"""reach_tests.py - reachability at exit: each block left by the fixture
(tests/leaks/reach.c, its cases listed at its top) must come out direct,
indirect or still reachable, as LeakSanitizer would classify it.

  reach_tests.py CASE --lib libtierpool.so --bin leaks_reach --schema SCHEMA

Each CASE is one ctest test (leaks.reach_CASE). The JSON exit dump is
validated strictly against the schema.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

A = None
TIMEOUT = 30


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_fixture(args, mode="all", fmt="json", extra=None):
    """Runs the fixture preloaded; returns (the dump's text, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dump")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TIERPOOL_") and k != "LD_PRELOAD"}
        env.update(LD_PRELOAD=A.lib, TIERPOOL_LEAKS=mode, TIERPOOL_LEAKS_TOP="0",
                   TIERPOOL_FORMAT=fmt, TIERPOOL_STATS=out, **(extra or {}))
        r = subprocess.run([A.bin] + args, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT, cwd=tmp)
        check(r.returncode == 0, "%s exited %d: %s" % (args, r.returncode, r.stderr))
        with open(out) as f:
            return f.read(), r.stderr


def leaks_of(args, mode="all"):
    """The leak section of the exit dump, schema-checked, and a map
    innermost function -> {kind: (blocks, bytes)}."""
    return leaks_in(run_fixture(args, mode)[0])


def leaks_in(text):
    """leaks_of's answer from the dump's text."""
    d = json.loads(text)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from tpchecks import validate  # noqa: E402
    with open(A.schema) as f:
        validate(d, json.load(f))
    lk = d["leaks"]
    check(lk["reachability"], "no reachability scan in the exit dump")
    by_fn = {}
    for st in lk["stacks"]:
        fn = st["frames"][0]["function"] if st["frames"] else None
        b, n = by_fn.setdefault(fn, {}).get(st["kind"], (0, 0))
        by_fn[fn][st["kind"]] = (b + st["blocks"], n + st["bytes"])
    return lk, by_fn


def expect(by_fn, fn, want):
    check(by_fn.get(fn) == want, "%s: want %r, got %r (all: %r)" % (fn, want, by_fn.get(fn), by_fn))


def totals_consistent(lk):
    for kind in ("direct", "indirect", "reachable", "unknown"):
        rows = [s for s in lk["stacks"] if s["kind"] == kind]
        t = lk[kind]
        check((t["stacks"], t["blocks"], t["bytes"]) ==
              (len(rows), sum(s["blocks"] for s in rows), sum(s["bytes"] for s in rows)),
              "%s totals %r do not add up" % (kind, t))
    check(lk["blocks"] == sum(lk[k]["blocks"] for k in ("direct", "indirect", "reachable")),
          "blocks %d are not the sum of the kinds" % lk["blocks"])
    order = [("direct", "indirect", "reachable", "unknown").index(s["kind"]) for s in lk["stacks"]]
    check(order == sorted(order), "entries not direct first: %r" % order)


def case_list():
    for n in (2, 10, 1000):
        lk, by_fn = leaks_of(["list", str(n)])
        expect(by_fn, "list_head", {"direct": (1, 48)})
        expect(by_fn, "list_node", {"indirect": (n - 1, 48 * (n - 1))})
        totals_consistent(lk)
        check(lk["direct"]["blocks"] == 1 and lk["indirect"]["blocks"] == n - 1, "%r" % lk)


def case_global():
    lk, by_fn = leaks_of(["global"])
    expect(by_fn, "global_kept", {"reachable": (1, 64)})
    expect(by_fn, "global_lost", {"direct": (1, 96)})
    totals_consistent(lk)
    p = lk["process"]
    check(p["cmdline"] == A.bin + " global", "cmdline %r" % p["cmdline"])
    check(not p["cmdline_truncated"] and os.path.isabs(p["cwd"]), "process %r" % p)


def case_interior():
    _, by_fn = leaks_of(["interior"])
    expect(by_fn, "interior_kept", {"reachable": (1, 200)})


def case_thread():
    lk, by_fn = leaks_of(["thread"])
    expect(by_fn, "thread_kept", {"reachable": (1, 136)})
    check(lk["scan"]["threads"] >= 1 and lk["scan"]["stopped"] >= 1,
          "the blocked thread was not stopped for the scan: %r" % lk["scan"])


def case_tls():
    _, by_fn = leaks_of(["tls"])
    expect(by_fn, "tls_kept", {"reachable": (1, 112)})


def case_big():
    lk, by_fn = leaks_of(["big"])
    expect(by_fn, "big_lost", {"direct": (1, 8 << 20)})
    expect(by_fn, "big_child", {"indirect": (1, 72)})
    expect(by_fn, "big_kept", {"reachable": (1, 8 << 20)})
    expect(by_fn, "big_kept_child", {"reachable": (1, 88)})
    check(all(s["forwarded"] for s in lk["stacks"] if s["frames"][0]["function"] == "big_lost"),
          "the 8 MiB block is not marked forwarded")


def case_swapped():
    """A pointer kept only in a page swapped out still keeps its block
    (the scan reads a page in memory or in swap; mincore, which it asked
    before, sees only the first). Skipped where nothing can be swapped
    out (no swap: `swapon` a file to run it)."""
    text, err = run_fixture(["swapped"])
    n = [int(l.split()[1]) for l in err.splitlines() if l.startswith("swapped ")]
    check(n, "the fixture did not say what it swapped out: %r" % err)
    if n[0] < 2:
        print("reach_tests: swapped: skipped: the kernel swapped out %d of the 2 pages "
              "(no swap here?)" % n[0])
        sys.exit(77)
    _, by_fn = leaks_in(text)
    expect(by_fn, "swapped_anon_kept", {"reachable": (1, 152)})
    expect(by_fn, "swapped_global_kept", {"reachable": (1, 120)})


def case_cycle():
    _, by_fn = leaks_of(["cycle"])
    expect(by_fn, "cycle_node", {"indirect": (2, 112)})


def case_sample():
    # Sampled: the 8 MiB blocks are always captured; the others may not be,
    # but no block may come out of the wrong kind.
    lk, by_fn = leaks_of(["big"], mode="sample")
    check(lk["estimated"], "sample mode not marked estimated")
    check(set(by_fn.get("big_lost", {})) == {"direct"}, "big_lost %r" % by_fn.get("big_lost"))
    check(set(by_fn.get("big_kept", {})) == {"reachable"}, "big_kept %r" % by_fn.get("big_kept"))
    for fn, kinds in (("big_child", {"indirect"}), ("big_kept_child", {"reachable"})):
        check(set(by_fn.get(fn, {})) <= kinds, "%s %r" % (fn, by_fn.get(fn)))


def case_sample_bounds():
    """Sampled at both ends: every block captured (a 1-byte interval) gives
    the exact kinds of `all` mode (sampled blocks live in mimalloc's
    segments, which are heap, not roots); none captured (a 1 GiB interval, so
    nothing is charged at exit and no scan is needed) gives no stack, and
    the kinds still count as known."""
    text, _ = run_fixture(["list", "1000"], mode="sample", extra={"TIERPOOL_LEAKS_SAMPLE": "1"})
    lk = json.loads(text)["leaks"]
    kinds = {}
    for st in lk["stacks"]:
        fn = st["frames"][0]["function"] if st["frames"] else None
        if fn in ("list_head", "list_node"):
            kinds[fn, st["kind"]] = (st["blocks"], st["bytes"])
    want = {("list_head", "direct"): (1, 48), ("list_node", "indirect"): (999, 999 * 48)}
    check(lk["reachability"] and kinds == want, "every block sampled: %r" % kinds)
    text, _ = run_fixture(["list", "1000"], mode="sample", extra={"TIERPOOL_LEAKS_SAMPLE": "1G"})
    lk = json.loads(text)["leaks"]
    check(lk["reachability"] and lk["estimated"], "no kinds: %r" % lk)
    check(lk["stacks"] == [] and lk["blocks"] == 0, "nothing sampled, yet %r" % lk["stacks"])
    totals_consistent(lk)


def case_text():
    text, _ = run_fixture(["list", "5"], fmt="text")
    for line in ("direct leaks (no pointer to them is left):",
                 "indirect leaks (pointed to only by leaked blocks):",
                 "  48 bytes in 1 block (tier 64) allocated from:",
                 "  192 bytes in 4 blocks (tier 64) allocated from:"):
        check(line in text.splitlines(), "no line %r in:\n%s" % (line, text))
    check(text.index("direct leaks") < text.index("indirect leaks"), "direct not first")
    # Without TIERPOOL_STATS: the report on stderr names the process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERPOOL_")}
    env.update(LD_PRELOAD=A.lib, TIERPOOL_LEAKS="all")
    r = subprocess.run([A.bin, "global"], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    check("tierpool: pid %s" % "" in r.stderr and A.bin + " global (in " in r.stderr,
          "stderr report does not name the process:\n" + r.stderr)


def case_repeat():
    """Stacks that repeat from the same stack address (the capture cache's
    hits) are told apart exactly: by callee, by caller, by depth."""
    n = 7000
    lk, by_fn = leaks_of(["repeat", str(n)])
    expect(by_fn, "alt_a", {"direct": (n // 2, 24 * (n // 2))})
    expect(by_fn, "alt_b", {"direct": (n // 2, 24 * (n // 2))})
    rec = {}
    for st in lk["stacks"]:
        fns = [f["function"] for f in st["frames"]]
        if fns and fns[0] == "rec_alloc":
            depth = fns.index("from_x") if "from_x" in fns else fns.index("from_y")
            key = (fns[depth], depth - 1)
            rec[key] = rec.get(key, 0) + st["blocks"]
    want = {}
    for i in range(n):
        key = ("from_y" if i & 1 else "from_x", i % 7)
        want[key] = want.get(key, 0) + 1
    check(rec == want, "rec_alloc stacks by caller and depth: want %r, got %r" % (want, rec))


def case_badfree():
    """A double free and an interior free abort, naming the allocating stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERPOOL_")}
    env.update(LD_PRELOAD=A.lib, TIERPOOL_LEAKS="all")
    for how, what, state, fn in (
            ("double", "double free", "already freed", "badfree_block"),
            ("middle", "free of a pointer into the middle", "still in use", "badfree_block"),
            ("big_middle", "free of a pointer not from the pools", "still in use",
             "big_badfree_block")):
        r = subprocess.run([A.bin, how], env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
        check(r.returncode < 0, "%s: not killed (status %d)" % (how, r.returncode))
        lines = r.stderr.splitlines()
        head = [i for i, l in enumerate(lines) if "was allocated from:" in l]
        check(what in r.stderr and head and state in lines[head[0]],
              "%s: no allocation stack:\n%s" % (how, r.stderr))
        check(lines[head[0] + 1].startswith("    #0 %s+" % fn),
              "%s: stack does not start in %s:\n%s" % (how, fn, r.stderr))
        check("first freed from" not in r.stderr, "%s: a free stack nobody asked for" % how)
    # TIERPOOL_LEAKS_FREES: the double free also names where the block was freed first.
    r = subprocess.run([A.bin, "double"], env=dict(env, TIERPOOL_LEAKS_FREES="1"),
                       capture_output=True, text=True, timeout=TIMEOUT)
    lines = r.stderr.splitlines()
    head = [i for i, l in enumerate(lines) if "first freed from:" in l]
    check(r.returncode < 0 and head and lines[head[0] + 1].startswith("    #0 badfree_release+"),
          "double free with TIERPOOL_LEAKS_FREES: no stack of the first free:\n%s" % r.stderr)
    # Without leak tracking: the engine's one-line report, no stack.
    env.pop("TIERPOOL_LEAKS")
    r = subprocess.run([A.bin, "double"], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(r.returncode < 0 and "allocated from" not in r.stderr, r.stderr)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=sorted(CASES))
    p.add_argument("--lib", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--checks", help="unused (the checkers are in tests/lib)")
    A = p.parse_args()
    CASES[A.case]()
    print("ok: reach_%s" % A.case)


if __name__ == "__main__":
    main()
