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
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from ..model import SIGNAL_FIELDS, display_host
from .columnar import STRING, url_keys

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
#: The fields of a post in the drill's data, in this order.
DRILL_FIELDS = ("id", "url", "host", "title", "source", "community", "created", "summary")
#: What a spreadsheet takes for the start of a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows of ``signals.csv`` turned into text at a time.
CSV_ROWS = 65_536


def safe_url(url: str) -> str:
    """Return ``url`` if it is http(s); anything else becomes an inert ``#``."""
    return url if url.lower().startswith(("http://", "https://")) else "#"


def _text(value: Any) -> pa.Scalar:
    return pa.scalar(value, STRING)


def _column(frame: pd.DataFrame, name: str) -> pa.Array:
    values = pa.array(frame[name], from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(STRING)


def html_escape(values: pa.Array) -> pa.Array:
    """``markupsafe.escape`` of every value: & < > ' " as entities."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("'", "&#39;"), ('"', "&#34;")):
        values = pc.replace_substring(values, char, entity)
    return values


def json_text(values: pa.Array) -> pa.Array:
    """``json.dumps(value, ensure_ascii=False)`` of every value (a string, or null)."""
    quoted = values
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t")):
        quoted = pc.replace_substring(quoted, char, escaped)
    quoted = pc.binary_join_element_wise(_text('"'), quoted, _text('"'), _text(""))
    other = np.asarray(pc.fill_null(pc.match_substring_regex(values, r"[\x00-\x1f]"), False), dtype=bool)
    if other.any():  # other control characters (never in validated text): json's own escapes
        rows = np.flatnonzero(other)
        fixed = pa.array([json.dumps(values[int(i)].as_py(), ensure_ascii=False) for i in rows], STRING)
        quoted = _put(quoted, rows, fixed)
    return pc.fill_null(quoted, _text("null"))


def _put(values: pa.Array, rows: np.ndarray, replacement: pa.Array) -> pa.Array:
    """``values`` with ``values[rows]`` replaced by ``replacement``."""
    index = np.full(len(values), -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    mask = pa.array(index >= 0)
    taken = pc.take(replacement, pa.array(np.maximum(index, 0)))
    return pc.if_else(mask, taken, values)


def hosts(urls: pa.Array) -> pa.Array:
    """``display_host`` of every URL: for an ASCII host of the common shape, its lower case."""
    parts = pc.extract_regex(urls, r"^[A-Za-z]+://(?P<host>[A-Za-z0-9.-]+)(?:[/?#]|$)")
    found = pc.struct_field(parts, [0])
    _, common = url_keys(urls)
    simple = pa.array(common & np.asarray(parts.is_valid(), dtype=bool))
    result = pc.if_else(simple, pc.utf8_lower(found), pa.nulls(len(urls), STRING))
    rows = np.flatnonzero(~np.asarray(simple, dtype=bool))
    if len(rows):
        result = _put(result, rows, pa.array([display_host(urls[int(i)].as_py()) for i in rows], STRING))
    return result


def newest_first_order(frame: pd.DataFrame) -> np.ndarray:
    """The rows of ``frame`` newest first, undated posts last; ties by id, descending, so the order
    never depends on the input's order (the drill sorts the same way)."""
    created = _column(frame, "created")
    table = pa.table({"undated": created.is_null(), "created": pc.fill_null(created, _text("")),
                      "id": _column(frame, "id")})
    order = pc.sort_indices(table, sort_keys=[("undated", "ascending"), ("created", "descending"),
                                              ("id", "descending")])
    return np.asarray(order.to_numpy(), dtype=np.int64)


class Posts:
    """Every post of the dataset, newest first, with its card's HTML and its drill JSON object."""

    def __init__(self, frame: pd.DataFrame, labels: Mapping[str, str]) -> None:
        order = newest_first_order(frame)
        take = pa.array(order)
        self.columns = {name: pc.take(_column(frame, name), take) for name in SIGNAL_FIELDS}
        columns = self.columns
        columns["host"] = hosts(columns["url"])
        self.theme = np.asarray(columns["theme"].to_numpy(zero_copy_only=False), dtype=object)
        self.phase = np.asarray(columns["phase"].to_numpy(zero_copy_only=False), dtype=object)
        keys = sorted(labels)
        source_label = pc.take(pa.array([labels[k] for k in keys], STRING),
                               pc.index_in(columns["source"], value_set=pa.array(keys, STRING)))
        created = columns["created"]
        date = pc.if_else(created.is_null(), _text(UNDATED), pc.binary_join_element_wise(
            _text('<time datetime="'), created, _text('">'), created, _text("</time>"), _text("")))
        urls = columns["url"]
        http = pc.match_substring_regex(urls, r"^[Hh][Tt][Tt][Pp][Ss]?://")
        fields = {
            "id": html_escape(columns["id"]), "heading": None, "url": html_escape(pc.if_else(http, urls, _text("#"))),
            "title": html_escape(columns["title"]), "source": html_escape(source_label),
            "community": html_escape(columns["community"]), "host": html_escape(columns["host"]), "date": date,
            "summary": html_escape(columns["summary"]),
        }
        pieces: list[Any] = []
        for literal, name, _, _ in string.Formatter().parse(POST_CARD):
            if literal:
                pieces.append(_text(literal))
            if name is not None:
                pieces.append(fields[name] if fields[name] is not None else _text("h2"))
        self.html = pc.binary_join_element_wise(*pieces, _text(""))
        drill: list[Any] = []
        for number, name in enumerate(DRILL_FIELDS):
            drill += [_text(("{" if number == 0 else ",") + json.dumps(name) + ":"), json_text(columns[name])]
        self.drill = pc.binary_join_element_wise(*drill, _text("}"), _text(""))

    def rows(self, field: str, value: str) -> np.ndarray:
        """Where, newest first, the posts whose ``field`` (theme or phase) is ``value`` stand."""
        return np.flatnonzero((self.theme if field == "theme" else self.phase) == value)

    def cards(self, rows: np.ndarray) -> list[str]:
        return [str(card) for card in self.html.take(pa.array(rows)).to_pylist()]

    def drill_json(self, rows: np.ndarray) -> str:
        """The posts at ``rows`` as the JSON array of the drill's data."""
        return "[" + ",".join(self.drill.take(pa.array(rows)).to_pylist()) + "]"

    def sources(self, rows: np.ndarray) -> list[str]:
        return sorted(pc.unique(self.columns["source"].take(pa.array(rows))).to_pylist())


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
    """The columns ``signals.csv`` holds: every field of a signal, in the model's order."""
    return list(SIGNAL_FIELDS)


def signals_csv_chunks(frame: pd.DataFrame) -> Iterator[bytes]:
    """Yield ``signals.csv`` (the validated signals in memokit's own input format, as pandas'
    ``to_csv`` wrote them) a few thousand rows at a time. A text cell that a spreadsheet would run
    as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written
    with a leading ``'``, which makes the spreadsheet show it as text."""
    quoting = "[" + "".join(f"\\x{ord(c):02x}" for c in _QUOTING) + "]"
    names = csv_columns(frame)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(names)
    yield header.getvalue().encode()
    columns = [_column(frame, name) for name in names]
    for start in range(0, len(frame), CSV_ROWS):
        cells = []
        for column in columns:
            text = column.slice(start, CSV_ROWS)
            formula = pc.fill_null(pc.starts_with(text, FORMULA_START[0]), False)
            for char in FORMULA_START[1:]:
                formula = pc.or_(formula, pc.fill_null(pc.starts_with(text, char), False))
            text = pc.if_else(formula, pc.binary_join_element_wise(_text("'"), text, _text("")), text)
            text = pc.fill_null(text, _text(""))
            quote = pc.match_substring_regex(text, quoting)
            quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'),
                                                 _text(""))
            cells.append(pc.if_else(quote, quoted, text))
        rows = pc.binary_join_element_wise(*cells, _text(","))
        lines = pa.LargeListArray.from_arrays(pa.array([0, len(rows)], pa.int64()), rows)
        yield pc.binary_join(lines, _text("\n"))[0].as_py().encode() + b"\n"


def signals_csv(frame: pd.DataFrame) -> str:
    """Return ``signals.csv`` whole (see ``signals_csv_chunks``)."""
    return b"".join(signals_csv_chunks(frame)).decode()

