"""The ``raw/`` folder: records as they arrive, the state that makes runs incremental, the cache.

- ``raw/<kind>.jsonl``: one normalised record per line, appended and flushed page by page, so a
  run stopped at any moment keeps what it fetched. A post already in the file (by ``id``) is not
  written again. A last line cut short by a crash is removed when the file is next opened (its
  page is fetched again, since the state had not moved past it).
- ``raw/.state.json``: per source and query, what has been collected and where a run stopped;
  written atomically (a temporary file, then a rename), after every page.
- ``raw/.cache/<sha256>.json``: every response as it was received, named by the SHA-256 of its
  bytes, and ``raw/.cache/index.jsonl``, one line per response (which source, which request
  without credentials, when), so ``memokit collect --renormalise`` rebuilds the records without
  fetching anything.
- ``raw/.lock``: held while a run writes, so two runs cannot interleave.
- ``raw/.gitignore``: written once (if absent) to leave the cache and the lock out of git: the
  records and the state are what a project commits (the weekly workflow does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..model.problems import MemokitError

STATE_FILE = ".state.json"
CACHE_DIR = ".cache"
INDEX_FILE = "index.jsonl"
LOCK_FILE = ".lock"
GITIGNORE = ".gitignore"
STATE_VERSION = 1


class StoreError(MemokitError):
    """The raw folder cannot be used (locked by another run, unreadable state)."""

    exit_code = 2


def dumps(record: dict[str, Any]) -> str:
    """One JSON line. The line and paragraph separators (and NEL) are escaped, although JSON
    allows them raw, because readers that split text into lines split on them too."""
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a reader sees the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class RecordFile:
    """``raw/<kind>.jsonl``, open for appending; knows the ids it holds."""

    def __init__(self, path: Path):
        self.path = path
        self.ids: set[str] = set()
        self.unreadable = 0      # lines that are not a record with an id (left as they are)
        self.repaired = False    # a cut-short last line was removed
        self._handle: IO[str] | None = None
        if path.exists():
            self._read()

    def _read(self) -> None:
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            with open(self.path, "r+b") as handle:
                handle.truncate(cut)
            raw = raw[:cut]
            self.repaired = True
        for line in raw.decode("utf-8", "replace").split("\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self.ids.add(record["id"])
            except (ValueError, TypeError, KeyError):
                self.unreadable += 1

    def add(self, records: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Append the records whose id is new; return (written, duplicates skipped)."""
        new = duplicates = 0
        lines: list[str] = []
        for record in records:
            if record["id"] in self.ids:
                duplicates += 1
                continue
            self.ids.add(record["id"])
            lines.append(dumps(record) + "\n")
            new += 1
        if lines:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Open for the whole run (closed by close()), not page by page.
                self._handle = open(self.path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
            self._handle.write("".join(lines))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        return new, duplicates

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Cache:
    """Responses by the SHA-256 of their bytes, and the index of what each one answered."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.index = folder / INDEX_FILE

    def put(self, content: bytes, entry: dict[str, Any]) -> str:
        digest = hashlib.sha256(content).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{digest}.json"
        if not path.exists():
            temporary = path.with_name(f".{digest}.{os.getpid()}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, path)
        with open(self.index, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(dumps({"sha256": digest, **entry}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return digest

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every index line that can be read, in the order the responses came."""
        if not self.index.exists():
            return
        for line in self.index.read_text(encoding="utf-8", errors="replace").split("\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                yield entry

    def read(self, digest: str) -> bytes | None:
        """The response with this digest, or None when it is missing or no longer matches it."""
        path = self.folder / f"{digest}.json"
        try:
            content = path.read_bytes()
        except OSError:
            return None
        return content if hashlib.sha256(content).hexdigest() == digest else None


class State:
    """``raw/.state.json``: per source key, what was collected and any run in progress."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = {"version": STATE_VERSION, "queries": {}}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StoreError(f"{path}: cannot read the collection state ({exc}); move it away to start "
                                 "over (the records in raw/ are kept and not written twice)") from None
            if not isinstance(data, dict) or not isinstance(data.get("queries"), dict):
                raise StoreError(f"{path}: not a collection state written by memokit; move it away to start over")
            self.data = data

    def query(self, key: str) -> dict[str, Any]:
        queries: dict[str, dict[str, Any]] = self.data["queries"]
        return queries.setdefault(key, {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


class RawStore:
    """The raw folder of one run."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.cache = Cache(folder / CACHE_DIR)
        self._files: dict[str, RecordFile] = {}
        self._state: State | None = None

    @property
    def state(self) -> State:
        if self._state is None:
            self._state = State(self.folder / STATE_FILE)
        return self._state

    def records(self, kind: str) -> RecordFile:
        if kind not in self._files:
            self._files[kind] = RecordFile(self.folder / f"{kind}.jsonl")
        return self._files[kind]

    def close(self) -> None:
        for file in self._files.values():
            file.close()

    @contextlib.contextmanager
    def locked(self) -> Iterator[RawStore]:
        """Hold ``raw/.lock`` for the run; refuse if another run holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder / GITIGNORE
        if not ignore.exists():
            write_atomically(ignore, f"# written by memokit collect: the cache of responses and the lock stay local\n"
                                     f"/{CACHE_DIR}/\n/{LOCK_FILE}\n")
        with open(self.folder / LOCK_FILE, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise StoreError(f"{self.folder}: another memokit collect is writing here; wait for it to end") from None
            try:
                yield self
            finally:
                self.close()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
