"""Stage 2, validate, as column operations: every check of a signal run on whole columns at once.

The rules are read from ``Signal.model_fields`` (lengths, patterns, required or not, the date and
list fields), so a field added to the model is checked here without a change. A row is *clean*
when every check passes; it then holds exactly the values the per-row path (pydantic) would give
it. Anything else (a check that fails, a value of another type, a null whose meaning is unclear,
a URL of an unusual shape) only marks the row: ``validate`` checks those rows one at a time with
the model itself, which words the message as it always has. A false alarm costs time, never a
different result.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..model import Signal, Taxonomy

# Arrow's buffers from jemalloc, which hands freed memory back within a second: measured on 1M
# signals, a build's peak is 1.0 GB with it, 1.2 GB with the system allocator (whose threads' arenas
# keep what they freed) and 1.3 GB with mimalloc, pyarrow's default, at the same CPU time.
try:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except NotImplementedError:  # a pyarrow built without it
    pa.set_memory_pool(pa.system_memory_pool())

#: What Python's ``str.isspace()`` (and so ``str.strip()`` and ``re``'s ``\\s``) counts as white space.
PY_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
#: What the regex engine of pydantic-core (Rust's ``regex``) counts as ``\\s``: Unicode White_Space.
_RUST_SPACE = r"\t-\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_PY_SPACE_RE2 = "".join(f"\\x{{{ord(c):x}}}" for c in PY_SPACE)
#: A post URL of the common shape (no port, an ASCII host), as ``memokit.model.urls`` reads it;
#: any other URL is checked one row at a time.
_URL = (rf"^(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://(?P<host>[A-Za-z0-9.-]+)(?P<path>/[^#?{_PY_SPACE_RE2}]*)?"
        rf"(?P<query>\?[^#{_PY_SPACE_RE2}]*)?"
        rf"(?:#[^{_PY_SPACE_RE2}]*)?$")
#: The same, for what a page shows of it (the host, group 2).
URL_SHAPE = _URL
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: Text as the validated columns hold it (32-bit offsets: Arrow's faster kernels).
STRING = pa.string()


def re2(pattern: str) -> str | None:
    """Return a pattern of pydantic-core's regex dialect in RE2's (Arrow's), or None if it uses
    something whose meaning could differ (its fields are then checked row by row)."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", pattern[i + 2:i + 6]):
                out.append(f"\\x{{{pattern[i + 2:i + 6]}}}")
                i += 6
                continue
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", pattern[i + 2:i + 4]):
                out.append(pattern[i:i + 4])
                i += 4
                continue
            if nxt == "s":
                out.append(_RUST_SPACE if depth else f"[{_RUST_SPACE}]")
            elif nxt == "d":
                out.append(r"\p{Nd}")
            elif nxt in r".^$*+?()[]{}|\-/:":
                out.append(pattern[i:i + 2])
            else:
                return None
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Rule:
    """What one field of ``Signal`` accepts, read from the model."""

    name: str
    kind: str  # "text", "date", "list" or "other" (checked row by row)
    required: bool
    default: Any
    min_length: int | None = None
    max_length: int | None = None
    patterns: tuple[str, ...] = ()  # RE2; a field whose pattern cannot be translated is "other"
    item_patterns: tuple[str, ...] = ()


def _constraints(metadata: list[Any]) -> tuple[int | None, int | None, list[str | None]]:
    low = high = None
    patterns: list[str | None] = []
    for item in metadata:
        low = getattr(item, "min_length", low)
        high = getattr(item, "max_length", high)
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            patterns.append(re2(pattern))
    return low, high, patterns


def rules() -> tuple[Rule, ...]:
    """Return the rule of every field of ``Signal``."""
    found = []
    for name, info in Signal.model_fields.items():
        annotation = info.annotation
        low, high, patterns = _constraints(info.metadata)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        common: dict[str, Any] = {"name": name, "required": info.is_required(), "default": default}
        args = typing.get_args(annotation)
        if annotation is str and None not in patterns:
            found.append(Rule(kind="text", min_length=low, max_length=high,
                              patterns=tuple(p for p in patterns if p), **common))
        elif typing.get_origin(annotation) in (types.UnionType, typing.Union) and set(args) == {date, type(None)} \
                and not patterns:
            found.append(Rule(kind="date", **common))
        elif typing.get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis and low is None \
                and high is None and not patterns:
            item = args[0]
            item_metadata = [m for a in typing.get_args(item)[1:] for m in getattr(a, "metadata", [a])]
            item_low, item_high, item_patterns = _constraints(item_metadata)
            base = typing.get_args(item)[0] if typing.get_args(item) else item
            if base is str and item_low is None and item_high is None and None not in item_patterns:
                found.append(Rule(kind="list", item_patterns=tuple(p for p in item_patterns if p), **common))
            else:
                found.append(Rule(kind="other", **common))
        else:
            found.append(Rule(kind="other", **common))
    return tuple(found)


