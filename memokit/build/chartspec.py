"""Chart specs and their rendering: plain rows in, SVG (and a PNG share image) out.

This module imports nothing from the rest of memokit, so the chart workers (``memokit.vega``) can
build the Altair specs and render them with vl-convert without loading pandas or the data.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
#: Text colours; in dark mode memo.css recolours the SVG's text by these exact ``fill`` values.
INK = "#1f2328"
MUTED = "#59636e"
#: The whole SVG's width in CSS px, the same for every chart. The page shows a chart at this size and
#: never wider, so its text is FONT_SIZE px wherever the column has the room (343 px on a 375 px
#: phone, 358 px at 390); a narrower column shrinks every chart alike, to 11 px text at 320 px.
WIDTH = 340
FONT_SIZE = 13
#: One bar per row: the label on a line of its own above the bar, so labels never squeeze the bars.
ROW = 40
BAR = 14
PADDING = 2
#: Browsers measure the system font wider than vl-convert does. Room for the value after the longest
#: bar is reserved by this estimate of a character's width in ems, and vl-convert truncates a label
#: (with an ellipsis) at this share of the width, so that a browser's wider rendering still fits.
CHAR_EM = 0.65
LABEL_SHARE = 0.75
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

    svg = _clean(vl_convert.vegalite_to_svg(spec["svg"]), spec.get("drill", {}), spec.get("names", {}))
    share = vl_convert.vegalite_to_svg(spec["png"]) if spec["png"] is not None else None
    return svg, share


def share_png(svg: str) -> bytes:
    """Rasterize the share image's SVG at twice its size (about 20 ms, no JavaScript engine)."""
    import vl_convert

    return vl_convert.svg_to_png(svg, scale=2)


def chart_spec(title: str, rows: list[dict[str, Any]], colors: dict[str, str], share_image: bool) -> dict[str, Any]:
    """Return the Vega-Lite specs of a horizontal bar chart (and of its share image) from plain rows.

    Each row is a label above a bar with its value at the bar's end; there is no axis, as every bar
    carries its number. All text is FONT_SIZE px in a WIDTH px wide SVG, whatever the number of rows."""
    import altair as alt

    if not rows:
        raise ValueError("a chart needs at least one row")
    order = [row["label"] for row in rows]
    domain = list(dict.fromkeys(row["phase"] for row in rows))
    plot = WIDTH - 2 * PADDING
    # The longest bar ends where its value text, as wide as a browser may draw it, still fits.
    room = plot - (CHAR_EM * FONT_SIZE * max(len(row["text"]) for row in rows) + 6)
    top = max(max(row["percent"] for row in rows), 1)
    x = alt.X("percent:Q", axis=None, scale=alt.Scale(domain=[0, top * plot / room], nice=False, zero=True))
    y = alt.Y("label:N", sort=order, axis=None, scale=alt.Scale(paddingInner=0, paddingOuter=0))
    base = alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]
    # In a row of ROW px: the label's baseline 4 px above the middle, the bar from 3 px below it.
    links = {"href": alt.Href("href:N")} if all("href" in row for row in rows) else {}
    bars = base.mark_bar(height=BAR, yOffset=3 + BAR / 2).encode(
        x=x, y=y,
        color=alt.Color("phase:N", scale=alt.Scale(domain=domain, range=[colors[p] for p in domain]), legend=None),
        **links,
    )
    labels = base.mark_text(align="left", baseline="alphabetic", x=0, yOffset=-4, color=INK,
                            limit=plot * LABEL_SHARE).encode(y=y, text="label:N")
    values = base.mark_text(align="left", baseline="middle", dx=4, yOffset=3 + BAR / 2, color=MUTED).encode(
        x=x, y=y, text="text:N")
    layered = (bars + labels + values).properties(width=WIDTH, height=ROW * len(rows) + 2 * PADDING)
    svg = layered.configure(
        background="transparent", font=FONT, padding=PADDING, autosize={"type": "fit", "contains": "padding"},
        text={"fontSize": FONT_SIZE},
    ).configure_view(stroke=None).to_dict(validate=False)
    png = None
    if share_image:
        # Link previews want a wide image on an opaque background: the same chart, titled.
        # (Derived from the dict: a second Altair chart would deep-copy every layer again.)
        png = {**svg, "width": 480, "height": 72 + ROW * len(rows),
               "title": {"text": title, "color": INK, "fontSize": 16, "offset": 12},
               "config": {**svg["config"], "background": "white", "padding": 24}}
    drill = {row["href"]: row["drill"] for row in rows if "href" in row and "drill" in row}
    names = {row["href"]: row["name"] for row in rows if "href" in row and "name" in row}
    return {"svg": svg, "png": png, "drill": drill, "names": names}


def _clean(svg: str, drill: dict[str, str] | None = None, names: dict[str, str] | None = None) -> str:
    """Make the SVG fit an HTML page: scalable, no white box; each bar a link to its page and, for
    the drill, its theme or phase (``drill``: page -> key), named for assistive tech by ``names``
    (page -> "Train: 19%, 107 posts"). A bar is a stop for the keyboard (Enter opens it, like a
    click); everything else the SVG draws is hidden from assistive tech, since the figure carries
    the text alternative and its table the same numbers."""
    svg = re.sub(r'<rect width="[\d.]+" height="[\d.]+" fill="(white|transparent)"/>', "", svg, count=1)
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    svg = re.sub(r' role="graphics-object" aria-roledescription="[^"]*"', "", svg)  # plain groups
    svg = svg.replace('<g class="mark-text', '<g aria-hidden="true" class="mark-text')

    # Vega resolves links against its own site; the bars link the memo's own pages.
    def link(match: re.Match[str]) -> str:
        href = match.group(1)
        key = (drill or {}).get(href)
        extra = f' data-drill="{key}"' if key else ""
        name = (names or {}).get(href)
        label = f' aria-label="{escape(name)}"' if name else ""
        return f'<a href="{href}"{label}{extra}>'

    svg = re.sub(r'<a xlink:href="https://vega\.github\.io/vega-datasets/([^"]*)">', link, svg)
    # The bar inside a named link is its picture, not a second name.
    return re.sub(r'(<a [^>]*>)<path aria-label="[^"]*" role="graphics-symbol" aria-roledescription="bar"',
                  r'\1<path aria-hidden="true"', svg)
