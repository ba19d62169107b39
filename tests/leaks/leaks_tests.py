#!/usr/bin/python3
"""leaks_tests.py - leak attribution and `tierpool check`, end to end.

  leaks_tests.py CASE --lib libtierpool.so --bin DIR --tierpool scripts/tierpool
                      --schema tierpool-stats.schema.json

Each CASE is one ctest test (leaks.CASE). The fixtures (leaky, leaky_cxx,
clean_cxx, ...) are in DIR; what each one leaks is listed at its top. Every
child process runs under a timeout.
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import tptest
from tpchecks import parse_prometheus, validate
from tptest import TIMEOUT, check, run

# What `leaky all` leaks: innermost function -> (blocks, bytes).
LEAKY_MAIN = {"leak_shallow": (3, 300), "leak_deep": (5, 240), "leak_big": (1, 3 << 20),
              "leak_calloc": (2, 600), "thread_leak": (8, 512), "dl_leak": (4, 288)}
LEAKY_CHILD = {"child_leak": (1, 500)}
LEAKY_CXX = {"Factory::make(int)": (3, 120), "make_buffer(unsigned int)": (2, 512),
             "worker(int)": (4, 96)}


def env(**tierpool):
    """The environment with exactly these TIERPOOL_ variables (no preload)."""
    return tptest.env(preload=False, **tierpool)


def prog(name):
    return os.path.join(tptest.args.bin, name)


def tp_check(tmp, cmd, *opts, e=None):
    """Runs `tierpool check OPTS -- CMD`; returns (status, report dict, stderr)."""
    rj = os.path.join(tmp, "report.%d.json" % len(glob.glob(os.path.join(tmp, "report.*"))))
    a = tptest.args
    r = run([a.tierpool, "check", "--lib", a.lib, "--report-json", rj] + list(opts) + ["--"] + cmd,
            e)
    rep = None
    if os.path.exists(rj):
        with open(rj) as f:
            rep = json.load(f)
    return r.returncode, rep, r.stderr


def raw_check(tmp, cmd, *opts):
    """tp_check failing on every block not freed (--fail-on=reachable). The
    cases below test attribution (which stack, how many blocks), not the
    reachability scan: a stale copy of a lost pointer in a register or a
    dead stack slot must not change their counts (check_tests.py and
    reach_tests.py test the kinds)."""
    return tp_check(tmp, cmd, "--fail-on=reachable", *opts)


def by_function(stacks):
    """innermost symbolized function -> (blocks, bytes), summed."""
    out = {}
    for st in stacks:
        fn = st["frames"][0]["symbol"] if st["frames"] else None
        b, n = out.get(fn, (0, 0))
        out[fn] = (b + st["blocks"], n + st["bytes"])
    return out


def procs_by_exe(rep):
    return {os.path.basename(p["exe"]): p for p in rep["processes"]}


def leaky_processes(rep):
    """(main process, forked child) of a `leaky` run: the child's pid is larger."""
    ps = sorted(rep["processes"], key=lambda p: p["pid"])
    check(len(ps) == 2, "want 2 processes (leaky and its child), got %d" % len(ps))
    return ps[0], ps[1]


def dumps_in(tmp):
    """Every JSON dump written in tmp, validated against the schema (strictly)."""
    with open(tptest.args.schema) as f:
        schema = json.load(f)
    out = []
    for path in sorted(glob.glob(os.path.join(tmp, "tp.*.json"))):
        with open(path) as f:
            for line in f:
                d = json.loads(line)
                validate(d, schema)
                out.append(d)
    return out


# ------------------------------------------------------------------ cases


