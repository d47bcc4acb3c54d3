"""A signal: one public developer post, coded with a theme and a lifecycle phase."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .text import NOT_BLANK, SLUG, Line, Text

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: ``coded_by`` of a post whose theme a coder took over from the classifier's suggestion:
#: ``model-accepted`` alone, or ``model-accepted:<coder>``.
MODEL_ACCEPTED = "model-accepted"
#: A coder's name as ``coded_by`` records it.
CODER = r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}"
_CODED_BY = rf"^(?:{MODEL_ACCEPTED}(?::{CODER})?|{CODER})?$"
#: How a post was coded, as the ``coding`` filter names it: by a person who chose the theme, by
#: accepting the classifier's suggestion, or not recorded (a post coded before ``coded_by`` existed).
HAND, MODEL, UNRECORDED = "hand", "model", "unrecorded"
CODINGS: tuple[str, ...] = (HAND, MODEL, UNRECORDED)


def _parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"expected a date YYYY-MM-DD or null, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a real date: {value!r}") from None


def _split_list(value: Any) -> Any:
    # CSV cells hold lists as "a;b"; JSON holds real lists.
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(";") if part.strip())
    return value


class Signal(BaseModel):
    """One public developer post, coded with a theme and a lifecycle phase."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=False)

    # id and source have patterns of their own, which also exclude control characters.
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    url: Text = Field(min_length=1, max_length=2000)
    source: str = Field(pattern=SLUG, max_length=40)
    community: Line = Field(min_length=1, max_length=200)
    title: Line = Field(min_length=1, max_length=1000)
    created: Annotated[date | None, BeforeValidator(_parse_date)]
    theme: Text = Field(min_length=1)
    phase: Text = Field(min_length=1)
    summary: Line = Field(min_length=1, max_length=2000)
    model_family: Text = Field(default="", max_length=40)
    tool: Text = Field(default="", max_length=40)
    found_by: Annotated[tuple[Text, ...], BeforeValidator(_split_list)] = ()
    sample: Text = Field(default="", max_length=40)
    #: Who coded the post: a coder's name, or ``model-accepted[:<coder>]`` (see ``coding_of``).
    coded_by: str = Field(default="", max_length=80, pattern=_CODED_BY)
    #: Which corpus of the dataset the post belongs to (e.g. ``github-issues``, ``forums``), for
    #: denominators that set one corpus against another; empty where the dataset has only one.
    corpus: str = Field(default="", max_length=60, pattern=r"^(?:[a-z0-9][a-z0-9-]*)?$")

    @property
    def year(self) -> str:
        """Return the year of the post, or ``"unknown"``."""
        return str(self.created.year) if self.created else "unknown"


def coding_of(coded_by: str) -> str:
    """Return how a post was coded (``hand``, ``model`` or ``unrecorded``) from its ``coded_by``."""
    if not coded_by:
        return UNRECORDED
    if coded_by == MODEL_ACCEPTED or coded_by.startswith(MODEL_ACCEPTED + ":"):
        return MODEL
    return HAND


#: Fields a signal may have; anything else is ignored with a warning.
SIGNAL_FIELDS: tuple[str, ...] = tuple(Signal.model_fields)
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    name for name, info in Signal.model_fields.items() if info.is_required()
)

#: Optional fields that the published copy of the data (``signals.csv``) and the snapshot leave
#: out when no signal has them, so that a dataset without them builds exactly as before they existed.
OPTIONAL_FIELDS: tuple[str, ...] = ("coded_by", "corpus")

__all__ = ["CODER", "CODINGS", "HAND", "MODEL", "MODEL_ACCEPTED", "NOT_BLANK", "OPTIONAL_FIELDS", "REQUIRED_FIELDS",
           "SIGNAL_FIELDS", "UNRECORDED", "Signal", "Text", "coding_of"]
