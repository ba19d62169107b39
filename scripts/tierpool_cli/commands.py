"""`tierpool run`, `show` and `diff`: run a command with tierpool preloaded,
render a dump as the library's text table, compare two dumps tier by tier."""

import os
import sys

from .dumps import load_dumps, malformed, pick
from .fmt import fmt_signed, fmt_size, label_line, render_table
from .render import counter_fields, fmt_value, render_text
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
    # The columns from the dump's own description of its counters: what
    # only grows (get, put, requested), and what is in use.
    tier_fields, process_fields = counter_fields(b)
    keys = [f for f in tier_fields
            if f.get("label") and (f.get("kind") == "counter" or f["key"] == "live")]
    rows = []
    sums = {f["key"]: [0, 0] for f in keys}
    for size in sorted(set(ta) | set(tb)):
        x, y = ta.get(size, {}), tb.get(size, {})
        for f in keys:
            sums[f["key"]][0] += x.get(f["key"], 0)
            sums[f["key"]][1] += y.get(f["key"], 0)
        if not args.all and all(x.get(f["key"], 0) == y.get(f["key"], 0) for f in keys) \
                and not y.get("get"):
            continue
        cells = []
        for f in keys:
            old, new = x.get(f["key"], 0), y.get(f["key"], 0)
            fmt = lambda v, u=f["unit"]: fmt_value(v, u)  # noqa: E731
            cells += [fmt(new), fmt_signed(new - old, fmt)]
        rows.append((fmt_size(size), cells))
    cols = []
    for f in keys:
        cols += [f["label"], "change"]
    total = []
    for f in keys:
        fmt = lambda v, u=f["unit"]: fmt_value(v, u)  # noqa: E731
        total += [fmt(sums[f["key"]][1]), fmt_signed(sums[f["key"]][1] - sums[f["key"]][0], fmt)]
    out += render_table("tier", cols, rows, total)
    out.append("")
    for f in process_fields:
        k = f["key"]
        if f.get("kind") != "counter" or k.startswith("total_"):
            continue  # the totals are the table's last row
        x, y = a.get(k, 0), b.get(k, 0)
        out.append(label_line(k.replace("_", " "), "%d -> %d (%s)" % (x, y, fmt_signed(y - x))))
    la = sum(t["live"] for t in a["tiers"])
    lb = sum(t["live"] for t in b["tiers"])
    out.append(label_line("live blocks", "%d -> %d (%s)" % (la, lb, fmt_signed(lb - la))))
    return "\n".join(out) + "\n"
