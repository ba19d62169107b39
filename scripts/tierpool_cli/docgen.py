"""The man page (troff) and the bash completion, both generated from the
parser in cli.py, so that neither can drift from `tierpool --help`. The
build runs it (CMakeLists.txt, install section):

  python3 -m tierpool_cli.docgen --man tierpool.1 --bash tierpool.bash
"""

import argparse
import re
import sys

from . import __version__
from .cli import build_parser

# What the man page says beyond the parser's help.
ENVIRONMENT = [
    ("TIERPOOL_LIB", "The libtierpool.so that run, check and bench preload when --lib is not "
     "given (default: the one installed with this command, or the checkout's build/)."),
    ("TIERPOOL_*", "The library's options (see the README's Options table); run passes them "
     "through to the command."),
]
EXIT_STATUS = ("run and check exit with the command's status (127: not found, 126: not "
               "runnable); check exits with --exitcode when leaks are found. 1: a file could "
               "not be read or is not a tierpool dump; 2: a bad command line (the subcommand's "
               "usage is printed).")
# Option values completed as file names.
FILE_METAVARS = ("FILE", "PATH", "DEST", "DIR")


def subcommands(p):
    """[(name, parser, one-line help)] in the parser's order."""
    act = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in act._choices_actions}
    return [(name, sp, helps.get(name, "")) for name, sp in act.choices.items()]


def options(sp):
    """The visible optional arguments of a parser (not -h)."""
    return [a for a in sp._actions if a.option_strings and a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._HelpAction)]


def positionals(sp):
    return [a for a in sp._actions if not a.option_strings and a.help != argparse.SUPPRESS]


def takes_value(a):
    return a.nargs != 0


def value_name(a):
    if a.choices:
        return "{%s}" % ",".join(a.choices)
    return a.metavar or a.dest.upper()


# ------------------------------------------------------------- man page


def roff(text):
    """Plain text as troff: backslashes escaped, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l if l[:1] in ".'" else l) for l in text.split("\n"))


def man_page(p):
    out = ['.TH TIERPOOL 1 "" "tierpool %s" "User Commands"' % __version__,
           ".SH NAME", "tierpool \\- " + roff(p.description.rstrip(".").lower()),
           ".SH SYNOPSIS", ".B tierpool", ".RB [ \\-\\-version ]", ".I COMMAND",
           "[\\fIoptions\\fR] [\\fIarguments\\fR]"]
    out += [".SH DESCRIPTION", roff(p.description),
            "Every command prints its own help with \\fBtierpool \\fICOMMAND\\fB \\-\\-help\\fR."]
    out.append(".SH COMMANDS")
    for name, sp, _ in subcommands(p):
        usage = sp.format_usage().replace("usage: ", "", 1).strip()
        out += [".SS %s" % roff(re.sub(r"\s+", " ", usage)), roff(sp.description or "")]
        for a in positionals(sp):
            out += [".TP", "\\fI%s\\fR" % roff(a.metavar or a.dest), roff(a.help or "")]
        for a in options(sp):
            flags = ", ".join("\\fB%s\\fR" % roff(o) for o in a.option_strings)
            if takes_value(a):
                flags += " \\fI%s\\fR" % roff(value_name(a))
            out += [".TP", flags, roff((a.help or "").replace("%%", "%"))]
    out.append(".SH ENVIRONMENT")
    for name, text in ENVIRONMENT:
        out += [".TP", "\\fB%s\\fR" % roff(name), roff(text)]
    out += [".SH EXIT STATUS", roff(EXIT_STATUS),
            ".SH SEE ALSO", "The tierpool README, and docs/ in its source tree."]
    return "\n".join(out) + "\n"


# ------------------------------------------------------- bash completion


def bash_completion(p):
    cases = []
    for name, sp, _ in subcommands(p):
        opts = options(sp) + [a for a in sp._actions if isinstance(a, argparse._HelpAction)]
        words = " ".join(o for a in opts for o in a.option_strings)
        if any(a.nargs == argparse.REMAINDER for a in sp._actions):
            words += " --"
        values = []
        for a in options(sp):
            if not takes_value(a):
                continue
            pat = "|".join(a.option_strings)
            if a.choices:
                values.append("      %s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return;;"
                              % (pat, " ".join(a.choices)))
            elif (a.metavar or "") in FILE_METAVARS:
                values.append("      %s) COMPREPLY=($(compgen -f -- \"$cur\")); return;;" % pat)
            else:
                values.append("      %s) return;;" % pat)
        pos = [a.metavar or a.dest for a in positionals(sp)]
        if any(a.nargs == argparse.REMAINDER for a in sp._actions):
            rest = "COMPREPLY=($(compgen -W '--' -- \"$cur\"))"
        elif pos == ["PID"]:
            rest = "_tierpool_live_pids"
        elif pos:
            rest = "COMPREPLY=($(compgen -f -- \"$cur\"))"
        else:
            rest = ":"
        cases.append("""    %s)
      case $prev in
%s
      esac
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '%s' -- "$cur")); else %s; fi;;"""
                     % (name, "\n".join(values) or "      '') ;;", words, rest))
    names = " ".join(n for n, _, _ in subcommands(p))
    return """# bash completion for tierpool %s, generated from its parser by
# tierpool_cli/docgen.py: do not edit.

_tierpool_live_pids() {  # the programs publishing a live file
  local f pids=()
  for f in /dev/shm/tierpool.[0-9]*; do [[ -e $f ]] && pids+=("${f##*.}"); done
  COMPREPLY=($(compgen -W "${pids[*]}" -- "$cur"))
}

_tierpool() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    local w=${COMP_WORDS[i]}
    if [[ $w == -- && -n $cmd ]]; then  # after '--': the command to run, then its arguments
      if ((i == COMP_CWORD - 1)); then COMPREPLY=($(compgen -c -- "$cur"))
      else COMPREPLY=($(compgen -f -- "$cur")); fi
      return
    fi
    [[ -z $cmd && $w != -* ]] && cmd=$w
  done
  case $cmd in
    '')
      COMPREPLY=($(compgen -W '%s --version --help' -- "$cur"));;
%s
  esac
}
complete -F _tierpool tierpool
""" % (__version__, names, "\n".join(cases))


def main(argv=None):
    a = argparse.ArgumentParser(prog="docgen", description="Write tierpool's man page and "
                                "bash completion from its parser.")
    a.add_argument("--man", metavar="FILE")
    a.add_argument("--bash", metavar="FILE")
    args = a.parse_args(argv)
    p = build_parser()
    for path, text in ((args.man, man_page), (args.bash, bash_completion)):
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text(p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
