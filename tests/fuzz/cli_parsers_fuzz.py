#!/usr/bin/python3
"""cli_parsers_fuzz.py - a bounded random-input loop over the file parsers
of the CLI (scripts/tierpool_cli): suppressions (load_suppressions, template_regex),
baselines (load_baseline) and dumps (load_dumps).

  cli_parsers_fuzz.py [--seconds 60] [--seed 1] [--tierpool scripts/tierpool]
                      [--corpus tests/fuzz/corpus/cli] [--out DIR] [--utf8] [--max-wildcards N]

Each input is a file made from the seed corpus (mutated) or from scratch.
A parser may accept it or refuse it with SystemExit (a message for the
user); any other exception is a bug: the input is written to --out and the
run fails. The same seed gives the same inputs.
"""

import argparse
import io
import os
import random
import signal
import sys
import tempfile
import time
import traceback

TOKENS = [b"leak:", b"leak", b":", b"#", b"*", b"^", b"$", b"\\", b"(", b")", b"[", b"]", b"{", b"}",
          b"|", b"?", b"+", b".", b" | ", b"?@", b"\n", b"\r\n", b"\t", b" ", b"malloc", b"std::",
          b"libc.so.6", b"\xff", b"\xc3\xa9", b"\x00", b"{\"tiers\": []}", b"\"version\"", b"99",
          b"[", b"null", b"true", b"1e999", b"-0", b"\"tiers\"", b"{}", b"[]", b",", b"\"reason\""]


class Hang(Exception):
    pass


def on_alarm(sig, frame):
    raise Hang()


def load_tierpool(path):
    """The CLI's parsers, from the tierpool_cli package beside the launcher."""
    sys.path.insert(0, os.path.dirname(os.path.realpath(path)))
    from tierpool_cli import baseline, dumps, suppress
    return argparse.Namespace(load_suppressions=suppress.load_suppressions,
                              load_baseline=baseline.load_baseline, load_dumps=dumps.load_dumps)


def mutate(rnd, data):
    data = bytearray(data)
    for _ in range(rnd.randrange(1, 8)):
        k = rnd.randrange(6)
        pos = rnd.randrange(len(data) + 1)
        if k == 0 and data:
            del data[pos:pos + rnd.randrange(1, 16)]
        elif k == 1:
            data[pos:pos] = rnd.choice(TOKENS)
        elif k == 2 and data:
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        elif k == 3:
            data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
        elif k == 4 and data:  # repeat a slice: long lines, deep nesting
            a = rnd.randrange(len(data))
            piece = data[a:a + rnd.randrange(1, 8)]
            data[pos:pos] = piece * rnd.randrange(2, 2000)
        else:
            data[pos:pos] = b"".join(rnd.choice(TOKENS) for _ in range(rnd.randrange(1, 10)))
    return bytes(data[:1 << 20])


def scratch(rnd):
    return b"".join(rnd.choice(TOKENS) for _ in range(rnd.randrange(0, 60)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tierpool", default=os.path.join(here, "..", "..", "scripts", "tierpool"))
    p.add_argument("--corpus", default=os.path.join(here, "corpus", "cli"))
    p.add_argument("--out", default=None, help="where a failing input is written")
    p.add_argument("--hang", type=float, default=5, help="seconds one parser may take on one input")
    p.add_argument("--max-wildcards", type=int, default=None,
                   help="match only suppressions with at most this many '*' (a pattern with many "
                        "makes the regex backtrack for minutes)")
    p.add_argument("--tolerate", default="",
                   help="comma-separated exception names (known bugs) to count, not fail on")
    p.add_argument("--utf8", action="store_true",
                   help="make every input valid UTF-8 (skips the non-UTF-8 files that the "
                        "parsers do not refuse cleanly yet)")
    a = p.parse_args()
    tp = load_tierpool(a.tierpool)
    parsers = [("suppressions", tp.load_suppressions), ("baseline", tp.load_baseline),
               ("dumps", tp.load_dumps)]
    parsers = [(n, f) for n, f in parsers if f is not None]
    seeds = []
    if os.path.isdir(a.corpus):
        for name in sorted(os.listdir(a.corpus)):
            with open(os.path.join(a.corpus, name), "rb") as f:
                seeds.append(f.read())
    seeds = seeds or [b""]
    tolerate = set(filter(None, a.tolerate.split(",")))
    tolerated = {}
    rnd = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="tierpool-clifuzz.")
    path = os.path.join(tmp, "input")
    out = a.out or tmp
    end = time.monotonic() + a.seconds
    runs = 0
    sys.setrecursionlimit(1000)
    signal.signal(signal.SIGALRM, on_alarm)
    while time.monotonic() < end:
        data = mutate(rnd, rnd.choice(seeds)) if rnd.random() < 0.8 else scratch(rnd)
        if a.utf8:
            data = data.decode("utf-8", "replace").encode("utf-8")
        with open(path, "wb") as f:
            f.write(data)
        for name, fn in parsers:
            saved = sys.stderr
            sys.stderr = io.StringIO()  # load_dumps may warn about versions
            signal.setitimer(signal.ITIMER_REAL, a.hang)
            try:
                res = fn(path)
                if name == "suppressions":
                    for pat, rx, origin in res:
                        if a.max_wildcards is not None and pat.count("*") > a.max_wildcards:
                            continue
                        rx.search(pat)
                        rx.search("malloc | std::vector<int>::push_back")
            except SystemExit:
                pass  # refused, with a message
            except (Exception, Hang) as err:
                if type(err).__name__ in tolerate:
                    tolerated[type(err).__name__] = tolerated.get(type(err).__name__, 0) + 1
                    continue
                sys.stderr = saved
                keep = os.path.join(out, "crash-%s-%d" % (name, runs))
                with open(keep, "wb") as f:
                    f.write(data)
                print("cli_parsers_fuzz: %s parser raised (or took more than %g s) on %r "
                      "(%d bytes, kept in %s):\n%s"
                      % (name, a.hang, data[:200], len(data), keep, traceback.format_exc()))
                return 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stderr = saved
        runs += 1
    print("cli_parsers_fuzz: %d inputs, %d parsers, no unexpected exception%s"
          % (runs, len(parsers), "; known: %r" % tolerated if tolerated else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