def case_report_c(tmp):
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"])
    check(rc == 23, "leaky all: want exit status 23, got %d\n%s" % (rc, err))
    main, child = leaky_processes(rep)
    got = by_function(main["leaks"])
    check(got == LEAKY_MAIN, "main process leaks:\n got  %r\n want %r" % (got, LEAKY_MAIN))
    # Depth: the deep leak's frames, innermost first, each with file:line.
    deep = [st for st in main["leaks"] if st["frames"][0]["symbol"] == "leak_deep"][0]
    names = [f["symbol"] for f in deep["frames"][:5]]
    check(names == ["leak_deep", "deep_3", "deep_2", "deep_1", "main"], "leak_deep frames %r" % names)
    for f in deep["frames"][:5]:
        check(f["file"] and re.search(r"leaky\.c:\d+$", f["file"]), "no file:line: %r" % f)
        check(f["module"] == os.path.realpath(prog("leaky")), "module %r" % f["module"])
    big = [st for st in main["leaks"] if st["frames"][0]["symbol"] == "leak_big"][0]
    check(big["forwarded"] and big["tiers"] == [], "leak_big is forwarded: %r" % big)
    calloc = [st for st in main["leaks"] if st["frames"][0]["symbol"] == "leak_calloc"][0]
    check(calloc["tiers"] == [512], "calloc(3, 100) is in tier 512: %r" % calloc["tiers"])
    # The text report names them too, with function+offset (module+offset) file:line.
    check(re.search(r"#0 leak_shallow\+0x[0-9a-f]+ \(.*/leaky\+0x[0-9a-f]+\) .*leaky\.c:\d+", err),
          "text report frame format:\n" + err)
    check(re.search(r"^  (Direct leak of |Indirect leak of |Still reachable: )?300 bytes in 3 "
                    r"blocks \(tier 128\) allocated from:$", err, re.M),
          "text report stack head:\n" + err)
    check("FAILED: leaks in 2 of 2 processes" in err, "verdict:\n" + err)


def case_report_cxx(tmp):
    rc, rep, err = raw_check(tmp, [prog("leaky_cxx"), "all"])
    check(rc == 23, "leaky_cxx all: want exit status 23, got %d\n%s" % (rc, err))
    check(len(rep["processes"]) == 1, "one process")
    got = by_function(rep["processes"][0]["leaks"])
    check(got == LEAKY_CXX, "leaks:\n got  %r\n want %r" % (got, LEAKY_CXX))
    # The library's own report names the functions by their symbol (mangled).
    with tempfile.TemporaryDirectory() as t2:
        r = run([prog("leaky_cxx"), "all"], env(leaks="all", stats=t2 + "/tp.%p.json",
                                                format="json", leaks_top=0),
                )
        r = run([prog("leaky_cxx"), "all"], dict(env(leaks="all", stats=t2 + "/tp.%p.json",
                                                     format="json", leaks_top=0),
                                                 LD_PRELOAD=tptest.args.lib))
        check(r.returncode == 0, "leaky_cxx failed")
        d = dumps_in(t2)[-1]
        fns = set(st["frames"][0]["function"] for st in d["leaks"]["stacks"] if st["frames"])
        check({"_ZN7Factory4makeEi", "_Z11make_bufferj", "_Z6workeri"} <= fns, "symbols %r" % fns)


def case_threads(tmp):
    e = dict(env(leaks="all", stats=tmp + "/tp.%p.json", format="json", leaks_top=0),
             LD_PRELOAD=tptest.args.lib)
    r = run([prog("leaky"), "all"], e)
    check(r.returncode == 0, "leaky failed: %s" % r.stderr)
    main = min(dumps_in(tmp), key=lambda d: d["pid"])
    check(main["threads_exited"] >= 4, "threads exited %d" % main["threads_exited"])
    st = [s for s in main["leaks"]["stacks"] if s["frames"] and s["frames"][0]["function"] == "thread_leak"]
    check(len(st) == 1, "one stack for the 4 threads: %r" % st)
    st = st[0]
    check((st["blocks"], st["bytes"], st["samples"], st["tiers"]) == (8, 512, 8, [64]),
          "thread_leak %r" % {k: st[k] for k in ("blocks", "bytes", "samples", "tiers")})
    check(any(f["function"] == "start_thread" or "libc.so" in (f["module"] or "")
              for f in st["frames"][1:3]), "thread frames %r" % st["frames"][:3])
    # The strdup'd, freed strings of the threads do not show.
    check(not any(s["frames"] and s["frames"][0]["function"] in ("__strdup", "strdup")
                  for s in main["leaks"]["stacks"]), "freed strdup reported")


