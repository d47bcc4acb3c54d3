"""Problems found in the input, and the exceptions that carry them to the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: How many problems are printed before the rest are summarised as "... and N more".
MAX_PRINTED = 50


def printable(text: str) -> str:
    """Return ``text`` with every character a terminal would act on shown as an escape (``\\n``,
    ``\\x1b``, ``\\u202e``): control characters, bidirectional overrides, line separators. A message
    that quotes its input (a key, a file name, a title) then stays one line that says what it is,
    and can neither forge another problem line nor clear or recolour the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, printed as ``PATH:LINE: field: message``."""

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return printable(f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}")


class MemokitError(Exception):
    """Base class: carries the exit code the command line should use."""

    exit_code = 1


class InputError(MemokitError):
    """The data, taxonomy, memo, templates or arguments are invalid (exit 2)."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self, limit: int = MAX_PRINTED) -> list[str]:
        """Return one line per problem, grouped by file (see ``grouped``), capped, with a final
        count of what was left out."""
        shown = self.problems[:limit]
        out = grouped([(p.path, p.line or 0, [str(p)]) for p in shown])
        rest = len(self.problems) - limit
        if rest > 0:
            out.append(f"... and {rest} more problem{'s' if rest != 1 else ''}")
        return out


def grouped(reports: list[tuple[str, int, list[str]]]) -> list[str]:
    """Order ``(path, line, lines)`` reports by file (files in order of first appearance, each
    file's reports by line) and, when there is more than one file, head each file's group with
    ``PATH (N problems):``. Every report's own lines still name their file, for editors."""
    files: dict[str, list[tuple[int, list[str]]]] = {}
    for path, line, lines in reports:
        files.setdefault(path, []).append((line, lines))
    out: list[str] = []
    for path, items in files.items():
        if len(files) > 1:
            out.append(printable(f"{path} ({len(items)} problem{'s' if len(items) != 1 else ''}):"))
        for _, lines in sorted(items, key=lambda item: item[0]):
            out.extend(lines)
    return out


class Problems:
    """Collects problems so that every one is reported, not just the first."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.items.append(Problem(str(path), line, field, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.items)
