"""`tierpool profile [options] -- CMD`: runs CMD with the heap profile on
(TIERPOOL_PROFILE, riding on the leak sampler) and an exit dump per
process, then writes, from the profile of the command's own process:

  DIR/report.html     one self-contained page: flame graphs, tiers, timeline
  DIR/profile.pb.gz   pprof (alloc/inuse/peak/short _objects and _space)
  DIR/alloc.folded    folded stacks of the bytes allocated
  DIR/peak.folded     folded stacks of the bytes live at the peak
  DIR/exit.folded     folded stacks of the bytes still live at exit

next to what the library wrote (profile.<pid>.json, stats.<pid>.json, one
pair per process). The exit status is the command's.
"""

import argparse
import glob
import os
import signal
import subprocess
import sys

from . import profile_folded, profile_html, profile_pprof
from .profile_data import METRICS, Profile, ProfileError, find_profiles, read_json
from .runenv import command_of, need_library, preload_env

FOLDED = (("alloc.folded", "alloc_bytes"), ("peak.folded", "peak_bytes"),
          ("exit.folded", "exit_bytes"))


def add_parser(sub, int_range):
    """The `profile` subcommand, on the CLI's subparsers."""
    p = sub.add_parser(
        "profile", help="heap profile of a command: flame graphs, pprof, tiers, timeline",
        description="Run CMD with libtierpool.so preloaded and its heap profile on (allocation "
        "sites sampled by bytes), then write an HTML report, a pprof profile and folded stacks "
        "into DIR. Exits with the command's status.",
        usage="tierpool profile [-o DIR] [options] -- CMD [ARGS...]")
    p.add_argument("-o", "--output", metavar="DIR", default="tierpool-profile",
                   help="where the files go (created; default ./tierpool-profile)")
    p.add_argument("--rate", metavar="BYTES",
                   help="mean bytes allocated between two samples (TIERPOOL_LEAKS_SAMPLE, "
                   "default 512K; K/M/G suffixes)")
    p.add_argument("--all", action="store_true",
                   help="record every allocation, not a sample (exact figures, slower)")
    p.add_argument("--short", type=int_range(1, 60000000), metavar="US",
                   help="short-lived: freed within US microseconds (default 1000)")
    p.add_argument("--depth", type=int_range(1, 64), metavar="N",
                   help="frames per stack (default 16)")
    p.add_argument("--lib", metavar="PATH", help="the libtierpool.so to preload")
    p.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_profile)
    return p


def fmt_bytes(v):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if abs(v) >= 1 << shift:
            return "%.1f%s" % (v / (1 << shift), unit)
    return "%d" % v


def run(cmd, env):
    """The command's exit status (128 + signal when a signal ended it); ^C
    reaches the command, and we stay to write what it left."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = subprocess.Popen(cmd, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, old))
    except OSError as e:
        signal.signal(signal.SIGINT, old)
        print("tierpool profile: %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
        return None, 127 if isinstance(e, FileNotFoundError) else 126
    try:
        rc = child.wait()
    finally:
        signal.signal(signal.SIGINT, old)
    return child.pid, 128 - rc if rc < 0 else rc


def profile_env(lib, out, args):
    env = preload_env(lib)
    env["TIERPOOL_PROFILE"] = out
    env["TIERPOOL_STATS"] = os.path.join(out, "stats.%p.json")
    env["TIERPOOL_FORMAT"] = "json"
    env["TIERPOOL_LEAKS"] = "all" if args.all else "sample"
    for value, var in ((args.rate, "TIERPOOL_LEAKS_SAMPLE"), (args.short, "TIERPOOL_PROFILE_SHORT"),
                       (args.depth, "TIERPOOL_LEAKS_DEPTH")):
        if value is not None:
            env[var] = str(value)
    return env


def summary(prof, out, wrote):
    est = "~" if prof.estimated else ""
    raw = prof.raw
    head = "tierpool profile: pid %d (%s), %.2f s, %s" % (
        prof.pid, os.path.basename(raw.get("exe", "") or "?"), raw.get("duration_ns", 0) / 1e9,
        "sampled every ~%s allocated" % fmt_bytes(raw.get("sample_interval", 0))
        if prof.estimated else "every allocation recorded")
    lines = [head]
    lines.append("  " + "; ".join("%s %s%s in %s%d blocks" % (
        label.split(" (")[0], est, fmt_bytes(prof.total(m)), est, prof.total(m, "count"))
        for m, label in METRICS))
    top = sorted(prof.stacks, key=lambda s: -s.get("alloc_bytes", 0))[:5]
    if top and top[0].get("alloc_bytes"):
        lines.append("  most allocated:")
        for s in top:
            chain = " < ".join(f.name for f in s["symbolized"][:3])
            lines.append("    %s%8s  %s" % (est, fmt_bytes(s.get("alloc_bytes", 0)), chain))
    lines.append("  wrote %s: %s" % (out, ", ".join(wrote)))
    return "\n".join(lines)


def write_outputs(prof, out):
    wrote = []
    profile_html.write(prof, os.path.join(out, "report.html"))
    wrote.append("report.html")
    profile_pprof.write(prof, os.path.join(out, "profile.pb.gz"))
    wrote.append("profile.pb.gz (pprof)")
    for name, key in FOLDED:
        profile_folded.write(prof, key, os.path.join(out, name))
        wrote.append(name)
    return wrote


def cmd_profile(args):
    cmd = command_of(args)
    lib = need_library(args.lib, "profile")
    out = os.path.abspath(args.output)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise SystemExit("tierpool profile: %s: %s" % (out, e.strerror))
    for old in glob.glob(os.path.join(out, "profile.*.json")) + \
            glob.glob(os.path.join(out, "stats.*.json")):
        os.unlink(old)  # an earlier run's processes
    pid, status = run(cmd, profile_env(lib, out, args))
    if pid is None:
        return status
    found = find_profiles(out)
    if not found:
        print("tierpool profile: no process wrote a profile (a process that ends in _exit or "
              "by a signal writes none)", file=sys.stderr)
        return status or 1
    try:
        prof = Profile.load(out, pid if pid in found else pick_busiest(out, found))
        wrote = write_outputs(prof, out)
    except ProfileError as e:
        print("tierpool profile: %s" % e, file=sys.stderr)
        return status or 1
    others = len(found) - 1
    print(summary(prof, out, wrote) + ("\n  (%d other process%s wrote profile.<pid>.json there)" % (
        others, "" if others == 1 else "es") if others else ""), file=sys.stderr)
    return status


def pick_busiest(out, found):
    """The process that allocated the most (the command exec'd or forked)."""
    def allocated(pid):
        try:
            return sum(s.get("alloc_bytes", 0) for s in read_json(found[pid]).get("stacks", []))
        except (ProfileError, AttributeError):
            return -1
    return max(found, key=allocated)
