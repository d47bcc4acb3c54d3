"""The hand-typed number lint: a number in the prose that no binding computed fails the build.

What is flagged, on prose lines outside ``{{ … }}``, code spans, fenced code, link targets,
raw HTML tags and bare URLs:

- percentages: ``89%``, ``89 %``, ``89 percent``, ``12.5 per cent``, ``ten percent``;
- ratios: ``3 in 5``, ``1 out of 4``, ``one in four``, ``half of``, ``a third of``, ``two thirds of``;
- counts in digits: ``2,562``, ``498``, ``2.5k``, ``1.2M``, ``3x``, and ordinals such as ``3rd``;
- counts in words: ``two`` to ``twenty``, the tens, ``hundred``, ``thousand``, ``million``,
  ``billion``, ``dozen`` (and their plurals), e.g. ``two thousand``, ``four coders``.

Not flagged: confidence levels (``95% interval``, ``95% CI``), years (1900–2099), dates (``2024-01-16``, ``March 3``), version numbers and
numbered names (``v2``, ``1.2.3``, ``Python 3.11``, ``Llama 3``: a number right after a
capitalised word that does not start a sentence), numbers joined to letters (``Qwen2.5``,
``7B``, ``H100``), references (``#871``), ordered-list markers, and in headings a leading
number (``## 1. Scope``) and ordinals (``## 2nd round``). A number the memo must state although
the data cannot compute it is written as an outside fact with its source:
``{{ fact("29.5%", source="…", url="https://…") }}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..model import Page

_SMALL = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
          "sixteen|seventeen|eighteen|nineteen|twenty")
_COUNT_WORDS = ("two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
                "ninety|hundreds?|thousands?|millions?|billions?|dozens?")
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PATTERNS = (
    ("percentage", re.compile(rf"(?<![\w.,])(?:{_NUMBER})\s?(?:%|percent\b|per\s+cent\b|pct\b)", re.I)),
    ("percentage", re.compile(rf"\b(?:{_SMALL}|{_COUNT_WORDS})(?:[\s-]+(?:{_SMALL}|{_COUNT_WORDS}))*\s+"
                              r"(?:percent|per\s+cent)\b", re.I)),
    ("ratio", re.compile(rf"(?<![\w.,])(?:\d+|{_SMALL})\s+(?:in|out\s+of)\s+(?:\d[\d,]*|{_SMALL}|{_COUNT_WORDS})\b",
                         re.I)),
    ("ratio", re.compile(r"\b(?:half|(?:a|one|two)[\s-]+(?:thirds?|quarters?|fifths?)|three[\s-]+quarters)\s+of\b",
                         re.I)),
    ("count", re.compile(rf"(?<![\w.,#/:-])(?:{_NUMBER})(?:[kKmMx×]|st|nd|rd|th)?(?![\w%])")),
    ("count", re.compile(rf"\b(?:(?:{_COUNT_WORDS})|(?:{_SMALL})(?=[\s-]+(?:{_COUNT_WORDS})\b))"
                         rf"(?:[\s-]+(?:{_SMALL}|{_COUNT_WORDS}))*\b", re.I)),
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
_MASKS = (
    re.compile(r"\{\{.*?\}\}"),                      # bindings and facts
    re.compile(r"(`+).+?\1"),                         # code spans
    re.compile(r"\]\([^)]*\)"),                       # link targets
    re.compile(r"\]\[[^\]]*\]|^\s*\[[^\]]+\]:.*$"),   # reference links and their definitions
    re.compile(r"<[^>\n]*>"),                         # raw HTML tags and autolinks
    re.compile(r"\bhttps?://\S+"),                    # bare URLs
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),             # ISO dates
    re.compile(rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b"),
    re.compile(r"(?<![\w.])v\d+(?:\.\d+)*\b|\b\d+(?:\.\d+){2,}\b"),  # version numbers
    re.compile(r"#\d+\b"),                            # issue and PR references
    re.compile(r"\b\d+(?:\.\d+)?\s?%\s+(?=(?:confidence|credible|CI\b|interval))", re.I),  # confidence levels
)
_LIST_MARKER = re.compile(r"^(\s*(?:>\s*)*)\d+[.)](?=\s)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_HEADING_NUMBER = re.compile(r"^(\s{0,3}#{1,6}\s+)\d+(?:\.\d+)*[.)]?(?=\s)")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# A capitalised word right before the number, itself not at the start of a line or sentence.
_NAME_BEFORE = re.compile(r"[^\s.!?:;]\s+[*_]*[A-Z][\w.+-]*[*_]*\s+$")


@dataclass(frozen=True)
class Finding:
    """A hand-typed number in the prose."""

    path: Path
    line: int
    column: int
    kind: str
    text: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}:{self.column}: hand-typed {self.kind} {self.text!r}: "
                "bind it to the data ({{ … }}) or cite it as a fact ({{ fact(\"…\", source=\"…\") }})")


def markdown_lines(body: str, first_line: int) -> Iterator[tuple[int, str, bool]]:
    """Yield ``(line number, text, in fenced code)`` for each line of a Markdown body."""
    fence: str | None = None
    for offset, line in enumerate(body.split("\n")):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            yield first_line + offset, line, True
        elif opened:
            fence = opened.group(1)
            yield first_line + offset, line, True
        else:
            yield first_line + offset, line, False


def prose_lines(body: str, first_line: int) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` for each Markdown line outside fenced code."""
    return ((number, line) for number, line, code in markdown_lines(body, first_line) if not code)


def lint_text(text: str, heading: bool = False) -> list[tuple[int, str, str]]:
    """Return ``(column, kind, text)`` for each hand-typed number in one line of prose."""
    masked = text
    for mask in _MASKS:
        masked = mask.sub(lambda m: " " * len(m.group(0)), masked)
    masked = _LIST_MARKER.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), masked)
    if heading:
        masked = _HEADING_NUMBER.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), masked)
    found: list[tuple[int, int, str, str]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(masked):
            start, end = match.span()
            if any(a < end and start < b for a, b, _, _ in found):
                continue
            word = match.group(0)
            if kind == "count" and word[0].isdigit() and _exempt_digits(word, masked, start, heading):
                continue
            found.append((start, end, kind, text[start:end]))
    return [(start + 1, kind, word) for start, _, kind, word in sorted(found)]


def _exempt_digits(word: str, masked: str, start: int, heading: bool) -> bool:
    if _YEAR.match(word):
        return True
    if _ORDINAL.match(word):
        return heading
    return bool(_NAME_BEFORE.search(masked[:start]))


def lint_page(page: Page) -> list[Finding]:
    """Return every hand-typed number in the page's prose and in the front matter a reader sees."""
    findings = []
    for number, line in prose_lines(page.body, page.body_line):
        for column, kind, text in lint_text(line, heading=bool(_HEADING.match(line))):
            findings.append(Finding(page.path, number, column, kind, text))
    meta = page.meta
    shown = [meta.title, meta.subtitle, meta.description, meta.nav_title,
             *(item.label for item in meta.headline), *(claim.sentence for claim in meta.claims)]
    for value in shown:
        for column, kind, text in lint_text(value):
            at_line, at_column = _locate(page.front_matter, value, column)
            findings.append(Finding(page.path, at_line, at_column, kind, text))
    return findings


def _locate(raw: tuple[str, ...], value: str, column: int) -> tuple[int, int]:
    """Find where a front-matter value stands in the file (best effort: YAML may fold it)."""
    needle = value[: max(column + 10, 20)]
    for number, line in enumerate(raw, start=1):
        at = line.find(needle)
        if at >= 0:
            return number, at + column
    return 1, column
