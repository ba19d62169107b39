"""tierpool's command-line tool: run a program on the tierpool allocator,
read its dumps, watch it live, and check it for leaks.

Python 3 standard library only. One module per concern:
  cli        the parser of every subcommand, and the entry point
  runenv     where libtierpool.so is, and the preload environment
  commands   run, show, diff
  dumps      loading JSON and JSON-lines dumps
  fmt        numbers and tables, as the library formats them
  render     a dump as the library's text table
  leaktext   the leak section of a dump, frames and stacks as text
  check      `tierpool check`: run, read every report, the verdict and exit status
  checktext  the check's report: per process, command line or stack; JSON
  suppress   built-in and file suppressions, the rule matching a stack
  symbolize  file:line, inlined frames and demangled names of frames
  baseline   stacks by name, and the baseline file
  live       `tierpool top` and the live file's layout
"""

__version__ = "0.1.0"
