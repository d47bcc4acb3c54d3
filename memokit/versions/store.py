"""Pinned versions: snapshots copied into the project's ``versions/<date>.json`` (a publication)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..model import InputError, Problem

#: The snapshot format this memokit reads (``memokit.build.snapshot.FORMAT``).
FORMAT = 1
SNAPSHOT = Path("data") / "snapshot.json"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _problem(where: Path | str, message: str) -> InputError:
    return InputError([Problem(str(where), None, None, message)])


def read(path: Path) -> dict[str, Any]:
    """Read a snapshot file; a file that is not one is invalid input."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _problem(path, "no such snapshot file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _problem(path, f"not a readable snapshot: {exc}") from None
    if not isinstance(data, dict) or data.get("memokit_snapshot") != FORMAT:
        raise _problem(path, f"not a memokit snapshot of format {FORMAT}")
    return data


def pinned(versions: Path) -> list[tuple[str, Path]]:
    """Every pinned version in ``versions``, oldest first, as ``(date, path)``."""
    if not versions.is_dir():
        return []
    return sorted((path.stem, path) for path in versions.glob("*.json") if _DATE.match(path.stem))


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


def previous(versions: Path, date: str | None) -> tuple[str, dict[str, Any]] | None:
    """The newest pinned version from before ``date`` (the memo's own version date): the one a
    build reports changes since. A pin of the same date is this version itself, not a previous one."""
    earlier = [(pin, path) for pin, path in pinned(versions) if date is None or pin < date]
    if not earlier:
        return None
    pin, path = earlier[-1]
    return pin, read(path)


def pin(snapshot: Path, versions: Path, force: bool = False) -> tuple[Path, bool]:
    """Copy a site's snapshot into ``versions/<its date>.json``; return the path and whether it was
    written (False: the same snapshot was pinned already). A different snapshot pinned on the same
    date is kept unless ``force``."""
    data = read(snapshot)
    date = data.get("version")
    if not isinstance(date, str) or not _DATE.match(date):
        raise _problem(snapshot, "the memo has no date: give index.md a front-matter date (YYYY-MM-DD) to pin it")
    target = versions / f"{date}.json"
    text = snapshot.read_text(encoding="utf-8")
    if target.is_file():
        if target.read_text(encoding="utf-8") == text:
            return target, False
        if not force:
            raise _problem(target, f"a different version is pinned on {date} already: give the memo a new date, "
                                   "or pass --force to replace it")
    versions.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return target, True
