"""The command line: the parser of every subcommand (also the source of
the man page and the bash completion) and the entry point."""

import argparse
import math
import sys

from . import __version__, bench
from .check import cmd_check
from .commands import cmd_diff, cmd_run, cmd_show
from .live import cmd_top
from .options import cmd_options
from .profile_cmd import add_parser as add_profile_parser
from .runenv import UsageError


def seconds(text):
    """argparse type: a finite number of seconds above zero."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (0 < v < math.inf):
        raise argparse.ArgumentTypeError("expected seconds above 0, got %r" % text)
    return v


def int_range(lo, hi):
    """argparse type: a whole number from lo to hi."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError("expected a whole number from %d to %d, got %r"
                                             % (lo, hi, text))
        return v
    return parse


def build_parser():
    p = argparse.ArgumentParser(
        prog="tierpool", description="Run programs on the tierpool allocator and read its dumps.")
    p.add_argument("--version", action="version", version="tierpool " + __version__)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="run a command with tierpool preloaded",
                       description="Run CMD with libtierpool.so preloaded and the TIERPOOL_ "
                       "variables set. Without --stats (and TIERPOOL_STATS), the exit dump goes "
                       "to stderr. Exits with the command's status.",
                       usage="tierpool run [options] -- CMD [ARGS...]")
    r.add_argument("--stats", metavar="DEST", help="'stderr' or a file path; %%p becomes the pid")
    r.add_argument("--format", choices=["text", "json", "prometheus"], help="dump format")
    r.add_argument("--signal", metavar="SIG", help="also dump when SIG arrives (e.g. USR2)")
    r.add_argument("--interval", type=int, metavar="N", help="also dump every N seconds")
    r.add_argument("--ring", type=int, metavar="N", help="recent lengths kept per thread")
    r.add_argument("--live", action="store_true", help="publish counters for 'tierpool top PID'")
    r.add_argument("--lib", metavar="PATH", help="the libtierpool.so to preload")
    r.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("show", help="render a JSON dump as the text table",
                       description="Render a JSON dump (or the last of a JSON-lines file) as "
                       "the text table the library prints.")
    s.add_argument("dump", metavar="DUMP.json", help="a dump file, '-' for stdin")
    s.add_argument("--index", type=int, default=-1, metavar="I",
                   help="which dump of a JSON-lines file (default: the last, -1)")
    s.add_argument("--all", action="store_true", help="every dump of the file")
    s.set_defaults(func=cmd_show)

    d = sub.add_parser("diff", help="per-tier changes between two dumps",
                       description="Per-tier changes from dump A to dump B (the last dump of "
                       "each file unless --index).")
    d.add_argument("a", metavar="A.json", help="the earlier dump")
    d.add_argument("b", metavar="B.json", help="the later dump")
    d.add_argument("--index", type=int, default=-1, metavar="I", help="dump index in each file")
    d.add_argument("--all", action="store_true", help="also the tiers that did not change")
    d.set_defaults(func=cmd_diff)

    t = sub.add_parser("top", help="live per-tier view of a running program",
                       description="Per-tier rates, live blocks and balance of a program "
                       "started with TIERPOOL_LIVE=1, refreshed every second.")
    t.add_argument("pid", type=int, metavar="PID")
    t.add_argument("--delay", type=seconds, default=1.0, metavar="S", help="seconds between refreshes")
    t.add_argument("--count", type=int_range(0, 2**31), default=0, metavar="N",
                   help="stop after N refreshes (0: until the program exits)")
    t.set_defaults(func=cmd_top)

    c = sub.add_parser("check", help="run a command with leak tracking; fail on leaks",
                       description="Run CMD with libtierpool.so preloaded and TIERPOOL_LEAKS=all, "
                       "then print the stacks that still hold blocks at exit in any of its "
                       "processes, direct leaks first (after the built-in and the given "
                       "suppressions, and the baseline). Exit status: --exitcode if a stack of a "
                       "failing kind is left (even when the command failed), else the command's "
                       "status, else 24 if a process wrote no report (a static or setuid "
                       "program, _exit, a crash), else 0.",
                       usage="tierpool check [options] -- CMD [ARGS...]")
    c.add_argument("--fail-on", choices=["direct", "indirect", "reachable"], default="indirect",
                   help="the kinds that fail, up to this one: direct; direct and indirect "
                   "(default, as LeakSanitizer); or also still reachable (every block not "
                   "freed)")
    c.add_argument("--group-by", choices=["process", "cmdline", "stack"], default="process",
                   help="report per process (default), per command line and directory "
                   "(which test leaked), or per stack with the command lines that leaked it")
    c.add_argument("--symbolizer", choices=["auto", "llvm-symbolizer", "addr2line"],
                   default="auto", help="what names frames and their files: llvm-symbolizer if "
                   "found, else addr2line (default: auto)")
    c.add_argument("--suppressions", action="append", metavar="FILE",
                   help="LeakSanitizer-style file of leak:PATTERN lines (repeatable)")
    c.add_argument("--baseline", metavar="FILE", help="fail only on stacks not listed in FILE")
    c.add_argument("--update-baseline", action="store_true",
                   help="write the stacks found to the --baseline FILE and pass")
    c.add_argument("--exitcode", type=int_range(0, 255), default=23, metavar="N",
                   help="exit status when leaks are found (default 23)")
    c.add_argument("--depth", type=int, metavar="N", help="frames per stack (TIERPOOL_LEAKS_DEPTH)")
    c.add_argument("--report-json", metavar="FILE",
                   help="also write the report as JSON (leaks per process, suppressed, baseline)")
    c.add_argument("--keep", action="store_true", help="keep the processes' JSON dumps")
    c.add_argument("--lib", metavar="PATH", help="the libtierpool.so to preload")
    c.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    c.set_defaults(func=cmd_check)

    o = sub.add_parser("options", help="the TIERPOOL_ options in effect",
                       description="List every TIERPOOL_ option with the value the library "
                       "would use in this environment and where it comes from (default or "
                       "environment), as the library lists them with TIERPOOL_VERBOSE=1. "
                       "Warnings about bad values or unknown names are shown too.")
    o.add_argument("--lib", metavar="PATH", help="the libtierpool.so to ask")
    o.set_defaults(func=cmd_options)

    bench.add_parser(sub, int_range, seconds)
    add_profile_parser(sub, int_range)
    return p


def subparser(p, name):
    """The parser of subcommand name (for its usage in errors)."""
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices[name]


def main(argv=None):
    p = build_parser()
    args, extra = p.parse_known_args(argv)
    try:
        if extra:  # argparse would blame the top level; the subcommand owns them
            raise UsageError("unrecognized arguments: %s" % " ".join(extra))
        if getattr(args, "update_baseline", False) and not args.baseline:
            raise UsageError("--update-baseline needs --baseline FILE")
        return args.func(args)
    except UsageError as e:
        subparser(p, args.cmd).error(str(e))  # its usage, one line, status 2
    except OSError as e:
        # A file named on the command line that cannot be read or written
        # (the commands catch what they expect; this is the last net).
        where = "%s: " % e.filename if e.filename else ""
        print("tierpool %s: %s%s" % (args.cmd, where, e.strerror or e), file=sys.stderr)
        return 1


def entry(argv=None):
    """main() as a process: its status, 141 when the reader of our output
    went away (as a shell reports SIGPIPE), 130 on ^C."""
    try:
        return main(argv)
    except BrokenPipeError:
        return 141
    except KeyboardInterrupt:
        return 130
