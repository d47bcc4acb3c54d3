"""The columnar path against the per-row one it replaces, on generated input: for any records
(valid or not), ``load_dataset`` (Arrow columns, rows checked alone only where a column check
fails) gives the same problems, in the same order, the same warnings and the same signals as the
per-row path (``validate_signals``, pydantic on every record); and the column-wise writers give the
bytes ``markupsafe.escape``, ``json.dumps`` and pandas' ``to_csv`` give.

Every record is synthetic: ids start with ``syn-``, URLs point at example.com.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from helpers import TAXONOMY, THEME_PHASE, csv_text, jsonl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from memokit.build import columnar, posts
from memokit.build.load import RawTaxonomy, iter_signals
from memokit.build.validate import load_dataset, validate_signals, validate_taxonomy
from memokit.model import InputError, Problems

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: Text that trips the checks: controls, bidirectional overrides, white space of every kind,
#: characters HTML, JSON and CSV treat specially, and plain letters.
TRICKY = st.text(alphabet=st.sampled_from(list("ab Z09.-_:/;,\"'&<>=+@\\#?\t\n\r\x00\x07\x1b\x7f\x85\x9b\xa0\u2003"
                                               "\u2028\u202e\u2066\u3000é中😀")), max_size=12)


def _value(draw: st.DrawFn, good: Any) -> Any:
    return draw(st.one_of(st.just(good), st.just(good), st.just(good), TRICKY, st.none(), st.integers(-5, 5),
                          st.just("")))


@st.composite
def records(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for number in range(1, draw(st.integers(1, 8)) + 1):
        theme = draw(st.sampled_from([*THEME_PHASE, "nope"]))
        good = {
            "id": f"syn-{draw(st.integers(1, 6))}", "url": draw(st.sampled_from([
                f"https://example.com/synthetic/{number}", f"HTTPS://Example.COM/synthetic/{number}/",
                "https://example.com/synthetic/1#top", f"http://example.com:8080/s/{number}?q=1",
                "javascript:alert(1)", f"https://example.com/a b/{number}", "https://üñí.example/x"])),
            "source": draw(st.sampled_from(["github", "forum", "GitHub"])), "community": "example/project",
            "title": f"Synthetic post {number}",
            "created": draw(st.sampled_from(["2024-01-15", None, "", "2024-02-30", "0999-01-01", "15/01/2024"])),
            "theme": theme, "phase": THEME_PHASE.get(theme, "Train"), "summary": "A synthetic record.",
            "sample": "sweep", "found_by": draw(st.sampled_from([["a", "b"], [], "a; b", ["a;b"], [1], None])),
        }
        record = {}
        for name, value in good.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue  # left out
            record[name] = _value(draw, value) if choice == 1 else value
        if draw(st.integers(0, 9)) == 0:
            record["notes"] = draw(st.one_of(TRICKY, st.none()))
        found.append(record)
    return found


def _columnar(folder: Path, text: bytes, name: str) -> tuple[list[str], list[str], list[Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "taxonomy.toml").write_text(TAXONOMY, encoding="utf-8")
    for old in folder.glob("signals.*"):
        old.unlink()
    (folder / name).write_bytes(text)
    try:
        dataset = load_dataset(folder)
    except InputError as exc:
        return [str(p) for p in exc.problems], [], []
    return [], list(dataset.warnings), list(dataset.signals)


def _per_row(folder: Path, name: str) -> tuple[list[str], list[str], list[Any]]:
    found, warnings = Problems(), []
    # Read as the per-row build read: one record at a time, each validated before the next is read,
    # so a problem met while reading a later line comes after an earlier record's problems.
    records = iter_signals(folder / name, found)
    taxonomy = validate_taxonomy(RawTaxonomy(folder / "taxonomy.toml", TAXONOMY, tomllib.loads(TAXONOMY)), Problems())
    assert taxonomy is not None
    kept = validate_signals(records, taxonomy, found, warnings)
    if found.items:
        return [str(p) for p in found.items], [], []
    return [], warnings, kept


@SETTINGS
@given(records())
def test_jsonl_gives_what_the_per_row_path_gives(tmp_path_factory, generated):
    folder = tmp_path_factory.mktemp("jsonl") / "data"
    assert _columnar(folder, jsonl(generated).encode(), "signals.jsonl") == _per_row(folder, "signals.jsonl")


@SETTINGS
@given(records())
@example([{"found_by": ["a", "b"]}, {"summary": "\r", "notes": None}])  # a reading problem after a bad record
def test_csv_gives_what_the_per_row_path_gives(tmp_path_factory, generated):
    folder = tmp_path_factory.mktemp("csv") / "data"
    rows = [{k: ";".join(map(str, v)) if isinstance(v, list) else "" if v is None else str(v) for k, v in r.items()}
            for r in generated]
    assert _columnar(folder, csv_text(rows).encode(), "signals.csv") == _per_row(folder, "signals.csv")


def test_python_white_space_is_what_str_isspace_says():
    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == columnar.PY_SPACE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TRICKY, st.text(max_size=20)), min_size=1, max_size=20))
def test_html_json_and_csv_text_are_the_per_value_encoders(values):
    array = pa.array(values, pa.string())
    assert posts.html_escape(array).to_pylist() == [str(escape(v)) for v in values]
    assert posts.json_text(array).to_pylist() == [json.dumps(v, ensure_ascii=False) for v in values]
    frame = pd.DataFrame({name: pd.array(values, dtype=pd.StringDtype("pyarrow", na_value=float("nan")))
                          for name in posts.csv_columns(pd.DataFrame())})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        writer.writerow(["'" + v if v.startswith(posts.FORMULA_START) else v for v in row])
    assert posts.signals_csv(frame) == buffer.getvalue()
