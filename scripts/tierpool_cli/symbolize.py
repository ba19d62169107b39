"""Symbolization for `tierpool check`: function names, file:line and the
chain of inlined functions for the (module, offset) frames of the leak
reports, in one batch per run, and demangled names for the library's own.

One return address stands for several source frames when the compiler
inlined calls there: the symbolizer's inline output lists them innermost
first (the function the code came from, then each function it was inlined
into, the real one last), and so do the reports."""

import glob
import os
import re
import shutil
import subprocess

ADDRESS = re.compile(r"^0x[0-9a-f]+$")


class Symbolizer:
    """[{function, file}, ...] (innermost first) for (module, offset)
    pairs: llvm-symbolizer if on the PATH, else addr2line per module."""

    def __init__(self, which="auto"):
        """which: 'auto' (llvm-symbolizer if found, else addr2line),
        'llvm-symbolizer' or 'addr2line'."""
        self.llvm = shutil.which("llvm-symbolizer") or next(
            (p for p in sorted(glob.glob("/usr/bin/llvm-symbolizer-*"), reverse=True)), None)
        self.addr2line = shutil.which("addr2line")
        if which == "addr2line":
            self.llvm = None
        elif which == "llvm-symbolizer":
            self.addr2line = None
        self.cxxfilt = shutil.which("c++filt")

    def run(self, pairs):
        """{(module, offset): {function, file}}: the real function (outermost
        of the inline chain) and the innermost source line, as
        llvm-symbolizer --no-inlines gives them (what `tierpool profile`
        reads). `tierpool check` reads chains()."""
        return {p: {"function": c[-1]["function"], "file": c[0]["file"]}
                for p, c in self.chains(pairs).items()}

    def chains(self, pairs):
        """pairs: set of (module, offset of a return address) -> the inline
        chain of each, innermost first. The offset looked up is one less:
        the call instruction, not the one after it."""
        pairs = sorted(p for p in pairs if p[0] and os.path.isfile(p[0]))
        if self.llvm and pairs:
            return self.run_llvm(pairs)
        if self.addr2line and pairs:
            return self.run_addr2line(pairs)
        return {}

    def run_llvm(self, pairs):
        text = "".join('"%s" 0x%x\n' % (m, max(o - 1, 0)) for m, o in pairs)
        r = subprocess.run([self.llvm, "--inlines", "--demangle"], input=text,
                           capture_output=True, text=True)
        # One block per address, blank-line separated: function and
        # file:line:column lines, innermost first.
        blocks = r.stdout.split("\n\n")
        res = {}
        for pair, b in zip(pairs, blocks):
            lines = b.strip("\n").split("\n")
            res[pair] = self.chain(lines)
        return res

    def run_addr2line(self, pairs):
        by_mod = {}
        for m, o in pairs:
            by_mod.setdefault(m, []).append(o)
        res = {}
        for m, offs in by_mod.items():
            r = subprocess.run([self.addr2line, "-a", "-f", "-i", "-C", "-e", m],
                               capture_output=True, text=True,
                               input="".join("0x%x\n" % max(o - 1, 0) for o in offs))
            # -a starts each address's lines with the address itself.
            groups, cur = [], None
            for line in r.stdout.split("\n"):
                if ADDRESS.match(line.strip()):
                    cur = []
                    groups.append(cur)
                elif cur is not None and line:
                    cur.append(line)
            for o, lines in zip(offs, groups):
                res[(m, o)] = self.chain(lines)
        return res

    def chain(self, lines):
        """Function/file line pairs -> [{function, file}, ...]; at least one."""
        out = [self.entry(lines[i], lines[i + 1] if i + 1 < len(lines) else "??:0")
               for i in range(0, len(lines) - 1, 2)]
        return out or [{"function": None, "file": None}]

    @staticmethod
    def entry(fn, fl):
        fl = re.sub(r" \(discriminator \d+\)$", "", fl.strip())
        fl = re.sub(r"^(.*:\d+):\d+$", r"\1", fl)  # llvm: file:line:column
        bad = fl.startswith("??") or fl.endswith(":0") or fl.endswith(":?")
        return {"function": None if fn.strip() in ("??", "") else fn.strip(),
                "file": None if bad else fl}

    def demangle(self, names):
        names = sorted(n for n in names if n and n.startswith("_Z"))
        if not names or not self.cxxfilt:
            return {}
        r = subprocess.run([self.cxxfilt], input="\n".join(names) + "\n", capture_output=True,
                           text=True)
        return dict(zip(names, r.stdout.split("\n")))


def source_frames(stack, syms, plain):
    """A stack's frames as the source reads them: each return address
    expanded into its chain of inlined functions (innermost first), each
    with `symbol` (the symbolizer's name, else the library's demangled)
    and `file` (file:line or None); all but the last of a chain are marked
    `inlined` and carry no function offset."""
    out = []
    for f in stack["frames"]:
        chain = syms.get((f.get("module"), f["offset"])) or [{"function": None, "file": None}]
        for j, e in enumerate(chain):
            last = j == len(chain) - 1
            name = e["function"] or (plain.get(f.get("function"), f.get("function")) if last
                                     else None)
            sf = dict(f, symbol=name, file=e["file"], inlined=not last)
            if not last:
                sf["function_offset"] = None
            out.append(sf)
    return out
