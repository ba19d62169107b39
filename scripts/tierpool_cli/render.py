"""A JSON dump as the library's text table (stats/render.c): what
`tierpool show` prints."""

import time

from .fmt import fill_parts, fmt_bytes, fmt_percent, fmt_size, label_line, render_table
from .leaktext import render_leaks_text


def fmt_time_ns(ns):
    """RFC 3339 UTC with milliseconds, as tp_fmt_time; "-" for 0 (never)."""
    if not ns:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        ".%03dZ" % (ns // 10**6 % 1000)


def fmt_value(v, unit):
    """A counter as the text table shows it, by the unit its description gives."""
    if v is None:
        return "-"
    return {"bytes": fmt_bytes, "size": fmt_size, "ns": fmt_time_ns}.get(unit, str)(v)


def counter_fields(d):
    """The counters' descriptions the dump carries ("fields", generated from
    the library's one declaration of each); for a dump from before they were
    written, each tier key is its own column."""
    fields = d.get("fields")
    if fields:
        return fields["tier"], fields["process"]
    keys = list(d["tiers"][0]) if d.get("tiers") else []
    return ([dict(key=k, label=None if k == "size" else k, unit="count") for k in keys], [])


def tier_cell(t, f):
    if f["unit"] == "ratio":  # fill, from its exact parts
        return fmt_percent(*fill_parts(t["bytes_requested"], t["get"], t["size"]))
    return fmt_value(t.get(f["key"]), f["unit"])


def tier_total(d, tiers, f):
    """The total row, by stats/render.c's rules: the process's own peaks,
    fill over all the bytes, sums for the rest."""
    key = f["key"]
    if key.startswith("peak_"):
        return fmt_value(d.get(key), f["unit"])
    if f["unit"] == "ratio":
        den = sum(t["get"] * t["size"] for t in tiers)
        req = sum(t["bytes_requested"] for t in tiers)
        return "-" if den > 2**64 - 1 else fmt_percent(req, den)
    return fmt_value(sum(t.get(key, 0) for t in tiers), f["unit"])


def pool_fields(d):
    """The pools table's columns as the dump describes them ("fields" under
    "pool"); for a dump from before they were described, each key of a row."""
    fields = d.get("fields", {}).get("pool")
    if fields:
        return fields
    rows = list(d.get("pools", {}).values())
    return [dict(key=k, label=k, unit="count") for k in rows[0]] if rows else []


def render_pools(d):
    """The named pools' table (pools/registry.c): a blank line, then one row
    per pool, names aligned left as in every keyed table."""
    cols = [f for f in pool_fields(d) if f.get("label")]
    rows = [(name, [fmt_value(p.get(f["key"]), f["unit"]) for f in cols])
            for name, p in d["pools"].items()]
    return [""] + render_table("pool", [f["label"] for f in cols], rows, left=True)


def render_text(d):
    """A JSON dump as the library's text table (stats/render.c)."""
    out = []
    head = "tierpool %s dump: pid %d" % (d.get("reason", "?"), d.get("pid", 0))
    if d.get("exe"):
        head += " (%s)" % d["exe"]
    head += " at %s" % d.get("time", "?")
    out.append(head)
    if d.get("cmdline"):
        out.append(label_line("command", d["cmdline"]))
    if d.get("cwd"):
        out.append(label_line("directory", d["cwd"]))

    tiers = d.get("tiers", [])
    tier_fields, process_fields = counter_fields(d)
    cols = [f for f in tier_fields if f.get("label")]
    rows = [(fmt_size(t["size"]), [tier_cell(t, f) for f in cols]) for t in tiers
            if t["get"] or t["put"] or t["cached"] or t["central"] or t["committed_bytes"]]
    total = [tier_total(d, tiers, f) for f in cols]
    out += render_table("tier", [f["label"] for f in cols], rows, total)
    out.append("")
    for f in process_fields:
        if f.get("label"):
            out.append(label_line(f["label"], fmt_value(d.get(f["key"], 0), f["unit"])))
    out.append("")

    reasons = d.get("discarded_by_reason", {})
    rows = [(name, [str(r["count"]), fmt_bytes(r["bytes"])])
            for name, r in reasons.items() if r["count"] or r["bytes"]]
    out += render_table("discarded", ["count", "bytes"], rows,
                        [str(d.get("discarded", 0)), fmt_bytes(d.get("discarded_bytes", 0))],
                        left=True)

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
    if "pools" in d:
        out += render_pools(d)
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
