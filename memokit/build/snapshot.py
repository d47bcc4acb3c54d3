"""The snapshot of a build: what a later version is compared with.

It holds, as plain JSON, everything that moving numbers are explained by: the memo's version date,
digests of the data and the taxonomy, n, every bound number (with the exact fraction of a share
and, for a single ``share()`` or ``count()``, what it asks of the data), every claim (status,
support, subsets), the counts per theme and per phase, the taxonomy, and every signal's id, URL
and coded fields (columns of small integer codes into value lists), so that a later build can tell
posts added, dropped and recoded apart. Deterministic: the same inputs give the same bytes.

The build holds it whole; the site gets it split in two (``memokit.versions.store``):
``data/snapshot-signals.json``, the signals, which follow from the data alone, and
``data/snapshot.json``, the rest, naming the signals file by its digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..model import ALL, FILTER_FIELDS, INDEX, UNRECORDED
from ..versions import store
from ..versions.compare import Comparison, Tables, compare, signal_arrays
from .claims import BoundPage
from .posts import joined, json_text
from .stats import Stats
from .validate import Dataset

#: The per-signal fields a snapshot keeps: every field a filter or a denominator may name but the
#: phase, which follows from the theme.
SIGNAL_COLUMNS = tuple(name for name in FILTER_FIELDS if name != "phase")
#: Columns kept only where they say something (a corpus named, a coding recorded) or a denominator
#: filters on them, so a dataset without them has the snapshot it had before they existed.
OPTIONAL_COLUMNS = {"corpus": "", "coding": UNRECORDED}


class SignalColumns(Mapping[str, Any]):
    """The snapshot's signals (``ids``, ``urls``, ``columns`` of codes) held as Arrow and numpy
    arrays, not as a Python object per signal: their JSON is made in Arrow (``json``), and the lists
    a comparison reads are made only when it asks for them."""

    _KEYS = ("ids", "urls", "columns")

    def __init__(self, ids: pa.Array, urls: pa.Array, columns: dict[str, tuple[list[str], np.ndarray]]) -> None:
        self.ids, self.urls, self.columns = ids, urls, columns
        self._digest: str | None = None

    def __getitem__(self, key: str) -> Any:
        if key == "ids":
            return self.ids.to_pylist()
        if key == "urls":
            return self.urls.to_pylist()
        if key == "columns":
            return {name: {"values": list(values), "codes": codes.tolist()} for name, (values, codes) in self.columns.items()}
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)

    @classmethod
    def of(cls, signals: Mapping[str, Any]) -> SignalColumns:
        """The signals of a snapshot read from JSON (lists), as arrays; ValueError if they are not."""
        columns = signals["columns"]
        if set(signals) != set(cls._KEYS) or not isinstance(columns, Mapping) or \
                any(not isinstance(c, Mapping) or set(c) != {"values", "codes"} for c in columns.values()):
            raise ValueError("not a snapshot's signals")
        try:
            return cls(*signal_arrays(signals))
        except (TypeError, pa.ArrowException) as exc:
            raise ValueError(str(exc)) from None

    def __eq__(self, other: object) -> bool:
        """Equal to the same signals, as arrays or as lists (compared in Arrow and numpy, not per signal)."""
        if not isinstance(other, Mapping):
            return False
        try:
            theirs = other if isinstance(other, SignalColumns) else SignalColumns.of(other)
        except (KeyError, ValueError):
            return False
        return self.ids.equals(theirs.ids) and self.urls.equals(theirs.urls) and \
            self.columns.keys() == theirs.columns.keys() and \
            all(list(values) == list(theirs.columns[name][0]) and np.array_equal(codes, theirs.columns[name][1])
                for name, (values, codes) in self.columns.items())

    __hash__ = None  # type: ignore[assignment]

    def pieces(self) -> Iterator[bytes | memoryview]:
        """The JSON of ``{"ids": …, "urls": …, "columns": …}`` as ``json.dumps`` (compact) writes it,
        made in Arrow a slice of at most ``_SLICE`` signals at a time as the pieces are asked for
        (never held whole: at ten million signals it is about a gigabyte)."""
        yield b'{"ids":'
        yield from _array(self.ids, json_text)
        yield b',"urls":'
        yield from _array(self.urls, json_text)
        yield b',"columns":{'
        for number, (name, (values, codes)) in enumerate(self.columns.items()):
            head = ("," if number else "") + json.dumps(name, ensure_ascii=False) + ':{"values":'
            yield (head + json.dumps(values, ensure_ascii=False, separators=(",", ":")) + ',"codes":').encode()
            yield from _array(pa.array(codes), lambda part: part.cast(pa.string()))
            yield b"}"
        yield b"}}"

    @property
    def known_digest(self) -> str | None:
        """The digest of the site's signals file once ``file`` has been read to its end, else None."""
        return self._digest

    def file(self) -> Iterator[bytes | memoryview]:
        """The bytes of the site's signals file (``store.signals_file``), a piece at a time, hashed
        as they pass: read to the end, they make ``known_digest`` (a preview's rebuild with the same
        signals takes the file from the last site instead)."""
        def known(digest: str) -> None:
            self._digest = digest

        return store.digested(store.signals_file(self.pieces()), known)


