"""Stage 1, load: read the signals (JSONL, CSV or Parquet) and the taxonomy (TOML).

Signals are read in blocks of columns (``read_blocks``): JSONL by pyarrow's parser, CSV by Python's
own reader, Parquet by pyarrow. Where the fast reader refuses a run of lines, those lines are read
one at a time as before (``iter_signals``), which words each problem with its line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..model import Problem, Problems
from ..model.files import first_line, parse_toml, read_text

SIGNAL_FILES = ("signals.jsonl", "signals.csv", "signals.parquet")
TAXONOMY_FILE = "taxonomy.toml"


@dataclass(frozen=True)
class RawRecord:
    """One record as read from disk, before validation, with where it came from."""

    path: Path
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class RawTaxonomy:
    """The taxonomy file's parsed tables and its text (to point problems at lines)."""

    path: Path
    text: str
    data: dict[str, Any]


def find_signals_file(data_dir: Path, problems: Problems) -> Path | None:
    """Return the one signals file in ``data_dir``, or record why there is none."""
    found = [data_dir / name for name in SIGNAL_FILES if (data_dir / name).is_file()]
    if not data_dir.is_dir():
        problems.add(data_dir, None, None, "data folder not found")
        return None
    if not found:
        problems.add(data_dir, None, None, f"no signals file: expected one of {', '.join(SIGNAL_FILES)}")
        return None
    if len(found) > 1:
        problems.add(data_dir, None, None, f"both {' and '.join(p.name for p in found)} exist: keep one")
        return None
    return found[0]


def read_signals(path: Path, problems: Problems) -> list[RawRecord]:
    """Read a JSONL or CSV signals file; every unreadable line becomes a problem."""
    return list(iter_signals(path, problems))


def iter_signals(path: Path, problems: Problems) -> Iterator[RawRecord]:
    """Yield the records of a JSONL or CSV signals file one at a time (a large file is never
    held in memory whole); every unreadable line becomes a problem."""
    count = 0
    try:
        with path.open("rb") as handle:
            if path.suffix == ".parquet":
                lines = _read_parquet(path, handle, problems)
            elif path.suffix == ".csv":
                lines = _read_csv(path, handle, problems)
            else:
                lines = _read_jsonl(path, handle, problems)
            for record in lines:
                count += 1
                yield record
    except OSError as exc:
        problems.add(path, None, None, f"cannot read: {exc.strerror or exc}")
        return
    if not count and not problems:
        problems.add(path, None, None, "no signals: the file holds no records")


