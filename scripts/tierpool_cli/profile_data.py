"""The heap profile as the outputs read it: the library's
DIR/profile.<pid>.json (stats/profile_write.c, docs/profile.md) and the exit
dump next to it, with every frame symbolized once.

A stack's frames are innermost first, as the library writes them; each
frame has a display name (the function, demangled, or module+offset when
no symbol covers it) and, when the symbolizer finds one, file and line.
"""

import glob
import json
import os

from .symbolize import Symbolizer

# The per-stack figures of a profile, in the order the outputs use them:
# (key prefix, what it is). Each has _count and _bytes.
METRICS = (
    ("alloc", "allocated (cumulative)"),
    ("peak", "live at the peak"),
    ("exit", "live at exit"),
    ("short", "short-lived (freed soon after allocation)"),
)


class ProfileError(Exception):
    """A profile that cannot be read: a one-line message for the user."""


class Frame:
    __slots__ = ("name", "file", "line", "module", "offset")

    def __init__(self, name, file, line, module, offset):
        self.name, self.file, self.line, self.module, self.offset = name, file, line, module, offset

    def label(self):
        """'function (file:line)' when the line is known, else the name."""
        return "%s (%s:%d)" % (self.name, os.path.basename(self.file), self.line) if self.file \
            else self.name


def read_json(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return json.load(f)
    except OSError as e:
        raise ProfileError("%s: %s" % (path, e.strerror))
    except ValueError as e:
        raise ProfileError("%s: not a JSON profile: %s" % (path, e))


def find_profiles(directory):
    """{pid: path} of the profiles in directory."""
    out = {}
    for p in glob.glob(os.path.join(directory, "profile.*.json")):
        pid = os.path.basename(p)[len("profile."):-len(".json")]
        if pid.isdigit():
            out[int(pid)] = p
    return out


def exit_dump(path):
    """The last exit dump of a JSON-lines stats file, or None."""
    if not os.path.isfile(path):
        return None
    last = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict) and d.get("reason") == "exit":
                last = d
    return last


def _split_line(fileline):
    """'path:123' -> ('path', 123); None -> (None, 0)."""
    if not fileline or ":" not in fileline:
        return None, 0
    path, _, no = fileline.rpartition(":")
    return (path, int(no)) if no.isdigit() else (None, 0)


def symbolize(stacks, symbolizer=None):
    """Frame objects for every stack's raw frames, with one batch for all."""
    sym = symbolizer or Symbolizer()
    pairs = {(f.get("module"), f.get("offset", 0)) for s in stacks for f in s.get("frames", [])}
    found = sym.run(pairs)
    plain = sym.demangle({f.get("function") for s in stacks for f in s.get("frames", [])})
    made = {}
    for s in stacks:
        frames = []
        for f in s.get("frames", []):
            key = (f.get("module"), f.get("offset", 0), f.get("function"))
            if key not in made:
                hit = found.get(key[:2]) or {}
                if isinstance(hit, list):  # inlined frames, innermost first: the real one last
                    hit = hit[-1] if hit else {}
                name = hit.get("function") or plain.get(f.get("function")) or f.get("function")
                if not name:
                    base = os.path.basename(f.get("module") or "") or "?"
                    name = "%s+0x%x" % (base, f.get("offset", 0))
                path, line = _split_line(hit.get("file"))
                made[key] = Frame(name, path, line, f.get("module"), f.get("offset", 0))
            frames.append(made[key])
        s["symbolized"] = frames
    return stacks


class Profile:
    """One process's profile: the raw JSON, its exit dump (or None) and the
    stacks with symbolized frames."""

    def __init__(self, raw, dump=None, symbolizer=None):
        if not isinstance(raw, dict) or raw.get("version") != 1 or "stacks" not in raw:
            raise ProfileError("not a tierpool profile (version 1)")
        self.raw = raw
        self.dump = dump
        self.stacks = symbolize([s for s in raw["stacks"] if isinstance(s, dict)], symbolizer)
        for s in self.stacks:
            if s.get("overflow"):
                s["symbolized"] = [Frame("[stacks past the table's capacity]", None, 0, None, 0)]
            elif not s["symbolized"]:
                s["symbolized"] = [Frame("[no frames]", None, 0, None, 0)]

    @classmethod
    def load(cls, directory, pid, symbolizer=None):
        path = find_profiles(directory).get(pid)
        if not path:
            raise ProfileError("%s: no profile of process %d" % (directory, pid))
        dump = exit_dump(os.path.join(directory, "stats.%d.json" % pid))
        return cls(read_json(path), dump, symbolizer)

    def total(self, metric, unit="bytes"):
        return sum(s.get("%s_%s" % (metric, unit), 0) for s in self.stacks)

    @property
    def pid(self):
        return self.raw.get("pid", 0)

    @property
    def estimated(self):
        return self.raw.get("mode") == "sample"
