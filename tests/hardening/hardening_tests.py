#!/usr/bin/python3
"""hardening_tests.py - bad frees, out of memory, limits, fault injection,
memory given back, hostile environments and concurrency, checked on the
preloaded library (tests/hardening/*.c and real Debian programs).

  hardening_tests.py CASE --lib libtierpool.so --bin BUILD/tests/hardening --src SOURCE_DIR

Each CASE is one ctest test (hardening.CASE). Every child runs under a
timeout, so a deadlock fails the test instead of hanging it. Exit status 77
means "skipped" (ctest SKIP_RETURN_CODE), with the reason on stdout.
"""

import os
import random
import re
import resource
import shutil
import signal
import stat
import sys
import tempfile

import tptest
from tptest import PY, TIMEOUT, Skip, check, env

A = None  # the parsed arguments (tptest.main)
GiB = 1 << 30
MiB = 1 << 20


def prog(name):
    return os.path.join(A.bin, "hardening_" + name)


def run(args, e, vmem=None, timeout=TIMEOUT, stdin=None, text=True, cwd=None):
    """Runs args; vmem: an address-space limit in bytes (ulimit -v)."""
    def limit():
        if vmem:
            resource.setrlimit(resource.RLIMIT_AS, (vmem, vmem))
    return tptest.run(args, e, timeout=timeout, text=text, input=stdin, preexec_fn=limit,
                      cwd=cwd, errors="replace" if text else None)


def describe(r):
    how = ("killed by signal %d" % -r.returncode) if r.returncode < 0 else "exit status %d" % r.returncode
    return "%s\n--- stdout\n%s\n--- stderr\n%s" % (how, str(r.stdout)[-2000:], str(r.stderr)[-3000:])


def check_ok(r, what):
    check(r.returncode == 0, "%s failed: %s" % (what, describe(r)))


def not_a_signal(r, what):
    check(r.returncode >= 0, "%s crashed: %s" % (what, describe(r)))


def tierpool_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("tierpool:")]


# ---------------------------------------------------------------- bad frees


def expect_abort(args, e, what, tier):
    """The victim prints addr=ADDR, frees it, and must die of SIGABRT after
    one tierpool line naming what, ADDR and the tier."""
    r = run(args, e)
    m = re.search(r"addr=(0x[0-9a-f]+)", r.stdout)
    check(m, "%s printed no address: %s" % (args, describe(r)))
    addr = m.group(1)
    check(r.returncode == -signal.SIGABRT,
          "%s: want SIGABRT for %s of %s, got %s" % (" ".join(args[1:]), what, addr, describe(r)))
    check("survived" not in r.stdout, "the program went on after the bad free")
    lines = [l for l in tierpool_lines(r.stderr) if what in l]
    check(len(lines) == 1, "want one tierpool line naming %r, stderr: %r" % (what, r.stderr))
    check(addr in lines[0], "the message does not name the address %s: %r" % (addr, lines[0]))
    check("(tier %d B)" % tier in lines[0], "the message does not name tier %d: %r" % (tier, lines[0]))
    return lines[0]


def case_double_free():
    for size, tier in ((64, 64), (100, 128), (4096, 4096), (MiB, MiB)):
        expect_abort([prog("bad_free"), "double", str(size)], env(), "double free", tier)
        expect_abort([prog("bad_free"), "double", str(size)], env(harden="full"), "double free", tier)


def case_sampled_bad_free():
    # Every get sampled: each block lives in the sampler's own memory, not in
    # the pools nor in mimalloc (never loaded here). Its second free, or a
    # free of a pointer into it, is still named, with the block's tier.
    e = env(leaks="sample", leaks_sample="1")
    for size, tier in ((64, 64), (100, 128), (4096, 4096)):
        expect_abort([prog("bad_free"), "double", str(size)], e, "double free", tier)
    expect_abort([prog("bad_free"), "middle"], e, "middle", 64)


def case_middle_free():
    expect_abort([prog("bad_free"), "middle"], env(), "middle", 64)
    expect_abort([prog("bad_free"), "middle"], env(harden="full"), "middle", 64)


