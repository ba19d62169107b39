"""`tierpool check`: run a command with leak tracking, read every process's
exit dump, and fail on the stacks left after the suppressions and the
baseline."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from .baseline import load_baseline, signature
from .dumps import load_dumps
from .leaktext import frame_text, stack_head
from .runenv import command_of, need_library, preload_env
from .suppress import BUILTIN_SUPPRESSIONS, RULE_CXXINIT, RULE_LDSO, classify, load_suppressions, \
    template_regex
from .symbolize import Symbolizer


def exit_dumps(tmp):
    """The exit dump of every process that wrote one: [(pid, dump)]."""
    out = []
    for path in sorted(glob.glob(os.path.join(tmp, "tp.*.json"))):
        try:
            dumps = load_dumps(path)
        except SystemExit as e:
            print("tierpool check: skipping %s: %s" % (path, e), file=sys.stderr)
            continue
        ends = [d for d in dumps if d.get("reason") == "exit"]
        if ends:
            out.append((ends[-1].get("pid", 0), ends[-1]))
    return sorted(out, key=lambda x: x[0])


def totals(stacks):
    return len(stacks), sum(s["blocks"] for s in stacks), sum(s["bytes"] for s in stacks)


def cmd_check(args):
    cmd = command_of(args)
    lib = need_library(args.lib, "check")
    rules = [(p, template_regex(p), "built-in") for p, _ in BUILTIN_SUPPRESSIONS]
    for path in args.suppressions or []:
        rules += load_suppressions(path)
    why = dict(BUILTIN_SUPPRESSIONS + [RULE_LDSO, RULE_CXXINIT])
    tmp = tempfile.mkdtemp(prefix="tierpool-check.")
    try:
        env = preload_env(lib)
        env.update(TIERPOOL_LEAKS="all", TIERPOOL_LEAKS_TOP="0", TIERPOOL_FORMAT="json",
                   TIERPOOL_AT_EXIT="1", TIERPOOL_STATS=os.path.join(tmp, "tp.%p.json"))
        if args.depth:
            env["TIERPOOL_LEAKS_DEPTH"] = str(args.depth)
        # Like time(1): a ^C is for the command; we report what it did.
        old = [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)]
        try:
            rc = subprocess.call(cmd, env=env)
        except OSError as e:
            print("tierpool check: %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
            return 127 if isinstance(e, FileNotFoundError) else 126
        finally:
            signal.signal(signal.SIGINT, old[0])
            signal.signal(signal.SIGQUIT, old[1])
        if rc != 0:
            rc = 128 - rc if rc < 0 else rc
            print("tierpool check: the command failed (exit status %d); leaks not checked" % rc,
                  file=sys.stderr)
            return rc
        procs = exit_dumps(tmp)
        if args.keep:
            print("tierpool check: dumps kept in %s" % tmp, file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return check_report(procs, rules, why, args)


def check_report(procs, rules, why, args):
    err = sys.stderr
    if not procs:
        print("tierpool check: no process wrote a report (a static program, or every process "
              "ended in _exit or a signal): nothing checked", file=err)
        if args.report_json:
            with open(args.report_json, "w", encoding="utf-8") as f:
                json.dump({"processes": [], "suppressed": {}, "baseline": {}, "failed": False}, f)
        return 0
    for _, d in procs:
        if "leaks" not in d:
            raise SystemExit("tierpool check: pid %s wrote no leak report: the library does not "
                             "track leaks" % d.get("pid"))
    sym = Symbolizer()
    pairs = set((f.get("module"), f["offset"]) for _, d in procs
                for st in d["leaks"]["stacks"] for f in st["frames"])
    syms = sym.run(pairs)
    plain = sym.demangle(set(f.get("function") for _, d in procs
                             for st in d["leaks"]["stacks"] for f in st["frames"]))
    baseline = load_baseline(args.baseline) if args.baseline and not args.update_baseline else set()
    suppressed, based, failing, sigs = {}, [], 0, set()
    result = {"processes": [], "suppressed": {}, "baseline": {}}
    for pid, d in procs:
        leaks = []
        result["processes"].append({"pid": pid, "exe": d.get("exe"), "leaks": leaks})
        for st in d["leaks"]["stacks"]:
            rule = classify(st, syms, plain, rules)
            if rule:
                suppressed.setdefault(rule, []).append(st)
                continue
            sig = signature(st, syms, plain)
            if sig in baseline:
                based.append(st)
                continue
            sigs.add(sig)
            leaks.append(dict(st, signature=sig, frames=[
                dict(f, symbol=syms.get((f.get("module"), f["offset"]), {}).get("function") or
                     plain.get(f.get("function"), f.get("function")),
                     file=syms.get((f.get("module"), f["offset"]), {}).get("file"))
                for f in st["frames"]]))
        if not leaks:
            continue
        failing += 1
        n, blocks, nbytes = totals(leaks)
        print("tierpool check: pid %s (%s): %d stack%s %d block%s (%d bytes) not freed:" % (
            pid, d.get("exe", "?"), n, " holds" if n == 1 else "s hold", blocks,
            "" if blocks == 1 else "s", nbytes), file=err)
        for st in leaks:
            print(stack_head(st, False), file=err)
            for i, f in enumerate(st["frames"]):
                print(frame_text(i, f, syms.get((f.get("module"), f["offset"]))), file=err)
    if suppressed:
        n, blocks, nbytes = totals([s for v in suppressed.values() for s in v])
        print("suppressed: %d stack%s, %d block%s (%d bytes):" % (
            n, "" if n == 1 else "s", blocks, "" if blocks == 1 else "s", nbytes), file=err)
        for rule, sts in sorted(suppressed.items(), key=lambda kv: -totals(kv[1])[2]):
            n, blocks, nbytes = totals(sts)
            result["suppressed"][rule] = {"stacks": n, "blocks": blocks, "bytes": nbytes}
            origin = "built-in: " + why[rule] if rule in why else "suppressions"
            print("  %-28s %d stack%s, %d block%s, %d bytes (%s)" % (
                rule if rule.startswith("<") else "leak:" + rule, n, "" if n == 1 else "s",
                blocks, "" if blocks == 1 else "s", nbytes, origin), file=err)
    if based:
        n, blocks, nbytes = totals(based)
        result["baseline"] = {"stacks": n, "blocks": blocks, "bytes": nbytes}
        print("baseline: %d stack%s (%d blocks, %d bytes) are in %s" % (
            n, "" if n == 1 else "s", blocks, nbytes, args.baseline), file=err)
    if args.report_json:
        result["failed"] = bool(failing) and not args.update_baseline
        with open(args.report_json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    if args.update_baseline:
        with open(args.baseline, "w", encoding="utf-8") as f:
            f.write("# tierpool leak baseline, written by tierpool check --update-baseline.\n"
                    "# One stack per line, innermost frame first; later runs fail only on\n"
                    "# stacks not listed here. Delete lines as the leaks get fixed.\n")
            f.writelines(s + "\n" for s in sorted(sigs))
        print("tierpool check: wrote %d stack%s to %s" % (len(sigs), "" if len(sigs) == 1 else "s",
                                                          args.baseline), file=err)
        return 0
    if failing:
        print("tierpool check: FAILED: leaks in %d of %d process%s" % (
            failing, len(procs), "" if len(procs) == 1 else "es"), file=err)
        return args.exitcode
    print("tierpool check: passed: no leaks in %d process%s" % (
        len(procs), "" if len(procs) == 1 else "es"), file=err)
    return 0

