"""`tierpool bench -- CMD`: the user's own command under glibc malloc,
tierpool and the other allocators installed, head to head.

Every allocator runs the same command, the allocators alternating run by
run (A B C, A B C, ...) so that a drift of the machine falls on all of
them. Each run is measured by the launcher (bench/launch.c, installed as
libexec/tierpool/launch): wall time, user+sys time and peak RSS of the
command and the processes it waited for. Forked from this Python process
instead, the command would carry its tens of MiB as a peak RSS floor. The
figures are medians with their spread; ratios are to glibc. Nothing is
installed: an allocator whose library is missing is skipped with a note.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading

from .benchchart import png_chart, svg_chart, text_chart
from .runenv import UsageError, command_of, find_library, need_library

# Peers as Debian ships them: (name, soname, package).
PEERS = [("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
         ("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
         ("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4")]
NAMES = ["glibc", "tierpool"] + [p[0] for p in PEERS]
METRICS = [("wall", "wall", "s"), ("cpu", "user+sys", "s"), ("rss", "peak RSS", "KiB")]
LAUNCH_DIRS = []  # where the launcher is looked for (set by the tierpool launcher)


def lib_dirs():
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = ["/usr/lib/" + arch, "/lib/" + arch] if arch else []
    return dirs + ["/usr/lib64", "/usr/lib", "/usr/local/lib"]


def find_peer(soname):
    return next((os.path.join(d, soname) for d in lib_dirs()
                 if os.path.isfile(os.path.join(d, soname))), None)


def allocators(args):
    """([(name, library or None)], [skip notes]) for --alloc (glibc, the
    baseline, always first)."""
    want = NAMES
    if args.alloc:
        want = [n.strip() for n in args.alloc.split(",") if n.strip()]
        bad = [n for n in want if n not in NAMES]
        if bad or not want:
            raise UsageError("--alloc: unknown allocator %s (known: %s)"
                             % (", ".join(bad) or "''", ", ".join(NAMES)))
    out, notes = [("glibc", None)], []
    for name in want:
        if name == "tierpool":
            out.append((name, need_library(args.lib, "bench")))
        for pname, soname, pkg in PEERS:
            if name == pname:
                lib = find_peer(soname)
                if lib:
                    out.append((name, lib))
                else:
                    notes.append("%s skipped: %s not found (Debian package %s; tierpool bench "
                                 "installs nothing)" % (name, soname, pkg))
    return out, notes


class Run:
    """One measured run: figures, or why it failed."""

    def __init__(self, wall=0.0, cpu=0.0, rss=0, failure=None, stderr=""):
        self.wall, self.cpu, self.rss = wall, cpu, rss
        self.failure, self.stderr = failure, stderr


def find_launcher(lib):
    """The launcher: bench/launch of the build tree the library comes from
    (a build directory other than build/), else LAUNCH_DIRS."""
    dirs = [os.path.join(os.path.dirname(lib), "bench")] if lib else []
    for d in dirs + LAUNCH_DIRS:
        p = os.path.join(d, "launch")
        if os.access(p, os.X_OK):
            return p
    return None


def describe(wstatus):
    if os.WIFSIGNALED(wstatus):
        return "killed by %s" % signal.Signals(os.WTERMSIG(wstatus)).name
    code = os.waitstatus_to_exitcode(wstatus)
    return "exit status %d" % code if code else None


def measure(launcher, cmd, lib, timeout):
    """Runs cmd once with lib preloaded (None: glibc) through the launcher."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if lib:
        env["TPBENCH_PRELOAD"] = lib  # the launcher itself stays on glibc
    fd, res = tempfile.mkstemp(prefix="tierpool-bench.")
    os.close(fd)
    killed = []
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([launcher, res] + cmd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        except OSError as e:
            os.unlink(res)
            raise SystemExit("tierpool bench: %s: %s" % (launcher, e.strerror))

        def kill():
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        try:
            if timer:
                timer.start()
            proc.wait()
        finally:  # ^C, a timeout: nothing of the command outlives us
            if timer:
                timer.cancel()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        err.seek(0)
        text = err.read().decode(errors="replace")[-2000:]
    try:
        with open(res) as f:
            fields = dict(kv.split("=", 1) for kv in f.read().split())
        wstatus = int(fields["status"])
        run = Run(float(fields["wall"]), float(fields["utime"]) + float(fields["stime"]),
                  int(fields["maxrss_kib"]), describe(wstatus), text)
    except (OSError, ValueError, KeyError):
        run = Run(failure="timed out after %g s" % timeout if killed else
                  "the launcher failed (%s)" % text.strip()[-200:], stderr=text)
    finally:
        os.unlink(res)
    if not run.failure and "cannot be preloaded" in text:
        run.failure = "the preload was ignored by ld.so"
    return run


def spread(xs):
    """(slowest - fastest) / median, the noise a ratio must beat."""
    m = statistics.median(xs)
    return (max(xs) - min(xs)) / m if m else 0.0


def summarize(runs):
    """{metric: (median, spread)} of one allocator's runs, or None."""
    if not runs or any(r.failure for r in runs):
        return None
    return {k: (statistics.median(getattr(r, k) for r in runs),
                spread([getattr(r, k) for r in runs])) for k, _, _ in METRICS}


def fmt_value(key, v):
    if key == "rss":
        return "%.1f MiB" % (v / 1024)
    return "%.3f s" % v if v < 100 else "%.0f s" % v


def table(allocs, results):
    """The medians, spreads and ratios to glibc, as text lines."""
    head = ["allocator"]
    for _, title, _ in METRICS:
        head += [title, "spread", "x glibc"]
    rows = []
    base = summarize(results["glibc"])
    for name, _ in allocs:
        s, row = summarize(results[name]), [name]
        if s is None:
            bad = next(r for r in results[name] if r.failure)
            rows.append([name, "FAILED: %s" % bad.failure])
            continue
        for key, _, _ in METRICS:
            med, spr = s[key]
            ratio = "-"
            if base and base[key][0]:
                r = med / base[key][0]
                noise = max(spr, base[key][1])  # a difference smaller than this is noise
                ratio = "%.2f%s" % (r, "~" if name != "glibc" and abs(r - 1) < noise else "")
            row += [fmt_value(key, med), "%.0f%%" % (spr * 100), ratio]
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows if len(r) > i and len(r) == len(head))
              for i in range(len(head))]
    out = []
    for r in [head] + rows:
        if len(r) != len(head):
            out.append(r[0].ljust(widths[0]) + "  " + r[1])
            continue
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
    return out


