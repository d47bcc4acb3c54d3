"""Stage 2, validate: turn raw records into typed signals and a taxonomy, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..model import (
    ALL,
    BANNED_RE,
    FILTER_FIELDS,
    NO_CONTROL,
    NOT_BLANK,
    SIGNAL_FIELDS,
    Denominator,
    Problem,
    Problems,
    Signal,
    Taxonomy,
    printable,
)
from ..model.urls import url_key
from . import columnar
from .columnar import STRING
from .load import RawRecord, RawTaxonomy, find_signals_file, iter_signals, read_ahead, read_blocks, read_taxonomy

#: The columns of ``Dataset.frame``: every signal field, lists joined with ";", dates as ISO text.
COLUMNS = SIGNAL_FIELDS
#: The columns ``Dataset.frame`` holds as categories (each value once, sorted, and a small integer
#: per signal): the fields a filter names, which take a few values (theme, source, community, …), and
#: ``found_by`` and ``coded_by``. About a third of the frame's memory as text.
CATEGORIES = tuple(name for name in COLUMNS if name in FILTER_FIELDS or name in ("found_by", "coded_by"))
#: Text as pandas holds it (64-bit offsets: a column of ten million signals may pass 2 GB).
WIDE = pa.large_string()


class Dataset:
    """Validated signals with the taxonomy they were checked against.

    The signals are held as one pandas frame with a column per field (text columns backed by
    Arrow, the few-valued ones as categories, ``CATEGORIES``; ``created`` as ISO text or missing,
    ``found_by`` joined with ";"), which keeps millions of signals within memory and holds no
    Python object per signal; ``signals`` gives them back as ``Signal`` objects for small datasets
    and tests.
    """

    def __init__(self, signals: Sequence[Signal] | None, taxonomy: Taxonomy, source_path: Path,
                 warnings: tuple[str, ...] = (), *, frame: pd.DataFrame | None = None) -> None:
        if frame is None:
            columns = _Columns()
            for signal in signals or ():
                columns.add(signal)
            frame = columns.frame()
        self.frame = frame
        self.taxonomy = taxonomy
        self.source_path = source_path
        self.warnings = tuple(warnings)
        self._signals = tuple(signals) if signals is not None else None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def signals(self) -> tuple[Signal, ...]:
        if self._signals is None:
            rows = self.frame.astype(object).where(self.frame.notna(), None).to_dict("records")
            self._signals = tuple(Signal.model_validate(row) for row in rows)
        return self._signals


def frame_value(signal: Signal, name: str) -> str | None:
    """Return a field of ``signal`` as ``Dataset.frame`` holds it."""
    value = getattr(signal, name)
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)


class _Columns:
    """Accumulates validated signals column by column."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {name: [] for name in COLUMNS}

    def add(self, signal: Signal) -> None:
        for name in COLUMNS:
            self.values[name].append(frame_value(signal, name))

    def frame(self) -> pd.DataFrame:
        return to_frame([pa.table({name: pa.array(values, STRING) for name, values in self.values.items()})])


def to_frame(tables: list[pa.Table]) -> pd.DataFrame:
    """Return validated columns as ``Dataset.frame``: one Arrow-backed text column per field, the
    ``CATEGORIES`` as pandas categories. The table is taken out of ``tables``, so that no one else
    holds it and its memory is freed as it is turned into the frame."""
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    table = encoded(tables.pop().select(list(COLUMNS)))
    # One chunk per column, a column at a time (each old one is freed as its copy is made): a page of
    # posts is then gathered from one array, not from hundreds of blocks.
    for index, name in enumerate(COLUMNS):
        column = table.column(name)
        table = table.set_column(index, name, _sorted_categories(column) if name in CATEGORIES
                                 else column.cast(WIDE).combine_chunks())
    frame: pd.DataFrame = table.to_pandas(types_mapper={WIDE: text}.get, self_destruct=True)
    return frame


