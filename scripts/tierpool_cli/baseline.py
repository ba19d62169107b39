"""Leak baselines for `tierpool check`: a stack named by its functions (not
its addresses, which move with every build), and the baseline file."""

from .suppress import basename_of, frame_names


def signature(stack, syms, plain):
    """A stack by name, not address, for baselines: 'f0 | f1 | ...'."""
    parts = []
    for f in stack["frames"]:
        fn = frame_names(f, syms.get((f.get("module"), f["offset"])), plain)[0]
        parts.append(fn if fn else "?@" + (basename_of(f.get("module")) or "?"))
    return " | ".join(parts)


def load_baseline(path):
    try:
        return set(l.strip() for l in open(path, encoding="utf-8")
                   if l.strip() and not l.startswith("#"))
    except FileNotFoundError:
        return set()
    except OSError as e:
        raise SystemExit("tierpool check: %s: %s" % (path, e.strerror))
    except UnicodeDecodeError as e:
        raise SystemExit("tierpool check: %s: not UTF-8 text: %s" % (path, e.reason))