def case_central_double_free():
    # 5000 frees: the 64-byte list (256 blocks at most) goes central many times
    # on the way, so the second free of block 7 is not in this thread's list:
    # its free key says it is free (default), its state bit too (full).
    for e in (env(), env(harden="full")):
        expect_abort([prog("bad_free"), "central"], e, "double free", 64)


def case_cross_double_free():
    # cross_live: freed by a thread that is still alive, the block is in that
    # thread's cache, which no other thread walks. cross: freed by a thread
    # that then exits, the block is the head of the batch its list became
    # (the link in word 2, the key kept in word 1). The free key says free
    # in both (default), the state bit too (full).
    for mode in ("cross_live", "cross"):
        for e in (env(), env(harden="full")):
            expect_abort([prog("bad_free"), mode], e, "double free", 64)


def case_beyond_carve_full():
    # 2000 blocks on: past the carve front, inside the committed pages;
    # 1000000 blocks on: past the committed pages too.
    for k in ("2000", "1000000"):
        expect_abort([prog("bad_free"), "beyond", k], env(harden="full"), "never allocated", 64)


def expect_foreign_abort(mode, what):
    """A free of memory malloc never gave: SIGABRT and one tierpool line
    naming the kind of pointer and its address, in the default mode."""
    r = run([prog("bad_free"), mode], env())
    m = re.search(r"addr=(0x[0-9a-f]+)", r.stdout)
    check(m, "bad_free %s printed no address: %s" % (mode, describe(r)))
    check(r.returncode == -signal.SIGABRT,
          "bad_free %s: want SIGABRT, got %s" % (mode, describe(r)))
    check("survived" not in r.stdout, "the program went on after the bad free")
    lines = [l for l in tierpool_lines(r.stderr) if what in l and m.group(1) in l]
    check(len(lines) == 1, "want one tierpool line naming %r and %s, stderr: %r"
          % (what, m.group(1), r.stderr))


def case_neighbour_free():
    # free(p + 64) of the tier's first 64-byte block: carved with p, on the
    # thread's list marked free, never handed out.
    expect_abort([prog("bad_free"), "neighbour"], env(), "never handed out", 64)


def case_close_free():
    # free(p + 4096) of a 64-byte block p, the tier's first: at the carve
    # front (the first carve is one page) or, were it larger, a block carved
    # and not yet handed out. Caught at the free either way ("never
    # allocated" or "never handed out"), never handed out twice.
    expect_abort([prog("bad_free"), "close"], env(), "never", 64)


def case_stack_free():
    expect_foreign_abort("stack", "free of a stack address")
    expect_foreign_abort("alloca", "free of a stack address")
    expect_foreign_abort("realloc_stack", "realloc of a stack address")


def case_static_free():
    expect_foreign_abort("static", "free of a static")


def case_foreign_free():
    expect_foreign_abort("foreign", "not from the pools nor from mimalloc")
    # Its would-be segment header mapped: only that mimalloc was never
    # loaded (nothing forwarded to it) says the pointer is not its.
    expect_foreign_abort("mapped", "not from the pools nor from mimalloc")


def case_huge_free():
    # 1.5 GiB: outside mimalloc's segment map; not a foreign pointer.
    r = run([prog("bad_free"), "huge"], env())
    check_ok(r, "bad_free huge")
    check("survived" in r.stdout, "bad_free huge did not finish: %s" % describe(r))


def case_beyond_carve_default():
    for k in ("2000", "1000000"):
        expect_abort([prog("bad_free"), "beyond", k], env(), "never allocated", 64)


def case_clean_full():
    want = run([prog("workload"), "4", "20000"], env(preload=False))
    check_ok(want, "workload without tierpool")
    for e in (env(), env(harden="full")):
        r = run([prog("workload"), "4", "20000"], e)
        check_ok(r, "workload (TIERPOOL_HARDEN=%s)" % e.get("TIERPOOL_HARDEN", "default"))
        check(r.stdout == want.stdout, "output differs: %r vs %r" % (r.stdout, want.stdout))
        check(r.stderr == "", "unexpected stderr: %r" % r.stderr)
    real_programs(env(harden="full"), "TIERPOOL_HARDEN=full")


