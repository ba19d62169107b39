"""Running a command on tierpool: where the preload library is, the
environment that preloads it, and the command after '--'."""

import os

# Where the launcher looks for libtierpool.so after --lib and $TIERPOOL_LIB:
# the checkout's build directory, or the install's library directory (the
# installed launcher sets it; see the install section of CMakeLists.txt).
LIB_DIRS = []


def find_library(explicit=None):
    """The preload library: --lib, $TIERPOOL_LIB, then LIB_DIRS."""
    candidates = []
    if explicit:
        candidates.append(explicit)
    if os.environ.get("TIERPOOL_LIB"):
        candidates.append(os.environ["TIERPOOL_LIB"])
    for d in LIB_DIRS:
        candidates.append(os.path.join(d, "libtierpool.so"))
    for c in candidates:
        if os.path.isfile(c):
            return os.path.realpath(c)
    return None


def need_library(explicit, who):
    """find_library, or the one-line error of subcommand `who`."""
    lib = find_library(explicit)
    if not lib:
        raise SystemExit("tierpool %s: libtierpool.so not found; build it (cmake --build build) "
                         "or point TIERPOOL_LIB (or --lib) at it" % who)
    return lib


def preload_env(lib, base=None):
    """A copy of the environment with lib first in LD_PRELOAD."""
    env = dict(os.environ if base is None else base)
    env["LD_PRELOAD"] = lib + (" " + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    return env


def command_of(args, who):
    """The command after '--' (argparse.REMAINDER keeps the '--')."""
    cmd = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if not cmd:
        raise SystemExit("tierpool %s: no command given (tierpool %s [options] -- CMD ARGS)"
                         % (who, who))
    return cmd
