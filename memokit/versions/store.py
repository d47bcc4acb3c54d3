"""Snapshots on disk, and pinned versions: snapshots copied into the project's ``versions/<date>.json``
(a publication).

A snapshot is written in one of two layouts, told apart by its ``memokit_snapshot`` number:

- **1, whole**: one JSON document, every signal's id, URL and codes under ``"signals"``. Every
  pinned version is one, and so is the ``data/snapshot.json`` of a site built before the signals
  had a file of their own.
- **2, split**: a site's ``data/snapshot.json``. The same document, but for ``"signals"``, which
  names the file beside it that holds them and the SHA-256 of that file's bytes,
  ``{"file": "snapshot-signals.json", "digest": "sha256:…"}``; the file holds exactly what a whole
  snapshot has under ``"signals"`` (then a newline). The signals follow from the data alone, so a
  preview's rebuild after a prose edit links that file from the last site instead of writing it
  again (about 70 bytes a post); the digest lets a reader tell that the two files belong together.

``read`` gives the whole snapshot from either layout; ``pin`` always writes a whole one, so a
published version is one self-contained file that cannot lose its half, and readable by every
memokit since the first. Both are deterministic: the same snapshot gives the same bytes.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..model import InputError, Problem

#: The layouts this memokit reads: a whole snapshot (what ``pin`` writes, and the build holds), and
#: a site's snapshot whose signals are in a file of their own (what a build writes into the site).
WHOLE, SPLIT = 1, 2
SNAPSHOT = Path("data") / "snapshot.json"
#: The file beside a split snapshot that holds its signals, and where it is in a site.
SIGNALS = "snapshot-signals.json"
SITE_SIGNALS = (SNAPSHOT.parent / SIGNALS).as_posix()
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MARKER = "\x00signals\x00"  # stands for the signals while the rest of a snapshot is encoded
_PIECE = 1 << 22


def _problem(where: Path | str, message: str) -> InputError:
    return InputError([Problem(str(where), None, None, message)])


def digest(pieces: Iterable[bytes | memoryview]) -> str:
    """The SHA-256 of the bytes in ``pieces``, as a snapshot names it (``sha256:<hex>``)."""
    found = hashlib.sha256()
    for piece in pieces:
        found.update(piece)
    return _named(found)


def digested(pieces: Iterable[bytes | memoryview],
             done: Callable[[str], None]) -> Iterator[bytes | memoryview]:
    """``pieces`` as they come, hashed as they pass: read to the end, they give ``done`` their
    ``digest``."""
    found = hashlib.sha256()
    for piece in pieces:
        found.update(piece)
        yield piece
    done(_named(found))


def _named(found: hashlib._Hash) -> str:
    return "sha256:" + found.hexdigest()


def file_digest_ahead(path: Path) -> Callable[[], str]:
    """``digest(file_pieces(path))``, read and hashed on a thread of its own (both release the GIL)
    while the caller goes on; what it returns waits for the digest, and raises what reading raised.
    The thread is a daemon's: a build that fails first does not wait for it at exit."""
    found: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            found.append(digest(file_pieces(path)))
        except BaseException as exc:  # handed to the caller, in its thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="memokit-digest", daemon=True)
    thread.start()

    def result() -> str:
        thread.join()
        if errors:
            raise errors[0]
        return found[0]

    return result


def file_pieces(path: Path) -> Iterator[bytes]:
    """A file's bytes a piece at a time (a signals file may be gigabytes)."""
    with path.open("rb") as handle:
        while piece := handle.read(_PIECE):
            yield piece


