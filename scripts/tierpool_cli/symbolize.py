"""Symbolization for `tierpool check`: file:line and demangled names for
the (module, offset) frames of the leak reports, in one batch per run."""

import glob
import os
import re
import shutil
import subprocess


class Symbolizer:
    """file:line (and demangled names) for (module, offset) pairs, in one
    batch: llvm-symbolizer if on the PATH, else addr2line per module."""

    def __init__(self):
        self.llvm = shutil.which("llvm-symbolizer") or next(
            (p for p in sorted(glob.glob("/usr/bin/llvm-symbolizer-*"), reverse=True)), None)
        self.addr2line = shutil.which("addr2line")
        self.cxxfilt = shutil.which("c++filt")

    def run(self, pairs):
        """pairs: set of (module, offset of a return address)."""
        res = {}
        pairs = sorted(p for p in pairs if p[0] and os.path.isfile(p[0]))
        if self.llvm and pairs:
            text = "".join('"%s" 0x%x\n' % (m, max(o - 1, 0)) for m, o in pairs)
            r = subprocess.run([self.llvm, "--no-inlines", "--demangle"], input=text,
                               capture_output=True, text=True)
            blocks = r.stdout.split("\n\n")
            for (m, o), b in zip(pairs, blocks):
                lines = b.strip("\n").split("\n")
                res[(m, o)] = self.entry(lines[0] if lines else "??",
                                         lines[1] if len(lines) > 1 else "??:0")
        elif self.addr2line:
            by_mod = {}
            for m, o in pairs:
                by_mod.setdefault(m, []).append(o)
            for m, offs in by_mod.items():
                r = subprocess.run([self.addr2line, "-f", "-C", "-e", m], capture_output=True,
                                   text=True, input="".join("0x%x\n" % max(o - 1, 0) for o in offs))
                lines = r.stdout.split("\n")
                for i, o in enumerate(offs):
                    fn = lines[2 * i] if 2 * i < len(lines) else "??"
                    fl = lines[2 * i + 1] if 2 * i + 1 < len(lines) else "??:0"
                    res[(m, o)] = self.entry(fn, fl)
        return res

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
