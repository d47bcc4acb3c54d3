"""``python -m memokit``: the same command as ``memokit``."""

import sys

from .cli import entry

sys.exit(entry())
