#!/usr/bin/python3
"""pools_tests.py - the pooling library end to end, on pools_prog.

  pools_tests.py CASE PROG TIERPOOL_CLI LIBTIERPOOL SCHEMA

dump_json, dump_text, dump_prometheus: the exit dump of a program that
links tierpool names every pool with its counters, in each format; the
JSON one matches the schema (strictly: every key it holds is described).
show: `tierpool show` of the JSON dump prints the pools table the library
prints in text.
huge: the huge-page fallback warns once.
others: pools past the registry's named slots share the "(others)" row.
leaks: `tierpool check` fails on a lost buffer and a lost pooled object and
charges each to the function that took it; it passes on the clean run.
"""

import json
import os
import re
import sys
import tempfile

import tptest
from tpchecks import validate
from tptest import run

CASE, PROG, CLI, LIB, SCHEMA = sys.argv[1:6]
EXPECT = {  # pool -> kind, gets, puts, in_use, swaps
    "messages": ("objpool", 1, 1, 0, 0),
    "connections": ("bounded", 10, 10, 0, 0),
    "routes": ("swap", 11, 10, 1, 10),
    "request": ("arena", 10, 0, 10, 0),
    "peers": ("slab", 10, 10, 0, 0),
    "buffers": ("buffers", 10, 10, 0, 0),
}


def env(**kv):
    """The environment with exactly these TIERPOOL_ variables (no preload)."""
    return tptest.env(preload=False, **kv)


def dump(fmt, mode="keep"):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump")
        r = run([PROG, mode], env(stats=path, format=fmt))
        assert r.returncode == 0, r.stderr
        with open(path) as f:
            return f.read()


def case_dump_json():
    d = json.loads(dump("json"))
    with open(SCHEMA) as f:
        schema = json.load(f)
    validate(d, schema)
    # the schema and the dump's own description name the same columns
    keys = [f["key"] for f in d["fields"]["pool"]]
    assert set(keys) == set(schema["$defs"]["pool"]["properties"]), keys
    pools = d["pools"]
    for name, (kind, gets, puts, in_use, swaps) in EXPECT.items():
        p = pools[name]
        got = (p["kind"], p["gets"], p["puts"], p["in_use"], p["swaps"])
        assert got == (kind, gets, puts, in_use, swaps), (name, got)
    assert pools["connections"]["created"] == 4 and pools["routes"]["readers_peak"] == 1, pools
    # one buffer live at a time, ten times over
    assert pools["buffers"]["peak"] == 1 and pools["request"]["peak"] == 10, pools


def case_others():
    pools = json.loads(dump("json", "others"))["pools"]
    named = [n for n in pools if n.startswith("many")]
    others = pools.get("(others)")
    assert others and others["kind"] == "mixed", sorted(pools)
    # 260 pools of one get each: a named slot for each of the first ones
    assert len(named) + others["gets"] == 260 and others["gets"] >= 5, (len(named), others)


def case_dump_text():
    text = dump("text")
    for name, (kind, gets, puts, in_use, swaps) in EXPECT.items():
        m = re.search(r"^%s\s+%s\s+(\d+)\s+(\d+)\s+(\d+)\s" % (re.escape(name), kind), text, re.M)
        assert m, "no row for %s in:\n%s" % (name, text)
        assert tuple(map(int, m.groups())) == (gets, puts, in_use), (name, m.groups())


def case_dump_prometheus():
    text = dump("prometheus")
    for name, (kind, gets, puts, in_use, swaps) in EXPECT.items():
        for metric, want in (("pool_gets_total", gets), ("pool_puts_total", puts),
                             ("pool_in_use", in_use)):
            m = re.search(r'^tierpool_%s\{pool="%s"\} (\d+)$' % (metric, name), text, re.M)
            assert m and int(m.group(1)) == want, (metric, name, text)
    assert "# TYPE tierpool_pool_gets_total counter" in text, text
    assert "# TYPE tierpool_pool_in_use gauge" in text, text


def pools_table(text):
    """The lines of the pools table: its header to the line before the verdict."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.split()[:2] == ["pool", "kind"])
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(("balanced", "UNBALANCED")))
    return lines[start:end]


def case_show():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.json")
        with open(path, "w") as f:
            f.write(dump("json"))
        r = run([CLI, "show", path], env())
        assert r.returncode == 0, r.stderr
    want = pools_table(dump("text"))
    assert len(want) == 1 + len(EXPECT), want
    assert pools_table(r.stdout) == want, "tierpool show:\n%s\nthe library:\n%s" % (
        r.stdout, "\n".join(want))


def case_leaks():
    with tempfile.TemporaryDirectory() as tmp:
        rj = os.path.join(tmp, "report.json")
        base = [CLI, "check", "--lib", LIB, "--report-json", rj, "--"]
        r = run(base + [PROG], env())
        assert r.returncode == 0, "clean run fails the check:\n" + r.stderr
        r = run(base + [PROG, "leak"], env())
        assert r.returncode != 0, "leaks not caught:\n" + r.stderr
        out = r.stderr
        assert re.search(r"300 bytes in 1 block \(tier 512\) allocated from:\n\s+#0 leak_a_buffer\+", out), out
        assert re.search(r"200 bytes in 1 block \(tier 256\) allocated from:\n\s+#0 leak_an_object\+", out), out
        assert "warm_up" not in out, "the object's charge must move to its last acquirer:\n" + out
        assert re.search(r"2 blocks \(500 bytes\)|2 stacks hold 2 blocks", out), out


def case_huge():
    """MAP_HUGETLB when the system has huge pages; else normal pages and
    exactly one warning, however many arenas ask."""
    r = run([PROG, "huge"], env())
    assert r.returncode == 0, r.stderr
    huge = [int(l.split("=")[1]) for l in r.stdout.split()]
    warnings = [l for l in r.stderr.splitlines() if "no huge pages" in l]
    if huge == [0, 0]:
        assert len(warnings) == 1, r.stderr
    else:
        assert huge == [1, 1] and not warnings, (huge, r.stderr)


globals()["case_" + CASE]()
print("ok")
