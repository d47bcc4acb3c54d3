"""Versions that cannot drift silently: snapshots, pins, compare with exact attribution, the
changes block and the versions page. Hand-made snapshots are synthetic; so are the projects."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from helpers import hand_made, make_data, signal
from playwright.sync_api import Browser

from memokit.build import render
from memokit.build import snapshot as snapshot_module
from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.build.snapshot import SignalColumns
from memokit.cli import main
from memokit.model import InputError
from memokit.versions import store
from memokit.versions.compare import MARKDOWN_LIMIT, Posts, _Table, attribute, compare

ROOT = Path(__file__).resolve().parent.parent


# --- hand-made snapshots ------------------------------------------------------------------------

THEMES = [{"id": "a", "label": "Theme A", "phase": "P"}, {"id": "b", "label": "Theme B", "phase": "Q"}]


def snap(posts: dict[str, str], version: str = "2026-01-01", themes: list[dict[str, str]] | None = None,
         bindings: list[dict[str, Any]] | None = None, claims: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A minimal snapshot: ``posts`` maps ids to themes; one share binding of theme "a"."""
    ids = sorted(posts)
    values = sorted(set(posts.values()))
    share_a = sum(theme == "a" for theme in posts.values())
    return {
        "memokit_snapshot": 1, "version": version, "title": "Synthetic", "digest": {"data": "x", "taxonomy": "y"},
        "n": len(ids),
        "taxonomy": {"phases": [{"id": "P", "label": "P"}, {"id": "Q", "label": "Q"}], "themes": themes or THEMES,
                     "denominators": [{"id": "all", "label": "all posts", "where": {}}]},
        "counts": {}, "headline": [],
        "bindings": bindings if bindings is not None else [
            {"page": "index.html", "line": 5, "expression": 'share("a")', "text": f"{round(100 * share_a / len(ids))}%",
             "value": share_a / len(ids), "fraction": [share_a, len(ids)], "interval": [0.0, 1.0],
             "query": {"kind": "share", "of": "all", "filters": {"theme": ["a"]}}}],
        "claims": claims or [],
        "signals": {"ids": ids, "urls": [f"https://example.com/synthetic/{i}" for i in ids],
                    "columns": {"theme": {"values": values, "codes": [values.index(posts[i]) for i in ids]}}},
    }


def test_attribution_splits_a_share_exactly_into_added_dropped_and_recoded() -> None:
    # Old: 10 posts, 4 of theme a (p0 = 2/5). New: 2 posts of "a" added, one "b" added, one "a" dropped,
    # one "b" recoded to "a": a1 = 4 + 2 - 1 + 1 = 6 of n1 = 10 + 3 - 1 = 12, p1 = 1/2.
    old = {f"s{i}": ("a" if i < 4 else "b") for i in range(10)}
    new = {k: v for k, v in old.items() if k != "s0"}
    new.update({"s9": "a", "n1": "a", "n2": "a", "n3": "b"})
    query = {"kind": "share", "of": "all", "filters": {"theme": ["a"]}}
    parts = attribute(query, _Table(snap(old)), _Table(snap(new)))
    p0, n1 = Fraction(2, 5), 12
    assert parts == pytest.approx({"added": float((2 - p0 * 3) / n1 * 100), "dropped": float(-(1 - p0 * 1) / n1 * 100),
                                   "recoded": float((1 - p0 * 0) / n1 * 100)})
    assert sum(parts.values()) == pytest.approx(float((Fraction(1, 2) - p0) * 100))
    comparison = compare(snap(old), snap(new))
    assert [p[0] for p in comparison.added] == ["n1", "n2", "n3"] and [p[0] for p in comparison.dropped] == ["s0"]
    assert comparison.recoded == [("s9", "https://example.com/synthetic/s9", "b", "a")]
    [moved] = comparison.moved
    assert moved.points == pytest.approx(10.0) and moved.parts == pytest.approx(parts)