#: Signals in one piece of the snapshot's JSON: bounds the memory of a piece (and keeps Arrow's
#: 32-bit text offsets far from their limit).
_SLICE = 1 << 16


def _array(values: pa.Array, encode: Callable[[pa.Array], pa.Array]) -> Iterator[bytes | memoryview]:
    """The JSON array of ``values``, each made JSON by ``encode``, a slice at a time."""
    if not len(values):
        yield b"[]"
    for start in range(0, len(values), _SLICE):
        last = start + _SLICE >= len(values)
        yield joined(encode(values.slice(start, _SLICE)), "," if start else "[", ",", "]" if last else "")


def _text(values: pd.Series) -> pa.Array:
    found = pa.array(values, from_pandas=True)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    return found.cast(pa.string())


def _filled(values: pd.Series) -> pa.Array:
    """A column as text, a missing value as "" (in Arrow: a column of categories is not made text
    by pandas, a Python string at a time)."""
    return _text(values).fill_null("")


def _codes(values: pd.Series, order: np.ndarray) -> tuple[list[str], np.ndarray]:
    """A coded field as its sorted distinct values and one code per signal, in ``order``."""
    encoded = pc.dictionary_encode(_filled(values))
    distinct = [str(v) for v in encoded.dictionary.to_pylist()]
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[sorted(range(len(distinct)), key=distinct.__getitem__)] = np.arange(len(distinct))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return sorted(distinct), (rank[indices][order] if len(distinct) else np.zeros(0, np.int64))


def data_part(dataset: Dataset, stats: Stats, taxonomy_path: Path,
              data_digest: Callable[[], str] | None = None) -> dict[str, Any]:
    """What a snapshot holds of the data alone (digests, and every signal's id, URL and codes): the
    same for every build of the same data, so a preview keeps it (``BuildCache.snapshot_data``).
    ``data_digest``, if given, gives the data file's digest (``store.file_digest_ahead``)."""
    order = np.asarray(stats.frame["id"].argsort(kind="stable").to_numpy(), dtype=np.int64)
    ids = _text(stats.frame["id"]).take(pa.array(order))
    if len(dataset.frame) == len(stats.frame) and _text(dataset.frame["id"]).equals(_text(stats.frame["id"])):
        urls = _text(dataset.frame["url"]).take(pa.array(order))  # the same rows: by position
    else:
        by_id = pd.Series(dataset.frame["url"].to_numpy(), index=dataset.frame["id"].to_numpy())
        urls = pa.array(by_id.loc[ids.to_numpy(zero_copy_only=False)].tolist(), pa.string())
    filtered = {name for d in stats.denominators.values() for name in d.where}
    columns = {}
    for name in SIGNAL_COLUMNS:
        if name in OPTIONAL_COLUMNS and name not in filtered and \
                pc.all(pc.equal(_filled(stats.frame[name]), OPTIONAL_COLUMNS[name]), min_count=0).as_py():
            continue  # an optional column that says nothing is left out
        columns[name] = _codes(stats.frame[name], order)
    data = data_digest() if data_digest is not None else store.digest(store.file_pieces(dataset.source_path))
    return {"digest": {"data": data,
                       "taxonomy": store.digest(store.file_pieces(taxonomy_path))},
            "signals": SignalColumns(ids, urls, columns)}


def snapshot(dataset: Dataset, stats: Stats, pages: list[BoundPage], taxonomy_path: Path,
             data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the snapshot of a build as plain JSON-ready data (``data``: its ``data_part``, if
    already made)."""
    memo = next(p for p in pages if p.page.slug == INDEX)
    taxonomy = stats.taxonomy
    data = data if data is not None else data_part(dataset, stats, taxonomy_path)
    return {
        "memokit_snapshot": store.WHOLE,
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


@dataclass
class History:
    """This build's snapshot, the pinned versions before it, and what changed since the newest."""

    snapshot: dict[str, Any]
    versions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # pinned, oldest first
    since: str | None = None  # the version the changes are counted from
    changes: Comparison | None = None
    tables: Tables = field(default_factory=Tables)  # the signals compared, for the versions page's comparisons

    @property
    def changed(self) -> bool:
        return self.changes is not None and not self.changes.unchanged


def history(snapshot_data: dict[str, Any], versions: list[tuple[str, dict[str, Any]]],
            tables: Tables | None = None) -> History:
    """Compare ``snapshot_data`` with the newest of the pinned ``versions`` (oldest first, as
    ``store.read_pinned`` gives them) from before its date; ``tables`` keeps what the comparisons
    found (``memokit.versions.compare.Tables``)."""
    found = History(snapshot_data, versions, tables=tables if tables is not None else Tables())
    previous = store.previous(versions, snapshot_data.get("version"))
    if previous is not None:
        found.since, old = previous
        found.changes = compare(old, snapshot_data, found.tables)
    return found
