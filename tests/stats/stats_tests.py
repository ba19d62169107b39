#!/usr/bin/python3
"""stats_tests.py - the preloaded checks of the dumps and of scripts/tierpool.

  stats_tests.py CASE --lib libtierpool.so --prog tp_prog --fixture render_fixture
                      --tierpool scripts/tierpool --schema tierpool-stats.schema.json

Each CASE is one ctest test (stats.CASE). Every child process runs under a
timeout, so a deadlock fails the test instead of hanging it.
"""

import glob
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import tptest
from tpchecks import SchemaError, parse_prometheus, validate
from tptest import TIMEOUT, check, env, fail, run

A = None  # the parsed arguments (tptest.main)


def schema():
    with open(A.schema) as f:
        return json.load(f)


def dumps_of(path):
    """Every JSON line of a dump file, each validated against the schema."""
    with open(path) as f:
        text = f.read()
    check(text.endswith("\n"), "%s does not end with a newline" % path)
    out = []
    s = schema()
    for no, line in enumerate(text.splitlines(), 1):
        try:
            d = json.loads(line)
        except json.JSONDecodeError as err:
            fail("%s:%d is not JSON (%s): %r" % (path, no, err, line[:200]))
        try:
            validate(d, s)
        except SchemaError as err:
            fail("%s:%d does not match the schema: %s" % (path, no, err))
        check_sums(d, "%s:%d" % (path, no))
        out.append(d)
    return out


def check_sums(d, where):
    check(d["total_get"] == sum(t["get"] for t in d["tiers"]), where + ": total_get != sum of gets")
    check(d["total_put"] == sum(t["put"] for t in d["tiers"]), where + ": total_put != sum of puts")
    for t in d["tiers"]:
        check(t["live"] == t["get"] - t["put"], where + ": live != get - put in %d" % t["size"])
    check(d["discarded"] == sum(r["count"] for r in d["discarded_by_reason"].values()),
          where + ": discarded != sum of the reasons")


def tier(d, size):
    for t in d["tiers"]:
        if t["size"] == size:
            return t
    fail("no tier of %d bytes in the dump" % size)


def check_pattern(d, where):
    t128, t4k = tier(d, 128), tier(d, 4096)
    check(t128["get"] >= 1000 and t128["put"] >= 500,
          "%s: tier 128 has get %d put %d, want >= 1000/500" % (where, t128["get"], t128["put"]))
    check(t128["live"] >= 500, "%s: tier 128 live %d < 500" % (where, t128["live"]))
    check(t4k["get"] >= 10, "%s: tier 4096 has get %d < 10" % (where, t4k["get"]))
    check(t128["bytes_requested"] >= 100000, "%s: tier 128 requested too few bytes" % where)


# ---------------------------------------------------------------- cases


def case_pattern(tmp):
    r = run([A.prog, "pattern"], env(stats=tmp + "/tp.%p.json", format="json"))
    check(r.returncode == 0, "tp_prog failed: %s" % r.stderr)
    files = glob.glob(tmp + "/tp.*.json")
    check(len(files) == 1, "want one dump file, got %s" % files)
    (d,) = dumps_of(files[0])
    check(files[0].endswith("/tp.%d.json" % d["pid"]), "%%p is not the dump's pid: %s" % files[0])
    check(d["reason"] == "exit", "reason %r" % d["reason"])
    check(d["exe"] == os.path.realpath(A.prog), "exe %r" % d["exe"])
    check(d["config"]["format"] == "json" and d["config"]["stats"] == tmp + "/tp.%p.json",
          "config %r" % d["config"])
    check(3000 in d["recent_lengths"], "recent_lengths lack the 3000 B requests")
    check(len(d["recent_lengths"]) <= 256, "more recent lengths than TIERPOOL_RING")
    check(stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600, "dump file mode is not 0600")
    check_pattern(d, files[0])


