#!/usr/bin/python3
"""realprog_tests.py - `tierpool check` on everyday programs that free what
they must (they pass), the CMake helper, and side by side with
LeakSanitizer preloaded (liblsan.so.0), where it is installed.

  realprog_tests.py CASE --lib ... --bin ... (as leaks_tests.py) --source DIR

  real_NAME     `tierpool check -- PROGRAM` passes (NAME: a key of PROGRAMS), or
                for the programs LeakSanitizer finds leaking (OWN_LEAKS), fails
                only on stacks in the program's own code
  lsan_NAME     LeakSanitizer and tierpool agree on PROGRAM: both pass, or
                both find the same direct and indirect blocks per executable
  lsan_fixtures on the leaky fixtures, the same sites and block counts as
                LeakSanitizer, kind by kind
  cmake_helper  cmake/TierpoolCheck.cmake: under ctest the leaking test fails
                with the report, the others pass

LeakSanitizer's verdicts are direct and indirect leaks; tierpool's are the
same once the library classifies blocks (a `kind` per stack). Where the
dumps carry no kinds, every live block counts: the lsan_ cases then check
that tierpool's raw counts cover LeakSanitizer's and say so on stdout.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import leaks_tests as lt  # the sibling driver (this folder is on sys.path)
from leaks_tests import check, env, prog, tp_check

A = None  # the driver's options, set by tptest.main

HERE = os.path.dirname(os.path.realpath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
LSAN = next((p for p in ("/usr/lib/x86_64-linux-gnu/liblsan.so.0", "/usr/lib64/liblsan.so.0")
             if os.path.exists(p)), None)
# What LeakSanitizer needs to be comparable: full (DWARF) stacks, one log
# per process, leaks give 23.
LSAN_OPTIONS = "fast_unwind_on_malloc=0:malloc_context_size=30:exitcode=23:log_path=%s/lsan"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# ------------------------------------------------------- the programs
# Each returns (command, working directory, extra environment). They run in
# tmp; the work is real (files written, parsed, sorted, compiled).


PY_SCRIPT = """import json, re, collections, datetime
rows = [{"id": i, "name": "n%d" % i, "tags": ["t%d" % (i % 7)]} for i in range(2000)]
text = json.dumps(rows)
back = json.loads(text)
words = collections.Counter(re.findall(r"t\\d", text))
print(len(back), sorted(words.items())[:2], datetime.datetime(2024, 1, 2).strftime("%Y"))
"""


def p_python3_pymalloc(tmp):
    # CPython's own allocator keeps objects in arenas it maps itself.
    # LeakSanitizer does not scan them and reports the blocks only those
    # objects point to (6 blocks, the dict tables of static types); tierpool
    # scans the program's anonymous memory, as valgrind does, and passes.
    # No LSan side by side for this one: they disagree on purpose.
    return ["/usr/bin/python3", write(os.path.join(tmp, "work.py"), PY_SCRIPT)], tmp, {}


def p_python3(tmp):
    # PYTHONMALLOC=malloc puts every object on the heap: both tools see the
    # same blocks, and can be compared site by site.
    script = write(os.path.join(tmp, "work.py"), PY_SCRIPT)
    return ["/usr/bin/python3", script], tmp, {"PYTHONMALLOC": "malloc"}


def p_git(tmp):
    repo = os.path.join(tmp, "repo")
    os.mkdir(repo)
    g = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
         "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        if args[0] == "add":
            for i in range(20):
                write(os.path.join(repo, "f%d.txt" % i), "line %d\n" % i * (i + 1))
        subprocess.run(g + args, cwd=repo, check=True, capture_output=True, env=env())
    write(os.path.join(repo, "f3.txt"), "changed\n")
    write(os.path.join(repo, "new.txt"), "new\n")
    return ["git", "status"], repo, {}


def p_sqlite3(tmp):
    sql = ("create table t(a integer primary key, b text); "
           "with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000) "
           "insert into t(b) select 'row ' || x from c; "
           "create index tb on t(b); select count(*), max(b) from t where b like 'row 1%';")
    return ["sqlite3", os.path.join(tmp, "db.sqlite"), sql], tmp, {}


def p_perl(tmp):
    return ["perl", "-e", 'my %h; $h{$_ % 97} .= "x" for 1..5000; my @k = sort { $a <=> $b } '
            'keys %h; my $s = join(",", map { length $h{$_} } @k); $s =~ s/(\\d+)/<$1>/g; '
            'printf "%d %s\\n", scalar(@k), substr($s, 0, 20);'], tmp, {}


def p_sort(tmp):
    data = write(os.path.join(tmp, "in.txt"), "".join("%d line\n" % ((i * 7919) % 1000)
                                                     for i in range(5000)))
    return ["sort", "-n", "-u", data, "-o", os.path.join(tmp, "out.txt")], tmp, {}


def p_gcc(tmp):
    src = write(os.path.join(tmp, "unit.c"), "#include <stdio.h>\n#include <string.h>\n"
                "int count(const char *s) { return (int)strlen(s); }\n"
                "int main(void) { printf(\"%d\\n\", count(\"abc\")); return 0; }\n")
    return ["gcc", "-O2", "-c", src, "-o", os.path.join(tmp, "unit.o")], tmp, {}


def p_make(tmp):
    write(os.path.join(tmp, "in.txt"), "b\na\nc\na\n")
    write(os.path.join(tmp, "Makefile"), "all: counts.txt upper.txt\n"
          "counts.txt: in.txt\n\tgrep -v b in.txt | uniq -c > $@\n"
          "upper.txt: counts.txt\n\tsed 's/a/A/' $< > $@\n")
    return ["make", "-s"], tmp, {}


def p_bash(tmp):
    # coreutils sort, tr, tail and expr lose blocks (LeakSanitizer agrees):
    # the pipelines use programs that free theirs.
    return ["bash", "-c", "seq 1 3000 | grep 7 | sed s/7/x/ | cut -c1-3 | uniq | wc -l; "
            "for i in 1 2 3; do echo $i; done | paste -sd+ | bc"], tmp, {}


def p_ctest(tmp):
    build = os.path.join(tmp, "wordbag")
    for cmd in (["cmake", "-S", os.path.join(HERE, "cmake_project"), "-B", build],
                ["cmake", "--build", build]):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=lt.TIMEOUT)
        check(r.returncode == 0, "%s:\n%s%s" % (cmd, r.stdout, r.stderr))
    return ["ctest", "--output-on-failure"], build, {}


PROGRAMS = {"python3": p_python3, "python3_pymalloc": p_python3_pymalloc, "git": p_git, "sqlite3": p_sqlite3, "perl": p_perl,
            "sort": p_sort, "gcc": p_gcc, "make": p_make, "bash": p_bash, "ctest": p_ctest}


def check_run(tmp, cmd, cwd, extra, *opts):
    """`tierpool check OPTS -- CMD` in cwd: (status, report, stderr)."""
    rj = os.path.join(tmp, "report.json")
    r = subprocess.run([A.tierpool, "check", "--lib", A.lib, "--report-json", rj] +
                       list(opts) + ["--"] + cmd, cwd=cwd, env=dict(env(), **extra),
                       capture_output=True, text=True, timeout=lt.TIMEOUT * 3)
    with open(rj) as f:
        return r.returncode, json.load(f), r.stderr


def expect_pass(tmp, name, cmd, cwd, extra):
    rc, rep, err = check_run(tmp, cmd, cwd, extra)
    left = ["%s: %s" % (p.get("cmdline") or p.get("exe"), st["signature"][:160])
            for p in rep["processes"] for st in p["leaks"]]
    check(rc == 0, "%s under tierpool check: status %d, %d stacks left:\n  %s\n%s" % (
        name, rc, len(left), "\n  ".join(left[:15]), err[-3000:]))


# Programs in which LeakSanitizer finds real leaks of their own: they cannot
# pass; what tierpool leaves must be theirs (a frame in their own code), none
# of the C runtime's.
OWN_LEAKS = {
    "perl": "perl frees its interpreter at exit, not what hangs off it (valgrind: 30 blocks "
            "definitely lost, 16 indirectly; LeakSanitizer preloaded crashes in perl)",
    "sort": "coreutils sort never frees the array its main() gets from reallocarray "
            "(LeakSanitizer: 1 direct block, 48 bytes)",
    "gcc": "the gcc driver, cc1 and as lose blocks (cc1: LeakSanitizer finds the same 5 direct "
           "and 2 indirect, e.g. linemap_init's hash table; the driver and as: valgrind finds "
           "the same as tierpool, 16 and 2, 7 and 2)",
}


def expect_own_leaks(tmp, name, cmd, cwd, extra):
    rc, rep, err = check_run(tmp, cmd, cwd, extra)
    print("note: %s: %s; tierpool check: status %d" % (name, OWN_LEAKS[name], rc))
    for p in rep["processes"]:
        exe = os.path.realpath(p.get("exe") or "?")
        for st in p["leaks"]:
            check(any(f.get("module") and os.path.realpath(f["module"]) == exe
                      for f in st["frames"][:-1]) and not st["signature"].startswith("?@ld-"),
                  "a stack of the runtime's, not %s's: %s\n%s"
                  % (exe, st["signature"], err[-3000:]))


def real_case(name):
    def case(tmp):
        (expect_own_leaks if name in OWN_LEAKS else expect_pass)(tmp, name, *PROGRAMS[name](tmp))
    return case


# ------------------------------------------------------- LeakSanitizer

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ (?:in (.+?) (?:/\S+|\.\S+|\(.*\))$|\s*\((.*)\)$)")
HEAD = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)")
ALLOC = re.compile(r"^(__interceptor_|operator new|malloc$|calloc$|realloc$|"
                   r"strn?dup$|__strn?dup$|xmalloc$|xcalloc$|xrealloc$)")


def lsan_run(tmp, cmd, cwd, extra):
    """Runs cmd with liblsan preloaded: (status, {pid: {(kind, site): blocks}})
    or (None, reason) when LeakSanitizer cannot run it."""
    logs = os.path.join(tmp, "lsan-logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.mkdir(logs)
    e = dict(env(), LD_PRELOAD=LSAN, LSAN_OPTIONS=LSAN_OPTIONS % logs, **extra)
    r = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=lt.TIMEOUT * 3)
    if r.returncode < 0 or r.returncode == 128 + 11 or "Segmentation fault" in r.stderr:
        return None, "LeakSanitizer preloaded dies in %s (status %d)" % (cmd[0], r.returncode)
    out = {}
    for path in glob.glob(os.path.join(logs, "lsan.*")):
        pid = int(path.rsplit(".", 1)[1])
        out[pid] = lsan_sites(open(path, errors="replace").read())
    return r.returncode, out


def lsan_sites(text):
    """(kind, innermost frame not in an allocator) -> blocks, from a log."""
    sites, kind, n, site = {}, None, 0, None
    for line in text.splitlines() + [""]:
        h = HEAD.match(line)
        m = FRAME.match(line)
        if h or not line.strip():
            if kind:
                sites[(kind, site or "?")] = sites.get((kind, site), 0) + n
            kind, n, site = (h.group(1).lower(), int(h.group(3)), None) if h else (None, 0, None)
        elif m and kind and site is None:
            fn = m.group(2)
            if fn is None or not ALLOC.match(fn):
                site = fn or "?"
    return sites


def tp_sites(proc, keys=("leaks", "passed")):
    """The same map from one process of a tierpool check report."""
    sites = {}
    for key in keys:
        for st in proc.get(key, []):
            fn = next((f["symbol"] for f in st["frames"] if not ALLOC.match(f["symbol"] or "")),
                      None)
            k = (st.get("kind") or "live", fn or "?")
            sites[k] = sites.get(k, 0) + st["blocks"]
    return sites


def compare(lsan, tp, classified, where):
    """LeakSanitizer's direct and indirect sites against tierpool's: equal
    kind by kind once classified, else covered by the raw counts."""
    if classified:
        mine = {k: v for k, v in tp.items() if k[0] in ("direct", "indirect")}
        # LeakSanitizer symbolizes at exit: a library closed before that has
        # no names ('?'). Those blocks must be tierpool's sites it cannot name.
        for kind in ("direct", "indirect"):
            unnamed = lsan.get((kind, "?"), 0)
            if unnamed:
                named = set(site for _, site in lsan)
                extra = [k for k in mine if k[0] == kind and k[1] not in named]
                check(sum(mine[k] for k in extra) == unnamed, "%s: LeakSanitizer's %d unnamed "
                      "%s blocks against tierpool's %r" % (where, unnamed, kind, extra))
                lsan = {k: v for k, v in lsan.items() if k != (kind, "?")}
                mine = {k: v for k, v in mine.items() if k not in extra}
        # Both scans are conservative: a stale copy of a leaked pointer (a
        # register, a stack slot the exit path never wrote) keeps a block
        # "still reachable". tierpool reads its exit thread's stack from the
        # destructor's frame up, past its own frames (stats/leak_scan.c), and
        # must match; one block per site is allowed where LeakSanitizer has
        # fewer (a stale pointer on its side). Anything else is a difference.
        diff = []
        for k in sorted(set(mine) | set(lsan)):
            m, l = mine.get(k, 0), lsan.get(k, 0)
            if m == l or (m == l + 1 and l > 0):
                if m != l:
                    print("note: %s: %s %s: %d blocks, LeakSanitizer %d (a stale pointer)"
                          % (where, k[0], k[1], m, l))
                continue
            diff.append(k)
        check(not diff, "%s: sites and blocks differ from LeakSanitizer's at %r:\n lsan     %r\n"
              " tierpool %r" % (where, diff, sorted(lsan.items()), sorted(mine.items())))
        return
    raw = {}
    for (_, site), n in tp.items():
        raw[site] = raw.get(site, 0) + n
    for (kind, site), n in lsan.items():
        if site == "?":
            continue
        check(raw.get(site, 0) >= n, "%s: LeakSanitizer's %s leak of %d blocks at %s is not "
              "covered: tierpool has %r" % (where, kind, n, site, raw))


def is_classified(rep):
    return any(st.get("kind") not in (None, "live")
               for p in rep["processes"] for k in ("leaks", "passed") for st in p.get(k, []))


def lsan_case(name):
    def case(tmp):
        if not LSAN:
            raise lt.tptest.Skip("liblsan.so.0 is not installed")
        # Each tool runs on a fresh copy of the work (make, for one, would
        # have nothing left to do the second time).
        for sub in ("lsan", "tierpool"):
            os.mkdir(os.path.join(tmp, sub))
        cmd, cwd, extra = PROGRAMS[name](os.path.join(tmp, "lsan"))
        status, lsan = lsan_run(tmp, cmd, cwd, extra)
        if status is None:
            print("note: %s; tierpool alone must pass" % lsan)
            (expect_own_leaks if name in OWN_LEAKS else expect_pass)(tmp, name, cmd, cwd, extra)
            return
        lsan_leaks = sum(sum(x.values()) for x in lsan.values())
        cmd, cwd, _ = PROGRAMS[name](os.path.join(tmp, "tierpool"))
        rc, rep, err = check_run(tmp, cmd, cwd, extra)
        classified = is_classified(rep)
        print("LeakSanitizer: status %d, %d leaked blocks; tierpool check: status %d%s" % (
            status, lsan_leaks, rc, "" if classified else " (no kinds in the dumps)"))
        if not classified:
            # Raw counts cover LeakSanitizer's: when it finds leaks, so do we.
            check(not lsan_leaks or rc == 23, "LeakSanitizer finds leaks, tierpool none:\n"
                  + err[-3000:])
            return
        # LeakSanitizer's verdict is its logs: in a pipeline, the status of
        # a leaking process may be lost.
        check(bool(lsan_leaks) == (rc == 23), "verdicts differ: LeakSanitizer %d blocks, "
              "tierpool status %d\n%s" % (lsan_leaks, rc, err[-3000:]))
        # Process by process (pids differ between the runs): the same direct
        # and indirect block counts.
        def kinds(sites):
            return (sum(n for (k, _), n in sites.items() if k == "direct"),
                    sum(n for (k, _), n in sites.items() if k == "indirect"))
        # Each process LeakSanitizer finds leaking has a tierpool process
        # with at least its direct and indirect blocks; where tierpool finds
        # more, LeakSanitizer missed them (valgrind agrees with tierpool on
        # gcc's driver and as: docs/leaks.md).
        ls = sorted((kinds(x) for x in lsan.values() if x), key=sum, reverse=True)
        mine = [kinds(tp_sites(p, ("leaks",))) for p in rep["processes"] if p["leaks"]]
        for d, i in ls:
            match = [m for m in mine if m[0] >= d and m[1] >= i]
            check(match, "LeakSanitizer's process with %d direct and %d indirect blocks has no "
                  "match in tierpool's %r" % (d, i, mine))
            mine.remove(min(match, key=sum))
        if mine:
            print("note: tierpool finds leaks LeakSanitizer does not report: %r" % mine)
    return case


def case_lsan_fixtures(tmp):
    if not LSAN:
        raise lt.tptest.Skip("liblsan.so.0 is not installed")
    runs = [([prog("leaky_list"), "list", "10"], {"list_node"}),
            ([prog("leaky_list"), "mixed", "6"], {"list_node", "lone_leak"}),
            ([prog("leaky_list"), "reachable"], set()),
            ([prog("leaky"), "all"], None), ([prog("leaky_cxx"), "all"], None)]
    classified = None
    for cmd, want_sites in runs:
        status, lsan = lsan_run(tmp, cmd, tmp, {})
        check(status is not None, "LeakSanitizer: %s" % lsan)
        rc, rep, err = tp_check(tmp, cmd)
        classified = is_classified(rep) if rep["processes"] else classified
        # LeakSanitizer writes a log only when it finds leaks.
        logs = [lsan[pid] for pid in sorted(lsan)]
        procs = sorted(rep["processes"], key=lambda p: p["pid"])
        if len(procs) == 1 and not logs:
            logs = [{}]
        check(len(logs) == len(procs), "%s: %d processes under LeakSanitizer, %d under "
              "tierpool" % (cmd, len(logs), len(procs)))
        for i, (ls, p) in enumerate(zip(logs, procs)):
            mine = tp_sites(p)
            if want_sites is not None and i == 0:
                check(set(s for _, s in ls) == want_sites, "LeakSanitizer's sites for %s: %r"
                      % (cmd, ls))
            if i > 0:
                # A forked child: LeakSanitizer reports its parent's blocks
                # too; tierpool the child's own. Compare the child's sites.
                own = set(s for _, s in mine)
                ls = {k: v for k, v in ls.items() if k[1] in own}
            compare(ls, mine, classified, "%s (process %d)" % (" ".join(cmd[1:]) or cmd[0], i))
    if not classified:
        print("note: no kinds in the dumps: LeakSanitizer's sites checked against raw counts")


def case_cmake_helper(tmp):
    build = os.path.join(tmp, "wordbag")
    r = subprocess.run(["cmake", "-S", os.path.join(HERE, "cmake_project"), "-B", build,
                        "-DWORDBAG_LEAKY_TEST=ON", "-DWORDBAG_TIERPOOL_CHECK=ON",
                        "-DCMAKE_MODULE_PATH=" + os.path.join(SOURCE, "cmake"),
                        "-DTIERPOOL_EXECUTABLE=" + A.tierpool, "-DTIERPOOL_LIBRARY=" + A.lib],
                       capture_output=True, text=True, env=env(), timeout=lt.TIMEOUT)
    check(r.returncode == 0, r.stdout + r.stderr)
    r = subprocess.run(["cmake", "--build", build], capture_output=True, text=True, env=env(),
                       timeout=lt.TIMEOUT)
    check(r.returncode == 0, r.stdout + r.stderr)
    r = subprocess.run(["ctest", "--output-on-failure"], cwd=build, capture_output=True,
                       text=True, env=env(), timeout=lt.TIMEOUT * 2)
    out = r.stdout + r.stderr
    failed = re.findall(r"^\s*\d+ - (\S+) \(", out, re.M)
    check(failed == ["wordbag.leaky"], "only the leaking test fails: %r\n%s" % (failed, out))
    check(re.search(r"forget_a_bag", out) and "wordbag_test leak" in out,
          "its report names the stack and the test's command line:\n" + out)
    check(re.search(r"wordbag\.pipeline \.+ +Passed", out), "the pipeline test ran:\n" + out)
    r = subprocess.run(["ctest", "-N", "-V", "-R", "wordbag.count"], cwd=build, capture_output=True,
                       text=True, env=env(), timeout=lt.TIMEOUT)
    check(re.search(r"Test command: .*tierpool.* \"check\"", r.stdout), "wrapped:\n" + r.stdout)


for _name in PROGRAMS:
    globals()["case_real_" + _name] = real_case(_name)
    globals()["case_lsan_" + _name] = lsan_case(_name)


if __name__ == "__main__":
    sys.exit(lt.tptest.main("leaks", globals(), lt.add_args))
