"""Loading dumps: JSON or JSON-lines files the library writes (one dump
per line with TIERPOOL_INTERVAL or signals), refused with one clean line
when they are not tierpool dumps."""

import contextlib
import json
import sys

SCHEMA_VERSION = 1  # the dumps this tool reads (stats/render.h)


def load_dumps(path):
    """Every dump in a JSON or JSON-lines file ('-': stdin)."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except UnicodeDecodeError as e:
        raise SystemExit("tierpool: %s: not UTF-8 text: %s" % (path, e.reason))
    except OSError as e:
        raise SystemExit("tierpool: %s: %s" % (path, e.strerror))
    dumps = []
    try:
        dumps = [json.loads(text)]
    except (json.JSONDecodeError, RecursionError, ValueError):
        for no, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    dumps.append(json.loads(line))
                except (json.JSONDecodeError, RecursionError, ValueError) as e:
                    raise SystemExit("tierpool: %s:%d: not JSON: %s" % (path, no, e))
    for d in dumps:
        if not isinstance(d, dict) or "tiers" not in d:
            raise SystemExit("tierpool: %s: not a tierpool dump (no 'tiers')" % path)
        version = d.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise SystemExit("tierpool: %s: not a tierpool dump (version %r)" % (path, version))
        if version > SCHEMA_VERSION:
            print("tierpool: %s: dump version %s is newer than this tool's %d; reading it anyway"
                  % (path, d.get("version"), SCHEMA_VERSION), file=sys.stderr)
    if not dumps:
        raise SystemExit("tierpool: %s: no dump in it" % path)
    return dumps


def pick(dumps, index, path):
    try:
        return dumps[index]
    except IndexError:
        raise SystemExit("tierpool: %s has %d dumps; no dump %d" % (path, len(dumps), index))


@contextlib.contextmanager
def malformed(path):
    """Reading a dump's fields: a field missing or of the wrong type ends
    in one line naming the file, not a traceback."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        what = "no field %s" % e if isinstance(e, KeyError) else "a field of the wrong type: %s" % e
        raise SystemExit("tierpool: %s: not a well-formed tierpool dump (%s)" % (path, what))
