#!/usr/bin/python3
"""check_tests.py - `tierpool check`'s verdicts: leak kinds, exit statuses,
processes that wrote no report, naming the process that leaked, the dump
directory, inlined frames.

  check_tests.py CASE --lib libtierpool.so --bin DIR --tierpool scripts/tierpool
                      --schema tierpool-stats.schema.json

Same arguments and helpers as leaks_tests.py. The kinds (direct, indirect,
still reachable) come from the library's reachability scan: where a dump
carries no `kind`, every live block counts (the raw get/put imbalance) and
the cases check that form instead, saying so on stdout.
"""

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import leaks_tests as lt  # the sibling driver (this folder is on sys.path)
from leaks_tests import check, env, prog, run, tp_check

A = None  # the driver's options, set by tptest.main

NO_REPORT = 24  # check's status when a process that should have reported did not


def classified(rep):
    """True when the library told the kinds of the stacks of this run."""
    return any(st.get("kind") not in (None, "live")
               for p in rep["processes"] for key in ("leaks", "passed")
               for st in p.get(key, []))


def by_kind(stacks):
    """(kind, innermost symbolized function) -> (blocks, bytes), summed."""
    out = {}
    for st in stacks:
        key = (st.get("kind") or "live", st["frames"][0]["symbol"] if st["frames"] else None)
        b, n = out.get(key, (0, 0))
        out[key] = (b + st["blocks"], n + st["bytes"])
    return out


def mine(stacks, names):
    """The stacks whose innermost frame is one of names (the fixture's)."""
    return [st for st in stacks if st["frames"] and st["frames"][0]["symbol"] in names]


def note(msg):
    print("note: " + msg)


# ------------------------------------------------------------------ cases


def case_kinds_list(tmp):
    """A lost linked list of 10 nodes: 1 direct block and 9 indirect ones."""
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "list", "10"])
    check(rc == 23, "leaky_list list 10: want 23, got %d\n%s" % (rc, err))
    (p,) = rep["processes"]
    got = by_kind(mine(p["leaks"], {"list_node"}))
    if not classified(rep):
        note("no kinds in the dump: checking the raw counts")
        check(got == {("live", "list_node"): (10, 480)}, "raw: %r" % got)
        return
    want = {("direct", "list_node"): (1, 48), ("indirect", "list_node"): (9, 432)}
    check(got == want, "kinds:\n got  %r\n want %r" % (got, want))
    # Direct first, in the JSON and in the text.
    kinds = [st["kind"] for st in p["leaks"]]
    check(kinds == sorted(kinds, key=["direct", "indirect", "reachable"].index), kinds)
    d, i = err.find("Direct leak of 48 bytes in 1 block"), err.find("Indirect leak of 432 bytes")
    check(0 <= d < i, "text: direct before indirect:\n" + err)


def case_kinds_reachable(tmp):
    """Blocks still pointed to by globals pass by default and fail with
    --fail-on=reachable; --fail-on=direct ignores indirect blocks."""
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "reachable"])
    if not classified(rep):
        note("no kinds in the dump: every live block fails")
        check(rc == 23, "raw: want 23, got %d\n%s" % (rc, err))
        return
    check(rc == 0, "reachable only: want 0, got %d\n%s" % (rc, err))
    (p,) = rep["processes"]
    got = by_kind(mine(p["passed"], {"list_node", "_IO_new_fopen", "fopen", "__fopen_internal"}))
    check(got.get(("reachable", "list_node")) == (3, 144), "reachable nodes: %r" % got)
    check(re.search(r"still reachable: \d+ stacks?, \d+ blocks?", err), "summary line:\n" + err)
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "reachable"], "--fail-on=reachable")
    check(rc == 23, "--fail-on=reachable: want 23, got %d\n%s" % (rc, err))
    check(re.search(r"^  Still reachable: 144 bytes in 3 blocks", err, re.M), "text:\n" + err)
    # mixed: the lone block is direct; --fail-on=direct passes the list's
    # indirect nodes but not its head.
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "mixed", "4"], "--fail-on=direct")
    check(rc == 23, "--fail-on=direct: %d\n%s" % (rc, err))
    (p,) = rep["processes"]
    got = by_kind(mine(p["leaks"], {"list_node", "lone_leak"}))
    check(got == {("direct", "list_node"): (1, 48), ("direct", "lone_leak"): (1, 200)},
          "--fail-on=direct fails on: %r" % got)


def case_fail_status(tmp):
    """LeakSanitizer's rule: leaks are checked when the command fails too."""
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "list", "3", "5"])
    check(rc == 23, "exit 5 with leaks: want 23, got %d\n%s" % (rc, err))
    check("exit status 5" in err and "list_node" in err, "says both:\n" + err)
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "list", "0", "5"])
    check(rc == 5, "exit 5, no leak: want 5, got %d\n%s" % (rc, err))
    rc, rep, err = tp_check(tmp, [prog("leaky_list"), "list", "3", "5"], "--exitcode", "0")
    check(rc == 5, "--exitcode 0 keeps the command's status: got %d\n%s" % (rc, err))


