#!/usr/bin/env python3
"""Build the memo site: ``python build.py [options]`` (see ``python build.py --help``)."""

import sys

from memokit.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
