"""What a long-running preview keeps from one build to the next, to redo only what a change touched.

A change to the prose or to a memo page's front matter leaves the data alone: the validated
dataset and its statistics are kept while the data folder's files are unchanged (by name, size and
modification time, as the preview's watcher sees them); the files that follow from the data alone
(theme and phase pages, the drill's data, ``stats.json``, ``signals.csv``, ``phases.css``) are
taken from the last site by hard link while the data, the templates and what those pages show of
the memo (its title and navigation) are unchanged, and so is the snapshot's signals file
(``data/snapshot-signals.json``) while its bytes are; and rendered charts are kept by what they show.
Everything else is built as in a full build, and the output is the same, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..versions.compare import Tables
    from .stats import Stats
    from .validate import Dataset


def fingerprint(folders: Iterable[Path]) -> str:
    """A digest of every file under ``folders``: its path, size and modification time."""
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(str(folder.resolve()).encode())
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                info = path.stat()
                digest.update(f"{path.relative_to(folder)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


@dataclass
class DerivedFiles:
    """The data-derived files of one site, and the warnings their rendering gave."""

    key: str
    files: list[str]
    warnings: list[str]
    bytes: int  # of the files together


@dataclass
class BuildCache:
    """Kept by the preview between builds (``memokit.build.pipeline.build(..., cache=…)``)."""

    data_key: str | None = None
    dataset: Dataset | None = None
    stats: Stats | None = None
    derived: DerivedFiles | None = None  # of the site now in --out
    signals: str | None = None  # the digest of the snapshot's signals file in the site now in --out
    charts: dict[str, Any] = field(default_factory=dict)  # what a chart shows, as JSON -> its rendering
    snapshot_data: dict[str, Any] | None = None  # the snapshot's data part (snapshot.data_part)
    environments: dict[str, Any] = field(default_factory=dict)  # templates' fingerprint -> their Jinja environment
    #: The versions folder's fingerprint, its pinned versions read, and the comparisons' tables of
    #: their signals and this data's (``memokit.versions.compare.Tables``).
    pinned: tuple[str, list[tuple[str, dict[str, Any]]], Tables] | None = None
    retired: list[Path] = field(default_factory=list)  # old sites swapped out, to remove (``tidy``)
    coded_digest: str | None = None  # the data's ``model.agreement.coded_digest``, once asked for

    def keep_data(self, key: str, dataset: Dataset, stats: Stats) -> None:
        if key != self.data_key:
            self.derived = None
            self.signals = None
            self.charts.clear()
            self.snapshot_data = None
            self.pinned = None  # its tables hold the signals of the old data
            self.coded_digest = None
        self.data_key, self.dataset, self.stats = key, dataset, stats

    def tidy(self) -> None:
        """Remove the old sites the builds swapped out: the preview does once the pages have been
        told to reload, so that a rebuild does not wait for it (at ten million posts the old site's
        15,000 files take about 0.4 s to remove)."""
        while self.retired:
            shutil.rmtree(self.retired.pop(), ignore_errors=True)

    def versions(self, folder: Path) -> tuple[list[tuple[str, dict[str, Any]]], Tables]:
        """The versions pinned in ``folder`` (``store.read_pinned``), read again only when one of
        its files changed, and the tables their comparisons keep."""
        from ..versions import compare, store

        key = fingerprint([folder])
        if self.pinned is None or self.pinned[0] != key:
            self.pinned = (key, store.read_pinned(folder), compare.Tables())
        return self.pinned[1], self.pinned[2]


def derived_key(data_key: str, templates_key: str, site: dict[str, Any]) -> str:
    """What the data-derived files depend on: the data, the templates, and the site's frame."""
    text = json.dumps([data_key, templates_key, site], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