def case_text(tmp):
    r = run([A.prog, "pattern"], env(stats="stderr", format="text"))
    check(r.returncode == 0, "tp_prog failed")
    lines = r.stderr.splitlines()
    check(re.match(r"tierpool exit dump: pid \d+ \(%s\) at \d{4}-" % re.escape(os.path.realpath(A.prog)),
                   lines[0]),
          "header: %r" % lines[0])
    check(lines[1].startswith("command ") and "pattern" in lines[1], "command: %r" % lines[1])
    check(lines[2] == "directory         " + os.getcwd(), "directory: %r" % lines[2])
    check(lines[3].split() == ["tier", "get", "put", "live", "peak", "requested", "cached",
                               "central", "committed", "fill"], "columns: %r" % lines[3])
    end = next(i for i, l in enumerate(lines) if l.split()[:1] == ["total"])
    table = lines[3:end + 1]
    rows = {l.split()[0]: l.split() for l in table[1:]}
    check("128" in rows and int(rows["128"][1]) >= 1000 and int(rows["128"][2]) >= 500,
          "row 128: %r" % rows.get("128"))
    check("4K" in rows and int(rows["4K"][1]) >= 10, "row 4K: %r" % rows.get("4K"))
    widths = {len(l) for l in table}
    check(len(widths) == 1, "table rows are not aligned: %s" % widths)
    check(lines[-1].startswith("UNBALANCED: ") and "128" in lines[-1] and "4K" in lines[-1],
          "verdict: %r" % lines[-1])


def case_parity(tmp):
    out = {}
    for f in ("text", "json", "prometheus"):
        r = subprocess.run([A.fixture, f], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, "render_fixture %s failed" % f)
        out[f] = r.stdout
    path = tmp + "/fixture.json"
    with open(path, "w") as fh:
        fh.write(out["json"])
    dumps_of(path)
    parse_prometheus(out["prometheus"])
    r = subprocess.run([A.tierpool, "show", path], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0, "tierpool show failed: %s" % r.stderr)
    check(r.stdout == out["text"], "tierpool show differs from the library's text:\n%s\n---\n%s"
          % (r.stdout, out["text"]))


def case_prometheus(tmp):
    r = run([A.prog, "pattern"], env(stats=tmp + "/tp.%p.prom", format="prometheus"))
    check(r.returncode == 0, "tp_prog failed")
    files = glob.glob(tmp + "/*")
    check(len(files) == 1 and files[0].endswith(".prom"), "want one .prom file, no temporary: %s" % files)
    with open(files[0]) as fh:
        fams = parse_prometheus(fh.read())
    gets = {s[1]["tier"]: s[2] for s in fams["tierpool_get_total"]["samples"]}
    check(gets["128"] >= 1000 and gets["4096"] >= 10, "get samples %r" % gets)
    check(fams["tierpool_get_total"]["type"] == "counter", "get_total is not a counter")
    check(fams["tierpool_live_blocks"]["type"] == "gauge", "live_blocks is not a gauge")
    info = fams["tierpool_info"]["samples"][0][1]
    check(info["reason"] == "exit" and info["exe"] == os.path.realpath(A.prog), "info %r" % info)
    r = run([A.prog, "pattern"], env(stats="stderr", format="prometheus"))
    parse_prometheus(r.stderr)


