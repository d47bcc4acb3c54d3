"""End to end through ``memokit.cli.main`` in a temporary project with synthetic data."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import ROOT, jsonl, load, make_data, tree_digest

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.build.stats import compute
from memokit.cli import main

TEMPLATES = BUILTIN_TEMPLATES
THEMES = ("train-setup", "did-it-improve", "regression", "data-quality", "when-to-retrain", "continual-update",
          "version-choice", "rerun-cost")
PHASE = {"train-setup": "Train", "did-it-improve": "Evaluate", "regression": "Evaluate", "data-quality": "Evaluate",
         "when-to-retrain": "Iterate", "continual-update": "Iterate", "version-choice": "Iterate", "rerun-cost": "Iterate"}

# Synthetic records (not real posts; every URL is on example.com): (theme, source, created, sample).
# Evaluate 6, Iterate 4, Train 2 of 12.
SYNTHETIC = [
    ("train-setup", "github", "2024-01-10", "sweep"),
    ("train-setup", "github", "2024-02-11", "sweep"),
    ("did-it-improve", "github", "2024-03-12", "sweep"),
    ("did-it-improve", "other", "2023-11-01", "targeted"),
    ("did-it-improve", "github", None, "sweep"),
    ("regression", "github", "2024-04-01", "targeted"),
    ("data-quality", "blog", "2024-05-01", "sweep"),
    ("when-to-retrain", "github", "2023-06-01", "targeted"),
    ("continual-update", "github", "2024-06-02", "sweep"),
    ("version-choice", "reddit", "2024-07-03", "targeted"),
    ("rerun-cost", "github", None, "sweep"),
    ("regression", "hf-forum", "2024-08-04", "sweep"),
]
# Titles that a CSV round trip must keep intact.
TITLES = {1: 'Synthetic: OOM, then "NaN" loss', 3: "Synthetic post\nover two lines", 7: "Synthetic données, ünïcode"}

MEMO = """\
---
title: A synthetic memo
claims:
  - name: evaluate-leads
    sentence: Evaluate is the largest phase.
    check: share(phase="Evaluate") > share(phase="Iterate")
---

We read {{ n }} synthetic posts; {{ share(phase="Evaluate") }} are about evaluation.

Only {{ count("when-to-retrain") }} asks when to retrain.
"""
BINDING_LINE = 11  # the line of {{ count("when-to-retrain") }}


def synthetic_records():
    return [
        {"id": f"syn-{n:02d}", "url": f"https://example.com/synthetic/{n}", "source": source,
         "community": f"example/community-{n % 4}", "title": TITLES.get(n, f"Synthetic post {n}"),
         "created": created, "theme": theme, "phase": PHASE[theme],
         "summary": f"Synthetic summary {n}, made for a test.", "model_family": "llama" if n % 2 else "",
         "tool": "trl" if n % 3 == 0 else "", "found_by": ["tool-sweep", "iterate-search"] if n % 2 else ["source-sweep"],
         "sample": sample}
        for n, (theme, source, created, sample) in enumerate(SYNTHETIC, start=1)
    ]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with data/, memo/ and no output yet; the working directory is the project."""
    monkeypatch.chdir(tmp_path)
    make_data(tmp_path, synthetic_records(), taxonomy=(ROOT / "data" / "taxonomy.toml").read_text(encoding="utf-8"))
    (tmp_path / "memo").mkdir()
    (tmp_path / "memo" / "index.md").write_text(MEMO, encoding="utf-8")
    return tmp_path


def run(project, *extra):
    return main(["--data", str(project / "data"), "--memo", str(project / "memo"), "--templates", str(TEMPLATES),
                 "--out", str(project / "site"), *extra])


def write_memo(project, text):
    (project / "memo" / "index.md").write_text(text, encoding="utf-8")


# --- a successful build -----------------------------------------------------------------------


def test_build_writes_pages_and_data_files(project, capsys):
    assert run(project) == 0
    site = project / "site"
    assert (site / "index.html").is_file()
    for theme in THEMES:
        assert (site / "themes" / f"{theme}.html").is_file()
        assert json.loads((site / "data" / "themes" / f"{theme}.json").read_text(encoding="utf-8"))["theme"] == theme
    assert (site / "data" / "signals.csv").is_file()
    stats = json.loads((site / "data" / "stats.json").read_text(encoding="utf-8"))
    assert stats["n"] == 12
    assert {p["id"]: p["count"] for p in stats["phases"]} == {"Train": 2, "Evaluate": 6, "Iterate": 4}
    assert "built" in capsys.readouterr().out


def test_build_puts_the_bound_numbers_in_the_page(project):
    assert run(project) == 0
    html = (project / "site" / "index.html").read_text(encoding="utf-8")
    assert 'data-expr="n"' in html and ">12</data>" in html
    assert ">50%</data>" in html  # share(phase="Evaluate") = 6/12


def test_theme_data_lists_its_posts_newest_first(project):
    assert run(project) == 0
    regression = json.loads((project / "site" / "data" / "themes" / "regression.json").read_text(encoding="utf-8"))
    assert regression["count"] == 2
    assert [p["id"] for p in regression["posts"]] == ["syn-12", "syn-06"]


# --- invalid input ----------------------------------------------------------------------------


