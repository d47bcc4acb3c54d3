"""Untrusted post text stays inert: titles, summaries and community names that hold markup,
event handlers, entities, ``javascript:`` text and template syntax build, and render as literal text.

The dataset here is synthetic, made by this file for this test: ids start with ``syn-`` and every
URL points at example.com. Nothing in it is a real post.

The site is built twice: with the project's own templates, and with a copy whose only change is that
the Content-Security-Policy meta tag is removed. The policy would block an injected inline script
or handler on its own, so the second build checks that the escaping holds without it.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tomllib
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from helpers import jsonl, serve
from playwright.sync_api import Page, expect

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY_TEXT = (ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8")
TAXONOMY = tomllib.loads(TAXONOMY_TEXT)
THEME_PHASE = {theme["id"]: theme["phase"] for theme in TAXONOMY["themes"]}
THEMES = [theme["id"] for theme in sorted(TAXONOMY["themes"], key=lambda t: t["order"])]
PHASES = [phase["id"] for phase in TAXONOMY["phases"]]
SOURCE_LABELS: dict[str, str] = TAXONOMY["sources"]
CSP_META = re.compile(r'^<meta http-equiv="Content-Security-Policy"[^>]*>\n', re.M)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
SVG = '"><svg onload=alert(3)>'
ENTITIES = "&lt;b&gt;not bold&lt;/b&gt; &amp; &#x3C;"
JS_URL = "javascript:alert(4)"
JINJA = "{{ 7*7 }}"
RAW = "{% raw %}"
TEMPLATE_LITERAL = "${7*7}"
TEXTAREA = "</textarea><iframe src=javascript:alert(5)>"
ATTRIBUTE = "' onmouseover='alert(6)' x='"
COMMENT = "<!-- an unclosed comment"
CLOSERS = "</li></ol></main></dialog><b id=injected>bold?</b>"
HOSTILE = [SCRIPT, IMG, SVG, ENTITIES, JS_URL, JINJA, RAW, TEMPLATE_LITERAL, TEXTAREA, ATTRIBUTE, COMMENT, CLOSERS]
#: Strings that become markup if written into HTML unescaped.
MARKUP = [s for s in HOSTILE if any(ch in s for ch in "<>\"'&")]
#: Strings that become elements or entities wherever they are written unescaped, even between tags.
ELEMENTS = [s for s in HOSTILE if "<" in s or "&" in s]
#: The rest: harmful only inside an attribute, or if evaluated as a template.
OTHERS = [s for s in HOSTILE if s not in ELEMENTS]
#: What the template strings would render as had they been evaluated.
EVALUATED = "49"
SOURCES = ["github", "hf-forum", "reddit", "other"]
SEARCH = "script"


# Synthetic data for this test only: made-up posts at example.com, no real thread behind any of them.
def _records() -> list[dict[str, Any]]:
    """Two synthetic posts per theme; every hostile string is a title, a community and part of a summary.
    Each theme's first post has a title that becomes markup if it is ever written unescaped."""
    records = []
    for number in range(2 * len(THEMES)):
        theme = THEMES[number // 2]
        titles = ELEMENTS if number % 2 == 0 else OTHERS
        summary = f"Synthetic summary {number}: {HOSTILE[(number + 7) % len(HOSTILE)]}"
        if number % 2 == 0:
            summary += f" and {SCRIPT}"  # every theme has a post the search below finds
        url = f"https://example.com/synthetic/{number}"
        if number % 5 == 0:
            url += "?q=%22%3E&raw=\"><script>alert(7)</script>"  # the URL is untrusted too
        records.append({
            "id": f"syn-{number}",
            "url": url,
            "source": SOURCES[number % len(SOURCES)],
            "community": HOSTILE[(number + 3) % len(HOSTILE)],
            "title": titles[(number // 2) % len(titles)],
            "created": None if number % 4 == 3 else f"2024-{number % 9 + 1:02d}-1{number % 10}",
            "theme": theme,
            "phase": THEME_PHASE[theme],
            "summary": summary,
            "sample": "sweep" if number % 3 else "targeted",
        })
    return records


RECORDS = _records()
BY_ID = {record["id"]: record for record in RECORDS}

MEMO = """\
---
title: Hostile text, rendered inert
subtitle: A synthetic memo for a security test
description: Synthetic posts whose titles, summaries and communities hold markup and template syntax.
---

Synthetic data made for a test: {{ n }} made-up posts on example.com whose text looks like markup.
Of them, {{ share("train-setup") }} are about getting a run to work, and they come from
{{ distinct("community") }} communities.
"""


def test_the_fixture_holds_every_hostile_string_in_every_field() -> None:
    for field in ("title", "community"):
        assert {r[field] for r in RECORDS} == set(HOSTILE), field
    for text in HOSTILE:
        assert any(text in r["summary"] for r in RECORDS), text
    assert {r["theme"] for r in RECORDS} == set(THEMES)
    for theme in THEMES:
        assert any(r["title"] in ELEMENTS for r in RECORDS if r["theme"] == theme), theme
    assert any(r["created"] is None for r in RECORDS)
    assert EVALUATED not in "".join(str(r["created"]) + r["summary"] for r in RECORDS)


# --- the build ----------------------------------------------------------------------------------
def _build(root: Path, strip_csp: bool) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    (data / "taxonomy.toml").write_text(TAXONOMY_TEXT, encoding="utf-8")
    (data / "signals.jsonl").write_text(jsonl(RECORDS), encoding="utf-8")
    memo = root / "memo"
    memo.mkdir()
    (memo / "index.md").write_text(MEMO, encoding="utf-8")
    templates = BUILTIN_TEMPLATES
    if strip_csp:
        templates = root / "templates"
        shutil.copytree(BUILTIN_TEMPLATES, templates)
        base = templates / "base.html"
        text, removed = CSP_META.subn("", base.read_text(encoding="utf-8"))
        assert removed == 1, "base.html no longer has the Content-Security-Policy meta tag this test removes"
        base.write_text(text, encoding="utf-8")
    out = root / "site"
    build(Project(data=data, memo=memo, templates=templates, out=out))
    return out


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile dataset built with the project's own templates."""
    return _build(tmp_path_factory.mktemp("xss"), strip_csp=False)


@pytest.fixture(scope="module")
def hostile_site_without_csp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same dataset built with templates whose Content-Security-Policy is removed."""
    return _build(tmp_path_factory.mktemp("xss-no-csp"), strip_csp=True)


@pytest.fixture(scope="module", params=["with-csp", "without-csp"])
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    """Serve one of the two builds on 127.0.0.1 and yield its base URL (ending in /)."""
    folder = request.getfixturevalue("hostile_site" if request.param == "with-csp" else "hostile_site_without_csp")
    with serve(folder) as url:
        yield url


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _expected(group: str) -> list[dict[str, Any]]:
    """The records a theme page, a phase page or a drill lists (``phase:Id`` or a theme id)."""
    if group.startswith("phase:"):
        return [r for r in RECORDS if r["phase"] == group[len("phase:"):]]
    return [r for r in RECORDS if r["theme"] == group]


def _finds(record: dict[str, Any], needle: str) -> bool:
    return any(needle.lower() in record[key].lower() for key in ("title", "summary", "community"))


# --- the static HTML, read without a browser ----------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.children = tag, attrs, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[_Node]:
        yield self
        for child in self.children:
            if isinstance(child, _Node):
                yield from child.walk()

    def find(self, tag: str, cls: str) -> list[_Node]:
        return [n for n in self.walk() if n.tag == tag and cls in (n.attrs.get("class") or "").split()]


class _Tree(HTMLParser):
    """A small DOM of a page as html.parser reads it: entities decoded, as a browser would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {})
        self.stack = [self.root]
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _tree(path: Path) -> _Tree:
    tree = _Tree()
    tree.feed(path.read_text(encoding="utf-8"))
    tree.close()
    return tree


def test_the_hostile_dataset_builds_every_page(hostile_site: Path) -> None:
    assert (hostile_site / "index.html").is_file()
    assert sorted(p.stem for p in (hostile_site / "themes").glob("*.html")) == sorted(THEMES)
    assert sorted(p.stem for p in (hostile_site / "phases").glob("*.html")) == sorted(PHASES)
    assert sorted(p.stem for p in (hostile_site / "data" / "themes").glob("*.json")) == sorted(THEMES)


def test_no_html_file_holds_a_hostile_string_unescaped(hostile_site: Path, hostile_site_without_csp: Path) -> None:
    for site in (hostile_site, hostile_site_without_csp):
        for path in _pages(site):
            html = path.read_text(encoding="utf-8")
            for text in MARKUP:
                assert text not in html, f"{path.relative_to(site)} holds {text!r} unescaped"
            for fragment in ("<script>alert", "<img", "<iframe", "<svg onload", "<textarea", "<b id=injected"):
                assert fragment not in html, f"{path.relative_to(site)} holds {fragment!r}"
            # An event handler's name only ever appears in text: after a '>' and before the next '<'.
            for match in re.finditer(r"on(error|load|mouseover)=", html):
                before = html[: match.start()]
                assert before.rfind(">") > before.rfind("<"), (
                    f"{path.relative_to(site)}: {html[max(0, match.start() - 60): match.end() + 20]!r}")


def test_no_html_file_has_an_injected_element_or_attribute(hostile_site: Path) -> None:
    for path in _pages(hostile_site):
        tree = _tree(path)
        where = path.relative_to(hostile_site).as_posix()
        assert not any("unclosed comment" in comment for comment in tree.comments), where
        scripts = [n.attrs.get("src") for n in tree.root.walk() if n.tag == "script"]
        assert scripts == (["assets/drill.js"] if where == "index.html" else []), where
        for node in tree.root.walk():
            assert node.tag not in ("img", "iframe", "object", "embed", "textarea", "style", "frame", "math"), (
                where, node.tag, node.attrs)
            assert node.attrs.get("id") != "injected", where
            handlers = [name for name in node.attrs if name.startswith("on")]
            assert not handlers, (where, node.tag, node.attrs)
            for name in ("href", "src", "action", "formaction", "xlink:href"):
                value = (node.attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (where, node.tag, node.attrs)
        # The hostile phrases are not evaluated: no template output where a template was written.
        for post_list in tree.root.find("ol", "post-list"):
            assert EVALUATED not in post_list.text(), where


@pytest.mark.parametrize("group", [*THEMES, *(f"phase:{p}" for p in PHASES)])
def test_theme_and_phase_pages_show_each_field_verbatim(hostile_site: Path, group: str) -> None:
    path = (hostile_site / "phases" / f"{group[6:]}.html") if group.startswith("phase:") else (
        hostile_site / "themes" / f"{group}.html")
    tree = _tree(path)
    posts = [n for n in tree.root.find("li", "post") if "data-id" in n.attrs]
    assert sorted(n.attrs["data-id"] for n in posts) == sorted(r["id"] for r in _expected(group))
    for node in posts:
        record = BY_ID[node.attrs["data-id"]]
        [title] = node.find("h2", "post-title")
        [link] = [n for n in title.walk() if n.tag == "a"]
        assert link.text() == record["title"]
        assert link.attrs["href"] == record["url"]
        assert link.attrs["rel"] == "noopener noreferrer nofollow ugc"
        [community] = node.find("span", "community")
        assert community.text() == record["community"]
        [summary] = node.find("p", "post-summary")
        assert summary.text() == record["summary"]
        [source] = node.find("span", "source")
        assert source.text() == SOURCE_LABELS[record["source"]]


def _top_communities(theme: str) -> str:
    counted = Counter(r["community"] for r in RECORDS if r["theme"] == theme)
    top = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:3]
    return "Top: " + ", ".join(f"{community} ({count})" for community, count in top)


def test_the_memo_cards_show_community_names_verbatim(hostile_site: Path) -> None:
    tree = _tree(hostile_site / "index.html")
    cards = {n.attrs["data-theme"]: n for n in tree.root.find("li", "card")}
    assert sorted(cards) == sorted(THEMES)
    for theme, card in cards.items():
        [line] = card.find("p", "card-communities")
        assert line.text() == _top_communities(theme), theme


def test_signals_csv_keeps_the_text_verbatim(hostile_site: Path) -> None:
    with (hostile_site / "data" / "signals.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["id"] for row in rows) == sorted(BY_ID)
    for row in rows:
        record = BY_ID[row["id"]]
        for field in ("url", "title", "summary", "community"):
            assert row[field] == record[field], (row["id"], field)


def test_theme_json_keeps_the_text_verbatim(hostile_site: Path) -> None:
    for theme in THEMES:
        data = json.loads((hostile_site / "data" / "themes" / f"{theme}.json").read_text(encoding="utf-8"))
        assert data["count"] == len(data["posts"]) == len(_expected(theme))
        for post in data["posts"]:
            record = BY_ID[post["id"]]
            for field in ("url", "title", "summary", "community", "created"):
                assert post[field] == record[field], (theme, post["id"], field)
    stats = json.loads((hostile_site / "data" / "stats.json").read_text(encoding="utf-8"))
    for theme in stats["themes"]:
        listed = "Top: " + ", ".join(f"{c['community']} ({c['count']})" for c in theme["top_communities"])
        assert listed == _top_communities(theme["id"]), theme["id"]


# --- in Chromium --------------------------------------------------------------------------------
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.effectiveDirective + " " + event.blockedURI);
});
"""

SUSPECTS = """
(scope) => {
  const found = [];
  for (const root of document.querySelectorAll(scope)) {
    for (const node of [root, ...root.querySelectorAll("*")]) {
      const tag = node.localName;
      // The drill's own post card, which it clones: the one template the page itself holds.
      if (tag === "template" && node.id === "drill-post" && node.parentElement.id === "drill") { continue; }
      if (["img", "iframe", "object", "embed", "frame", "textarea", "style", "math", "script",
           "template", "base"].includes(tag) || (tag === "svg" && node.hasAttribute("onload"))) {
        found.push(tag);
      }
      for (const attr of node.attributes) {
        const value = attr.value.trim().toLowerCase();
        if (attr.name.startsWith("on")) { found.push(tag + "[" + attr.name + "]"); }
        if (["href", "src", "action", "formaction"].includes(attr.name) && value.startsWith("javascript:")) {
          found.push(tag + "[" + attr.name + "=" + attr.value + "]");
        }
      }
    }
  }
  if (document.getElementById("injected")) { found.push("#injected"); }
  return found;
}
"""


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    """A page that records every dialog (and dismisses it) and every Content-Security-Policy violation."""
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script(WATCH)
    page.set_default_timeout(10_000)
    return page, dialogs


def assert_inert(page: Page, dialogs: list[str], own_script: bool) -> None:
    """Nothing ran and nothing was injected: no dialog, no blocked script, no stray element or handler."""
    page.wait_for_load_state("load")
    assert dialogs == [], dialogs
    violations = page.evaluate("window.__violations")  # None would mean the watcher never ran
    assert violations == [], violations
    scripts = page.evaluate("Array.from(document.scripts, s => s.getAttribute('src'))")
    assert scripts == (["assets/drill.js"] if own_script else []), scripts
    assert page.evaluate(SUSPECTS, "main, #drill, header, nav, footer") == []
    assert page.evaluate("Array.from(document.querySelectorAll('*')).filter("
                         "n => Array.from(n.attributes).some(a => a.name.startsWith('on'))).length") == 0


def _posts_on_page(page: Page) -> list[tuple[str, str, str, str]]:
    rows = []
    for item in page.locator("main li.post").all():
        link = item.locator(".post-title a")
        rows.append((link.text_content(), link.get_attribute("href"),
                     item.locator(".community").text_content(), item.locator(".post-summary").text_content()))
    return sorted(rows)


@pytest.mark.browser
def test_the_memo_renders_hostile_community_names_as_text(watched, served: str) -> None:
    page, dialogs = watched
    page.goto(served + "index.html")
    expect(page.locator("li.card")).to_have_count(len(THEMES))
    assert_inert(page, dialogs, own_script=True)
    for theme in THEMES:
        card = page.locator(f'li.card[data-theme="{theme}"] .card-communities')
        expect(card).to_have_text(_top_communities(theme), use_inner_text=True)
    text = page.locator("main").inner_text()
    for community in {r["community"] for r in RECORDS}:
        assert community in text, community
    assert SCRIPT in text and JINJA in text and ENTITIES in text


@pytest.mark.browser
@pytest.mark.parametrize("group", [*THEMES, *(f"phase:{p}" for p in PHASES)])
def test_theme_and_phase_pages_render_hostile_text_inert(watched, served: str, group: str) -> None:
    page, dialogs = watched
    path = f"phases/{group[6:]}.html" if group.startswith("phase:") else f"themes/{group}.html"
    page.goto(served + path)
    expected = _expected(group)
    expect(page.locator("main li.post")).to_have_count(len(expected))
    assert_inert(page, dialogs, own_script=False)
    assert _posts_on_page(page) == sorted((r["title"], r["url"], r["community"], r["summary"]) for r in expected)
    for href in page.locator("main li.post a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert re.match(r"^https?://", href), href
    text = page.locator("main").inner_text()
    for record in expected:
        assert record["title"] in text and record["summary"] in text and record["community"] in text
    assert EVALUATED not in page.locator("main ol.post-list").inner_text()


def _drill_rows(page: Page) -> list[tuple[str, str, str, str]]:
    rows = []
    for item in page.locator("#drill .drill-list > li").all():
        link = item.locator(".post-title a")
        rows.append((link.text_content(), link.get_attribute("href"),
                     item.locator(".post-meta").text_content(), item.locator(".post-summary").text_content()))
    return sorted(rows)


def _drill_expected(records: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return sorted((r["title"], r["url"],
                   f"{SOURCE_LABELS[r['source']]} · {r['community']} · {urlsplit(r['url']).hostname} · "
                   f"{r['created'] or 'date unknown'}",
                   r["summary"]) for r in records)


@pytest.mark.browser
@pytest.mark.parametrize("group", [*THEMES, *(f"phase:{p}" for p in PHASES)])
def test_the_drill_renders_hostile_text_inert_and_highlights_it_safely(watched, served: str, group: str) -> None:
    page, dialogs = watched
    expected = _expected(group)
    page.goto(served + f"index.html#drill={group}")
    page.wait_for_selector("#drill .drill-list li")
    expect(page.locator("#drill")).to_have_js_property("open", True)
    items = page.locator("#drill .drill-list > li")
    expect(items).to_have_count(len(expected))
    assert_inert(page, dialogs, own_script=True)
    assert _drill_rows(page) == _drill_expected(expected)
    hrefs = page.locator("#drill .drill-list a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(hrefs) == len(expected) and all(re.match(r"^https?://", href) for href in hrefs), hrefs
    listed = page.locator("#drill .drill-list").inner_text()
    assert SCRIPT in listed and EVALUATED not in listed

    # Search for text inside the hostile strings, so the highlighting splits them into marks.
    page.locator("#drill input[name=q]").fill(SEARCH)
    found = [r for r in expected if _finds(r, SEARCH)]
    assert found, "the fixture has no post the search finds"
    expect(items).to_have_count(len(found))
    marks = page.locator("#drill .drill-list mark").all_text_contents()
    assert marks and all(mark.lower() == SEARCH for mark in marks), marks
    assert _drill_rows(page) == _drill_expected(found)
    assert_inert(page, dialogs, own_script=True)
    assert SCRIPT in page.locator("#drill .drill-list").inner_text()


@pytest.mark.browser
def test_a_hostile_deep_link_stays_inert(watched, served: str) -> None:
    page, dialogs = watched
    # A search term from the URL goes into the search field as text, and matches the posts holding it.
    theme = next(r["theme"] for r in RECORDS if r["title"] == IMG)
    page.goto(served + f"index.html#drill={theme}&q={quote(IMG)}")
    expect(page.locator("#drill")).to_have_js_property("open", True)
    expect(page.locator("#drill input[name=q]")).to_have_value(IMG)
    found = [r for r in _expected(theme) if _finds(r, IMG)]
    expect(page.locator("#drill .drill-list > li")).to_have_count(len(found))
    expect(page.locator("#drill .drill-list mark").first).to_have_text(IMG)
    assert_inert(page, dialogs, own_script=True)

    # A drill key that names no card opens nothing.
    page.goto("about:blank")
    page.goto(served + f"index.html#drill={quote(SVG)}&source={quote(SCRIPT)}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#drill")).to_have_js_property("open", False)
    assert_inert(page, dialogs, own_script=True)