def case_dlopen(tmp):
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"])
    main, _ = leaky_processes(rep)
    st = [s for s in main["leaks"] if s["frames"][0]["symbol"] == "dl_leak"]
    check(len(st) == 1, "dl_leak stack: %r" % by_function(main["leaks"]))
    f0 = st[0]["frames"][0]
    check(f0["module"] == os.path.realpath(prog("libleakdl.so")), "module %r" % f0["module"])
    check(f0["file"] and re.search(r"leakdl\.c:\d+$", f0["file"]), "file %r" % f0["file"])
    check(f0["function"] == "dl_leak", "in-process name %r" % f0["function"])
    check(st[0]["frames"][1]["symbol"] == "dl", "caller %r" % st[0]["frames"][1])
    check(re.search(r"#0 dl_leak\+0x[0-9a-f]+ \(.*/libleakdl\.so\+0x", err), "text:\n" + err)
    # Loaded by a relative path ("./libleakdl.so") from another directory:
    # still named by its absolute path, with its symbols.
    r = subprocess.run([tptest.args.tierpool, "check", "--lib", tptest.args.lib, "--report-json",
                        tmp + "/rel.json", "--fail-on=reachable", "--", "./leaky", "all"], env=env(), cwd=tptest.args.bin,
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 23, "relative dlopen run: %d\n%s" % (r.returncode, r.stderr))
    with open(tmp + "/rel.json") as f:
        main, _ = leaky_processes(json.load(f))
    f0 = [s for s in main["leaks"] if s["frames"][0]["symbol"] == "dl_leak"][0]["frames"][0]
    check(f0["module"] == os.path.realpath(prog("libleakdl.so")) and f0["function"] == "dl_leak",
          "relative dlopen: %r" % f0)


def case_fork(tmp):
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"])
    check(rc == 23, "status %d" % rc)
    main, child = leaky_processes(rep)
    got = by_function(child["leaks"])
    check(got == LEAKY_CHILD, "child leaks:\n got  %r\n want %r" % (got, LEAKY_CHILD))
    check("child_leak" not in by_function(main["leaks"]), "the parent reports the child's leak")
    # A child that leaks fails the check on its own.
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"], "--suppressions",
                            write(tmp, "s", "leak:^main$\n"))
    check(rc == 23 and len([p for p in rep["processes"] if p["leaks"]]) == 1,
          "only the child leaks (main's stacks suppressed): status %d\n%s" % (rc, err))


def case_clean_c(tmp):
    rc, rep, err = raw_check(tmp, [prog("leaky"), "clean"])
    check(rc == 0, "leaky clean: want 0, got %d\n%s" % (rc, err))
    check(len(rep["processes"]) == 2 and not any(p["leaks"] for p in rep["processes"]),
          "processes %r" % rep["processes"])
    check("passed: no leaks in 2 processes" in err, err)


def case_clean_cxx(tmp):
    for cmd in ([prog("clean_cxx")], [prog("leaky_cxx"), "clean"]):
        rc, rep, err = raw_check(tmp, cmd)
        check(rc == 0, "%s: want 0, got %d\n%s" % (cmd, rc, err))
        check(rep["suppressed"], "the built-in suppressions did their part: %r" % rep)