def test_invalid_data_exits_2_and_leaves_the_existing_site_untouched(project, capsys):
    assert run(project) == 0
    before = tree_digest(project / "site")
    entries = sorted(p.name for p in project.iterdir())
    with (project / "data" / "signals.jsonl").open("a", encoding="utf-8") as file:
        file.write('{"id": "syn-99", "title": 5}\n')
    capsys.readouterr()
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"{project / 'data' / 'signals.jsonl'}:13: " in err
    assert "nothing was written" in err
    assert tree_digest(project / "site") == before
    assert sorted(p.name for p in project.iterdir()) == entries  # no staging folder left behind


def test_invalid_data_writes_nothing_when_there_was_no_site(project):
    (project / "data" / "signals.jsonl").write_text(jsonl([{"id": "syn-1"}]), encoding="utf-8")
    entries = sorted(p.name for p in project.iterdir())
    assert run(project) == 2
    assert not (project / "site").exists()
    assert sorted(p.name for p in project.iterdir()) == entries


def test_malformed_url_exits_2_with_its_line(project, capsys):
    records = synthetic_records()
    records[4]["url"] = "https://example.com:notaport/synthetic/5"
    (project / "data" / "signals.jsonl").write_text(jsonl(records), encoding="utf-8")
    assert run(project) == 2
    assert f"{project / 'data' / 'signals.jsonl'}:5: url: " in capsys.readouterr().err


def test_unknown_theme_in_a_binding_exits_2_with_file_and_line(project, capsys):
    write_memo(project, MEMO.replace('count("when-to-retrain")', 'count("when-to-rebuild")'))
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"{project / 'memo' / 'index.md'}:{BINDING_LINE}: " in err
    assert "'when-to-rebuild'" in err and "when-to-retrain" in err  # names the valid themes
    assert not (project / "site").exists()


def test_unknown_denominator_in_a_claim_exits_2(project, capsys):
    write_memo(project, MEMO.replace('share(phase="Iterate")', 'share(phase="Iterate", of="nowhere")'))
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"{project / 'memo' / 'index.md'}:4: claims[1].check: unknown denominator 'nowhere'" in err


def test_false_claim_exits_1_and_prints_the_claim_and_its_terms(project, capsys):
    claim = ('  - name: retrain-dominates\n'
             '    sentence: Most posts ask when to retrain.\n'
             '    check: share("when-to-retrain") > share("did-it-improve")\n')
    write_memo(project, MEMO.replace("---\n\nWe read", claim + "---\n\nWe read"))
    assert run(project) == 1
    err = capsys.readouterr().err
    assert f"{project / 'memo' / 'index.md'}:7: claim 'retrain-dominates' is false" in err
    assert "    check: share(\"when-to-retrain\") > share(\"did-it-improve\")" in err
    assert '    share("when-to-retrain") = 1/12 = 0.083333' in err
    assert '    share("did-it-improve") = 3/12 = 0.250000' in err
    assert "evaluate-leads" not in err  # the claim that holds is not reported
    assert not (project / "site").exists()


def test_false_claim_leaves_the_existing_site_untouched(project):
    assert run(project) == 0
    before = tree_digest(project / "site")
    write_memo(project, MEMO.replace('share(phase="Evaluate") > share', 'share(phase="Evaluate") < share'))
    assert run(project) == 1
    assert tree_digest(project / "site") == before


# --- --check ----------------------------------------------------------------------------------


def test_check_writes_nothing_and_exits_0(project, capsys):
    entries = sorted(p.name for p in project.iterdir())
    assert run(project, "--check") == 0
    assert not (project / "site").exists()
    assert sorted(p.name for p in project.iterdir()) == entries
    assert "check passed: 12 signals" in capsys.readouterr().out


def test_check_leaves_an_existing_site_untouched(project):
    assert run(project) == 0
    before = tree_digest(project / "site")
    assert run(project, "--check") == 0
    assert tree_digest(project / "site") == before


def test_check_still_fails_on_a_false_claim(project):
    write_memo(project, MEMO.replace('share(phase="Evaluate") > share', 'share(phase="Evaluate") < share'))
    assert run(project, "--check") == 1


# --- round trip -------------------------------------------------------------------------------


def test_built_signals_csv_loads_back_with_identical_signals_and_stats(project):
    assert run(project) == 0
    again = project / "again"
    again.mkdir()
    shutil.copy(project / "data" / "taxonomy.toml", again / "taxonomy.toml")
    shutil.copy(project / "site" / "data" / "signals.csv", again / "signals.csv")

    original, reloaded = load(project / "data"), load(again)
    assert [s.model_dump() for s in reloaded.signals] == [s.model_dump() for s in original.signals]
    written = json.loads((project / "site" / "data" / "stats.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(compute(reloaded).to_json())) == written


def test_built_signals_csv_builds_the_same_stats_through_the_cli(project):
    assert run(project) == 0
    first = (project / "site" / "data" / "stats.json").read_bytes()
    (project / "data" / "signals.jsonl").unlink()
    shutil.copy(project / "site" / "data" / "signals.csv", project / "data" / "signals.csv")
    assert run(project) == 0
    assert (project / "site" / "data" / "stats.json").read_bytes() == first
