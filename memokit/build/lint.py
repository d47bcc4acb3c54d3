"""The hand-typed number lint: a number in the prose that no binding computed fails the build.

What is flagged, in the prose as the Markdown parser sees it (not in code of any kind, link
targets, markup or comments: see ``memokit.build.prose``), outside ``{{ … }}`` and bare URLs:

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
from dataclasses import dataclass
from pathlib import Path

from ..model import Page, printable
from .prose import HEADING, Analysis, Spot, find_bindings

# Every pattern here runs in linear time on any line (tests/test_linear.py feeds each adversarial
# input of growing length): alternatives never overlap inside a repetition, nothing that can fail
# follows a run that is taken whole, and nothing searches a growing prefix. (No possessive
# quantifiers: Python 3.11.2 gets some of them wrong.)
_ONE = "one"
_SMALL_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_BIG_WORDS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundreds", "hundred",
              "thousands", "thousand", "millions", "million", "billions", "billion", "dozens", "dozen")


def _words(words: tuple[str, ...]) -> str:
    """One word of ``words``, whole: the longest first, so "sixteen" is never read as "six"."""
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"


_WORD = _words((_ONE, *_SMALL_WORDS, *_BIG_WORDS))
_SMALL = _words((_ONE, *_SMALL_WORDS))
_MONTHS = _words(("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
                  "Nov", "Dec"))

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
#: A maximal run of number words ("two thousand", "twenty-one"), classified in Python.
_WORD_RUN = re.compile(rf"\b{_WORD}(?:[\s-]+{_WORD})*", re.I)
_PERCENT_AFTER = re.compile(r"\s+(?:percent|per\s+cent)\b", re.I)
_PATTERNS = (
    ("percentage", re.compile(rf"(?<![\w.,])(?:{_NUMBER})\s?(?:%|percent\b|per\s+cent\b|pct\b)", re.I)),
    ("ratio", re.compile(rf"(?<![\w.,])(?:\d+|{_SMALL})\s+(?:in|out\s+of)\s+(?:\d[\d,]*|{_WORD})\b", re.I)),
    ("ratio", re.compile(r"\b(?:half|(?:a|one|two)[\s-]+(?:thirds?|quarters?|fifths?)|three[\s-]+quarters)\s+of\b",
                         re.I)),
    ("count", re.compile(rf"(?<![\w.,#/:-])(?:{_NUMBER})(?:[kKmMx×]|st|nd|rd|th)?(?![\w%])")),
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
# Text that is never a hand-typed number wherever it stands. Which text is code, a link target or
# markup is not decided here: the Markdown parser decides that (``memokit.build.prose``).
_MASKS = (
    re.compile(r"\]\[[^\]]*\]|^\s*\[(?!\^)[^\]]+\]:.*$"),  # reference-link labels and their definitions
    re.compile(r"\[\^[^\]\s\[]+\]"),                  # footnote labels
    re.compile(r"\bhttps?://\S+"),                    # bare URLs
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),             # ISO dates
    re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}"),
    re.compile(r"(?<![\w.])v\d+(?:\.\d+)*\b|\b\d+(?:\.\d+){2,}\b"),  # version numbers
    re.compile(r"#\d+\b"),                            # issue and PR references
    re.compile(r"\b\d+(?:\.\d+)?\s?%\s+(?=(?:confidence|credible|CI\b|interval))", re.I),  # confidence levels
)
_LIST_MARKER = re.compile(r"^(\s*(?:>\s*)*)\d+[.)](?=\s)")
# Where a heading's text starts: a section number there is allowed (``## 1. Scope``, ``## 2.1 Method``).
_HEADING_START = re.compile(r"\s{0,3}#{0,6}\s*")
_SECTION_NUMBER = re.compile(r"\d+(?:\.\d+)*[.)]?(?=\s|$)")
_LETTERS = re.compile(r"[A-Za-z]+")
_SENTENCE_END = frozenset(" \t\n.!?:;")


@dataclass(frozen=True)
class Finding:
    """A hand-typed number in the prose."""

    path: Path
    line: int
    column: int
    kind: str
    text: str

    def __str__(self) -> str:
        return printable(f"{self.path}:{self.line}:{self.column}: hand-typed {self.kind} {self.text!r}: "
                         "bind it to the data ({{ … }}) or cite it as a fact ({{ fact(\"…\", source=\"…\") }})")


def candidates(text: str) -> list[tuple[int, int, str, bool]]:
    """Return ``(start, end, kind, heading_exempt)`` for each number in one line of text that the
    lint flags in prose; ``heading_exempt`` marks those a heading may hold (a leading section
    number, an ordinal). Whether the line is prose at all is for the Markdown parser to say."""
    masked = _mask(text)
    taken = bytearray(len(masked))  # characters an earlier finding holds: later ones may not overlap
    found: list[tuple[int, int, str, bool]] = []

    def add(start: int, end: int, kind: str, exempt: bool = False) -> None:
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            found.append((start, end, kind, exempt))

    head = _HEADING_START.match(masked)
    heading_start = head.end() if head else 0
    runs = [(m.start(), m.end()) for m in _WORD_RUN.finditer(masked)]
    for start, end in runs:  # "ten percent", "two thousand per cent"
        after = _PERCENT_AFTER.match(masked, end)
        if after:
            add(start, after.end(), "percentage")
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(masked):
            start, end = match.span()
            word = match.group(0)
            exempt = False
            if kind == "count":
                if _YEAR.match(word) or _name_before(masked, start):
                    continue
                exempt = bool(_ORDINAL.match(word)) or (start == heading_start and bool(_SECTION_NUMBER.match(masked, start)))
            add(start, end, kind, exempt)
    for start, end in runs:  # "two thousand", "Four coders", "hundreds of"; a lone "one" is no count
        begin = _count_start(masked, start, end)
        if begin is not None:
            add(begin, end, "count")
    return sorted(found)


def _mask(text: str) -> str:
    """Blank out (with spaces of the same length) what is never a hand-typed number."""
    pieces: list[str] = []
    at = 0
    for start, end, _ in find_bindings(text):  # bindings and facts, in plain front-matter text
        pieces.extend((text[at:start], " " * (end - start)))
        at = end
    masked = "".join(pieces) + text[at:]
    for mask in _MASKS:
        masked = mask.sub(lambda m: " " * len(m.group(0)), masked)
    return _LIST_MARKER.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), masked)


def _count_start(masked: str, start: int, end: int) -> int | None:
    """Where a run of number words starts to count: at its first word that is not "one", or at a
    "one" that another number word follows ("one hundred"); None for "one" alone."""
    words = [(m.start(), m.end()) for m in _LETTERS.finditer(masked, start, end)]
    for index, (a, b) in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if masked[a:b].lower() != _ONE or (following and masked[following[0]:following[1]].lower() != _ONE):
            return a
    return None


def _name_before(masked: str, start: int) -> bool:
    """True if a capitalised word stands right before ``start`` (``Llama 3``, ``Python 3.11``) and
    does not itself begin the line or a sentence: then the number is part of a name."""
    at = start
    while at > 0 and masked[at - 1].isspace():
        at -= 1
    if at == start:
        return False
    word_end = at
    while at > 0 and not masked[at - 1].isspace():
        at -= 1
    word = masked[at:word_end].strip("*_")
    if not word or not word[0].isupper() or not (word[0].isascii() and word[0].isalpha()):
        return False
    if not all(c.isalnum() or c in "._+-" for c in word):
        return False
    before = at
    while before > 0 and masked[before - 1].isspace():
        before -= 1
    return before < at and before > 0 and masked[before - 1] not in _SENTENCE_END


def lint_text(text: str, heading: bool = False) -> list[tuple[int, str, str]]:
    """Return ``(column, kind, text)`` for each hand-typed number in one line of plain text (a
    title, a label, a claim's sentence), or of a heading if ``heading``."""
    return [(start + 1, kind, text[start:end]) for start, end, kind, exempt in candidates(text)
            if not (heading and exempt)]


def hand_typed(analysis: Analysis) -> list[Spot]:
    """Return the candidate numbers a reader sees as prose: in text, in a heading (unless a heading
    may hold them) or in an attribute read aloud or on hover (alt text, a title)."""
    found = []
    for spot in analysis.numbers:
        shown = tuple(c for c in spot.contexts if not (c == HEADING and spot.heading_exempt))
        if Spot(spot.line, spot.column, spot.text, shown).read:
            found.append(spot)
    return found


def lint_page(page: Page, analysis: Analysis) -> list[Finding]:
    """Return every hand-typed number in the page's prose (as placed by the Markdown parser:
    ``analysis``) and in the front matter a reader sees."""
    findings = [Finding(page.path, spot.line, spot.column, spot.kind, spot.text) for spot in hand_typed(analysis)]
    meta = page.meta
    shown_text = [meta.title, meta.subtitle, meta.description, meta.nav_title,
                  *(item.label for item in meta.headline), *(item.caveat for item in meta.headline),
                  *(claim.sentence for claim in meta.claims)]
    for value in shown_text:
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
