"""Untrusted text from the sources as plain text (memokit/collect/plaintext.py), and collect.toml's
problems one line each (memokit/collect/config.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memokit.collect.config import read_config
from memokit.collect.plaintext import strip_html, strip_markdown, unescaped_line
from memokit.collect.run import ADAPTERS
from memokit.model.problems import Problems


@pytest.mark.parametrize(("html", "text"), [
    ("<p>a &amp; b</p><p>c</p>", "a & b\n\nc"),
    ("x &amp;lt;y&amp;gt;", "x &lt;y&gt;"),                       # decoded once, not twice
    ("<script>alert(1)</script>ok<style>p{}</style>", "ok"),
    ("if a < b and <|im_start|> then", "if a < b and <|im_start|> then"),  # a "<" that starts no tag is text
    ("before<!-- hidden", "before"),                               # an unclosed comment hides the rest
    ("<a href='x'>link</a>&nbsp;text\u202e\u200b", "link text"),
    ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
])
def test_html_becomes_plain_text(html: str, text: str) -> None:
    assert strip_html(html) == text


@pytest.mark.parametrize(("markdown", "text"), [
    ("# Title #\n\n**bold** and _em_ and ~~gone~~", "Title\n\nbold and em and gone"),
    ("see [docs](https://x.org) and ![img](a.png)", "see docs and img"),
    ("```\n<s> **kept** </s>\n```", "<s> **kept** </s>"),
    ("`<b>` stays, <b>this</b> goes", "<b> stays, this goes"),
    ("> quoted\n- item\n1. one", "quoted\nitem\none"),
    (r"\*not emphasis\*", "*not emphasis*"),
])
def test_markdown_becomes_plain_text(markdown: str, text: str) -> None:
    assert strip_markdown(markdown) == text


def test_reddit_markdown_has_no_html_inside() -> None:
    assert strip_markdown("a <b>b</b>", html_inside=False) == "a <b>b</b>"


def test_titles_sent_escaped_are_decoded_once_on_one_line() -> None:
    assert unescaped_line("Why doesn&#39;t\nit &amp;amp; work") == "Why doesn't it &amp; work"


@pytest.mark.parametrize("hostile", ["<a " * 20_000, "<!--" * 20_000, "[" * 20_000 + "](", "**a" * 20_000,
                                     "`" * 20_000, "<" + "a" * 100_000])
def test_hostile_input_is_stripped_in_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    strip_html(hostile)
    strip_markdown(hostile)
    assert time.perf_counter() - started < 2.0


# --- collect.toml ---------------------------------------------------------------------------------


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "collect.toml"
    path.write_text(text, encoding="utf-8")
    problems = Problems()
    config = read_config(path, ADAPTERS, problems)
    assert (config is None) == bool(problems.items)
    return [str(p).removeprefix(f"{path}:") for p in problems.items]


@pytest.mark.parametrize(("text", "expected"), [
    ('[[sources]]\nkind = "github"\nquery = "x"\nlimit = 5\n',
     ["4: sources[1].limit: unknown key for a github source; expected one of: kind, query, since, base_url, source"]),
    ('[[sources]]\nkind = "github"\nquery = 5\n', ["3: sources[1].query: expected a string in quotes, got int 5"]),
    ('[[sources]]\nkind = "hackernews"\nquery = "x"\nbase_url = "ftp://x.org"\n',
     ["4: sources[1].base_url: expected an http(s) URL such as https://example.org, got 'ftp://x.org'"]),
    ('[[sources]]\nkind = "hackernews"\nquery = "x"\nsort = "best"\n',
     ["4: sources[1].sort: expected one of: date, relevance; got 'best'"]),
    ('[[sources]]\nkind = "hackernews"\nquery = "x"\n\n[[sources]]\nkind = "hackernews"\nquery = "x"\n',
     ["5: sources[2]: the same source and query as sources[1]"]),
    ('[[sources]]\nkind = "discourse"\nquery = "x after:2024-01-01"\nforum = "https://d.org"\n',
     ['3: sources[1].query: remove after:, before: and order:: memokit adds them itself (use since = "YYYY-MM-DD")']),
    ('[[sources]]\nkind = "reddit"\nquery = "x"\nsubreddit = "r/no spaces"\n',
     ["4: sources[1].subreddit: expected a subreddit's name such as LocalLLaMA, got 'r/no spaces'"]),
    ('[[sources]]\nkind = "github"\nquery = "' + "x" * 206 + '"\n',
     ["3: sources[1].query: at most 205 characters (GitHub takes 256, and memokit adds a 51-character date range); "
      "this one has 206"]),
    ('sources = "github"\n', ["1: sources: expected one or more [[sources]] tables, each with a kind and a query"]),
    ('[[sources]\nkind = "github"\n', ["1: invalid TOML: Expected ']]' at the end of an array declaration (column 10)"]),
    ('token = "abc"\n[[sources]]\nkind = "github"\nquery = "x"\n',
     ["1: token: unknown key; expected 'contact' or [[sources]] tables"]),
])
def test_each_problem_of_collect_toml_is_one_line_with_its_line_and_field(tmp_path: Path, text: str,
                                                                           expected: list[str]) -> None:
    assert problems_of(tmp_path, text) == expected


def test_a_good_collect_toml_reads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "collect.toml"
    path.write_text('[[sources]]\nkind = "stackexchange"\nquery = "lora"\nsite = "datascience"\n\n'
                    '[[sources]]\nkind = "hackernews"\nquery = "lora"\n', encoding="utf-8")
    problems = Problems()
    config = read_config(path, ADAPTERS, problems)
    assert config is not None and not problems.items
    se, hn = config.sources
    assert se.source == "datascience" and se.options == {"site": "datascience"} and se.line == 1
    assert hn.source == "hackernews" and hn.options == {"tags": "story", "sort": "date"} and hn.line == 6
