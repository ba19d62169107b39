#!/usr/bin/python3
"""cli_tests.py - the tierpool command as a user meets it: errors, version,
man page, completion, the install tree (run from outside the checkout,
pkg-config, find_package), configuring without Criterion, and `bench`.

  cli_tests.py CASE --lib libtierpool.so --tierpool scripts/tierpool
               --build BUILD_DIR --source SOURCE_DIR --version X.Y.Z
"""

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys

import tptest
from tptest import Skip, check

A = None  # the driver's arguments (set by tptest.main)


def tp(*argv, cwd=None, e=None, timeout=tptest.TIMEOUT):
    return tptest.run([A.tierpool] + list(argv), e=e, cwd=cwd, timeout=timeout)


def real_dump(tmp, name="d.json"):
    """A JSON dump of a real program (ls) under the preload."""
    path = os.path.join(tmp, name)
    r = tp("run", "--lib", A.lib, "--stats", path, "--format", "json", "--", "ls", "/")
    check(r.returncode == 0 and os.path.isfile(path), "tierpool run failed: %s" % r.stderr)
    return path


def no_traceback(r, what):
    check("Traceback" not in r.stderr and "Traceback" not in r.stdout,
          "%s: a traceback:\n%s" % (what, r.stderr))


# ---------------------------------------------------------------- errors


def case_errors(tmp):
    """Every bad input ends in one line (and the usage, for a bad command
    line), never a traceback."""
    dump = real_dump(tmp)
    files = {"notjson": "{\"tiers\": [1, 2", "notdump": "{\"a\": 1}",
             "wrongtype": "{\"tiers\": \"many\"}", "binary": b"\xff\xfe\x00",
             "empty": ""}
    for name, data in files.items():
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    f = lambda n: os.path.join(tmp, n)  # noqa: E731
    one_line = [  # (argv, status): a file that cannot be used
        (["show", f("missing.json")], 1), (["show", tmp], 1), (["show", f("notjson")], 1),
        (["show", f("notdump")], 1), (["show", f("wrongtype")], 1), (["show", f("binary")], 1),
        (["show", f("empty")], 1), (["show", "--index", "7", dump], 1),
        (["diff", dump, f("missing.json")], 1), (["diff", f("wrongtype"), dump], 1),
        (["check", "--lib", A.lib, "--suppressions", f("missing.supp"), "--", "true"], 1),
        (["check", "--lib", A.lib, "--baseline", tmp, "--", "true"], 1),
        (["check", "--lib", A.lib, "--report-json", f("no/such/dir.json"), "--", "true"], 1),
        (["top", "999999999"], 1),
        (["run", "--lib", f("missing.so"), "--", "true"], 1),
        (["bench", "-n", "1", "--", "false"], 1),
        (["bench", "-n", "1", "--", f("no-such-program")], 1),
        (["bench", "-n", "1", "--chart", f("no/dir/c.svg"), "--alloc", "glibc", "--", "true"], 1),
        (["bench", "-n", "1", "--chart", f("c.png"), "--alloc", "glibc", "--", "true"],
         0 if have_matplotlib() else 1),
    ]
    for argv, status in one_line:
        r = tp(*argv)
        no_traceback(r, argv)
        lines = r.stderr.strip().split("\n")
        check(r.returncode == status and len(lines) == 1 and lines[0].startswith("tierpool"),
              "tierpool %s: status %d (want %d), stderr not one line:\n%s"
              % (" ".join(argv), r.returncode, status, r.stderr))
    usage = [  # a bad command line: the subcommand's usage and one error line
        ["show"], ["show", "--bogus", dump], ["run", "--bogus", "--", "true"],
        ["show", "--index", "x", dump], ["diff", dump],
        ["top"], ["top", "abc"], ["top", "1", "--delay", "nan"], ["top", "1", "--count", "-1"],
        ["run"], ["run", "--"], ["run", "--format", "xml", "--", "true"], ["check"],
        ["check", "--exitcode", "300", "--", "true"], ["check", "--update-baseline", "--", "true"],
        ["bench"], ["bench", "-n", "0", "--", "true"], ["bench", "--alloc", "nosuch", "--", "true"],
        ["bench", "--timeout", "0", "--", "true"],
    ]
    for argv in usage:
        r = tp(*argv)
        no_traceback(r, argv)
        lines = r.stderr.strip().split("\n")
        check(r.returncode == 2 and lines[0].startswith("usage: tierpool %s " % argv[0]) and
              lines[-1].startswith("tierpool %s: error: " % argv[0]),
              "tierpool %s: status %d, want 2 with its usage:\n%s"
              % (" ".join(argv), r.returncode, r.stderr))
    for argv in (["bogus"], ["--bogus"], []):
        r = tp(*argv)
        no_traceback(r, argv)
        check(r.returncode == 2 and r.stderr.startswith("usage: tierpool "),
              "tierpool %s: %d %s" % (argv, r.returncode, r.stderr))
    malformed_dumps(tmp, dump)


