"""`tierpool check`: run a command with leak tracking, read the report of
every process it started, and decide: the stacks left after the
suppressions and the baseline whose kind fails (`--fail-on`), the
processes that should have reported and did not, and the exit status.

Exit status, in this order (LeakSanitizer's rules, and one of ours):
  leaks found                     --exitcode (23), whatever the command did
                                  (--exitcode 0: the command's status)
  the command failed              its status (128 + N when killed by signal N)
  a process wrote no report       NO_REPORT (24): no process wrote one at all
                                  (a static or setuid program, _exit, a crash),
                                  or a report file was cut short
  otherwise                       0
A top process that writes no report while its children do is only noted:
dash, Debian's /bin/sh, ends in _exit.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

from .baseline import load_baseline, signature
from .checktext import print_report, write_json
from .dumps import load_dumps
from .runenv import command_of, need_library, preload_env
from .suppress import builtin_rules, classify, load_suppressions
from .symbolize import Symbolizer, source_frames

NO_REPORT = 24  # a process that should have reported did not (docs/leaks.md)
KINDS = ("direct", "indirect", "reachable")  # the order of the report, and of --fail-on
CMDLINE_MAX = 200  # characters of a command line shown


# ------------------------------------------------------------ running


def run_command(cmd, env):
    """Runs cmd to the end: (pid, exit status as a shell reports it)."""
    # Like time(1): a ^C is for the command; we report what it did.
    old = [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)]
    try:
        p = subprocess.Popen(cmd, env=env)
        rc = p.wait()
    finally:
        signal.signal(signal.SIGINT, old[0])
        signal.signal(signal.SIGQUIT, old[1])
    return p.pid, 128 - rc if rc < 0 else rc


def read_reports(tmp):
    """Every file in the dump directory, whatever its name: ([(pid, exit
    dump)], [missing]). A file with dumps but no exit dump, or an empty
    one, is a process that started its report and did not finish it."""
    procs, missing = [], []
    for name in sorted(os.listdir(tmp)):
        path = os.path.join(tmp, name)
        if not os.path.isfile(path):
            continue
        if os.path.getsize(path) == 0:
            missing.append({"pid": 0, "file": name, "why": "its report file is empty"})
            continue
        try:
            dumps = load_dumps(path)
        except SystemExit as e:
            print("tierpool check: skipping %s: %s" % (name, e), file=sys.stderr)
            continue
        # One file may hold the dumps of several processes (a child that
        # forked after its parent chose the file writes there too): the
        # last exit dump of each pid.
        ends = {}
        for d in dumps:
            if d.get("reason") == "exit":
                ends[d.get("pid", 0)] = d
        if ends:
            procs += sorted(ends.items(), key=lambda x: x[0])
        else:
            missing.append({"pid": dumps[-1].get("pid", 0), "file": name,
                            "why": "its report has no exit dump"})
    return sorted(procs, key=lambda x: x[0]), missing


def bounded(s, n=CMDLINE_MAX):
    return s if len(s) <= n else s[:n - 3] + "..."


def as_text(v):
    """A command line as the library writes it: a string or a list."""
    if isinstance(v, list):
        return " ".join(str(a) for a in v)
    return v if isinstance(v, str) else None


def same_file(a, b):
    try:
        return bool(a and b) and os.path.samefile(a, b)
    except OSError:
        return False


def name_process(pid, d, top):
    """cmdline, cwd and where they came from: the dump (its header, or its
    leak section's `process`), else the command we ran (for the top process), else the
    executable."""
    proc = (d.get("leaks") or {}).get("process") or {}
    cmdline = as_text(d.get("cmdline")) or as_text(proc.get("cmdline"))
    cwd = d.get("cwd") or proc.get("cwd") or None
    if cmdline:
        return bounded(cmdline), cwd, "dump"
    if pid == top["pid"] and same_file(d.get("exe"), top["exe"]):
        return bounded(top["cmdline"]), cwd or top["cwd"], "command"
    return bounded(d.get("exe") or "?"), cwd, "exe"


def cmd_check(args):
    cmd = command_of(args)
    lib = need_library(args.lib, "check")
    rules = builtin_rules()
    for path in args.suppressions or []:
        rules += load_suppressions(path)
    # The files named on the command line fail now, in one line, not after
    # the command ran.
    baseline = load_baseline(args.baseline) if args.baseline and not args.update_baseline else set()
    for path in (args.report_json, args.update_baseline and args.baseline):
        if path and not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            raise SystemExit("tierpool check: %s: cannot write there" % path)
    tmp = tempfile.mkdtemp(prefix="tierpool-check.")
    try:
        env = preload_env(lib)
        env.update(TIERPOOL_LEAKS="all", TIERPOOL_LEAKS_TOP="0", TIERPOOL_FORMAT="json",
                   TIERPOOL_AT_EXIT="1", TIERPOOL_STATS=os.path.join(tmp, "tp.%p.json"))
        if args.depth:
            env["TIERPOOL_LEAKS_DEPTH"] = str(args.depth)
        try:
            pid, rc = run_command(cmd, env)
        except OSError as e:
            print("tierpool check: %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
            return 127 if isinstance(e, FileNotFoundError) else 126
        procs, missing = read_reports(tmp)
        if args.keep:
            print("tierpool check: dumps kept in %s" % tmp, file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    top = {"pid": pid, "cmdline": shlex.join(cmd), "cwd": os.getcwd(), "exe": shutil.which(cmd[0])}
    if not procs and not missing:
        # Nothing was checked at all. When other processes did report, a
        # silent top process is only noted: dash, for one, ends in _exit.
        missing.append({"pid": pid, "file": None,
                        "why": "a static or setuid program, _exit, or killed by a signal"})
    elif not any(p == pid for p, _ in procs) and not any(m["pid"] == pid for m in missing):
        print("tierpool check: note: pid %d (%s) wrote no leak report (it ended in _exit, as dash "
              "does, or by a signal); the reports of its children were checked"
              % (pid, bounded(top["cmdline"])), file=sys.stderr)
    for m in missing:
        m["cmdline"] = top["cmdline"] if m["pid"] == pid else None
    return decide(procs, missing, rc, top, rules, baseline, args)


# ------------------------------------------------------------ verdict


def failing_kinds(level):
    """--fail-on=LEVEL: the kinds that fail, up to LEVEL; 'live' (a dump
    without kinds: every live block) always fails."""
    return set(KINDS[:KINDS.index(level) + 1]) | {"live"}


def kind_order(st):
    k = st["kind"]
    return (KINDS.index(k) if k in KINDS else len(KINDS), -st["bytes"])


def decide(procs, missing, rc, top, rules, baseline, args):
    for _, d in procs:
        if "leaks" not in d:
            raise SystemExit("tierpool check: pid %s wrote no leak report: the library does not "
                             "track leaks" % d.get("pid"))
    sym = Symbolizer(args.symbolizer)
    stacks = [st for _, d in procs for st in d["leaks"]["stacks"]]
    syms = sym.chains(set((f.get("module"), f["offset"]) for st in stacks for f in st["frames"]))
    plain = sym.demangle(set(f.get("function") for st in stacks for f in st["frames"]))
    fail_on = failing_kinds(args.fail_on)
    result = {"processes": [], "missing": missing, "suppressed": {}, "baseline": [],
              "status": rc}
    sigs = set()
    for pid, d in procs:
        cmdline, cwd, origin = name_process(pid, d, top)
        p = {"pid": pid, "exe": d.get("exe"), "cmdline": cmdline, "cwd": cwd,
             "cmdline_from": origin, "leaks": [], "passed": []}
        result["processes"].append(p)
        for st in d["leaks"]["stacks"]:
            frames = source_frames(st, syms, plain)
            rule = classify(frames, rules)
            if rule:
                result["suppressed"].setdefault(rule, []).append(st)
                continue
            kind = st.get("kind")
            kind = kind if kind in KINDS else "live"  # no scan: every live block counts
            sig = signature(frames)
            entry = dict(st, kind=kind, signature=sig, frames=frames)
            if kind not in fail_on:
                p["passed"].append(entry)
            elif sig in baseline:
                result["baseline"].append(entry)
            else:
                sigs.add(sig)
                p["leaks"].append(entry)
        p["leaks"].sort(key=kind_order)
        p["passed"].sort(key=kind_order)
    failing = [p for p in result["processes"] if p["leaks"]]
    print_report(result, rules, args)
    if args.update_baseline:
        write_baseline(args.baseline, sigs)
        write_json(result, args, False)
        return 0
    status = verdict(result, failing, rc, args)
    write_json(result, args, status != 0)
    return status


def verdict(result, failing, rc, args):
    err, n = sys.stderr, len(result["processes"])
    plural = "" if n == 1 else "es"
    if rc:
        print("tierpool check: the command failed (exit status %d); its leaks were checked" % rc,
              file=err)
    for m in result["missing"]:
        print("tierpool check: pid %d%s wrote no leak report (%s): its leaks were not checked" % (
            m["pid"], " (%s)" % bounded(m["cmdline"]) if m.get("cmdline") else
            " (%s)" % m["file"] if m.get("file") else "", m["why"]), file=err)
    if failing:
        print("tierpool check: FAILED: leaks in %d of %d process%s" % (len(failing), n, plural),
              file=err)
        return args.exitcode or rc
    if rc:
        return rc
    if result["missing"]:
        print("tierpool check: FAILED: %d process%s wrote no report" % (
            len(result["missing"]), "" if len(result["missing"]) == 1 else "es"), file=err)
        return NO_REPORT
    print("tierpool check: passed: no leaks in %d process%s" % (n, plural), file=err)
    return 0


def write_baseline(path, sigs):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# tierpool leak baseline, written by tierpool check --update-baseline.\n"
                "# One stack per line, innermost frame first; later runs fail only on\n"
                "# stacks not listed here. Delete lines as the leaks get fixed.\n")
        f.writelines(s + "\n" for s in sorted(sigs))
    print("tierpool check: wrote %d stack%s to %s" % (len(sigs), "" if len(sigs) == 1 else "s",
                                                      path), file=sys.stderr)
