"""Stage 6, render, for every post at once: the post cards of the listing pages, the drill's data
and ``signals.csv``, built as Arrow string columns, never as one Python object per post.

Each function gives the bytes the per-post code gave (``markupsafe.escape``, ``json.dumps``,
``csv.writer``); ``tests/test_columnar.py`` holds them side by side.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from ..model import OPTIONAL_FIELDS, SIGNAL_FIELDS, display_host
from .columnar import URL_SHAPE

#: Attributes every link to a post carries: the text behind it is from the internet.
POST_REL = "noopener noreferrer nofollow ugc"
#: One post as theme and phase pages list it and as the drill shows it (which clones
#: ``POST_TEMPLATE`` from the page): every field is escaped before it is put in.
POST_CARD = ('<li class="post" data-id="{id}"><{heading} class="post-title"><a href="{url}" rel="' + POST_REL + '">'
             '{title}</a></{heading}><p class="post-meta"><span class="source">{source}</span> · '
             '<span class="community">{community}</span> · <span class="host">{host}</span> · {date}</p>'
             '<p class="post-summary">{summary}</p></li>')
UNDATED = '<span class="undated">date unknown</span>'
#: The drill's copy of ``POST_CARD``, empty, with both kinds of date for it to keep one of.
POST_TEMPLATE = Markup(POST_CARD.format(id="", heading="h3", url="", title="", source="", community="", host="",
                                        date='<time datetime=""></time>' + UNDATED, summary=""))
#: A post's fields in the drill's data, in this order: what it shows, and what a scoped card's posts
#: are filtered by (``Scope.where``: every filter field but the theme and phase; the year comes from
#: ``created``; ``corpus`` and ``coding`` are added where the data records them).
DRILL_FIELDS = ("id", "url", "host", "title", "source", "community", "created", "summary", "sample", "model_family",
                "tool")
#: What a spreadsheet takes for the start of a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Pages of posts made at a time (the cost of an Arrow call is then spread over many posts).
BATCH_PAGES = 16
#: Rows of ``signals.csv`` turned into text at a time.
CSV_ROWS = 65_536


def safe_url(url: str) -> str:
    """Return ``url`` if it is http(s); anything else becomes an inert ``#``."""
    return url if url.lower().startswith(("http://", "https://")) else "#"


def _text(value: Any) -> pa.Scalar:
    return pa.scalar(value, TEXT)


#: Arrow text with 32-bit offsets: its string kernels are several times faster than large_string's.
TEXT = pa.string()


def _column(frame: pd.DataFrame, name: str) -> pa.ChunkedArray:
    values = pa.array(frame[name], from_pandas=True)
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    return values


def _one(values: pa.ChunkedArray) -> pa.Array:
    """A column as one array (without a copy where it is one chunk already)."""
    return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


