"""Stage 5, charts: Altair specs from ``Stats``, rendered to static SVG by vl-convert.

No Vega runtime and no CDN reach the page: the SVG is inlined at build time. Every number a
chart shows is read from ``Stats``, the same values the cards and prose show.

Altair is imported only when the specs are built, and the command line renders them in a worker
process that warmed up while the build loaded its data (``memokit.vega``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import vega
from .stats import Share, Stats
from .validate import ALL

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2328"
MUTED = "#59636e"
WIDTH = 420


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


def build_charts(stats: Stats) -> dict[str, Chart]:
    """Return the phase chart and the theme chart, keyed ``phase`` and ``theme``."""
    taxonomy = stats.taxonomy
    colors = {p.id: p.color or "#4c78a8" for p in taxonomy.phases}
    phases = stats.breakdown("phase", ALL).shares
    themes = stats.breakdown("theme", ALL).shares
    theme_phase = {t.id: t.phase for t in taxonomy.themes}
    n = stats.n
    charts = {
        "phase": ("Phase", f"Share of all {n:,} signals by phase", phases, tuple(s.key for s in phases), True),
        "theme": ("Theme", f"Share of all {n:,} signals by theme", themes, tuple(theme_phase[s.key] for s in themes),
                  False),
    }
    # Every rendering is asked for before any is awaited.
    renders = {}
    for key, (_, title, shares, row_phases, share_image) in charts.items():
        spec = chart_spec(title, _rows(shares, row_phases), colors, share_image)
        renders[key] = (vega.svg(spec["svg"]), vega.png(spec["png"]) if spec["png"] else None)
    out = {}
    for key, (category, title, shares, row_phases, _) in charts.items():
        svg, png = renders[key]
        summary = f"Bar chart. {title}: " + "; ".join(f"{s.label} {s.percent}% ({s.count:,})" for s in shares) + "."
        out[key] = Chart(key, title, summary, _clean(vega.result(svg)), shares, row_phases, category,
                         vega.result(png) if png is not None else None)
    return out


def _rows(shares: tuple[Share, ...], row_phases: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"label": s.label, "percent": s.percent, "text": f"{s.percent}% ({s.count:,})", "phase": phase}
            for s, phase in zip(shares, row_phases)]


def chart_spec(title: str, rows: list[dict[str, Any]], colors: dict[str, str], share_image: bool) -> dict[str, Any]:
    """Return the Vega-Lite specs of a horizontal bar chart (and of its share image) from plain rows."""
    import altair as alt  # here, not at the top: it loads while the chart worker warms up

    order = [row["label"] for row in rows]
    domain = list(dict.fromkeys(row["phase"] for row in rows))
    top = max((row["percent"] for row in rows), default=0)
    x = alt.X("percent:Q", title="Share of signals (%)", scale=alt.Scale(domain=[0, max(10, top + 12)]),
              axis=alt.Axis(grid=False, tickCount=5, labelColor=MUTED, titleColor=MUTED))
    # Browsers measure the system font wider than vl-convert does: reserve room for labels.
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(
        labelLimit=240, labelColor=INK, ticks=False, domain=False, labelPadding=6,
        minExtent=max(60, 8 * max(len(row["label"]) for row in rows)),
    ))
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=x, y=y,
        color=alt.Color("phase:N", scale=alt.Scale(domain=domain, range=[colors[p] for p in domain]), legend=None),
    )
    labels = base.mark_text(align="left", dx=4, color=INK).encode(x=x, y=y, text="text:N")
    layered = (bars + labels).properties(width=WIDTH, height=28 * len(rows))
    chart = layered.configure(background="transparent", font=FONT).configure_view(stroke=None)
    png = None
    if share_image:
        # Link previews want a wide image on an opaque background: the same chart, titled.
        card = layered.properties(width=480, height=160, title=alt.TitleParams(title, fontSize=16, color=INK))
        png = card.configure(background="white", font=FONT, padding=24).configure_view(stroke=None).to_dict(
            validate=False)
    return {"svg": chart.to_dict(validate=False), "png": png}


def _clean(svg: str) -> str:
    """Make the SVG fit an HTML page: scalable, no white box, hidden from assistive tech
    (the figure carries the text alternative and the table)."""
    svg = re.sub(r'<rect width="[\d.]+" height="[\d.]+" fill="(white|transparent)"/>', "", svg, count=1)
    svg = re.sub(r'^<svg ([^>]*?)width="([\d.]+)" height="([\d.]+)"',
                 r'<svg \1width="\2" height="\3" focusable="false" aria-hidden="true"', svg, count=1)
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    return svg
