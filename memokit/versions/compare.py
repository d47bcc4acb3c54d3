"""What moved between two versions of a memo, and why: ``memokit compare OLD NEW``.

Every bound number is matched by page and expression. A share that moved is attributed exactly to
the posts added, dropped and recoded: for a share p = a/n going from a0/n0 to a1/n1,

    added    contributes (a_add − p0·n_add) / n1
    dropped  contributes −(a_drop − p0·n_drop) / n1
    recoded  contributes (Δa_recoded − p0·Δn_recoded) / n1

(a_add is how many added posts the numerator counts, n_add how many the denominator counts; a
recoded post is one in both versions whose coded fields changed), and the three parts sum to
p1 − p0 exactly, because a0 − p0·n0 = 0. Membership is computed in each version with that
version's own taxonomy, so a change of definition shows up as what it is. Changes of the
taxonomy itself (themes added, renamed, moved to another phase; denominators redefined) are
reported as changes of method, not of the world.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, overload, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The most characters of Markdown ``compare`` prints (a pull-request body holds 65,536).
MARKDOWN_LIMIT = 60_000


@runtime_checkable
class SignalArrays(Protocol):
    """A snapshot's signals held as arrays (``memokit.build.snapshot.SignalColumns``), not as lists:
    read as they are, with no Python object per signal."""

    ids: pa.Array
    urls: pa.Array
    columns: dict[str, tuple[list[str], np.ndarray]]


def signal_arrays(signals: Any) -> tuple[pa.Array, pa.Array, dict[str, tuple[list[str], np.ndarray]]]:
    """A snapshot's signals as arrays (ids, URLs, and each coded field's values and codes): as they
    are if held so (``SignalArrays``), else made from the lists of their JSON."""
    if isinstance(signals, SignalArrays):
        return signals.ids, signals.urls, signals.columns
    return (pa.array(signals["ids"], pa.string()), pa.array(signals["urls"], pa.string()),
            {name: (list(column["values"]), np.asarray(column["codes"], dtype=np.int64))
             for name, column in signals["columns"].items()})


class _Table:
    """A snapshot's signals as arrays, each coded field as its distinct values and one code per
    signal, and each signal's phase from that snapshot's taxonomy."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.ids, self.urls, coded = signal_arrays(snapshot["signals"])
        columns = {name: (np.asarray(values, dtype=object), codes) for name, (values, codes) in coded.items()}
        self.n = len(self.ids)
        taxonomy = snapshot["taxonomy"]
        phase_of = {t["id"]: t["phase"] for t in taxonomy["themes"]}
        themes, theme_codes = columns["theme"]
        columns["phase"] = (np.asarray([phase_of.get(t, "") for t in themes], dtype=object), theme_codes)
        self.columns = columns
        self.where = {d["id"]: d["where"] for d in taxonomy["denominators"]}

    def values(self, name: str, rows: np.ndarray) -> list[str]:
        """Field ``name`` of the signals at ``rows``."""
        values, codes = self.columns[name]
        return [str(value) for value in values[codes[rows]]] if len(rows) else []

    def _matching(self, name: str, wanted: list[str]) -> np.ndarray:
        values, codes = self.columns[name]
        return np.isin(values, wanted)[codes] if len(values) else np.zeros(self.n, dtype=bool)

    def members(self, query: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """Which signals a share's numerator and denominator count; None if this version has no
        such denominator or field."""
        where = self.where.get(query["of"])
        if where is None:
            return None
        denominator = np.ones(self.n, dtype=bool)
        for name, values in where.items():
            if name not in self.columns:
                return None
            denominator &= self._matching(name, list(values))
        numerator = denominator.copy()
        for name, values in query["filters"].items():
            if name not in self.columns:
                return None
            numerator &= self._matching(name, list(values))
        return numerator, denominator


class _Pair:
    """Two snapshots' signals matched by id: which are in both (at which rows of each), which were
    added, dropped, and recoded (any coded field's value changed)."""

    def __init__(self, before: _Table, after: _Table) -> None:
        self.before, self.after = before, after
        found = pc.index_in(after.ids, value_set=before.ids)  # each new signal's row in the old, or null
        present = np.asarray(found.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        self.new_rows = np.flatnonzero(present)
        self.old_rows = np.asarray(found.drop_null().to_numpy(zero_copy_only=False), dtype=np.int64)
        self.added = np.flatnonzero(~present)
        dropped = np.ones(before.n, dtype=bool)
        dropped[self.old_rows] = False
        self.dropped = np.flatnonzero(dropped)
        changed = np.zeros(len(self.new_rows), dtype=bool)
        for name in before.columns:
            if name == "phase" or name not in after.columns:
                continue
            (old_values, old_codes), (new_values, new_codes) = before.columns[name], after.columns[name]
            position = {value: number for number, value in enumerate(new_values)}
            as_new = np.asarray([position.get(value, -1) for value in old_values], dtype=np.int64)
            if len(self.new_rows):
                changed |= as_new[old_codes[self.old_rows]] != new_codes[self.new_rows]
        self.recoded = np.flatnonzero(changed)  # indices into new_rows and old_rows
        self._parts: dict[str, dict[str, float] | None] = {}  # by query: a preview asks again after every prose edit


class Posts(Sequence[tuple[str, ...]]):
    """Posts a comparison found, as ``(id, url, theme)``, or for the recoded ``(id, url, old theme,
    new theme)``: the signals at ``rows`` of ``table`` (and, if recoded, at ``old_rows`` of
    ``before``), made into Python tuples only as they are asked for. A refresh of a million posts
    has a million of them; the memo page shows a hundred, the summary only counts them."""

    _PIECE = 65_536  # tuples made at a time while iterating

    def __init__(self, table: _Table, rows: np.ndarray, before: _Table | None = None,
                 old_rows: np.ndarray | None = None) -> None:
        self.table, self.rows, self.before, self.old_rows = table, rows, before, old_rows

    def _made(self, positions: np.ndarray) -> list[tuple[str, ...]]:
        if not len(positions):
            return []
        rows = self.rows[positions]
        taken = pa.array(rows, pa.int64())
        ids, urls = self.table.ids.take(taken).to_pylist(), self.table.urls.take(taken).to_pylist()
        themes = self.table.values("theme", rows)
        if self.before is None or self.old_rows is None:
            return list(zip(ids, urls, themes, strict=True))
        was = self.before.values("theme", self.old_rows[positions])
        return list(zip(ids, urls, was, themes, strict=True))

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> tuple[str, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, ...] | list[tuple[str, ...]]:
        if isinstance(index, slice):  # only the rows asked for, not a range over all of them
            return self._made(np.arange(*index.indices(len(self))))
        return self._made(np.asarray([range(len(self))[index]]))[0]

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        for start in range(0, len(self), self._PIECE):
            yield from self._made(np.arange(start, min(start + self._PIECE, len(self))))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Posts({len(self)})"


@dataclass
class Moved:
    """A bound number whose value changed."""

    page: str
    expression: str
    label: str | None
    old_text: str
    new_text: str
    old_value: Any
    new_value: Any
    points: float | None = None  # a share's change, in percentage points
    outside: bool | None = None  # whether the new share lies outside the old 95% interval
    parts: dict[str, float] | None = None  # percentage points (shares) or counts, from added/dropped/recoded

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "expression": self.expression, "label": self.label,
                "old": {"text": self.old_text, "value": self.old_value},
                "new": {"text": self.new_text, "value": self.new_value},
                "points": self.points, "outside_old_interval": self.outside, "attribution": self.parts}


@dataclass
class Comparison:
    """Everything that moved from one snapshot to another."""

    old: dict[str, Any]
    new: dict[str, Any]
    added: Sequence[tuple[str, ...]] = field(default_factory=list)  # id, url, theme (new)
    dropped: Sequence[tuple[str, ...]] = field(default_factory=list)  # id, url, theme (old)
    recoded: Sequence[tuple[str, ...]] = field(default_factory=list)  # id, url, old theme, new theme
    headline: list[Moved] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    appeared: list[str] = field(default_factory=list)  # page: expression, bound only in the new version
    vanished: list[str] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    method: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.dropped or self.recoded or self.headline or self.moved or self.appeared
                    or self.vanished or self.claims or self.method)

    @property
    def old_version(self) -> str:
        return str(self.old.get("version") or "the old version")

    @property
    def new_version(self) -> str:
        return str(self.new.get("version") or "this build")

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {"version": self.old.get("version"), "n": self.old["n"], "digest": self.old["digest"]},
            "new": {"version": self.new.get("version"), "n": self.new["n"], "digest": self.new["digest"]},
            "posts": {"added": [{"id": i, "url": u, "theme": t} for i, u, t in self.added],
                      "dropped": [{"id": i, "url": u, "theme": t} for i, u, t in self.dropped],
                      "recoded": [{"id": i, "url": u, "from": a, "to": b} for i, u, a, b in self.recoded]},
            "headline": [m.to_json() for m in self.headline],
            "bound_numbers": [m.to_json() for m in self.moved],
            "appeared": self.appeared, "vanished": self.vanished,
            "claims": self.claims, "method": self.method,
        }

    def summary(self) -> str:
        """One sentence: how many posts and numbers moved."""
        if self.unchanged:
            return "nothing changed"
        parts = [f"{len(self.added):,} post{_s(len(self.added))} added, {len(self.dropped):,} dropped, "
                 f"{len(self.recoded):,} recoded",
                 f"{len(self.headline)} headline number{_s(len(self.headline))} and {len(self.moved)} other bound "
                 f"number{_s(len(self.moved))} moved"]
        if self.claims:
            parts.append(f"{len(self.claims)} claim{_s(len(self.claims))} changed")
        if self.method:
            parts.append(f"{len(self.method)} change{_s(len(self.method))} of method")
        return "; ".join(parts)

    def to_markdown(self, limit: int = MARKDOWN_LIMIT) -> str:
        """A report usable as a pull-request body: a summary table first, details below, never
        longer than ``limit`` characters (then the details point to ``--json``)."""
        for detail in ("full", "short", "none"):
            text = _markdown(self, detail)
            if len(text) <= limit:
                return text
        return text[: limit - 200] + "\n\n…cut here: the full comparison is in `memokit compare --json`.\n"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