def test_the_parts_always_sum_to_the_change() -> None:
    import random

    generator = random.Random(7)
    for _ in range(50):
        old = {f"s{i}": generator.choice("ab") for i in range(generator.randint(1, 40))}
        new = {k: (generator.choice("ab") if generator.random() < 0.2 else v) for k, v in old.items()
               if generator.random() > 0.2}
        new.update({f"n{i}": generator.choice("ab") for i in range(generator.randint(0, 10))})
        if not new:
            continue
        parts = attribute({"kind": "share", "of": "all", "filters": {"theme": ["a"]}}, _Table(snap(old)), _Table(snap(new)))
        assert parts is not None
        a0, a1 = sum(v == "a" for v in old.values()), sum(v == "a" for v in new.values())
        change = (Fraction(a1, len(new)) - Fraction(a0, len(old))) * 100
        assert sum(parts.values()) == pytest.approx(float(change), abs=1e-9)


def test_the_posts_of_a_comparison_are_made_as_they_are_asked_for_and_read_alike_every_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Posts, "_PIECE", 2)  # iterated two tuples at a time
    old = {f"s{i}": "a" for i in range(3)}
    new = {**{f"n{i}": "ab"[i % 2] for i in range(5)}, "s0": "b"}
    comparison = compare(snap(old), snap(new))
    added = [(f"n{i}", f"https://example.com/synthetic/n{i}", "ab"[i % 2]) for i in range(5)]
    assert isinstance(comparison.added, Posts) and len(comparison.added) == 5
    assert list(comparison.added) == added and comparison.added == added
    assert comparison.added[1] == added[1] and comparison.added[-1] == added[-1]
    assert comparison.added[1:4] == added[1:4] and comparison.added[:100] == added
    assert comparison.dropped == [("s1", "https://example.com/synthetic/s1", "a"),
                                  ("s2", "https://example.com/synthetic/s2", "a")]
    assert list(comparison.recoded) == [("s0", "https://example.com/synthetic/s0", "a", "b")]
    with pytest.raises(IndexError):
        comparison.recoded[1]
    assert comparison.to_json()["posts"]["added"][4] == {"id": "n4", "url": "https://example.com/synthetic/n4",
                                                         "theme": "a"}


def test_a_version_with_no_changes_says_nothing_changed() -> None:
    posts = {f"s{i}": "a" if i % 2 else "b" for i in range(6)}
    comparison = compare(snap(posts), snap(posts))
    assert comparison.unchanged and comparison.summary() == "nothing changed"
    assert "**nothing changed.**" in comparison.to_markdown()


def test_a_taxonomy_rename_and_a_move_are_changes_of_method() -> None:
    posts = {"s1": "a", "s2": "b"}
    renamed = [{"id": "a", "label": "Theme A, renamed", "phase": "Q"}, THEMES[1]]
    comparison = compare(snap(posts), snap(posts, themes=renamed))
    assert comparison.method == ["theme renamed: a, 'Theme A' → 'Theme A, renamed'",
                                 "theme moved to another phase: a, P → Q"]
    assert "## Changes of method" in comparison.to_markdown()
    assert not comparison.added and not comparison.recoded  # the posts are coded as they were


def test_claims_that_change_status_are_listed_with_their_terms() -> None:
    held = [{"page": "index.html", "name": "a-leads", "sentence": "A leads.", "check": "...", "passed": True,
             "holds": True, "support": 0.97, "holds_in": {"sweep": True}, "terms": [['count("a")', "4"]]}]
    fails = [{**held[0], "passed": False, "holds": False, "holds_in": {"sweep": False}, "terms": [['count("a")', "1"]]}]
    [change] = compare(snap({"s1": "a"}, claims=held), snap({"s1": "a"}, claims=fails)).claims
    assert (change["was"], change["now"], change["holds_in_now"]) == (True, False, {"sweep": False})
    assert change["terms_was"] == [['count("a")', "4"]] and change["terms_now"] == [['count("a")', "1"]]


def test_the_markdown_stays_under_the_limit_however_large_the_change() -> None:
    old = {f"s{i:06d}": "a" for i in range(3000)}
    new = {f"n{i:06d}": "b" for i in range(5000)}  # everything dropped and replaced
    bindings = [{"page": "index.html", "line": n, "expression": f'count("a") + {n}', "text": str(n), "value": n}
                for n in range(400)]
    moved = [{**b, "text": str(b["value"] + 1), "value": b["value"] + 1} for b in bindings]
    comparison = compare(snap(old, bindings=bindings), snap(new, bindings=moved))
    text = comparison.to_markdown()
    assert len(text) <= MARKDOWN_LIMIT
    assert text.startswith("# What changed") and "| posts | 3,000 | 5,000 |" in text
    assert "--json" in text
    assert len(comparison.to_json()["posts"]["added"]) == 5000  # the JSON keeps everything