def case_exit_codes(tmp):
    # A failing command's leaks are checked (LeakSanitizer's rule): they win.
    rc, _, err = raw_check(tmp, [prog("leaky"), "fail", "3"])
    check(rc == 23, "a failing command that leaks: got %d" % rc)
    check("exit status 3" in err, err)
    rc, _, _ = raw_check(tmp, ["/bin/sh", "-c", "kill -TERM $$"])
    check(rc == 128 + 15, "killed by SIGTERM: got %d" % rc)
    # Killed, but its forked child reported a leak: the leak wins.
    rc, _, _ = raw_check(tmp, [prog("leaky"), "signal"])
    check(rc == 23, "killed by SIGTERM, its child leaked: got %d" % rc)
    rc, _, _ = raw_check(tmp, [prog("leaky"), "all"], "--exitcode", "7")
    check(rc == 7, "--exitcode 7: got %d" % rc)
    rc, _, _ = raw_check(tmp, [prog("leaky"), "all"])
    check(rc == 23, "default: got %d" % rc)
    rc, _, _ = raw_check(tmp, [os.path.join(tmp, "no-such-program")])
    check(rc == 127, "missing program: got %d" % rc)
    rc, _, _ = raw_check(tmp, [prog("leaky"), "clean"])
    check(rc == 0, "clean: got %d" % rc)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def case_suppressions(tmp):
    supp = write(tmp, "leaks.supp", """# Known leaks (LeakSanitizer format)
leak:leak_shallow

# a frame in the middle of the stack
leak:^deep_2$
# a module
leak:libleakdl.so
# other sanitizers' kinds are ignored
called_from_lib:libfoo.so
""")
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"], "--suppressions", supp)
    check(rc == 23, "status %d" % rc)
    main, _ = leaky_processes(rep)
    want = {k: v for k, v in LEAKY_MAIN.items() if k not in ("leak_shallow", "leak_deep", "dl_leak")}
    got = by_function(main["leaks"])
    check(got == want, "after suppressions:\n got  %r\n want %r" % (got, want))
    s = rep["suppressed"]
    check(s.get("leak_shallow") == {"stacks": 1, "blocks": 3, "bytes": 300}, "summary %r" % s)
    check(s.get("^deep_2$") == {"stacks": 1, "blocks": 5, "bytes": 240}, "summary %r" % s)
    check(s.get("libleakdl.so") == {"stacks": 1, "blocks": 4, "bytes": 288}, "summary %r" % s)
    check(re.search(r"^  leak:leak_shallow +1 stack, 3 blocks, 300 bytes \(suppressions\)$", err,
                    re.M), "summary text:\n" + err)
    check(re.search(r"^  leak:_IO_file_doallocate .*built-in", err, re.M), "built-ins listed:\n" + err)
    # A file name (from the debug info), and a second file: everything goes.
    supp2 = write(tmp, "more.supp", "leak:tests/leaks/leaky.c\n")
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"], "--suppressions", supp,
                            "--suppressions", supp2)
    check(rc == 0, "everything suppressed: status %d\n%s" % (rc, err))
    # A stack goes to the first pattern that matches, frame by frame from the
    # innermost (as in LeakSanitizer): leak_deep's own frame is in leaky.c.
    check(rep["suppressed"]["tests/leaks/leaky.c"] == {"stacks": 5, "blocks": 17,
                                                       "bytes": (3 << 20) + 1852},
          "by file: %r" % rep["suppressed"])
    # Wildcards and anchors.
    supp3 = write(tmp, "wild.supp", "leak:^leak_*$\nleak:*_leak$\n")
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"], "--suppressions", supp3)
    check(rc == 0, "wildcards: status %d\n%s" % (rc, err))
    # A malformed line is an error, not a silent pass.
    bad = write(tmp, "bad.supp", "leak_shallow\n")
    rc, _, err = raw_check(tmp, [prog("leaky"), "all"], "--suppressions", bad)
    check(rc not in (0, 23) and "expected 'leak:PATTERN'" in err, "malformed: %d %s" % (rc, err))


def case_baseline(tmp):
    base = os.path.join(tmp, "baseline.txt")
    rc, rep, err = raw_check(tmp, [prog("leaky"), "all"], "--baseline", base, "--update-baseline")
    check(rc == 0, "--update-baseline passes: %d\n%s" % (rc, err))
    lines = [l for l in open(base).read().splitlines() if l and not l.startswith("#")]
    check(len(lines) == 7, "7 stacks in the baseline: %r" % lines)
    check(all("0x" not in l for l in lines), "signatures carry no addresses: %r" % lines)
    check(any(l.startswith("leak_deep | deep_3 | deep_2 | deep_1 | main") for l in lines), lines)
    # The same leaks from code at other addresses: still in the baseline.
    rc, rep, err = raw_check(tmp, [prog("leaky_moved"), "all"], "--baseline", base)
    check(rc == 0, "baseline run: %d\n%s" % (rc, err))
    check(rep["baseline"] == {"stacks": 7, "blocks": 24, "bytes": (3 << 20) + 2440}, "%r" % rep["baseline"])
    # A new leak fails, and only it is reported.
    rc, rep, err = raw_check(tmp, [prog("leaky"), "extra"], "--baseline", base)
    check(rc == 23, "new leak: %d" % rc)
    main, child = leaky_processes(rep)
    check(by_function(main["leaks"]) == {"extra_leak": (1, 1000)} and not child["leaks"],
          "only the new leak: %r" % by_function(main["leaks"]))
    # A missing baseline file is an empty one.
    rc, _, _ = raw_check(tmp, [prog("leaky"), "all"], "--baseline", base + ".none")
    check(rc == 23, "no baseline file: %d" % rc)


