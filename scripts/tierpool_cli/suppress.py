"""Leak suppressions for `tierpool check`: the built-in list (what glibc,
ld.so and libstdc++ keep until exit on purpose), LeakSanitizer-style
suppression files, and the rule that matches a stack."""

import os


# What glibc, ld.so and libstdc++ keep until exit on purpose. Patterns are
# LeakSanitizer's (matched against each frame's function, module and file);
# the two rules after them need more than a pattern can say.
BUILTIN_SUPPRESSIONS = [
    ("_IO_file_doallocate", "glibc: stdio buffers"),
    ("^setlocale$", "glibc: locale data"),
    ("^setenv$", "glibc: environment strings"),
    ("^putenv$", "glibc: environment array"),
    ("^tzset$", "glibc: time zone data"),
    ("^localtime$", "glibc: time zone data"),
    ("^localtime_r$", "glibc: time zone data"),
    ("^mktime$", "glibc: time zone data"),
    ("^strftime$", "glibc: time zone data"),
    ("^ctime$", "glibc: time zone data"),
    ("^strerror$", "glibc: message buffer"),
    ("^strerror_l$", "glibc: message buffer"),
    ("^strsignal$", "glibc: message buffer"),
    ("^getpw*$", "glibc: NSS buffers and modules"),
    ("^getgr*$", "glibc: NSS buffers and modules"),
    ("^getspnam", "glibc: NSS buffers and modules"),
    ("^initgroups$", "glibc: NSS buffers and modules"),
    ("^getgrouplist$", "glibc: NSS buffers and modules"),
    ("^bindtextdomain$", "glibc: message catalogs"),
    ("^textdomain$", "glibc: message catalogs"),
    ("^*gettext$", "glibc: message catalogs"),
    ("std::ios_base::sync_with_stdio", "libstdc++: the standard streams' buffers"),
]
RULE_LDSO = ("<ld.so>", "ld.so: its own tables (thread TLS blocks, loaded objects)")
RULE_CXXINIT = ("<libstdc++ init>", "libstdc++: state made when it is loaded "
                "(the emergency exception pool)")


class Template:
    """A LeakSanitizer suppression template: substring match, '*' any run
    of characters, '^' and '$' anchors at the ends. Matched by finding the
    literal parts in order (leftmost first), which is linear; a regex of
    '.*' runs backtracks exponentially on templates like 'a*a*a*a*b'."""

    def __init__(self, templ):
        self.start, self.end = templ.startswith("^"), templ.endswith("$") and len(templ) > 1
        body = templ[1 if self.start else 0:len(templ) - 1 if self.end else None]
        self.parts = body.split("*")

    def search(self, s):
        parts, pos = self.parts, 0
        first, last = parts[0], parts[-1]
        if self.start:
            if not s.startswith(first):
                return False
            pos = len(first)
        elif len(parts) == 1 and not self.end:
            return first in s
        else:
            i = s.find(first)
            if i < 0:
                return False
            pos = i + len(first)
        if len(parts) == 1:
            return not self.end or pos == len(s) or (not self.start and s.endswith(first))
        for p in parts[1:-1]:
            i = s.find(p, pos)
            if i < 0:
                return False
            pos = i + len(p)
        if self.end:
            return len(s) - len(last) >= pos and s.endswith(last)
        return s.find(last, pos) >= 0


def template_regex(templ):
    return Template(templ)


def load_suppressions(path):
    """(pattern, regex, origin) of every 'leak:' line; other kinds are
    ignored, as in a file shared with the other sanitizers."""
    out = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        raise SystemExit("tierpool check: %s: %s" % (path, e.strerror))
    except UnicodeDecodeError as e:
        raise SystemExit("tierpool check: %s: not UTF-8 text: %s" % (path, e.reason))
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, pat = line.partition(":")
        if not sep or not pat.strip():
            raise SystemExit("tierpool check: %s:%d: expected 'leak:PATTERN', got %r"
                             % (path, no, line))
        if kind.strip() == "leak":
            out.append((pat.strip(), template_regex(pat.strip()), path))
    return out



def basename_of(module):
    return os.path.basename(module or "")


def frame_names(f, sym, plain):
    """The strings suppressions match: function, module, file."""
    fn = (sym or {}).get("function") or plain.get(f.get("function"), f.get("function"))
    return fn, f.get("module"), (sym or {}).get("file")


def classify(stack, syms, plain, rules):
    """The rule that suppresses this stack, or None."""
    frames = stack["frames"]
    if frames and basename_of(frames[0].get("module")).startswith("ld-linux"):
        return RULE_LDSO[0]
    if (len(frames) > 1 and basename_of(frames[0].get("module")).startswith("libstdc++.so")
            and basename_of(frames[1].get("module")).startswith("ld-linux")):
        return RULE_CXXINIT[0]
    for f in frames:
        names = frame_names(f, syms.get((f.get("module"), f["offset"])), plain)
        for pat, rx, _ in rules:
            if any(n and rx.search(n) for n in names):
                return pat
    return None
