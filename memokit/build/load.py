"""Stage 1, load: read the signals (JSONL or CSV) and the taxonomy (TOML) into raw records."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..model import Problems

SIGNAL_FILES = ("signals.jsonl", "signals.csv")
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
            lines = _read_csv(path, handle, problems) if path.suffix == ".csv" else _read_jsonl(path, handle, problems)
            for record in lines:
                count += 1
                yield record
    except OSError as exc:
        problems.add(path, None, None, f"cannot read: {exc.strerror or exc}")
        return
    if not count and not problems:
        problems.add(path, None, None, "no signals: the file holds no records")


def _read_jsonl(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[RawRecord]:
    for number, chunk in enumerate(handle, start=1):
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
            problems.add(path, number, None, f"invalid JSON: {_first_line(exc)}")
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
            # A spreadsheet on Windows writes line breaks inside quoted cells as CRLF.
            cells = [cell.replace("\r\n", "\n") for cell in row]
            yield RawRecord(path, start, dict(zip(header, cells, strict=True)))
    except csv.Error as exc:
        # The record that broke started after the last complete one (an unclosed quote runs on).
        problems.add(path, end_of_previous + 1 if "end of data" in str(exc) else reader.line_num, None,
                     f"malformed CSV: {exc}")


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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends with "(at line L, column C)"; put the line up front.
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        message = str(exc)[: found.start()] if found else str(exc)
        line = int(found.group(1)) if found else None
        column = f" (column {found.group(2)})" if found else ""
        problems.add(path, line, None, f"invalid TOML: {message}{column}")
        return None
    except (RecursionError, ValueError) as exc:  # absurd nesting
        problems.add(path, None, None, f"invalid TOML: {_first_line(exc)}")
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


def read_text(path: Path, problems: Problems, missing: str | None = None) -> str | None:
    """Read a UTF-8 text file (with or without a BOM; CRLF line ends as LF); a missing, unreadable
    or not-UTF-8 file becomes a problem, with the line of the first bad byte."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.add(path, None, None, missing or "file not found")
        return None
    except OSError as exc:
        problems.add(path, None, None, f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        problems.add(path, utf8_error_line(raw, exc), None, "invalid UTF-8: save the file as UTF-8")
        return None


def utf8_error_line(raw: bytes, error: UnicodeDecodeError) -> int:
    """Return the line (from 1) on which a UTF-8 decoding error happened."""
    return raw[: error.start].count(b"\n") + 1


def _first_line(error: BaseException) -> str:
    text = str(error).strip().split("\n")[0] or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