def have_matplotlib():
    return tptest.run([tptest.PY, "-c", "import matplotlib"]).returncode == 0


def malformed_dumps(tmp, dump):
    """Each field of a real dump removed, or given a value of another type:
    show and diff refuse the file in one line or render it."""
    cli = load_cli().cli
    with open(dump, encoding="utf-8") as fp:
        d = json.loads(fp.read().strip().split("\n")[-1])
    variants = []
    for key in list(d):
        for value in (None, "x", [], {}, -1, 2**70):
            variants.append((key, dict(d, **{key: value})))
        variants.append((key, {k: v for k, v in d.items() if k != key}))
    tier = next(t for t in d["tiers"] if t["get"])
    for key in tier:
        for value in (None, "x", [], -1):
            t2 = dict(tier, **{key: value})
            variants.append(("tiers." + key, dict(d, tiers=[t2 if t is tier else t
                                                            for t in d["tiers"]])))
    path = os.path.join(tmp, "variant.json")
    for key, v in variants:
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(v, fp)
        for argv in (["show", path], ["diff", dump, path], ["diff", path, dump]):
            out, err = io.StringIO(), io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    rc = cli.entry(argv)
            except SystemExit as e:
                rc = e.code
                check(isinstance(rc, str) and "\n" not in rc and rc.startswith("tierpool: "),
                      "%s with field %s changed: exit %r" % (argv[0], key, rc))
            except Exception as e:  # the bug this case is here for
                tptest.fail("tierpool %s with dump field %s changed raised %r" % (argv[0], key, e))
            check(rc != 0 or out.getvalue(), "%s %s: status 0 and no output" % (argv[0], key))


# --------------------------------------------------- version, man, completion


def case_version(tmp):
    r = tp("--version")
    check(r.returncode == 0 and r.stdout.strip() == "tierpool " + A.version,
          "tierpool --version printed %r, the project is version %s" % (r.stdout, A.version))


def subcommand_options():
    """{subcommand: [its option strings]} as `tierpool SUB --help` lists them."""
    r = tp("--help")
    subs = re.findall(r"^    (\w+)\s", r.stdout, re.M)
    check(len(subs) >= 5, "tierpool --help lists no subcommands:\n%s" % r.stdout)
    out = {}
    for s in subs:
        h = tp(s, "--help").stdout
        opts = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", h.split("options:")[-1])
        out[s] = sorted(set(opts) - {"--help"})
    return out


