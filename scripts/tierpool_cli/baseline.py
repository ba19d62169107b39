"""Leak baselines for `tierpool check`: a stack named by its functions (not
its addresses, which move with every build), and the baseline file."""

import os


def signature(frames):
    """A stack by name, not address: 'f0 | f1 | ...' of its source frames
    (symbolize.source_frames: inlined functions included, innermost first);
    a frame without a name is '?@module'."""
    return " | ".join(f["symbol"] or "?@" + (os.path.basename(f.get("module") or "") or "?")
                      for f in frames)


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