RULES = rules()


@dataclass
class Checked:
    """The outcome of the column checks of one block of rows."""

    columns: dict[str, pa.Array]  # every field as the dataset holds it (lists joined, dates as ISO text)
    clean: np.ndarray  # bool per row: every check passed
    key: pa.Array  # the canonical URL of a clean row (what duplicates are found by)


def check(table: pa.Table, given_null: Mapping[str, np.ndarray], taxonomy: Taxonomy,
          encode: Collection[str] = ()) -> Checked:
    """Run every check of a signal on the columns of ``table`` (one column per key read; a key
    the input leaves out is a missing column or a null). ``given_null[name]`` marks the rows where
    the input gives ``name`` as null, as opposed to leaving it out (for inputs where both read as
    null: an optional field may be left out, but not given as null). The text fields named in
    ``encode`` (which take a few values) are checked once per distinct value, and given back
    dictionary-encoded."""
    n = table.num_rows
    clean = np.ones(n, dtype=bool)
    columns: dict[str, pa.Array] = {}
    names = set(table.column_names)
    for rule in RULES:
        column = _one(table.column(rule.name)) if rule.name in names else pa.nulls(n)
        nulls = _bool(column.is_null())
        given = given_null.get(rule.name)
        explicit = given if given is not None else np.zeros(n, dtype=bool)
        # A null given is a wrong type for every kind of field but a date; a key left out is missing
        # (required) or takes the default.
        if rule.kind == "date":
            bad_null = nulls & ~explicit if rule.required else np.zeros(n, dtype=bool)
        else:
            bad_null = (nulls & explicit) | (nulls & ~explicit if rule.required else np.zeros(n, dtype=bool))
        clean &= ~bad_null
        if rule.kind == "text" and rule.name in encode and _is_text(column):
            value, ok = _text_encoded(column, rule)
        elif rule.kind == "text":
            value, ok = _text(column, rule)
        elif rule.kind == "date":
            value, ok = _date(column)
        elif rule.kind == "list":
            value, ok = _list(column, rule)
        else:
            value, ok = pa.nulls(n, STRING), nulls  # checked row by row wherever it has a value
        clean &= ok | nulls
        if rule.kind != "date" and not rule.required:
            default = _default_text(rule.default)
            if pa.types.is_dictionary(value.type):
                value = _with_default(value, nulls, default)
            else:
                value = pc.if_else(pa.array(nulls), pa.scalar(default, STRING), value)
        columns[rule.name] = value.cast(CODED if pa.types.is_dictionary(value.type) else STRING)
    key, url_ok = url_keys(columns["url"])
    clean &= url_ok
    themes = pa.array([t.id for t in taxonomy.themes], STRING)
    theme = columns["theme"]
    if pa.types.is_dictionary(theme.type):  # each distinct theme looked up once
        index = pc.index_in(theme.dictionary, value_set=themes).take(theme.indices)
    else:
        index = pc.index_in(theme, value_set=themes)
    phase_of = pc.take(pa.array([t.phase for t in taxonomy.themes], STRING), index)
    clean &= _bool(pc.fill_null(pc.equal(phase_of, columns["phase"].cast(STRING)), False))
    return Checked(columns, clean, key)


#: A column checked once per distinct value (``check``'s ``encode``): codes into its values.
CODED = pa.dictionary(pa.int32(), STRING)


def _text_encoded(column: pa.Array, rule: Rule) -> tuple[pa.Array, np.ndarray]:
    """``_text`` of a column that takes a few values: each distinct value checked once, the column
    given back dictionary-encoded (a null stays a null)."""
    encoded = pc.dictionary_encode(column)
    _, distinct_ok = _text(encoded.dictionary, rule)
    if not len(distinct_ok):
        return encoded, np.ones(len(column), dtype=bool)
    codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)
    return encoded, distinct_ok[codes]


def _with_default(encoded: pa.DictionaryArray, nulls: np.ndarray, default: str) -> pa.DictionaryArray:
    """A dictionary-encoded column with ``default`` where it is null (``nulls``)."""
    if not nulls.any():
        return encoded
    values = encoded.dictionary.cast(STRING)
    found = pc.index(values, default).as_py()
    if found < 0:
        values, found = pa.concat_arrays([values, pa.array([default], STRING)]), len(values)
    return pa.DictionaryArray.from_arrays(encoded.indices.fill_null(found), values)


def _default_text(default: Any) -> str:
    if isinstance(default, tuple):
        return ";".join(default)
    return "" if default is None else str(default)