# ---------------------------------------------------------------- real programs

PY_SCRIPT = r"""
import json, zlib
rows = [{"id": i, "name": "n%07d" % (i * 7919 % 100003), "tags": [str(i % 7)] * (i % 5)} for i in range(60000)]
rows.sort(key=lambda r: r["name"])
blob = json.dumps(rows).encode()
print(len(rows), len(blob), zlib.crc32(blob))
"""


def sort_input():
    rnd = random.Random(7)
    lines = ["%d %s" % (rnd.randrange(10 ** 9), "x" * rnd.randrange(40)) for _ in range(200000)]
    text = "\n".join(lines) + "\n"
    want = "".join(l + "\n" for l in sorted(lines, key=lambda l: (int(l.split()[0]), l)))
    return text, want


def real_programs(e, what, vmem=None):
    """python3 (every allocation through malloc) and sort, with correct output."""
    e = dict(e, PYTHONMALLOC="malloc", PYTHONHASHSEED="0")
    plain = run([PY, "-c", PY_SCRIPT], env(preload=False, PYTHONMALLOC="malloc"))
    check_ok(plain, "python3 without tierpool")
    r = run([PY, "-c", PY_SCRIPT], e, vmem=vmem)
    check_ok(r, "python3 under %s" % what)
    check(r.stdout == plain.stdout, "python3 under %s printed %r, want %r" % (what, r.stdout, plain.stdout))
    text, want = sort_input()
    r = run(["sort", "-n", "-S", "64M"], dict(e, LC_ALL="C"), vmem=vmem, stdin=text)
    check_ok(r, "sort under %s" % what)
    check(r.stdout == want, "sort under %s: wrong output" % what)
    return r


# ---------------------------------------------------------------- out of memory


def case_ulimit_shrink():
    # 1 GiB of address space: nothing is reserved up front (the pools map
    # their pages as they grow), so programs run with no warning.
    want = run([prog("workload"), "4", "20000"], env(preload=False))
    r = run([prog("workload"), "4", "20000"], env(), vmem=GiB)
    check_ok(r, "workload under ulimit -v 1 GiB")
    check(r.stdout == want.stdout, "workload output differs under ulimit -v")
    check(not tierpool_lines(r.stderr), "want no warning, got %r" % r.stderr)
    r = real_programs(env(), "ulimit -v 1 GiB", vmem=GiB)
    check(not tierpool_lines(r.stderr), "sort: want no warning, got %r" % r.stderr)
    r = run([prog("oom"), "huge"], env(), vmem=GiB)
    check_ok(r, "oom huge under ulimit -v 1 GiB")


def case_ulimit_vanish():
    # 200 MiB: the pools and mimalloc share what there is.
    vmem = 200 * MiB
    want = run([prog("workload"), "2", "5000"], env(preload=False))
    r = run([prog("workload"), "2", "5000"], env(), vmem=vmem)
    check_ok(r, "workload under ulimit -v 200 MiB")
    check(r.stdout == want.stdout, "workload output differs under ulimit -v")
    check(not tierpool_lines(r.stderr), "want no warning, got %r" % r.stderr)
    real_programs(env(), "ulimit -v 200 MiB", vmem=vmem)
    r = run([prog("oom"), "huge"], env(), vmem=vmem)
    check_ok(r, "oom huge under ulimit -v 200 MiB")


def case_ulimit_exhaust():
    # Allocate until malloc says no: pooled (the small region fills, then
    # mimalloc), a tier's largest size, and forwarded blocks.
    for size in (64, 4096, MiB, 3 * MiB):
        for e in (env(), env(harden="full")):
            r = run([prog("oom"), "exhaust", str(size)], e, vmem=GiB, timeout=80)
            check_ok(r, "oom exhaust %d under ulimit -v 1 GiB" % size)
            check(not tierpool_lines(r.stderr), "want no warning, got %r" % r.stderr[-2000:])