def _encode(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def whole_json(snapshot: dict[str, Any], signals: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """The whole snapshot (layout 1) as strict, compact JSON and a newline, a piece at a time:
    ``snapshot`` with ``signals``, the JSON of its signals already encoded, under ``"signals"``
    (its last key)."""
    text = _encode({**snapshot, "memokit_snapshot": WHOLE, "signals": _MARKER})
    head, _, tail = text.rpartition(json.dumps(_MARKER))
    yield head.encode()
    yield from signals
    yield (tail + "\n").encode()


def split_json(snapshot: dict[str, Any], signals_digest: str) -> bytes:
    """A site's ``snapshot.json`` (layout 2): ``snapshot`` with its signals named by their file and
    the digest of its bytes (``signals_file``)."""
    reference = {"file": SIGNALS, "digest": signals_digest}
    return (_encode({**snapshot, "memokit_snapshot": SPLIT, "signals": reference}) + "\n").encode()


def signals_file(signals: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """The bytes of a split snapshot's signals file, from the JSON of its signals."""
    yield from signals
    yield b"\n"


def _load(path: Path) -> dict[str, Any]:
    """A snapshot file as it is, in either layout."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise _problem(path, "no such snapshot file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _problem(path, f"not a readable snapshot: {exc}") from None
    if not isinstance(data, dict) or data.get("memokit_snapshot") not in (WHOLE, SPLIT):
        raise _problem(path, f"not a memokit snapshot of format {WHOLE} or {SPLIT}")
    return data


def _signals_path(path: Path, data: dict[str, Any]) -> tuple[Path, str]:
    """Where a split snapshot's signals are, and the digest it names them by."""
    reference = data.get("signals")
    name = reference.get("file") if isinstance(reference, dict) else None
    expected = reference.get("digest") if isinstance(reference, dict) else None
    if not isinstance(name, str) or not isinstance(expected, str) or Path(name).name != name or name in ("", ".", ".."):
        raise _problem(path, 'a split snapshot names its signals as {"file": "<a file beside it>", "digest": '
                             '"sha256:…"}')
    return path.parent / name, expected


def _signals_json(path: Path, data: dict[str, Any]) -> Iterator[bytes]:
    """The JSON of a split snapshot's signals, read from their file a piece at a time; raises
    ``InputError`` if the file is missing, or (before its last piece) if its bytes are not those the
    snapshot names."""
    signals, expected = _signals_path(path, data)
    found = hashlib.sha256()
    held = b""
    try:
        for piece in file_pieces(signals):
            found.update(piece)
            if held:
                yield held
            held = piece
    except FileNotFoundError:
        raise _problem(signals, f"missing: the snapshot {path} keeps its signals in this file "
                                f"({expected})") from None
    except OSError as exc:
        raise _problem(signals, f"cannot be read ({exc.strerror or exc}): the snapshot {path} keeps its signals "
                                "in this file") from None
    if "sha256:" + found.hexdigest() != expected:
        raise _problem(signals, f"does not belong to the snapshot {path}: it names signals of {expected}, this file "
                                f"is sha256:{found.hexdigest()} (the two files come from different builds)")
    yield held.removesuffix(b"\n")


def read(path: Path) -> dict[str, Any]:
    """Read a snapshot file of either layout as a whole snapshot (a split one's signals read from
    their file, and checked against its digest); a file that is not one is invalid input."""
    data = _load(path)
    if data["memokit_snapshot"] == WHOLE:
        return data
    raw = b"".join(_signals_json(path, data))
    try:
        signals = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # only if the snapshot names broken bytes
        raise _problem(_signals_path(path, data)[0], f"not readable signals: {exc}") from None
    return {**data, "memokit_snapshot": WHOLE, "signals": signals}


def pinned(versions: Path) -> list[tuple[str, Path]]:
    """Every pinned version in ``versions``, oldest first, as ``(date, path)``."""
    if not versions.is_dir():
        return []
    return sorted((path.stem, path) for path in versions.glob("*.json") if _DATE.match(path.stem))


def read_pinned(versions: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every pinned version in ``versions``, oldest first, read, as ``(date, snapshot)``."""
    return [(date, read(path)) for date, path in pinned(versions)]


def locate(spec: str, versions: Path) -> Path:
    """The snapshot a ``compare`` argument names: a snapshot file, a site folder, or the date of a
    pinned version."""
    path = Path(spec)
    if _DATE.match(spec) and not path.exists():
        found = versions / f"{spec}.json"
        if not found.is_file():
            dates = ", ".join(date for date, _ in pinned(versions)) or "none"
            raise _problem(found, f"no version pinned on {spec}; pinned: {dates}")
        return found
    if path.is_dir():
        return path / SNAPSHOT
    return path


def previous(versions: list[tuple[str, Any]], date: str | None) -> tuple[str, Any] | None:
    """The newest of ``versions`` (pinned, oldest first, as ``(date, snapshot)``) from before
    ``date`` (the memo's own version date): the one a build reports changes since. A pin of the same
    date is this version itself, not a previous one."""
    earlier = [(pin, snapshot) for pin, snapshot in versions if date is None or pin < date]
    return earlier[-1] if earlier else None


def pin(snapshot: Path, versions: Path, force: bool = False) -> tuple[Path, bool]:
    """Write a site's snapshot, whole, into ``versions/<its date>.json``; return the path and whether
    it was written (False: the same snapshot was pinned already). A different snapshot pinned on
    the same date is kept unless ``force``."""
    data = _load(snapshot)
    date = data.get("version")
    if not isinstance(date, str) or not _DATE.match(date):
        raise _problem(snapshot, "the memo has no date: give index.md a front-matter date (YYYY-MM-DD) to pin it")
    target = versions / f"{date}.json"
    pieces: Iterable[bytes | memoryview] = (file_pieces(snapshot) if data["memokit_snapshot"] == WHOLE
                                            else whole_json(data, _signals_json(snapshot, data)))
    made = not versions.exists()
    versions.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    try:
        with partial.open("wb") as out:
            for piece in pieces:
                out.write(piece)
        if target.is_file():
            if filecmp.cmp(partial, target, shallow=False):
                partial.unlink()
                return target, False
            if not force:
                raise _problem(target, f"a different version is pinned on {date} already: give the memo a new date, "
                                       "or pass --force to replace it")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        if made:
            versions.rmdir()  # made for this pin, which wrote nothing
        raise
    return target, True
