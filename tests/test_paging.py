"""A large theme is paged: listing pages and drill data files of at most 2,000 posts, and the
drill loads the later files while the reader already reads. The data here is synthetic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import serve
from playwright.sync_api import Page, expect

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build
from memokit.build.render import PAGE_SIZE

ROOT = Path(__file__).resolve().parent.parent
BIG = 4_500  # posts in the theme "regression": three files of 2,000, 2,000 and 500


def synthetic(number: int, theme: str, phase: str) -> dict:
    return {"id": f"syn-{number:05d}", "url": f"https://example.com/synthetic/{number}", "source": "github",
            "community": "synthetic/project", "title": f"Synthetic post {number}",
            "created": f"20{10 + number % 15}-{1 + number % 12:02d}-{1 + number % 28:02d}", "theme": theme,
            "phase": phase, "summary": "A synthetic record for the paging tests.", "sample": "sweep"}


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paging")
    (root / "data").mkdir()
    (root / "data" / "taxonomy.toml").write_text((ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8"))
    records = [synthetic(i, "regression", "Evaluate") for i in range(BIG)]
    records += [synthetic(BIG + i, "train-setup", "Train") for i in range(3)]
    (root / "data" / "signals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (root / "memo").mkdir()
    (root / "memo" / "index.md").write_text("---\ntitle: Paging test\n---\n\nA synthetic memo of {{ n }} posts.\n")
    build(Project(data=root / "data", memo=root / "memo", templates=BUILTIN_TEMPLATES, out=root / "site"))
    return root / "site"


def test_a_large_theme_is_listed_on_pages_of_at_most_2000_posts(big_site: Path) -> None:
    assert PAGE_SIZE == 2000
    pages = [big_site / "themes" / name for name in ("regression.html", "regression.p2.html", "regression.p3.html")]
    counts = [path.read_text(encoding="utf-8").count('<li class="post"') for path in pages]
    assert counts == [2000, 2000, 500]
    assert not (big_site / "themes" / "regression.p4.html").exists()
    second = pages[1].read_text(encoding="utf-8")
    assert 'href="regression.html" rel="prev"' in second and 'href="regression.p3.html" rel="next"' in second
    assert "Posts 2,001 to 4,000 of 4,500 (page 2 of 3)" in second


def test_drill_data_is_paged_and_the_first_file_describes_the_rest(big_site: Path) -> None:
    first = json.loads((big_site / "data" / "themes" / "regression.json").read_text(encoding="utf-8"))
    assert (first["count"], first["pages"], len(first["posts"])) == (BIG, 3, 2000)
    later = [json.loads((big_site / "data" / "themes" / f"regression.p{n}.json").read_text(encoding="utf-8"))
             for n in (2, 3)]
    assert [len(part["posts"]) for part in later] == [2000, 500]
    ids = [p["id"] for p in first["posts"]] + [p["id"] for part in later for p in part["posts"]]
    assert sorted(ids) == sorted(f"syn-{i:05d}" for i in range(BIG))


@pytest.fixture(scope="module")
def served_big_site(big_site: Path) -> Iterator[str]:
    with serve(big_site) as url:
        yield url


@pytest.mark.browser
def test_the_drill_loads_every_page_and_searches_across_them(page: Page, served_big_site: str) -> None:
    page.goto(served_big_site + "index.html#drill=regression")
    expect(page.locator("#drill-status")).to_have_text("4,500 posts", timeout=15_000)
    expect(page.locator("#drill .drill-list > li")).to_have_count(200)
    # The oldest posts live in the last file; a search finds one of them.
    oldest = min(range(BIG), key=lambda i: (synthetic(i, "", "")["created"], f"syn-{i:05d}"))
    page.locator("#drill input[name=q]").fill(f"Synthetic post {oldest}")
    expect(page.locator("#drill .drill-list > li").first).to_contain_text(f"Synthetic post {oldest}")
    page.select_option("#drill select[name=sort]", "oldest")
    page.locator("#drill input[name=q]").fill("")
    expect(page.locator("#drill .drill-list > li").first.locator(".post-meta")).to_contain_text(
        synthetic(oldest, "", "")["created"])
