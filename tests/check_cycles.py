#!/usr/bin/python3
"""check_cycles.py - no two source files of the library call each other,
directly or around a longer loop (README, "Code map").

  check_cycles.py BUILD_DIR [TARGET ...]

Reads the objects of the targets (default: the object libraries
tierpool_core and tierpool_stats, and tierpool itself for preload/ and
pools/: everything in libtierpool.so) under BUILD_DIR/CMakeFiles/TARGET.dir
with nm. File a depends on file b when a's object uses a symbol that b's
defines; a strongly connected component of that graph with more than one
file is a cycle. Each is printed with its files and, for every edge inside
it, the symbols, and the status is 1. Shared state or a shared helper then
wants one owner file that the others use.

The objects must be built and current: a target without objects, or an
object older than a file its depfile lists, fails the check rather than
letting it read an old build.
"""
import collections
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
import tptest  # noqa: E402

TARGETS = ("tierpool_core", "tierpool_stats", "tierpool")
DEFINED = set("TDBRCVW")  # global definitions (nm's upper-case types); U: used


def objects(build, targets):
    """{source path (core/cache.c): object path} of the targets."""
    objs = {}
    for t in targets:
        base = os.path.join(build, "CMakeFiles", t + ".dir")
        found = sorted(glob.glob(os.path.join(base, "**", "*.o"), recursive=True))
        tptest.check(found, "no objects in %s: build first (cmake --build %s)" % (base, build))
        for o in found:
            objs[os.path.relpath(o, base)[:-len(".o")]] = o
    return objs


def check_current(obj):
    """Fails if obj is older than a file its depfile (obj.d) lists."""
    dep = obj + ".d"
    if not os.path.exists(dep):
        return
    with open(dep) as f:
        text = f.read().replace("\\\n", " ")
    when = os.path.getmtime(obj)
    for path in text.split(":", 1)[1].split():
        if os.path.exists(path) and os.path.getmtime(path) > when:
            tptest.fail("%s is older than %s: rebuild first" % (obj, path))


def symbols(obj):
    """(defined, used): the object's global symbols, by nm."""
    r = tptest.run(["nm", "-P", obj])
    tptest.check(r.returncode == 0, "nm %s: %s" % (obj, r.stderr.strip()))
    defined, used = set(), set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        if f[1] == "U":
            used.add(f[0])
        elif f[1] in DEFINED:
            defined.add(f[0])
    # Every source of the library defines or uses a global symbol: none
    # read means nm could not read the object (an LTO object without the
    # linker plugin), and a cycle there would go unseen.
    tptest.check(defined or used, "nm read no symbols from %s" % obj)
    return defined, used


def graph(objs):
    """{file: {file it uses: sorted symbols}}."""
    owner, uses = {}, {}
    for src, obj in objs.items():
        check_current(obj)
        defined, uses[src] = symbols(obj)
        for s in defined:
            owner.setdefault(s, src)
    g = {src: collections.defaultdict(set) for src in objs}
    for src, used in uses.items():
        for s in used:
            if owner.get(s, src) != src:
                g[src][owner[s]].add(s)
    return {a: {b: sorted(s) for b, s in e.items()} for a, e in g.items()}


def components(g):
    """Tarjan's strongly connected components with more than one file,
    iterative (no recursion limit), each sorted, in a stable order."""
    index, low, stack, on, out = {}, {}, [], set(), []
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        g = graph(objects(argv[1], argv[2:] or TARGETS))
    except AssertionError as err:
        print("FAIL layout.no_cycles: %s" % err, file=sys.stderr)
        return 1
    cycles = components(g)
    for comp in cycles:
        print("cycle between %s:" % ", ".join(comp), file=sys.stderr)
        for a in comp:
            for b in sorted(set(g[a]) & set(comp)):
                print("  %s -> %s: %s" % (a, b, ", ".join(g[a][b])), file=sys.stderr)
    if cycles:
        print("FAIL layout.no_cycles: %d cycle(s) between source files; give the shared "
              "state or helper one owner file that the others use" % len(cycles),
              file=sys.stderr)
        return 1
    print("ok layout.no_cycles: %d files, no cycle" % len(g))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
