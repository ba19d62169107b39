"""`tierpool options`: the TIERPOOL_ options in effect, as the library
itself lists them at start with TIERPOOL_VERBOSE=1 (generated from its
option tables: this module holds no list of options)."""

import re
import shutil
import subprocess
import sys

from .runenv import need_library, preload_env

LINE = re.compile(r"^tierpool: (TIERPOOL_\w+)=(.*) \((default|environment)\)$")


def read_options(lib, env=None):
    """[(name, value, source)] and the library's other lines (warnings)."""
    e = preload_env(lib, env)
    e["TIERPOOL_VERBOSE"] = "1"
    true = shutil.which("true") or "/bin/true"
    r = subprocess.run([true], env=e, capture_output=True, text=True, timeout=60)
    opts, other = [], []
    for line in r.stderr.splitlines():
        m = LINE.match(line)
        if m:
            opts.append(m.groups())
        elif line:
            other.append(line)
    return opts, other


def cmd_options(args):
    lib = need_library(args.lib, "options")
    opts, other = read_options(lib)
    if not opts:
        raise SystemExit("tierpool options: %s listed no options (is it tierpool's library?)" % lib)
    for line in other:  # an unknown name, a bad value: the library's own words
        print(line, file=sys.stderr)
    w = max(len(n) for n, _, _ in opts)
    for name, value, source in opts:
        if name == "TIERPOOL_VERBOSE":
            continue  # set by this command to get the listing
        print("%-*s  %-12s  %s" % (w, name, value if value else "(unset)", source))
    return 0
