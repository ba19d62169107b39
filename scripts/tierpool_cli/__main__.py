"""python3 -m tierpool_cli: the command line without the launcher, so with
no default library: run, check and bench take it from --lib or
$TIERPOOL_LIB."""

import sys

from .cli import entry

sys.exit(entry())
