"""The coding queue (``data/queue.jsonl``), the dropped posts (``data/dropped.jsonl``) and the
coded signals (``data/signals.jsonl``): read, and written atomically (a temporary file beside the
target, flushed to disk, then renamed over it), so that a decision is on disk the moment it is
made and a crash or a closed tab never leaves half a file. Also: the agreement figures
(``data/agreement.json``) as curating reads them, with a warning when they are out of date."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..build.load import iter_signals, read_agreement
from ..model import Problems
from ..model.agreement import AGREEMENT_FILE, AgreementSummary, staleness

QUEUE_FILE = "queue.jsonl"
DROPPED_FILE = "dropped.jsonl"
SIGNALS_FILE = "signals.jsonl"


class Duplicate(BaseModel):
    """A post merged into a queued one: its URL and how alike the two are (1.0: the same URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    similarity: float = Field(ge=0, le=1)


class Suggestion(BaseModel):
    """The classifier's view of a queued post. ``theme`` is None where it abstains (its best
    guess's probability is below ``threshold``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theme: str | None
    best: str
    probability: float = Field(ge=0, le=1)
    evidence: tuple[str, ...] = ()
    threshold: float = Field(ge=0, le=1)


class QueueEntry(BaseModel):
    """A post waiting to be coded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", max_length=100)
    url: str
    source: str
    community: str
    title: str
    body: str = ""
    created: str | None = None
    author: str = ""
    score: float | None = None
    found_by: tuple[str, ...] = ()
    sample: str = ""
    corpus: str = ""
    duplicates: tuple[Duplicate, ...] = ()
    suggestion: Suggestion | None = None


def read_queue(data_dir: Path, problems: Problems) -> list[QueueEntry]:
    """The queue, in order; an absent file is an empty queue."""
    path = data_dir / QUEUE_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return []
    entries = []
    for record in iter_signals(path, problems):
        try:
            entries.append(QueueEntry.model_validate(record.data))
        except ValidationError as exc:
            for error in exc.errors():
                problems.add(path, record.line, ".".join(map(str, error["loc"])) or None, str(error["msg"]))
    return entries


def read_dropped(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / DROPPED_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return []
    problems = Problems()
    records = [record.data for record in iter_signals(path, problems)]
    problems.raise_if_any()
    return records


def queue_lines(entries: Iterable[QueueEntry]) -> str:
    return "".join(json_line(entry.model_dump(mode="json", exclude_defaults=True)) for entry in entries)


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: readers see the old file or the new one, never a
    part, whatever happens meanwhile."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:  # the rename itself, on disk
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def write_queue(data_dir: Path, entries: Iterable[QueueEntry]) -> None:
    write_atomic(data_dir / QUEUE_FILE, queue_lines(entries))


def to_append(text: str | None, line: str) -> str:
    """What to add at the end of ``text`` to put ``line`` (ending in a newline) on a line of its own."""
    return ("\n" if text and not text.endswith("\n") else "") + line


def agreement_of(data_dir: Path, posts: int, digest: str) -> tuple[AgreementSummary | None, str | None]:
    """``agreement.json``'s figures, if the data folder has them, and a warning if they were
    measured on other coded posts than the ``posts`` of ``digest`` (``coded_digest``) it has now."""
    problems = Problems()
    summary = read_agreement(data_dir, problems)
    problems.raise_if_any()
    stale = staleness(summary, posts, digest) if summary is not None else None
    return summary, stale.warning(data_dir / AGREEMENT_FILE) if stale else None