def case_man(tmp):
    page = os.path.join(A.build, "tierpool.1")
    check(os.path.isfile(page), "the build made no man page %s" % page)
    r = tptest.run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
    check(r.returncode == 0 and not r.stderr, "groff warns on the man page:\n%s" % r.stderr)
    e = dict(os.environ, MANWIDTH="200")
    r = tptest.run(["man", "-l", page], e=e)
    check(r.returncode == 0, "man -l failed: %s" % r.stderr)
    text = re.sub(r".\x08", "", r.stdout).replace("\u2010", "-")
    for sub, opts in subcommand_options().items():
        check(re.search(r"^\s+tierpool %s " % sub, text, re.M),
              "the man page has no section for %s" % sub)
        section = text.split("tierpool %s " % sub, 1)[1]
        for o in opts:
            check(o in section, "the man page does not describe %s %s" % (sub, o))
    check("ENVIRONMENT" in text and "TIERPOOL_LIB" in text and "EXIT STATUS" in text,
          "the man page lacks its ENVIRONMENT or EXIT STATUS section")


def complete(script, words, cwd):
    """What bash completes for the words (the last one being typed)."""
    quoted = " ".join("'%s'" % w for w in words)
    r = tptest.run(["bash", "--norc", "-c", 'source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; '
                    '_tierpool; printf "%%s\\n" "${COMPREPLY[@]}"' % (quoted, len(words) - 1),
                    "bash", script], cwd=cwd)
    check(r.returncode == 0 and not r.stderr, "completion failed: %s" % r.stderr)
    return sorted(w for w in r.stdout.split("\n") if w)


def case_completion(tmp):
    script = os.path.join(A.build, "tierpool.bash")
    check(os.path.isfile(script), "the build made no bash completion %s" % script)
    subs = subcommand_options()
    got = complete(script, ["tierpool", ""], tmp)
    check(set(subs) <= set(got) and "--version" in got, "subcommands: %s" % got)
    check(complete(script, ["tierpool", "sh"], tmp) == ["show"], "'sh' does not complete to show")
    for sub, opts in subs.items():
        got = complete(script, ["tierpool", sub, "--"], tmp)
        check(set(opts) <= set(got), "tierpool %s --<TAB>: %s, want %s" % (sub, got, opts))
    open(os.path.join(tmp, "dump-a.json"), "w").close()
    check(complete(script, ["tierpool", "show", "dump-"], tmp) == ["dump-a.json"],
          "show does not complete file names")
    check(complete(script, ["tierpool", "run", "--format", "j"], tmp) == ["json"],
          "--format does not complete its choices")
    check("ls" in complete(script, ["tierpool", "run", "--live", "--", "l"], tmp),
          "the command after -- does not complete from the PATH")
    check(complete(script, ["tierpool", "check", "--", "ls", "dump"], tmp) == ["dump-a.json"],
          "the command's arguments do not complete as files")
    pid = os.getpid()
    live = "/dev/shm/tierpool.%d" % pid
    with open(live, "w"):
        pass
    try:
        check(str(pid) in complete(script, ["tierpool", "top", ""], tmp),
              "top does not offer the pids with a live file")
    finally:
        os.unlink(live)


# -------------------------------------------------------------- install


CONSUMER = """cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(tierpool 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE tierpool::tierpool)
if(NOT EXISTS "${TIERPOOL_EXECUTABLE}")
  message(FATAL_ERROR "TIERPOOL_EXECUTABLE: ${TIERPOOL_EXECUTABLE}")
endif()
"""
# With the package's TierpoolCheck module: the consumer's test runs under
# `tierpool check` from the install.
CONSUMER_CHECK = """enable_testing()
include(TierpoolCheck)
tierpool_add_leak_test(NAME consumer.no_leaks COMMAND consumer)
"""
CONSUMER_C = """#include <stdio.h>
#include <stdlib.h>
#include <tierpool.h>
int main(void) {
  void *volatile p = malloc(100);
  free(p);
  tierpool_stats_t s;
  if (tierpool_stats(&s) != 0) return 1;
  printf("gets %llu\\n", (unsigned long long)s.total_get);
  return s.total_get > 0 ? 0 : 2;
}
"""


