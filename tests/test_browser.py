"""The flagship site in real Chromium, driven as a reader would."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser


def test_memo_shows_one_card_per_theme_with_the_data_counts(page: Page, served_site: str,
                                                             flagship_signals: list[dict]) -> None:
    page.goto(served_site + "index.html")
    counts = Counter(s["theme"] for s in flagship_signals)
    cards = page.locator("li.card")
    expect(cards).to_have_count(len(counts))
    for theme, count in counts.items():
        card = page.locator(f'li.card[data-theme="{theme}"]')
        expect(card.locator(".card-count")).to_have_text(f"{count:,} posts")


def test_following_a_card_from_file_shows_that_themes_posts(page: Page, flagship_site, flagship_signals: list[dict]) -> None:
    # Opened from file:// the drill stays out of the way: a card is a plain link to its theme page.
    page.goto((flagship_site / "index.html").as_uri())
    page.locator('li.card[data-theme="regression"] a.card-link').click()
    expect(page).to_have_url(re.compile(r"themes/regression\.html$"))
    expected = [s for s in flagship_signals if s["theme"] == "regression"]
    expect(page.locator("li.post")).to_have_count(len(expected))
    expect(page.locator("h1")).to_have_text("Did anything break?")
    titles = page.locator("li.post .post-title a").all_inner_texts()
    assert sorted(titles) == sorted(s["title"] for s in expected)
    page.go_back()
    expect(page.locator("h1")).to_have_text("The Iteration Gap")


def test_theme_pages_work_without_javascript(browser: Browser, served_site: str, flagship_signals: list[dict]) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(served_site + "index.html")
    page.locator('li.card[data-theme="did-it-improve"] a.card-link').click()
    expected = sum(s["theme"] == "did-it-improve" for s in flagship_signals)
    expect(page.locator("li.post")).to_have_count(expected)
    context.close()


def test_the_memo_requests_nothing_from_another_origin(page: Page, served_site: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(served_site + "index.html")
    page.wait_for_load_state("networkidle")
    assert requested, "the page loaded nothing at all"
    assert all(url.startswith(served_site) for url in requested), requested


def test_a_bound_number_shows_its_provenance(page: Page, served_site: str, flagship_signals: list[dict]) -> None:
    page.goto(served_site + "index.html")
    first = page.locator('main data.bound[data-expr="n"]').first
    expect(first).to_have_text(str(len(flagship_signals)))
    expect(first).to_have_attribute("title", f"n = {len(flagship_signals)}")
    train = page.locator("main data.bound").first  # the first number of the prose
    sweep = [s for s in flagship_signals if s["sample"] == "sweep"]
    setup = sum(s["phase"] == "Train" for s in sweep)
    expect(train).to_have_attribute("data-expr", 'share(phase="Train", of="sweep")')
    expect(train).to_have_attribute("data-exact", f"{setup}/{len(sweep)} = {setup / len(sweep):.6f}")


def test_the_nav_links_the_memo_and_its_companion_page(page: Page, served_site: str) -> None:
    page.goto(served_site + "index.html")
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="The Iteration Gap")).to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="About the data").click()
    expect(page).to_have_url(re.compile(r"about\.html$"))
    expect(page.locator("h1")).to_have_text("About the data")
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link", name="About the data")).to_have_attribute(
        "aria-current", "page")
