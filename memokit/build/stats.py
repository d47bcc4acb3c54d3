"""Stage 3, stats: counts and shares by theme, phase, source and year over named denominators.

One ``Stats`` object is the single source of every number that prose, cards, charts, the drill
and ``stats.json`` show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..model import ALL, CODINGS, FILTER_FIELDS, HAND, MODEL, MODEL_ACCEPTED, UNRECORDED, Taxonomy, coding_of
from .validate import Dataset, mapped

#: z for a two-sided 95% interval.
Z95 = 1.959963984540054
#: Breakdowns computed for every denominator, in the order they are reported.
DIMENSIONS = ("theme", "phase", "source", "year")
UNKNOWN_YEAR = "unknown"
TOP_COMMUNITIES = 3


class StatsError(ValueError):
    """A question asked of ``Stats`` names something that does not exist."""


def largest_remainder(counts: Sequence[int]) -> list[int]:
    """Return whole percentages of ``counts`` that sum to exactly 100 (Hamilton's method).

    Each share is floored, then the points still missing go to the largest remainders;
    ties go to the larger count, then to the earlier category, so the result is stable.
    """
    total = sum(counts)
    if total == 0:
        return [0 for _ in counts]
    floors = [count * 100 // total for count in counts]
    remainders = [count * 100 % total for count in counts]
    missing = 100 - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-remainders[i], -counts[i], i))
    for i in order[:missing]:
        floors[i] += 1
    return floors


def wilson(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of ``count / total``."""
    if total <= 0:
        raise StatsError("a share of an empty denominator has no interval")
    p = count / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # Rounding can leave the bound a hair past the estimate (0/7 gives 3e-17): clamp it.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def round_percent(count: int, total: int) -> int:
    """Return ``100 * count / total`` rounded half up, in exact integer arithmetic."""
    return (200 * count + total) // (2 * total)


@dataclass(frozen=True)
class Share:
    """``count`` of ``total``, with its whole percent and its Wilson 95% interval."""

    key: str
    label: str
    count: int
    total: int
    percent: int | None
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        """Return the exact share, or None when the denominator is empty."""
        return self.count / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "label": self.label, "count": self.count, "total": self.total,
            "share": self.value, "percent": self.percent, "low": self.low, "high": self.high,
        }


def make_share(key: str, label: str, count: int, total: int, percent: int | None = None) -> Share:
    """Build a share; ``percent`` defaults to plain rounding when not part of a breakdown."""
    if total == 0:
        return Share(key, label, count, 0, None, None, None)
    low, high = wilson(count, total)
    return Share(key, label, count, total, round_percent(count, total) if percent is None else percent, low, high)


@dataclass(frozen=True)
class Breakdown:
    """The shares of one dimension (theme, phase, source, year) within one denominator."""

    dimension: str
    of: str
    total: int
    shares: tuple[Share, ...]

    def __getitem__(self, key: str) -> Share:
        for share in self.shares:
            if share.key == key:
                return share
        raise KeyError(key)

    def get(self, key: str) -> Share | None:
        """Return the share of ``key``, or None if the breakdown has no such category."""
        return next((share for share in self.shares if share.key == key), None)

    def __contains__(self, key: object) -> bool:
        return any(share.key == key for share in self.shares)

    def keys(self) -> list[str]:
        return [share.key for share in self.shares]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "rows": [share.to_json() for share in self.shares]}


