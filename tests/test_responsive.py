"""Phones: no page is wider than the screen, the open drill fits inside it, and the charts' text is
readable and the same size in both charts, in real Chromium at phone, tablet and desktop widths.

Chart text is measured as a reader sees it: each SVG ``text`` element's computed font size times
the SVG's scale on the page (its rendered width over its viewBox width).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from memokit.build import chartspec

pytestmark = pytest.mark.browser

PHONE_WIDTHS = [320, 390, 768]
PAGES = ["index.html", "about.html", "themes/regression.html", "themes/continual-update.html",
         "phases/Evaluate.html", "phases/Iterate.html"]
#: The smallest chart text a phone should show, in CSS px.
READABLE = 11

#: Elements that reach past the viewport's right edge, to say what overflows when something does.
_OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
  .map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')
            + ' right=' + Math.round(e.getBoundingClientRect().right))
  .slice(0, 10)"""

#: Every chart: its native and rendered width and, for each text, its rendered size and whether
#: it lies inside the SVG's box (a label the SVG clips is lost).
_CHARTS = """() => [...document.querySelectorAll('.chart-svg svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const native = svg.viewBox.baseVal && svg.viewBox.baseVal.width || parseFloat(svg.getAttribute('width'));
  const scale = box.width / native;
  return {
    id: svg.closest('figure').id, native, rendered: box.width,
    texts: [...svg.querySelectorAll('text')].map(text => {
      const r = text.getBoundingClientRect();
      return {text: text.textContent, size: parseFloat(getComputedStyle(text).fontSize) * scale,
              inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5};
    }),
  };
})"""


def open_at(browser: Browser, url: str, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(url)
    return page


@pytest.mark.parametrize("width", PHONE_WIDTHS)
@pytest.mark.parametrize("path", PAGES)
def test_no_page_is_wider_than_the_screen(browser: Browser, served_site: str, path: str, width: int) -> None:
    page = open_at(browser, served_site + path, width)
    # The charts' data tables too, as a reader who opens them sees them.
    page.evaluate("document.querySelectorAll('details').forEach(details => { details.open = true; })")
    assert page.evaluate("innerWidth") == width
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(_OVERFLOWING)
    page.close()


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_a_phase_tooltip_stays_on_the_screen(browser: Browser, served_site: str, width: int) -> None:
    page = open_at(browser, served_site + "index.html", width)
    chips = page.locator("a.chip")
    assert chips.count() == 3
    for chip in chips.all():
        chip.hover()
        tooltip = page.locator("#" + chip.get_attribute("aria-describedby"))
        expect(tooltip).to_be_visible()
        box = tooltip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (chip.inner_text(), box)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(_OVERFLOWING)
    page.close()


def test_a_phone_shows_the_memo_at_its_own_width_without_zooming_out(browser: Browser, served_site: str) -> None:
    # A phone browser widens its layout viewport to fit a page that overflows, and zooms out:
    # everything shrinks, and a dialog sized to the screen is cut off at the right.
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(served_site + "index.html")
    assert page.evaluate("[innerWidth, document.documentElement.scrollWidth]") == [390, 390]
    context.close()


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_the_open_drill_fits_the_screen(browser: Browser, served_site: str, width: int) -> None:
    page = open_at(browser, served_site + "index.html#drill=regression", width)
    expect(page.locator("#drill .drill-list li").first).to_be_visible()
    fit = page.evaluate("""() => {
      const dialog = document.getElementById('drill');
      const box = dialog.getBoundingClientRect();
      const inner = box.right - parseFloat(getComputedStyle(dialog).borderRightWidth);
      return {
        left: box.left, right: box.right, width: innerWidth, page: document.documentElement.scrollWidth,
        scroll: dialog.scrollWidth, client: dialog.clientWidth,
        cut: [...dialog.querySelectorAll('*')].filter(e => e.getClientRects().length && e.getBoundingClientRect().right > inner + 0.5)
          .map(e => e.tagName.toLowerCase() + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right)),
      };
    }""")
    assert fit["left"] >= 0 and fit["right"] <= fit["width"], fit
    assert fit["page"] <= width
    assert fit["scroll"] <= fit["client"], fit
    assert fit["cut"] == [], f"cut off at the dialog's right edge ({fit['right']}): {fit['cut']}"
    page.close()


def charts_at(browser: Browser, served_site: str, width: int) -> list[dict]:
    page = open_at(browser, served_site + "index.html", width)
    charts = page.evaluate(_CHARTS)
    page.close()
    assert [chart["id"] for chart in charts] == ["chart-phase", "chart-theme"]
    assert all(chart["texts"] for chart in charts)
    return charts


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_chart_text_is_readable(browser: Browser, served_site: str, width: int) -> None:
    small = [(chart["id"], t["text"], round(t["size"], 2)) for chart in charts_at(browser, served_site, width)
             for t in chart["texts"] if t["size"] < READABLE]
    assert small == []


@pytest.mark.parametrize("width", [320, *PHONE_WIDTHS[1:], 1280])
def test_both_charts_draw_their_text_at_the_same_size(browser: Browser, served_site: str, width: int) -> None:
    phase, theme = charts_at(browser, served_site, width)
    sizes = [sorted({round(t["size"], 1) for t in chart["texts"]}) for chart in (phase, theme)]
    assert sizes[0] == sizes[1], f"phase chart {sizes[0]} px, theme chart {sizes[1]} px"


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_charts_are_never_stretched_and_no_label_is_clipped(browser: Browser, served_site: str, width: int) -> None:
    for chart in charts_at(browser, served_site, width):
        assert chart["rendered"] <= chart["native"] + 0.5, chart["id"]
        assert [t["text"] for t in chart["texts"] if not t["inside"]] == [], chart["id"]


def test_long_labels_and_values_stay_inside_the_chart(browser: Browser) -> None:
    # vl-convert measures text narrower than a browser draws it: a label is cut short (with an
    # ellipsis) and room kept for the value with that in mind. DejaVu Sans, Chromium's system-ui
    # on Linux, is among the widest.
    rows = [
        {"label": "Why does my fine-tuned model forget everything it knew before, and what can I do?",
         "percent": 96, "text": "96% (1,234,567)", "phase": "A"},
        {"label": "W" * 60, "percent": 3, "text": "3% (38,571)", "phase": "B"},
        {"label": "i" * 200, "percent": 1, "text": "1% (12,860)", "phase": "A"},
    ]
    svg, _ = chartspec.render(chartspec.chart_spec("Long", rows, {"A": "#1f6fb2", "B": "#b8480f"}, False))
    page = browser.new_page(viewport={"width": 390, "height": 400})
    page.set_content(f'<!doctype html><html lang="en"><body style="margin: 0; font-family: system-ui">{svg}</body></html>')
    (chart,) = page.evaluate(_CHARTS.replace("'.chart-svg svg'", "'svg'").replace("svg.closest('figure').id", "'long'"))
    page.close()
    assert chart["native"] == chartspec.WIDTH
    assert {round(t["size"], 2) for t in chart["texts"]} == {chartspec.FONT_SIZE}
    assert [t["text"] for t in chart["texts"] if not t["inside"]] == []
    assert sum(t["text"].endswith("…") for t in chart["texts"]) == 3, "every label above is too long to show whole"