def mapped(values: pd.Series, how: Callable[[str], str]) -> pd.Series:
    """``how`` of every value of a column of ``Dataset.frame``, worked out once per distinct value;
    of a column of categories, as categories (no text per signal)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.map({value: how(value) for value in values.unique()})
    results = [how(str(value)) for value in values.cat.categories]
    categories = sorted(set(results))
    lookup = np.array([categories.index(result) for result in results] + [-1], dtype=np.int64)  # -1: a null's
    codes = lookup[values.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=values.cat.categories.dtype)),
                     index=values.index, name=values.name)


def encoded(table: pa.Table) -> pa.Table:
    """``table`` with its ``CATEGORIES`` columns dictionary-encoded (each block has a dictionary of
    its own until ``to_frame`` makes one of them)."""
    for name in CATEGORIES:
        index = table.schema.get_field_index(name)
        if index >= 0 and not pa.types.is_dictionary(table.schema.field(index).type):
            column = table.column(index).cast(WIDE)
            table = table.set_column(index, name, pc.dictionary_encode(column) if column.num_chunks
                                     else pa.chunked_array([], _DICTIONARY))
    return table


_DICTIONARY = pa.dictionary(pa.int32(), WIDE)


def _sorted_categories(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """One dictionary-encoded array of ``column``'s values: its dictionary only the values that occur,
    sorted (pandas' categories, in the order a sort of the text would give), its codes as small as
    the number of values allows."""
    combined = column.combine_chunks() if column.num_chunks else pa.array([], _DICTIONARY)
    codes = combined.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(combined.dictionary)))
    values = combined.dictionary.cast(WIDE).take(pa.array(present, pa.int64()))
    order = pc.array_sort_indices(values).to_numpy(zero_copy_only=False)
    rank = np.full(len(combined.dictionary) + 1, -1, dtype=np.int64)  # the last for a null's -1
    rank[present[order]] = np.arange(len(order))
    small = next(kind for kind in (np.int8, np.int16, np.int32) if len(order) < np.iinfo(kind).max)
    new = rank[codes].astype(small)
    return pa.DictionaryArray.from_arrays(pa.array(new, mask=new < 0), values.take(pa.array(order)))


#: How many signals are read between two reports to ``progress``.
PROGRESS_EVERY = 5000


def load_dataset(data_dir: Path, progress: Callable[[str], None] | None = None) -> Dataset:
    """Load and validate ``data_dir``; raise ``InputError`` listing every problem. ``progress``
    hears how many signals have been read, block by block."""
    problems = Problems()
    raw_taxonomy = read_taxonomy(data_dir, problems)
    taxonomy = validate_taxonomy(raw_taxonomy, problems) if raw_taxonomy else None
    signals_path = find_signals_file(data_dir, problems)
    warnings: list[str] = []
    found: list[pa.Table] = []
    if signals_path is not None and taxonomy is not None:
        found.append(_load_signals(signals_path, taxonomy, problems, warnings, progress))
    elif signals_path is not None:
        for _ in iter_signals(signals_path, problems):
            pass  # report unreadable lines even when the taxonomy is broken
    problems.raise_if_any()
    assert taxonomy is not None and signals_path is not None and found
    return Dataset(None, taxonomy, signals_path, tuple(warnings), frame=to_frame(found))


# Where a problem stands among the others: after the problems met while reading a record, a
# record's own problems, then its duplicate id, then its duplicate URL (the order of the per-row path).
_READING, _OWN_PROBLEM, _DUPLICATE_ID, _DUPLICATE_URL = range(4)


def _load_signals(path: Path, taxonomy: Taxonomy, problems: Problems, warnings: list[str],
                  progress: Callable[[str], None] | None) -> pa.Table:
    """Read and validate the signals file as columns; check one at a time only the rows the column
    checks do not pass, so that their problems are worded as always. Return the valid signals'
    columns (in file order)."""
    found: list[tuple[int, int, int, Problem]] = []  # (record, rank, order, problem)
    checker = _SignalChecker(taxonomy, Problems(), warnings)
    unknown: dict[str, tuple[int, int, int]] = {}  # name -> (record, position, line)
    parts: list[pa.Table] = []
    read = 0

    def add(ordinal: int, rank: int, items: Iterable[Problem]) -> None:
        for problem in items:
            found.append((ordinal, rank, len(found), problem))

    def seen(name: str, ordinal: int, position: int, line: int) -> None:
        if name not in _KNOWN and (name not in unknown or unknown[name][:2] > (ordinal, position)):
            unknown[name] = (ordinal, position, line)

    for block in read_ahead(read_blocks(path, COLUMNS)):
        for ordinal, problem in block.problems:
            add(ordinal, _READING, [problem])
        for name, line, position in block.unknown:
            seen(name, block.start, position, line)
        if block.table is not None:
            checked = columnar.check(block.table, block.given_null, taxonomy, CATEGORIES)
            clean = checked.clean & ~block.per_row
            assert block.record is not None
            alone = [(block.start + int(i), block.record(int(i))) for i in np.flatnonzero(~clean)]
            part = pa.table({**checked.columns, _KEY: checked.key,
                             _LINE: pa.array(block.lines, pa.int64()),
                             _ORDINAL: pa.array(np.arange(block.start, block.start + len(block)), pa.int64()),
                             _OK: pa.array(clean)})
            part = part.filter(pa.array(clean)) if len(alone) else part
        else:
            alone = [(block.start + i, record) for i, record in enumerate(block.records)]
            part = None
        rows = []
        for ordinal, record in alone:
            for position, name in enumerate(record.data):
                seen(name, ordinal, position, record.line)
            before = len(checker.problems.items)
            signal, ok, key = checker.check_row(record)
            add(ordinal, _OWN_PROBLEM, checker.problems.items[before:])
            if signal is not None:  # valid as a signal: its id and URL count for duplicates
                rows.append({**{name: frame_value(signal, name) for name in COLUMNS}, _KEY: key,
                             _LINE: record.line, _ORDINAL: ordinal, _OK: ok})
        if rows:
            extra = pa.Table.from_pylist(rows, schema=_schema())
            part = extra if part is None else pa.concat_tables([part.cast(_schema()), extra])
            part = part.take(pc.sort_indices(part[_ORDINAL]))
        if part is not None and part.num_rows:
            # pandas holds text with 64-bit offsets (no copy later); the few-valued columns as codes.
            parts.append(encoded(part).cast(_schema(WIDE, _DICTIONARY)))
        read += len(block)
        if progress is not None and len(block):
            progress(f"reading {path.name}: {read:,} signals")

    table = pa.concat_tables(parts) if parts else _schema(WIDE, _DICTIONARY).empty_table()
    parts.clear()
    keep = np.asarray(table[_OK].to_numpy(), dtype=bool)
    lines = table[_LINE].to_numpy()
    ordinals = table[_ORDINAL].to_numpy()
    for column, rank, field, message in (
        (_KEY, _DUPLICATE_URL, "url", "duplicate URL {value!r} (same post as line {first})"),
        ("id", _DUPLICATE_ID, "id", "duplicate id {value!r} (first at line {first})"),
    ):
        repeated, first = _repeats(table[column])
        shown = table["url"] if column == _KEY else table[column]
        for i in np.flatnonzero(repeated):
            add(int(ordinals[i]), rank, [Problem(str(path), int(lines[i]), field,
                                                 message.format(value=shown[int(i)].as_py(), first=lines[first[i]]))])
        keep &= ~repeated
    for *_, problem in sorted(found, key=lambda item: item[:3]):
        problems.items.append(problem)
    for name, (_, _, line) in sorted(unknown.items(), key=lambda item: item[1][:2]):
        warnings.append(printable(f"{path}:{line}: {name}: unknown field ignored (known: {', '.join(SIGNAL_FIELDS)})"))
    # (A build stops on any problem: a filter, and its copy, is for the rows of a file with problems.)
    return table.select(list(COLUMNS)) if keep.all() else table.filter(pa.array(keep)).select(list(COLUMNS))


_KEY, _LINE, _ORDINAL, _OK = "\0key", "\0line", "\0ordinal", "\0ok"


def _schema(text: pa.DataType = STRING, coded: pa.DataType | None = None) -> pa.Schema:
    """The columns of a block's valid signals: text (``coded``: the ``CATEGORIES`` as codes), and
    the canonical URL, line, record number and whether every check passed."""
    return pa.schema([*((name, coded if coded is not None and name in CATEGORIES else text) for name in COLUMNS),
                      (_KEY, text), (_LINE, pa.int64()), (_ORDINAL, pa.int64()), (_OK, pa.bool_())])


def _repeats(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Return which rows repeat an earlier row's value (nulls never do), and for each row the index
    of the first row with its value."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    # Codes are given in order of first appearance: a row is new when its code exceeds all before it.
    before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    new = (codes > before) & (codes >= 0)
    first_of_code = np.flatnonzero(new)
    first = np.where(codes >= 0, first_of_code[np.maximum(codes, 0)] if len(first_of_code) else 0, 0)
    return (~new) & (codes >= 0), first


# --- taxonomy ---------------------------------------------------------------------------------


def validate_taxonomy(raw: RawTaxonomy, problems: Problems) -> Taxonomy | None:
    """Validate the taxonomy tables and their cross-references."""
    before = len(problems.items)
    locate = _TomlLocator(raw.text)
    try:
        taxonomy = Taxonomy.model_validate(raw.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            table = loc[0] if loc else None
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            field = ".".join(str(part) for part in loc[2:]) if index is not None else ".".join(map(str, loc[1:]))
            line = locate.line(str(table), index, field.split(".")[0] if field else None)
            name = f"{table}[{index + 1}].{field}" if index is not None and field else ".".join(map(str, loc))
            problems.add(raw.path, line, name, _message(error))
        return None

    phase_ids = [p.id for p in taxonomy.phases]
    theme_ids = [t.id for t in taxonomy.themes]
    for kind, ids in (("phases", phase_ids), ("themes", theme_ids)):
        seen: set[str] = set()
        for index, item_id in enumerate(ids):
            if item_id in seen:
                problems.add(raw.path, locate.line(kind, index, "id"), f"{kind}[{index + 1}].id", f"duplicate id {item_id!r}")
            seen.add(item_id)
    for index, theme in enumerate(taxonomy.themes):
        if theme.phase not in phase_ids:
            problems.add(
                raw.path, locate.line("themes", index, "phase"), f"themes[{index + 1}].phase",
                f"unknown phase {theme.phase!r}; expected one of: {', '.join(phase_ids)}",
            )
    orders = [t.order for t in taxonomy.themes]
    for index, theme in enumerate(taxonomy.themes):
        if orders.count(theme.order) > 1:
            problems.add(raw.path, locate.line("themes", index, "order"), f"themes[{index + 1}].order",
                         f"order {theme.order} is used by more than one theme")
    for phase in taxonomy.phases:
        if not taxonomy.themes_of(phase.id):
            problems.add(raw.path, locate.line("phases", phase_ids.index(phase.id), "id"), "phases",
                         f"phase {phase.id!r} has no theme")

    denominator_ids: set[str] = set()
    for index, denominator in enumerate(taxonomy.denominators):
        line = locate.line("denominators", index, "where")
        if denominator.id in denominator_ids:
            problems.add(raw.path, locate.line("denominators", index, "id"), f"denominators[{index + 1}].id",
                         f"duplicate id {denominator.id!r}")
        denominator_ids.add(denominator.id)
        if denominator.id == ALL and denominator.where:
            problems.add(raw.path, line, f"denominators[{index + 1}].where", "the 'all' denominator cannot filter")
        known = {"theme": theme_ids, "phase": phase_ids}
        for field, values in denominator.allowed().items():
            if field not in FILTER_FIELDS:
                problems.add(raw.path, line, f"denominators[{index + 1}].where.{field}",
                             f"cannot filter on {field!r}; expected one of: {', '.join(FILTER_FIELDS)}")
            elif field in known:
                for value in values:
                    if value not in known[field]:
                        problems.add(raw.path, line, f"denominators[{index + 1}].where.{field}",
                                     f"unknown {field} {value!r}; expected one of: {', '.join(known[field])}")
    if len(problems.items) > before:
        return None

    denominators = taxonomy.denominators
    if ALL not in denominator_ids:
        denominators = (Denominator(id=ALL, label="all posts"), *denominators)
    themes = tuple(sorted(taxonomy.themes, key=lambda t: t.order))
    return taxonomy.model_copy(update={"themes": themes, "denominators": denominators})


class _TomlLocator:
    """Find the line of the N-th ``[[table]]`` (and a key inside it) to point problems at."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def line(self, table: str, index: int | None, key: str | None) -> int | None:
        header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
        starts = [number for number, line in enumerate(self.lines) if header.match(line)]
        if index is None or index >= len(starts):
            plain = re.compile(rf"^\s*(\[\s*{re.escape(table)}\s*\]|{re.escape(table)}\s*=)")
            for number, line in enumerate(self.lines):
                if plain.match(line):
                    return number + 1
            return starts[0] + 1 if starts else None
        start = starts[index]
        if key:
            any_header = re.compile(r"^\s*\[")
            assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for number in range(start + 1, len(self.lines)):
                if any_header.match(self.lines[number]):
                    break
                if assignment.match(self.lines[number]):
                    return number + 1
        return start + 1


# --- signals ----------------------------------------------------------------------------------


def validate_signals(
    records: Iterable[RawRecord], taxonomy: Taxonomy, problems: Problems, warnings: list[str]
) -> list[Signal]:
    """Validate each record and the cross-record rules (known theme, phase, unique id and URL)."""
    checker = _SignalChecker(taxonomy, problems, warnings)
    signals = [signal for record in records if (signal := checker.check(record)) is not None]
    checker.finish(None)
    return signals


class _SignalChecker:
    """Checks records one at a time, remembering ids and URLs to find duplicates."""

    def __init__(self, taxonomy: Taxonomy, problems: Problems, warnings: list[str]) -> None:
        self.themes = {t.id: t for t in taxonomy.themes}
        self.theme_list = ", ".join(self.themes)
        self.problems = problems
        self.warnings = warnings
        self.first_id: dict[str, int] = {}
        self.first_url: dict[str, int] = {}
        self.unknown_fields: dict[str, tuple[Path, int]] = {}

    def check(self, record: RawRecord) -> Signal | None:
        """Return the record as a valid signal, or None after recording its problems."""
        signal, ok, key = self.check_row(record)
        if signal is None:
            return None
        problems = self.problems
        first = self.first_id.setdefault(signal.id, record.line)
        if first != record.line:
            problems.add(record.path, record.line, "id", f"duplicate id {signal.id!r} (first at line {first})")
            ok = False
        if key is not None:
            first = self.first_url.setdefault(key, record.line)
            if first != record.line:
                problems.add(record.path, record.line, "url",
                             f"duplicate URL {signal.url!r} (same post as line {first})")
                ok = False
        return signal if ok else None

    def check_row(self, record: RawRecord) -> tuple[Signal | None, bool, str | None]:
        """Check one record alone (not against the others): return it as a signal (None if it is
        not one), whether it passed every check, and its URL's canonical form."""
        problems = self.problems
        for name in record.data:
            if name not in _KNOWN and name not in self.unknown_fields:
                self.unknown_fields[name] = (record.path, record.line)
        try:
            signal = Signal.model_validate(record.data)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or None
                problems.add(record.path, record.line, field, _message(error))
            return None, False, None
        ok = True
        key, url_problem = url_key(signal.url)
        if url_problem:
            problems.add(record.path, record.line, "url", url_problem)
            ok = False
        theme = self.themes.get(signal.theme)
        if theme is None:
            problems.add(record.path, record.line, "theme",
                         f"unknown theme {signal.theme!r}; expected one of: {self.theme_list}")
            ok = False
        elif signal.phase != theme.phase:
            problems.add(record.path, record.line, "phase",
                         f"expected {theme.phase!r}, the phase of theme {theme.id!r}, got {signal.phase!r}")
            ok = False
        return signal, ok, key

    def finish(self, path: Path | None) -> None:
        """Turn the unknown fields seen into one warning each."""
        for name, (where, line) in self.unknown_fields.items():
            self.warnings.append(printable(f"{path or where}:{line}: {name}: unknown field ignored "
                                           f"(known: {', '.join(SIGNAL_FIELDS)})"))


_KNOWN = frozenset(SIGNAL_FIELDS)


_MESSAGES = {
    "missing": "required field is missing",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a table",
    "extra_forbidden": "unknown field",
}


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    got = error.get("input")
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    if kind == "string_pattern_mismatch" and error["ctx"]["pattern"] in (NO_CONTROL, NOT_BLANK):
        if isinstance(got, str) and BANNED_RE.search(got):
            return "contains control characters or bidirectional overrides"
        return "must not be blank"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {error['ctx']['pattern']}, got {_short(got)}"
    if kind == "string_too_long":
        return f"too long: {len(got or '')} characters, at most {error['ctx']['max_length']}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return "must not be empty"
    if kind in _MESSAGES:
        suffix = "" if kind in ("missing", "extra_forbidden") else f", got {type(got).__name__}"
        return _MESSAGES[kind] + suffix
    return str(error["msg"])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"
