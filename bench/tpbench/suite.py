"""suite.py - what scripts/bench runs: the workloads of bench/ and the real
programs, each with a full size (a second or two under glibc on a 2-core
machine) and a quick size (a smoke test, well under a second).

A case is a name, a kind ("workload" or "program"), and a function that,
given the prepared inputs, returns the command (or, for redis, a
RedisCase that drives a server and a client). Inputs for the real
programs (text to sort and compress, a SQL script, a git repository, a
large C file) are generated here, deterministically, into a scratch
directory, before any run is timed.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import measure

PYTHON = "/usr/bin/python3"  # Debian's, whatever python3 is first on PATH


class Case:
    def __init__(self, name, kind, about, full, quick, threads=1, in_geomean=True,
                 needs=(), env=None, force_glibc=False):
        self.name = name
        self.kind = kind              # "workload" (bench/) or "program" (real program)
        self.about = about            # one line for the report
        self.full = full              # size argument at full size
        self.quick = quick            # size argument for --quick
        self.threads = threads
        self.in_geomean = in_geomean  # False: shown, but not in the geometric mean
        self.needs = needs            # executables that must be on PATH
        self.env = env or {}
        self.force_glibc = force_glibc  # the program links another malloc: preload libc for "glibc"

    def size(self, quick):
        return self.quick if quick else self.full

    def available(self):
        return [n for n in self.needs if not shutil.which(n)] == []


def W(name, about, full, quick, threads=1, in_geomean=True):
    return Case(name, "workload", about, full, quick, threads, in_geomean)


WORKLOADS = [
    W("pool_loop", "50 live buffers, 10 B or 1 in 10 256 KiB", 10_000_000, 100_000),
    W("tier_sweep", "16 B..1 MiB, every power of two, batches and pairs", 10_000, 100),
    W("server_mix", "8 B..64 KiB, random lifetimes, 1 in 8 freed remotely", 3_000_000, 50_000, 2),
    W("server_mix_1t", "server_mix on one thread (for the scaling figure)", 3_000_000, 50_000, 1,
      in_geomean=False),
    W("prodcons", "one thread allocates, the other frees", 5_000_000, 50_000, 2),
    W("false_active", "8 B blocks written hard, each thread its own", 1_500_000, 20_000, 2),
    W("false_passive", "same, after freeing a block given by another thread", 1_500_000, 20_000, 2),
    W("thread_churn", "short-lived threads, 2 at a time", 20_000, 500, 2),
    W("realloc_grow", "string builders and doubling vectors", 2_000_000, 20_000),
    W("calloc_heavy", "calloc 16 B..128 KiB, checked zero", 2_000_000, 20_000),
    W("large_blocks", "1 MiB..16 MiB, past the largest tier", 2_500, 50),
    W("fragmentation", "1M small blocks, free 90%, then larger ones", 1_000_000, 20_000),
    W("malloc_large", "mimalloc-bench malloc-large: 20 slots of 5-25 MiB, zero-filled", 2_000, 20),
    W("batch_4k", "100 mallocs then 100 frees of 4 KiB", 500_000, 20_000),
    W("batch_64k", "100 mallocs then 100 frees of 64 KiB", 500_000, 20_000),
    W("rlimit_as", "RLIMIT_AS lowered to 1 GiB, then 4 threads allocate under it", 10_000,
      1_000, 4),
    W("mstress", "mimalloc-bench mstress: rounds of 4 new threads, 16 B..1 MiB, handed across",
      40, 2, 4),
    W("tiny", "8 small blocks, then exit: the fixed RSS an allocator adds", 8, 8,
      in_geomean=False),
]
WORKLOAD_BIN = {"server_mix_1t": "server_mix"}

PROGRAMS = [
    Case("python", "program", "python3 alloc_heavy.py (pymalloc)", 3, 1, needs=()),
    Case("python_malloc", "program", "python3 alloc_heavy.py, PYTHONMALLOC=malloc", 3, 1,
         env={"PYTHONMALLOC": "malloc"}),
    Case("sort", "program", "sort 2M lines of words (LC_ALL=C)", 2_000_000, 20_000,
         needs=("sort",)),
    Case("xz", "program", "xz -6 -T1 of 2 MB of text", 2_000_000, 100_000, needs=("xz",)),
    Case("sqlite3", "program", "sqlite3 :memory: insert, index, group, update", 200_000, 5_000,
         needs=("sqlite3",)),
    Case("git", "program", "git repack -adf --window=20, then git log -p --stat", 120, 10,
         needs=("git",)),
    Case("gcc", "program", "gcc -O2 -c of a generated C file", 150, 10, needs=("gcc",)),
    Case("redis", "program", "redis-server under redis-benchmark, 127.0.0.1", 60_000, 2_000,
         needs=("redis-server", "redis-benchmark", "redis-cli"), force_glibc=True),
]


# --- inputs for the real programs ------------------------------------------

WORDS_SEED = 1


def _words(rng, n):
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 12)))
            for _ in range(n)]


def _write_lines(path, lines, seed):
    rng = random.Random(seed)
    words = _words(rng, 50_000)
    with open(path, "w") as f:
        for _ in range(lines):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) + "\n")


SQL = """CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, note TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < {rows})
INSERT INTO t(name, grp, val, note)
  SELECT printf('name%08d', (x * 7919) % 1000003), x % 1000, (x * 31 % 997) / 7.0,
         hex(randomblob(16)) FROM c;
