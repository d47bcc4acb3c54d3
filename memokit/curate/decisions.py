"""The decisions log, ``data/decisions.jsonl``: each decision of the coding page and each undo,
one JSON line, with what it changed in which file. Undo reads it, so that the last decision can
be taken back after the tab was closed or ``memokit code`` restarted; and a change cut short (a
crash, a power cut, ``kill -9``) is finished from it on the next start.

A record holds its number (``seq``), the time, the coder, the decision (``accept``, ``theme``,
``skip``, ``drop``; or ``undo`` with the number of the record it takes back), the post's id and
title, the theme coded, and, for each file it changes (``signals.jsonl``, ``dropped.jsonl``,
``queue.jsonl``), the change as text: what it took off the file's head and tail and what it put
there (the queue entry taken off the head; the signal line or dropped line added at the end),
and the file's SHA-256 before and after.

Writing a change: the record first, marked ``pending``; then each file, atomically, in the
order of ``FILES``; then the record again, unmarked. A start that finds the newest record still
pending finishes it: a file whose digest is the record's *before* gets the change, one already
at *after* is left; one that is neither (edited since) is left as it is, with a warning. So a
post is always either in the queue or coded (or dropped), never both or neither, and the log
agrees with the files.

Undo takes back the newest decision not yet undone, by the inverse change, and only where every
file still holds what the decision put there (the signal line still the file's last, as
written; a skipped post still last in the queue): else nothing changes and the reason is one
line. With nothing else changed since, the files are again byte for byte what they were before
the decision.

The log keeps the newest ``KEEP`` records; undo reaches back through them, no further.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..build.load import iter_signals
from ..model import Problems
from .store import DROPPED_FILE, QUEUE_FILE, SIGNALS_FILE, json_line, write_atomic

DECISIONS_FILE = "decisions.jsonl"
#: The files a change may touch, in the order they are written.
FILES = (SIGNALS_FILE, DROPPED_FILE, QUEUE_FILE)
#: Records kept in the log (decisions and undos); undo reaches back no further.
KEEP = 1000

Action = Literal["accept", "theme", "skip", "drop", "undo"]


class Splice(BaseModel):
    """A change to a file's text: take ``cut_head`` off its start and ``cut_tail`` off its end,
    put ``add_head`` and ``add_tail`` in their place. ``remove_if_empty``: a file left empty is
    removed (it did not exist before the change this one undoes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cut_head: str = ""
    cut_tail: str = ""
    add_head: str = ""
    add_tail: str = ""
    remove_if_empty: bool = False

    def fits(self, text: str) -> bool:
        """Whether ``text`` starts and ends with what this takes off (the two not overlapping)."""
        return (len(text) >= len(self.cut_head) + len(self.cut_tail) and text.startswith(self.cut_head)
                and text.endswith(self.cut_tail))

    def apply(self, text: str) -> str:
        assert self.fits(text)
        return self.add_head + text[len(self.cut_head):len(text) - len(self.cut_tail)] + self.add_tail


class Change(Splice):
    """A splice as it was made: the file's digest before and after, and whether the file was new."""

    before: str = Field(pattern=r"^[0-9a-f]{64}$")
    after: str = Field(pattern=r"^[0-9a-f]{64}$")
    created: bool = False

    def inverse(self) -> Splice:
        return Splice(cut_head=self.add_head, cut_tail=self.add_tail, add_head=self.cut_head, add_tail=self.cut_tail,
                      remove_if_empty=self.created)


class Record(BaseModel):
    """One line of the log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    at: str
    coder: str
    action: Action
    id: str
    title: str = ""
    theme: str | None = None
    undoes: int | None = Field(default=None, ge=1)
    pending: bool = False
    files: dict[str, Change]

    @field_validator("files")
    @classmethod
    def _known_files(cls, files: dict[str, Change]) -> dict[str, Change]:
        unknown = sorted(set(files) - set(FILES))
        if unknown:
            raise ValueError(f"not a file memokit code changes: {', '.join(unknown)}")
        return files


class Misfit(ValueError):
    """A file no longer holds what a change was to take off it; ``name`` says which."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read(path: Path) -> str | None:
    """The file's text exactly (no newline translation), or None if it does not exist."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


class Journal:
    """The decisions log of a data folder, and the changes made through it. The log as last read
    or written is kept, with its lines, until the file changes."""

    def __init__(self, data: Path):
        self.data = data
        self.path = data / DECISIONS_FILE
        self._known: tuple[tuple[int, int, int], list[Record], list[str]] | None = None

    def records(self) -> list[Record]:
        """The log, oldest first; a line that is not a record is a problem (``InputError``)."""
        return list(self._read()[0])

    def _read(self) -> tuple[list[Record], list[str]]:
        key = self._key()
        if key is None or key[1] == 0:
            return [], []
        if self._known is not None and self._known[0] == key:
            return self._known[1], self._known[2]
        problems = Problems()
        records = []
        for raw in iter_signals(self.path, problems):
            try:
                records.append(Record.model_validate(raw.data))
            except ValidationError as exc:
                for error in exc.errors():
                    problems.add(self.path, raw.line, ".".join(map(str, error["loc"])) or None,
                                 f"{error['msg']} (not a record of memokit code; remove the file to start a new log, "
                                 "and undo then reaches back no further)")
        problems.raise_if_any()
        self._known = (key, records, [_line(r) for r in records])
        return self._known[1], self._known[2]

    def _key(self) -> tuple[int, int, int] | None:
        """What tells the file's versions apart: each write replaces it by another file."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_size, found.st_mtime_ns

    def in_effect(self) -> list[Record]:
        """The decisions not undone, oldest first: undo takes back the last."""
        stack: list[Record] = []
        for record in self._read()[0]:
            if record.action != "undo":
                stack.append(record)
            elif stack and stack[-1].seq == record.undoes:
                stack.pop()
            # (else it undid a decision older than the records kept, and there is nothing to pop)
        return stack

    def commit(self, splices: Mapping[str, Splice], *, coder: str, action: Action, id: str, title: str = "",
               theme: str | None = None, undoes: int | None = None) -> Record:
        """Make a change (``splices``, by file name) through the log; return its record as written.
        Raise ``Misfit`` if a file does not hold what its splice takes off; then nothing is written."""
        records, lines = self._read()
        texts: dict[str, str] = {}
        changes: dict[str, Change] = {}
        for name in (n for n in FILES if n in splices):
            found = read(self.data / name)
            splice = splices[name]
            if not splice.fits(found or ""):
                raise Misfit(name)
            texts[name] = splice.apply(found or "")
            changes[name] = Change(**splice.model_dump(), before=digest(found or ""), after=digest(texts[name]),
                                   created=found is None)
        seq = records[-1].seq + 1 if records else 1
        pending = Record(seq=seq, at=_now(), coder=coder, action=action, id=id, title=title, theme=theme, undoes=undoes,
                         pending=True, files=changes)
        kept, kept_lines = [*records, pending][-KEEP:], [*lines, _line(pending)][-KEEP:]
        self._write_log(kept, kept_lines)
        for name, text in texts.items():
            self._write_file(name, text, changes[name])
        self._finish(kept, kept_lines)
        return kept[-1]

    def recover(self) -> list[str]:
        """Finish a change that was cut short (the newest record still pending); return a warning
        per file that was edited meanwhile and so left as it is."""
        records, lines = self._read()
        if not records or not records[-1].pending:
            return []
        last, warnings = records[-1], []
        for name in (n for n in FILES if n in last.files):
            change = last.files[name]
            text = read(self.data / name) or ""
            if digest(text) == change.after:
                continue
            if digest(text) == change.before and change.fits(text):
                self._write_file(name, change.apply(text), change)
                continue
            warnings.append(f"{self.data / name}: changed since decision {last.seq} ({last.action} of {last.id}) was "
                            f"cut short, so left as it is; check it against {self.path}")
        self._finish(list(records), list(lines))
        return warnings

    def _finish(self, records: list[Record], lines: list[str]) -> None:
        """Write the log again with its newest record no longer pending."""
        records[-1] = records[-1].model_copy(update={"pending": False})
        lines[-1] = _line(records[-1])
        self._write_log(records, lines)

    def _write_file(self, name: str, text: str, splice: Splice) -> None:
        path = self.data / name
        if splice.remove_if_empty and not text:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, text)

    def _write_log(self, records: list[Record], lines: list[str]) -> None:
        write_atomic(self.path, "".join(lines))
        key = self._key()
        self._known = (key, records, lines) if key is not None else None


def _line(record: Record) -> str:
    return json_line(record.model_dump(mode="json", exclude_defaults=True))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
