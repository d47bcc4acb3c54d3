"""Quality gates in a real browser: accessibility (axe-core), valid HTML (Nu HTML Checker),
page weight, and screenshots of the finished page in light and dark mode."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
ARTIFACTS = ROOT / "test-artifacts"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
KB = 1000


def _node_file(relative: str) -> Path:
    path = NODE_MODULES / relative
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `npm ci` first (see README)")
    return path


def _axe_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(_node_file("axe-core/axe.min.js")))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["index.html", "themes/regression.html", "phases/Evaluate.html", "about.html"])
def test_pages_have_no_wcag_aa_violations(browser: Browser, served_site: str, path: str, scheme: str) -> None:
    page = browser.new_page(color_scheme=scheme, bypass_csp=True)  # axe is injected inline
    page.goto(served_site + path)
    assert _axe_violations(page) == []
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_drill_has_no_wcag_aa_violations(browser: Browser, served_site: str, scheme: str) -> None:
    page = browser.new_page(color_scheme=scheme, bypass_csp=True)  # axe is injected inline
    page.goto(served_site + "index.html#drill=regression&q=lora")
    expect(page.locator("#drill .drill-list li").first).to_be_visible()
    assert _axe_violations(page) == []
    page.close()


def test_every_page_is_valid_html(flagship_site: Path) -> None:
    java = shutil.which("java")
    assert java, "java is needed for the Nu HTML Checker"
    jar = _node_file("vnu-jar/build/dist/vnu.jar")
    result = subprocess.run([java, "-jar", str(jar), "--errors-only", "--skip-non-html", str(flagship_site)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stderr.strip() == ""


@pytest.mark.browser
def test_the_memo_page_weighs_at_most_100_kb_before_any_interaction(page: Page, served_site: str) -> None:
    sizes: dict[str, int] = {}

    def record(response) -> None:
        sizes[response.url] = len(response.body())

    page.on("response", record)
    page.goto(served_site + "index.html")
    page.wait_for_load_state("networkidle")
    assert all(url.startswith(served_site) for url in sizes), sorted(sizes)
    assert not any("/data/" in url for url in sizes), "the drill's data must load only on demand"
    total = sum(sizes.values())
    assert total <= 100 * KB, {url: size for url, size in sizes.items()}
    script = sum(size for url, size in sizes.items() if url.endswith(".js"))
    assert 0 < script <= 20 * KB


def test_all_javascript_of_the_site_is_at_most_20_kb(flagship_site: Path) -> None:
    scripts = list(flagship_site.rglob("*.js"))
    assert scripts
    assert sum(path.stat().st_size for path in scripts) <= 20 * KB


def test_pages_carry_description_open_graph_and_favicon(flagship_site: Path) -> None:
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    for needle in ('<meta name="description"', '<meta property="og:title"', '<meta property="og:description"',
                   '<meta property="og:image" content="assets/share.png"', '<link rel="icon"'):
        assert needle in html
    assert (flagship_site / "assets" / "share.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_full_page_screenshots_for_review(browser: Browser, served_site: str, scheme: str) -> None:
    page = browser.new_page(color_scheme=scheme, viewport={"width": 1100, "height": 900})
    page.goto(served_site + "index.html")
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"memo-{scheme}.png"
    page.screenshot(path=str(target), full_page=True)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    assert target.stat().st_size > 10_000
    page.close()


@pytest.mark.browser
def test_the_print_stylesheet_hides_navigation_and_opens_data_tables(browser: Browser, served_site: str) -> None:
    page = browser.new_page()
    page.goto(served_site + "index.html")
    page.emulate_media(media="print")
    expect(page.locator(".site-nav")).to_be_hidden()
    expect(page.locator("#chart-phase table")).to_be_visible()
    page.close()