COMMIT;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
SELECT grp, count(*), sum(val), max(name) FROM t GROUP BY grp ORDER BY 3 DESC LIMIT 5;
SELECT count(DISTINCT note) FROM t;
SELECT length(group_concat(name, ',')) FROM (SELECT name FROM t ORDER BY note LIMIT 50000);
UPDATE t SET note = note || name WHERE grp % 3 = 0;
DELETE FROM t WHERE grp % 5 = 0;
SELECT count(*) FROM t;
"""


def _write_c(path, functions):
    rng = random.Random(3)
    out = ["#include <string.h>", "struct rec { int a, b; double c; char s[32]; };"]
    for i in range(functions):
        out.append(f"""int f{i}(int n, struct rec *r) {{
  int acc = {rng.randrange(1000)};
  for (int i = 0; i < n; i++) {{
    switch ((i + {i}) % 5) {{
    case 0: acc += r[i].a * {rng.randrange(1, 99)}; break;
    case 1: acc ^= r[i].b << {rng.randrange(1, 9)}; break;
    case 2: acc -= (int)(r[i].c * {rng.random():.4f}); break;
    case 3: acc += (int)strlen(r[i].s); break;
    default: acc = acc * 3 + {i % 17};
    }}
  }}
  return acc > {rng.randrange(5000)} ? acc : f{max(i - 1, 0)}(n / 2, r);
}}""")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def _git(repo, *args, env=None):
    subprocess.run(["git", "-C", repo] + list(args), check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _make_repo(repo, commits, nfiles):
    """A repository of nfiles text files and `commits` commits touching 15
    files each, with fixed names and dates so every run sees the same
    objects, packed once so each measured repack starts from one pack."""
    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid",
               GIT_AUTHOR_DATE="2020-01-01T00:00:00Z", GIT_COMMITTER_DATE="2020-01-01T00:00:00Z",
               GIT_CONFIG_NOSYSTEM="1", HOME=repo)
    env.pop("LD_PRELOAD", None)
    os.makedirs(repo)
    _git(repo, "init", "-q", env=env)
    files = ["src/d%d/f%d.txt" % (i % 20, i) for i in range(nfiles)]
    text = {}
    for f in files:
        os.makedirs(os.path.join(repo, os.path.dirname(f)), exist_ok=True)
        text[f] = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(200)]
    for c in range(commits):
        for f in (files if c == 0 else rng.sample(files, 15)):
            if c:
                for _ in range(5):
                    text[f][rng.randrange(200)] = " ".join(rng.choice(words) for _ in range(8))
            with open(os.path.join(repo, f), "w") as fh:
                fh.write("\n".join(text[f]) + "\n")
        _git(repo, "add", "-A", env=env)
        _git(repo, "commit", "-qm", "commit %d" % c, env=env)
    _git(repo, "repack", "-adq", env=env)


def prepare(case, quick, work, bench_dir):
    """Writes the inputs of one program into work/ (once per size)."""
    n = case.size(quick)
    d = os.path.join(work, "%s-%d" % (case.name, n))
    if os.path.isdir(d):
        return d
    os.makedirs(d + ".tmp", exist_ok=True)
    t = d + ".tmp"
    if case.name == "sort":
        _write_lines(os.path.join(t, "lines.txt"), n, WORDS_SEED)
    elif case.name == "xz":
        _write_lines(os.path.join(t, "all.txt"), max(n // 30, 100), WORDS_SEED + 1)
        with open(os.path.join(t, "all.txt"), "rb") as f, open(os.path.join(t, "in.txt"), "wb") as g:
            g.write(f.read(n))
    elif case.name == "sqlite3":
        with open(os.path.join(t, "q.sql"), "w") as f:
            f.write(SQL.format(rows=n))
    elif case.name == "git":
        _make_repo(os.path.join(t, "repo"), n, 40 if quick else 400)
    elif case.name == "gcc":
        _write_c(os.path.join(t, "big.c"), n)
    elif case.name.startswith("python"):
        shutil.copy(os.path.join(bench_dir, "alloc_heavy.py"), t)
    os.rename(t, d)
    return d


def command(case, quick, data, bin_dir):
    """The command line of one case, run with cwd=data for programs."""
    n = case.size(quick)
    if case.kind == "workload":
        exe = os.path.join(bin_dir, WORKLOAD_BIN.get(case.name, case.name))
        return [exe, "-t", str(case.threads), "-n", str(n)]
    if case.name.startswith("python"):
        return [PYTHON, "alloc_heavy.py", str(n), "40000" if not quick else "2000"]
    if case.name == "sort":
        return ["sort", "lines.txt", "-o", "/dev/null"]
    if case.name == "xz":
        return ["xz", "-T1", "-6" if not quick else "-1", "-c", "in.txt"]
    if case.name == "sqlite3":
        return ["sqlite3", ":memory:", ".read q.sql"]
    if case.name == "git":
        return ["sh", "-c", "git -C repo repack -adfq --window=20 --threads=2 && "
                "git -C repo log -p --stat >/dev/null"]
    if case.name == "gcc":
        return ["gcc", "-O2", "-c", "big.c", "-o", "/dev/null"]
    raise ValueError(case.name)


def case_env(case, base, data):
    """The environment of a case before the allocator's preload is added:
    a fixed locale, and for git no system or user configuration."""
    env = dict(base)
    env.update(case.env)
    env["LC_ALL"] = "C"
    if "PYTHONMALLOC" not in case.env:
        env.pop("PYTHONMALLOC", None)
    if case.name == "git":
        env.update(GIT_CONFIG_NOSYSTEM="1", HOME=data)
    return env


# --- redis: a server under test, a client that is not ----------------------

def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_redis(case, quick, env_server, env_client, limit):
    """Starts redis-server (preloaded) on a free port of 127.0.0.1, runs
    redis-benchmark (not preloaded) against it with a bounded request
    count, and shuts the server down. Wall is the client's run; cpu and
    maxrss are the server's, from wait4 when it exits."""
    n = case.size(quick)
    tests = "set,get,lpush,lpop,sadd,hset,zadd" if not quick else "set,get"
    port = _free_port()
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    with tempfile.TemporaryFile() as err:
        server, res = measure.start(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                                     "--save", "", "--appendonly", "no", "--daemonize", "no",
                                     "--protected-mode", "yes", "--logfile", ""],
                                    env_server, None, subprocess.DEVNULL, err)
        why = None
        try:
            deadline = time.monotonic() + 20
            while True:
                ping = subprocess.run(cli + ["ping"], env=env_client, capture_output=True,
                                      text=True)
                if ping.stdout.strip() == "PONG":
                    break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not answer: " + ping.stderr.strip())
                time.sleep(0.05)
            t0 = time.perf_counter()
            bench = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
                                    "-n", str(n), "-c", "50", "-P", "16", "-q", "-t", tests,
                                    "-d", "128", "-r", "100000"],
                                   env=env_client, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   timeout=limit)
            wall = time.perf_counter() - t0
            if bench.returncode != 0:
                why = "redis-benchmark exit status %d" % bench.returncode
            subprocess.run(cli + ["shutdown", "nosave"], env=env_client, capture_output=True)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            why = str(e).splitlines()[0]
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        r = measure.finish(server, res, 30, lambda: measure._read(err))
    if r.ok and why:
        r.status = why
    if r.ok:
        r.wall = wall
    return r