@dataclass(frozen=True)
class DenominatorStats:
    id: str
    label: str
    n: int
    where: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Stats:
    """Every number of the memo, computed once from the validated dataset."""

    taxonomy: Taxonomy
    n: int
    denominators: Mapping[str, DenominatorStats]
    breakdowns: Mapping[tuple[str, str], Breakdown]
    first_date: date | None
    last_date: date | None
    communities: int
    top_communities: Mapping[str, tuple[tuple[str, int], ...]]
    frame: pd.DataFrame = field(repr=False, compare=False)
    #: Which rows of ``frame`` each denominator holds.
    masks: Mapping[str, pd.Series] = field(repr=False, compare=False, default_factory=dict)
    _subsets: dict[str, Stats] = field(repr=False, compare=False, default_factory=dict)
    #: Values derived from ``frame`` alone, kept as long as these statistics (e.g. support's cells).
    memo: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    # --- queries used by prose, claims, cards and charts ------------------------------------

    def breakdown(self, dimension: str, of: str = ALL) -> Breakdown:
        self._check_denominator(of)
        if dimension not in DIMENSIONS:
            raise StatsError(f"unknown breakdown {dimension!r}; expected one of: {', '.join(DIMENSIONS)}")
        return self.breakdowns[(dimension, of)]

    def count(self, of: str = ALL, **filters: str | Sequence[str]) -> int:
        """Return how many signals of denominator ``of`` match every filter."""
        return self.share(of=of, **filters).count

    def share(self, of: str = ALL, **filters: str | Sequence[str]) -> Share:
        """Return the share of denominator ``of`` matching every filter.

        A filter on one dimension reads the breakdown, so the whole percent is the one shown on
        cards and charts (the sum of the members' largest-remainder percents for a list of
        values); any other combination is counted directly and rounded half up.
        """
        self._check_denominator(of)
        wanted = {name: self._check_filter(name, value) for name, value in filters.items() if value is not None}
        total = self.denominators[of].n
        if not wanted:
            return make_share(of, self.denominators[of].label, total, total)
        if len(wanted) == 1:
            [(name, values)] = wanted.items()
            if name in DIMENSIONS:
                breakdown = self.breakdowns[(name, of)]
                # A valid value with no signal (a year nobody posted in) counts zero.
                members = [breakdown[value] if value in breakdown else make_share(value, value, 0, total, 0)
                           for value in values]
                count = sum(m.count for m in members)
                percent = sum(m.percent or 0 for m in members) if total else None
                label = " or ".join(m.label for m in members)
                return make_share("+".join(values), label, count, total, percent)
        key = ",".join(f"{name}={'+'.join(values)}" for name, values in wanted.items())
        return make_share(key, key, self._counted(f"count:{of}\0{sorted(wanted.items())!r}", lambda: signals_in(
            self.frame, matching(self.frame, wanted, within=self.masks[of]))), total)

    def rank(self, dimension: str, key: str, of: str = ALL) -> int:
        """Return 1 for the largest category of a breakdown, 2 for the next (ties share a rank)."""
        breakdown = self.breakdown(dimension, of)
        self._check_filter(dimension, key)
        count = breakdown[key].count if key in breakdown else 0
        return 1 + sum(1 for share in breakdown.shares if share.count > count)

    def distinct(self, field_name: str, of: str = ALL, **filters: str | Sequence[str]) -> int:
        """Return how many different values ``field_name`` takes among the signals of denominator
        ``of`` that match every filter (``distinct("theme", phase="Iterate")``: the Iterate themes
        that have posts)."""
        self._check_denominator(of)
        if field_name not in FILTER_FIELDS:
            raise StatsError(f"unknown field {field_name!r}; expected one of: {', '.join(FILTER_FIELDS)}")
        wanted = {name: self._check_filter(name, value) for name, value in filters.items() if value is not None}

        def distinct() -> int:
            mask = matching(self.frame, wanted, within=self.masks[of]) if wanted else self.masks[of]
            return int(self.frame.loc[mask, field_name].nunique())  # (aggregates hold only combinations that occur)
        return self._counted(f"distinct:{field_name}\0{of}\0{sorted(wanted.items())!r}", distinct)

    def within(self, of: str) -> Stats:
        """The statistics of the signals of denominator ``of`` alone, as if the corpus were only
        them: "all" is that subset, and every other denominator is its part of it."""
        return self.subset(of)

    def subset(self, of: str = ALL, filters: Mapping[str, str | Sequence[str]] | None = None) -> Stats:
        """The statistics of the signals of denominator ``of`` that match every filter, alone."""
        self._check_denominator(of)
        wanted = {name: self._check_filter(name, value) for name, value in (filters or {}).items()}
        if of == ALL and not wanted:
            return self
        key = repr((of, sorted(wanted.items())))
        cache = self._subsets
        if key not in cache:
            mask = matching(self.frame, wanted, within=self.masks[of])
            cache[key] = compute_frame(self.frame.loc[mask].reset_index(drop=True), self.taxonomy)
        return cache[key]

    def known_values(self, name: str) -> list[str]:
        """Return the values a filter on ``name`` may name."""
        if name == "theme":
            return [t.id for t in self.taxonomy.themes]
        if name == "phase":
            return [p.id for p in self.taxonomy.phases]
        if name in ("source", "year"):
            return self.breakdowns[(name, ALL)].keys()
        if name == "coding":
            return list(CODINGS)
        key = f"values:{name}"
        if key not in self.memo:
            self.memo[key] = sorted(self.frame[name].astype(str).unique())
        return list(self.memo[key])

    def _counted(self, key: str, count: Callable[[], int]) -> int:
        """A count over the frame, made once: the same data is asked the same again and again (every
        rebuild of the preview after a prose edit), and each count is a pass over every signal."""
        if key not in self.memo:
            self.memo[key] = count()
        return int(self.memo[key])

    def _check_denominator(self, of: str) -> None:
        if of not in self.denominators:
            raise StatsError(f"unknown denominator {of!r}; expected one of: {', '.join(self.denominators)}")

    def _check_filter(self, name: str, value: str | Sequence[str]) -> tuple[str, ...]:
        if name not in FILTER_FIELDS:
            raise StatsError(f"unknown filter {name!r}; expected one of: {', '.join(FILTER_FIELDS)}")
        values = (value,) if isinstance(value, str) else tuple(value)
        if not values or not all(isinstance(v, str) for v in values):
            raise StatsError(f"{name} expects a name or a list of names")
        known = self.known_values(name)
        for v in values:
            if v not in known and not (name == "year" and v.isdigit() and len(v) == 4):
                raise StatsError(f"unknown {name} {v!r}; expected one of: {', '.join(known)}")
        if len(set(values)) != len(values):
            raise StatsError(f"{name} lists a value twice")
        return values

    # --- export ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Return everything as plain JSON-ready data (``site/data/stats.json``)."""
        themes = []
        for theme in self.taxonomy.themes:
            share = self.breakdowns[("theme", ALL)][theme.id]
            themes.append({
                "id": theme.id, "label": theme.label, "phase": theme.phase,
                "definition": theme.definition, **_counts(share),
                "top_communities": [{"community": c, "count": k} for c, k in self.top_communities[theme.id]],
            })
        return {
            "n": self.n,
            "dates": {
                "first": self.first_date.isoformat() if self.first_date else None,
                "last": self.last_date.isoformat() if self.last_date else None,
                "unknown": self.breakdowns[("year", ALL)][UNKNOWN_YEAR].count
                if UNKNOWN_YEAR in self.breakdowns[("year", ALL)] else 0,
            },
            "communities": self.communities,
            "phases": [
                {"id": p.id, "label": p.name, "definition": p.definition, "color": p.color,
                 **_counts(self.breakdowns[("phase", ALL)][p.id])}
                for p in self.taxonomy.phases
            ],
            "themes": themes,
            "denominators": [
                {"id": d.id, "label": d.label, "n": d.n, "where": {k: list(v) for k, v in d.where.items()}}
                for d in self.denominators.values()
            ],
            "breakdowns": {
                dimension: {of: self.breakdowns[(dimension, of)].to_json() for of in self.denominators}
                for dimension in DIMENSIONS
            },
        }


