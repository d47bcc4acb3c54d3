"""``memokit new DIR`` makes a project that builds on the first try."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_a_new_project_builds_on_the_first_try(tmp_path: Path) -> None:
    folder = tmp_path / "my-memo"
    assert main(["new", str(folder)]) == 0
    result = subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=folder, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "1/1 claims hold" in result.stdout
    html = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert html.count('<li class="card"') == 4
    assert 'data-expr="n"' in html and "Sources of outside facts" in html


def test_the_starter_data_is_labelled_synthetic(tmp_path: Path) -> None:
    main(["new", str(tmp_path / "m")])
    records = [json.loads(line) for line in (tmp_path / "m" / "data" / "signals.jsonl").read_text().splitlines()]
    assert records and all(r["id"].startswith("syn-") and r["url"].startswith("https://example.com/") for r in records)
    assert all("synthetic" in r["summary"] for r in records)
    assert "synthetic" in (tmp_path / "m" / "README.md").read_text().lower()


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["new", str(tmp_path / "taken")]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
