"""Running a command on tierpool: where the preload library is, the
environment that preloads it, and the command after '--'."""

import os

# Where the launcher looks for libtierpool.so after --lib and $TIERPOOL_LIB:
# the checkout's build directory, or the install's library directory (the
# installed launcher sets it; see the install section of CMakeLists.txt).
LIB_DIRS = []


def find_library(explicit=None):
    """The preload library: --lib, else $TIERPOOL_LIB, else the first of
    LIB_DIRS that holds one. A library named but missing is an error, not
    a reason to take another."""
    named = explicit or os.environ.get("TIERPOOL_LIB")
    if named:
        return os.path.realpath(named) if os.path.isfile(named) else None
    for d in LIB_DIRS:
        c = os.path.join(d, "libtierpool.so")
        if os.path.isfile(c):
            return os.path.realpath(c)
    return None


def need_library(explicit, who):
    """find_library, or the one-line error of subcommand `who`."""
    lib = find_library(explicit)
    if lib:
        return lib
    if explicit:
        raise SystemExit("tierpool %s: --lib %s: no such file" % (who, explicit))
    if os.environ.get("TIERPOOL_LIB"):
        raise SystemExit("tierpool %s: TIERPOOL_LIB=%s: no such file"
                         % (who, os.environ["TIERPOOL_LIB"]))
    raise SystemExit("tierpool %s: libtierpool.so not found; build it (cmake --build build) "
                     "or point TIERPOOL_LIB (or --lib) at it" % who)


def preload_env(lib, base=None):
    """A copy of the environment with lib first in LD_PRELOAD."""
    env = dict(os.environ if base is None else base)
    env["LD_PRELOAD"] = lib + (" " + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    return env


class UsageError(Exception):
    """A command line argparse accepted but the subcommand cannot use: the
    entry point prints the subcommand's usage and this one line."""


def command_of(args):
    """The command after '--' (argparse.REMAINDER keeps the '--')."""
    cmd = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if not cmd:
        raise UsageError("no command given (after --)")
    return cmd