def _counts(share: Share) -> dict[str, Any]:
    return {"count": share.count, "share": share.value, "percent": share.percent,
            "low": share.low, "high": share.high}


def matching(frame: pd.DataFrame, where: Mapping[str, Sequence[str]], within: pd.Series | None = None) -> pd.Series:
    """Return which rows of ``frame`` have, for every field of ``where``, one of its values
    (and lie ``within`` a mask already computed, if given)."""
    mask = pd.Series(True, index=frame.index) if within is None else within.copy()
    for name, values in where.items():
        mask &= frame[name].isin(values)
    return mask


def signal_frame(dataset: Dataset) -> pd.DataFrame:
    """Return one row per signal with the columns that stats filter and group on."""
    source = dataset.frame
    # Parsed in Arrow (``pd.to_datetime`` would make a Python string of every date first).
    dates = pc.strptime(pa.array(source["created"], from_pandas=True), format="%Y-%m-%d", unit="us")
    created = pd.Series(dates.to_numpy(zero_copy_only=False), index=source.index)
    frame = source[["id", "theme", "phase", "source", "community", "sample", "model_family", "tool", "corpus"]].copy()
    frame["coding"] = mapped(source["coded_by"], coding_of)
    frame["created"] = created
    # The year is the ISO date's first four characters: "0999", never "999".
    frame["year"] = source["created"].str.slice(0, 4).where(created.notna(), UNKNOWN_YEAR)
    return frame


