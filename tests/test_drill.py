"""The in-page theme drill (memokit/build/templates/assets/drill.js) in real Chromium, checked against the raw data.

Every expected number here is computed from data/signals.jsonl and data/taxonomy.toml by the test
itself, never by memokit. Browser tests carry @pytest.mark.browser one by one, so the size check
at the end runs without a browser.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from helpers import serve
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = tomllib.loads((ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8"))
SOURCE_LABELS: dict[str, str] = TAXONOMY["sources"]
THEME_LABELS = {theme["id"]: theme["label"] for theme in TAXONOMY["themes"]}
PHASE_LABELS = {phase["id"]: phase["label"] for phase in TAXONOMY["phases"]}
REL = "noopener noreferrer nofollow ugc"
NO_MATCH = "zqxj-no-post-says-this"


# --- the data, read independently ---------------------------------------------------------------
def posts_of(signals: list[dict], theme: str) -> list[dict]:
    return [s for s in signals if s["theme"] == theme]


def matches(post: dict, query: str) -> bool:
    needle = query.strip().lower()
    return any(needle in post[key].lower() for key in ("title", "summary", "community"))


def year_of(post: dict) -> str:
    return post["created"][:4] if post["created"] else "unknown"


def status(shown: int, total: int) -> str:
    noun = "post" if total == 1 else "posts"
    return f"{total:,} {noun}" if shown == total else f"{shown:,} of {total:,} {noun}"


# --- the page -----------------------------------------------------------------------------------
def memo(page: Page, served_site: str) -> Page:
    page.goto(served_site + "index.html")
    return page


def card_link(page: Page, theme: str) -> Locator:
    return page.locator(f'li.card[data-theme="{theme}"] a.card-link[data-drill="{theme}"]')


def phase_chip(page: Page, phase: str) -> Locator:
    return page.locator(f'a.chip[data-drill="phase:{phase}"]')


def dialog(page: Page) -> Locator:
    return page.locator("dialog#drill")


def items(page: Page) -> Locator:
    return page.locator("#drill .drill-list > li.post")


def expect_open(page: Page, is_open: bool = True) -> None:
    expect(dialog(page)).to_have_js_property("open", is_open)


def open_theme(page: Page, theme: str) -> None:
    card_link(page, theme).click()
    expect_open(page)


def meta_dates(page: Page) -> list[str]:
    """The date at the end of each listed post's meta line ("YYYY-MM-DD" or "date unknown")."""
    return [text.rsplit(" · ", 1)[-1] for text in page.locator("#drill .post-meta").all_text_contents()]


