"""measure.py - running one command under one allocator, and what it costs.

Every measured run is a fresh process started in its own session, through
bench/launch.c (a small launcher: see there why the runner does not fork
the command itself). Its cost comes from wait4(2) of the command:

  wall      time from fork to reaping;
  cpu       ru_utime + ru_stime of the process and of every descendant it
            waited for (the kernel folds reaped children into the parent);
  maxrss    ru_maxrss, in KiB: the peak resident set of the largest single
            process in the tree, the command itself or any descendant it
            waited for (RUSAGE_CHILDREN semantics: a maximum over processes,
            not the sum of processes alive at the same time). It is what
            the launcher's wait4 returns for its child, so `sh -c` or gcc's
            driver report the peak of what they ran, not their own.

A run that exits non-zero, dies by a signal, or outlives its time limit is
a failure; what failed and how is kept for the report.
"""
import os
import re
import signal
import subprocess
import tempfile
import threading


class Allocator:
    """One allocator under test: a name and the library to preload (None:
    glibc malloc, nothing preloaded)."""

    def __init__(self, name, lib, note=""):
        self.name = name
        self.lib = lib
        self.note = note

    def env(self, base, force_glibc=False):
        """The environment for a run: base without any inherited preload or
        TIERPOOL_ setting, plus this allocator's preload. force_glibc
        preloads libc itself, for programs linked with another malloc."""
        env = {k: v for k, v in base.items()
               if k != "LD_PRELOAD" and not k.startswith("TIERPOOL_")}
        if self.lib:
            env["LD_PRELOAD"] = self.lib
        elif force_glibc:
            env["LD_PRELOAD"] = LIBC
        return env


LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


class Result:
    """What one run cost, or how it failed."""

    def __init__(self, wall, cpu, maxrss_kib, status, out="", err=""):
        self.wall = wall
        self.cpu = cpu
        self.maxrss_kib = maxrss_kib
        self.status = status  # None when it went well, else a short reason
        self.out = out
        self.err = err

    @property
    def ok(self):
        return self.status is None

    def as_json(self):
        d = {"wall_s": round(self.wall, 4), "cpu_s": round(self.cpu, 4),
             "maxrss_kib": self.maxrss_kib}
        if self.status:
            d["failure"] = self.status
            d["stderr_tail"] = self.err[-800:]
        return d


def _status(wstatus, timed_out, err):
    if timed_out:
        return "timed out"
    if os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        return "killed by %s" % signal.Signals(sig).name
    code = os.waitstatus_to_exitcode(wstatus)
    if code != 0:
        return "exit status %d" % code
    if "cannot be preloaded" in err:  # ld.so ignores a bad preload and goes on
        return "preload ignored by ld.so"
    return None


LAUNCH = None  # path of the built launcher, set by scripts/bench


def start(cmd, env, cwd, stdout, stderr):
    """Starts cmd through the launcher; returns (process, result file).
    The launcher runs on glibc: the preload passes to it as TPBENCH_PRELOAD
    and becomes LD_PRELOAD only in the command."""
    env = dict(env)
    if "LD_PRELOAD" in env:
        env["TPBENCH_PRELOAD"] = env.pop("LD_PRELOAD")
    fd, res = tempfile.mkstemp(prefix="tpbench-", suffix=".res")
    os.close(fd)
    proc = subprocess.Popen([LAUNCH, res] + list(cmd), env=env, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            start_new_session=True)
    return proc, res


def finish(proc, res, limit, err_text=lambda: ""):
    """Waits for a started command and returns its Result."""
    wstatus, _, timed_out = reap(proc, limit)
    try:
        with open(res) as f:
            fields = dict(kv.split("=", 1) for kv in f.read().split())
    except (OSError, ValueError):
        fields = {}
    finally:
        os.unlink(res)
    err = err_text()
    if timed_out or "status" not in fields:
        why = "timed out" if timed_out else "launcher failed (%s)" % _status(wstatus, False, "")
        return Result(0.0, 0.0, 0, why, "", err)
    return Result(float(fields["wall"]), float(fields["utime"]) + float(fields["stime"]),
                  int(fields["maxrss_kib"]), _status(int(fields["status"]), False, err), "", err)


def reap(proc, limit):
    """Waits for proc (at most limit seconds, then kills its process group)
    and returns (wait status, rusage, timed_out)."""
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(limit, kill)
    timer.start()
    try:
        _, wstatus, ru = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(wstatus)  # Popen must not wait again
    try:  # leave no stray descendant behind (a daemon the program forked)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return wstatus, ru, bool(timed_out)


def _read(f):
    f.seek(0)
    return f.read().decode(errors="replace")


def run(cmd, env, cwd, limit, keep_stdout=True):
    """Runs cmd to the end and measures it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc, res = start(cmd, env, cwd, out if keep_stdout else subprocess.DEVNULL, err)
        r = finish(proc, res, limit, lambda: _read(err))
        r.out = _read(out)
    return r


def run_plain(cmd, env, cwd, limit):
    """Runs cmd without the launcher (valgrind: no figures wanted but its
    output) and returns (status or None, stderr)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        wstatus, _, timed_out = reap(proc, limit)
        e = _read(err)
    return _status(wstatus, timed_out, e), e


def failed(reason, err=""):
    return Result(0.0, 0.0, 0, reason, "", err)


# --- instruction counts --------------------------------------------------

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def callgrind_ir(cmd, env, cwd, limit=600):
    """Instructions (Ir) the whole process executes under callgrind, or a
    failure reason string. Valgrind keeps LD_PRELOAD and adds its own core
    preload; callgrind replaces no malloc, so the allocator under test is
    the one measured."""
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    status, err = run_plain(vg + cmd, env, cwd, limit)
    if status:
        return None, status
    m = _COLLECTED.findall(err)
    if not m:
        return None, "no instruction count in callgrind's output"
    return int(m[-1]), None
