"""Every regular expression that sees author or data text runs in linear time.

Each pattern is fed adversarial inputs (runs of number words, digits, separators, braces, brackets,
spaces: what makes a backtracking engine retry) of a length n and of 8n. Linear time makes the
longer input take about 8 times as long; quadratic about 64 times, exponential forever. The bound
is generous (the machine is shared and noisy) and is a ratio within one run, never a duration.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from memokit.build import lint, prose
from memokit.model import urls

#: Units repeated to build adversarial text; each is something some pattern starts or continues on.
UNITS = ["two ", "two-", "one ", "ten percent ", "1 ", "1,", "1.", "12,345 ", "{{ ", "{{ n }} ", "}} ", "March ",
         "3 March ", "a ", "half ", "1 in ", "one in ", "Llama 3 ", "## 1. ", "> ", "- ", "][", "[^", "[", "#1 ",
         "v1.", "https://", "95% ", "%", "  ", "\t", "x", "`", "*", "<"]
GROWTH = 8
#: Linear time gives about 8; the bound leaves room for a noisy machine, and none for quadratic time (64).
BOUND = 24


def _seconds(function: Callable[[str], object], text: str) -> float:
    """The time of one call, from enough calls to be measurable, best of two."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            function(text)
        spent = time.perf_counter() - started
        if spent > 0.002 or calls >= 4096:
            break
        calls *= 4
    started = time.perf_counter()
    for _ in range(calls):
        function(text)
    return min(spent, time.perf_counter() - started) / calls


def growth(function: Callable[[str], object], unit: str, *, size: int = 4000) -> float:
    """How much longer ``function`` takes on ``unit`` repeated to 8 times ``size`` characters than to
    ``size`` (4,000 to 32,000 by default: the long lines an author or a data file might hold)."""
    count = max(1, size // len(unit))
    small, large = unit * count + "x", unit * count * GROWTH + "x"
    ratio = _seconds(function, large) / _seconds(function, small)
    for _ in range(3):  # a busy machine can slow one measurement; quadratic time is slow every time
        if ratio < BOUND:
            break
        ratio = min(ratio, _seconds(function, large) / _seconds(function, small))
    return ratio


def _finditer(pattern: re.Pattern[str]) -> Callable[[str], object]:
    return lambda text: sum(1 for _ in pattern.finditer(text))


def _match_everywhere(pattern: re.Pattern[str]) -> Callable[[str], object]:
    # Patterns used with .match(text, position) at positions the lint chose; here at every one.
    return lambda text: sum(1 for at in range(0, len(text), max(1, len(text) // 64)) if pattern.match(text, at))


LINT_PATTERNS = {
    **{f"lint pattern {kind} {n}": _finditer(pattern) for n, (kind, pattern) in enumerate(lint._PATTERNS)},
    **{f"lint mask {n}": _finditer(pattern) for n, pattern in enumerate(lint._MASKS)},
    "lint word run": _finditer(lint._WORD_RUN),
    "lint percent after a run": _match_everywhere(lint._PERCENT_AFTER),
    "lint list marker": _finditer(lint._LIST_MARKER),
    "lint heading start": _match_everywhere(lint._HEADING_START),
    "lint section number": _match_everywhere(lint._SECTION_NUMBER),
    "lint letters": _finditer(lint._LETTERS),
    "prose placeholders": _finditer(prose._PLACEHOLDER),
}
WHOLE = {
    "the lint of one line": lint.candidates,
    "the lint of front-matter text": lint.lint_text,
    "finding bindings": lambda text: list(prose.find_bindings(text)),
    "the structure check": lambda text: prose.structure_problems(text, 1),
}


@pytest.mark.parametrize("name", sorted({**LINT_PATTERNS, **WHOLE}))
def test_each_pattern_the_lint_and_the_scanners_are_linear_on_adversarial_text(name: str) -> None:
    function = {**LINT_PATTERNS, **WHOLE}[name]
    ratios = {unit: growth(function, unit) for unit in UNITS}
    worst = max(ratios, key=ratios.__getitem__)
    assert ratios[worst] < BOUND, f"{name} on {worst!r} repeated: {ratios[worst]:.0f}x the time for {GROWTH}x the text"


def test_a_run_of_number_words_is_quick() -> None:
    # 22 words took 13 s (and each further word doubled it) when alternatives overlapped in a loop.
    started = time.perf_counter()
    assert lint.lint_text("two " * 200) == [(1, "count", ("two " * 200).rstrip())]
    assert time.perf_counter() - started < 5  # a hang, not a timing goal: linear takes milliseconds


@pytest.mark.parametrize("unit", ["1 ", "two ", "{{ n }} ", "`", "*a* ", "> ", "12,345 "])
def test_the_parser_placement_is_linear_within_the_limits(unit: str) -> None:
    ratio = growth(lambda text: prose.analyse(text, 1, lint.candidates), unit, size=400)
    assert ratio < BOUND, f"analyse on {unit!r} repeated: {ratio:.0f}x the time for {GROWTH}x the text"


@pytest.mark.parametrize("text", ["[" * 1001, "<a " * 1001, "![" * 1001, "[^" * 1001, "- " * 21 + "x",
                                  "> " * 21 + "x", "a\n" + "[" * 600 + "\n" + "[" * 600])
def test_what_markdown_would_read_slowly_is_refused_up_front(text: str) -> None:
    [(line, message)] = prose.structure_problems(text, 7)
    assert line in (7, 8) and ("more than 1,000" in message or "more than 20" in message)


def test_escaped_brackets_and_separate_blocks_are_within_the_limits() -> None:
    assert prose.structure_problems("\\[" * 2000, 1) == []
    assert prose.structure_problems("[" * 900 + "\n\n" + "[" * 900, 1) == []


@pytest.mark.parametrize("unit", ["a", "a.", "-", "/a", "?a", "#", "%", ":1"])
def test_url_checks_are_linear(unit: str) -> None:
    for prefix in ("https://", "https://example.com/", "http://a:"):
        ratio = growth(lambda text, prefix=prefix: urls.url_key(prefix + text), unit, size=240)  # at most 2,000
        assert ratio < BOUND, f"url_key({prefix!r} + {unit!r} * n): {ratio:.0f}x the time for {GROWTH}x the text"
