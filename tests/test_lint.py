"""The hand-typed number lint: exactly which numbers in prose are flagged."""

from __future__ import annotations

import pytest

from memokit.build.lint import lint_text


def flagged(text: str, heading: bool = False) -> list[str]:
    return [found for _, _, found in lint_text(text, heading=heading)]


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
    "the `42` in code",
    "a [link](https://example.com/89%25/2562) here",
    "<span data-x=\"42\">text</span>",
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
