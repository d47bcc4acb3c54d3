"""``memokit collect``: public sources to raw posts, incrementally, politely, resumably.

Network code lives here and nowhere else in memokit; the offline build never imports it. One
adapter per source (``github``, ``hackernews``, ``stackexchange``, ``reddit``, ``discourse``)
says only what is its own; ``client`` (HTTP, limits, retries), ``store`` (the raw files, the
state, the cache) and ``run`` (the walk) are written once for all of them. ``config`` reads
``collect.toml``; ``plaintext`` turns HTML and Markdown into plain text; ``shape`` reads responses
by their documented shape.
"""

from __future__ import annotations

from .client import Clock, SystemClock
from .run import ADAPTERS, EXIT_INPUT, EXIT_OK, EXIT_SOURCE, CollectReport, SourceResult, collect, renormalise

__all__ = ["ADAPTERS", "EXIT_INPUT", "EXIT_OK", "EXIT_SOURCE", "Clock", "CollectReport", "SourceResult",
           "SystemClock", "collect", "renormalise"]