class Tables:
    """The signals of snapshots compared, as arrays, and what was found between two of them: kept
    while the same snapshots are compared again (the build compares itself with the last pinned
    version, then the versions page compares each two neighbours; a preview does both after every
    prose edit, with the same signals). A snapshot's table is kept by its signals' identity."""

    def __init__(self) -> None:
        self._tables: dict[int, tuple[Any, Any, _Table]] = {}
        self._pairs: dict[tuple[int, int], _Pair] = {}

    def table(self, snapshot: dict[str, Any]) -> _Table:
        signals, taxonomy = snapshot["signals"], snapshot["taxonomy"]
        kept = self._tables.get(id(signals))
        if kept is None or kept[0] is not signals or kept[1] != taxonomy:
            kept = self._tables[id(signals)] = (signals, taxonomy, _Table(snapshot))
        return kept[2]

    def pair(self, before: _Table, after: _Table) -> _Pair:
        found = self._pairs.get((id(before), id(after)))
        if found is None or found.before is not before or found.after is not after:
            found = self._pairs[(id(before), id(after))] = _Pair(before, after)
        return found


def compare(old: dict[str, Any], new: dict[str, Any], tables: Tables | None = None) -> Comparison:
    """Compare two snapshots (``old`` first); ``tables``, if given, keeps their signals' tables and
    what was found between them for the next comparison of the same snapshots."""
    tables = tables if tables is not None else Tables()
    result = Comparison(old, new)
    before, after = tables.table(old), tables.table(new)
    pair = tables.pair(before, after)
    result.added = Posts(after, pair.added)
    result.dropped = Posts(before, pair.dropped)
    result.recoded = Posts(after, pair.new_rows[pair.recoded], before, pair.old_rows[pair.recoded])
    result.headline, _, _ = _numbers(old.get("headline", []), new.get("headline", []), pair)
    result.moved, result.appeared, result.vanished = _numbers(old["bindings"], new["bindings"], pair)
    headline_keys = {(m.page, m.expression) for m in result.headline}
    result.moved = [m for m in result.moved if (m.page, m.expression) not in headline_keys]
    result.claims = _claims(old["claims"], new["claims"])
    result.method = _method(old["taxonomy"], new["taxonomy"])
    return result