def case_no_report(tmp):
    """A process that should have reported and did not fails the check."""
    for cmd, why in (([prog("leaky_list"), "_exit"], "_exit"),
                     ([prog("leaky_list_static"), "list", "3"], "static")):
        rc, rep, err = tp_check(tmp, cmd)
        check(rc == NO_REPORT, "%s: want %d, got %d\n%s" % (why, NO_REPORT, rc, err))
        check(re.search(r"pid \d+ .*wrote no leak report", err), "%s message:\n%s" % (why, err))
        check(rep and rep["missing"] and rep["missing"][0]["pid"] > 0, "%s: %r" % (why, rep))
    # Killed by a signal: the command's own status, and the same message.
    rc, rep, err = tp_check(tmp, ["/bin/sh", "-c", "kill -TERM $$"])
    check(rc == 128 + 15, "SIGTERM: got %d\n%s" % (rc, err))
    check("wrote no leak report" in err, err)
    # A top process that ends in _exit (dash does) while its children
    # report: noted, not a failure; the children's leaks are checked.
    rc, rep, err = tp_check(tmp, ["/bin/sh", "-c", "%s tag x | cat" % prog("leaky_list")])
    check(rc == 23 and "note: pid" in err and not rep["missing"], "%d %r\n%s"
          % (rc, rep["missing"], err))


def case_dump_dir(tmp):
    """Any file name in the dump directory; two reports of one pid (a pid
    reused) both count; a file that is not a dump is skipped with a warning."""
    pre = os.path.join(tmp, "pre")
    os.mkdir(pre)
    r = run([prog("leaky_list"), "tag", "earlier"],
            dict(env(leaks="all", stats=pre + "/tp.%p.json", format="json"), LD_PRELOAD=A.lib))
    check(r.returncode == 0, r.stderr)
    (old,) = [os.path.join(pre, f) for f in os.listdir(pre)]
    # The shell's pid is the pid of the program it execs: the old report is
    # rewritten to that pid, under another name, before the program runs.
    # A third process's exit dump appended to that copy (one file, two pids).
    script = ('d=$(dirname "$TIERPOOL_STATS"); '
              'sed "s/\\"pid\\": *[0-9]*/\\"pid\\":$$/" %s > "$d/report of $$ (1).json"; '
              'sed "s/\\"pid\\": *[0-9]*/\\"pid\\":4000000/" %s >> "$d/report of $$ (1).json"; '
              'echo "not json" > "$d/notes.txt"; exec %s tag later'
              % (shlex.quote(old), shlex.quote(old), shlex.quote(prog("leaky_list"))))
    rc, rep, err = tp_check(tmp, ["/bin/sh", "-c", script])
    check(rc == 23, "want 23, got %d\n%s" % (rc, err))
    pids = [p["pid"] for p in rep["processes"]]
    ps = [p for p in rep["processes"] if pids.count(p["pid"]) == 2]
    check(len(ps) == 2, "two reports of one pid: %r" % [(p["pid"], p["exe"]) for p in
                                                        rep["processes"]])
    check(all(mine(p["leaks"], {"tagged_leak"}) for p in ps), "both leak: %r" % ps)
    third = [p for p in rep["processes"] if p["pid"] == 4000000]
    check(len(third) == 1 and mine(third[0]["leaks"], {"tagged_leak"}),
          "the second dump of one file: %r" % pids)
    check("notes.txt" in err and "skipping" in err, "the junk file is named:\n" + err)


def case_cmdline(tmp):
    """Each process is named by its command line and directory, and
    --group-by=cmdline shows which command leaked."""
    work = os.path.join(tmp, "work dir")
    os.mkdir(work)
    ll = shlex.quote(prog("leaky_list"))
    # bash, not dash: dash ends in _exit and writes no report of its own.
    script = "%s tag alpha; %s clean; %s tag beta; true" % (ll, ll, ll)
    r = subprocess.run([A.tierpool, "check", "--lib", A.lib, "--report-json",
                        tmp + "/r.json", "--", "/bin/bash", "-c", script], cwd=work, env=env(),
                       capture_output=True, text=True, timeout=lt.TIMEOUT)
    err = r.stderr
    check(r.returncode == 23, "status %d\n%s" % (r.returncode, err))
    with open(tmp + "/r.json") as f:
        rep = json.load(f)
    leaking = [p for p in rep["processes"] if mine(p["leaks"], {"tagged_leak"})]
    check(len(leaking) == 2, "two leaking processes: %r" % [p.get("cmdline") for p in leaking])
    # The top process is always named (the check knows its command line).
    top = [p for p in rep["processes"] if p.get("cmdline", "").startswith("/bin/bash -c ")]
    check(top and os.path.realpath(top[0].get("cwd") or "") == os.path.realpath(work),
          "the shell's name and directory: %r" % [(p.get("cmdline"), p.get("cwd"))
                                                 for p in rep["processes"]])
    if not any(p.get("cmdline_from") == "dump" for p in rep["processes"]):
        note("the dumps carry no command line: children are named by their executable")
        return
    names = sorted(p["cmdline"] for p in leaking)
    check(names == [prog("leaky_list") + " tag alpha", prog("leaky_list") + " tag beta"],
          "names %r" % names)
    check(all(os.path.realpath(p["cwd"]) == os.path.realpath(work) for p in leaking), "cwd")
    check(re.search(r"^tierpool check: .*leaky_list tag alpha \(in .*work dir\)", err, re.M),
          "text names the process:\n" + err)
    # Grouped: one line per command line, the clean one not among them.
    r = subprocess.run([A.tierpool, "check", "--lib", A.lib, "--group-by=cmdline", "--",
                        "/bin/bash", "-c", script], cwd=work, env=env(), capture_output=True,
                       text=True, timeout=lt.TIMEOUT)
    heads = [l for l in r.stderr.splitlines() if l.startswith("tierpool check: ") and "leak" in l]
    check(any("tag alpha" in l for l in heads) and any("tag beta" in l for l in heads)
          and not any(" clean" in l for l in heads), "grouped:\n" + r.stderr)
    # By stack: tagged_leak's stack once, with both command lines under it.
    r = subprocess.run([A.tierpool, "check", "--lib", A.lib, "--group-by=stack", "--",
                        "/bin/bash", "-c", script], cwd=work, env=env(), capture_output=True,
                       text=True, timeout=lt.TIMEOUT)
    check(re.search(r"#0 tagged_leak\+.*\n(    #.*\n)*    in 2 command lines: .*tag alpha; "
                    r".*tag beta", r.stderr), "by stack:\n" + r.stderr)