# --- 1-3: opening -------------------------------------------------------------------------------
@pytest.mark.browser
def test_clicking_a_card_opens_its_posts_in_place(page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    memo(page, served_site)
    page.evaluate("window.__sameDocument = true")
    expected = posts_of(flagship_signals, "regression")
    open_theme(page, "regression")
    expect(page).to_have_url(served_site + "index.html#drill=regression")
    assert page.evaluate("window.__sameDocument") is True, "clicking the card navigated away"
    expect(items(page)).to_have_count(len(expected))
    expect(page.locator("#drill-status")).to_have_text(status(len(expected), len(expected)))
    expect(page.locator("#drill-title")).to_have_text(THEME_LABELS["regression"])
    expect(page.locator("#drill-title")).to_be_focused()
    titles = page.locator("#drill .post-title a").all_text_contents()
    assert sorted(titles) == sorted(post["title"] for post in expected)


@pytest.mark.browser
def test_enter_and_space_on_a_card_open_the_drill(page: Page, served_site: str,
                                                  flagship_signals: list[dict]) -> None:
    memo(page, served_site)
    expected = len(posts_of(flagship_signals, "did-it-improve"))
    link = card_link(page, "did-it-improve")
    link.focus()
    page.keyboard.press("Enter")
    expect_open(page)
    expect(items(page)).to_have_count(expected)
    page.locator("#drill .drill-close").click()
    expect_open(page, False)

    link.focus()
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press("Space")
    expect_open(page)
    expect(items(page)).to_have_count(expected)
    expect(page).to_have_url(served_site + "index.html#drill=did-it-improve")
    assert page.evaluate("window.scrollY") == scrolled, "Space scrolled the page instead of opening the drill"


@pytest.mark.browser
def test_a_phase_chip_opens_every_post_of_the_phase(page: Page, served_site: str,
                                                    flagship_signals: list[dict]) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    memo(page, served_site)
    expected = [s for s in flagship_signals if s["phase"] == "Evaluate"]
    phase_chip(page, "Evaluate").click()
    expect_open(page)
    expect(page).to_have_url(served_site + "index.html#drill=phase%3AEvaluate")
    # The panel draws 200 posts at a time; "Show more" draws the rest.
    expect(items(page)).to_have_count(200)
    expect(page.locator("#drill-status")).to_have_text(status(len(expected), len(expected)))
    more = page.locator("#drill .drill-more")
    expect(more).to_have_text(f"Show more posts ({len(expected) - 200} not shown yet)")
    more.click()
    expect(items(page)).to_have_count(len(expected))
    expect(more).to_be_hidden()
    expect(items(page).nth(200).locator("a")).to_be_focused()
    expect(page.locator("#drill-title")).to_have_text(f"{PHASE_LABELS['Evaluate']}: all posts of the phase")
    themes = {s["theme"] for s in expected}
    fetched = {url for url in requested if "/data/themes/" in url}
    assert fetched == {f"{served_site}data/themes/{theme}.json" for theme in themes}


# --- 4-8: filtering, searching, sorting ---------------------------------------------------------
@pytest.mark.browser
def test_filtering_by_source(page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "train-setup")
    source = "hf-forum"
    expected = sum(post["source"] == source for post in posts)
    assert 0 < expected < len(posts)
    memo(page, served_site)
    open_theme(page, "train-setup")
    page.locator("#drill select[name=source]").select_option(source)
    expect(items(page)).to_have_count(expected)
    expect(page.locator("#drill-status")).to_have_text(status(expected, len(posts)))
    for meta in page.locator("#drill .post-meta").all_text_contents():
        assert meta.startswith(SOURCE_LABELS[source] + " · "), meta
    expect(page).to_have_url(served_site + f"index.html#drill=train-setup&source={source}")


@pytest.mark.browser
@pytest.mark.parametrize("year", ["2024", "unknown"])
def test_filtering_by_year(page: Page, served_site: str, flagship_signals: list[dict], year: str) -> None:
    posts = posts_of(flagship_signals, "regression")
    expected = [post for post in posts if year_of(post) == year]
    assert 0 < len(expected) < len(posts)
    memo(page, served_site)
    open_theme(page, "regression")
    page.locator("#drill select[name=year]").select_option(year)
    expect(items(page)).to_have_count(len(expected))
    expect(page.locator("#drill-status")).to_have_text(status(len(expected), len(posts)))
    wanted = "date unknown" if year == "unknown" else re.compile(rf"^{year}-\d\d-\d\d$")
    for date in meta_dates(page):
        assert date == wanted if isinstance(wanted, str) else wanted.match(date), date


@pytest.mark.browser
def test_search_marks_matches_and_updates_the_status_as_you_type(page: Page, served_site: str,
                                                                 flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "regression")
    memo(page, served_site)
    open_theme(page, "regression")
    field = page.locator("#drill input[name=q]")
    field.click()
    typed = ""
    for char in "LoRA":
        typed += char
        page.keyboard.type(char)
        expected = sum(matches(post, typed) for post in posts)
        expect(page.locator("#drill-status")).to_have_text(status(expected, len(posts)))
        expect(items(page)).to_have_count(expected)
    expected = sum(matches(post, "lora") for post in posts)
    assert 0 < expected < len(posts)
    for item in items(page).all():
        marks = [text.lower() for text in item.locator("mark").all_text_contents()]
        assert marks and all(text == "lora" for text in marks), item.text_content()


@pytest.mark.browser
def test_no_match_shows_the_empty_message_and_clear_filters_restores_the_list(
        page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    total = len(posts_of(flagship_signals, "regression"))
    memo(page, served_site)
    open_theme(page, "regression")
    empty = page.locator("#drill .drill-empty")
    expect(empty).to_be_hidden()
    page.locator("#drill select[name=source]").select_option("github")
    page.locator("#drill input[name=q]").fill(NO_MATCH)
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No post matches these filters.")
    expect(items(page)).to_have_count(0)
    expect(page.locator("#drill-status")).to_have_text(status(0, total))
    empty.get_by_role("button", name="Clear filters").click()
    expect(items(page)).to_have_count(total)
    expect(page.locator("#drill-status")).to_have_text(status(total, total))
    expect(empty).to_be_hidden()
    expect(page.locator("#drill input[name=q]")).to_have_value("")
    expect(page.locator("#drill select[name=source]")).to_have_value("")
    expect(page).to_have_url(served_site + "index.html#drill=regression")


@pytest.mark.browser
def test_sorting_newest_and_oldest_first_with_undated_posts_last(page: Page, served_site: str,
                                                                 flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "regression")
    dated = sorted(post["created"] for post in posts if post["created"])
    undated = ["date unknown"] * (len(posts) - len(dated))
    assert dated and undated
    memo(page, served_site)
    open_theme(page, "regression")
    expect(page.locator("#drill select[name=sort]")).to_have_value("newest")
    expect(items(page)).to_have_count(len(posts))
    assert meta_dates(page) == dated[::-1] + undated
    page.locator("#drill select[name=sort]").select_option("oldest")
    expect(page).to_have_url(served_site + "index.html#drill=regression&sort=oldest")
    expect(items(page)).to_have_count(len(posts))
    assert meta_dates(page) == dated + undated


# --- 9-11: the URL and the keyboard -------------------------------------------------------------
@pytest.mark.browser
def test_a_deep_link_restores_the_view(page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "regression")
    expected = [p for p in posts if p["source"] == "github" and matches(p, "lora")]
    page.goto(served_site + "index.html#drill=regression&source=github&q=lora&sort=oldest")
    expect_open(page)
    expect(page.locator("#drill-title")).to_have_text(THEME_LABELS["regression"])
    expect(page.locator("#drill input[name=q]")).to_have_value("lora")
    expect(page.locator("#drill select[name=source]")).to_have_value("github")
    expect(page.locator("#drill select[name=year]")).to_have_value("")
    expect(page.locator("#drill select[name=sort]")).to_have_value("oldest")
    expect(items(page)).to_have_count(len(expected))
    expect(page.locator("#drill-status")).to_have_text(status(len(expected), len(posts)))
    dated = sorted(p["created"] for p in expected if p["created"])
    assert meta_dates(page) == dated + ["date unknown"] * (len(expected) - len(dated))
    # No link opened this view, so closing it hands focus to the card of the theme shown.
    page.keyboard.press("Escape")
    expect_open(page, False)
    expect(card_link(page, "regression")).to_be_focused()


@pytest.mark.browser
def test_back_and_forward_move_between_views(page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "regression")
    others = sum(post["source"] == "other" for post in posts)
    memo(page, served_site)
    open_theme(page, "regression")
    page.locator("#drill select[name=source]").select_option("other")
    expect(page).to_have_url(served_site + "index.html#drill=regression&source=other")
    expect(items(page)).to_have_count(others)

    page.go_back()
    expect(page).to_have_url(served_site + "index.html#drill=regression")
    expect_open(page)
    expect(page.locator("#drill select[name=source]")).to_have_value("")
    expect(items(page)).to_have_count(len(posts))

    page.go_back()
    expect(page).to_have_url(served_site + "index.html")
    expect_open(page, False)

    page.go_forward()
    expect(page).to_have_url(served_site + "index.html#drill=regression")
    expect_open(page)
    expect(items(page)).to_have_count(len(posts))


@pytest.mark.browser
def test_escape_in_the_search_field_closes_and_returns_focus(page: Page, served_site: str) -> None:
    memo(page, served_site)
    open_theme(page, "version-choice")
    field = page.locator("#drill input[name=q]")
    field.fill("check")
    field.press("Escape")
    expect_open(page, False)
    expect(card_link(page, "version-choice")).to_be_focused()
    expect(page).to_have_url(served_site + "index.html")


# --- 12-13: copying and loading -----------------------------------------------------------------
@pytest.mark.browser
def test_copy_link_puts_the_view_url_on_the_clipboard(context: BrowserContext, page: Page, served_site: str) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served_site.rstrip("/"))
    memo(page, served_site)
    open_theme(page, "regression")
    page.locator("#drill select[name=year]").select_option("2024")
    expect(page).to_have_url(served_site + "index.html#drill=regression&year=2024")
    page.locator("#drill .drill-copy").click()
    expect(page.locator("#drill-status")).to_have_text("Link copied: " + page.url)
    assert page.evaluate("navigator.clipboard.readText()") == page.url


@pytest.mark.browser
def test_theme_data_is_fetched_lazily_and_only_once(page: Page, served_site: str,
                                                    flagship_signals: list[dict]) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    memo(page, served_site)
    page.wait_for_load_state("networkidle")
    themes_data = lambda: [url for url in requested if "/data/themes/" in url]  # noqa: E731
    assert themes_data() == []

    open_theme(page, "rerun-cost")
    expect(items(page)).to_have_count(len(posts_of(flagship_signals, "rerun-cost")))
    assert themes_data() == [served_site + "data/themes/rerun-cost.json"]

    page.keyboard.press("Escape")
    expect_open(page, False)
    open_theme(page, "rerun-cost")
    expect(items(page)).to_have_count(len(posts_of(flagship_signals, "rerun-cost")))
    assert themes_data() == [served_site + "data/themes/rerun-cost.json"]


# --- 14: without JavaScript ---------------------------------------------------------------------
@pytest.mark.browser
def test_without_javascript_cards_and_chips_are_links(browser: Browser, served_site: str,
                                                      flagship_signals: list[dict]) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(served_site + "index.html")
        card_link(page, "regression").click()
        expect(page).to_have_url(served_site + "themes/regression.html")
        expected = posts_of(flagship_signals, "regression")
        expect(page.locator("li.post")).to_have_count(len(expected))
        titles = page.locator("li.post .post-title a").all_text_contents()
        assert sorted(titles) == sorted(post["title"] for post in expected)

        page.goto(served_site + "index.html")
        phase_chip(page, "Evaluate").click()
        expect(page).to_have_url(served_site + "phases/Evaluate.html")
        expect(page.locator("li.post")).to_have_count(sum(s["phase"] == "Evaluate" for s in flagship_signals))
    finally:
        context.close()


# --- 15-16: tooltips and untrusted text ---------------------------------------------------------
@pytest.mark.browser
def test_a_phase_tooltip_shows_on_keyboard_focus_and_escape_hides_it(page: Page, served_site: str) -> None:
    memo(page, served_site)
    chip = phase_chip(page, "Evaluate")
    tip = page.locator('#tip-phase-Evaluate[role="tooltip"]')
    expect(chip).to_have_attribute("aria-describedby", "tip-phase-Evaluate")
    expect(tip).to_be_hidden()
    phase_chip(page, "Train").focus()
    page.keyboard.press("Tab")
    expect(chip).to_be_focused()
    expect(tip).to_be_visible()
    expect(tip).to_have_text(next(p["definition"] for p in TAXONOMY["phases"] if p["id"] == "Evaluate"))
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    expect(chip).to_be_focused()
    expect_open(page, False)


@pytest.mark.browser
def test_post_text_is_shown_as_text_never_as_markup(page: Page, served_site: str,
                                                    flagship_signals: list[dict]) -> None:
    posts = posts_of(flagship_signals, "data-quality")
    tagged = [post["title"] for post in posts if re.search(r"<[a-z/]", post["title"])]
    assert tagged, "the data has no title that looks like markup"
    memo(page, served_site)
    open_theme(page, "data-quality")
    expect(items(page)).to_have_count(len(posts))
    drill_list = page.locator("#drill .drill-list")
    expect(drill_list.locator("script")).to_have_count(0)
    expect(drill_list.locator("think, s, input")).to_have_count(0)
    titles = drill_list.locator(".post-title a").all_text_contents()
    for title in tagged:
        assert title in titles, title
    links = drill_list.locator(".post-title a")
    for index in range(links.count()):
        expect(links.nth(index)).to_have_attribute("rel", REL)
        assert re.match(r"^https?://", links.nth(index).get_attribute("href") or ""), index


# --- 17: budget (no browser) --------------------------------------------------------------------
def test_the_drill_script_stays_within_15_kb() -> None:
    size = (BUILTIN_TEMPLATES / "assets" / "drill.js").stat().st_size
    assert size <= 15_000, f"drill.js is {size:,} bytes"  # 15 KB, read strictly


@pytest.mark.browser
def test_a_click_on_the_panel_padding_keeps_it_open_and_one_on_the_backdrop_closes_it(
        page: Page, served_site: str) -> None:
    page.goto(served_site + "index.html#drill=regression")
    dialog = page.locator("#drill")
    expect(dialog).to_have_attribute("open", "")
    box = dialog.bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + box["height"] / 2)  # the panel's left padding
    expect(dialog).to_have_attribute("open", "")
    page.mouse.click(2, 2)  # the backdrop
    expect(dialog).not_to_have_attribute("open", "")
    expect(page).to_have_url(served_site + "index.html")