def _small(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One chunk of 32-bit-offset text (a page's worth of values), or of codes into such text (a
    column of categories: ``each``)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        return values
    return values.cast(TEXT)


def each(values: pa.Array, make: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``make`` (text to text, value by value) of every value of ``values``; of codes into a
    dictionary (a column of categories), made once per distinct value and given to each row by its code."""
    if not pa.types.is_dictionary(values.type):
        return make(values)
    made = make(values.dictionary.cast(TEXT)).take(values.indices)
    if values.null_count:
        made = pc.fill_null(made, make(pa.nulls(1, TEXT))[0])
    return made


def text_bytes(values: pa.Array) -> memoryview:
    """The UTF-8 of every value of ``values`` (text), end to end: a view of its data, not a copy."""
    offsets, data = values.buffers()[1], values.buffers()[2]
    if data is None or not len(values):
        return memoryview(b"")
    bounds = np.frombuffer(offsets, dtype=np.int64 if pa.types.is_large_string(values.type) else np.int32)
    return memoryview(data)[int(bounds[values.offset]):int(bounds[values.offset + len(values)])]


def _occurring(values: pa.Array, chars: str) -> str:
    """Which of ``chars`` occur anywhere in the text of ``values``: a scan of its bytes."""
    raw = bytes(text_bytes(values))
    return "".join(c for c in chars if c.encode() in raw)


def _narrow(values: pa.Array) -> pa.Array:
    """32-bit-offset text where it fits (its kernels are faster), else as it is."""
    return values.cast(TEXT) if values.nbytes < 2**31 - 2**20 else values


def _replace_all(values: pa.Array, pairs: tuple[tuple[str, str], ...], special: str) -> pa.Array:
    """Apply every replacement whose character occurs in ``values``."""
    present = _occurring(values, "".join(char for char, _ in pairs))
    for char, replacement in pairs:
        if char in present:
            values = pc.replace_substring(values, char, replacement)
    return values


_HTML = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("'", "&#39;"), ('"', "&#34;"))
_JSON = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t"))


def html_escape(values: pa.Array) -> pa.Array:
    """``markupsafe.escape`` of every value: & < > ' " as entities."""
    return _replace_all(values, _HTML, "[&<>'\"]")


def json_text(values: pa.Array) -> pa.Array:
    """``json.dumps(value, ensure_ascii=False)`` of every value (a string, or null)."""
    quoted = pc.binary_join_element_wise(_text('"'), _replace_all(values, _JSON, '[\\\\"\n\t]'), _text('"'),
                                         _text(""))
    if _controls(values):  # other control characters (never in validated text): json's own escapes
        other = np.asarray(pc.fill_null(pc.match_substring_regex(values, r"[\x00-\x08\x0b-\x1f]"), False),
                           dtype=bool)
        rows = np.flatnonzero(other)
        fixed = pa.array([json.dumps(values[int(i)].as_py(), ensure_ascii=False) for i in rows], TEXT)
        quoted = _put(quoted, rows, fixed)
    return pc.fill_null(quoted, _text("null"))


def _controls(values: pa.Array) -> bool:
    """Whether any value holds a control character but a line feed or a tab: a scan of the bytes (in
    UTF-8 such a character is its own byte, below 0x20, and no other character has one)."""
    raw = np.frombuffer(text_bytes(values), dtype=np.uint8)
    low = raw[raw < 0x20]
    return bool(((low != 0x09) & (low != 0x0A)).any())


def _put(values: pa.Array, rows: np.ndarray, replacement: pa.Array) -> pa.Array:
    """``values`` with ``values[rows]`` replaced by ``replacement``."""
    index = np.full(len(values), -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    mask = pa.array(index >= 0)
    taken = pc.take(replacement, pa.array(np.maximum(index, 0)))
    return pc.if_else(mask, taken, values)


def hosts(urls: pa.Array) -> pa.Array:
    """``display_host`` of every URL: for an ASCII host of the common shape, its lower case."""
    parts = pc.extract_regex(urls, URL_SHAPE)
    common = np.asarray(parts.is_valid(), dtype=bool)
    result = pc.if_else(pa.array(common), pc.utf8_lower(pc.struct_field(parts, [1])), pa.nulls(len(urls), TEXT))
    rows = np.flatnonzero(~common)
    if len(rows):
        result = _put(result, rows, pa.array([display_host(urls[int(i)].as_py()) for i in rows], TEXT))
    return result


def newest_first_order(frame: pd.DataFrame) -> np.ndarray:
    """The rows of ``frame`` newest first, undated posts last; ties by id, descending, so the order
    never depends on the input's order (the drill sorts the same way)."""
    # Each date by its rank among the dates (sorted as text), an unknown date -1: integers sort faster.
    encoded = pc.dictionary_encode(_one(_column(frame, "created")))
    rank_of = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank_of[pc.array_sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(encoded.dictionary))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    table = pa.table({"date": np.where(codes >= 0, rank_of[np.maximum(codes, 0)], -1), "id": _column(frame, "id")})
    order = pc.sort_indices(table, sort_keys=[("date", "descending"), ("id", "descending")])
    return np.asarray(order.to_numpy(), dtype=np.int64)


@dataclass
class Page:
    """One page of a theme's or a phase's listing, as ``Posts.pages`` makes it."""

    field: str  # "theme" or "phase"
    group: str  # the theme's or phase's id
    number: int  # from 1
    rows: np.ndarray  # where its posts stand in ``Posts.order``
    listing: list[bytes | memoryview]  # its cards one per line, as ``theme.html`` lists them, in UTF-8
    drill: list[bytes | memoryview] | None  # a theme's page: its posts as the drill's JSON array, in UTF-8


class _Stream:
    """The pages of one theme or phase, filled batch by batch with its posts' cards (and drill
    objects), and given out whenever a page's worth is in."""

    def __init__(self, field: str, group: str, rows: np.ndarray, size: int, drill: bool) -> None:
        self.field, self.group, self.rows, self.size, self.drill = field, group, rows, size, drill
        self.cards: list[pa.Array] = []
        self.objects: list[pa.Array] = []
        self.pending = 0
        self.given = 0  # posts already on pages

    def add(self, cards: pa.Array, objects: pa.Array | None) -> Iterator[Page]:
        """Take the next posts' cards (and drill objects): views of a batch's arrays."""
        self.cards.append(cards)
        if objects is not None:
            self.objects.append(objects)
        self.pending += len(cards)
        while self.pending >= self.size:
            yield self._page(self.size)
        if self.pending and len(cards):  # what waits for the next batch, copied out of this one's arrays
            self.cards[-1] = pa.concat_arrays([self.cards[-1]])
            if self.drill:
                self.objects[-1] = pa.concat_arrays([self.objects[-1]])

    def rest(self) -> Iterator[Page]:
        """The last page (a group without posts has one, empty)."""
        if self.pending or not self.given:
            yield self._page(self.pending)

    def _page(self, count: int) -> Page:
        cards, self.cards = _split(self.cards, count)
        objects: list[pa.Array] = []
        if self.drill:
            objects, self.objects = _split(self.objects, count)
        rows = self.rows[self.given:self.given + count]
        page = Page(self.field, self.group, self.given // self.size + 1, rows,
                    [text_bytes(piece) for piece in cards], None)
        if self.drill:  # every object ends with ",": the last one's is left out
            views = [text_bytes(piece) for piece in objects]
            if views:
                views[-1] = views[-1][:-1]
            page.drill = [b"[", *views, b"]"]
        self.given += count
        self.pending -= count
        return page


def _split(pieces: list[pa.Array], count: int) -> tuple[list[pa.Array], list[pa.Array]]:
    """The first ``count`` values of ``pieces``, and the rest (arrays, in order)."""
    first: list[pa.Array] = []
    rest = list(pieces)
    while count and rest:
        piece = rest.pop(0)
        if len(piece) > count:
            rest.insert(0, piece.slice(count))
            piece = piece.slice(0, count)
        first.append(piece)
        count -= len(piece)
    return first, rest


class Posts:
    """Every post of the dataset, newest first; cards and drill data are made from its rows'
    columns a batch of pages at a time (``pages``), so they are never all held at once."""

    _CARD_FIELDS = ("id", "url", "title", "source", "community", "created", "summary")

    def __init__(self, frame: pd.DataFrame, labels: Mapping[str, str],
                 drill_fields: tuple[str, ...] = DRILL_FIELDS) -> None:
        self.order = newest_first_order(frame)
        order = pa.array(self.order)
        self.drill_fields = drill_fields
        # The frame's own columns (no copy); a batch's rows are gathered from them in listing order.
        self.columns = {name: _one(_column(frame, name)) for name in sorted({*self._CARD_FIELDS, *drill_fields} - {"host"})}
        self.theme = pc.dictionary_encode(_column(frame, "theme").take(order)).combine_chunks()
        self.phase = pc.dictionary_encode(_column(frame, "phase").take(order)).combine_chunks()
        self.labels = dict(labels)
        card: list[Any] = []
        for literal, name, _, _ in string.Formatter().parse(POST_CARD):
            card.append(literal)
            card.append(name)
        self.card = card

    def _encoded(self, field: str) -> pa.DictionaryArray:
        return self.theme if field == "theme" else self.phase

    def rows(self, field: str, value: str) -> np.ndarray:
        """Where, newest first, the posts whose ``field`` (theme or phase) is ``value`` stand."""
        encoded = self._encoded(field)
        codes = encoded.dictionary.to_pylist()
        if value not in codes:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(encoded.indices.to_numpy(zero_copy_only=False) == codes.index(value))

    def pages(self, themes: list[str], phases: list[str], size: int) -> Iterator[Page]:
        """Every page (``size`` posts each) of the listings of ``themes`` and ``phases``, the
        themes' with the drill's data of the same posts. Each post's card and drill object is made
        once, in batches of ``BATCH_PAGES`` pages' worth of posts newest first, and goes to the
        pages of its theme and of its phase; a group without posts has one empty page."""
        streams = {(field, group): _Stream(field, group, self.rows(field, group), size, field == "theme")
                   for field, groups in (("theme", themes), ("phase", phases)) for group in groups}
        codes = {}
        for field in ("theme", "phase"):
            encoded = self._encoded(field)
            codes[field] = (encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False))
        step = size * BATCH_PAGES
        for start in range(0, len(self.order), step):
            rows = np.arange(start, min(start + step, len(self.order)))
            # The batch's posts by theme (newest first within each), so that a theme's cards and drill
            # objects are one slice of what is made; a phase's are gathered from them.
            theme_values, theme_codes = codes["theme"]
            grouped = np.argsort(theme_codes[rows], kind="stable")
            bounds = np.searchsorted(theme_codes[rows][grouped], np.arange(len(theme_values) + 1))
            page = self._page(rows[grouped], (*self._CARD_FIELDS, *self.drill_fields))
            cards = self._cards(page, "    ", "\n")
            objects = self._drill(page, ",")
            place = np.empty(len(rows), dtype=np.int64)
            place[grouped] = np.arange(len(rows))  # where each post of the batch is among the grouped
            for (field, group), stream in streams.items():
                values, indices = codes[field]
                if group not in values:
                    continue
                code = values.index(group)
                if field == "theme":
                    low, high = int(bounds[code]), int(bounds[code + 1])
                    if high > low:
                        yield from stream.add(cards.slice(low, high - low), objects.slice(low, high - low))
                else:
                    taken = place[indices[rows] == code]
                    if len(taken):
                        yield from stream.add(cards.take(pa.array(taken)), None)
        for stream in streams.values():
            yield from stream.rest()

    def _page(self, rows: np.ndarray, names: tuple[str, ...]) -> dict[str, pa.Array]:
        index = pa.array(self.order[rows])
        page = {name: _small(self.columns[name].take(index)) for name in dict.fromkeys(names) if name != "host"}
        if "host" in names:
            page["host"] = hosts(page["url"]) if len(rows) else pa.array([], TEXT)
        return page

    def cards(self, rows: np.ndarray) -> list[str]:
        """The cards of the posts at ``rows``, as theme and phase pages list them."""
        if not len(rows):
            return []
        return [str(card) for card in self._cards(self._page(rows, (*self._CARD_FIELDS, "host"))).to_pylist()]

    def _cards(self, page: dict[str, pa.Array], before: str = "", after: str = "") -> pa.Array:
        """Every card of a page's posts, each between ``before`` and ``after``."""
        keys = sorted(self.labels)
        labels = pa.array([self.labels[k] for k in keys], TEXT)
        source = each(page["source"], lambda values: html_escape(pc.take(labels, pc.index_in(
            values, value_set=pa.array(keys, TEXT)))))
        created = page["created"]
        date = pc.if_else(pc.is_null(created), _text(UNDATED), pc.binary_join_element_wise(
            _text('<time datetime="'), created, _text('">'), created, _text("</time>"), _text("")))
        urls = page["url"]
        http = pc.match_substring_regex(urls, r"^[Hh][Tt][Tt][Pp][Ss]?://")
        fields = {
            "id": html_escape(page["id"]), "heading": _text("h2"), "url": html_escape(pc.if_else(http, urls, _text("#"))),
            "title": html_escape(page["title"]), "source": source,
            "community": each(page["community"], html_escape), "host": html_escape(page["host"]), "date": date,
            "summary": html_escape(page["summary"]),
        }
        pieces = [_text(part) if i % 2 == 0 else fields[part] for i, part in enumerate(self.card) if part]
        return pc.binary_join_element_wise(_text(before), *pieces, _text(after), _text(""))

    def _drill(self, page: dict[str, pa.Array], after: str = "") -> pa.Array:
        """Every post of a page as the drill's JSON object, each followed by ``after``."""
        drill: list[Any] = []
        for number, name in enumerate(self.drill_fields):
            drill += [_text(("{" if number == 0 else ",") + json.dumps(name) + ":"), each(page[name], json_text)]
        return pc.binary_join_element_wise(*drill, _text("}" + after), _text(""))

    def sources(self, rows: np.ndarray) -> list[str]:
        found = pc.unique(self.columns["source"].take(pa.array(self.order[rows])))
        return sorted(str(s) for s in found.to_pylist())


def joined(values: pa.Array, before: str, separator: str, after: str) -> bytes | memoryview:
    """``before + separator.join(values) + after`` in UTF-8, made in Arrow (not as Python text)."""
    if not len(values):
        return (before + after).encode()
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    lists = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
    joined = pc.binary_join_element_wise(_text(before), pc.binary_join(lists, _text(separator)), _text(after),
                                         _text(""))
    return memoryview(joined[0].as_buffer())


def _quoting() -> str:
    """The characters that make ``csv.writer`` (and so pandas' ``to_csv``) quote a cell."""
    special = []
    for code in range(128):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([f"a{chr(code)}b", "x"])
        if buffer.getvalue().startswith('"'):
            special.append(chr(code))
    return "".join(special)


_QUOTING = _quoting()


def csv_columns(frame: pd.DataFrame) -> list[str]:
    """The columns ``signals.csv`` holds: every field of a signal, in the model's order, but an
    optional field no signal has (``coded_by``, ``corpus``): the file stays as it was without them."""
    return [name for name in SIGNAL_FIELDS if name not in OPTIONAL_FIELDS
            or (name in frame.columns and frame[name].fillna("").astype(bool).any())]


def signals_csv_chunks(frame: pd.DataFrame) -> Iterator[bytes | memoryview]:
    """Yield ``signals.csv`` (the validated signals in memokit's own input format, as pandas'
    ``to_csv`` wrote them) a few thousand rows at a time. A text cell that a spreadsheet would run
    as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written
    with a leading ``'``, which makes the spreadsheet show it as text."""
    names = csv_columns(frame)
    # The frame is read here, the rest works on Arrow arrays alone (and may run on another thread).
    return _csv_chunks(names, [_column(frame, name) for name in names], len(frame))


def _csv_chunks(names: list[str], columns: list[pa.ChunkedArray], count: int) -> Iterator[bytes | memoryview]:
    quoting = "[" + "".join(f"\\x{ord(c):02x}" for c in _QUOTING) + "]"
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(names)
    yield header.getvalue().encode()
    starts = pa.array(FORMULA_START, TEXT)

    def cell(text: pa.Array) -> pa.Array:
        text = pc.fill_null(text, _text(""))
        formula = pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=starts)
        if pc.any(formula).as_py():
            text = pc.if_else(formula, pc.binary_join_element_wise(_text("'"), text, _text("")), text)
        if _occurring(text, _QUOTING):
            quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'),
                                                 _text(""))
            text = pc.if_else(pc.match_substring_regex(text, quoting), quoted, text)
        return text

    for start in range(0, count, CSV_ROWS):
        cells = [each(_small(column.slice(start, CSV_ROWS)), cell) for column in columns]
        # Each row ends with its line break, so the rows' text, end to end, is the chunk (no copy).
        separated = [piece for cell in cells for piece in (cell, _text(","))]
        yield text_bytes(pc.binary_join_element_wise(*separated[:-1], _text("\n"), _text("")))


def signals_csv(frame: pd.DataFrame) -> str:
    """Return ``signals.csv`` whole (see ``signals_csv_chunks``)."""
    return b"".join(bytes(chunk) for chunk in signals_csv_chunks(frame)).decode()

