"""Publishing: the site works under a subpath (as on GitHub Pages) and the site URL fills
canonical and Open Graph links."""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import serve
from playwright.sync_api import Page, expect

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent
SUBPATH = "memo-repo"


@pytest.fixture(scope="module")
def under_subpath(flagship_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pages")
    shutil.copytree(flagship_site, root / SUBPATH)
    with serve(root) as url:
        yield f"{url}{SUBPATH}/"


def test_every_link_and_asset_resolves_under_a_subpath(flagship_site: Path, under_subpath: str) -> None:
    checked = set()
    for page in sorted(flagship_site.rglob("*.html")):
        relative = page.relative_to(flagship_site).as_posix()
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:href|src)="([^"#]+)', html):
            if target.startswith(("http://", "https://")):
                continue
            url = urllib.request.urljoin(under_subpath + relative, target)
            assert url.startswith(under_subpath), (relative, target)
            if url not in checked:
                with urllib.request.urlopen(url) as response:
                    assert response.status == 200, url
                checked.add(url)
    assert len(checked) >= 15  # every page, asset and download the pages link to


@pytest.mark.browser
def test_the_drill_works_under_a_subpath(page: Page, under_subpath: str) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(under_subpath + "index.html")
    page.locator('li.card[data-theme="regression"] a.card-link').click()
    expect(page.locator("#drill .drill-list li").first).to_be_visible()
    assert failed == []


def test_the_site_url_fills_canonical_and_open_graph_links(tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert main(["--data", str(ROOT / "data"), "--memo", str(ROOT / "memo"), "--templates", str(BUILTIN_TEMPLATES),
                 "--out", str(out), "--site-url", "https://example.org/memo", "-q"]) == 0
    theme = (out / "themes" / "regression.html").read_text(encoding="utf-8")
    assert '<link rel="canonical" href="https://example.org/memo/themes/regression.html">' in theme
    assert '<meta property="og:url" content="https://example.org/memo/themes/regression.html">' in theme
    assert '<meta property="og:image" content="https://example.org/memo/assets/share.png">' in theme


def test_without_a_site_url_no_link_is_absolute(flagship_site: Path) -> None:
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    assert 'rel="canonical"' not in html and 'og:url' not in html


def test_a_site_url_must_be_http(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--site-url", "javascript:alert(1)"])
    assert stopped.value.code == 2
    assert "expected an absolute http(s) URL" in capsys.readouterr().err


def test_the_pages_workflow_tests_builds_and_deploys_with_the_official_actions() -> None:
    workflow = (ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    for action in ("actions/configure-pages@", "actions/upload-pages-artifact@", "actions/deploy-pages@"):
        assert action in workflow
    assert ".venv/bin/python -m pytest" in workflow and ".venv/bin/python build.py --site-url" in workflow
    assert "python3 -m venv --clear .venv" in workflow and ".venv/bin/mypy" in workflow
