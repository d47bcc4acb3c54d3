"""The shared types of memokit: a signal, the taxonomy, a memo page, and problems with the input.

This package imports nothing else of memokit, so every other part (build, serve, and the tools
around them) can depend on it without depending on one another. Its names load on first use:
the command line reads ``memokit.model.problems`` before it forks the chart workers, and must not
pay for pydantic there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .page import INDEX, ClaimSpec, FrontMatter, HeadlineItem, Page
    from .problems import MAX_PRINTED, InputError, MemokitError, Problem, Problems, grouped
    from .signal import REQUIRED_FIELDS, SIGNAL_FIELDS, Signal
    from .taxonomy import ALL, FILTER_FIELDS, Denominator, Phase, Taxonomy, Theme
    from .text import NO_CONTROL, SLUG, SLUG_RE, Text
    from .urls import canonical_url, url_key

_WHERE = {
    "page": ("INDEX", "ClaimSpec", "FrontMatter", "HeadlineItem", "Page"),
    "problems": ("MAX_PRINTED", "InputError", "MemokitError", "Problem", "Problems", "grouped"),
    "signal": ("REQUIRED_FIELDS", "SIGNAL_FIELDS", "Signal"),
    "taxonomy": ("ALL", "FILTER_FIELDS", "Denominator", "Phase", "Taxonomy", "Theme"),
    "text": ("NO_CONTROL", "SLUG", "SLUG_RE", "Text"),
    "urls": ("canonical_url", "url_key"),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE)


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