def cmd_bench(args):
    cmd = command_of(args)
    allocs, notes = allocators(args)
    if args.chart and not args.chart.endswith(".svg"):
        png_support(args.chart)
    for path in (args.chart, args.json):  # a bad path fails now, not after the runs
        if path:
            open(path, "a").close()
    launcher = find_launcher(find_library(args.lib))
    if not launcher:
        raise SystemExit("tierpool bench: the launcher (bench/launch.c) is not built or "
                         "installed; build the tree (cmake --build build)")
    err = sys.stderr
    # One untimed run first: it warms the page cache, and a command that
    # fails under glibc is not worth timing.
    first = measure(launcher, cmd, None, args.timeout)
    if first.failure:
        tail = first.stderr.strip().split("\n")[-1] if first.stderr.strip() else ""
        raise SystemExit("tierpool bench: the command fails under glibc malloc (%s)%s"
                         % (first.failure, ": " + tail if tail else ""))
    results = {name: [] for name, _ in allocs}
    for i in range(args.runs):
        line = []
        for name, lib in allocs:
            r = measure(launcher, cmd, lib, args.timeout)
            results[name].append(r)
            line.append("%s %s" % (name, r.failure or "%.3fs" % r.wall))
        if not args.quiet:
            print("tierpool bench: run %d/%d: %s" % (i + 1, args.runs, ", ".join(line)),
                  file=err, flush=True)
    print("tierpool bench: %s" % " ".join(cmd))
    print("%d run%s per allocator, allocators alternating; medians; spread: (max - min) / median"
          % (args.runs, "" if args.runs == 1 else "s"))
    print("x glibc: the median over glibc's (below 1.00: faster or smaller; ~: closer to 1.00 "
          "than the spread, noise)")
    print()
    for line in table(allocs, results):
        print(line)
    for n in notes:
        print(n)
    sums = {name: summarize(runs) for name, runs in results.items()}
    print()
    print("\n".join(text_chart([(n, sums[n]) for n, _ in allocs], METRICS,
                               unicode_ok=(sys.stdout.encoding or "").lower().startswith("utf"))))
    if args.chart:
        write_chart(args.chart, [(n, sums[n]) for n, _ in allocs], " ".join(cmd), args.runs)
        print("chart: %s" % args.chart)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"command": cmd, "runs": args.runs, "skipped": notes,
                       "allocators": [{"name": n, "library": lib, "runs": [
                           dict(wall_s=r.wall, cpu_s=r.cpu, maxrss_kib=r.rss, failure=r.failure)
                           for r in results[n]]} for n, lib in allocs]}, f, indent=1)
    return 1 if any(s is None for s in sums.values()) else 0


def png_support(path):
    """matplotlib, for a chart that is not SVG, or a one-line error."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("tierpool bench: --chart %s: a PNG needs matplotlib "
                         "(python3-matplotlib); an .svg name needs nothing" % path)
    matplotlib.use("Agg")


def write_chart(path, sums, title, runs):
    if path.endswith(".svg"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg_chart(sums, METRICS, title, runs))
    else:
        png_chart(path, sums, METRICS, title, runs)


def add_parser(sub, int_range, seconds):
    b = sub.add_parser("bench", help="time a command under each installed allocator",
                       description="Run CMD under glibc malloc, tierpool, mimalloc, jemalloc "
                       "and tcmalloc (those installed; the others are skipped with a note), "
                       "the allocators alternating run by run, and print the medians of wall "
                       "time, user+sys time and peak RSS with their spread and their ratio to "
                       "glibc, and a chart. The command's output is discarded. Exits 1 if an "
                       "allocator failed a run.",
                       usage="tierpool bench [--alloc LIST] [-n RUNS] [options] -- CMD [ARGS...]")
    b.add_argument("--alloc", metavar="LIST",
                   help="comma-separated allocators (%s); glibc, the baseline, always runs"
                   % ",".join(NAMES))
    b.add_argument("-n", "--runs", type=int_range(1, 1000), default=5, metavar="RUNS",
                   help="measured runs per allocator (default 5)")
    b.add_argument("--chart", metavar="FILE", help="also draw the chart to FILE (.svg, or .png "
                   "with matplotlib)")
    b.add_argument("--json", metavar="FILE", help="also write every run as JSON")
    b.add_argument("--timeout", type=seconds, metavar="S", help="kill a run after S seconds")
    b.add_argument("--quiet", action="store_true", help="no progress line per round")
    b.add_argument("--lib", metavar="PATH", help="the libtierpool.so to preload")
    b.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    b.set_defaults(func=cmd_bench)
