"""memokit: turn a tagged dataset of developer posts and Markdown prose into a memo site."""

from __future__ import annotations

__version__ = "0.1.0"
