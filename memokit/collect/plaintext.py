"""Untrusted text from the sources, as plain text: HTML and Markdown stripped, entities decoded.

Every scan here is linear in the length of its input, whatever the input holds: the standard
library's ``html.parser`` takes seconds on a few kilobytes of unclosed tags (``"<a " * 10000``
took ten on Python 3.11), and any post on the internet can hold that. So HTML is read by a small
scanner that looks for each ``<`` and ``>`` once, and Markdown by patterns whose every repetition
stops at the next delimiter or is bounded. What comes out is plain text for reading and for a
classifier, not a faithful rendering: a ``>`` inside a quoted attribute value ends its tag early,
and an indented code block is read as prose.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from ..model.text import BANNED_RE

#: The longest input that is stripped, and the longest body kept (the full text stays in the
#: cache of raw responses). Long bodies are mostly logs and stack traces.
MAX_INPUT = 100_000
MAX_BODY = 20_000

#: Elements whose content is not text a reader sees.
_SKIPPED = ("script", "style", "template", "svg", "noscript", "head")
#: Elements that break a line.
_BLOCKS = frozenset((
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul"))
_CELLS = frozenset(("td", "th"))
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]{0,30})")
_SKIP_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _SKIPPED}
# Characters that are not text: zero-width spaces and byte-order marks, besides BANNED_RE's
# controls and bidirectional overrides.
_INVISIBLE = re.compile("[\u200b\ufeff]")


def strip_html(text: str) -> str:
    """The text of an HTML fragment: tags and comments removed, block elements as line breaks,
    entities decoded once, the content of scripts and styles dropped."""
    return tidy(_html_text(text[:MAX_INPUT]))


def _html_text(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    next_gt = -1          # the first ">" at or after i, found once per stretch (so the scan stays linear)
    comments_open = True  # once a comment has no end, no later one has
    while i < n:
        j = text.find("<", i)
        if j < 0:
            out.append(html.unescape(text[i:]))
            break
        out.append(html.unescape(text[i:j]))
        if text.startswith("<!--", j):
            end = text.find("-->", j + 4) if comments_open else -1
            if end < 0:  # an unclosed comment hides the rest, as in a browser
                comments_open = False
                break
            i = end + 3
            continue
        name = _TAG_NAME.match(text, j)
        if name is None and not text.startswith(("<!", "<?"), j):
            out.append("<")  # a "<" that starts no tag is text ("a < b", "<|im_start|>")
            i = j + 1
            continue
        if next_gt < j:
            next_gt = text.find(">", j)
        if next_gt < 0:  # no tag can end: the rest is text
            out.append(html.unescape(text[j:]))
            break
        i = next_gt + 1
        if name is None:  # <!DOCTYPE …>, <![CDATA[ … ]]>, <?…>
            continue
        tag = name.group(1).lower()
        closing = text[j + 1] == "/"
        if tag in _SKIP_END and not closing:
            end_match = _SKIP_END[tag].search(text, i)
            if end_match is None:
                break
            i = end_match.end()
        elif tag in _BLOCKS:
            out.append("\n")
        elif tag in _CELLS:
            out.append(" ")
    return "".join(out)


# --- Markdown ----------------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)")
_HEADING_END = re.compile(r"[ \t]+#+[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$")
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?[ \t]*)?$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\[\]\n]{1,500}\]:[ \t]*\S+.*$")

# Inline patterns: each repetition stops at its own delimiter, so no match scans past the next one.
_CODE_SPAN = re.compile(r"``([^`\n]{1,1000})``|`([^`\n]{1,1000})`")
_IMAGE = re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)")
_LINK = re.compile(r"\[([^\[\]\n]{0,500})\](?:\([^()\n]{0,2000}\)|\[[^\[\]\n]{0,500}\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>")
_STRONG = re.compile(r"\*\*(?=\S)([^*\n]{1,1000})(?<=\S)\*\*|(?<![\w\\])__(?=\S)([^_\n]{1,1000})(?<=\S)__(?!\w)")
_EMPHASIS = re.compile(r"(?<![\w\\*])\*(?=\S)([^*\n]{1,1000})(?<=\S)\*|(?<![\w\\])_(?=\S)([^_\n]{1,1000})(?<=\S)_(?!\w)")
_STRIKE = re.compile(r"~~(?=\S)([^~\n]{1,1000})(?<=\S)~~")
_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
# Placeholders keep code and escaped characters out of the HTML scan: private-use characters,
# removed from the input first, so that none can be forged.
_HOLD, _HOLD_END = "\ue000", "\ue001"
_HELD = re.compile(f"{_HOLD}(\\d+){_HOLD_END}")
_PRIVATE = re.compile("[\ue000\ue001]")


def strip_markdown(text: str, *, html_inside: bool = True) -> str:
    """The text of a Markdown document: markup removed, code kept as written.

    ``html_inside``: the dialect allows raw HTML (GitHub's does: comments, ``<details>``, tags),
    which is stripped as HTML outside code; else (Reddit's) a ``<`` is text."""
    text = _PRIVATE.sub("", text[:MAX_INPUT].replace("\r\n", "\n").replace("\r", "\n"))
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"{_HOLD}{len(held) - 1}{_HOLD_END}"

    lines: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not line[opened.end():].strip():
                fence = None
            else:
                lines.append(hold(line))
            continue
        if opened and not (opened.group(1)[0] == "`" and "`" in line[opened.end():]):
            fence = opened.group(1)
            continue
        if _RULE.match(line) or _TABLE_RULE.match(line) or _LINK_DEFINITION.match(line):
            lines.append("")
            continue
        line = _QUOTE.sub("", line)
        if _HEADING.match(line):
            line = _HEADING_END.sub("", _HEADING.sub("", line))
        line = _LIST_ITEM.sub(r"\1", line)
        lines.append(line)

    prose = "\n".join(lines)
    prose = _CODE_SPAN.sub(lambda m: hold(m.group(1) or m.group(2)), prose)
    prose = _ESCAPE.sub(lambda m: hold(m.group(1)), prose)
    prose = _AUTOLINK.sub(lambda m: hold(m.group(1)), prose)
    prose = _IMAGE.sub(r"\1", prose)
    prose = _LINK.sub(r"\1", prose)
    for pattern in (_STRONG, _EMPHASIS, _STRIKE):
        prose = pattern.sub(lambda m: next(g for g in m.groups() if g is not None), prose)
    prose = prose.replace("|", " ")
    if html_inside:
        prose = _html_text(prose)
    # Held text comes back as written: code is code, not HTML (a "<s>" in a chat template stays).
    return tidy(_HELD.sub(lambda m: held[int(m.group(1))], prose))


# --- text and dates -----------------------------------------------------------------------------

_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str, limit: int = MAX_BODY) -> str:
    """Plain text as stored: no control characters, bidirectional overrides or zero-width spaces;
    runs of spaces as one; at most one blank line in a row; at most ``limit`` characters."""
    text = _INVISIBLE.sub("", BANNED_RE.sub(" ", text.replace("\r\n", "\n").replace("\xa0", " ")))
    text = "\n".join(part.strip() for part in _SPACES.sub(" ", text).split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def one_line(text: str) -> str:
    """A title: plain text on one line."""
    return tidy(text.replace("\n", " "), limit=1_000)


def unescaped_line(text: str) -> str:
    """A title that arrives HTML-escaped (Stack Exchange's, Reddit's): decoded once, on one line."""
    return one_line(html.unescape(text))


def date_of(timestamp: float) -> str:
    """``YYYY-MM-DD`` of an epoch timestamp, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp (``2025-01-02T03:04:05Z``, ``…05.516Z``, ``…+00:00``);
    raises ValueError if it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(timestamp: float) -> str:
    """An epoch timestamp as ``2025-01-02T03:04:05Z``."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
