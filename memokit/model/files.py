"""Reading the project's own text files (the taxonomy, memo pages, ``collect.toml``): one clear
problem for a missing, unreadable or not-UTF-8 file, and for TOML that does not parse."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .problems import Problems


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


def parse_toml(path: Path, text: str, problems: Problems) -> dict[str, Any] | None:
    """Parse ``text`` (read from ``path``) as TOML; a syntax error becomes a problem on its line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends with "(at line L, column C)"; put the line up front.
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        message = str(exc)[: found.start()] if found else str(exc)
        line = int(found.group(1)) if found else None
        column = f" (column {found.group(2)})" if found else ""
        problems.add(path, line, None, f"invalid TOML: {message}{column}")
        return None
    except (RecursionError, ValueError) as exc:  # absurd nesting
        problems.add(path, None, None, f"invalid TOML: {first_line(exc)}")
        return None


def first_line(error: BaseException) -> str:
    """An error's message, its first line only and at most 120 characters."""
    text = str(error).strip().split("\n")[0] or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
