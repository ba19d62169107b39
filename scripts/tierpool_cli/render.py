"""A JSON dump as the library's text table (stats/render.c): what
`tierpool show` prints."""

from .fmt import fill_parts, fmt_bytes, fmt_percent, fmt_size, label_line, render_table
from .leaktext import render_leaks_text


def render_text(d):
    """A JSON dump as the library's text table (stats/render.c)."""
    out = []
    head = "tierpool %s dump: pid %d" % (d.get("reason", "?"), d.get("pid", 0))
    if d.get("exe"):
        head += " (%s)" % d["exe"]
    head += " at %s" % d.get("time", "?")
    out.append(head)

    tiers = d.get("tiers", [])
    rows = []
    tot = dict(live=0, req=0, den=0, cached=0, central=0, committed=0)
    overflow = False
    for t in tiers:
        tot["live"] += t["live"]
        tot["req"] += t["bytes_requested"]
        tot["den"] += t["get"] * t["size"]
        tot["cached"] += t["cached"]
        tot["central"] += t["central"]
        tot["committed"] += t["committed_bytes"]
        if tot["den"] > 2**64 - 1:
            overflow = True
        if not (t["get"] or t["put"] or t["cached"] or t["central"] or t["committed_bytes"]):
            continue
        rows.append((fmt_size(t["size"]), [
            str(t["get"]), str(t["put"]), str(t["live"]), fmt_bytes(t["bytes_requested"]),
            fmt_percent(*fill_parts(t["bytes_requested"], t["get"], t["size"])),
            str(t["cached"]), str(t["central"]), fmt_bytes(t["committed_bytes"])]))
    total = [str(d.get("total_get", 0)), str(d.get("total_put", 0)), str(tot["live"]),
             fmt_bytes(tot["req"]), "-" if overflow else fmt_percent(tot["req"], tot["den"] % 2**64),
             str(tot["cached"]), str(tot["central"]), fmt_bytes(tot["committed"])]
    out += render_table("tier", ["get", "put", "live", "requested", "fill", "cached",
                                 "central", "committed"], rows, total)
    out.append("")

    reasons = d.get("discarded_by_reason", {})
    rows = [(name, [str(r["count"]), fmt_bytes(r["bytes"])])
            for name, r in reasons.items() if r["count"] or r["bytes"]]
    out += render_table("discarded", ["count", "bytes"], rows,
                        [str(d.get("discarded", 0)), fmt_bytes(d.get("discarded_bytes", 0))],
                        left=True)
    out.append(label_line("forwarded frees", str(d.get("forwarded_frees", 0))))
    out.append("")
    out.append(label_line("threads started", str(d.get("threads_started", 0))))
    out.append(label_line("threads exited", str(d.get("threads_exited", 0))))
    out.append(label_line("fork lost blocks", str(d.get("fork_lost_blocks", 0))))

    lengths = d.get("recent_lengths", [])
    n = len(lengths)
    shown = lengths[-64:]
    s = "recent lengths ("
    if n > len(shown):
        s += "last %d of " % len(shown)
    s += "%d%s" % (n, ", oldest first):" if n else ")")
    col = 100
    for v in shown:
        k = str(v)
        if col + 1 + len(k) > 100:
            out.append(s)
            s = " "
            col = 1
        s += " " + k
        col += 1 + len(k)
    out.append(s)

    if "leaks" in d:
        out += render_leaks_text(d["leaks"])
    live_tiers = [t for t in tiers if t["live"] != 0]
    # Forwarded blocks not freed count too (the library's verdict, render.c).
    fwd = max(d.get("discarded", 0) - d.get("forwarded_frees", 0), 0)
    if not live_tiers and not fwd:
        out.append("balanced: every get has its put")
    else:
        s = "UNBALANCED: "
        if live_tiers:
            live = sum(t["live"] for t in tiers)
            live_bytes = sum(t["live"] * t["size"] for t in tiers)
            s += "%d block%s (%d bytes) still live in tier%s %s" % (
                live, "" if live == 1 else "s", live_bytes, "" if len(live_tiers) == 1 else "s",
                ", ".join(fmt_size(t["size"]) for t in live_tiers))
            s += " and " if fwd else ""
        if fwd:
            s += "%d forwarded block%s%s" % (fwd, "" if fwd == 1 else "s",
                                            "" if live_tiers else " still live")
        out.append(s)
    return "\n".join(out) + "\n"