def case_install(tmp):
    """cmake --install into a temporary prefix; everything works from
    there, from a directory outside the checkout."""
    prefix = os.path.join(tmp, "prefix")
    r = tptest.run(["cmake", "--install", A.build, "--prefix", prefix], timeout=120)
    check(r.returncode == 0, "cmake --install failed:\n%s%s" % (r.stdout, r.stderr))
    exe = os.path.join(prefix, "bin", "tierpool")
    outside = os.path.join(tmp, "elsewhere")
    os.mkdir(outside)
    e = tptest.env(preload=False)
    e["PATH"] = "/usr/bin:/bin"
    r = tptest.run([exe, "--version"], e=e, cwd=outside)
    check(r.returncode == 0 and r.stdout.strip() == "tierpool " + A.version,
          "installed tierpool --version: %s %s" % (r.stdout, r.stderr))
    r = tptest.run([exe, "run", "--", "sh", "-c", 'echo "$LD_PRELOAD"'], e=e, cwd=outside)
    lib = r.stdout.strip()
    check(r.returncode == 0 and lib.startswith(os.path.realpath(prefix) + "/"),
          "the installed tierpool preloads %r, not the installed library: %s" % (lib, r.stderr))
    dump = os.path.join(outside, "d.json")
    r = tptest.run([exe, "run", "--stats", dump, "--format", "json", "--", "ls"], e=e, cwd=outside)
    check(r.returncode == 0 and os.path.isfile(dump), "installed run wrote no dump: %s" % r.stderr)
    r = tptest.run([exe, "show", dump], e=e, cwd=outside)
    check(r.returncode == 0 and r.stdout.startswith("tierpool exit dump: pid"),
          "installed show: %s" % r.stderr)
    for rel in ("share/man/man1/tierpool.1", "share/bash-completion/completions/tierpool"):
        check(os.path.isfile(os.path.join(prefix, rel)), "not installed: %s" % rel)
    check(not any("__pycache__" in d for d, _, _ in os.walk(prefix)),
          "the installed tierpool wrote bytecode into the install tree")
    r = tptest.run([exe, "bench", "-n", "1", "--alloc", "tierpool", "--", "ls"], e=e, cwd=outside)
    check(r.returncode == 0 and re.search(r"^tierpool +\d", r.stdout, re.M),
          "the installed tierpool bench: %s%s" % (r.stdout, r.stderr))
    pkg_config(prefix)
    find_package(tmp, prefix)


def pkg_config(prefix):
    pcdir = next(d for d, _, files in os.walk(prefix) if "tierpool.pc" in files)
    e = dict(os.environ, PKG_CONFIG_PATH=pcdir, PKG_CONFIG_LIBDIR=pcdir)
    r = tptest.run(["pkg-config", "--variable=prefix", "tierpool"], e=e)
    check(r.returncode == 0 and r.stdout.strip() == prefix,
          "tierpool.pc names prefix %r, installed to %r" % (r.stdout.strip(), prefix))
    r = tptest.run(["pkg-config", "--cflags", "--libs", "tierpool"], e=e)
    check("-I%s/include" % prefix in r.stdout and "-L%s/" % prefix in r.stdout,
          "pkg-config --cflags --libs tierpool: %s" % r.stdout)


def find_package(tmp, prefix):
    """A tiny project with find_package(tierpool), built and run."""
    src, build = os.path.join(tmp, "consumer"), os.path.join(tmp, "consumer-build")
    os.mkdir(src)
    with_check = os.path.isfile(os.path.join(A.source, "cmake", "TierpoolCheck.cmake"))
    lists = CONSUMER + (CONSUMER_CHECK if with_check else "")
    for name, text in (("CMakeLists.txt", lists), ("main.c", CONSUMER_C)):
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    e = tptest.env(preload=False)
    e["CMAKE_PREFIX_PATH"] = prefix
    r = tptest.run(["cmake", "-S", src, "-B", build], e=e, timeout=120)
    check(r.returncode == 0, "find_package(tierpool) failed:\n%s%s" % (r.stdout, r.stderr))
    r = tptest.run(["cmake", "--build", build], e=e, timeout=120)
    check(r.returncode == 0, "the consumer does not build:\n%s%s" % (r.stdout, r.stderr))
    r = tptest.run([os.path.join(build, "consumer")], e=e)
    check(r.returncode == 0 and r.stdout.startswith("gets "),
          "the consumer linked to tierpool::tierpool: status %d %s%s"
          % (r.returncode, r.stdout, r.stderr))
    r = tptest.run(["ldd", os.path.join(build, "consumer")], e=e)
    check(os.path.realpath(prefix) in r.stdout or prefix in r.stdout,
          "the consumer does not load the installed libtierpool:\n%s" % r.stdout)
    if with_check:
        r = tptest.run(["ctest", "-V"], e=e, cwd=build, timeout=120)
        check(r.returncode == 0 and "tierpool check: passed" in r.stdout,
              "the consumer's test under the installed TierpoolCheck:\n%s%s"
              % (r.stdout, r.stderr))


