"""Text contrast measured on rendered pixels, in light and dark mode.

axe-core reads colours from the computed style: it does not apply CSS filters, blending or
anything else that changes what reaches the screen. These tests read the screen instead. For each
element they take its boxes (one per line of an inline element) from two screenshots of the page,
one as rendered and one with every text made transparent. The background is the dominant colour
of the textless box, the text colour the pixel of the rendered box farthest from it (a glyph's
core), and their WCAG ratio must be at least 4.5:1 (3:1 for large text: 24 px, or 18.66 px bold).
Chromium decodes the screenshots itself, in a canvas of a blank page, and counts the pixels there:
no imaging package is needed.

The phase colours come from a project's taxonomy and can be any ``#rrggbb``: the badge ink that
``phase_css`` chooses is checked for every colour, and in the browser on the flagship's colours and
on awkward ones (pale, mid-grey on either side of the white/black crossover, near-black, pure red).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import serve
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page, expect

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build
from memokit.build.render import phase_css
from memokit.model import Phase

ROOT = Path(__file__).resolve().parent.parent
Rgb = tuple[int, int, int]

#: What the textless shot hides: every glyph (and its decoration), nothing else.
TEXTLESS = ("*, *::before, *::after, ::marker { color: transparent !important;"
            " -webkit-text-fill-color: transparent !important; text-shadow: none !important; }"
            " svg text { fill: transparent !important; }")

#: The text sampled: badges, chips, card labels, links and the other small or muted text.
MEMO_TEXT = (".phase-chip, .chip, .chip-share, .card-link, .card-share, .card-count, .card-interval,"
             " .card-definition, .card-communities, .headline-value, .headline-label, .subtitle, .dateline,"
             " .claim-check, .chart-data summary, .chart-svg svg text, a")
THEME_TEXT = ".phase-chip, .theme-count, .definition, .post-meta, .post-summary, a"
DRILL_TEXT = "#drill h2, #drill button, #drill label, #drill .drill-definition, #drill .drill-status, #drill a, #drill .post-meta"


# --- WCAG 2 ------------------------------------------------------------------------------------
def luminance(rgb: Rgb) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(one: Rgb, two: Rgb) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def rgb(colour: str) -> Rgb:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


# --- measuring a page --------------------------------------------------------------------------
#: Every visible element matching the selector: its boxes in page pixels (one per line of an inline
#: element, so that a link's box holds none of the text around it), whether it is large text, a name.
_TARGETS = """([selector, scale]) => [...document.querySelectorAll(selector)].flatMap(element => {
  const style = getComputedStyle(element);
  if (style.visibility !== 'visible' || !element.textContent.trim() || !element.checkVisibility()) return [];
  const width = document.documentElement.scrollWidth;
  const boxes = [...element.getClientRects()].filter(r => r.width >= 2 && r.height >= 2)
    .map(r => ({x: Math.floor((r.left + scrollX) * scale), y: Math.floor((r.top + scrollY) * scale),
                right: Math.ceil((r.right + scrollX) * scale), bottom: Math.ceil((r.bottom + scrollY) * scale)}))
    .filter(r => r.x >= 0 && r.y >= 0 && r.right <= width * scale)
    .map(r => ({x: r.x, y: r.y, width: r.right - r.x, height: r.bottom - r.y}));
  // Skip the lines an ancestor clips away (a post scrolled out of the open dialog).
  const clips = [];
  for (let e = element.parentElement; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') clips.push(e.getBoundingClientRect());
  }
  const seen = boxes.filter(r => clips.every(c =>
    r.x >= Math.floor((c.left + scrollX) * scale) && r.y >= Math.floor((c.top + scrollY) * scale)
    && r.x + r.width <= Math.ceil((c.right + scrollX) * scale) && r.y + r.height <= Math.ceil((c.bottom + scrollY) * scale)));
  if (!seen.length) return [];
  const size = parseFloat(style.fontSize), weight = parseInt(style.fontWeight, 10);
  const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
    + [...element.classList].map(c => '.' + c).join('')
    + ' "' + element.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
  return [{name, boxes: seen, large: size >= 24 || (size >= 18.66 && weight >= 700)}];
})"""

#: Decode both screenshots (base64 PNGs) in a canvas and, for each target's boxes, return the
#: dominant colour of the textless shot (the background) and the pixel of the rendered shot that
#: differs from the textless one and lies farthest from that background (the text).
_COLOURS = """async ([rendered, textless, targets]) => {
  const decode = async png => {
    const bytes = Uint8Array.from(atob(png), c => c.charCodeAt(0));
    const image = await createImageBitmap(new Blob([bytes], {type: 'image/png'}),
                                          {colorSpaceConversion: 'none', premultiplyAlpha: 'none'});
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d', {willReadFrequently: true});
    context.drawImage(image, 0, 0);
    return box => context.getImageData(box.x, box.y, box.width, box.height).data;
  };
  const [withText, without] = await Promise.all([decode(rendered), decode(textless)]);
  return targets.map(boxes => {
    const shots = boxes.map(box => [withText(box), without(box)]);
    const counts = new Map();
    for (const [, plain] of shots) {
      for (let i = 0; i < plain.length; i += 4) {
        const key = (plain[i] << 16) | (plain[i + 1] << 8) | plain[i + 2];
        counts.set(key, (counts.get(key) || 0) + 1);
      }
    }
    const key = [...counts].reduce((best, entry) => entry[1] > best[1] ? entry : best)[0];
    const background = [key >> 16, (key >> 8) & 255, key & 255];
    let text = background, far = -1;
    for (const [shot, plain] of shots) {
      for (let i = 0; i < shot.length; i += 4) {
        if (shot[i] === plain[i] && shot[i + 1] === plain[i + 1] && shot[i + 2] === plain[i + 2]) continue;
        const d = (shot[i] - background[0]) ** 2 + (shot[i + 1] - background[1]) ** 2 + (shot[i + 2] - background[2]) ** 2;
        if (d > far) { far = d; text = [shot[i], shot[i + 1], shot[i + 2]]; }
      }
    }
    return [text, background];  // no differing pixel: the text never reached the screen, 1:1
  });
}"""


def measure(page: Page, selector: str) -> list[dict[str, Any]]:
    """Measure the text contrast of every visible element matching ``selector`` on ``page``, which
    must allow an injected style (``bypass_csp=True``) and be scrolled to the top."""
    size = page.viewport_size
    assert size is not None
    # A viewport as tall as the document: one screenshot holds every box, and nothing moves.
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("document.documentElement.scrollHeight")})
    scale = page.evaluate("devicePixelRatio")
    targets = page.evaluate(_TARGETS, [selector, scale])
    assert targets, f"nothing visible matches {selector!r}"
    rendered = page.screenshot(animations="disabled", caret="hide")
    hide = page.add_style_tag(content=TEXTLESS)
    textless = page.screenshot(animations="disabled", caret="hide")
    hide.evaluate("style => style.remove()")
    page.set_viewport_size(size)
    browser = page.context.browser
    assert browser is not None
    decoder = browser.new_page()  # a blank page, whatever the measured page's policy
    try:
        colours = decoder.evaluate(_COLOURS, [base64.b64encode(rendered).decode("ascii"),
                                              base64.b64encode(textless).decode("ascii"),
                                              [target["boxes"] for target in targets]])
    finally:
        decoder.close()
    results = []
    for target, (text, background) in zip(targets, colours, strict=True):
        text, background = tuple(text), tuple(background)
        results.append({"name": target["name"], "text": text, "background": background,
                        "ratio": round(ratio(text, background), 2), "needed": 3.0 if target["large"] else 4.5})
    return results


def failures(results: list[dict[str, Any]]) -> list[str]:
    return [f"{r['name']}: {r['ratio']}:1 < {r['needed']}:1 (text {r['text']} on {r['background']})"
            for r in results if r["ratio"] < r["needed"]]


def open_page(browser: Browser, url: str, scheme: str) -> Page:
    page = browser.new_page(color_scheme=scheme, bypass_csp=True, reduced_motion="reduce",
                            viewport={"width": 1280, "height": 900}, device_scale_factor=2)
    page.goto(url)
    return page


# --- the badge ink, for any colour -------------------------------------------------------------
def _inks(css: str) -> dict[str, tuple[str, str]]:
    rules = re.findall(r'\[data-phase="([^"]+)"\] \{ --phase: (#[0-9a-fA-F]{6}); --phase-ink: (#[0-9a-f]{6}); \}', css)
    return {phase: (colour, ink) for phase, colour, ink in rules}


@given(st.from_regex(r"\A#[0-9a-fA-F]{6}\Z"))
def test_every_phase_colour_gets_the_ink_that_contrasts_most_and_reaches_4_5(colour: str) -> None:
    css = phase_css((Phase(id="P", definition="A phase.", color=colour),))
    ((phase, (background, ink)),) = _inks(css).items()
    assert phase == "P" and background == colour
    assert ink in ("#ffffff", "#000000")
    best = max(ratio(rgb("#ffffff"), rgb(colour)), ratio(rgb("#000000"), rgb(colour)))
    assert ratio(rgb(ink), rgb(colour)) == best
    assert best >= 4.5


def test_the_ink_turns_dark_exactly_where_white_stops_contrasting_more() -> None:
    # #757575 is the last grey on which white wins (4.61 against 4.56), #767676 the first where black does.
    colours = {"pale": "#ffe066", "grey-white": "#757575", "grey-black": "#767676", "flagship": "#b8480f",
               "red": "#ff0000", "night": "#101010", "plain": ""}
    css = phase_css(tuple(Phase(id=name, definition="A phase.", color=colour) for name, colour in colours.items()))
    assert {phase: ink for phase, (_, ink) in _inks(css).items()} == {
        "pale": "#000000", "grey-white": "#ffffff", "grey-black": "#000000", "flagship": "#ffffff",
        "red": "#000000", "night": "#ffffff"}


# --- the measurement itself --------------------------------------------------------------------
CALIBRATION = """<!doctype html><html><head><style>
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #ffffff; }
p { margin: 8px; } .badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 13px; font-weight: 600; }
</style></head><body>
<p id="pass" style="color: #767676">Grey #767676 on white is 4.54:1</p>
<p id="fail" style="color: #777777">Grey #777777 on white is 4.48:1</p>
<p><span id="filtered" class="badge" style="background: #b8480f; color: #fff; filter: brightness(1.6)">Evaluate</span></p>
<p><span id="plain" class="badge" style="background: #b8480f; color: #fff">Evaluate</span></p>
<p id="large" style="font-size: 24px; color: #949494">Large grey #949494 is 3.03:1</p>
<p id="hidden-text" style="color: #ffffff">White on white</p>
</body></html>"""


@pytest.mark.browser
def test_the_pixel_measurement_sees_filters_and_tells_4_48_from_4_54(browser: Browser) -> None:
    page = browser.new_page(bypass_csp=True, device_scale_factor=2)
    page.set_content(CALIBRATION)
    found = {r["name"].split(" ")[0]: r for r in measure(page, "#pass, #fail, #filtered, #plain, #large, #hidden-text")}
    page.close()
    assert found["p#pass"]["ratio"] == pytest.approx(4.54, abs=0.02)
    assert found["p#fail"]["ratio"] == pytest.approx(4.48, abs=0.02)
    assert found["span#plain.badge"]["ratio"] == pytest.approx(ratio(rgb("#ffffff"), rgb("#b8480f")), abs=0.02)
    # What axe cannot see: the filter brightens the badge and its white text alike.
    assert found["span#filtered.badge"]["ratio"] < 3
    assert found["p#large"]["needed"] == 3.0 and found["p#pass"]["needed"] == 4.5
    assert found["p#hidden-text"]["ratio"] == 1.0
    assert {name for name, r in found.items() if r["ratio"] < r["needed"]} == {
        "p#fail", "span#filtered.badge", "p#hidden-text"}


# --- the flagship ------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("path", "selector"), [("index.html", MEMO_TEXT), ("themes/regression.html", THEME_TEXT)],
                         ids=["memo", "theme"])
def test_rendered_text_contrast_is_at_least_aa(browser: Browser, served_site: str, path: str, selector: str,
                                               scheme: str) -> None:
    page = open_page(browser, served_site + path, scheme)
    results = measure(page, selector)
    page.close()
    badges = [r for r in results if ".phase-chip" in r["name"]]
    assert badges, "no phase badge was measured"
    assert len(results) >= 10
    assert failures(results) == []


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_drill_has_enough_rendered_contrast(browser: Browser, served_site: str, scheme: str) -> None:
    page = open_page(browser, served_site + "index.html#drill=regression", scheme)
    expect(page.locator("#drill .drill-list li").first).to_be_visible()
    results = measure(page, DRILL_TEXT)
    page.close()
    assert any(r["name"].startswith("a") for r in results), "no post link was measured"
    assert failures(results) == []


_TEXT_ELEMENTS_WITH_EFFECTS = """() => [...document.querySelectorAll('body, body *')].filter(element =>
  [...element.childNodes].some(node => node.nodeType === Node.TEXT_NODE && node.textContent.trim())
).flatMap(element => {
  const found = [];
  for (let e = element; e; e = e.parentElement) {
    const style = getComputedStyle(e);
    if (style.filter !== 'none') found.push(e.tagName + '.' + e.className + ' filter: ' + style.filter);
    if (style.mixBlendMode !== 'normal') found.push(e.tagName + '.' + e.className + ' mix-blend-mode: ' + style.mixBlendMode);
  }
  return found;
})"""


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["index.html", "index.html#drill=regression", "themes/regression.html", "about.html"])
def test_no_text_is_drawn_through_a_filter_or_blend(browser: Browser, served_site: str, path: str, scheme: str) -> None:
    page = browser.new_page(color_scheme=scheme)
    page.goto(served_site + path)
    if "#drill" in path:
        expect(page.locator("#drill .drill-list li").first).to_be_visible()
    assert sorted(set(page.evaluate(_TEXT_ELEMENTS_WITH_EFFECTS))) == []
    page.close()


# --- awkward phase colours ---------------------------------------------------------------------
AWKWARD = {"Train": "#ffe066", "Evaluate": "#767676", "Iterate": "#101010"}
AWKWARD_TOO = {"Train": "#757575", "Evaluate": "#ff0000", "Iterate": "#00e5ff"}


@pytest.fixture(scope="module", params=[AWKWARD, AWKWARD_TOO], ids=["pale-grey-night", "grey-red-cyan"])
def awkward_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The flagship with its phase colours replaced, built and served: (base URL, colours)."""
    colours: dict[str, str] = request.param
    taxonomy = (ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8")
    for phase, colour in colours.items():
        taxonomy, replaced = re.subn(rf'(id = "{phase}"\n(?:.*\n)*?color = )"#[0-9a-fA-F]{{6}}"', rf'\g<1>"{colour}"', taxonomy)
        assert replaced == 1, f"no colour for {phase} in taxonomy.toml"
    root = tmp_path_factory.mktemp("colours")
    data = root / "data"
    data.mkdir()
    (data / "taxonomy.toml").write_text(taxonomy, encoding="utf-8")
    (data / "signals.jsonl").write_bytes((ROOT / "data" / "signals.jsonl").read_bytes())
    out = root / "site"
    build(Project(data=data, memo=ROOT / "memo", templates=BUILTIN_TEMPLATES, out=out))
    with serve(out) as url:
        yield url, colours


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_badges_stay_readable_whatever_the_phase_colours(browser: Browser, awkward_site: tuple[str, dict[str, str]],
                                                         scheme: str) -> None:
    url, colours = awkward_site
    page = open_page(browser, url + "index.html", scheme)
    results = measure(page, ".phase-chip, .chip, .chip-share, .card-link, .card-count")
    page.close()
    # The badges were measured on the awkward colours themselves, not on something else.
    assert {r["background"] for r in results if ".phase-chip" in r["name"]} == {rgb(c) for c in colours.values()}
    assert failures(results) == []
