"""python3 -m tierpool_cli: the same as the tierpool command."""

import sys

from .cli import entry

sys.exit(entry())
