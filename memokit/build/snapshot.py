"""The snapshot of a build (``site/data/snapshot.json``): what a later version is compared with.

It holds, as plain JSON, everything that moving numbers are explained by: the memo's version date,
digests of the data and the taxonomy, n, every bound number (with the exact fraction of a share
and, for a single ``share()`` or ``count()``, what it asks of the data), every claim (status,
support, subsets), the counts per theme and per phase, the taxonomy, and every signal's id, URL
and coded fields (columns of small integer codes into value lists), so that a later build can tell
posts added, dropped and recoded apart. Deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..model import ALL, FILTER_FIELDS, INDEX, UNRECORDED
from ..versions import store
from ..versions.compare import Comparison, compare
from .claims import BoundPage
from .stats import Stats
from .validate import Dataset

#: The snapshot format; a reader refuses another.
FORMAT = 1
#: The per-signal fields a snapshot keeps: every field a filter or a denominator may name but the
#: phase, which follows from the theme.
SIGNAL_COLUMNS = tuple(name for name in FILTER_FIELDS if name != "phase")
#: Columns kept only where they say something (a corpus named, a coding recorded) or a denominator
#: filters on them, so a dataset without them has the snapshot it had before they existed.
OPTIONAL_COLUMNS = {"corpus": "", "coding": UNRECORDED}


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _columns(frame: pd.DataFrame, stats: Stats) -> dict[str, Any]:
    """Each coded field as its sorted distinct values and one code per signal (vectorised); an
    optional column only where it says something or a denominator filters on it."""
    columns: dict[str, Any] = {}
    filtered = {name for d in stats.denominators.values() for name in d.where}
    for name in SIGNAL_COLUMNS:
        values = frame[name].fillna("").astype(str)
        if name in OPTIONAL_COLUMNS and name not in filtered and (values == OPTIONAL_COLUMNS[name]).all():
            continue
        codes, distinct = pd.factorize(values, sort=True)
        columns[name] = {"values": [str(v) for v in distinct], "codes": codes.tolist()}
    return columns


def data_part(dataset: Dataset, stats: Stats, taxonomy_path: Path) -> dict[str, Any]:
    """What a snapshot holds of the data alone (digests, and every signal's id, URL and codes): the
    same for every build of the same data, so a preview keeps it (``BuildCache.snapshot_data``)."""
    order = stats.frame["id"].argsort(kind="stable").to_numpy()
    frame = stats.frame.iloc[order].reset_index(drop=True)
    urls = pd.Series(dataset.frame["url"].to_numpy(), index=dataset.frame["id"].to_numpy())
    return {"digest": {"data": _digest(dataset.source_path), "taxonomy": _digest(taxonomy_path)},
            "signals": {"ids": frame["id"].tolist(), "urls": urls.loc[frame["id"].to_numpy()].tolist(),
                        "columns": _columns(frame, stats)}}


def snapshot(dataset: Dataset, stats: Stats, pages: list[BoundPage], taxonomy_path: Path,
             data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the snapshot of a build as plain JSON-ready data (``data``: its ``data_part``, if
    already made)."""
    memo = next(p for p in pages if p.page.slug == INDEX)
    taxonomy = stats.taxonomy
    data = data if data is not None else data_part(dataset, stats, taxonomy_path)
    return {
        "memokit_snapshot": FORMAT,
        "version": memo.page.meta.date or None,
        "title": memo.page.meta.title,
        "digest": data["digest"],
        "n": stats.n,
        "taxonomy": {
            "phases": [{"id": p.id, "label": p.name} for p in taxonomy.phases],
            "themes": [{"id": t.id, "label": t.label, "phase": t.phase} for t in taxonomy.themes],
            "denominators": [{"id": d.id, "label": d.label, "where": {k: list(v) for k, v in d.where.items()}}
                             for d in stats.denominators.values()],
        },
        "counts": {dimension: {s.key: s.count for s in stats.breakdown(dimension, ALL).shares}
                   for dimension in ("phase", "theme")},
        "headline": [_number(binding, label) for binding, label, _ in memo.headline],
        "bindings": [_number(binding) for page in pages for binding in page.bindings],
        "claims": [{"page": page.page.filename, "name": c.name, "sentence": c.sentence, "check": c.check,
                    "passed": c.passed, "holds": c.holds, "support": round(c.support, 4),
                    "holds_in": {s.id: s.holds for s in c.subsets},
                    "terms": [[e, v] for e, v in c.terms]} for page in pages for c in page.claims],
        "signals": data["signals"],
    }


def _number(binding: Any, label: str | None = None) -> dict[str, Any]:
    number: dict[str, Any] = {"page": binding.page, "line": binding.line,
                              "expression": binding.expression + (f" [{binding.scope}]" if binding.scope else ""),
                              "text": binding.text, "value": binding.value}
    if label is not None:
        number["label"] = label
    if binding.fraction is not None:
        number["fraction"] = list(binding.fraction)
    if binding.interval is not None:
        number["interval"] = [round(binding.interval[0], 6), round(binding.interval[1], 6)]
    if binding.query is not None:
        number["query"] = binding.query
    return number


def _compact(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def encoded(snap: dict[str, Any], data: dict[str, Any] | None = None) -> list[bytes]:
    """``snap`` as strict compact JSON and a newline, in parts: the bytes of ``site/data/snapshot.json``.

    Its ``signals``, the one part as large as the data, come last; with ``data`` (the data part
    the snapshot was made with) they are encoded once and kept there, so a preview that rebuilds
    after a prose edit only encodes the rest."""
    head = _compact({key: value for key, value in snap.items() if key != "signals"})
    if data is None or data.get("signals") is not snap["signals"]:
        signals = _compact(snap["signals"])
    else:
        signals = data.get("signals_json") or b""
        if not signals:
            signals = data["signals_json"] = _compact(snap["signals"])
    return [head[:-1] + b',"signals":', signals, b"}\n"]  # not joined: the signals may be many MB


@dataclass
class History:
    """This build's snapshot, the pinned versions before it, and what changed since the newest."""

    snapshot: dict[str, Any]
    versions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # pinned, oldest first
    since: str | None = None  # the version the changes are counted from
    changes: Comparison | None = None
    data: dict[str, Any] | None = None  # the snapshot's data part, which keeps its encoding

    def encoded(self) -> list[bytes]:
        return encoded(self.snapshot, self.data)

    @property
    def changed(self) -> bool:
        return self.changes is not None and not self.changes.unchanged


def history(snapshot_data: dict[str, Any], versions: Path, data: dict[str, Any] | None = None) -> History:
    """Compare ``snapshot_data`` with the newest version pinned in ``versions`` before its date
    (``data``: the data part it was made with)."""
    pinned = [(date, store.read(path)) for date, path in store.pinned(versions)]
    found = History(snapshot_data, pinned, data=data)
    previous = store.previous(versions, snapshot_data.get("version"))
    if previous is not None:
        found.since, old = previous
        found.changes = compare(old, snapshot_data)
    return found
