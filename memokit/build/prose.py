"""The memo's Markdown as its parser sees it: which bindings and numbers stand in prose.

Whether ``{{ n }}`` is a binding to evaluate or text to show as written, and whether ``42`` is a
hand-typed number or part of a code sample, is decided by Python-Markdown itself, not by a second
scanner guessing at its rules. Every ``{{ … }}`` and every number the lint would flag is replaced
by an inert placeholder (private-use characters, which Markdown treats as ordinary text), the page
is rendered once, and the placeholders are looked up in the HTML the parser produced: in text, in
a heading, in code (``<code>``, ``<pre>``: fenced, indented and inline code, and code inside raw
HTML), in an attribute (a link target, an image's alt text), or nowhere visible (an HTML comment,
a link definition).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import markdown

#: The Markdown dialect of memo pages: one configuration for analysis and rendering alike.
EXTENSIONS = ["extra", "admonition", "sane_lists", "smarty", "toc"]
EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {"toc": {"permalink": False}, "smarty": {"smart_angled_quotes": False}}

#: Where a placeholder ended up in the rendered page.
TEXT, HEADING, CODE, HIDDEN = "text", "heading", "code", "hidden"
#: Attributes whose value a reader sees or hears: their numbers are prose too.
READ_ATTRIBUTES = frozenset({"alt", "title", "aria-label"})

_OPEN, _CLOSE, _DIGIT = "\ue010", "\ue011", 0xE020
_PLACEHOLDER = re.compile(f"{_OPEN}([\ue020-\ue029]+){_CLOSE}")
_CODE_TAGS = frozenset({"code", "pre", "kbd", "samp"})
_HIDDEN_TAGS = frozenset({"script", "style", "template"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def to_html(text: str) -> str:
    """Render Markdown as memo pages are rendered."""
    return markdown.markdown(text, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html")


def find_bindings(line: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, inner text)`` of each ``{{ … }}`` on one line, left to right, in linear
    time (an opening ``{{`` with no ``}}`` after it ends the search)."""
    at = 0
    while (start := line.find("{{", at)) >= 0:
        end = line.find("}}", start + 2)
        if end < 0:
            return
        yield start, end + 2, line[start + 2:end]
        at = end + 2


#: Limits on what Markdown can read in reasonable time. Python-Markdown's link and raw-HTML
#: patterns take time growing with the square of the brackets (or angle brackets) in one block, and
#: its nested lists recurse once per level; no memo comes near these.
MAX_BRACKETS = 1000  # unescaped "[" or "<" in one block (text between blank lines)
MAX_NESTING = 20  # lists and quotes inside one another


def structure_problems(body: str, first_line: int) -> list[tuple[int, str]]:
    """Return ``(line, message)`` for each block of ``body`` that Markdown would take too long to
    read, or nest too deeply to read at all; scanned in linear time."""
    found: list[tuple[int, str]] = []
    lines = body.split("\n")
    block_start, counts = 0, {"[": 0, "<": 0}
    for index, line in enumerate([*lines, ""]):
        if not line.strip():
            for char, count in counts.items():
                if count > MAX_BRACKETS:
                    found.append((first_line + block_start, f"this block holds {count:,} '{char}', more than "
                                  f"{MAX_BRACKETS:,} (Markdown reads each as the start of a link or a tag, in "
                                  f"time that grows with their square): split it, or escape them as \\{char}"))
            block_start, counts = index + 1, {"[": 0, "<": 0}
            continue
        for char in counts:
            counts[char] += line.count(char) - line.count("\\" + char)
        depth = _nesting(line)
        if depth > MAX_NESTING:
            found.append((first_line + index, f"lists and quotes are nested {depth} deep here, more than {MAX_NESTING}"))
    return found


def _nesting(line: str) -> int:
    """How many list items and quotes a line opens or continues, by its leading markers."""
    depth, at, size = 0, 0, len(line)
    while at < size:
        start = at
        while at < size and line[at] == " ":
            at += 1
        indent = (at - start) // 4  # counts only before a marker: an indented code line is no nesting
        if at < size and line[at] == ">":
            at += 1
        elif at + 1 < size and line[at] in "-*+" and line[at + 1] in " \t":
            at += 2
        else:
            digits = at
            while at < size and line[at].isdigit():
                at += 1
            if not (digits < at < size - 1 and line[at] in ".)" and line[at + 1] in " \t"):
                break
            at += 2
        depth += indent + 1
    return depth


