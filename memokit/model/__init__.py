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
    from .agreement import AGREEMENT_FILE as AGREEMENT_FILE
    from .agreement import AgreementSummary as AgreementSummary
    from .agreement import landis_koch as landis_koch
    from .files import parse_toml as parse_toml
    from .files import read_text as read_text
    from .files import utf8_error_line as utf8_error_line
    from .page import INDEX as INDEX
    from .page import ClaimSpec as ClaimSpec
    from .page import FrontMatter as FrontMatter
    from .page import HeadlineItem as HeadlineItem
    from .page import Page as Page
    from .problems import MAX_PRINTED as MAX_PRINTED
    from .problems import InputError as InputError
    from .problems import MemokitError as MemokitError
    from .problems import Problem as Problem
    from .problems import Problems as Problems
    from .problems import grouped as grouped
    from .problems import printable as printable
    from .signal import CODINGS as CODINGS
    from .signal import HAND as HAND
    from .signal import MODEL as MODEL
    from .signal import MODEL_ACCEPTED as MODEL_ACCEPTED
    from .signal import OPTIONAL_FIELDS as OPTIONAL_FIELDS
    from .signal import REQUIRED_FIELDS as REQUIRED_FIELDS
    from .signal import SIGNAL_FIELDS as SIGNAL_FIELDS
    from .signal import UNRECORDED as UNRECORDED
    from .signal import Signal as Signal
    from .signal import coding_of as coding_of
    from .taxonomy import ALL as ALL
    from .taxonomy import FILTER_FIELDS as FILTER_FIELDS
    from .taxonomy import Denominator as Denominator
    from .taxonomy import Phase as Phase
    from .taxonomy import Taxonomy as Taxonomy
    from .taxonomy import Theme as Theme
    from .text import BANNED_RE as BANNED_RE
    from .text import NO_CONTROL as NO_CONTROL
    from .text import NOT_BLANK as NOT_BLANK
    from .text import SLUG as SLUG
    from .text import SLUG_RE as SLUG_RE
    from .text import Line as Line
    from .text import Text as Text
    from .urls import canonical_url as canonical_url
    from .urls import display_host as display_host
    from .urls import url_key as url_key

_WHERE = {
    "agreement": ("AGREEMENT_FILE", "AgreementSummary", "landis_koch"),
    "files": ("parse_toml", "read_text", "utf8_error_line"),
    "page": ("INDEX", "ClaimSpec", "FrontMatter", "HeadlineItem", "Page"),
    "problems": ("MAX_PRINTED", "InputError", "MemokitError", "Problem", "Problems", "grouped", "printable"),
    "signal": ("CODINGS", "HAND", "MODEL", "UNRECORDED", "MODEL_ACCEPTED", "OPTIONAL_FIELDS", "REQUIRED_FIELDS", "SIGNAL_FIELDS", "Signal",
               "coding_of"),
    "taxonomy": ("ALL", "FILTER_FIELDS", "Denominator", "Phase", "Taxonomy", "Theme"),
    "text": ("BANNED_RE", "NO_CONTROL", "NOT_BLANK", "SLUG", "SLUG_RE", "Line", "Text"),
    "urls": ("canonical_url", "display_host", "url_key"),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE)


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