@pytest.mark.browser
def test_a_drill_post_is_the_theme_pages_post_with_a_heading_one_level_down(page: Page, served_site: str,
                                                                            flagship_signals: list[dict]) -> None:
    # Both come from one card (render.POST_CARD): the drill clones the page's <template> of it.
    dated = next(s for s in flagship_signals if s["theme"] == "regression" and s["created"])
    undated = next((s for s in flagship_signals if s["theme"] == "regression" and not s["created"]), None)
    page.goto(served_site + "themes/regression.html")
    static = {s["id"]: page.locator(f'li.post[data-id="{s["id"]}"]').evaluate("li => li.outerHTML")
              for s in (dated, undated) if s}
    memo(page, served_site)
    open_theme(page, "regression")
    for post_id, html in static.items():
        drilled = page.locator(f'#drill li.post[data-id="{post_id}"]').evaluate("li => li.outerHTML")
        assert drilled == html.replace("<h2 ", "<h3 ").replace("</h2>", "</h3>")
    assert f'<time datetime="{dated["created"]}">{dated["created"]}</time>' in static[dated["id"]]


@pytest.mark.browser
def test_search_highlights_exactly_the_letters_it_matched(tmp_path: Path, page: Page) -> None:
    # Lower-casing "İ" gives two characters, so offsets found in a lower-cased copy would be off by one.
    root = tmp_path
    (root / "data").mkdir()
    (root / "data" / "taxonomy.toml").write_text((ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8"))
    post = {"id": "syn-1", "url": "https://example.com/synthetic/1", "source": "github", "community": "İİ/İstanbul",
            "title": "Ferries of İstanbul, synthetic", "created": "2024-01-02", "theme": "regression",
            "phase": "Evaluate", "summary": "A synthetic post about İzmir and Istanbul."}
    (root / "data" / "signals.jsonl").write_text(json.dumps(post, ensure_ascii=False) + "\n", encoding="utf-8")
    (root / "memo").mkdir()
    (root / "memo" / "index.md").write_text("---\ntitle: Highlight test\n---\n\nA synthetic memo of {{ n }} post.\n")
    build(Project(data=root / "data", memo=root / "memo", templates=BUILTIN_TEMPLATES, out=root / "site"))
    with serve(root / "site") as url:
        page.goto(url + "index.html#drill=regression&q=ul")
        expect(items(page)).to_have_count(1)
        title = page.locator("#drill .post-title a")
        expect(title.locator("mark")).to_have_text(["ul"])
        assert title.evaluate("a => a.innerHTML") == "Ferries of İstanb<mark>ul</mark>, synthetic"
        expect(page.locator("#drill .community mark")).to_have_text(["ul"])
        page.locator("#drill input[name=q]").fill("STANBUL")
        expect(page.locator("#drill .post-summary mark")).to_have_text(["stanbul"])
        expect(title.locator("mark")).to_have_text(["stanbul"])


@pytest.mark.browser
@pytest.mark.parametrize("name, value", [("year", "1999"), ("source", "zzz")])
def test_a_deep_link_value_that_matches_nothing_is_dropped_with_a_notice(page: Page, served_site: str, name: str,
                                                                        value: str) -> None:
    page.goto(served_site + f"index.html#drill=regression&{name}={value}&q=lora")
    expect_open(page)
    notice = page.locator("#drill .drill-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"No post has {name} “{value}”: that filter was removed.")
    expect(page).to_have_url(served_site + "index.html#drill=regression&q=lora")
    page.locator('a.chip[data-drill="phase:Train"]').count()  # the page is still usable
    page.keyboard.press("Escape")
    page.locator('li.card[data-theme="regression"] a.card-link').click()
    expect(notice).to_be_hidden()  # a fresh view carries no old notice


@pytest.mark.browser
def test_a_deep_link_opened_from_a_file_says_why_and_links_the_page(page: Page, flagship_site: Path) -> None:
    page.goto((flagship_site / "index.html").as_uri() + "#drill=regression")
    offline = page.locator(".drill-offline")
    expect(offline).to_be_visible()
    expect(offline).to_contain_text("needs the site served over http(s)")
    offline.get_by_role("link", name="open them").click()
    expect(page).to_have_url(re.compile(r"themes/regression\.html$"))


@pytest.mark.browser
def test_the_search_and_filters_stay_in_reach_while_the_list_scrolls(page: Page, served_site: str) -> None:
    page.set_viewport_size({"width": 900, "height": 600})
    page.goto(served_site + "index.html#drill=did-it-improve")
    expect_open(page)
    search = page.locator("#drill input[name=q]")
    page.locator("#drill").evaluate("dialog => { dialog.scrollTop = dialog.scrollHeight; }")
    page.wait_for_function("document.getElementById('drill').scrollTop > 500")
    box, panel = search.bounding_box(), page.locator("#drill").bounding_box()
    assert box is not None and panel is not None
    assert panel["y"] <= box["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"]
    search.fill("lora")
    expect(page.locator("#drill-status")).to_contain_text("of")


@pytest.mark.browser
def test_a_bar_and_a_table_row_open_the_drill_like_the_card(page: Page, served_site: str,
                                                           flagship_signals: list[dict]) -> None:
    memo(page, served_site)
    bar = page.locator('#chart-theme svg a[data-drill="regression"]')
    count = len(posts_of(flagship_signals, "regression"))
    percent = round(100 * count / len(flagship_signals))
    expect(bar).to_have_attribute("aria-label", f"{THEME_LABELS['regression']}: {percent}%, {count} posts")
    bar.click()
    expect_open(page)
    expect(page.locator("#drill-title")).to_have_text(THEME_LABELS["regression"])
    expect(items(page)).to_have_count(min(count, 200))
    page.keyboard.press("Escape")
    expect_open(page, False)
    expect(bar).to_be_focused()  # focus returns to the bar that opened it
    # By keyboard: Tab from the bar before it reaches this one, Enter opens it; Escape comes back.
    bars = page.locator("#chart-theme svg a[data-drill]")
    before = [bars.nth(i).get_attribute("data-drill") for i in range(bars.count())].index("regression") - 1
    bars.nth(before).focus()
    page.keyboard.press("Tab")
    expect(bar).to_be_focused()
    page.keyboard.press("Enter")
    expect_open(page)
    expect(page).to_have_url(served_site + "index.html#drill=regression")
    page.keyboard.press("Escape")
    expect(bar).to_be_focused()
    page.locator("#chart-phase details.chart-data summary").click()
    row = page.locator('#chart-phase table a[data-drill="phase:Iterate"]')
    row.focus()
    page.keyboard.press("Enter")
    expect_open(page)
    expect(page.locator("#drill-title")).to_have_text("Iterate: all posts of the phase")
    expect(page).to_have_url(served_site + "index.html#drill=phase%3AIterate")


@pytest.mark.browser
def test_a_scoped_card_opens_the_drill_on_its_scope_alone(tmp_path: Path, page: Page,
                                                          flagship_signals: list[dict]) -> None:
    root = tmp_path
    (root / "data").mkdir()
    for name in ("taxonomy.toml", "signals.jsonl"):
        (root / "data" / name).write_bytes((ROOT / "data" / name).read_bytes())
    (root / "memo").mkdir()
    (root / "memo" / "index.md").write_text("---\ntitle: Scoped cards\n---\n\n{{ n }} posts.\n\n"
                                           '{{ cards(of="sweep") }}\n\n{{ cards() }}\n', encoding="utf-8")
    build(Project(data=root / "data", memo=root / "memo", templates=BUILTIN_TEMPLATES, out=root / "site"))
    sweep = [s for s in flagship_signals if s["sample"] == "sweep"]
    scoped = {s["id"] for s in posts_of(sweep, "regression")}
    everything = posts_of(flagship_signals, "regression")
    assert 0 < len(scoped) < len(everything) <= 200
    with serve(root / "site") as url:
        page.goto(url + "index.html")
        page.locator('a.card-link[data-drill="regression~of-sweep"]').click()
        expect_open(page)
        expect(page.locator("#drill-title")).to_have_text(f"{THEME_LABELS['regression']}: the posts of the sweep sample")
        expect(page.locator("#drill-status")).to_have_text(status(len(scoped), len(scoped)))
        assert set(items(page).evaluate_all("lis => lis.map(li => li.dataset.id)")) == scoped
        page.reload()  # the deep link opens the same scope
        expect(page.locator("#drill-status")).to_have_text(status(len(scoped), len(scoped)))
        page.locator("#drill input[name=q]").fill(NO_MATCH)
        expect(page.locator("#drill-status")).to_have_text(status(0, len(scoped)))
        page.keyboard.press("Escape")
        # The scoped block's phase chip: the phase's posts in the sweep sample, not the other block's twice.
        page.locator('a.chip[data-drill="phase:Evaluate~of-sweep"]').click()
        evaluate = [s for s in sweep if s["phase"] == "Evaluate"]
        expect(page.locator("#drill-status")).to_have_text(status(len(evaluate), len(evaluate)))
        page.keyboard.press("Escape")
        page.locator('a.chip[data-drill="phase:Evaluate"]').click()
        expect(page.locator("#drill-status")).to_have_text(
            status(*[len([s for s in flagship_signals if s["phase"] == "Evaluate"])] * 2))
        page.keyboard.press("Escape")
        card_link(page, "regression").click()
        expect(page.locator("#drill-status")).to_have_text(status(len(everything), len(everything)))
        page.go_back()
        expect_open(page, False)
        page.go_back()
        expect(page.locator("#drill-title")).to_have_text(re.compile("Evaluate: all posts"))
