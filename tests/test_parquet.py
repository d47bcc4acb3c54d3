"""Parquet input and ``memokit convert``: the same validation and messages as JSONL and CSV, with
a row's number (from 1) where a text file has its line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import THEME_PHASE, load, make_data, problems, signal

from memokit.build.convert import convert
from memokit.cli import main

FIELDS = ("id", "url", "source", "community", "title", "created", "theme", "phase", "summary", "model_family",
          "tool", "found_by", "sample", "coded_by", "corpus")


def _write(data: Path, records: list[dict], schema: pa.Schema | None = None) -> Path:
    (data / "signals.jsonl").unlink(missing_ok=True)
    path = data / "signals.parquet"
    keys = list(dict.fromkeys(key for record in records for key in record))  # every column in every row
    rows = [{key: record.get(key) for key in keys} for record in records]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _records() -> list[dict]:
    return [signal(1, found_by=["sweep", "tool"]), signal(2, theme="improve", created=None),
            signal(3, theme="retrain", model_family="llama", tool="trl")]


def test_parquet_loads_the_same_signals_as_jsonl(tmp_path):
    from_jsonl = load(make_data(tmp_path / "a", _records()))
    data = make_data(tmp_path / "b", _records())
    _write(data, _records())
    from_parquet = load(data)
    assert from_parquet.signals == from_jsonl.signals
    assert from_parquet.source_path.name == "signals.parquet"


def test_parquet_of_typed_columns_loads_too(tmp_path):
    """Dates as dates and lists as lists, as another tool would write them."""
    data = make_data(tmp_path, [signal(1)])
    schema = pa.schema([("id", pa.string()), ("url", pa.string()), ("source", pa.dictionary(pa.int8(), pa.string())),
                        ("community", pa.string()), ("title", pa.string()), ("created", pa.date32()),
                        ("theme", pa.string()), ("phase", pa.string()), ("summary", pa.string()),
                        ("found_by", pa.list_(pa.string())), ("sample", pa.string())])
    import datetime

    record = {**signal(1), "created": datetime.date(2024, 1, 15), "found_by": ["sweep"]}
    _write(data, [record, {**signal(2), "created": None, "found_by": []}], schema)
    [first, second] = load(data).signals
    assert first.created == datetime.date(2024, 1, 15) and first.found_by == ("sweep",)
    assert second.created is None and second.found_by == ()


def test_a_parquet_row_with_problems_is_named_by_its_row_number(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    path = _write(data, [signal(1), signal(2, theme="deployment"), signal(3, title="x" * 1001), signal(4, id="syn-1"),
                         signal(5, url="javascript:alert(1)")])
    assert problems(data) == [
        f"{path}:2: theme: unknown theme 'deployment'; expected one of: setup, improve, breakage, retrain",
        f"{path}:3: title: too long: 1001 characters, at most 1000",
        f"{path}:4: id: duplicate id 'syn-1' (first at line 1)",
        f"{path}:5: url: expected an absolute http(s) URL, got 'javascript:alert(1)'",
    ]


def test_a_null_cell_is_a_value_left_out(tmp_path):
    """Every row of a Parquet file has every column: a null is what JSON says by leaving a key out
    (an optional field takes its default, a required one is missing), but a null date is an unknown
    date, as in JSON."""
    data = make_data(tmp_path, [signal(1)])
    path = _write(data, [{**signal(1), "title": None}, signal(2, model_family="qwen"), signal(3, created=None)])
    assert problems(data) == [f"{path}:1: title: required field is missing"]
    _write(data, [signal(2, model_family="qwen"), signal(3, created=None)])
    [second, third] = load(data).signals
    assert third.model_family == "" and third.created is None and second.model_family == "qwen"
    path = _write(data, [signal(1, drop=("theme",)), signal(2, drop=("theme",))])
    assert problems(data) == [f"{path}:{n}: theme: required field is missing" for n in (1, 2)]


def test_a_wrong_type_in_parquet_is_worded_as_in_json(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    path = _write(data, [signal(1, title=5)])
    assert problems(data) == [f"{path}:1: title: expected a string, got int"]


def test_a_file_that_is_not_parquet_is_one_problem(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    (data / "signals.jsonl").unlink()
    (data / "signals.parquet").write_bytes(b"not parquet at all")
    [found] = problems(data)
    assert found.startswith(f"{data / 'signals.parquet'}: cannot read as Parquet: ")


def test_an_empty_parquet_file_holds_no_signals(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    path = _write(data, [], pa.schema([(name, pa.string()) for name in FIELDS]))
    assert problems(data) == [f"{path}: no signals: the file holds no records"]


def test_two_signals_files_are_refused(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    pq.write_table(pa.Table.from_pylist([signal(1)]), data / "signals.parquet")
    assert problems(data) == [f"{data}: both signals.jsonl and signals.parquet exist: keep one"]


def test_convert_writes_parquet_that_builds_the_same_site(tmp_path, capsys):
    records = [signal(n, theme=theme, phase=THEME_PHASE[theme], created=None if n % 3 == 0 else f"2024-0{n % 9 + 1}-11",
                      found_by=["sweep", "search"] if n % 2 else [], title=f'Synthetic "post" {n}, =1+{n}')
               for n, theme in enumerate(["setup", "improve", "breakage", "retrain"] * 5, start=1)]
    data = make_data(tmp_path / "jsonl", records)
    memo = tmp_path / "memo"
    memo.mkdir()
    (memo / "index.md").write_text("---\ntitle: Synthetic\n---\n\nWe read {{ n }} synthetic posts.\n", encoding="utf-8")
    assert main(["convert", "--data", str(data), "--out", str(tmp_path / "signals.parquet")]) == 0
    assert "wrote" in capsys.readouterr().out
    parquet = tmp_path / "pq" / "data"
    parquet.mkdir(parents=True)
    (parquet / "taxonomy.toml").write_bytes((data / "taxonomy.toml").read_bytes())
    (tmp_path / "signals.parquet").rename(parquet / "signals.parquet")
    sites = {}
    for name, folder in (("jsonl", data), ("parquet", parquet)):
        out = tmp_path / f"site-{name}"
        assert main(["-q", "--data", str(folder), "--memo", str(memo), "--versions", str(tmp_path / "none"),
                     "--out", str(out)]) == 0
        sites[name] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    # Only the snapshot differs: it holds a digest of the data file, which is another file.
    different = [name for name in sites["jsonl"] if sites["jsonl"][name] != sites["parquet"].get(name)]
    assert different == ["data/snapshot.json"]


def test_convert_refuses_invalid_data_and_writes_nothing(tmp_path, capsys):
    data = make_data(tmp_path, [signal(1), signal(2, theme="nope")])
    assert main(["convert", "--data", str(data)]) == 2
    assert "unknown theme 'nope'" in capsys.readouterr().err
    assert not (data / "signals.parquet").exists()


def test_convert_into_the_data_folder_says_to_keep_one_file(tmp_path, capsys):
    data = make_data(tmp_path, [signal(1)])
    target, dataset = convert(data)
    assert target == data / "signals.parquet" and len(dataset) == 1
    assert main(["convert", "--data", str(data), "--out", str(tmp_path / "x.parquet")]) == 2  # two files now
    assert main(["convert", "--data", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("name", ["signals.jsonl", "signals.csv"])
def test_convert_keeps_every_field(tmp_path, name):
    records = _records()
    data = make_data(tmp_path, records, name=name)
    target, _ = convert(data, tmp_path / "out.parquet")
    table = pq.read_table(target)
    assert table.column_names == list(FIELDS)
    assert table.column("found_by").to_pylist() == ["sweep;tool", "", ""]
    assert table.column("created").to_pylist() == ["2024-01-15", None, "2024-01-15"]