def compute(dataset: Dataset) -> Stats:
    """Compute every breakdown of every denominator from the validated dataset."""
    return compute_frame(signal_frame(dataset), dataset.taxonomy)


#: In a frame of aggregates (``from_aggregates``), how many signals each row stands for.
SIGNALS = "signals"
#: The columns of a frame of aggregates: the fields a filter or a denominator may name, the count
#: of signals with those values, and the first and last date among them (ISO text, or null).
AGGREGATE_COLUMNS = (*FILTER_FIELDS, SIGNALS, "first", "last")


def aggregate_sql(signals: str) -> str:
    """The query whose rows ``from_aggregates`` takes, over ``signals`` (a table, or a reader such
    as DuckDB's ``read_parquet('corpus/**/*.parquet', hive_partitioning = true)``): standard SQL that
    DuckDB and Spark SQL both run. Dates are ISO text, so their minimum and maximum are the first
    and last."""
    derived = {
        "year": f"coalesce(substr(created, 1, 4), '{UNKNOWN_YEAR}') AS year",
        # coding_of(coded_by), in SQL
        "coding": (f"CASE WHEN coalesce(coded_by, '') = '' THEN '{UNRECORDED}' "
                   f"WHEN coded_by = '{MODEL_ACCEPTED}' OR coded_by LIKE '{MODEL_ACCEPTED}:%' THEN '{MODEL}' "
                   f"ELSE '{HAND}' END AS coding"),
    }
    select = [derived.get(name, name) for name in FILTER_FIELDS]
    groups = ", ".join(str(i) for i in range(1, len(select) + 1))
    return (f"SELECT {', '.join(select)}, count(*) AS {SIGNALS}, min(created) AS first, max(created) AS last\n"
            f"FROM {signals}\nGROUP BY {groups}")


def from_aggregates(aggregates: pd.DataFrame, taxonomy: Taxonomy) -> Stats:
    """Compute the same ``Stats`` as ``compute`` from counts alone: one row per combination of the
    filter fields that occurs (``AGGREGATE_COLUMNS``), as a ``GROUP BY`` over the signals gives them
    (``bench/README.md`` has the query, for DuckDB over Parquet and for Spark SQL). A corpus too large
    for one machine is counted where it lies; only these rows come here. What needs every post (the
    listing pages, the drill's data, the snapshot) is not in them."""
    missing = [name for name in AGGREGATE_COLUMNS if name not in aggregates.columns]
    if missing:
        raise StatsError(f"aggregates lack the column(s) {', '.join(missing)}; expected: {', '.join(AGGREGATE_COLUMNS)}")
    frame = aggregates.loc[aggregates[SIGNALS] > 0].reset_index(drop=True)
    frame = frame.assign(**{name: frame[name].fillna("").astype(str) for name in FILTER_FIELDS if name != "year"},
                         year=frame["year"].fillna(UNKNOWN_YEAR).astype(str), **{SIGNALS: frame[SIGNALS].astype("int64")},
                         first=pd.to_datetime(frame["first"], format="%Y-%m-%d"),
                         last=pd.to_datetime(frame["last"], format="%Y-%m-%d"))
    return compute_frame(frame, taxonomy)


def signals_in(frame: pd.DataFrame, mask: pd.Series | None = None) -> int:
    """How many signals the rows of ``frame`` (within ``mask``) stand for: one each, or their
    counts in a frame of aggregates."""
    if SIGNALS not in frame.columns:
        return len(frame) if mask is None else int(mask.sum())
    counts = frame[SIGNALS] if mask is None else frame.loc[mask, SIGNALS]
    return int(counts.sum())