def wait_lines(path, n, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as fh:
                if fh.read().count(b"\n") >= n:
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return False


def case_signal_storm(tmp):
    out = tmp + "/storm.json"
    p = subprocess.Popen([A.prog, "storm"], env=env(stats=out, format="json", signal="USR2"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        check(p.stdout.readline().strip() == "ready", "the storm did not start")
        deadline = time.monotonic() + 120
        for i in range(200):
            p.send_signal(signal.SIGUSR2)
            # one dump per signal: wait for it before the next (signals of
            # one kind do not queue)
            check(wait_lines(out, i + 1, deadline), "dump %d never came: deadlock?" % (i + 1))
        p.stdin.close()
        rc = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(rc == 0, "storm exited with %d: %s" % (rc, p.stderr.read()))
    ds = dumps_of(out)
    reasons = [d["reason"] for d in ds]
    check(reasons.count("signal") == 200 and reasons[-1] == "exit",
          "want 200 signal dumps then the exit dump, got %d lines" % len(ds))
    gets = [d["total_get"] for d in ds]
    check(gets == sorted(gets), "total_get went backwards between dumps")
    check(ds[-1]["threads_started"] >= 3, "threads_started %d" % ds[-1]["threads_started"])


def case_signal_term(tmp):
    """TIERPOOL_SIGNAL=TERM on a program that left TERM at its default: the
    process dumps, then dies of the signal as it would have."""
    out = tmp + "/term.json"
    p = subprocess.Popen([A.prog, "sleep", "20000"], env=env(stats=out, format="json", signal="TERM"),
                         stdout=subprocess.PIPE, text=True)
    try:
        int(p.stdout.readline())  # the pattern is done
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(rc == -signal.SIGTERM, "want death by SIGTERM, got status %d" % rc)
    ds = dumps_of(out)
    check([d["reason"] for d in ds] == ["signal"], "want one signal dump: %r" % ds)
    check_pattern(ds[0], out)


def case_interval(tmp):
    out = tmp + "/iv.%p.json"
    r = run([A.prog, "sleep", "2600"], env(stats=out, format="json", interval=1))
    check(r.returncode == 0, "tp_prog failed")
    (path,) = glob.glob(tmp + "/iv.*.json")
    ds = dumps_of(path)
    reasons = [d["reason"] for d in ds]
    check(reasons.count("interval") >= 2 and reasons[-1] == "exit" and len(reasons) <= 4,
          "reasons %r" % reasons)
    gets = [d["total_get"] for d in ds]
    check(gets == sorted(gets) and gets[-1] > gets[0], "total_get did not grow: %r" % gets)
    check_pattern(ds[-1], path)


def case_fork(tmp):
    r = run([A.prog, "fork", "3"], env(stats=tmp + "/tp.%p.json", format="json"))
    check(r.returncode == 0, "tp_prog fork failed: %s" % r.stderr)
    children = [int(x) for x in r.stdout.split()]
    files = sorted(glob.glob(tmp + "/tp.*.json"))
    check(len(files) == 4, "want 4 files (parent + 3 children), got %s" % files)
    pids = set()
    for path in files:
        ds = dumps_of(path)
        check(len(ds) == 1, "%s: want one dump, got %d" % (path, len(ds)))
        d = ds[0]
        check(path.endswith("/tp.%d.json" % d["pid"]), "%s holds pid %d" % (path, d["pid"]))
        pids.add(d["pid"])
    check(set(children) <= pids and len(pids) == 4, "pids %s, children %s" % (pids, children))


def case_bad_value(tmp):
    r = run([A.prog, "pattern"], env(stats="stderr", format="xml", signal="NOPE"))
    check(r.returncode == 0, "tp_prog failed")
    fmt = [l for l in r.stderr.splitlines() if "TIERPOOL_FORMAT" in l]
    sig = [l for l in r.stderr.splitlines() if "TIERPOOL_SIGNAL" in l]
    check(len(fmt) == 1 and "xml" in fmt[0], "TIERPOOL_FORMAT warnings: %r" % fmt)
    check(len(sig) == 1, "TIERPOOL_SIGNAL warnings: %r" % sig)
    check("tierpool exit dump: pid" in r.stderr, "the default (text) dump is missing")
    check('"total_get"' not in r.stderr, "not the default format")


def case_symlink(tmp):
    target = tmp + "/target"
    link = tmp + "/link.json"
    os.symlink(target, link)
    r = run([A.prog, "api"], env(stats=link, format="json"))  # three dumps tried
    check(not os.path.exists(target), "the dump followed the symbolic link")
    warns = [l for l in r.stderr.splitlines() if "symbolic link" in l]
    check(len(warns) == 1, "want one warning, got %r" % r.stderr)
    check(os.path.islink(link), "the link was replaced")


def case_api(tmp):
    out = tmp + "/api.json"
    with open(out, "w") as fh:
        fh.write("stale content of an earlier run\n")
    os.chmod(out, 0o600)
    r = run([A.prog, "api"], env(stats=out, format="json"))
    check(r.returncode == 0, "tp_prog api failed: %s" % r.stderr)
    reasons = [d["reason"] for d in dumps_of(out)]
    check(reasons == ["api", "api", "exit"], "reasons %r" % reasons)


def case_live(tmp):
    p = subprocess.Popen([A.prog, "sleep", "3500"], env=env(live=1), stdout=subprocess.PIPE,
                         text=True)
    try:
        pid = int(p.stdout.readline())
        path = "/dev/shm/tierpool.%d" % pid
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)
        check(os.path.exists(path), "no live file %s" % path)
        check(stat.S_IMODE(os.lstat(path).st_mode) == 0o600, "live file mode is not 0600")
        r = subprocess.run([A.tierpool, "top", str(pid), "--count", "2", "--delay", "1"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, "tierpool top failed: %s" % r.stderr)
        frames = r.stdout.split("tierpool top: pid %d" % pid)
        check(len(frames) == 3, "want two refreshes: %r" % r.stdout)
        row = [l.split() for l in frames[2].splitlines() if l.split()[:1] == ["256"]]
        check(row and int(row[0][1]) > 0, "no get rate for tier 256 in %r" % frames[2])
        row128 = [l.split() for l in frames[2].splitlines() if l.split()[:1] == ["128"]]
        check(row128 and int(row128[0][3]) >= 500 and int(row128[0][5]) >= 500,
              "tier 128 live and peak in %r" % frames[2])
        rc = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(rc == 0, "tp_prog sleep failed")
    check(not os.path.exists(path), "the live file outlived the process")


def case_cli(tmp):
    tp = A.tierpool
    for sub in ([], ["run"], ["show"], ["diff"], ["top"]):
        r = subprocess.run([tp] + sub + ["--help"], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0 and "usage" in r.stdout, "--help of %s" % sub)
    base = env(preload=False)
    # (a program that ends with exit(), unlike dash's _exit, so the exit dump is written)
    r = subprocess.run([tp, "run", "--lib", A.lib, "--", sys.executable, "-c",
                        "import sys; sys.exit(3)"], env=base,
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 3, "run did not pass the exit status on: %d" % r.returncode)
    check("tierpool exit dump" in r.stderr, "run without --stats: no dump on stderr")
    r = subprocess.run([tp, "run", "--lib", A.lib, "--", tmp + "/no-such-program"], env=base,
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 127, "missing command: status %d" % r.returncode)
    a, b = tmp + "/a.json", tmp + "/b.json"
    for path, mode in ((a, "pattern"), (b, "api")):
        r = subprocess.run([tp, "run", "--lib", A.lib, "--stats", path, "--format", "json", "--",
                            A.prog, mode], env=base, capture_output=True, text=True,
                           timeout=TIMEOUT)
        check(r.returncode == 0, "run %s failed: %s" % (mode, r.stderr))
    r = subprocess.run([tp, "show", a], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0 and "UNBALANCED" in r.stdout, "show: %s" % r.stdout)
    r = subprocess.run([tp, "show", "--all", b], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.stdout.count("tierpool api dump") == 2 and "tierpool exit dump" in r.stdout,
          "show --all: %s" % r.stdout)
    r = subprocess.run([tp, "diff", a, b], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0 and r.stdout.startswith("tierpool diff: "), "diff: %s" % r.stderr)
    check(re.search(r"^\s+128\s", r.stdout, re.M), "diff has no tier 128 row: %s" % r.stdout)
    r = subprocess.run([tp, "top", "999999999"], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode != 0 and "TIERPOOL_LIVE" in r.stderr, "top of a missing pid")


def case_peak(tmp):
    """Peak live per tier and for the process, in every format: sampled on
    the slow path, so within one carve batch (64 KiB) per thread below the
    true peak, never above it."""
    n = 5000
    out = tmp + "/peak.json"
    r = run([A.prog, "peak", str(n)], env(stats=out, format="json"))
    check(r.returncode == 0, "tp_prog peak failed: %s" % r.stderr)
    d = dumps_of(out)[-1]
    t128, t4k = tier(d, 128), tier(d, 4096)
    check(n - 512 <= t128["peak_live"] <= n + 16, "tier 128 peak %d, true peak %d" % (t128["peak_live"], n))
    check(n // 2 - 16 <= t4k["peak_live"] <= n // 2 + 16,
          "tier 4K peak %d, true peak %d" % (t4k["peak_live"], n // 2))
    check(t128["live"] == 10 and t128["peak_live_bytes"] == t128["peak_live"] * 128, "tier 128: %r" % t128)
    check(t128["peak_time_ns"] <= t4k["peak_time_ns"] <= time.time_ns(),
          "peak times out of order: %d %d" % (t128["peak_time_ns"], t4k["peak_time_ns"]))
    check(d["peak_live_bytes"] >= t4k["peak_live_bytes"] and d["peak_live_bytes"] <= n * 128 + n * 4096,
          "process peak %d bytes" % d["peak_live_bytes"])
    check(d["peak_time_ns"] in (t128["peak_time_ns"], t4k["peak_time_ns"]), "process peak time")
    keys = [f["key"] for f in d["fields"]["tier"]]
    check(keys[:1] == ["size"] and "peak_live" in keys and keys[-1] == "fill", "fields: %r" % keys)
    check(set(keys) == set(t128), "fields describe %r, a tier holds %r" % (keys, list(t128)))
    # the schema follows the one declaration: no counter missing, none stale
    tier_schema = schema()["$defs"]["tier"]["properties"]
    check(set(tier_schema) == set(keys), "schema tier keys %r, declared %r" % (sorted(tier_schema), sorted(keys)))
    proc = [f["key"] for f in d["fields"]["process"]]
    check(set(proc) <= set(schema()["properties"]), "process counters missing from the schema")
    r = run([A.prog, "peak", str(n)], env(stats="stderr", format="prometheus"))
    fams = parse_prometheus(r.stderr)
    samples = fams.get("tierpool_peak_live_blocks", {}).get("samples", [])
    check(any(lab.get("tier") == "128" and val >= n - 512 for _, lab, val in samples),
          "tierpool_peak_live_blocks{tier=\"128\"}: %r" % samples)
    check("tierpool_process_peak_time_seconds" in fams, "no process peak time metric")
    r = run([A.prog, "peak", str(n)], env(stats="stderr"))
    check(re.search(r"^peak live bytes\s+\S+$", r.stderr, re.M), "text: no peak line")


def case_unique_name(tmp):
    """A %p file left by an earlier process with the same pid is kept, and
    the dump gets a new name beside it."""
    r = run([A.prog, "leftover", tmp], env(stats=tmp + "/tp.%p.json", format="json"))
    check(r.returncode == 0, "tp_prog leftover failed: %s" % r.stderr)
    files = sorted(os.listdir(tmp))
    check(len(files) == 2, "files: %r" % files)
    old = [f for f in files if re.fullmatch(r"tp\.\d+\.json", f)]
    new = [f for f in files if re.fullmatch(r"tp\.\d+-1\.json", f)]
    check(old and new, "want tp.PID.json and tp.PID-1.json, got %r" % files)
    with open(os.path.join(tmp, old[0])) as f:
        check(f.read() == "left by an earlier run\n", "the earlier file was overwritten")
    d = dumps_of(os.path.join(tmp, new[0]))
    check(len(d) == 1 and str(d[0]["pid"]) in new[0], "the new file: %r" % d)
    check(d[0]["cmdline"].endswith("leftover " + tmp) and d[0]["cwd"] == os.getcwd(),
          "cmdline %r, cwd %r" % (d[0]["cmdline"], d[0]["cwd"]))


def case_dest_at_start(tmp):
    """An unwritable destination is reported at start, once, with the reason."""
    r = run([A.prog, "hello"], env(stats="/nonexistent/dir/tp.%p.json", interval="1"))
    lines = r.stderr.splitlines()
    check(r.returncode == 0 and "hello from main" in lines, "tp_prog hello: %r" % lines)
    warn = [l for l in lines if "TIERPOOL_STATS" in l]
    check(len(warn) == 1 and lines.index(warn[0]) < lines.index("hello from main"),
          "want one warning before main runs: %r" % lines)
    check(re.search(r"cannot write /nonexistent/dir/tp\.\d+\.json: No such file or directory "
                    r"\(ENOENT\)", warn[0]), "reason: %r" % warn[0])
    os.chmod(tmp, 0o500)
    try:
        r = run([A.prog, "hello"], env(stats=tmp + "/x.json"))
        warn = [l for l in r.stderr.splitlines() if "TIERPOOL_STATS" in l]
        check(os.geteuid() == 0 or (len(warn) == 1 and "Permission denied (EACCES)" in warn[0]),
              "read-only directory: %r" % r.stderr)
    finally:
        os.chmod(tmp, 0o700)


def case_verbose(tmp):
    """TIERPOOL_VERBOSE=1 lists every option in effect; a misspelt name gets
    a suggestion; `tierpool options` reads the same listing."""
    e = env(verbose=1, ring=1024)
    e["TIERPOOL_MAXTIER"] = "4K"
    r = run([A.prog, "pattern"], e)
    lines = r.stderr.splitlines()
    check("tierpool: unknown variable TIERPOOL_MAXTIER ignored; did you mean TIERPOOL_MAX_TIER?"
          in lines, "no suggestion: %r" % lines)
    check("tierpool: TIERPOOL_RING=1K (environment)" in lines, "listing: %r" % lines)
    check("tierpool: TIERPOOL_MAX_TIER=1M (default)" in lines, "listing: %r" % lines)
    listed = [l for l in lines if re.fullmatch(r"tierpool: TIERPOOL_\w+=.* \((default|environment)\)", l)]
    check(len(listed) >= 19, "%d options listed" % len(listed))
    r = run([A.tierpool, "options", "--lib", A.lib], e)
    check(r.returncode == 0, "tierpool options failed: %s" % r.stderr)
    rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()}
    check(rows.get("TIERPOOL_RING") == ["1K", "environment"], "options: %r" % rows)
    check(rows.get("TIERPOOL_STATS") == ["(unset)", "default"], "options: %r" % rows)
    check(len(rows) == len(listed) - 1, "options lists %d, the library %d" % (len(rows), len(listed)))
    check("did you mean TIERPOOL_MAX_TIER?" in r.stderr, "options: the warning is not shown")


def case_introspect(tmp):
    """mallinfo, mallinfo2, malloc_stats, malloc_info and mallopt answer with
    tierpool's numbers under the preload, and mallopt with glibc's values."""
    plain = run([A.introspect], env(preload=False))
    r = run([A.introspect], env())
    check(plain.returncode == 0 and r.returncode == 0, "introspect_prog failed: %s" % r.stderr)
    lines = r.stdout.splitlines()
    m2 = dict(kv.split("=") for kv in lines[0].split()[1:])
    m2 = {k: int(v) for k, v in m2.items()}
    # 1000 blocks of 128 B and 20 of 4 KiB live, at least: tierpool's tiers
    check(m2["uordblks"] >= 1000 * 128 + 20 * 4096, "uordblks %d" % m2["uordblks"])
    check(m2["arena"] >= 2 << 20 and m2["arena"] % 4096 == 0, "arena %d (committed)" % m2["arena"])
    check(m2["ordblks"] >= 500 and m2["fordblks"] >= 500 * 128, "free blocks: %r" % m2)
    check(m2["hblks"] >= 1, "the 4 MiB block past the tiers: %r" % m2)
    check(m2["usmblks"] >= 1500 * 128 - 64 * 1024, "peak %d" % m2["usmblks"])
    # the same calls under glibc show its own, different arena
    g2 = dict(kv.split("=") for kv in plain.stdout.splitlines()[0].split()[1:])
    check(int(g2["arena"]) != m2["arena"], "mallinfo2 is glibc's: %r" % g2)
    opts = [l for l in lines if l.startswith("mallopt ") or l.startswith("malloc_info(1)")]
    want = [l for l in plain.stdout.splitlines() if l.startswith("mallopt ") or l.startswith("malloc_info(1)")]
    check(opts == want and len(opts) == 15, "mallopt/malloc_info answers differ from glibc's:\n%s\n%s"
          % ("\n".join(opts), "\n".join(want)))
    st = r.stderr.splitlines()
    check(st[:2] == ["Arena 0:", "system bytes     = %10d" % m2["arena"]], "malloc_stats: %r" % st)
    check(len(st) == 8 and st[3] == "Total (incl. mmap):" and st[-1].startswith("max mmap bytes   = "),
          "malloc_stats shape: %r" % st)
    import xml.etree.ElementTree as ET
    root = ET.fromstring(r.stdout.split("XML\n", 1)[1])
    sizes = root.find("heap").find("sizes").findall("size")
    check(root.tag == "malloc" and root.get("version") == "1", "malloc_info root")
    tiers = {int(s.get("to")): int(s.get("count")) for s in sizes}
    check(128 in tiers and tiers[128] >= 500, "malloc_info sizes: %r" % tiers)
    types = [(e.tag, e.get("type")) for e in root if e.tag != "heap"]
    check(types == [("total", "fast"), ("total", "rest"), ("total", "mmap"), ("system", "current"),
                    ("system", "max"), ("aspace", "total"), ("aspace", "mprotect")],
          "malloc_info totals: %r" % types)


def add_args(p):
    p.add_argument("--prog", required=True)
    p.add_argument("--fixture", required=True)
    p.add_argument("--introspect", required=True)
    p.add_argument("--tierpool", required=True)
    p.add_argument("--schema", required=True)


if __name__ == "__main__":
    sys.exit(tptest.main("stats", globals(), add_args))