def case_sample(tmp):
    n = 20000
    e = dict(env(leaks="sample", leaks_sample=4096, stats=tmp + "/tp.%p.json", format="json",
                 leaks_top=0), LD_PRELOAD=tptest.args.lib)
    r = run([prog("leaky"), "sample", str(n)], e)
    check(r.returncode == 0, "leaky sample failed: %s" % r.stderr)
    d = dumps_in(tmp)[-1]
    lk = d["leaks"]
    check(lk["mode"] == "sample" and lk["estimated"] and lk["sample_interval"] == 4096, "%r" % lk)
    st = [s for s in lk["stacks"] if s["frames"] and s["frames"][0]["function"] == "main"]
    check(len(st) == 1, "one sampled stack from main: %r" % lk["stacks"])
    st = st[0]
    # n blocks of 100 bytes, 2 MB: about 490 samples; within 20% is more than 4 sigma.
    check(abs(st["bytes"] - 100 * n) < 0.2 * 100 * n, "estimated bytes %d for %d" % (st["bytes"], 100 * n))
    check(abs(st["blocks"] - n) < 0.2 * n, "estimated blocks %d for %d" % (st["blocks"], n))
    check(200 < st["samples"] < 1000 and st["samples"] < st["blocks"], "samples %d" % st["samples"])
    # The sampled blocks (served outside the pools so that their frees
    # reach the hook) still count in their tier: the stats are those of a
    # run without the sampler, and nothing of leaky's went to mimalloc.
    t128 = [t for t in d["tiers"] if t["size"] == 128][0]
    check(t128["get"] >= n and t128["live"] >= n, "tier 128 get %d live %d" % (t128["get"], t128["live"]))
    check(d["discarded"] < 50, "discarded %d" % d["discarded"])
    # Sampled blocks have memory of their own, and tierpool's unwinder
    # follows leaky's stacks: sample mode loads neither mimalloc nor
    # libunwind (fixed costs for every process) where the pools serve all.
    r = run([prog("leaky"), "sample", "2000"], dict(e, LD_DEBUG="files"))
    check(r.returncode == 0 and "calling init" in r.stderr,
          "leaky sample failed: %s" % r.stderr[-2000:])
    loaded = [l for l in r.stderr.splitlines() if "libmimalloc" in l or "libunwind" in l]
    check(not loaded, "sample mode loaded: %s" % loaded[:3])
    # Freed work cancels exactly: nothing of leaky's own in a clean run.
    for f in glob.glob(tmp + "/tp.*"):
        os.unlink(f)
    e["TIERPOOL_LEAKS_SAMPLE"] = "64"
    r = run([prog("leaky"), "clean"], e)
    check(r.returncode == 0, "leaky clean failed")
    for d in dumps_in(tmp):
        mine = [s for s in d["leaks"]["stacks"]
                if any((f["module"] or "").endswith(("/leaky", "libleakdl.so")) for f in s["frames"][:1])]
        check(not mine, "sampled clean run reports %r" % mine)
    # The text report says the figures are estimates.
    r = run([prog("leaky"), "sample", "2000"], dict(env(leaks="sample", leaks_sample=1024),
                                                    LD_PRELOAD=tptest.args.lib))
    check("leaks (sampled: estimates):" in r.stderr and " samples, " in r.stderr, r.stderr)


def case_sample_many(tmp):
    """More live sampled blocks than the forwarded table has slots (2^20):
    every get of `leaky sample` sampled, 1,100,000 blocks of 100 bytes
    leaked. Each is sampled (a state word in the sampler's memory, no entry
    in a table that could fill), so the estimate is the count; the exit
    scan's snapshot holds them all and finds them leaked."""
    n = 1100000
    e = dict(env(leaks="sample", leaks_sample=1, stats=tmp + "/tp.%p.json", format="json",
                 leaks_top=0), LD_PRELOAD=tptest.args.lib)
    r = run([prog("leaky"), "sample", str(n)], e)
    check(r.returncode == 0, "leaky sample %d failed (%d): %s" % (n, r.returncode, r.stderr[-2000:]))
    lk = dumps_in(tmp)[-1]["leaks"]
    st = [s for s in lk["stacks"] if s["frames"] and s["frames"][0]["function"] == "main"]
    check(len(st) == 1, "one stack from main: %r" % [s["frames"][:1] for s in lk["stacks"]])
    check(st[0]["samples"] == n and abs(st[0]["blocks"] - n) < n // 1000,
          "samples %d, blocks %d, want %d" % (st[0]["samples"], st[0]["blocks"], n))
    check(st[0].get("kind") == "direct", "kind %r" % st[0].get("kind"))