def case_rlimit_thread_fail():
    # glibc's tst-malloc-thread-fail lowers RLIMIT_AS to 200 MiB while it
    # runs: threads must still start, requests be served, and pooled
    # memory fail with ENOMEM at the limit, for pooled and forwarded sizes.
    for e in (env(), env(max_tier="64K")):
        r = run([prog("rlimit"), "200"], e, timeout=100)
        check_ok(r, "rlimit 200 MiB")
        check("survived" in r.stdout, "rlimit did not finish: %s" % describe(r))
        check(not tierpool_lines(r.stderr), "want no warning, got %r" % r.stderr)


def case_huge():
    for e in (env(), env(harden="full"), env(limit="1G")):
        r = run([prog("oom"), "huge"], e)
        check_ok(r, "oom huge")


def case_realloc_huge():
    for e in (env(), env(harden="full")):
        r = run([prog("oom"), "realloc_huge"], e)
        check_ok(r, "oom realloc_huge")


def case_pool_full_aligned():
    for e in (env(region_size="64M"), env(region_size="64M", harden="full")):
        r = run([prog("oom"), "aligned_full"], e)
        check_ok(r, "oom aligned_full")


# ---------------------------------------------------------------- TIERPOOL_FAIL

COUNT = 4000


def failseq(spec):
    r = run([prog("oom"), "failseq", str(COUNT)], env(fail=spec))
    check_ok(r, "oom failseq under TIERPOOL_FAIL=%s" % spec)
    check(r.stderr == "", "TIERPOOL_FAIL=%s: unexpected stderr %r" % (spec, r.stderr))
    m = re.search(r"base=(\d+)\nfailed=([\d,]*)\n", r.stdout)
    check(m, "unexpected output %r" % r.stdout)
    failed = [int(x) for x in m.group(2).split(",") if x]
    return int(m.group(1)), failed


def base_count():
    """Allocations the program makes before its loop (a spec that never fires
    puts it in the same slow mode)."""
    base, failed = failseq("nth=%d" % (1 << 60))
    check(failed == [], "nth=2^60 failed allocations %r" % failed)
    return base


def case_fail_nth():
    base = base_count()
    for k in (1, 2, 8, 100, 1001, COUNT):
        b, failed = failseq("nth=%d" % (base + k))
        check(b == base, "allocations before the loop changed: %d, then %d" % (base, b))
        check(failed == [k - 1], "nth=%d (loop index %d): failed %r" % (base + k, k - 1, failed))


def case_fail_every():
    base = base_count()
    for n, after in ((7, base + 10), (1, base + COUNT - 5), (50, base)):
        spec = "every=%d,after=%d" % (n, after)
        b, failed = failseq(spec)
        want = [i for i in range(COUNT) if base + i + 1 > after and (base + i + 1 - after) % n == 0]
        check(b == base and failed == want, "%s: failed %r, want %r" % (spec, failed[:20], want[:20]))


def case_fail_random():
    a = failseq("random=0.1,seed=42")[1]
    b = failseq("random=0.1,seed=42")[1]
    c = failseq("random=0.1,seed=43")[1]
    check(a == b, "random=0.1,seed=42 is not reproducible")
    check(a != c, "seeds 42 and 43 fail the same allocations")
    check(COUNT * 0.07 < len(a) < COUNT * 0.13, "random=0.1 failed %d of %d" % (len(a), COUNT))
    check(failseq("random=0,seed=5")[1] == [], "random=0 failed some")
    half = failseq("random=0.5")[1]
    check(COUNT * 0.45 < len(half) < COUNT * 0.55, "random=0.5 failed %d of %d" % (len(half), COUNT))


