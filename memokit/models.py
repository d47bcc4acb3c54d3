"""The typed shape of the inputs: a signal, and the taxonomy of phases, themes and denominators."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SLUG = r"^[a-z0-9][a-z0-9-]*$"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


#: Text without control characters, C0 or C1 (a line break and a tab are allowed). The check is
#: a pattern, so it runs inside pydantic-core: a million signals validate in seconds.
NO_CONTROL = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Text = Annotated[str, Field(pattern=NO_CONTROL)]


class Signal(BaseModel):
    """One public developer post, coded with a theme and a lifecycle phase."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=False)

    # id and source have patterns of their own, which also exclude control characters.
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    url: Text = Field(min_length=1, max_length=2000)
    source: str = Field(pattern=SLUG, max_length=40)
    community: Text = Field(min_length=1, max_length=200)
    title: Text = Field(min_length=1, max_length=1000)
    created: Annotated[date | None, BeforeValidator(_parse_date)]
    theme: Text = Field(min_length=1)
    phase: Text = Field(min_length=1)
    summary: Text = Field(min_length=1, max_length=2000)
    model_family: Text = Field(default="", max_length=40)
    tool: Text = Field(default="", max_length=40)
    found_by: Annotated[tuple[Text, ...], BeforeValidator(_split_list)] = ()
    sample: Text = Field(default="", max_length=40)

    @property
    def year(self) -> str:
        """Return the year of the post, or ``"unknown"``."""
        return str(self.created.year) if self.created else "unknown"


#: Fields a signal may have; anything else is ignored with a warning.
SIGNAL_FIELDS: tuple[str, ...] = tuple(Signal.model_fields)
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    name for name, info in Signal.model_fields.items() if info.is_required()
)
#: Fields a denominator may filter on.
FILTER_FIELDS: tuple[str, ...] = (
    "theme", "phase", "source", "community", "year", "sample", "model_family", "tool",
)


class Phase(BaseModel):
    """A stage of the fine-tuning lifecycle, e.g. Train, Evaluate, Iterate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    label: str = ""
    definition: str = Field(min_length=1)
    color: str = Field(default="", pattern=r"^(#[0-9a-fA-F]{6})?$")

    @property
    def name(self) -> str:
        return self.label or self.id


class Theme(BaseModel):
    """A coded theme: what a post is about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SLUG, max_length=60)
    label: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    order: int


class Denominator(BaseModel):
    """A named subset of signals that shares are taken of."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SLUG, max_length=60)
    label: str = Field(min_length=1)
    where: dict[str, str | list[str]] = Field(default_factory=dict)

    def allowed(self) -> dict[str, tuple[str, ...]]:
        """Return each filtered field with the tuple of values it admits."""
        return {
            name: (value,) if isinstance(value, str) else tuple(value)
            for name, value in self.where.items()
        }


class Taxonomy(BaseModel):
    """Phases in lifecycle order, themes in display order, and named denominators."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phases: tuple[Phase, ...] = Field(min_length=1)
    themes: tuple[Theme, ...] = Field(min_length=1)
    denominators: tuple[Denominator, ...] = ()
    sources: dict[str, str] = Field(default_factory=dict)

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)

    def theme(self, theme_id: str) -> Theme:
        return next(t for t in self.themes if t.id == theme_id)

    def themes_of(self, phase_id: str) -> tuple[Theme, ...]:
        return tuple(t for t in self.themes if t.phase == phase_id)

    def source_label(self, source: str) -> str:
        return self.sources.get(source, source)

    def denominator(self, denominator_id: str) -> Denominator:
        return next(d for d in self.denominators if d.id == denominator_id)