def test_the_builds_signal_arrays_equal_the_same_signals_read_as_lists_and_only_those() -> None:
    lists = snap({"s1": "a", "s2": "b", "s3": "a"})["signals"]
    arrays = SignalColumns.of(lists)
    assert arrays == lists and lists == arrays and arrays == SignalColumns.of(lists)
    assert json.loads(b"".join(arrays.pieces())) == lists  # what the site's signals file holds
    others = [{**lists, "ids": ["s1", "s2", "s4"]}, {**lists, "urls": lists["urls"][::-1]},
              {**lists, "columns": {"theme": {"values": ["a", "b"], "codes": [0, 1, 1]}}},
              {**lists, "columns": {"theme": {"values": ["a", "c"], "codes": [0, 1, 0]}}},
              {**lists, "columns": {**lists["columns"], "sample": {"values": ["x"], "codes": [0, 0, 0]}}},
              {**lists, "extra": []}, {"ids": lists["ids"]}, {**lists, "ids": [1, 2, 3]}]
    for other in others:
        assert arrays != other and other != arrays
    # compare() reads either alike.
    posts = {"s1": "a", "s2": "b", "s3": "a", "s4": "b"}
    new = snap(posts)
    assert compare(snap({"s1": "b", "s2": "b"}), new).to_json() == \
        compare(snap({"s1": "b", "s2": "b"}), {**new, "signals": SignalColumns.of(new["signals"])}).to_json()