def allocations_of(args, e, stdin=None):
    """How many allocations args makes (total gets + forwarded), from the exit dump."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.json")
        r = run(args, dict(e, TIERPOOL_STATS=path, TIERPOOL_FORMAT="json"), stdin=stdin)
        check_ok(r, "%s (counting its allocations)" % args[0])
        import json
        with open(path) as f:
            d = json.loads(f.read().splitlines()[-1])
        return d["total_get"] + d["discarded"], r


FAIL_PY = r"""
import sys
data = [("row %d" % i) * 3 for i in range(200000)]
print(len(data), sum(map(len, data)))
"""

FAIL_SQL = """
CREATE TABLE t(a INTEGER, b TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50000)
INSERT INTO t SELECT x, printf('%0200d', x) FROM c;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(length(b)) FROM t;
"""


def case_fail_real_programs():
    # python3 (every object through malloc): one failed allocation in the
    # middle of the program's own work is a MemoryError, exit status 1.
    pe = dict(env(), PYTHONMALLOC="malloc", PYTHONHASHSEED="0")
    start, _ = allocations_of([PY, "-c", "pass"], pe)
    total, r = allocations_of([PY, "-c", FAIL_PY], pe)
    check(total > start + 100000, "python3 made too few allocations to test (%d, %d)" % (start, total))
    for nth in (start + (total - start) // 3, start + (total - start) * 2 // 3):
        r = run([PY, "-c", FAIL_PY], dict(pe, TIERPOOL_FAIL="nth=%d" % nth))
        not_a_signal(r, "python3 under TIERPOOL_FAIL=nth=%d" % nth)
        check(r.returncode == 1 and "MemoryError" in r.stderr,
              "python3 under TIERPOOL_FAIL=nth=%d: want MemoryError, got %s" % (nth, describe(r)))
    # sqlite3: its own "out of memory" error, whatever allocation fails.
    se = env()
    start, _ = allocations_of(["sqlite3", ":memory:"], se, stdin="")
    total, r = allocations_of(["sqlite3", ":memory:"], se, stdin=FAIL_SQL)
    check(total > start + 1000, "sqlite3 made too few allocations to test (%d, %d)" % (start, total))
    oom = 0
    for nth in range(start + (total - start) // 5, total, max(1, (total - start) // 5)):
        r = run(["sqlite3", ":memory:"], dict(se, TIERPOOL_FAIL="nth=%d" % nth), stdin=FAIL_SQL)
        not_a_signal(r, "sqlite3 under TIERPOOL_FAIL=nth=%d" % nth)
        if "out of memory" in r.stderr + r.stdout:
            oom += 1
            check(r.returncode != 0, "sqlite3 reported out of memory but exited 0")
    check(oom >= 2, "sqlite3 never reported 'out of memory' under TIERPOOL_FAIL=nth")
    # Random failures all through both programs: their own errors, never a signal.
    for seed in range(1, 6):
        spec = "random=0.0005,seed=%d" % seed
        r = run([PY, "-c", FAIL_PY], dict(pe, TIERPOOL_FAIL=spec))
        # CPython cannot recover from a failure inside its start-up and
        # calls abort() there ("Fatal Python error"): its choice, not a crash.
        if r.returncode < 0 and "Fatal Python error" in r.stderr:
            continue
        not_a_signal(r, "python3 under TIERPOOL_FAIL=%s" % spec)
        r = run(["sqlite3", ":memory:"], dict(se, TIERPOOL_FAIL=spec), stdin=FAIL_SQL)
        not_a_signal(r, "sqlite3 under TIERPOOL_FAIL=%s" % spec)


# ---------------------------------------------------------------- TIERPOOL_LIMIT


def case_limit():
    for e in (env(limit="64M"), env(limit="64M", harden="full")):
        r = run([prog("oom"), "limit", str(64 * MiB)], e)
        check_ok(r, "oom limit 64M")
        check(r.stderr == "", "unexpected stderr %r" % r.stderr)
    # Within the cap, a correct program is unchanged.
    want = run([prog("workload"), "4", "20000"], env(preload=False))
    r = run([prog("workload"), "4", "20000"], env(limit="4G"))
    check_ok(r, "workload under TIERPOOL_LIMIT=4G")
    check(r.stdout == want.stdout, "workload output differs under TIERPOOL_LIMIT")


def case_limit_real_program():
    pe = dict(env(limit="200M"), PYTHONMALLOC="malloc")
    r = run([PY, "-c", "x = bytearray(100 << 20); print(len(x))"], pe)
    check_ok(r, "python3 within TIERPOOL_LIMIT")
    check(r.stdout.strip() == str(100 << 20), "python3 printed %r" % r.stdout)
    code = ("try:\n    x = bytearray(300 << 20)\nexcept MemoryError:\n    print('MemoryError caught')\n"
            "y = [bytes(1000) for i in range(10000)]\nprint(len(y))\n")
    r = run([PY, "-c", code], pe)
    check_ok(r, "python3 past TIERPOOL_LIMIT")
    check(r.stdout.split() == ["MemoryError", "caught", "10000"], "python3 printed %r" % r.stdout)
    r = run([PY, "-c", "x = [bytes(1 << 20) for i in range(400)]"], pe)
    not_a_signal(r, "python3 running out under TIERPOOL_LIMIT")
    check(r.returncode == 1 and "MemoryError" in r.stderr, "want MemoryError: %s" % describe(r))


# ---------------------------------------------------------------- memory given back


def retain_run(mode, **tp):
    r = run([prog("retain"), mode], env(**tp))
    check_ok(r, "retain %s %r" % (mode, tp))
    m = re.search(r"grown=(-?\d+) left=(-?\d+)", r.stdout)
    check(m, "unexpected output %r" % r.stdout)
    grown, left = int(m.group(1)), int(m.group(2))
    check(grown > 800 * 1024, "retain %s: only %d KiB resident at the peak" % (mode, grown))
    return grown, left


def case_retain():
    for mode in ("thread", "main"):
        grown, left = retain_run(mode, retain="0")
        check(left < grown // 10, "TIERPOOL_RETAIN=0, %s: %d of %d KiB still resident" % (mode, left, grown))
        grown, left = retain_run(mode, retain="4G")
        check(left > grown * 8 // 10,
              "TIERPOOL_RETAIN=4G, %s: only %d of %d KiB kept" % (mode, left, grown))


def case_retain_default():
    # 64 MiB per tier stay in the central pools, five tiers, plus the caches.
    grown, left = retain_run("thread")
    check(left < 5 * 64 * 1024 + 48 * 1024,
          "default TIERPOOL_RETAIN: %d of %d KiB still resident" % (left, grown))


# ---------------------------------------------------------------- hostile environment


def option_names():
    names = []
    for part in (("core", "config.h"), ("stats", "options.h")):  # the engine's and the dumps'
        with open(os.path.join(A.src, *part)) as f:
            names += re.findall(r'X\(\w+, \w+, "(TIERPOOL_[A-Z_]+)"', f.read())
    check(len(names) >= 14, "could not read the option table: %r" % names)
    return names


BAD_VALUES = [b"", b"junk", b"99999999999999999999999", b"-1", b"A" * 10240,
              b"\xff\xfe\x80\xc3(", b"1 M", b"0x", b"18446744073709551616"]
# Control characters: a warning must stay one line and must not carry
# terminal escapes.
CONTROL_VALUES = [b"4G\n", b"1M\rtierpool: forged", b"\x1b[2J\x1b[31mred"]


def bytes_env(extra):
    e = {k.encode(): v.encode() for k, v in env().items()}
    e.update(extra)
    return e


def one_warning_each(names, values):
    """Each variable with each value: the program runs unchanged, with one
    one-line warning naming the variable."""
    want = run([prog("workload"), "2", "1000"], env(preload=False)).stdout
    tmp = tempfile.mkdtemp()
    try:
        for name in names:
            for value in values:
                if name == "TIERPOOL_STATS" and value and len(value) < 512:
                    continue  # a file name, for all the parser knows: see below
                r = run([prog("workload"), "2", "1000"], bytes_env({name.encode(): value}),
                        text=False, cwd=tmp)
                what = "%s=%r" % (name, value[:40])
                check(r.returncode == 0, "workload under %s: %s" % (what, r.returncode))
                check(r.stdout.decode() == want, "workload under %s printed %r" % (what, r.stdout))
                lines = r.stderr.decode("utf-8", "replace").splitlines()
                check(len(lines) == 1 and lines[0].startswith("tierpool: ") and name in lines[0],
                      "%s: want one warning naming it, got %r" % (what, lines[:5]))
                check(len(lines[0]) < 600, "%s: warning of %d bytes" % (what, len(lines[0])))
                check(not re.search(r"[\x00-\x1f\x7f]", lines[0]),
                      "%s: control characters in the warning %r" % (what, lines[0]))
    finally:
        shutil.rmtree(tmp)


def case_bad_env_control_chars():
    one_warning_each([n for n in option_names() if n != "TIERPOOL_STATS"], CONTROL_VALUES)


def case_bad_env_values():
    want = run([prog("workload"), "2", "1000"], env(preload=False)).stdout
    names = option_names()
    one_warning_each(names, BAD_VALUES)
    tmp = tempfile.mkdtemp()
    try:
        # A dump path in a directory that does not exist: one warning, at exit.
        r = run([prog("workload"), "2", "1000"],
                env(stats="/nonexistent/dir/tp.%p.json", interval="1"))
        check_ok(r, "workload with an unreachable TIERPOOL_STATS")
        lines = tierpool_lines(r.stderr)
        check(len(lines) == 1 and "TIERPOOL_STATS" in lines[0], "want one warning, got %r" % r.stderr)
        # Every variable bad at once: one warning each.
        allbad = {n.encode(): b"\xff junk" for n in names if n != "TIERPOOL_STATS"}
        r = run([prog("workload"), "2", "1000"], bytes_env(allbad), text=False, cwd=tmp)
        check(r.returncode == 0 and r.stdout.decode() == want, "workload with every variable bad")
        lines = r.stderr.decode("utf-8", "replace").splitlines()
        for n in allbad:
            got = [l for l in lines if re.search(r"\b%s\b" % n.decode(), l)]
            check(len(got) == 1, "%s: want one warning, got %r" % (n.decode(), got))
        check(len(lines) == len(allbad), "want %d warnings, got %r" % (len(allbad), lines))
    finally:
        shutil.rmtree(tmp)


EXTREME_VALUES = [
    ("TIERPOOL_MAX_TIER", "256"), ("TIERPOOL_MAX_TIER", "1G"),
    ("TIERPOOL_CACHE_SIZE", "4K"), ("TIERPOOL_CACHE_SIZE", "1G"),
    ("TIERPOOL_REGION_SIZE", "64M"), ("TIERPOOL_REGION_SIZE", "64G"),
    ("TIERPOOL_RING", "0"), ("TIERPOOL_RING", "65536"), ("TIERPOOL_INTERVAL", "86400"),
    ("TIERPOOL_SIGNAL", "RTMIN+5"), ("TIERPOOL_SIGNAL", "64"), ("TIERPOOL_AT_EXIT", "0"),
    ("TIERPOOL_LIVE", "1"), ("TIERPOOL_HARDEN", "full"), ("TIERPOOL_LIMIT", "18446744073709551615"),
    ("TIERPOOL_LIMIT", "1024G"), ("TIERPOOL_RETAIN", "0"), ("TIERPOOL_RETAIN", "18446744073709551615"),
    ("TIERPOOL_FAIL", "random=0"), ("TIERPOOL_FAIL", "every=18446744073709551615"),
    ("TIERPOOL_FAIL", "nth=18446744073709551615"), ("TIERPOOL_FORMAT", "prometheus"),
]


def case_extreme_env_values():
    # Valid values at the ends of their ranges: the program runs unchanged.
    want = run([prog("workload"), "2", "1000"], env(preload=False)).stdout
    for name, value in EXTREME_VALUES:
        e = env(**{name[len("TIERPOOL_"):].lower(): value})
        if name == "TIERPOOL_MAX_TIER" and value == "1G":
            e["TIERPOOL_REGION_SIZE"] = "64G"
        r = run([prog("workload"), "2", "1000"], e)
        check_ok(r, "workload under %s=%s" % (name, value))
        check(r.stdout == want, "workload under %s=%s printed %r" % (name, value, r.stdout))
        check(tierpool_lines(r.stderr) == [], "%s=%s: unexpected warnings %r" % (name, value, r.stderr))
    r = run([PY, "-c", PY_SCRIPT], dict(env(max_tier="1G", region_size="64G", cache_size="1G",
                                            harden="full", ring="65536"), PYTHONMALLOC="malloc"))
    check_ok(r, "python3 with every size option at its largest")


def case_setuid():
    if os.geteuid() != 0:
        raise Skip("needs root to make a setuid-root copy")
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is missing")
    exe = prog("secure_prog")
    tmp = tempfile.mkdtemp(prefix="tierpool-suid-")
    try:
        os.chmod(tmp, 0o755)
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        os.chmod(out, 0o777)
        suid = os.path.join(tmp, "secure_prog")
        shutil.copy(exe, suid)
        os.chown(suid, 0, 0)
        os.chmod(suid, 0o4755)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        probe = run(as_nobody + ["test", "-r", A.lib, "-a", "-x", suid], os.environ.copy())
        if probe.returncode != 0:
            raise Skip("user nobody cannot reach %s or %s" % (suid, A.lib))
        e = env(preload=False, stats=os.path.join(out, "dump.%p"), format="junk", max_tier="4K",
                fail="every=2", live="1")
        # Control: the same program, not setuid, honours every variable.
        plain = os.path.join(tmp, "plain_prog")
        shutil.copy(exe, plain)
        os.chmod(plain, 0o755)
        r = run(as_nobody + [plain], e)
        check_ok(r, "the plain copy")
        check("secure=0" in r.stdout and "usable=131072" not in r.stdout and "failed=500" in r.stdout,
              "the plain copy ignored the variables: %r" % r.stdout)
        check(any("TIERPOOL_FORMAT" in l for l in tierpool_lines(r.stderr)),
              "the plain copy did not warn about TIERPOOL_FORMAT: %r" % r.stderr)
        check(len(os.listdir(out)) == 1, "the plain copy wrote no dump: %r" % os.listdir(out))
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        # The setuid copy, run by nobody: AT_SECURE, every variable ignored.
        r = run(as_nobody + [suid], e)
        check_ok(r, "the setuid copy")
        if "secure=0" in r.stdout:
            raise Skip("the setuid copy did not run in secure mode (nosuid mount?)")
        check("secure=1" in r.stdout, "unexpected output %r" % r.stdout)
        check("usable=131072" in r.stdout, "TIERPOOL_MAX_TIER was honoured: %r" % r.stdout)
        check("failed=0 " in r.stdout, "TIERPOOL_FAIL was honoured: %r" % r.stdout)
        check(r.stderr == "", "the setuid copy wrote to stderr: %r" % r.stderr)
        check(os.listdir(out) == [], "the setuid copy wrote a dump: %r" % os.listdir(out))
    finally:
        shutil.rmtree(tmp)


# ---------------------------------------------------------------- concurrency


def case_fork_storm():
    for e in (env(), env(harden="full")):
        r = run([prog("fork_storm"), "100"], e, timeout=110)
        check_ok(r, "fork_storm (TIERPOOL_HARDEN=%s)" % e.get("TIERPOOL_HARDEN", "default"))


def case_signal_storm():
    for e, secs in ((env(), "3"), (env(harden="full"), "2")):
        r = run([prog("signal_storm"), secs], e, timeout=40)
        check_ok(r, "signal_storm (TIERPOOL_HARDEN=%s)" % e.get("TIERPOOL_HARDEN", "default"))
        print(r.stdout.strip())


def case_thread_rss():
    r = run([prog("thread_rss")], env(), timeout=110)
    check_ok(r, "thread_rss")
    print(r.stdout.strip())


def add_args(p):
    p.add_argument("--bin", required=True)
    p.add_argument("--src", required=True)


if __name__ == "__main__":
    sys.exit(tptest.main("hardening", globals(), add_args))