def _numbers(old: list[dict[str, Any]], new: list[dict[str, Any]],
             pair: _Pair) -> tuple[list[Moved], list[str], list[str]]:
    """Match bound numbers by page, expression and occurrence; return the moved, the new and the gone."""
    def keyed(numbers: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
        seen: Counter[tuple[str, str]] = Counter()
        found = {}
        for number in numbers:
            key = (number["page"], number["expression"])
            found[(*key, seen[key])] = number
            seen[key] += 1
        return found

    was, now = keyed(old), keyed(new)
    moved = []
    for key, number in now.items():
        previous = was.get(key)
        if previous is None or (previous["value"] == number["value"] and previous["text"] == number["text"]):
            continue
        moved.append(_moved(previous, number, pair))
    appeared = sorted({f"{k[0]}: {k[1]}" for k in now if k not in was})
    vanished = sorted({f"{k[0]}: {k[1]}" for k in was if k not in now})
    return moved, appeared, vanished


def _moved(old: dict[str, Any], new: dict[str, Any], pair: _Pair) -> Moved:
    moved = Moved(new["page"], new["expression"], new.get("label"), old["text"], new["text"], old["value"],
                  new["value"])
    if "fraction" in old and "fraction" in new and old["fraction"][1] and new["fraction"][1]:
        p0, p1 = Fraction(*old["fraction"]), Fraction(*new["fraction"])
        moved.points = float((p1 - p0) * 100)
        if "interval" in old:
            low, high = old["interval"]
            moved.outside = not (low <= float(p1) <= high)
    query = new.get("query")
    if query is not None and query == old.get("query"):
        moved.parts = attribute(query, pair.before, pair.after, pair)
    return moved


def attribute(query: dict[str, Any], before: _Table, after: _Table,
              pair: _Pair | None = None) -> dict[str, float] | None:
    """Split a share's change into what posts added, dropped and recoded contribute (percentage
    points, summing exactly to the change), or a count's change into counts. ``pair``: the two
    tables matched, if already (it keeps what it found for the same query)."""
    pair = pair if pair is not None else _Pair(before, after)
    key = json.dumps(query, sort_keys=True)
    if key not in pair._parts:
        pair._parts[key] = _attribute(query, pair)
    return pair._parts[key]


def _attribute(query: dict[str, Any], pair: _Pair) -> dict[str, float] | None:
    old_members, new_members = pair.before.members(query), pair.after.members(query)
    if old_members is None or new_members is None:
        return None
    (num0, den0), (num1, den1) = old_members, new_members
    old_rows, new_rows = pair.old_rows, pair.new_rows
    added, dropped = pair.added, pair.dropped
    a_add, n_add = int(num1[added].sum()), int(den1[added].sum())
    a_drop, n_drop = int(num0[dropped].sum()), int(den0[dropped].sum())
    a_rec = int(num1[new_rows].sum()) - int(num0[old_rows].sum())
    n_rec = int(den1[new_rows].sum()) - int(den0[old_rows].sum())
    if query["kind"] == "count":
        return {"added": float(a_add), "dropped": float(-a_drop), "recoded": float(a_rec)}
    a0, n0, n1 = int(num0.sum()), int(den0.sum()), int(den1.sum())
    if not n0 or not n1:
        return None
    p0 = Fraction(a0, n0)
    parts = {"added": (a_add - p0 * n_add) / n1, "dropped": -(a_drop - p0 * n_drop) / n1,
             "recoded": (a_rec - p0 * n_rec) / n1}
    assert sum(parts.values()) == Fraction(int(num1.sum()), n1) - p0  # exact, by construction
    return {name: float(part * 100) for name, part in parts.items()}


def _claims(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    was = {c["name"]: c for c in old}
    changed = []
    for claim in new:
        previous = was.get(claim["name"])
        if previous is None:
            changed.append({"name": claim["name"], "sentence": claim["sentence"], "change": "new claim",
                            "now": claim["passed"], "terms_now": claim["terms"]})
            continue
        if previous["passed"] != claim["passed"] or previous.get("holds_in") != claim.get("holds_in"):
            changed.append({"name": claim["name"], "sentence": claim["sentence"], "change": "status",
                            "was": previous["passed"], "now": claim["passed"],
                            "holds_in_was": previous.get("holds_in"), "holds_in_now": claim.get("holds_in"),
                            "support_was": previous.get("support"), "support_now": claim.get("support"),
                            "terms_was": previous["terms"], "terms_now": claim["terms"]})
    now = {c["name"] for c in new}
    changed += [{"name": c["name"], "sentence": c["sentence"], "change": "removed claim"} for c in old
                if c["name"] not in now]
    return changed


def _method(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Changes of the taxonomy: of how posts are coded and counted, not of what they say."""
    found = []
    for kind in ("themes", "phases"):
        was = {item["id"]: item for item in old[kind]}
        now = {item["id"]: item for item in new[kind]}
        singular = kind[:-1]
        found += [f"{singular} added: {i} ({now[i]['label']})" for i in now if i not in was]
        found += [f"{singular} removed: {i} ({was[i]['label']})" for i in was if i not in now]
        for i in now:
            if i in was and was[i]["label"] != now[i]["label"]:
                found.append(f"{singular} renamed: {i}, {was[i]['label']!r} → {now[i]['label']!r}")
            if kind == "themes" and i in was and was[i]["phase"] != now[i]["phase"]:
                found.append(f"theme moved to another phase: {i}, {was[i]['phase']} → {now[i]['phase']}")
    was_d = {d["id"]: d for d in old["denominators"]}
    for d in new["denominators"]:
        if d["id"] in was_d and was_d[d["id"]]["where"] != d["where"]:
            found.append(f"denominator redefined: {d['id']}, {json.dumps(was_d[d['id']]['where'])} → "
                         f"{json.dumps(d['where'])}")
        elif d["id"] not in was_d:
            found.append(f"denominator added: {d['id']}")
    found += [f"denominator removed: {i}" for i in was_d if i not in {d["id"] for d in new["denominators"]}]
    return found


# --- Markdown ---------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _signed(value: float | None, unit: str = " pp") -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}{unit}" if unit else f"{value:+,.0f}"


def _table(moved: list[Moved], limit: int | None) -> list[str]:
    rows = ["| number | was | now | change | outside the old 95% interval | from posts added | dropped | recoded |",
            "|---|---|---|---|---|---|---|---|"]
    for m in moved[:limit]:
        unit = " pp" if m.points is not None else ""
        parts = m.parts or {}
        outside = "–" if m.outside is None else ("**yes**" if m.outside else "no")
        name = m.label or f"`{m.expression}` ({m.page})"
        rows.append(f"| {_cell(name)} | {_cell(m.old_text)} | {_cell(m.new_text)} | {_signed(m.points)} | {outside} | "
                    f"{_signed(parts.get('added'), unit)} | {_signed(parts.get('dropped'), unit)} | "
                    f"{_signed(parts.get('recoded'), unit)} |")
    if limit is not None and len(moved) > limit:
        rows.append(f"| … and {len(moved) - limit} more | | | | | | | |")
    return rows


def _posts(title: str, posts: Sequence[tuple[str, ...]], theme_of: int, detail: str) -> list[str]:
    if not posts:
        return []
    lines = [f"### {title} ({len(posts):,})", ""]
    by_theme: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for post in posts:
        by_theme[post[theme_of]].append(post)
    for theme, group in sorted(by_theme.items()):
        if detail == "full":
            links = "\n".join(f"- [{_cell(p[0])}]({p[1]})" + (f" ({p[2]} → {p[3]})" if len(p) == 4 else "")
                              for p in group)
            lines += [f"<details><summary>{_cell(theme)} ({len(group)})</summary>", "", links, "", "</details>", ""]
        else:
            lines.append(f"- {_cell(theme)}: {len(group)}")
    return [*lines, ""]


def _markdown(c: Comparison, detail: str) -> str:
    old, new = c.old, c.new
    lines = [f"# What changed: {c.old_version} → {c.new_version}", "",
             f"| | {c.old_version} | {c.new_version} |", "|---|---|---|",
             f"| posts | {old['n']:,} | {new['n']:,} |"]
    for h in c.headline:
        lines.append(f"| {_cell(h.label or h.expression)} | {_cell(h.old_text)} | {_cell(h.new_text)} |")
    claims_old = sum(x["passed"] for x in old["claims"])
    claims_new = sum(x["passed"] for x in new["claims"])
    lines += [f"| claims that hold | {claims_old}/{len(old['claims'])} | {claims_new}/{len(new['claims'])} |", "",
              f"**{c.summary()}.**", ""]
    if c.unchanged:
        return "\n".join(lines) + "\n"
    if c.method:
        lines += ["## Changes of method", "", "The taxonomy changed: these move numbers by how posts are coded "
                  "and counted, not by what developers wrote.", "", *[f"- {_cell(m)}" for m in c.method], ""]
    if c.headline:
        lines += ["## Headline numbers", "", *_table(c.headline, None), ""]
    if c.moved:
        lines += ["## Other bound numbers that moved", "", *_table(c.moved, None if detail == "full" else 40), ""]
    if c.appeared or c.vanished:
        lines += ["## Bound numbers new or gone", ""]
        lines += [f"- new: `{_cell(x)}`" for x in c.appeared[: None if detail == "full" else 20]]
        lines += [f"- gone: `{_cell(x)}`" for x in c.vanished[: None if detail == "full" else 20]]
        lines.append("")
    if c.claims:
        lines += ["## Claims", ""]
        for claim in c.claims:
            if claim["change"] == "status":
                lines.append(f"- **{_cell(claim['name'])}** ({_cell(claim['sentence'])}): "
                             f"{'holds' if claim['was'] else 'fails'} → {'holds' if claim['now'] else 'fails'}; "
                             f"subsets {claim['holds_in_was']} → {claim['holds_in_now']}")
                if detail == "full":
                    lines += [f"  - was: `{_cell(e)}` = {_cell(v)}" for e, v in claim["terms_was"]]
                    lines += [f"  - now: `{_cell(e)}` = {_cell(v)}" for e, v in claim["terms_now"]]
            else:
                lines.append(f"- **{_cell(claim['name'])}**: {claim['change']}")
        lines.append("")
    if c.added or c.dropped or c.recoded:
        lines += ["## Posts", ""]
        if detail != "none":
            lines += _posts("Added", c.added, 2, detail)
            lines += _posts("Dropped", c.dropped, 2, detail)
            lines += _posts("Recoded", c.recoded, 2, detail)
        else:
            lines += [f"{len(c.added):,} added, {len(c.dropped):,} dropped, {len(c.recoded):,} recoded: too many to "
                      "list here; the full lists are in `memokit compare --json`.", ""]
    if detail != "full":
        lines += ["", "Some details are shortened to keep this report readable; the full comparison is in "
                  "`memokit compare OLD NEW --json`."]
    return "\n".join(lines).rstrip("\n") + "\n"
