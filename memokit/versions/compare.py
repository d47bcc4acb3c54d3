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
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

#: The most characters of Markdown ``compare`` prints (a pull-request body holds 65,536).
MARKDOWN_LIMIT = 60_000


class _Table:
    """A snapshot's signals as arrays, with each one's phase from that snapshot's taxonomy."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        signals = snapshot["signals"]
        self.ids = np.asarray(signals["ids"], dtype=object)
        self.urls = list(signals["urls"])
        self.columns = {name: np.asarray(column["values"], dtype=object)[np.asarray(column["codes"], dtype=np.int64)]
                        if column["values"] else np.asarray([], dtype=object)
                        for name, column in signals["columns"].items()}
        taxonomy = snapshot["taxonomy"]
        phase_of = {t["id"]: t["phase"] for t in taxonomy["themes"]}
        self.columns["phase"] = np.asarray([phase_of.get(t, "") for t in self.columns["theme"]], dtype=object)
        self.where = {d["id"]: d["where"] for d in taxonomy["denominators"]}
        self.index = {identifier: number for number, identifier in enumerate(self.ids)}

    def members(self, query: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """Which signals a share's numerator and denominator count; None if this version has no
        such denominator or field."""
        where = self.where.get(query["of"])
        if where is None:
            return None
        denominator = np.ones(len(self.ids), dtype=bool)
        for name, values in where.items():
            if name not in self.columns:
                return None
            denominator &= np.isin(self.columns[name], list(values))
        numerator = denominator.copy()
        for name, values in query["filters"].items():
            if name not in self.columns:
                return None
            numerator &= np.isin(self.columns[name], list(values))
        return numerator, denominator


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
    added: list[tuple[str, str, str]] = field(default_factory=list)  # id, url, theme (new)
    dropped: list[tuple[str, str, str]] = field(default_factory=list)  # id, url, theme (old)
    recoded: list[tuple[str, str, str, str]] = field(default_factory=list)  # id, url, old theme, new theme
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


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """Compare two snapshots (``old`` first)."""
    result = Comparison(old, new)
    before, after = _Table(old), _Table(new)
    result.added = [(str(i), after.urls[n], str(after.columns["theme"][n]))
                    for n, i in enumerate(after.ids) if i not in before.index]
    result.dropped = [(str(i), before.urls[n], str(before.columns["theme"][n]))
                      for n, i in enumerate(before.ids) if i not in after.index]
    coded = [name for name in before.columns if name in after.columns and name != "phase"]
    for n, identifier in enumerate(after.ids):
        m = before.index.get(identifier)
        if m is not None and any(before.columns[c][m] != after.columns[c][n] for c in coded):
            result.recoded.append((str(identifier), after.urls[n], str(before.columns["theme"][m]),
                                   str(after.columns["theme"][n])))
    result.headline, _, _ = _numbers(old.get("headline", []), new.get("headline", []), before, after)
    result.moved, result.appeared, result.vanished = _numbers(old["bindings"], new["bindings"], before, after)
    headline_keys = {(m.page, m.expression) for m in result.headline}
    result.moved = [m for m in result.moved if (m.page, m.expression) not in headline_keys]
    result.claims = _claims(old["claims"], new["claims"])
    result.method = _method(old["taxonomy"], new["taxonomy"])
    return result


def _numbers(old: list[dict[str, Any]], new: list[dict[str, Any]], before: _Table,
             after: _Table) -> tuple[list[Moved], list[str], list[str]]:
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
        moved.append(_moved(previous, number, before, after))
    appeared = sorted({f"{k[0]}: {k[1]}" for k in now if k not in was})
    vanished = sorted({f"{k[0]}: {k[1]}" for k in was if k not in now})
    return moved, appeared, vanished


def _moved(old: dict[str, Any], new: dict[str, Any], before: _Table, after: _Table) -> Moved:
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
        moved.parts = attribute(query, before, after)
    return moved


def attribute(query: dict[str, Any], before: _Table, after: _Table) -> dict[str, float] | None:
    """Split a share's change into what posts added, dropped and recoded contribute (percentage
    points, summing exactly to the change), or a count's change into counts."""
    old_members, new_members = before.members(query), after.members(query)
    if old_members is None or new_members is None:
        return None
    (num0, den0), (num1, den1) = old_members, new_members
    common = [(before.index[i], n) for n, i in enumerate(after.ids) if i in before.index]
    old_rows = np.asarray([m for m, _ in common], dtype=np.int64)
    new_rows = np.asarray([n for _, n in common], dtype=np.int64)
    added = np.ones(len(after.ids), dtype=bool)
    added[new_rows] = False
    dropped = np.ones(len(before.ids), dtype=bool)
    dropped[old_rows] = False
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