def _counted(frame: pd.DataFrame, by: str | list[str]) -> pd.Series:
    """The number of signals per value (or combination) of ``by``."""
    if SIGNALS in frame.columns:
        return frame.groupby(by, observed=True)[SIGNALS].sum()
    if isinstance(by, str):
        counts = frame[by].value_counts()
        return counts[counts > 0]  # a column of categories counts its values that no signal has too
    return frame.groupby(by, observed=True).size()


def compute_frame(frame: pd.DataFrame, taxonomy: Taxonomy) -> Stats:
    """Compute every breakdown of every denominator from a frame of ``signal_frame``'s shape, or of
    aggregates (``from_aggregates``)."""
    denominators: dict[str, DenominatorStats] = {}
    masks: dict[str, pd.Series] = {}
    for denominator in taxonomy.denominators:
        where = denominator.allowed()
        mask = matching(frame, where)
        masks[denominator.id] = mask
        denominators[denominator.id] = DenominatorStats(denominator.id, denominator.label, signals_in(frame, mask),
                                                        where)

    labels = {
        "theme": {t.id: t.label for t in taxonomy.themes},
        "phase": {p.id: p.name for p in taxonomy.phases},
    }
    source_counts = _counted(frame, "source")
    categories = {
        "theme": [t.id for t in taxonomy.themes],
        "phase": [p.id for p in taxonomy.phases],
        # Most frequent first; ties by name so the order never depends on the input's order.
        "source": sorted(source_counts.index, key=lambda s: (-int(source_counts[s]), s)),
        "year": sorted(y for y in frame["year"].unique() if y != UNKNOWN_YEAR)
        + ([UNKNOWN_YEAR] if (frame["year"] == UNKNOWN_YEAR).any() else []),
    }
    labels["source"] = {s: taxonomy.source_label(s) for s in categories["source"]}
    labels["year"] = {y: ("unknown date" if y == UNKNOWN_YEAR else y) for y in categories["year"]}

    breakdowns: dict[tuple[str, str], Breakdown] = {}
    counted_columns = [*DIMENSIONS, *([SIGNALS] if SIGNALS in frame.columns else [])]
    for of, mask in masks.items():
        subset = frame.loc[mask, counted_columns]  # only what is counted: not a copy of every column
        for dimension in DIMENSIONS:
            counted = _counted(subset, dimension)
            keys = categories[dimension]
            counts = [int(counted.get(key, 0)) for key in keys]
            breakdowns[(dimension, of)] = _breakdown(dimension, of, keys, labels[dimension], counts)

    if SIGNALS in frame.columns:
        first, last = frame["first"].dropna(), frame["last"].dropna()
    else:
        first = last = frame["created"].dropna()
    top = (
        _counted(frame, ["theme", "community"]).reset_index(name="count")
        .sort_values(["theme", "count", "community"], ascending=[True, False, True])
    )
    leading: dict[str, list[tuple[str, int]]] = {theme.id: [] for theme in taxonomy.themes}
    for theme_id, community, count in top.groupby("theme", sort=False).head(TOP_COMMUNITIES).itertuples(index=False):
        leading[str(theme_id)].append((str(community), int(count)))
    top_communities = {theme_id: tuple(found) for theme_id, found in leading.items()}
    return Stats(
        taxonomy=taxonomy,
        n=signals_in(frame),
        denominators=denominators,
        breakdowns=breakdowns,
        first_date=first.min().date() if len(first) else None,
        last_date=last.max().date() if len(last) else None,
        communities=int(frame["community"].nunique()),
        top_communities=top_communities,
        frame=frame,
        masks=masks,
    )


def _breakdown(dimension: str, of: str, keys: Iterable[str], labels: Mapping[str, str], counts: list[int]) -> Breakdown:
    keys = list(keys)
    total = sum(counts)
    percents = largest_remainder(counts)
    shares = tuple(
        make_share(key, labels[key], count, total, percent if total else None)
        for key, count, percent in zip(keys, counts, percents, strict=True)
    )
    return Breakdown(dimension, of, total, shares)