def case_no_criterion(tmp):
    """TIERPOOL_TESTS=OFF configures without looking for Criterion."""
    build = os.path.join(tmp, "build")
    r = tptest.run(["cmake", "-S", A.source, "-B", build, "-DTIERPOOL_TESTS=OFF"], timeout=180)
    check(r.returncode == 0, "configuring with TIERPOOL_TESTS=OFF failed:\n%s" % r.stderr)
    with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as f:
        cache = f.read()
    check(not re.search(r"^CRITERION", cache, re.M | re.I),
          "TIERPOOL_TESTS=OFF still looks for Criterion")
    check("add_test" not in open(os.path.join(build, "CTestTestfile.cmake")).read()
          if os.path.exists(os.path.join(build, "CTestTestfile.cmake")) else True,
          "TIERPOOL_TESTS=OFF still defines tests")


# ----------------------------------------------------------------- bench

SQL = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) "
       "SELECT count(*), sum(length(printf('%0100d', x))) FROM c;")


def case_bench(tmp):
    """tierpool bench -n 3 -- sqlite3: a row per allocator installed, a
    note per allocator skipped, the chart, the SVG and the JSON."""
    if not shutil.which("sqlite3"):
        raise Skip("sqlite3 is not installed (scripts/setup installs it)")
    svg, js = os.path.join(tmp, "c.svg"), os.path.join(tmp, "r.json")
    r = tp("bench", "-n", "3", "--lib", A.lib, "--chart", svg, "--json", js, "--",
           "sqlite3", ":memory:", SQL, timeout=600)
    check(r.returncode == 0,
          "tierpool bench failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    out = r.stdout
    bench = load_cli().bench
    installed = ["glibc", "tierpool"] + [n for n, so, _ in bench.PEERS if bench.find_peer(so)]
    head = next((l for l in out.split("\n") if l.startswith("allocator ")), "")
    cols = head.split()
    check(cols[:1] == ["allocator"] and head.count("x glibc") == 3 and head.count("spread") == 3
          and "wall" in cols and "user+sys" in cols and "peak RSS" in head,
          "the table's header: %r" % head)
    for name in installed:
        row = re.search(r"^%s +(\d+\.\d+) s +\d+%% +(\d+\.\d\d)~? +(\d+\.\d+) s +\d+%% +"
                        r"(\d+\.\d\d)~? +(\d+\.\d) MiB +\d+%% +(\d+\.\d\d)~?$" % name, out,
                        re.M)
        check(row, "no well-formed row for %s:\n%s" % (name, out))
        if name == "glibc":
            check(row.group(2) == row.group(4) == row.group(6) == "1.00",
                  "glibc's ratios to itself are not 1.00: %s" % row.group(0))
        check(float(row.group(5)) > 0.5, "%s: a peak RSS below 0.5 MiB" % name)
    for name, so, pkg in bench.PEERS:
        if name not in installed:
            check(re.search(r"^%s skipped: %s not found" % (name, re.escape(so)), out, re.M),
                  "no note that %s was skipped" % name)
    for title in ("wall", "user+sys", "peak RSS"):
        block = out.split("%s, x glibc" % title, 1)
        check(len(block) == 2, "no %s chart" % title)
        bars = [l for l in block[1].split("\n")[1:len(installed) + 1]]
        check(all(re.match(r"^  \S+ +\S+.* \d+\.\d\d$", l) for l in bars),
              "the %s chart: %s" % (title, bars))
    import xml.etree.ElementTree as ET
    rects = [e for e in ET.parse(svg).iter() if e.tag.endswith("rect")]
    check(len(rects) == 1 + 3 * len(installed), "the SVG has %d bars for %d allocators"
          % (len(rects) - 1, len(installed)))
    with open(js, encoding="utf-8") as f:
        data = json.load(f)
    check([a["name"] for a in data["allocators"]] == installed and
          all(len(a["runs"]) == 3 and all(x["wall_s"] > 0 for x in a["runs"])
              for a in data["allocators"]), "the JSON: %s" % data)
    check(data["allocators"][1]["library"] == os.path.realpath(A.lib),
          "tierpool bench did not preload --lib")
    if have_matplotlib():  # python3-matplotlib comes with scripts/setup --bench
        png = os.path.join(tmp, "c.png")
        r = tp("bench", "-n", "1", "--alloc", "tierpool", "--lib", A.lib, "--chart", png, "--",
               "sqlite3", ":memory:", SQL)
        with open(png, "rb") as f:
            check(r.returncode == 0 and f.read(8) == b"\x89PNG\r\n\x1a\n",
                  "--chart c.png wrote no PNG: %s" % r.stderr)


def case_bench_failure(tmp):
    """A run that fails or times out under one allocator is a FAILED row
    and status 1; the other allocators are still measured."""
    script = '[ -n "$LD_PRELOAD" ] && sleep 30; true'  # hangs under any preload
    r = tp("bench", "-n", "2", "--quiet", "--timeout", "1", "--alloc", "tierpool", "--lib", A.lib,
           "--", "sh", "-c", script, timeout=120)
    no_traceback(r, "bench")
    check(r.returncode == 1 and re.search(r"^glibc +\d", r.stdout, re.M) and
          re.search(r"^tierpool +FAILED: timed out after 1 s$", r.stdout, re.M),
          "a timed-out allocator: status %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    r = tp("bench", "-n", "1", "--quiet", "--alloc", "tierpool", "--lib", A.lib, "--", "sh", "-c",
           '[ -n "$LD_PRELOAD" ] && exit 3; true')
    check(r.returncode == 1 and re.search(r"^tierpool +FAILED: exit status 3$", r.stdout, re.M),
          "a failing allocator: status %d\n%s" % (r.returncode, r.stdout))


def load_cli():
    sys.path.insert(0, os.path.dirname(os.path.realpath(A.tierpool)))
    import tierpool_cli.bench
    import tierpool_cli.cli
    return tierpool_cli


def case_bench_skip(tmp):
    """An allocator not installed is skipped with a note; --alloc picks;
    the launcher is the one of the library's build tree."""
    bench = load_cli().bench
    bench.lib_dirs = lambda: [tmp]  # where no peer is installed
    args = argparse.Namespace(alloc=None, lib=A.lib)
    allocs, notes = bench.allocators(args)
    check([n for n, _ in allocs] == ["glibc", "tierpool"], "allocators: %s" % allocs)
    check(len(notes) == len(bench.PEERS) and all("skipped" in n and "installs nothing" in n
                                                  for n in notes), "notes: %s" % notes)
    os.symlink("/lib/x86_64-linux-gnu/libc.so.6", os.path.join(tmp, bench.PEERS[1][1]))
    args.alloc = "tierpool,%s" % bench.PEERS[1][0]
    allocs, notes = bench.allocators(args)
    check([n for n, _ in allocs] == ["glibc", "tierpool", bench.PEERS[1][0]] and not notes,
          "--alloc %s: %s %s" % (args.alloc, allocs, notes))
    bench.LAUNCH_DIRS[:] = []  # any build directory: the launcher beside the library
    check(bench.find_launcher(os.path.realpath(A.lib)) ==
          os.path.join(os.path.dirname(os.path.realpath(A.lib)), "bench", "launch") and
          bench.find_launcher(None) is None, "the launcher is not found beside --lib")


def case_bench_quick_verdicts(tmp):
    """scripts/bench --quick runs are too short for a verdict: its report
    and its log carry none."""
    sys.path.insert(0, os.path.join(A.source, "bench"))
    from tpbench import report
    from tpbench.measure import Result
    for quick, runs, wall, want in ((True, 1, 0.01, False), (False, 1, 0.01, False),
                                    (True, 3, 0.5, False), (False, 3, 0.5, True)):
        results = {a: [Result(wall, wall, 2000, None)] * runs for a in ("glibc", "tierpool")}
        case = {"name": "pool_loop", "kind": "workload", "about": "", "threads": 1, "size": 1,
                "in_geomean": True, "results": results, "command": "x"}
        report.summarize(case)
        data = {"machine": {k: "?" for k in ("cpu", "nproc", "kernel", "glibc", "tierpool",
                                             "date")},
                "config": {"argv": " --quick" if quick else "", "runs": runs, "quick": quick},
                "allocators": [{"name": a, "lib": None, "version": "?"} for a in results],
                "cases": [case], "skipped": []}
        data["targets"] = report.targets(data)
        text = report.markdown(data)
        verdicts = [t["verdict"] for t in data["targets"] if not t["verdict"].startswith("n/a")]
        found = re.findall(r"\b(met|MISSED)\b", text)
        check(bool(verdicts) == want and bool(found) == want,
              "quick=%s, %d run(s) of %g s: verdicts %s %s (want %s)"
              % (quick, runs, wall, verdicts, found, "some" if want else "none"))


def md_section(text, title):
    """The lines of one '## title' section of a report."""
    part = text.split("## " + title + "\n", 1)
    return part[1].split("\n## ", 1)[0] if len(part) == 2 else None


def case_bench_report(tmp):
    """scripts/bench --report FILE renders a saved run again without running
    anything: from the repository's last full run, the same ratio tables
    and the same target figures; a missing or broken file is one line."""
    script = os.path.join(A.source, "scripts", "bench")
    saved = os.path.join(A.source, "bench", "results", "latest")
    out = os.path.join(tmp, "again")
    r = subprocess.run([sys.executable, script, "--report", saved + ".json", "--out", out],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "--report: status %d: %s" % (r.returncode, r.stderr[-400:]))
    with open(saved + ".md") as f:
        before = f.read()
    with open(out + ".md") as f:
        after = f.read()
    for title in ("bench/ workloads: peak RSS", "Real programs: wall time",
                  "Instructions per malloc+free pair: batches (100 mallocs, then 100 frees)"):
        check(md_section(before, title) is not None and
              md_section(before, title) == md_section(after, title),
              "the table %r differs once rendered again" % title)
    with open(saved + ".json") as f:
        old = {t["target"]: t["figure"] for t in json.load(f)["targets"]}
    with open(out + ".json") as f:
        new = {t["target"]: t["figure"] for t in json.load(f)["targets"]}
    same = [t for t in old if t in new]
    check(same and all(old[t] == new[t] for t in same),
          "target figures differ: %s" % [(t, old[t], new.get(t)) for t in same if old[t] != new[t]])
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write("{ not json")
    for path in (bad, os.path.join(tmp, "missing.json")):
        r = subprocess.run([sys.executable, script, "--report", path], capture_output=True,
                           text=True, timeout=60)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stderr
              and path in lines[0], "--report %s: status %d, stderr %r"
              % (path, r.returncode, r.stderr[-300:]))


def add_args(p):
    p.add_argument("--tierpool", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--version", required=True)


if __name__ == "__main__":
    sys.exit(tptest.main("cli", globals(), add_args))
