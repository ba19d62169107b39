"""`tierpool run`, `show` and `diff`: run a command with tierpool preloaded,
render a dump as the library's text table, compare two dumps tier by tier."""

import os
import sys

from .dumps import load_dumps, malformed, pick
from .fmt import fmt_bytes, fmt_signed, fmt_size, label_line, render_table
from .render import render_text
from .runenv import command_of, need_library, preload_env


def cmd_run(args):
    cmd = command_of(args)
    env = preload_env(need_library(args.lib, "run"))
    if args.stats:
        env["TIERPOOL_STATS"] = args.stats
    elif "TIERPOOL_STATS" not in env:
        env["TIERPOOL_STATS"] = "stderr"
    for opt, var in (("format", "TIERPOOL_FORMAT"), ("signal", "TIERPOOL_SIGNAL"),
                     ("interval", "TIERPOOL_INTERVAL"), ("ring", "TIERPOOL_RING")):
        if getattr(args, opt) is not None:
            env[var] = str(getattr(args, opt))
    if args.live:
        env["TIERPOOL_LIVE"] = "1"
    try:
        os.execvpe(cmd[0], cmd, env)  # the command's exit status is ours
    except OSError as e:
        print("tierpool run: %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
        return 127 if isinstance(e, FileNotFoundError) else 126


def cmd_show(args):
    dumps = load_dumps(args.dump)
    chosen = dumps if args.all else [pick(dumps, args.index, args.dump)]
    with malformed(args.dump):
        text = "\n".join(render_text(d) for d in chosen)
    sys.stdout.write(text)
    return 0


def cmd_diff(args):
    a = pick(load_dumps(args.a), args.index, args.a)
    b = pick(load_dumps(args.b), args.index, args.b)
    with malformed("%s, %s" % (args.a, args.b)):
        text = diff_text(a, b, args)
    sys.stdout.write(text)
    return 0


def diff_text(a, b, args):
    """Dump a to dump b: the tier table with changes, then the totals."""
    out = []

    def who(d, path):
        return "%s (pid %s, %s dump at %s)" % (path, d.get("pid"), d.get("reason"), d.get("time"))

    out.append("tierpool diff: %s -> %s" % (who(a, args.a), who(b, args.b)))
    ta = {t["size"]: t for t in a["tiers"]}
    tb = {t["size"]: t for t in b["tiers"]}
    zero = dict(get=0, put=0, live=0, bytes_requested=0, committed_bytes=0)
    keys = [("get", "get"), ("put", "put"), ("live", "live"),
            ("bytes_requested", "requested"), ("committed_bytes", "committed")]
    rows = []
    sums = {k: [0, 0] for k, _ in keys}
    for size in sorted(set(ta) | set(tb)):
        x, y = ta.get(size, zero), tb.get(size, zero)
        for k, _ in keys:
            sums[k][0] += x[k]
            sums[k][1] += y[k]
        if not args.all and all(x[k] == y[k] for k, _ in keys) and not y["get"]:
            continue
        cells = []
        for k, _ in keys:
            f = fmt_bytes if k.endswith("bytes") or k == "bytes_requested" else str
            cells += [f(y[k]), fmt_signed(y[k] - x[k], f)]
        rows.append((fmt_size(size), cells))
    cols = []
    for _, h in keys:
        cols += [h, "change"]
    total = []
    for k, _ in keys:
        f = fmt_bytes if k.endswith("bytes") or k == "bytes_requested" else str
        total += [f(sums[k][1]), fmt_signed(sums[k][1] - sums[k][0], f)]
    out += render_table("tier", cols, rows, total)
    out.append("")
    for k in ("discarded", "discarded_bytes", "forwarded_frees", "threads_started",
              "threads_exited"):
        x, y = a.get(k, 0), b.get(k, 0)
        out.append(label_line(k.replace("_", " "), "%d -> %d (%s)" % (x, y, fmt_signed(y - x))))
    la = sum(t["live"] for t in a["tiers"])
    lb = sum(t["live"] for t in b["tiers"])
    out.append(label_line("live blocks", "%d -> %d (%s)" % (la, lb, fmt_signed(lb - la))))
    return "\n".join(out) + "\n"
