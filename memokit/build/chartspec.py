"""Chart specs and their rendering: plain rows in, SVG (and a PNG share image) out.

This module imports nothing from the rest of memokit, so the chart workers (``memokit.vega``) can
build the Altair specs and render them with vl-convert without loading pandas or the data.
"""

from __future__ import annotations

import re
from typing import Any

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2328"
MUTED = "#59636e"
WIDTH = 420
_TINY = {"data": {"values": [{"x": 1}]}, "mark": "bar", "encoding": {"x": {"field": "x", "type": "quantitative"}}}


def warm_engine() -> None:
    """Start vl-convert's JavaScript engine: about half a second, holding the GIL."""
    import vl_convert

    vl_convert.vegalite_to_svg(_TINY)


def warm_altair() -> None:
    """Import Altair: about a third of a second."""
    import altair  # noqa: F401


def render(spec: dict[str, Any]) -> tuple[str, str | None]:
    """Render specs from ``chart_spec`` as inline SVG, and the share image's too if there is one
    (``share_png`` rasterizes it: that needs no JavaScript engine, so any process can do it)."""
    import vl_convert

    svg = _clean(vl_convert.vegalite_to_svg(spec["svg"]))
    share = vl_convert.vegalite_to_svg(spec["png"]) if spec["png"] is not None else None
    return svg, share


def share_png(svg: str) -> bytes:
    """Rasterize the share image's SVG at twice its size (about 20 ms, no JavaScript engine)."""
    import vl_convert

    return vl_convert.svg_to_png(svg, scale=2)


def chart_spec(title: str, rows: list[dict[str, Any]], colors: dict[str, str], share_image: bool) -> dict[str, Any]:
    """Return the Vega-Lite specs of a horizontal bar chart (and of its share image) from plain rows."""
    import altair as alt

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
    base = alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=x, y=y,
        color=alt.Color("phase:N", scale=alt.Scale(domain=domain, range=[colors[p] for p in domain]), legend=None),
    )
    labels = base.mark_text(align="left", dx=4, color=INK).encode(x=x, y=y, text="text:N")
    layered = (bars + labels).properties(width=WIDTH, height=28 * len(rows))
    svg = layered.configure(background="transparent", font=FONT).configure_view(stroke=None).to_dict(validate=False)
    png = None
    if share_image:
        # Link previews want a wide image on an opaque background: the same chart, titled.
        # (Derived from the dict: a second Altair chart would deep-copy every layer again.)
        png = {**svg, "width": 480, "height": 160, "title": {"text": title, "color": INK, "fontSize": 16},
               "config": {**svg["config"], "background": "white", "padding": 24}}
    return {"svg": svg, "png": png}


def _clean(svg: str) -> str:
    """Make the SVG fit an HTML page: scalable, no white box, hidden from assistive tech
    (the figure carries the text alternative and the table)."""
    svg = re.sub(r'<rect width="[\d.]+" height="[\d.]+" fill="(white|transparent)"/>', "", svg, count=1)
    svg = re.sub(r'^<svg ([^>]*?)width="([\d.]+)" height="([\d.]+)"',
                 r'<svg \1width="\2" height="\3" focusable="false" aria-hidden="true"', svg, count=1)
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    return svg
