"""tptest.py - what every Python test driver of tierpool shares.

A driver defines functions named case_NAME(tmp) (or case_NAME(), for a
case that needs no directory) and ends with

    if __name__ == "__main__":
        sys.exit(tptest.main("stats", globals(), add_args))

main() parses `CASE --lib ... <driver's own options>`, runs the case in a
fresh temporary directory, and prints `ok SUITE.CASE`, or `FAIL SUITE.CASE:
why` with status 1 (an AssertionError, tpchecks' errors included, or a
child's timeout). A case raises tptest.Skip(reason) to be skipped (status
77, ctest's SKIP_RETURN_CODE). Every child runs under a timeout, so a
deadlock fails the test instead of hanging it.

The drivers import it from tests/lib: the ctest definitions put that
folder on PYTHONPATH (TP_TEST_PYTHONPATH, tests/CMakeLists.txt); by hand,
run a driver as `PYTHONPATH=tests/lib /usr/bin/python3 tests/...`.
"""

import argparse
import os
import subprocess
import sys
import tempfile

TIMEOUT = 60
PY = "/usr/bin/python3"  # a real interpreter, whatever python3 is on the PATH
args = None  # the parsed arguments of the running driver


class Skip(Exception):
    pass


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def env(preload=True, lib=None, **tierpool):
    """The environment with exactly these TIERPOOL_ variables (NAME=value,
    the name in any case) and tierpool preloaded, or no preload at all."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("TIERPOOL_")}
    e.pop("LD_PRELOAD", None)
    if preload:
        e["LD_PRELOAD"] = lib or args.lib
    for k, v in tierpool.items():
        e["TIERPOOL_" + k.upper()] = str(v)
    return e


def run(argv, e=None, timeout=TIMEOUT, **kw):
    """Runs argv to the end with its output captured as text."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(argv, env=e if e is not None else env(preload=False),
                          timeout=timeout, **kw)


def main(suite, cases_from, add_args=None):
    """Runs the case named on the command line; returns the exit status."""
    global args
    cases = {k[5:]: v for k, v in cases_from.items() if k.startswith("case_")}
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=sorted(cases))
    p.add_argument("--lib", required=True, help="libtierpool.so")
    if add_args:
        add_args(p)
    args = p.parse_args()
    cases_from["A"] = args  # drivers read their options as A.name
    name = "%s.%s" % (suite, args.case)
    with tempfile.TemporaryDirectory(prefix="tp-%s." % suite) as tmp:
        try:
            case = cases[args.case]
            if case.__code__.co_argcount:
                case(tmp)
            else:
                case()
        except Skip as s:
            print("skip %s: %s" % (name, s))
            return 77
        except AssertionError as err:
            print("FAIL %s: %s" % (name, err), file=sys.stderr)
            return 1
        except subprocess.TimeoutExpired as err:
            print("FAIL %s: timed out (deadlock?): %s" % (name, err.cmd), file=sys.stderr)
            return 1
    print("ok " + name)
    return 0
