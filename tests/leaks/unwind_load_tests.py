#!/usr/bin/python3
"""unwind_load_tests.py - libunwind is loaded when a capture first needs it.

  unwind_load_tests.py CASE --lib libtierpool.so --bin leaks_unwind_load
                       --shim libleaks_no_unwind.so

A plain preloaded run must not map libunwind (nor liblzma, which it pulls
in): that is part of the fixed cost on a small program. With
TIERPOOL_LEAKS=all, tierpool's own unwinder names the stacks it follows,
through a signal frame too, and a thread of tierpool's loads libunwind
when a capture first meets a frame it does not follow (assembly without
call frame information): that capture keeps the frames followed, the
later ones have libunwind's. On a system without libunwind (the shim makes
its dlopen fail) tracking warns once and goes on: every block is counted,
and such stacks keep the frames followed. What the fixture leaks is listed
at the top of unwind_load.c.
"""

import json
import os
import sys

import tptest
from tptest import check, run

UNWIND_LIBS = ("libunwind", "liblzma")


def run_fixture(tmp, leaks=None, shim=False):
    """Runs the fixture preloaded; returns (mapped lines, exit dump or None, stderr)."""
    a = tptest.args
    opts = {"leaks": leaks, "stats": tmp + "/tp.json", "format": "json"} if leaks else {}
    e = tptest.env(**opts)
    if shim:
        e["LD_PRELOAD"] = a.shim + ":" + a.lib
    if shim or not leaks:
        e["FIXTURE_NO_WAIT"] = "1" # libunwind will not come
    r = run([a.bin], e)
    check(r.returncode == 0, "fixture exited %d: %s" % (r.returncode, r.stderr))
    maps = r.stdout.splitlines()
    check(any("libtierpool" in m for m in maps), "libtierpool not mapped:\n" + r.stdout)
    dump = None
    if leaks:
        with open(tmp + "/tp.json") as f:
            dump = json.loads(f.read().splitlines()[-1])
    return maps, dump, r.stderr


def unwind_mapped(maps):
    return [m for m in maps if any(lib in m for lib in UNWIND_LIBS)]


def stacks_of(dump):
    """innermost function (None: no frames) -> (blocks, bytes, function names)."""
    out = {}
    for st in dump["leaks"]["stacks"]:
        names = [f.get("function") for f in st["frames"]]
        out[names[0] if names else None] = (st["blocks"], st["bytes"], names)
    return out


def nocfi_stacks(dump):
    """The stacks of nocfi_leak: (blocks, function names) each."""
    out = []
    for st in dump["leaks"]["stacks"]:
        names = [f.get("function") for f in st["frames"]]
        if names[:1] == ["nocfi_leak"]:
            out.append((st["blocks"], names))
    return out


def check_through_signal(got, how):
    blocks, nbytes, names = got.get("handler_leak", (0, 0, []))
    check((blocks, nbytes) == (3, 600) and names[:2] == ["handler_leak", "on_signal"]
          and "main" in names, "handler_leak %s: %r" % (how, got))


def case_plain(tmp):
    maps, _, err = run_fixture(tmp)
    check(not unwind_mapped(maps), "a plain run maps:\n" + "\n".join(unwind_mapped(maps)))
    check("libunwind" not in err, "a plain run speaks of libunwind: " + err)


def case_all(tmp):
    maps, dump, err = run_fixture(tmp, leaks="all")
    check(any("libunwind" in m for m in maps), "TIERPOOL_LEAKS=all: libunwind not mapped "
          "after a frame without call frame information")
    check("cannot load" not in err and "cannot start" not in err,
          "a warning with libunwind installed: " + err)
    got = stacks_of(dump)
    blocks, nbytes, names = got.get("plain_leak", (0, 0, []))
    check((blocks, nbytes) == (2, 200) and names[:2] == ["plain_leak", "main"],
          "plain_leak: %r" % (got,))
    # tierpool's own unwinder crosses the signal frame: main is named beyond it.
    check_through_signal(got, "through the signal frame")
    # The first capture through nocfi_call keeps the frames followed and
    # has libunwind loaded; the later ones go on to main through it.
    st = nocfi_stacks(dump)
    cut = [b for b, names in st if names == ["nocfi_leak", "nocfi_call"]]
    full = [b for b, names in st if names[:2] == ["nocfi_leak", "nocfi_call"] and "main" in names]
    check(sum(b for b, _ in st) == 3 and cut and full and sum(cut) + sum(full) == 3,
          "nocfi_leak's stacks: %r" % (st,))


def case_missing(tmp):
    maps, dump, err = run_fixture(tmp, leaks="all", shim=True)
    check(not unwind_mapped(maps), "libunwind mapped through the shim")
    check(err.count("tierpool: cannot load libunwind") == 1,
          "want the warning once on stderr:\n" + err)
    got = stacks_of(dump)
    blocks, nbytes, names = got.get("plain_leak", (0, 0, []))
    check((blocks, nbytes) == (2, 200) and names[:2] == ["plain_leak", "main"],
          "plain_leak without libunwind: %r" % (got,))
    check_through_signal(got, "without libunwind")
    st = nocfi_stacks(dump)
    check(st == [(3, ["nocfi_leak", "nocfi_call"])],
          "nocfi_leak's blocks keep the frames followed: %r" % (st,))


def add_args(p):
    p.add_argument("--bin", required=True, help="the leaks_unwind_load fixture")
    p.add_argument("--shim", required=True, help="libleaks_no_unwind.so")


if __name__ == "__main__":
    sys.exit(tptest.main("leaks", globals(), add_args))
