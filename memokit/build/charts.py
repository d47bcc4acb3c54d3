"""Stage 5, charts: the phase and theme bar charts, from ``Stats``, as static SVG.

No Vega runtime and no CDN reach the page: the SVG is inlined at build time. Every number a
chart shows is read from ``Stats``, the same values the cards and prose show. The specs are
built with Altair and rendered by vl-convert (``memokit.chartspec``), in the command line's
worker processes when there are some (``memokit.vega``), so the charts are asked for as soon as the
statistics exist and collected only when a page needs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..model import ALL, MemokitError
from . import chartspec, vega
from .scope import with_filter
from .stats import Share, Stats


@dataclass(frozen=True)
class Chart:
    """A rendered chart with its text alternative and the rows of its data table."""

    id: str
    title: str
    summary: str
    svg: str
    rows: tuple[Share, ...]
    row_phases: tuple[str, ...]
    category: str
    png: bytes | None = None  # a share image (og:image), for the headline chart only
    legend: tuple[tuple[str, str], ...] = ()  # a theme chart's phases, (id, name), in lifecycle order

    @property
    def anchor(self) -> str:
        """The figure's id: ``chart-phase``, ``chart-theme-phase-iterate-taxonomy``."""
        return "chart-" + re.sub(r"[^a-z0-9]+", "-", self.id.lower()).strip("-")


class ChartError(MemokitError):
    """Altair or vl-convert failed on a chart (exit 1): a bug or a broken installation, not bad input."""


class Charts(Mapping[str, Chart]):
    """The charts keyed ``phase`` and ``theme``; each is rendered already or on its way, and
    reading one waits for it."""

    def __init__(self, stats: Stats, cache: dict[str, Any] | None = None):
        taxonomy = stats.taxonomy
        colors = {p.id: p.color or "#4c78a8" for p in taxonomy.phases}
        phases = stats.breakdown("phase", ALL).shares
        themes = stats.breakdown("theme", ALL).shares
        theme_phase = {t.id: t.phase for t in taxonomy.themes}
        n = stats.n
        self.colors, self.theme_phase = colors, theme_phase
        #: Renderings by what they show (kept by the caller between builds: see memokit.build.cache).
        self.cache = cache if cache is not None else {}
        self.phase_order = {p.id: number for number, p in enumerate(taxonomy.phases)}
        self.phase_names = {p.id: p.name for p in taxonomy.phases}
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._shows: dict[str, str] = {}  # chart key -> what it shows, until its rendering is kept
        self._done: dict[str, Chart] = {}
        #: The chart whose PNG is the site's link-preview image, known before it is rendered.
        self.share_image = ""
        for key, category, shares, row_phases, share_image in (
            ("phase", "Phase", phases, tuple(s.key for s in phases), True),
            ("theme", "Theme", themes, tuple(theme_phase[s.key] for s in themes), False),
        ):
            title = f"Share of all {n:,} posts by {key}"
            rendering = self._render(key, title, _rows(shares, row_phases, key), share_image)
            self._pending[key] = (category, title, shares, row_phases, rendering)
            if share_image:
                self.share_image = key

    def request(self, key: str, dimension: str, stats: Stats, title: str, order: str = "taxonomy") -> None:
        """Ask for one more chart: the breakdown by ``dimension`` of ``stats`` (a scope's own), only
        its categories that hold posts, in taxonomy order or by size within each phase."""
        if key in self._pending:
            return
        shares = tuple(s for s in stats.breakdown(dimension, ALL).shares if s.count)
        if dimension == "theme" and order == "size":
            shares = tuple(sorted(shares, key=lambda s: (self.phase_order[self.theme_phase[s.key]], -s.count)))
        row_phases = tuple(self.theme_phase[s.key] if dimension == "theme" else s.key for s in shares)
        category = "Theme" if dimension == "theme" else "Phase"
        rendering = self._render(key, title, _rows(shares, row_phases, dimension), False)
        self._pending[key] = (category, title, shares, row_phases, rendering)

    def _render(self, key: str, title: str, rows: list[dict[str, Any]], share_image: bool) -> Any:
        """Ask for a rendering, or take the one kept from a build that drew the same chart."""
        shows = json.dumps([title, rows, self.colors, share_image], sort_keys=True)
        if shows in self.cache:
            return self.cache[shows]
        with _failing(key):
            self._shows[key] = shows
            return vega.chart(title, rows, self.colors, share_image)

    def __getitem__(self, key: str) -> Chart:
        if key not in self._done:
            category, title, shares, row_phases, rendering = self._pending[key]
            with _failing(key):
                found = vega.result(rendering)  # (svg, share image's svg), or as kept, with its PNG
                svg, share = found[0], found[1]
                png = found[2] if len(found) > 2 else chartspec.share_png(share) if share is not None else None
            if key in self._shows:
                self.cache[self._shows.pop(key)] = (svg, share, png)
            summary = f"Bar chart. {title}: " + "; ".join(f"{s.label} {s.percent}% ({s.count:,})" for s in shares) + "."
            legend = tuple((p, self.phase_names[p]) for p in sorted(set(row_phases), key=self.phase_order.__getitem__)) \
                if category == "Theme" else ()
            self._done[key] = Chart(key, title, summary, svg, shares, row_phases, category, png, legend)
        return self._done[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)


@contextmanager
def _failing(key: str) -> Iterator[None]:
    """Turn any error from Altair or vl-convert into a ``ChartError``: a LookupError or TypeError
    would otherwise reach a template, which takes it for a missing chart."""
    try:
        yield
    except Exception as exc:
        raise ChartError(f"the {key} chart could not be rendered: {type(exc).__name__}: {exc}") from exc


def build_charts(stats: Stats, cache: dict[str, Any] | None = None) -> Charts:
    """Ask for the phase chart and the theme chart; read them from the returned mapping."""
    return Charts(stats, cache)


def _rows(shares: tuple[Share, ...], row_phases: tuple[str, ...], dimension: str) -> list[dict[str, Any]]:
    rows = []
    for s, phase in zip(shares, row_phases, strict=True):
        is_phase = dimension == "phase"
        rows.append({"label": s.label, "percent": s.percent, "text": f"{s.percent}% ({s.count:,})", "phase": phase,
                     "href": f"{'phases' if is_phase else 'themes'}/{s.key}.html",
                     "drill": f"phase:{s.key}" if is_phase else s.key,
                     "name": f"{s.label}: {s.percent}%, {s.count:,} {'post' if s.count == 1 else 'posts'}"})
    return rows


def chart_requests(block: Any, stats: Stats) -> list[tuple[str, str, Stats, str, str]]:
    """The charts a ``chart()`` block shows, as ``(key, dimension, the scope's stats, title, order)``:
    one, or with ``by=`` one per value of that field. The unscoped charts are "phase" and "theme"."""
    dimension = block.argument
    options = dict(block.options)
    order = options.get("order", "taxonomy")
    if block.scope.everything and "by" not in options and order == "taxonomy":
        return [(dimension, dimension, stats, "", order)]
    scopes = [block.scope]
    if "by" in options:
        field = options["by"]
        values = sorted(str(v) for v in block.scope.stats(stats).frame[field].dropna().unique())
        scopes = [with_filter(block.scope, field, value) for value in values]
    requests = []
    for scope in scopes:
        scoped = scope.stats(stats)
        key = f"{dimension}:{scope.key()}:{order}"
        requests.append((key, dimension, scoped, f"Share of {scope.label(stats, count=True)} by {dimension}", order))
    return requests
