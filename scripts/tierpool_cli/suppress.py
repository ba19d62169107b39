"""Leak suppressions for `tierpool check`: the built-in list (what glibc,
ld.so and libstdc++ keep until exit on purpose), LeakSanitizer-style
suppression files, and the rule that matches a stack."""

import os


# What glibc, ld.so and libstdc++ keep until exit on purpose. Patterns are
# LeakSanitizer's, matched against each frame's function, module and file.
# The public names alone do not hold: glibc jumps from them into internal
# functions (setenv -> __add_to_environ, localtime_r -> __tz_convert ->
# tzset_internal -> __tzfile_read), and a jump leaves no frame of the public
# name. The internal names come from glibc's debug symbols (Debian:
# libc6-dbg); without them those frames have no name and only the public
# names and the rules below match. The two rules after the list need more
# than a pattern can say.
BUILTIN_SUPPRESSIONS = [
    # stdio: the buffers of streams (stdin, stdout, stderr stay open)
    ("_IO_file_doallocate", "glibc: stdio buffers"),
    ("_IO_wfile_doallocate", "glibc: stdio buffers"),
    # the environment
    ("^setenv$", "glibc: environment strings"),
    ("^putenv$", "glibc: environment array"),
    ("^__add_to_environ$", "glibc: environment strings"),
    # time zone data
    ("^tzset", "glibc: time zone data"),  # tzset, tzset_internal, tzset_parse_tz
    ("^__tz", "glibc: time zone data"),  # __tzfile_read, __tz_convert, __tzstring, ...
    ("^localtime", "glibc: time zone data"),
    ("^mktime$", "glibc: time zone data"),
    ("^__mktime_internal$", "glibc: time zone data"),
    ("^strftime", "glibc: time zone data"),
    ("^ctime", "glibc: time zone data"),
    # locale data and message catalogs
    ("^setlocale$", "glibc: locale data"),
    ("^_nl_", "glibc: locale data and message catalogs"),  # _nl_find_locale, _nl_load_domain...
    ("^*gettext$", "glibc: message catalogs"),  # gettext, dcgettext, __dcigettext, ...
    ("^bindtextdomain$", "glibc: message catalogs"),
    ("^bind_textdomain_codeset$", "glibc: message catalogs"),
    ("^textdomain$", "glibc: message catalogs"),
    ("^set_binding_values$", "glibc: message catalogs"),
    # character set conversion: the cache of conversion steps, shared
    ("^__gconv_lookup_cache$", "glibc: iconv conversion cache"),
    ("^__gconv_load_cache$", "glibc: iconv conversion cache"),
    ("^__gconv_read_conf$", "glibc: iconv conversion cache"),
    ("^__gconv_find_shlib$", "glibc: iconv conversion cache"),
    ("^__wcsmbs_load_conv$", "glibc: iconv conversion cache"),
    # message buffers
    ("^strerror", "glibc: message buffer"),
    ("^strsignal$", "glibc: message buffer"),
    ("^dlerror$", "glibc: message buffer"),
    ("^_dlerror_run$", "glibc: message buffer"),
    # NSS: user and group databases, the modules and their state
    ("^getpw", "glibc: NSS buffers and modules"),
    ("^getgr", "glibc: NSS buffers and modules"),
    ("^getspnam", "glibc: NSS buffers and modules"),
    ("^initgroups$", "glibc: NSS buffers and modules"),
    ("^getgrouplist$", "glibc: NSS buffers and modules"),
    ("^__nss_", "glibc: NSS buffers and modules"),
    ("^_nss_", "glibc: NSS buffers and modules"),  # _nss_files_*, _nss_dns_*
    ("^__GI__nss_", "glibc: NSS buffers and modules"),  # their names in glibc's debug symbols
    ("^nss_", "glibc: NSS buffers and modules"),
    ("^gethostby", "glibc: NSS buffers and modules"),  # the static result of each getXbyY
    ("^gethostent", "glibc: NSS buffers and modules"),
    ("^getservby", "glibc: NSS buffers and modules"),
    ("^getprotoby", "glibc: NSS buffers and modules"),
    ("^getnetby", "glibc: NSS buffers and modules"),
    ("^getrpcby", "glibc: NSS buffers and modules"),
    ("^__resolv_conf_", "glibc: resolver configuration"),
    ("^__res_context_send$", "glibc: resolver state (name server addresses)"),
    ("^__check_pf$", "glibc: getaddrinfo's cache of interface addresses"),
    # ld.so's own blocks (TLS, loaded objects) are the rule <ld.so>: by the
    # innermost frame, since a pattern like ^_dl_ would match the frames of
    # ld.so that run every library's constructors, and hide their leaks.
    # libstdc++
    ("std::ios_base::sync_with_stdio", "libstdc++: the standard streams' buffers"),
    ("(anonymous namespace)::pool::pool", "libstdc++: the emergency exception pool"),
]
RULE_LDSO = ("<ld.so>", "ld.so: its own tables (thread TLS blocks, loaded objects)")
RULE_CXXINIT = ("<libstdc++ init>", "libstdc++: state made when it is loaded "
                "(the emergency exception pool)")
WHY_BUILTIN = dict(BUILTIN_SUPPRESSIONS + [RULE_LDSO, RULE_CXXINIT])


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


def builtin_rules():
    """(pattern, template, origin) of every built-in suppression."""
    return [(p, template_regex(p), "built-in") for p, _ in BUILTIN_SUPPRESSIONS]


def basename_of(module):
    return os.path.basename(module or "")


def classify(frames, rules):
    """The rule that suppresses a stack (its source frames, innermost
    first: symbolize.source_frames), or None. A stack goes to the first
    pattern that matches, frame by frame, as in LeakSanitizer."""
    if frames and basename_of(frames[0].get("module")).startswith("ld-linux"):
        return RULE_LDSO[0]
    real = [f for f in frames if not f.get("inlined")]
    if (len(real) > 1 and basename_of(real[0].get("module")).startswith("libstdc++.so")
            and basename_of(real[1].get("module")).startswith("ld-linux")):
        return RULE_CXXINIT[0]
    for f in frames:
        names = (f.get("symbol"), f.get("module"), f.get("file"))
        for pat, rx, _ in rules:
            if any(n and rx.search(n) for n in names):
                return pat
    return None
