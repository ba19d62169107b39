"""The leak section of a dump as text (stats/leak_report.c writes the same
text), and the frame and stack lines that `tierpool check` reuses."""

from .fmt import fmt_size


def fmt_tiers(sizes, forwarded):
    s = ""
    if sizes:
        s = ("tier " if len(sizes) == 1 else "tiers ") + ", ".join(fmt_size(t) for t in sizes)
    if forwarded:
        s += " and forwarded" if sizes else "forwarded"
    return s


def frame_text(i, f, sym=None):
    """'#i function+0xoff (module+0xoff)' and, symbolized, ' file:line'."""
    if f.get("module") is None:
        return "    #%d 0x%x" % (i, f["offset"])
    name = f.get("function")
    where = "%s+0x%x" % (name, f["function_offset"]) if name else "??"
    if sym and sym.get("function"):
        where = "%s+0x%x" % (sym["function"], f["function_offset"]) if name else sym["function"]
    s = "    #%d %s (%s+0x%x)" % (i, where, f["module"], f["offset"])
    if sym and sym.get("file"):
        s += " " + sym["file"]
    return s


def stack_head(st, est):
    about = "~" if est else ""
    s = "  %s%d bytes in %s%d block%s (" % (about, st["bytes"], about, st["blocks"],
                                           "" if st["blocks"] == 1 else "s")
    if est:
        s += "%d sample%s, " % (st["samples"], "" if st["samples"] == 1 else "s")
    s += fmt_tiers(st.get("tiers", []), st.get("forwarded"))
    return s + (") from stacks past the table's capacity" if st.get("overflow")
                else ") allocated from:")


# The library's headings of the kinds (stats/leak_report.c).
KIND_TITLES = {"direct": "direct leaks (no pointer to them is left):",
               "indirect": "indirect leaks (pointed to only by leaked blocks):",
               "reachable": "still reachable (a pointer to them is left: not leaks):"}


def render_leaks_text(lk):
    """The leak section as the library writes it (no symbolizer)."""
    est = lk.get("estimated", False)
    about = "~" if est else ""
    stacks = lk.get("stacks", [])
    if not lk.get("stack_count"):
        return ["leaks: none: every tracked get has its put"]
    n = lk["stack_count"]

    def blocks(t):
        return "%s%d block%s (%s%d bytes)" % (about, t["blocks"], "" if t["blocks"] == 1 else "s",
                                             about, t["bytes"])
    head = "%s%d stack%s hold%s %s not freed" % (
        "leaks (sampled: estimates): " if est else "leaks: ", n, "" if n == 1 else "s",
        "s" if n == 1 else "", blocks(lk))
    if lk.get("reachability"):  # the library's kind split (docs/leaks.md)
        head += ": %s leaked directly, %s indirectly, %s still reachable; direct first:" % (
            blocks(lk["direct"]), blocks(lk["indirect"]), blocks(lk["reachable"]))
    else:
        head += ", most bytes first:"
    out, kind = [head], None
    for st in stacks:
        if st.get("kind") != kind and st.get("kind") in KIND_TITLES:
            out.append(KIND_TITLES[st["kind"]])
        kind = st.get("kind")
        out.append(stack_head(st, est))
        if st.get("overflow"):
            continue
        out += [frame_text(i, f) for i, f in enumerate(st["frames"])]
        if not st["frames"]:
            out.append("    (no frames)")
    rest = n - len(stacks)
    if rest > 0:
        blocks = lk["blocks"] - sum(s["blocks"] for s in stacks)
        nbytes = lk["bytes"] - sum(s["bytes"] for s in stacks)
        out.append("  ... and %d more stack%s (%s%d blocks, %s%d bytes); TIERPOOL_LEAKS_TOP=0 "
                   "shows every stack" % (rest, "" if rest == 1 else "s", about, blocks, about, nbytes))
    if lk.get("dropped"):
        out.append("  (%d forwarded blocks were not tracked: the table of forwarded blocks was "
                   "full)" % lk["dropped"])
    return out
