"""The taxonomy: phases in lifecycle order, themes in display order, and named denominators."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .text import SLUG

#: The denominator every project has: all signals.
ALL = "all"
#: Fields a denominator, a binding or a scoped block may filter on.
FILTER_FIELDS: tuple[str, ...] = (
    "theme", "phase", "source", "year", "community", "sample", "model_family", "tool",
    # ``corpus`` as the signals give it; ``coding``, how each was coded: hand, model or unrecorded
    # (from ``coded_by``), so that a memo can say how much rests on accepted suggestions.
    "corpus", "coding",
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
    order: StrictInt  # `order = true` is a mistake, not the number 1


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
