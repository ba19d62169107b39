"""Folded stacks: one line per stack, `root;caller;...;allocator-caller
value`, the input format of flamegraph.pl, inferno and speedscope.

Frames are written outermost first (the format's order; the library
records them innermost first). A frame name never holds ';' (the format's
separator, replaced by ':') nor a line break; the value is a positive
integer (stacks whose value is 0 are left out) and lines with the same
stack are merged, as stackcollapse scripts do.
"""


def frame_text(frame):
    return frame.label().replace(";", ":").replace("\n", " ").replace("\r", " ").strip() or "?"


def lines(prof, key):
    """{folded stack: value} of one per-stack figure (e.g. 'alloc_bytes')."""
    out = {}
    for s in prof.stacks:
        v = int(s.get(key, 0))
        if v <= 0:
            continue
        stack = ";".join(frame_text(f) for f in reversed(s["symbolized"]))
        out[stack] = out.get(stack, 0) + v
    return out


def write(prof, key, path):
    """Writes the folded stacks of one figure, largest first; returns how many."""
    folded = lines(prof, key)
    with open(path, "w", encoding="utf-8") as f:
        for stack, v in sorted(folded.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write("%s %d\n" % (stack, v))
    return len(folded)