@dataclass(frozen=True)
class Spot:
    """A binding or a number in the page's Markdown and where the parser put it.

    ``contexts`` holds one entry per place it appears in the HTML (usually one; none when the
    parser consumed it, as in a link definition): ``text``, ``heading``, ``code``, ``hidden`` or
    ``attr:NAME``."""

    line: int  # in the file
    column: int  # from 1, in the line as written
    text: str  # as written: ``{{ n }}`` or ``2,562``
    contexts: tuple[str, ...]
    kind: str = ""  # for numbers: "percentage", "ratio", "count"
    heading_exempt: bool = False  # for numbers: allowed in a heading (a section number, an ordinal)

    @property
    def in_text(self) -> bool:
        """True if it stands in the page's text or a heading."""
        return any(c in (TEXT, HEADING) for c in self.contexts)

    @property
    def read(self) -> bool:
        """True if a reader sees it as prose: in text, a heading, or an attribute they read."""
        return any(c in (TEXT, HEADING) or (c.startswith("attr:") and c[5:] in READ_ATTRIBUTES)
                   for c in self.contexts)

    @property
    def attribute(self) -> str | None:
        """The first attribute it stands in, if any."""
        return next((c[5:] for c in self.contexts if c.startswith("attr:")), None)

    @property
    def in_code(self) -> bool:
        return CODE in self.contexts


@dataclass(frozen=True)
class Analysis:
    """Every binding and every candidate hand-typed number of a page body, placed by the parser."""

    bindings: tuple[Spot, ...]
    numbers: tuple[Spot, ...]


#: ``candidates(line) -> [(start, end, kind, heading_exempt)]``: the numbers the lint would flag
#: on one line of prose (its bindings already blanked out).
Candidates = Callable[[str], Sequence[tuple[int, int, str, bool]]]


def analyse(body: str, first_line: int, candidates: Candidates) -> Analysis:
    """Place every binding and every candidate number of ``body`` (whose first line is line
    ``first_line`` of its file) by rendering it once with placeholders."""
    lines = body.split("\n")
    spots: list[tuple[int, int, str, str, bool]] = []  # line index, start, text, kind ("" = binding), exempt
    out_lines = []
    for index, line in enumerate(lines):
        bindings = list(find_bindings(line))
        kept: list[str] = []
        at = 0
        for start, end, _ in bindings:
            kept.extend((line[at:start], " " * (end - start)))
            at = end
        blanked = "".join(kept) + line[at:]
        pieces = [(start, end, "", False) for start, end, _ in bindings]
        pieces += [(start, end, kind, exempt) for start, end, kind, exempt in candidates(blanked)]
        pieces.sort()
        out, at = [], 0
        for start, end, kind, exempt in pieces:
            out.append(line[at:start])
            out.append(_placeholder(len(spots)))
            spots.append((index, start, line[start:end], kind, exempt))
            at = end
        out.append(line[at:])
        out_lines.append("".join(out))
    contexts = _contexts(to_html("\n".join(out_lines)))
    placed = [Spot(first_line + index, start + 1, text, tuple(contexts.get(number, ())), kind, exempt)
              for number, (index, start, text, kind, exempt) in enumerate(spots)]
    return Analysis(tuple(s for s in placed if not s.kind), tuple(s for s in placed if s.kind))


def _placeholder(number: int) -> str:
    return _OPEN + "".join(chr(_DIGIT + int(d)) for d in str(number)) + _CLOSE


def _number(digits: str) -> int:
    return int("".join(str(ord(c) - _DIGIT) for c in digits))


def _contexts(html: str) -> dict[int, list[str]]:
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.found


class _Walker(HTMLParser):
    """Records where each placeholder stands in rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[int, list[str]] = {}
        self.depth = {"code": 0, "hidden": 0, "heading": 0}

    def _record(self, text: str, context: str) -> None:
        for match in _PLACEHOLDER.finditer(text):
            self.found.setdefault(_number(match.group(1)), []).append(context)

    def _group(self, tag: str) -> str | None:
        if tag in _CODE_TAGS:
            return "code"
        if tag in _HIDDEN_TAGS:
            return "hidden"
        if tag in _HEADINGS:
            return "heading"
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value:
                self._record(value, f"attr:{name}")
        group = self._group(tag)
        if group:
            self.depth[group] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value:
                self._record(value, f"attr:{name}")

    def handle_endtag(self, tag: str) -> None:
        group = self._group(tag)
        if group and self.depth[group]:
            self.depth[group] -= 1

    def handle_data(self, data: str) -> None:
        depth = self.depth
        self._record(data, CODE if depth["code"] else HIDDEN if depth["hidden"] else
                     HEADING if depth["heading"] else TEXT)

    def handle_comment(self, data: str) -> None:
        self._record(data, HIDDEN)

    def handle_decl(self, decl: str) -> None:
        self._record(decl, HIDDEN)

    def handle_pi(self, data: str) -> None:
        self._record(data, HIDDEN)

    def unknown_decl(self, data: str) -> None:
        self._record(data, HIDDEN)
