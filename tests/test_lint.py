"""The hand-typed number lint: exactly which numbers in prose are flagged."""

from __future__ import annotations

import pytest

from memokit.build.lint import candidates, hand_typed, lint_text
from memokit.build.prose import analyse


def flagged(text: str, heading: bool = False) -> list[str]:
    return [found for _, _, found in lint_text(text, heading=heading)]


def flagged_in(markdown: str) -> list[tuple[int, str]]:
    """The hand-typed numbers of a Markdown body, as ``(line, text)``, placed by the parser."""
    return [(spot.line, spot.text) for spot in hand_typed(analyse(markdown, 1, candidates))]


@pytest.mark.parametrize("text, expected", [
    ("About 89% of posts", ["89%"]),
    ("About 89 % of posts", ["89 %"]),
    ("About 89 percent of posts", ["89 percent"]),
    ("Some 12.5 per cent", ["12.5 per cent"]),
    ("Roughly ten percent", ["ten percent"]),
    ("We read 2,562 signals", ["2,562"]),
    ("We read 498 signals.", ["498"]),
    ("Over 2.5k posts and 1.2M views", ["2.5k", "1.2M"]),
    ("It took 3x longer", ["3x"]),
    ("Some two thousand posts", ["two thousand"]),
    ("Four coders agreed", ["Four"]),
    ("Hundreds of posts", ["Hundreds"]),
    ("3 in 5 developers", ["3 in 5"]),
    ("1 out of 4 runs", ["1 out of 4"]),
    ("one in four developers", ["one in four"]),
    ("half of the posts", ["half of"]),
    ("two thirds of the posts", ["two thirds of"]),
    ("the 3rd largest theme", ["3rd"]),
    ("Of 498 posts, most", ["498"]),
    ("Llama 3 starts this line", ["3"]),
])
def test_hand_typed_numbers_are_flagged(text: str, expected: list[str]) -> None:
    assert flagged(text) == expected


@pytest.mark.parametrize("text", [
    "In 2024 and 1999, nothing",
    "Posted on 2024-01-16, or on March 3, or 3 March",
    "Runs with Python 3.11, Llama 3 and Gemma 2 on v2.1 and 1.2.3",
    "Qwen2.5 at 7B on an H100",
    "See #871 for details",
    "A one-line summary of one post",
    "the {{ share(\"regression\") }} of posts and {{ n }} more",
    "a [link](https://example.com/89%25/2562) here",
    "see https://example.com/2562 for more",
    "1. an ordered list item",
    "the 95% interval and a 90% CI",
    '{{ fact("29.5%", source="Survey") }} of respondents',
])
def test_names_dates_versions_code_and_links_are_not_flagged(text: str) -> None:
    assert flagged(text) == []


def test_headings_may_number_and_order_but_not_state_shares() -> None:
    assert flagged("## 1. Scope", heading=True) == []
    assert flagged("## The 2nd round", heading=True) == []
    assert flagged("## 62% of feedback is about evaluation", heading=True) == ["62%"]


def test_columns_point_at_the_number() -> None:
    [(column, kind, text)] = lint_text("We read 498 posts")
    assert (column, kind, text) == (9, "count", "498")


@pytest.mark.parametrize("markdown", [
    "the `42` in code and ``a `7` here``",
    "a [link](faq.html#section-42) and ![](chart-2562.png)",
    '<span data-x="42">text</span>',
    "<!-- 89% in a comment -->",
    "```\nresults = 42\n```",
    "~~~~ python\ntotal = 2,562\n~~~~",
    "Some text.\n\n    results = 42\n    share = 89%\n\nMore text.",
    "- an item\n\n        indented code in a list: 42\n\n- another",
    "1. first\n2. second\n\n    ```\n    x = 89%\n    ```",
    ">     code in a blockquote: 42",
    "> ```\n> fenced in a blockquote: 89%\n> ```",
    "<pre>\nraw HTML code: 42\n</pre>",
    "<div><code>98%</code></div>",
    "[an id]: https://example.com/2562\n\nsee [this][an id]",
])
def test_code_link_targets_markup_and_comments_are_not_prose(markdown: str) -> None:
    assert flagged_in(markdown) == []


@pytest.mark.parametrize("markdown, expected", [
    ("Prose 42 here.\n\n    code 43", [(1, "42")]),
    ("- a list item with 89% in its text", [(1, "89%")]),
    ("> a quote with 2,562 posts", [(1, "2,562")]),
    ("| theme | share |\n|---|---|\n| evals | 22% |", [(3, "22%")]),
    ("<div>\nraw HTML text says 89%\n</div>", [(2, "89%")]),
    ("![a chart of 89% of posts](chart.png)", [(1, "89%")]),
    ('[a link](faq.html "a title with 42 posts")', [(1, "42")]),
    ("The 2nd round\n=============", []),
    ("## 1. Scope\n\nthe 2nd largest", [(3, "2nd")]),
    ("A line\n    continued 42 lazily", [(2, "42")]),  # a paragraph's continuation is not code
])
def test_prose_is_what_the_parser_renders_as_text(markdown: str, expected: list[tuple[int, str]]) -> None:
    assert flagged_in(markdown) == expected