def path_stacks(tmp, d, e):
    """leaky's 2^d paths, each taken twice, under environment e: the
    path_leak stacks of the last dump, checked to be 2^d distinct ones."""
    r = run([prog("leaky"), "paths", str(d)], e)
    check(r.returncode == 0, "leaky paths failed: %s" % r.stderr)
    lk = dumps_in(tmp)[-1]["leaks"]
    st = [s for s in lk["stacks"] if s["frames"] and s["frames"][0]["function"] == "path_leak"]
    check(len(st) == 1 << d, "%d path_leak stacks, want %d" % (len(st), 1 << d))
    check(len({tuple((f["module"], f["offset"]) for f in s["frames"]) for s in st}) == 1 << d,
          "duplicate stacks")
    return st


def case_sample_paths(tmp):
    """Every get sampled, from 2^13 stacks: more than sample mode's small
    part of the stack index holds, so stacks go to its large part too. None
    may be lost or split, whichever part holds it: 2 samples each."""
    e = dict(env(leaks="sample", leaks_sample=1, stats=tmp + "/tp.%p.json", format="json",
                 leaks_top=0), LD_PRELOAD=tptest.args.lib)
    bad = [s["samples"] for s in path_stacks(tmp, 13, e) if s["samples"] != 2]
    check(not bad, "stacks with other than 2 samples: %r" % bad[:10])


def case_all_paths(tmp):
    """Exact mode walks each stack from where the thread's last one parts
    from it (stats/leak_unwind.c's memo), and takes a stack that is the last
    one again without looking it up: 2^10 paths down two call sites, each
    taken twice, must come out as 2^10 stacks of 2 blocks; 3,000 gets from
    one site in a row as one stack of 3,000."""
    e = dict(env(leaks="all", stats=tmp + "/tp.%p.json", format="json", leaks_top=0),
             LD_PRELOAD=tptest.args.lib)
    bad = [s["blocks"] for s in path_stacks(tmp, 10, e) if s["blocks"] != 2]
    check(not bad, "stacks with other than 2 blocks: %r" % bad[:10])
    for f in glob.glob(tmp + "/tp.*"):
        os.unlink(f)
    r = run([prog("leaky"), "sample", "3000"], e)
    check(r.returncode == 0, "leaky sample failed: %s" % r.stderr)
    lk = dumps_in(tmp)[-1]["leaks"]
    st = [s for s in lk["stacks"] if any(f["function"] == "main" for f in s["frames"][:3])
          and s["bytes"] == 100 * s["blocks"]]
    check([s["blocks"] for s in st] == [3000], "stacks of main's gets: %r" %
          [(s["blocks"], [f["function"] for f in s["frames"]]) for s in st])


def case_own_loads(tmp):
    """The blocks the loader allocates for tierpool's own dlopen of mimalloc
    (at start with TIERPOOL_MAX_TIER below 1M or in sample mode, else at
    the first request that needs it) are tierpool's: no stack of a report
    may pass through libtierpool, in exact mode or with every get sampled."""
    lib = os.path.realpath(tptest.args.lib)
    for mode in ({"leaks": "all"}, {"leaks": "sample", "leaks_sample": 1}):
        for f in glob.glob(tmp + "/tp.*"):
            os.unlink(f)
        e = dict(env(max_tier="64K", stats=tmp + "/tp.%p.json", format="json", leaks_top=0,
                     **mode), LD_PRELOAD=tptest.args.lib)
        r = run([prog("leaky"), "clean"], e)
        check(r.returncode == 0, "leaky clean failed: %s" % r.stderr)
        ours = [[f.get("function") for f in s["frames"]] for d in dumps_in(tmp)
                for s in d["leaks"]["stacks"]
                if any(os.path.realpath(f.get("module") or "/") == lib for f in s["frames"])]
        check(not ours, "%s: stacks through libtierpool: %r" % (mode["leaks"], ours[:3]))


def case_api(tmp):
    r = run([prog("leaks_api_prog")], env(leaks="all", at_exit=0))
    check(r.returncode == 0, "api prog failed: %s" % r.stderr)
    lines = r.stdout.splitlines()
    check(lines[0] == "clean rc=0 0 0 0 0", "clean phase: %r" % lines)
    check(lines[1] == "leaks rc=0 7 231 1 0", "leaks phase: %r" % lines)
    check(lines[2] == "after rc=0 0 0 0 0", "after phase: %r" % lines)
    check(lines[3].startswith("since_first rc=0 "), "since_first: %r" % lines)
    check(re.search(r"231 bytes in 7 blocks \(tier 64\) allocated from:\n    #0 case_leaks\+", r.stderr),
          "the report of the period:\n" + r.stderr)
    r = run([prog("leaks_api_prog")], env())
    check(r.stdout == "off\n", "without TIERPOOL_LEAKS: %r" % r.stdout)


