"""The part of the data a generated block shows: ``chart("theme", phase="Iterate")``,
``cards(phase="Iterate")``, ``chart("phase", of="sweep")``; and how a reader is told what its
shares are shares of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model import ALL, FILTER_FIELDS
from .stats import Stats, StatsError


@dataclass(frozen=True)
class Scope:
    """A named denominator and filters, in a fixed order."""

    of: str = ALL
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, options: Mapping[str, Any], stats: Stats) -> Scope:
        """The scope of a block's keyword arguments; an unknown name is a ``StatsError``."""
        of = options.get("of", ALL)
        if not isinstance(of, str):
            raise StatsError("of= takes the name of a denominator")
        filters = {name: value for name, value in options.items() if name in FILTER_FIELDS}
        stats.subset(of, filters)  # checks every name
        normal = tuple(sorted((name, (value,) if isinstance(value, str) else tuple(value))
                              for name, value in filters.items()))
        return cls(of, normal)

    @property
    def everything(self) -> bool:
        return self.of == ALL and not self.filters

    def key(self) -> str:
        """A stable name for the scope, "" for all posts."""
        parts = [f"of={self.of}"] if self.of != ALL else []
        return ",".join([*parts, *(f"{name}={'+'.join(values)}" for name, values in self.filters)])

    def where(self, stats: Stats) -> list[tuple[str, tuple[str, ...]]]:
        """The conditions a post must meet to be in the scope, its denominator's and its own, but
        those on the theme and the phase (a theme's posts meet those or none of them): what the
        drill filters a scoped card's posts by. Empty when every post of a theme is in scope."""
        conditions = [*stats.denominators[self.of].where.items(), *self.filters] if self.of != ALL \
            else list(self.filters)
        return [(name, tuple(values)) for name, values in conditions if name not in ("theme", "phase")]

    def stats(self, stats: Stats) -> Stats:
        return stats.subset(self.of, dict(self.filters))

    def label(self, stats: Stats, count: bool = False) -> str:
        """What the scope's shares are shares of, for a reader: "the Iterate posts of the sweep
        sample" (with ``count``, "the 211 Iterate posts of the sweep sample"), "all posts"."""
        n = f"{self.stats(stats).n:,} " if count else ""
        if self.everything:
            return f"all {n}posts"
        names = {"theme": {t.id: f"“{t.label}”" for t in stats.taxonomy.themes},
                 "phase": {p.id: p.name for p in stats.taxonomy.phases},
                 "source": {s: stats.taxonomy.source_label(s) for s in stats.known_values("source")}}
        described = [" or ".join(names.get(name, {}).get(v, v) for v in values) for name, values in self.filters]
        text = "the " + n + " ".join([*described, "posts"])
        if self.of != ALL:
            text += f" of {stats.denominators[self.of].label}"
        return text


def with_filter(scope: Scope, name: str, value: str) -> Scope:
    """``scope`` narrowed to the posts whose ``name`` is ``value``."""
    return Scope(scope.of, tuple(sorted({**dict(scope.filters), name: (value,)}.items())))