def case_inline(tmp):
    """Inlined frames: the symbolizer's inline chain, innermost first, with
    llvm-symbolizer (where installed) and with addr2line."""
    for which in ("llvm-symbolizer", "addr2line"):
        if which == "llvm-symbolizer" and not (shutil.which(which) or
                                               glob.glob("/usr/bin/llvm-symbolizer-*")):
            note("no llvm-symbolizer: addr2line only")
            continue
        inline_with(tmp, which)


def inline_with(tmp, which):
    # Every block not freed fails: a stale pointer to one of them (the
    # optimised code keeps them in a stack array) does not matter here.
    rc, rep, err = tp_check(tmp, [prog("inline_leak")], "--fail-on=reachable",
                            "--symbolizer", which)
    check(rc == 23, "status %d\n%s" % (rc, err))
    (p,) = rep["processes"]
    sts = [s for s in p["leaks"] if any(f["symbol"] == "build_table" for f in s["frames"])]
    check(sts and len(set(s["signature"] for s in sts)) == 1, "one stack: %r" % sts)
    st = dict(sts[0], blocks=sum(s["blocks"] for s in sts), bytes=sum(s["bytes"] for s in sts))
    names = [f["symbol"] for f in st["frames"][:4]]
    check(names == ["make_buffer", "fill_table", "build_table", "main"],
          "%s: frames %r" % (which, names))
    src = os.path.join(os.path.dirname(os.path.realpath(__file__)), "inline_leak.c")
    with open(src) as f:
        site = [i for i, l in enumerate(f, 1) if "TP_INLINE_SITE" in l][0]
    check(st["frames"][0]["file"].endswith("inline_leak.c:%d" % site),
          "%s: the malloc line %d: %r" % (which, site, st["frames"][0]))
    check(st["frames"][0].get("inlined") and st["frames"][1].get("inlined")
          and not st["frames"][2].get("inlined"), "inlined marks %r" % st["frames"][:3])
    check(re.search(r"#0 make_buffer .*inline_leak\.c:%d" % site, err), "text:\n" + err)
    check(st["blocks"] == 4 and st["bytes"] == 384, "%r" % st)


def case_glibc_state(tmp):
    """What glibc keeps until exit is suppressed by its internal names, so a
    program that frees what it owns passes, and one that does not fails."""
    rc, rep, err = tp_check(tmp, [prog("glibc_state")])
    left = [st["signature"] for p in rep["processes"] for st in p["leaks"] + p["passed"]]
    check(rc == 0 and not left, "glibc_state: status %d, left:\n  %s\n%s" % (
        rc, "\n  ".join(left), err))
    # The internal callees matched, not only public names: localtime_r and
    # mktime leave no frame of their own.
    sup = rep["suppressed"]
    for pat in ("^__add_to_environ$", "^__tz", "^_nl_", "^__nss_", "^gethostby"):
        check(pat in sup, "no stack went to %s: %r" % (pat, sorted(sup)))
    check(any(p in sup for p in ("^__gconv_lookup_cache$", "^__gconv_load_cache$",
                                 "^__gconv_find_shlib$")), "iconv: %r" % sorted(sup))
    rc, rep, err = tp_check(tmp, [prog("glibc_state"), "leak"])
    (p,) = rep["processes"]
    check(rc == 23 and [(s["blocks"], s["bytes"]) for s in p["leaks"]] == [(1, 77)],
          "the program's own block: %d %r\n%s" % (rc, p["leaks"], err))


if __name__ == "__main__":
    sys.exit(lt.tptest.main("leaks.check", globals(), lt.add_args))