def case_criterion(tmp):
    r = run([prog("leaks_criterion"), "--jobs", "1"], env(leaks="all", at_exit=0))
    out = r.stdout + r.stderr
    check("Tested: 2 | Passing: 1 | Failing: 1" in out, out)
    check(re.search(r"\[FAIL\] parser::forgets_a_buffer", out), out)
    check("1 blocks (64 bytes) allocated by the test are not freed" in out, out)
    check(re.search(r"#0 parser_forgets_a_buffer_body\+", out), out)


def case_show(tmp):
    """`tierpool show` renders a dump's leaks as the library writes them."""
    base = dict(env(leaks="all", leaks_top=1), LD_PRELOAD=tptest.args.lib)
    r = run([prog("leaky"), "sample", "5"], dict(base, TIERPOOL_STATS="stderr"))
    text = r.stderr
    r = run([prog("leaky"), "sample", "5"], dict(base, TIERPOOL_STATS=tmp + "/tp.%p.json",
                                                 TIERPOOL_FORMAT="json"))
    d = dumps_in(tmp)[-1]
    r = run([tptest.args.tierpool, "show", glob.glob(tmp + "/tp.*.json")[0]])
    check(r.returncode == 0, r.stderr)

    def section(t):
        lines = t.splitlines()
        start = [i for i, l in enumerate(lines) if l.startswith("leaks")][0]
        return lines[start:]

    check(section(r.stdout) == section(text),
          "show differs from the library:\n%s\n---\n%s" % ("\n".join(section(r.stdout)),
                                                           "\n".join(section(text))))
    check(d["leaks"]["stacks"][0]["bytes"] == 500, "%r" % d["leaks"]["stacks"][0])


def case_signal_dump(tmp):
    e = dict(env(leaks="all", stats=tmp + "/tp.%p.json", format="json", signal="USR1"),
             LD_PRELOAD=tptest.args.lib)
    r = run([prog("leaky"), "signal_dump"], e)
    check(r.returncode == 0, "leaky signal_dump failed: %s" % r.stderr)
    ds = dumps_in(tmp)
    main = min(d["pid"] for d in ds)
    reasons = [d["reason"] for d in ds if d["pid"] == main]
    check(reasons == ["signal", "exit"], "dumps %r" % reasons)
    for d in ds:
        check("leaks" in d, "no leaks in a %s dump" % d["reason"])
    sig = [d for d in ds if d["reason"] == "signal"][0]
    fns = set(s["frames"][0]["function"] for s in sig["leaks"]["stacks"] if s["frames"])
    check({"leak_shallow", "leak_deep"} <= fns, "signal dump names %r" % fns)


def case_prometheus(tmp):
    """The leak gauges in a Prometheus dump, which must stay strictly valid."""
    e = tptest.env(leaks="all", stats=tmp + "/tp.prom", format="prometheus")
    r = run([prog("leaky"), "sample", "9"], e)
    check(r.returncode == 0, "leaky failed: %s" % r.stderr)
    with open(tmp + "/tp.prom") as f:
        fams = parse_prometheus(f.read())
    for name in ("tierpool_leak_stacks", "tierpool_leak_blocks", "tierpool_leak_bytes"):
        check(fams[name]["type"] == "gauge", "%s is not a gauge" % name)
    check(fams["tierpool_leak_blocks"]["samples"][0][2] >= 9, "%r" % fams["tierpool_leak_blocks"])
    check(fams["tierpool_leak_bytes"]["samples"][0][2] >= 900, "%r" % fams["tierpool_leak_bytes"])


def add_args(p):
    """The options of the leak drivers (this one, check_tests, realprog_tests)."""
    p.add_argument("--bin", required=True, help="the directory of the fixtures")
    p.add_argument("--tierpool", required=True, help="scripts/tierpool")
    p.add_argument("--schema", required=True, help="tierpool-stats.schema.json")


if __name__ == "__main__":
    sys.exit(tptest.main("leaks", globals(), add_args))