@pytest.mark.parametrize("size", [1, 2, 3, 1 << 20])
def test_the_signals_json_made_a_slice_at_a_time_is_the_json_of_the_whole(
        size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    posts = {f"s{i}": "ab"[i % 2] for i in range(5)}
    lists = snap(posts)["signals"]
    monkeypatch.setattr(snapshot_module, "_SLICE", size)
    arrays = SignalColumns.of(lists)
    whole = json.dumps(lists, ensure_ascii=False, separators=(",", ":")).encode()
    assert b"".join(arrays.pieces()) == whole
    assert arrays.known_digest is None
    assert b"".join(arrays.file()) == whole + b"\n"  # read to its end, the file names its digest
    assert arrays.known_digest == store.digest([whole + b"\n"])
    empty = SignalColumns.of({"ids": [], "urls": [], "columns": {}})
    assert json.loads(b"".join(empty.pieces())) == {"ids": [], "urls": [], "columns": {}}


# --- through the build --------------------------------------------------------------------------

MEMO = """---
title: A synthetic versioned memo
date: {date}
headline:
  - value: share("improve")
    label: ask whether it improved
claims:
  - name: improve-leads
    sentence: Improve leads setup.
    check: count("improve") >= count("setup")
---

We read {{{{ n }}}} synthetic posts; {{{{ share("improve") }}}} ask whether it improved.

{{{{ changes() }}}}
"""


def write_project(root: Path, records: list[dict[str, Any]], date: str) -> list[str]:
    make_data(root, records)
    (root / "memo").mkdir(exist_ok=True)
    (root / "memo" / "index.md").write_text(MEMO.format(date=date), encoding="utf-8")
    return ["--data", str(root / "data"), "--memo", str(root / "memo"), "--templates", str(BUILTIN_TEMPLATES),
            "--out", str(root / "site"), "--versions", str(root / "versions")]


@pytest.fixture
def versioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project pinned on 2026-01-01 (10 posts), then refreshed on 2026-02-01 (3 more, 1 recoded)."""
    args = write_project(tmp_path, hand_made(), "2026-01-01")
    assert main(["pin", *args, "-q"]) == 0
    records = hand_made()
    records[0]["theme"], records[0]["phase"] = "improve", "Evaluate"  # syn-1: setup → improve
    records += [signal(n, theme="improve", sample="sweep") for n in (11, 12)] + [signal(13, theme="retrain")]
    write_project(tmp_path, records, "2026-02-01")
    assert main([*args, "-q"]) == 0
    capsys.readouterr()
    return tmp_path


def test_every_build_writes_a_deterministic_snapshot(versioned: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    site = versioned / "site" / "data"
    snapshot, signals = (site / "snapshot.json").read_bytes(), (site / "snapshot-signals.json").read_bytes()
    other = tmp_path_factory.mktemp("again")
    shutil.copytree(versioned / "data", other / "data")
    shutil.copytree(versioned / "memo", other / "memo")
    shutil.copytree(versioned / "versions", other / "versions")
    assert main(["--data", str(other / "data"), "--memo", str(other / "memo"), "--out", str(other / "site"),
                 "--versions", str(other / "versions"), "-q"]) == 0
    assert (other / "site" / "data" / "snapshot.json").read_bytes() == snapshot
    assert (other / "site" / "data" / "snapshot-signals.json").read_bytes() == signals
    data = store.read(site / "snapshot.json")
    assert data["version"] == "2026-02-01" and data["n"] == 13 and len(data["signals"]["ids"]) == 13
    assert data["headline"][0]["fraction"] == [7, 13] and data["claims"][0]["support"] > 0


def test_the_site_keeps_the_signals_in_a_file_named_by_its_digest(versioned: Path) -> None:
    site = versioned / "site" / "data"
    head = json.loads((site / "snapshot.json").read_bytes())
    signals = (site / "snapshot-signals.json").read_bytes()
    assert head["memokit_snapshot"] == 2
    assert head["signals"] == {"file": "snapshot-signals.json", "digest": "sha256:" + hashlib.sha256(signals).hexdigest()}
    assert list(head)[-1] == "signals" and "ids" not in (site / "snapshot.json").read_text(encoding="utf-8")
    # The signals file holds exactly what a whole snapshot holds under "signals".
    assert signals.endswith(b"}\n") and json.loads(signals) == store.read(site / "snapshot.json")["signals"]
    assert set(json.loads(signals)) == {"ids", "urls", "columns"}


def test_the_snapshot_names_the_data_file_by_the_digest_of_its_bytes(versioned: Path, tmp_path: Path) -> None:
    head = json.loads((versioned / "site" / "data" / "snapshot.json").read_bytes())
    data = (versioned / "data" / "signals.jsonl").read_bytes()
    assert head["digest"]["data"] == "sha256:" + hashlib.sha256(data).hexdigest()
    # Read on a thread of its own: what reading raises is raised where the digest is asked for.
    assert store.file_digest_ahead(versioned / "data" / "signals.jsonl")() == head["digest"]["data"]
    missing = store.file_digest_ahead(tmp_path / "gone.jsonl")
    with pytest.raises(FileNotFoundError):
        missing()


def test_pin_writes_one_self_contained_version_and_refuses_a_different_one_on_the_same_date(
        versioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pinned = versioned / "versions" / "2026-01-01.json"
    data = json.loads(pinned.read_text(encoding="utf-8"))
    assert data["memokit_snapshot"] == 1 and data["version"] == "2026-01-01" and data["n"] == 10
    assert len(data["signals"]["ids"]) == 10 and data["signals"]["urls"][0].startswith("https://example.com/")
    assert sorted(p.name for p in (versioned / "versions").iterdir()) == ["2026-01-01.json"]  # one file, nothing beside
    args = ["--data", str(versioned / "data"), "--memo", str(versioned / "memo"), "--out", str(versioned / "site"),
            "--versions", str(versioned / "versions")]
    # Pinned whole, the bytes are the site's two files joined: the same as one compact document.
    assert main(["pin", *args, "-q"]) == 0
    whole = store.read(versioned / "site" / "data" / "snapshot.json")
    pinned = versioned / "versions" / "2026-02-01.json"
    assert pinned.read_bytes() == (json.dumps(whole, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert json.loads(pinned.read_bytes()) == whole
    assert main(["pin", *args]) == 0
    assert "already holds this version; nothing to pin" in capsys.readouterr().out
    shutil.rmtree(versioned / "site")  # a pinned version needs nothing of the site
    assert main(["compare", "2026-01-01", "2026-02-01", "--versions", str(versioned / "versions"), "--json"]) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["posts"]["added"]] == ["syn-11", "syn-12", "syn-13"]
    memo = versioned / "memo" / "index.md"
    memo.write_text(memo.read_text(encoding="utf-8").replace("2026-02-01", "2026-01-01"), encoding="utf-8")
    assert main(["pin", *args]) == 2
    assert "a different version is pinned on 2026-01-01 already" in capsys.readouterr().err
    assert not list((versioned / "versions").glob("*.partial"))
    assert main(["pin", *args, "--force"]) == 0
    assert store.read(versioned / "versions" / "2026-01-01.json")["n"] == 13


def test_compare_explains_the_refresh(versioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "2026-01-01", str(versioned / "site"), "--versions", str(versioned / "versions"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in report["posts"]["added"]] == ["syn-11", "syn-12", "syn-13"]
    assert report["posts"]["recoded"] == [{"id": "syn-1", "url": "https://example.com/synthetic/1",
                                           "from": "setup", "to": "improve"}]
    [headline] = report["headline"]
    # share("improve"): 4/10 → 7/13. Added: (2 − 0.4·3)/13; recoded: (1 − 0.4·0)/13.
    assert headline["points"] == pytest.approx((7 / 13 - 0.4) * 100)
    assert headline["attribution"] == pytest.approx({"added": (2 - 1.2) / 13 * 100, "dropped": 0.0,
                                                     "recoded": 1 / 13 * 100})
    assert headline["outside_old_interval"] is False
    assert main(["compare", "2026-01-01", str(versioned / "site"), "--versions", str(versioned / "versions")]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# What changed: 2026-01-01 → 2026-02-01")
    assert "**3 posts added, 0 dropped, 1 recoded; 1 headline number and 1 other bound number moved.**" in markdown


def test_compare_reports_an_unknown_version_clearly(versioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "2025-12-31", "--versions", str(versioned / "versions")]) == 2
    assert "no version pinned on 2025-12-31; pinned: 2026-01-01" in capsys.readouterr().err


def test_compare_reads_a_site_folder_its_snapshot_file_or_a_pinned_date_alike(versioned: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    reports = []
    for new in (str(versioned / "site"), str(versioned / "site" / "data" / "snapshot.json")):
        assert main(["compare", "2026-01-01", new, "--versions", str(versioned / "versions"), "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1] and reports[0]["new"]["n"] == 13 and len(reports[0]["posts"]["added"]) == 3


def test_a_site_of_an_older_memokit_with_one_snapshot_file_is_still_read(versioned: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # Before the signals had a file of their own, a site's snapshot.json was a whole snapshot (format 1),
    # byte for byte what pin writes; an old site holds nothing else of it.
    old = versioned / "old-site" / "data"
    old.mkdir(parents=True)
    shutil.copyfile(versioned / "versions" / "2026-01-01.json", old / "snapshot.json")
    assert main(["compare", str(versioned / "old-site"), str(versioned / "site"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["old"]["n"] == 10 and [p["id"] for p in report["posts"]["added"]] == ["syn-11", "syn-12", "syn-13"]
    # The repository's own pinned version, pinned before the split, reads unchanged.
    flagship = store.read(ROOT / "versions" / "2026-11-22.json")
    assert flagship["memokit_snapshot"] == 1 and flagship["n"] == len(flagship["signals"]["ids"]) == 498


def compare_fails(versioned: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["compare", "2026-01-01", str(versioned / "site"), "--versions", str(versioned / "versions")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    [line] = captured.err.splitlines()
    return line


def test_a_missing_or_foreign_signals_file_is_one_clear_line(versioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = versioned / "site" / "data" / "snapshot-signals.json"
    snapshot = versioned / "site" / "data" / "snapshot.json"
    named = json.loads(snapshot.read_bytes())["signals"]["digest"]
    kept = signals.read_bytes()
    signals.unlink()
    assert compare_fails(versioned, capsys) == (f"{signals}: missing: the snapshot {snapshot} keeps its signals in this "
                                                f"file ({named})")
    signals.write_bytes(kept.replace(b"syn-13", b"syn-14"))  # another build's signals, or an edited file
    line = compare_fails(versioned, capsys)
    assert line.startswith(f"{signals}: does not belong to the snapshot {snapshot}: it names signals of {named}, "
                           "this file is sha256:") and line.endswith("(the two files come from different builds)")
    # Pinning such a site writes nothing.
    args = ["--data", str(versioned / "data"), "--memo", str(versioned / "memo"), "--out", str(versioned / "site"),
            "--versions", str(versioned / "versions")]
    signals.unlink()
    with pytest.raises(InputError, match="missing: the snapshot"):
        store.pin(snapshot, versioned / "pins")
    assert not (versioned / "pins").exists()
    assert main(["pin", *args, "-q"]) == 0  # a pin builds first: the site is whole again
    assert (versioned / "versions" / "2026-02-01.json").is_file() and signals.is_file()


def test_a_snapshot_of_another_format_or_naming_a_file_elsewhere_is_refused(versioned: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = versioned / "site" / "data" / "snapshot.json"
    head = json.loads(snapshot.read_bytes())
    snapshot.write_text(json.dumps({**head, "memokit_snapshot": 3}), encoding="utf-8")
    assert compare_fails(versioned, capsys) == f"{snapshot}: not a memokit snapshot of format 1 or 2"
    snapshot.write_text(json.dumps({**head, "signals": {**head["signals"], "file": "../../versions/2026-01-01.json"}}),
                        encoding="utf-8")
    assert compare_fails(versioned, capsys).startswith(f"{snapshot}: a split snapshot names its signals as")


@pytest.mark.browser
def test_the_changes_block_and_the_versions_page_work_without_javascript(versioned: Path, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((versioned / "site" / "index.html").as_uri())
    block = page.locator("section.changes")
    assert block.locator("h2").inner_text() == "What changed since 2026-01-01"
    assert "3 posts added, 0 dropped, 1 recoded" in block.inner_text()
    row = block.locator("table.changes-table tbody tr").first
    assert row.locator("th").inner_text() == "ask whether it improved"
    assert [c.inner_text() for c in row.locator("td").all()][:2] == ["40%", "54%"]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Versions").click()
    table = page.locator("table.versions-table")
    assert [h.inner_text() for h in table.locator("thead th").all()] == ["Number", "2026-01-01",
                                                                          "2026-02-01 (this build)"]
    improve = table.locator("tbody tr", has_text="ask whether it improved")
    assert [c.inner_text() for c in improve.locator("td").all()] == ["40%", "54%"]
    context.close()


def test_the_changes_block_lists_only_the_first_posts_of_each_kind_and_counts_the_rest(
        versioned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def posts(html: str) -> list[str]:
        listed = html.split('<details class="changes-posts">')[1].split("</details>")[0]
        return re.findall(r"<li>(\w+): <a [^>]*>([^<]+)</a>", listed)

    html = (versioned / "site" / "index.html").read_text(encoding="utf-8")
    assert posts(html) == [("added", "syn-11"), ("added", "syn-12"), ("added", "syn-13"), ("recoded", "syn-1")]
    assert "changes-unlisted" not in html
    monkeypatch.setattr(render, "CHANGES_LISTED", 2)  # main() renders in this process
    assert main(["--data", str(versioned / "data"), "--memo", str(versioned / "memo"), "--templates",
                 str(BUILTIN_TEMPLATES), "--out", str(versioned / "site"), "--versions", str(versioned / "versions"),
                 "-q"]) == 0
    html = (versioned / "site" / "index.html").read_text(encoding="utf-8")
    assert posts(html) == [("added", "syn-11"), ("added", "syn-12"), ("recoded", "syn-1")]
    assert "The posts: 3 added, 0 dropped, 1 recoded" in html  # the counts stay whole
    assert re.search(r'<p class="changes-unlisted">Only the first 2 posts of each kind are listed here \(by id\):\s*'
                     r'1 more added\.</p>', html)


def test_without_a_pinned_version_there_is_no_changes_block_and_no_versions_page(tmp_path: Path) -> None:
    args = write_project(tmp_path, hand_made(), "2026-01-01")
    assert main([*args, "-q"]) == 0
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "What changed since" not in html and not (tmp_path / "site" / "versions.html").exists()
    assert (tmp_path / "site" / "data" / "snapshot.json").is_file()
