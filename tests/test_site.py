"""The built flagship site: pages, posts and numbers agree with the data and with each other."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import make_data, signal

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build

ROOT = Path(__file__).resolve().parent.parent


class _Page(HTMLParser):
    """Collect the attributes of every element and the text inside elements of interest."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def parse(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page.elements


def theme_ids() -> list[str]:
    text = (ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8")
    return re.findall(r'^\[\[themes\]\]\s*\nid = "([^"]+)"', text, flags=re.M)


def test_one_theme_page_per_theme(flagship_site: Path) -> None:
    pages = sorted(p.stem for p in (flagship_site / "themes").glob("*.html"))
    assert pages == sorted(theme_ids())
    assert len(pages) == 8


@pytest.mark.parametrize("theme", theme_ids())
def test_theme_page_lists_exactly_the_posts_of_its_theme(flagship_site: Path, flagship_signals: list[dict],
                                                         theme: str) -> None:
    elements = parse(flagship_site / "themes" / f"{theme}.html")
    listed = [attrs["data-id"] for tag, attrs in elements if tag == "li" and "data-id" in attrs]
    expected = [s for s in flagship_signals if s["theme"] == theme]
    assert sorted(listed) == sorted(s["id"] for s in expected)
    # Newest first, undated last.
    by_id = {s["id"]: s["created"] for s in expected}
    dates = [by_id[i] for i in listed]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert all(d is None for d in dates[len(dated):])
    # Every post links to its own URL, marked as untrusted.
    links = [attrs for tag, attrs in elements if tag == "a" and attrs.get("rel") == "noopener noreferrer nofollow ugc"]
    assert sorted(a["href"] for a in links) == sorted(s["url"] for s in expected)


def test_cards_charts_and_stats_json_show_the_same_numbers(flagship_site: Path, flagship_signals: list[dict]) -> None:
    stats = json.loads((flagship_site / "data" / "stats.json").read_text(encoding="utf-8"))
    counts = Counter(s["theme"] for s in flagship_signals)
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    assert stats["n"] == len(flagship_signals)
    for theme in stats["themes"]:
        assert theme["count"] == counts[theme["id"]]
        card = re.search(rf'<li class="card" id="theme-{theme["id"]}".*?</li>', html, flags=re.S).group(0)
        assert f'<span class="card-share">{theme["percent"]}%</span>' in card
        assert f'<span class="card-count">{theme["count"]} posts</span>' in card
        table_row = (f'<tr><th scope="row"><a href="themes/{theme["id"]}.html" data-drill="{theme["id"]}">{theme["label"]}</a>'
                     f'</th><td>{theme["count"]}</td><td>{theme["percent"]}%</td>')
        assert table_row.replace("“", "&ldquo;") in html or table_row in html
        assert f'{theme["percent"]}% ({theme["count"]})' in html  # the bar label in the SVG
    assert sum(t["percent"] for t in stats["themes"]) == 100
    assert sum(p["percent"] for p in stats["phases"]) == 100


def test_stats_json_declares_the_flagship_denominators(flagship_site: Path, flagship_signals: list[dict]) -> None:
    stats = json.loads((flagship_site / "data" / "stats.json").read_text(encoding="utf-8"))
    n = {d["id"]: d["n"] for d in stats["denominators"]}
    assert n["all"] == len(flagship_signals)
    assert n["post-training"] == sum(s["phase"] in ("Evaluate", "Iterate") for s in flagship_signals)
    assert n["sweep"] == sum(s["sample"] == "sweep" for s in flagship_signals)
    for dimension, by_denominator in stats["breakdowns"].items():
        for of, breakdown in by_denominator.items():
            if breakdown["total"]:
                assert sum(row["percent"] for row in breakdown["rows"]) == 100, (dimension, of)


def test_signals_csv_holds_the_validated_data(flagship_site: Path, flagship_signals: list[dict]) -> None:
    with (flagship_site / "data" / "signals.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [s["id"] for s in flagship_signals]
    # A cell a spreadsheet would run as a formula gets a leading "'" (it shows as text).
    formula = ("=", "+", "-", "@", "\t", "\r")
    assert [r["title"] for r in rows] == [("'" if s["title"].startswith(formula) else "") + s["title"]
                                          for s in flagship_signals]
    assert any(s["title"].startswith("-") for s in flagship_signals)  # the corpus itself has one


def test_signals_csv_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    records = [signal(1, title='=HYPERLINK("https://evil.example","click")', summary="+1 and more"),
               signal(2, title="@SUM(A1:A9)", summary="-2 points", community="=cmd|' /C calc'!A0"),
               signal(3, title="A plain title", summary="tab\tinside is fine")]
    data = make_data(tmp_path, records)
    (tmp_path / "memo").mkdir()
    (tmp_path / "memo" / "index.md").write_text("---\ntitle: Synthetic\n---\n\n{{ n }} synthetic posts.\n")
    build(Project(data=data, memo=tmp_path / "memo", templates=BUILTIN_TEMPLATES, out=tmp_path / "site"))
    with (tmp_path / "site" / "data" / "signals.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["title"] for r in rows] == ["'=HYPERLINK(\"https://evil.example\",\"click\")", "'@SUM(A1:A9)", "A plain title"]
    assert [r["summary"] for r in rows] == ["'+1 and more", "'-2 points", "tab\tinside is fine"]
    assert rows[1]["community"] == "'=cmd|' /C calc'!A0"


def test_every_link_is_relative_and_nothing_loads_from_another_origin(flagship_site: Path) -> None:
    for path in flagship_site.rglob("*.html"):
        for tag, attrs in parse(path):
            for name in ("src", "href"):
                value = attrs.get(name)
                if value is None:
                    continue
                if tag == "a" and value.startswith(("http://", "https://")):
                    assert attrs.get("rel") == "noopener noreferrer nofollow ugc", (path, value)
                    continue
                assert not value.startswith(("/", "http:", "https:", "//")), (path, tag, value)
                if tag != "a" and not value.startswith("#"):
                    target = (path.parent / value.split("#")[0]).resolve()
                    assert target.is_file(), (path, value)


def test_the_prose_holds_no_unbound_template_syntax(flagship_site: Path) -> None:
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    body = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert "{{" not in body and "}}" not in body


def test_methodology_links_the_downloads(flagship_site: Path) -> None:
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    section = re.search(r'<section class="methodology-data".*?</section>', html, flags=re.S).group(0)
    for name in ("data/signals.csv", "data/stats.json"):
        assert f'href="{name}"' in section
        assert (flagship_site / name).is_file()


def test_generated_blocks_are_html_not_escaped_text(flagship_site: Path) -> None:
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    for tag in ("section", "figure", "ul", "table", "data"):
        assert f"&lt;{tag}" not in html
    assert html.count('<li class="card"') == len(theme_ids())


def test_every_page_declares_a_strict_content_security_policy(flagship_site: Path) -> None:
    for path in flagship_site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert "unsafe-inline" not in policy and "http" not in policy
        assert "<script>" not in html and " on" + "click=" not in html


def test_every_json_file_the_build_writes_is_strict_json(flagship_site: Path) -> None:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    files = sorted(flagship_site.rglob("*.json"))
    assert len(files) >= 10
    for path in files:
        json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