def _one(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _bool(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _is_text(column: pa.Array | pa.DataType) -> bool:
    kind = column if isinstance(column, pa.DataType) else column.type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _text_ok(column: pa.Array, low: int | None, high: int | None, patterns: tuple[str, ...]) -> np.ndarray:
    ok = np.ones(len(column), dtype=bool)
    if low is not None or high is not None:
        length = pc.utf8_length(column)
        if low is not None:
            ok &= _bool(pc.greater_equal(length, low))
        if high is not None:
            ok &= _bool(pc.less_equal(length, high))
    for pattern in patterns:
        ok &= _bool(pc.match_substring_regex(column, pattern))
    return ok


def _text(column: pa.Array, rule: Rule) -> tuple[pa.Array, np.ndarray]:
    if not _is_text(column):
        return pa.nulls(len(column), STRING), np.zeros(len(column), dtype=bool)
    return column, _text_ok(column, rule.min_length, rule.max_length, rule.patterns)


def _date(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    n = len(column)
    if pa.types.is_date32(column.type) or pa.types.is_date64(column.type):
        column = column.cast(pa.date32())
        # Before year 1000, ISO text and Arrow's may differ: such rows are checked one at a time.
        years = pc.year(column)
        ok = _bool(pc.greater_equal(years, 1000))
        return pc.strftime(column, format="%Y-%m-%d").cast(STRING), ok
    if not _is_text(column):
        return pa.nulls(n, STRING), np.zeros(n, dtype=bool)
    empty = _bool(pc.equal(column, ""))
    shaped = _bool(pc.match_substring_regex(column, _DATE))
    year = month = day = np.zeros(n, dtype=np.int64)
    if shaped.any():
        text = pc.if_else(pa.array(shaped), column, pa.scalar("0001-01-01", column.type))
        year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int64()).to_numpy(zero_copy_only=False)
        month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int64()).to_numpy(zero_copy_only=False)
        day = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), pa.int64()).to_numpy(zero_copy_only=False)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    real = shaped & (year >= 1) & month_ok & (day >= 1) & (day <= days)
    value = pc.if_else(pa.array(empty), pa.scalar(None, column.type), column)
    return value, real | empty


def _list(column: pa.Array, rule: Rule) -> tuple[pa.Array, np.ndarray]:
    n = len(column)
    if _is_text(column):
        # "a; b" as the model reads it: split on ";", each part stripped, empty parts dropped.
        parts = pc.split_pattern(column, ";")
        items = pc.utf8_trim(pc.list_flatten(parts), characters=PY_SPACE)
        parents = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
        keep = _bool(pc.not_equal(items, ""))
        items, parents = items.filter(pa.array(keep)), parents[keep]
        counts = np.bincount(parents, minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), items)
        ok = _text_ok(items.cast(STRING), None, None, rule.item_patterns) if len(items) else np.ones(0, dtype=bool)
        bad_rows = np.bincount(parents[~ok], minlength=n) > 0
        return pc.binary_join(lists, pa.scalar(";", items.type)), ~bad_rows
    if (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)) and _is_text(column.type.value_type):
        items = pc.list_flatten(column)
        parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
        ok = _text_ok(items, None, None, rule.item_patterns) & ~_bool(items.is_null()) if len(items) \
            else np.ones(0, dtype=bool)
        bad_rows = np.bincount(parents[~ok], minlength=n) > 0
        joined = pc.binary_join(column, pa.scalar(";", column.type.value_type))
        return pc.if_else(pa.array(bad_rows), pa.scalar(None, joined.type), joined), ~bad_rows
    return pa.nulls(n, STRING), np.zeros(n, dtype=bool)


def url_keys(urls: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Return the canonical form of every URL of the common shape (``memokit.model.urls.url_key``),
    and which rows have one; a URL of another shape is left to the per-row check."""
    parts = pc.extract_regex(urls, _URL)
    ok = _bool(parts.is_valid())
    scheme, host, path, query = (pc.struct_field(parts, [i]) for i in range(4))
    text = urls.type
    query = pc.if_else(pc.greater(pc.utf8_length(query), 1), query, pa.scalar("", text))
    key = pc.binary_join_element_wise(pc.utf8_lower(scheme), pa.scalar("://", text), pc.utf8_lower(host),
                                      pc.utf8_rtrim(path, characters="/"), query, pa.scalar("", text))
    return key, ok


#: The fields read as text from JSONL (a list field may also be a list; other kinds keep their type).
TEXT_FIELDS = frozenset(rule.name for rule in RULES if rule.kind in ("text", "date"))
#: The fields that may be null (an unknown date); in Parquet a null anywhere else is a value left out.
NULLABLE = frozenset(rule.name for rule in RULES if rule.kind == "date")