def _read_jsonl(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[RawRecord]:
    return _jsonl_records(path, enumerate(handle, start=1), problems)


def _jsonl_records(path: Path, lines: Iterable[tuple[int, bytes | bytearray]], problems: Problems) -> Iterator[RawRecord]:
    """Read numbered JSONL lines one at a time; every unreadable line becomes a problem."""
    for number, chunk in lines:
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        chunk = chunk.rstrip(b"\r\n")
        if not chunk.strip():
            continue
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(path, number, None, f"invalid UTF-8 at byte {exc.start + 1} of the line")
            continue
        try:
            data = json.loads(line, object_pairs_hook=_object)
        except _DuplicateKey as exc:
            problems.add(path, number, exc.key, "the key appears twice in the object: keep one")
            continue
        except json.JSONDecodeError as exc:
            problems.add(path, number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except (RecursionError, ValueError) as exc:  # absurd nesting, a number of thousands of digits
            problems.add(path, number, None, f"invalid JSON: {first_line(exc)}")
            continue
        if not isinstance(data, dict):
            problems.add(path, number, None, f"expected a JSON object, got {type(data).__name__}")
            continue
        yield RawRecord(path, number, data)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json`` would silently keep the last)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _read_csv(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[RawRecord]:
    for start, header, row in _csv_rows(path, handle, problems):
        # A spreadsheet on Windows writes line breaks inside quoted cells as CRLF.
        yield RawRecord(path, start, dict(zip(header, (cell.replace("\r\n", "\n") for cell in row), strict=True)))


def _csv_rows(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[tuple[int, list[str], list[str]]]:
    """Yield each record of a CSV file as (its first line, the header, its cells)."""
    reader = csv.reader(_decoded_lines(path, handle, problems), strict=True)
    header: list[str] | None = None
    end_of_previous = 0
    try:
        for row in reader:
            start = end_of_previous + 1
            end_of_previous = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                duplicates = sorted({h for h in header if header.count(h) > 1})
                if duplicates:
                    problems.add(path, start, None, f"duplicate column(s) in header: {', '.join(duplicates)}")
                    return
                continue
            if len(row) != len(header):
                problems.add(path, start, None, f"expected {len(header)} columns as in the header, got {len(row)}")
                continue
            yield start, header, row
    except csv.Error as exc:
        # The record that broke started after the last complete one (an unclosed quote runs on).
        problems.add(path, end_of_previous + 1 if "end of data" in str(exc) else reader.line_num, None,
                     f"malformed CSV: {exc}")


def _read_parquet(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[RawRecord]:
    """Yield each row of a Parquet file as a record; its line is the row's number, from 1."""
    for block in _parquet_blocks(path, handle, ()):
        for _, problem in block.problems:
            problems.items.append(problem)
        if block.record is not None:
            for i in range(len(block)):
                yield block.record(i)


def _decoded_lines(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[str]:
    # Decode line by line so that invalid UTF-8 is reported at its own line; stop there.
    for number, chunk in enumerate(handle, start=1):
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        try:
            yield chunk.decode("utf-8")
        except UnicodeDecodeError:
            problems.add(path, number, None, "invalid UTF-8: save the file as UTF-8")
            return


def read_taxonomy(data_dir: Path, problems: Problems) -> RawTaxonomy | None:
    """Read ``taxonomy.toml``; a missing file or a syntax error becomes a problem."""
    path = data_dir / TAXONOMY_FILE
    text = read_text(path, problems, missing="taxonomy file not found")
    if text is None:
        return None
    data = parse_toml(path, text, problems)
    if data is None:
        return None
    return RawTaxonomy(path, text, data)


def read_agreement(data_dir: Path, problems: Problems) -> Any:
    """Read ``agreement.json`` (what ``memokit agreement --save`` measured), if the data has one:
    an ``AgreementSummary``, or None; a file that is not one becomes a problem."""
    from pydantic import ValidationError

    from ..model.agreement import AGREEMENT_FILE, AgreementSummary

    path = data_dir / AGREEMENT_FILE
    if not path.is_file():
        return None
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        return AgreementSummary.model_validate_json(text)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or None
            problems.add(path, None, field, str(error["msg"]))
        return None


# --- reading in blocks of columns ---------------------------------------------------------------

#: Bytes of JSONL handed to the column reader at a time (a few thousand lines).
BLOCK_BYTES = 8 << 20
#: Records of CSV, and rows of Parquet, per block.
BLOCK_ROWS = 65_536
#: A run of lines the column reader refuses is halved until it is this short, then read line by line.
SMALLEST_RUN = 64
_BOM = b"\xef\xbb\xbf"


@dataclass
class Block:
    """Consecutive records of a signals file, as columns where the fast reader could read them.

    ``table`` has one column per key read (None: the records are in ``records``, read one at a
    time); ``lines`` holds each row's line (a Parquet file's row number); ``given_null[name]``
    marks the rows that give ``name`` as null rather than leaving it out; ``per_row`` marks rows to
    check one at a time whatever the columns say; ``record(i)`` is row ``i`` as a ``RawRecord``.
    ``problems`` are those met while reading, each with the number of records read before it;
    ``unknown`` the keys of a header or schema that no field has, with the line and position of
    their first appearance."""

    start: int
    lines: Any  # numpy array of int
    table: Any = None  # pyarrow.Table
    given_null: dict[str, Any] = field(default_factory=dict)
    per_row: Any = None  # numpy array of bool
    record: Callable[[int], RawRecord] | None = None
    records: list[RawRecord] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    unknown: list[tuple[str, int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) if self.table is None else int(self.table.num_rows)


def read_blocks(path: Path, known: tuple[str, ...]) -> Iterator[Block]:
    """Yield the records of a signals file in blocks (``Block``); ``known`` are the fields of a
    signal. A file that cannot be opened, or holds no record, ends with a block holding only that
    problem."""
    count = 0
    problems: list[Problem] = []
    try:
        with path.open("rb") as handle:
            if path.suffix == ".parquet":
                blocks = _parquet_blocks(path, handle, known)
            elif path.suffix == ".csv":
                blocks = _csv_blocks(path, handle)
            else:
                blocks = _jsonl_blocks(path, handle, known)
            for block in blocks:
                count += len(block)
                problems.extend(problem for _, problem in block.problems)
                yield block
    except OSError as exc:
        yield Block(count, [], problems=[(count, Problem(str(path), None, None,
                                                         f"cannot read: {exc.strerror or exc}"))])
        return
    if not count and not problems:
        yield Block(0, [], problems=[(0, Problem(str(path), None, None, "no signals: the file holds no records"))])


def read_ahead(items: Iterator[Block]) -> Iterator[Block]:
    """Yield the blocks of ``items`` (``read_blocks``), each read on a thread of its own while the
    one before it is checked: pyarrow's parser and compute kernels release the GIL, so on two cores
    the reading and the checking overlap. At most one block waits."""
    import queue
    import threading

    waiting: queue.Queue[tuple[Block | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_on(item: tuple[Block | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for block in items:
                if not hand_on((block, None)):
                    return
            hand_on((None, None))
        except BaseException as exc:  # given to the reader of the blocks, in its thread
            hand_on((None, exc))
        finally:
            if isinstance(items, Generator):
                items.close()  # the file, closed in the thread that read it

    thread = threading.Thread(target=read, name="memokit-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            block, error = waiting.get()
            if error is not None:
                raise error
            if block is None:
                return
            yield block
    finally:
        stop.set()
        thread.join()


def _positioned(records: Iterator[RawRecord], problems: Problems, start: int, block: Block) -> None:
    """Run a per-line reader into ``block``, tagging each problem with the records read before it."""
    done = 0
    for record in records:
        block.problems.extend((start + len(block.records), p) for p in problems.items[done:])
        done = len(problems.items)
        block.records.append(record)
    block.problems.extend((start + len(block.records), p) for p in problems.items[done:])


def _jsonl_blocks(path: Path, handle: io.BufferedIOBase, known: tuple[str, ...]) -> Iterator[Block]:
    import numpy as np

    first_line, start = 1, 0
    while True:
        # Read into a buffer that the rest of the line is appended to in place (not a copy of both).
        buf = bytearray(BLOCK_BYTES)
        del buf[handle.readinto(buf):]
        if not buf:
            return
        if not buf.endswith(b"\n"):
            buf += handle.readline()
        newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
        starts = np.concatenate([[0], newlines + 1])
        if starts[-1] == len(buf):
            starts = starts[:-1]
        ends = np.append(starts[1:], len(buf))
        for block in _jsonl_runs(path, buf, starts, ends, first_line, start, known):
            start += len(block)
            yield block
        first_line += len(starts)


def _jsonl_runs(path: Path, buf: bytearray, starts: Any, ends: Any, first_line: int, start: int,
                known: tuple[str, ...]) -> Iterator[Block]:
    """Read lines ``starts``/``ends`` of ``buf`` as columns; a run the reader refuses is halved
    until it is short, and then read one line at a time."""
    pending = [(0, len(starts))]
    while pending:
        low, high = pending.pop(0)
        block = _jsonl_columns(path, buf, starts[low:high], ends[low:high], first_line + low, start, known)
        if block is None and high - low > SMALLEST_RUN:
            middle = (low + high) // 2
            pending[:0] = [(low, middle), (middle, high)]
            continue
        if block is None:
            block = Block(start, [])
            lines = ((first_line + low + i, buf[s:e]) for i, (s, e) in enumerate(zip(starts[low:high],
                                                                                     ends[low:high], strict=True)))
            collected = Problems()
            _positioned(_jsonl_records(path, lines, collected), collected, start, block)
            block.lines = [record.line for record in block.records]
        start += len(block)
        yield block


def _jsonl_columns(path: Path, buf: bytearray, starts: Any, ends: Any, first_line: int, start: int,
                   known: tuple[str, ...]) -> Block | None:
    """Read a run of JSONL lines with pyarrow; None if it refuses them, or reads them otherwise
    than Python's ``json`` would (then they are read line by line)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    from .columnar import STRING, TEXT_FIELDS

    starts = starts.copy()
    if first_line == 1 and buf.startswith(_BOM):
        starts[0] += 3
    low, high = int(starts[0]), int(ends[-1])
    run = memoryview(buf)[low:high]  # a view: no copy
    if not _utf8(run):
        return None
    # A line is blank when it holds only white space; those are skipped, as the line reader does.
    nonblank = np.frombuffer(buf, dtype=np.uint8)[np.minimum(starts, len(buf) - 1)] == ord("{")
    for i in np.flatnonzero(~nonblank):
        nonblank[i] = bool(buf[int(starts[i]):int(ends[i])].strip())
    rows = np.flatnonzero(nonblank)
    if not len(rows):
        return Block(start, np.zeros(0, dtype=np.int64))
    schema = pa.schema([(name, STRING) for name in known if name in TEXT_FIELDS])
    try:
        table = pj.read_json(pa.BufferReader(run), read_options=pj.ReadOptions(block_size=1 << 20, use_threads=True),
                             parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != len(rows):
        return None  # two objects on one line, or something else read otherwise
    row_starts = starts[rows] - low
    # A key with the value null is told apart from a key left out by finding the nulls in the text:
    # every null of a row must belong to a field the row gives as null, or the row is checked alone.
    found = np.array([m.start() for m in re.finditer(rb"null", run)], dtype=np.int64)
    owner = np.searchsorted(row_starts, found, side="right") - 1
    nulls = np.bincount(owner, minlength=len(rows))
    keys = _keys_of(np.frombuffer(run, dtype=np.uint8), found, known)
    attributed = np.bincount(owner[keys >= 0], minlength=len(rows))
    given: dict[str, Any] = {}
    for index in np.unique(keys[keys >= 0]).tolist():
        given[known[index]] = np.zeros(len(rows), dtype=bool)
        given[known[index]][owner[keys == index]] = True
    row_ends = np.append(row_starts[1:], len(run))
    per_row = nulls > attributed
    for name in table.column_names:
        if name not in known:  # an unknown key: the line reader says what it holds, and where
            per_row |= np.asarray(table.column(name).is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lines = first_line + rows

    def record(i: int) -> RawRecord:
        line = buf[low + int(row_starts[i]):low + int(row_ends[i])]
        number = int(lines[i])
        collected = Problems()
        found = list(_jsonl_records(path, iter([(number, line)]), collected))
        return found[0] if found else RawRecord(path, number, {})

    return Block(start, lines, table=table, given_null=given, per_row=per_row, record=record)


def _utf8(data: memoryview) -> bool:
    """Whether ``data`` is valid UTF-8 (as Python's strict decoder judges it), checked by Arrow
    without making a Python string of it."""
    import numpy as np
    import pyarrow as pa

    text = pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


#: How far before a null its key may begin (``"key"``, the colon and any white space).
_KEY_REACH = 120


def _keys_of(text: Any, at: Any, known: tuple[str, ...]) -> Any:
    """For each position ``at`` of ``text`` (bytes as a numpy array), the index in ``known`` of the
    key whose value begins there (``"created": null``: white space around the colon allowed, the
    key's opening quote not escaped, within ``_KEY_REACH`` bytes), or -1; all at once, not a
    search per position."""
    import numpy as np

    def byte(where: Any) -> Any:
        return np.where(where >= 0, text[np.maximum(where, 0)], -1)

    def back_over_space(where: Any) -> Any:
        for _ in range(_KEY_REACH + 1):
            space = np.isin(byte(where), (0x20, 0x09, 0x0D))
            if not space.any():
                break
            where = np.where(space, where - 1, where)
        return where

    colon = back_over_space(at - 1)
    quote = back_over_space(colon - 1)  # the key's closing quote
    shaped = (byte(colon) == ord(":")) & (byte(quote) == ord('"'))
    found = np.full(len(at), -1, dtype=np.int64)
    for index, name in enumerate(known):
        opening = quote - len(name) - 1
        match = shaped & (found < 0) & (opening >= 0) & (at - opening <= _KEY_REACH) & (byte(opening) == ord('"')) \
            & (byte(opening - 1) != ord("\\"))
        for offset, char in enumerate(name.encode()):
            match &= byte(opening + 1 + offset) == char
        found[match] = index
    return found


def _csv_blocks(path: Path, handle: BinaryIO) -> Iterator[Block]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .columnar import STRING

    collected = Problems()
    rows = _csv_rows(path, handle, collected)
    start, done, header_seen = 0, 0, False
    while True:
        batch: list[tuple[int, list[str], list[str]]] = []
        block = Block(start, [])
        for row in rows:
            block.problems.extend((start + len(batch), p) for p in collected.items[done:])
            done = len(collected.items)
            batch.append(row)
            if len(batch) == BLOCK_ROWS:
                break
        block.problems.extend((start + len(batch), p) for p in collected.items[done:])
        done = len(collected.items)
        if not batch:
            if block.problems:
                yield block
            return
        header = batch[0][1]
        columns = list(zip(*(cells for _, _, cells in batch), strict=True))
        # A spreadsheet on Windows writes line breaks inside quoted cells as CRLF.
        block.table = pa.table({name: pc.replace_substring(pa.array(values, STRING), "\r\n", "\n")
                                for name, values in zip(header, columns, strict=True)})
        block.lines = np.array([line for line, _, _ in batch], dtype=np.int64)
        block.per_row = np.zeros(len(batch), dtype=bool)

        def record(i: int, batch: list[tuple[int, list[str], list[str]]] = batch) -> RawRecord:
            line, names, cells = batch[i]
            return RawRecord(path, line, dict(zip(names, (c.replace("\r\n", "\n") for c in cells), strict=True)))

        block.record = record
        if not header_seen:
            header_seen = True
            block.unknown = [(name, batch[0][0], position) for position, name in enumerate(header)]
        yield block
        start += len(batch)


def _parquet_blocks(path: Path, handle: BinaryIO, known: tuple[str, ...]) -> Iterator[Block]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .columnar import NULLABLE

    start = 0
    try:
        parquet = pq.ParquetFile(handle)
        batches = parquet.iter_batches(batch_size=BLOCK_ROWS)
        for batch in batches:
            table = pa.Table.from_batches([batch])
            for index, name in enumerate(table.column_names):  # categorical text reads as text
                column = table.column(name)
                if pa.types.is_dictionary(column.type):
                    table = table.set_column(index, name, column.cast(column.type.value_type))
            n = table.num_rows
            lines = np.arange(start + 1, start + n + 1, dtype=np.int64)
            # A Parquet file has every column in every row: a null is a value left out (an optional field
            # takes its default), but where a field may be null (an unknown date) it is that null.
            given = {name: np.asarray(table.column(name).is_null().to_numpy(zero_copy_only=False), dtype=bool)
                     for name in table.column_names if name in NULLABLE}

            def record(i: int, table: Any = table, lines: Any = lines) -> RawRecord:
                row = table.slice(i, 1).to_pylist()[0]
                return RawRecord(path, int(lines[i]), {k: v for k, v in row.items() if v is not None or k in NULLABLE})

            block = Block(start, lines, table=table, given_null=given, per_row=np.zeros(n, dtype=bool), record=record)
            if start == 0 and n:
                block.unknown = [(name, 1, position) for position, name in enumerate(table.column_names)]
            start += n
            yield block
    except (pa.ArrowException, OSError) as exc:
        message = str(exc).strip().split("\n")[0]
        yield Block(start, [], problems=[(start, Problem(str(path), None, None, f"cannot read as Parquet: {message}"))])
