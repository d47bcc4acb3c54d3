"""Bad-input catalogue: every kind of broken input the build can be given, end to end.

Each case starts from a small valid project (synthetic data made by code: ids ``syn-*``,
URLs on example.com), already built once into ``out/``. A mutation breaks one thing, the
build runs through ``memokit.cli.main`` and the test asserts what the README promises:

* exit code 2 and no traceback;
* one line per problem, ``PATH:LINE: field: message`` (LINE and field where they apply),
  naming the offending file, the line and the field, with a key phrase of the message;
* a last line ``memokit: invalid input (N problems); nothing was written`` whose N is the
  number of problem lines;
* the existing ``out/`` byte-for-byte as it was, and nothing else in the project changed
  (no staging folder ``.out-new-*`` or ``.out-old-*`` left beside it).

Decision on unknown extra fields (signals only): a field memokit does not know is **ignored
with a warning** (``warning: PATH:LINE: field: unknown field ignored``) and the build
succeeds, because spreadsheets often carry extra columns such as notes; the field is never
used. ``test_unknown_extra_field_is_a_warning_and_the_build_succeeds`` pins this down. An
unknown key in ``taxonomy.toml`` or in a page's front matter, by contrast, is an error:
those are written by hand and a typo there would silently change the memo.

Benign variants (UTF-8 BOM, CRLF line ends, blank lines, the same data as CSV, CSV cells with
quoted commas and line breaks) build with exit 0 and the same ``stats.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import TAXONOMY, csv_text, jsonl, signal, tree_digest

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUILD_PY = ROOT / "build.py"

# --- the valid project ------------------------------------------------------------------------

#: Twelve synthetic records, three per theme of ``helpers.TAXONOMY``; record N is on line N of
#: ``signals.jsonl`` and on line N + 1 of ``signals.csv`` (after the header).
THEMES = ("setup", "improve", "breakage", "retrain") * 3
SOURCES = ("github", "forum", "blog")
FIELDS = ["id", "url", "source", "community", "title", "created", "theme", "phase", "summary", "sample"]


def records() -> list[dict[str, Any]]:
    """Return the valid synthetic dataset (two records, 5 and 10, have no known date)."""
    return [
        signal(n, theme=theme, source=SOURCES[n % 3], created=None if n % 5 == 0 else f"2024-{n:02d}-{10 + n}",
               sample="sweep" if n % 3 else "targeted", community=f"example/community-{n % 4}")
        for n, theme in enumerate(THEMES, start=1)
    ]


#: The memo: every number in it is bound, none is typed by hand.
MEMO = """\
---
title: A synthetic memo for the bad-input catalogue
subtitle: Synthetic data only
---

We read {{ n }} synthetic posts; {{ share(phase="Evaluate") }} of them are about evaluation,
and {{ count("retrain") }} ask when to retrain.
"""
MEMO_BODY_LINE = 6  # the line of {{ n }} and {{ share(...) }}
MEMO_COUNT_LINE = 7  # the line of {{ count("retrain") }}


def write_project(root: Path) -> None:
    """Write the valid project: data/, memo/, a copy of the templates; no output yet."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "taxonomy.toml").write_text(TAXONOMY, encoding="utf-8")
    (root / "data" / "signals.jsonl").write_text(jsonl(records()), encoding="utf-8")
    (root / "memo").mkdir()
    (root / "memo" / "index.md").write_text(MEMO, encoding="utf-8")
    shutil.copytree(BUILTIN_TEMPLATES, root / "templates")


def argv(root: Path, out: str = "out", *extra: str) -> list[str]:
    return ["--data", str(root / "data"), "--memo", str(root / "memo"), "--templates", str(root / "templates"),
            "--out", str(root / out), *extra]


@dataclass(frozen=True)
class Baseline:
    root: Path
    digest: dict[str, str]
    stats: bytes


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The valid project, built once into out/, with a SHA-256 of every file of out/."""
    root = tmp_path_factory.mktemp("bad-input") / "project"
    write_project(root)
    assert main(argv(root, "out", "-q")) == 0, "the valid project must build"
    return Baseline(root, tree_digest(root / "out"), (root / "out" / "data" / "stats.json").read_bytes())


@pytest.fixture
def project(baseline: Baseline, tmp_path: Path) -> Path:
    """A fresh copy of the built project, out/ included."""
    root = tmp_path / "project"
    shutil.copytree(baseline.root, root, symlinks=True)
    assert tree_digest(root / "out") == baseline.digest
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a SHA-256 of each file's bytes."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
        for path in sorted(root.rglob("*"))
    }


# --- mutations --------------------------------------------------------------------------------

Mutation = Callable[[Path], None]


def _signals(root: Path) -> Path:
    return root / "data" / "signals.jsonl"


def set_fields(number: int, **fields: Any) -> Mutation:
    """Record ``number`` (1-based) gets ``fields``; the file is written back as JSONL."""
    def mutate(root: Path) -> None:
        rows = [json.loads(line) for line in _signals(root).read_text(encoding="utf-8").splitlines()]
        rows[number - 1].update(fields)
        _signals(root).write_text(jsonl(rows), encoding="utf-8")
    return mutate


def drop_field(number: int, name: str) -> Mutation:
    def mutate(root: Path) -> None:
        rows = [json.loads(line) for line in _signals(root).read_text(encoding="utf-8").splitlines()]
        del rows[number - 1][name]
        _signals(root).write_text(jsonl(rows), encoding="utf-8")
    return mutate


def replace_line(number: int, raw: bytes) -> Mutation:
    """Line ``number`` of signals.jsonl becomes ``raw`` (bytes, without the line end)."""
    def mutate(root: Path) -> None:
        lines = _signals(root).read_bytes().split(b"\n")
        lines[number - 1] = raw
        _signals(root).write_bytes(b"\n".join(lines))
    return mutate


def edit_line(number: int, old: bytes, new: bytes) -> Mutation:
    """Replace ``old`` with ``new`` inside line ``number`` of signals.jsonl."""
    def mutate(root: Path) -> None:
        lines = _signals(root).read_bytes().split(b"\n")
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new)
        _signals(root).write_bytes(b"\n".join(lines))
    return mutate


def append_bytes(raw: bytes) -> Mutation:
    def mutate(root: Path) -> None:
        with _signals(root).open("ab") as file:
            file.write(raw)
    return mutate


def write(relative: str, content: str | bytes) -> Mutation:
    def mutate(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return mutate


def delete(relative: str) -> Mutation:
    def mutate(root: Path) -> None:
        path = root / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return mutate


def replace_text(relative: str, old: str | bytes, new: str | bytes, after: str | bytes | None = None) -> Mutation:
    """Replace the first ``old`` (after ``after``, when given) in a file, as bytes."""
    def as_bytes(value: str | bytes) -> bytes:
        return value.encode("utf-8") if isinstance(value, str) else value

    def mutate(root: Path) -> None:
        path = root / relative
        data = path.read_bytes()
        start = data.index(as_bytes(after)) if after is not None else 0
        position = data.index(as_bytes(old), start)
        path.write_bytes(data[:position] + as_bytes(new) + data[position + len(as_bytes(old)):])
    return mutate


def to_csv(edit: Callable[[list[dict[str, Any]]], None] | None = None,
           edit_lines: Callable[[list[bytes]], None] | None = None,
           fields: list[str] | None = None) -> Mutation:
    """Replace signals.jsonl by signals.csv of the same records, optionally edited (as records,
    or as the CSV's physical lines in bytes)."""
    def mutate(root: Path) -> None:
        rows = records()
        if edit:
            edit(rows)
        data = csv_text(rows, fields or FIELDS).encode("utf-8")
        if edit_lines:
            lines = data.split(b"\n")
            edit_lines(lines)
            data = b"\n".join(lines)
        _signals(root).unlink()
        (root / "data" / "signals.csv").write_bytes(data)
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for mutation in mutations:
            mutation(root)
    return mutate


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """The 1-based line of the first ``needle`` in ``text`` (after ``after``, when given)."""
    start = text.index(after) if after is not None else 0
    return text[: text.index(needle, start)].count("\n") + 1


# --- the catalogue ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation
    file: str  # the offending file or folder, relative to the project
    line: int | tuple[int | None, ...] | None  # a tuple: any of these (generated input, no parser position)
    field: str | None
    phrase: str  # a key phrase of the message
    count: int | None = 1  # how many problems the input holds (None: not checked)
    out: str = "out"  # --out, relative to the project


SIG = "data/signals.jsonl"
CSV = "data/signals.csv"
TAX = "data/taxonomy.toml"
IDX = "memo/index.md"
HUNDRED_KB = "x" * 100 * 1024


def _csv_multiline_then_bad_date(rows: list[dict[str, Any]]) -> None:
    rows[2]["title"] = 'Synthetic, with a comma\nand a "quoted" second line'  # record 3: lines 4-5
    rows[2]["summary"] = "Synthetic summary, with commas, over\r\ntwo lines"  # ... and line 6
    rows[4]["created"] = "2024-02-30"  # record 5, on line 8


def _csv_open_quote(lines: list[bytes]) -> None:
    # Record 5 (line 6) opens a quoted cell it never closes; everything after is swallowed.
    lines[5] = lines[5].replace(b"Synthetic post 5", b'"Synthetic post 5')


def _csv_text_after_quote(lines: list[bytes]) -> None:
    lines[5] = lines[5].replace(b"Synthetic post 5", b'"Synthetic" post 5')


def _csv_extra_cell(lines: list[bytes]) -> None:
    lines[4] += b",surplus"  # record 4, line 5


def _csv_bad_utf8(lines: list[bytes]) -> None:
    lines[6] = lines[6].replace(b"Synthetic post 6", b"Synthetic \xff post 6")  # record 6, line 7


def _csv_duplicate_column(lines: list[bytes]) -> None:
    lines[0] = lines[0].replace(b"summary", b"title")


NEW_PHASE = '[[phases]]\nid = "Deploy"\ndefinition = "Shipping the model."\n\n'
TAX_WITH_NEW_PHASE = TAXONOMY.replace("[[themes]]", NEW_PHASE + "[[themes]]", 1)

CASES: list[Case] = [
    # --- signals.jsonl: reading --------------------------------------------------------------
    Case("jsonl-truncated-last-line", append_bytes(b'{"id": "syn-13", "url": "https://example.com/synth'),
         SIG, 13, None, "invalid JSON"),
    Case("jsonl-malformed-line", replace_line(5, b'{"id": "syn-5", "title": }'), SIG, 5, None, "invalid JSON"),
    Case("jsonl-trailing-comma", edit_line(8, b'"sample": "sweep"}', b'"sample": "sweep",}'),
         SIG, 8, None, "invalid JSON"),
    Case("jsonl-not-an-object", replace_line(3, b'["syn-3", "https://example.com/synthetic/3"]'),
         SIG, 3, None, "expected a JSON object"),
    # Generated: a line nested a hundred thousand arrays deep.
    Case("jsonl-deeply-nested-line", replace_line(7, b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
         SIG, 7, None, "invalid JSON"),
    # Generated: a 5,001-digit number where the title should be (Python refuses > 4,300 digits).
    Case("jsonl-5000-digit-number", edit_line(9, b'"Synthetic post 9"', b"1" + b"0" * 5000),
         SIG, 9, None, "invalid JSON"),
    Case("jsonl-invalid-utf8", edit_line(4, b"Synthetic post 4", b"Synthetic \xff\xfe post 4"),
         SIG, 4, None, "invalid UTF-8"),
    Case("jsonl-latin1-line", edit_line(2, b"Synthetic post 2", "Synthetic données 2".encode("latin-1")),
         SIG, 2, None, "invalid UTF-8"),
    Case("jsonl-utf8-encoded-surrogate", edit_line(6, b"Synthetic post 6", b"Synthetic \xed\xa0\x80 post 6"),
         SIG, 6, None, "invalid UTF-8"),
    Case("jsonl-empty-file", write(SIG, b""), SIG, None, None, "no signals"),
    Case("jsonl-only-blank-lines", write(SIG, b"\n   \n\r\n\n"), SIG, None, None, "no signals"),
    # --- signals: fields ---------------------------------------------------------------------
    Case("missing-required-field-theme", drop_field(6, "theme"), SIG, 6, "theme", "required field is missing"),
    Case("missing-required-field-created", drop_field(3, "created"), SIG, 3, "created", "required field is missing"),
    Case("wrong-type-title-number", set_fields(2, title=5), SIG, 2, "title", "expected a string"),
    Case("wrong-type-id-null", set_fields(4, id=None), SIG, 4, "id", "expected a string"),
    Case("wrong-type-found-by-number", set_fields(8, found_by=5), SIG, 8, "found_by", "expected a list"),
    Case("wrong-type-created-number", set_fields(11, created=20240115), SIG, 11, "created", "expected a date"),
    Case("empty-title", set_fields(7, title=""), SIG, 7, "title", "must not be empty"),
    Case("id-with-a-space", set_fields(7, id="syn 7"), SIG, 7, "id", "expected text matching"),
    Case("source-not-a-slug", set_fields(1, source="GitHub"), SIG, 1, "source", "expected text matching"),
    Case("unknown-theme", set_fields(9, theme="deployment"), SIG, 9, "theme", "unknown theme 'deployment'"),
    Case("theme-phase-mismatch", set_fields(10, phase="Train"), SIG, 10, "phase", "the phase of theme 'improve'"),
    Case("impossible-date-feb-30", set_fields(11, created="2024-02-30"), SIG, 11, "created", "not a real date"),
    Case("impossible-date-not-leap-year", set_fields(3, created="2023-02-29"), SIG, 3, "created", "not a real date"),
    Case("date-in-another-format", set_fields(4, created="15/01/2024"), SIG, 4, "created", "expected a date"),
    Case("duplicate-id", set_fields(11, id="syn-3"), SIG, 11, "id", "duplicate id 'syn-3' (first at line 3)"),
    Case("duplicate-url-after-canonicalisation", set_fields(12, url="HTTPS://Example.COM:443/synthetic/2/#comments"),
         SIG, 12, "url", "same post as line 2"),
    Case("url-javascript", set_fields(5, url="javascript:alert(document.cookie)"), SIG, 5, "url", "absolute http(s) URL"),
    Case("url-data", set_fields(6, url="data:text/html,<script>alert(1)</script>"), SIG, 6, "url", "absolute http(s) URL"),
    Case("url-relative", set_fields(7, url="/synthetic/7"), SIG, 7, "url", "absolute http(s) URL"),
    Case("url-scheme-relative", set_fields(8, url="//example.com/synthetic/8"), SIG, 8, "url", "absolute http(s) URL"),
    Case("url-without-host", set_fields(9, url="https:///synthetic/9"), SIG, 9, "url", "with a host"),
    Case("url-port-out-of-range", set_fields(10, url="https://example.com:99999/synthetic/10"),
         SIG, 10, "url", "malformed URL"),
    Case("url-with-white-space", set_fields(11, url="https://example.com/synthetic/ 11"), SIG, 11, "url", "white space"),
    Case("title-100-kb", set_fields(2, title=HUNDRED_KB), SIG, 2, "title", "too long: 102400 characters"),
    Case("control-character-escape-in-title", set_fields(3, title="Synthetic \x1b[31mred\x1b[0m post"),
         SIG, 3, "title", "control characters"),
    Case("control-character-nul-in-summary", set_fields(4, summary="Synthetic\x00summary"),
         SIG, 4, "summary", "control characters"),
    Case("control-character-del-in-community", set_fields(5, community="example/\x7fcommunity"),
         SIG, 5, "community", "control characters"),
    # U+009B is the one-character CSI of 8-bit terminals: a C1 control character (category Cc).
    Case("control-character-c1-in-title", set_fields(6, title="Synthetic \x9b2J post"),
         SIG, 6, "title", "control characters"),
    # Round two: deceptive URLs and text, silent choices.
    Case("url-with-user-information", set_fields(7, url="https://github.com:x@evil.example/synthetic/7"),
         SIG, 7, "url", "user information before '@', which hides its real host 'evil.example'"),
    Case("url-with-a-backslash", set_fields(8, url="https://example.com\\@evil.example/synthetic/8"),
         SIG, 8, "url", "backslash"),
    Case("bidirectional-override-in-title", set_fields(9, title="Synthetic \u202egnp.exe post"),
         SIG, 9, "title", "bidirectional overrides"),
    Case("bidirectional-isolate-in-community", set_fields(10, community="example/\u2066community"),
         SIG, 10, "community", "bidirectional overrides"),
    Case("title-only-white-space", set_fields(2, title="   \t "), SIG, 2, "title", "must not be blank"),
    Case("summary-only-white-space", set_fields(3, summary="\n"), SIG, 3, "summary", "must not be blank"),
    Case("json-key-given-twice", edit_line(4, b'"title": "Synthetic post 4"', b'"title": "Synthetic post 4", "title": "Other"'),
         SIG, 4, "title", "appears twice"),
    # Names read from files are shown escaped: a newline or a terminal escape in a key can neither
    # forge a problem line nor clear the screen (the catalogue checks one line per problem).
    Case("forged-problem-in-a-json-key",
         edit_line(4, b'"title": "Synthetic post 4"',
                   b'"x\\nmemo/index.md:1: forged\\u001b[2J": 1, "x\\nmemo/index.md:1: forged\\u001b[2J": 2'),
         SIG, 4, None, "x\\nmemo/index.md:1: forged\\x1b[2J: the key appears twice"),
    Case("forged-problem-in-a-toml-key", replace_text(TAX, "[[phases]]", '"evil\\u001b]0;title\\u0007" = 1\n[[phases]]'),
         TAX, None, None, "evil\\x1b]0;title\\x07: unknown field"),
    # --- the data folder ---------------------------------------------------------------------
    Case("both-jsonl-and-csv", write(CSV, csv_text(records(), FIELDS)), "data", None, None, "both signals.jsonl and signals.csv"),
    Case("no-signals-file", delete(SIG), "data", None, None, "no signals file"),
    Case("data-folder-missing", delete("data"), "data", None, None, "data folder not found", count=None),
    # --- signals.csv -------------------------------------------------------------------------
    Case("csv-empty-file", to_csv(edit_lines=lambda lines: lines.clear()), CSV, None, None, "no signals"),
    Case("csv-header-only", to_csv(edit_lines=lambda lines: lines.__delitem__(slice(1, None))),
         CSV, None, None, "no signals"),
    Case("csv-quoted-newlines-and-commas-then-impossible-date", to_csv(_csv_multiline_then_bad_date),
         CSV, 8, "created", "not a real date"),
    Case("csv-unclosed-quote", to_csv(edit_lines=_csv_open_quote), CSV, 6, None, "malformed CSV"),
    Case("csv-text-after-closing-quote", to_csv(edit_lines=_csv_text_after_quote), CSV, 6, None, "malformed CSV"),
    Case("csv-extra-cell", to_csv(edit_lines=_csv_extra_cell), CSV, 5, None, "expected 10 columns"),
    Case("csv-invalid-utf8", to_csv(edit_lines=_csv_bad_utf8), CSV, 7, None, "invalid UTF-8"),
    Case("csv-duplicate-column", to_csv(edit_lines=_csv_duplicate_column), CSV, 1, None, "duplicate column"),
    # One missing column is reported once per record (count not pinned); the first is on line 2.
    Case("csv-missing-required-column", to_csv(fields=[f for f in FIELDS if f != "theme"]),
         CSV, 2, "theme", "required field is missing", count=None),
    Case("csv-title-100-kb", to_csv(lambda rows: rows[3].update(title=HUNDRED_KB)), CSV, 5, "title", "too long"),
    Case("csv-cell-over-the-csv-field-limit", to_csv(lambda rows: rows[5].update(title="x" * 200_000)),
         CSV, 7, None, "malformed CSV"),
    Case("csv-control-character", to_csv(lambda rows: rows[1].update(summary="Synthetic\x07summary")),
         CSV, 3, "summary", "control characters"),
    # --- taxonomy.toml -----------------------------------------------------------------------
    Case("taxonomy-missing", delete(TAX), TAX, None, None, "taxonomy file not found"),
    Case("taxonomy-malformed-toml", replace_text(TAX, '"Judging a finished run."', '"Judging a finished run.'),
         TAX, line_of(TAXONOMY, "Judging a finished run."), None, "invalid TOML"),
    Case("taxonomy-empty", write(TAX, ""), TAX, None, "phases", "required field is missing", count=2),
    Case("taxonomy-invalid-utf8", replace_text(TAX, "Crashes and configuration.", b"Crashes \xff configuration."),
         TAX, line_of(TAXONOMY, "Crashes and configuration."), None, "invalid UTF-8"),
    # Generated: an array nested a hundred thousand deep on line 1.
    Case("taxonomy-deeply-nested", write(TAX, "x = " + "[" * 100_000 + "]" * 100_000 + "\n" + TAXONOMY),
         TAX, (1, None), None, "invalid TOML"),
    Case("taxonomy-theme-with-unknown-phase", replace_text(TAX, 'phase = "Evaluate"', 'phase = "Deploy"',
                                                           after='id = "breakage"'),
         TAX, line_of(TAXONOMY, 'phase = "Evaluate"', after='id = "breakage"'), "themes[4].phase",
         "unknown phase 'Deploy'"),
    Case("taxonomy-duplicate-theme-ids", replace_text(TAX, 'id = "breakage"', 'id = "improve"'),
         TAX, line_of(TAXONOMY, 'id = "breakage"'), "themes[4].id", "duplicate id 'improve'"),
    Case("taxonomy-duplicate-key", replace_text(TAX, 'id = "setup"', 'id = "setup"\nid = "setup2"'),
         TAX, line_of(TAXONOMY, 'id = "setup"') + 1, None, "invalid TOML"),
    Case("taxonomy-order-wrong-type", replace_text(TAX, "order = 1", 'order = "first"'),
         TAX, line_of(TAXONOMY, "order = 1"), "themes[1].order", "expected a whole number"),
    Case("taxonomy-order-true", replace_text(TAX, "order = 1", "order = true"),
         TAX, line_of(TAXONOMY, "order = 1"), "themes[1].order", "expected a whole number"),
    Case("taxonomy-unknown-key-in-theme", replace_text(TAX, 'id = "retrain"', 'id = "retrain"\ncolour = "red"'),
         TAX, line_of(TAXONOMY, 'id = "retrain"') + 1, "themes[2].colour", "unknown field"),
    Case("taxonomy-phase-without-theme", write(TAX, TAX_WITH_NEW_PHASE),
         TAX, line_of(TAX_WITH_NEW_PHASE, 'id = "Deploy"'), "phases", "phase 'Deploy' has no theme"),
    Case("taxonomy-denominator-unknown-theme",
         replace_text(TAX, 'where = { phase = ["Evaluate", "Iterate"] }', 'where = { theme = ["nope"] }'),
         TAX, line_of(TAXONOMY, "where = { phase"), "denominators[1].where.theme", "unknown theme 'nope'"),
    # --- memo pages --------------------------------------------------------------------------
    Case("memo-index-missing", delete(IDX), IDX, None, None, "the memo page is missing"),
    Case("memo-folder-missing", delete("memo"), "memo", None, None, "memo folder not found"),
    Case("memo-no-front-matter", write(IDX, MEMO.split("---\n", 2)[2]), IDX, 1, None, "expected front matter"),
    Case("memo-front-matter-not-closed", write(IDX, MEMO.replace("Synthetic data only\n---\n", "Synthetic data only\n")),
         IDX, 1, None, "front matter is not closed"),
    Case("memo-invalid-yaml", replace_text(IDX, "subtitle: Synthetic data only", "subtitle: Synthetic: data: only"),
         IDX, 3, None, "invalid YAML front matter"),
    Case("memo-front-matter-not-a-mapping", write(IDX, "---\n- title\n- subtitle\n---\n\nWe read {{ n }} posts.\n"),
         IDX, 2, None, "mapping"),
    Case("memo-title-missing", replace_text(IDX, "title: A synthetic memo for the bad-input catalogue\n", ""),
         IDX, 1, "title", "required"),
    Case("memo-unknown-front-matter-key", replace_text(IDX, "subtitle:", "titel: Typo\nsubtitle:"),
         IDX, 3, "titel", "unknown key"),
    Case("memo-order-wrong-type", replace_text(IDX, "subtitle:", "order: first\nsubtitle:"), IDX, 3, "order", "integer"),
    Case("memo-impossible-date-in-front-matter", replace_text(IDX, "subtitle:", "date: 2024-02-30\nsubtitle:"),
         IDX, 3, "date", "date"),
    Case("memo-impossible-month-in-front-matter", replace_text(IDX, "subtitle:", "date: 2024-13-01\nsubtitle:"),
         IDX, 3, "date", "date"),
    # Generated: a flow sequence nested five thousand deep in the subtitle (line 3).
    Case("memo-deeply-nested-front-matter",
         replace_text(IDX, "subtitle: Synthetic data only", "subtitle: " + "[" * 5000 + "]" * 5000),
         IDX, (3, None), None, "YAML"),
    Case("memo-invalid-utf8", replace_text(IDX, "We read", b"We \xff read"), IDX, MEMO_BODY_LINE, None, "invalid UTF-8"),
    Case("memo-page-name-not-a-slug", write("memo/Notes.md", "---\ntitle: Notes\n---\n\nSynthetic notes.\n"),
         "memo/Notes.md", None, None, "lower-case"),
    Case("memo-binding-unknown-theme", replace_text(IDX, 'count("retrain")', 'count("rebuild")'),
         IDX, MEMO_COUNT_LINE, None, "unknown theme or phase 'rebuild'"),
    Case("memo-binding-unparsable", replace_text(IDX, "{{ n }}", "{{ share( }}"), IDX, MEMO_BODY_LINE, None, "cannot parse"),
    # Round two: huge, deep and non-finite expressions, one clear line each.
    Case("memo-expression-of-hundreds-of-terms", replace_text(IDX, "{{ n }}", "{{ " + " + ".join(["n"] * 300) + " }}"),
         IDX, MEMO_BODY_LINE, None, "characters long"),
    Case("memo-expression-of-150-terms", replace_text(IDX, "{{ n }}", "{{ " + "+".join(["n"] * 150) + " }}"),
         IDX, MEMO_BODY_LINE, None, "more than 200 parts"),
    Case("memo-expression-of-hundreds-of-nots", replace_text(IDX, "{{ n }}", "{{ " + "not " * 120 + "n > 1 }}"),
         IDX, MEMO_BODY_LINE, None, "nested more than 100 levels"),
    Case("memo-expression-4000-digit-product", replace_text(IDX, "{{ n }}", "{{ n * " + "9" * 400 + " * " + "9" * 400 + " }}"),
         IDX, MEMO_BODY_LINE, None, "too large"),
    Case("memo-expression-infinite", replace_text(IDX, "{{ n }}", "{{ n * 1e308 * 10 | percent }}"),
         IDX, MEMO_BODY_LINE, None, "too large"),
    Case("memo-expression-not-a-number", replace_text(IDX, "{{ n }}", "{{ n * 1e999 }}"),
         IDX, MEMO_BODY_LINE, None, "not a finite number"),
    Case("memo-format-argument-unbounded", replace_text(IDX, "{{ n }}", "{{ n | number(100000000) }}"),
         IDX, MEMO_BODY_LINE, None, "number(digits) takes 0 to 3 digits"),
    Case("memo-binding-in-a-link-target", replace_text(IDX, "We read", "We [read](themes/{{ n }}.html)"),
         IDX, MEMO_BODY_LINE, None, "stands in a link target"),
    Case("memo-vacuous-claim", replace_text(IDX, "subtitle:", "claims:\n  - name: always\n    sentence: It holds.\n"
                                            "    check: 1 > 0\nsubtitle:"), IDX, 4, "claims[1].check", "vacuous"),
    Case("memo-claim-comparing-a-term-with-itself",
         replace_text(IDX, "subtitle:", "claims:\n  - name: always\n    sentence: It holds.\n    check: n == n\nsubtitle:"),
         IDX, 4, "claims[1].check", "vacuous"),
    Case("memo-page-is-a-folder", lambda root: (root / "memo" / "notes.md").mkdir(), "memo/notes.md", None, None,
         "is a folder"),
    Case("memo-front-matter-key-twice", replace_text(IDX, "subtitle:", "title: Again\nsubtitle:"), IDX, 3, "title",
         "appears twice (first at line 2)"),
    Case("memo-yaml-error-in-one-line", replace_text(IDX, "subtitle: Synthetic data only", "subtitle: [unclosed\nx: y"),
         IDX, 4, None, "invalid YAML front matter"),
    Case("memo-thousands-of-brackets", replace_text(IDX, "We read", "[" * 1500 + " We read"), IDX, MEMO_BODY_LINE,
         None, "more than 1,000"),
    Case("memo-lists-nested-too-deep", replace_text(IDX, "We read", "- " * 30 + "We read"), IDX, MEMO_BODY_LINE,
         None, "nested 30 deep"),
    # --- templates ---------------------------------------------------------------------------
    # A project's templates override the built-in ones by name, so a template missing from the
    # project's folder falls back to the built-in one; a template that exists nowhere is an error.
    Case("template-missing-theme-html", replace_text("templates/theme.html", "{% block body %}",
                                                     '{% block body %}{% include "blocks/no-such.html" %}'),
         "templates/theme.html", None, None, "'blocks/no-such.html' is in no templates folder"),
    Case("template-missing-block", replace_text("templates/memo.html", "{% block body %}",
                                                '{% block body %}{% include "blocks/gone.html" %}'),
         "templates/memo.html", None, None, "'blocks/gone.html' is in no templates folder"),
    Case("templates-folder-missing", delete("templates"), "templates", None, None, "templates folder not found"),
    Case("template-syntax-error", replace_text("templates/theme.html", "{% endblock %}", "{% endblock %}{% if %}"),
         "templates/theme.html", 2, None, "template error"),
    Case("template-divides-by-zero", replace_text("templates/theme.html", "{% block body %}", "{% block body %}{{ 1 // 0 }}"),
         "templates/theme.html", 6, None, "ZeroDivisionError"),
    Case("template-formats-the-wrong-type", replace_text("templates/theme.html", "{% block body %}",
                                                          '{% block body %}{{ "%d" % group.label }}'),
         "templates/theme.html", 6, None, "TypeError"),
    Case("template-includes-itself", write("templates/blocks/headline.html", '{% include "blocks/headline.html" %}'),
         "templates/blocks/headline.html", 1, None, "without end"),
    Case("template-not-utf8", replace_text("templates/memo.html", "{% extends", b"\xff{% extends"),
         "templates/memo.html", (1, None), None, "UTF-8"),
    # --- the output folder -------------------------------------------------------------------
    # As root, permissions do not stop a write: make the output's parent a regular file instead.
    Case("output-parent-is-a-file", write("blocker", "a regular file\n"), "blocker/site", None, None,
         "cannot write the output folder", out="blocker/site"),
    Case("output-is-a-file", write("blocker", "a regular file\n"), "blocker", None, None, "not a folder", out="blocker"),
    Case("output-is-someone-elses-folder", write("thesis/chapter-1.tex", "Years of work.\n"), "thesis", None, None,
         "holds files memokit did not write", out="thesis"),
    Case("output-is-a-symbolic-link", lambda root: (root / "link").symlink_to(root / "out"), "link", None, None,
         "symbolic link", out="link"),
    Case("output-is-the-data-folder", lambda root: None, "data", None, None, "would replace the input folder",
         out="data"),
]

assert len(CASES) >= 30
assert len({case.id for case in CASES}) == len(CASES)
CASE_BY_ID = {case.id: case for case in CASES}

# --- checking the output ----------------------------------------------------------------------

SUMMARY = re.compile(r"memokit: invalid input \((\d+) problems?\); nothing was written")
PROBLEM = re.compile(r"(?P<path>/[^:\n]+?)(?::(?P<line>\d+))?: (?:(?P<field>[A-Za-z_][\w.\[\]-]*): )?(?P<message>\S.*)")
MORE = re.compile(r"\.\.\. and (\d+) more problems?")
HEADER = re.compile(r"(?P<path>/[^:\n]+) \((?P<count>\d+) problems?\):")


@dataclass(frozen=True)
class Printed:
    path: Path
    line: int | None
    field: str | None
    message: str


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command line in-process; an escaping exception fails the test with its type."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:
        captured = capsys.readouterr()
        pytest.fail(f"exception escaped memokit.cli.main: {type(exc).__name__}: {str(exc)[:200]}\n"
                    f"stderr so far: {captured.err[:500]}\n{traceback.format_exc(limit=-4)}")
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def parse_problems(err: str) -> list[Printed]:
    """Check the shape of an invalid-input report and return its problem lines, parsed."""
    assert "Traceback" not in err, err
    lines = err.rstrip("\n").split("\n")
    summary = SUMMARY.fullmatch(lines[-1])
    assert summary, f"last line is not the invalid-input summary: {lines[-1]!r}"
    total = int(summary.group(1))
    body = lines[:-1]
    if total > 50:
        more = MORE.fullmatch(body[-1])
        assert more and int(more.group(1)) == total - 50, body[-1]
        body = body[:-1]
    headers = [HEADER.fullmatch(line) for line in body]
    if any(headers):
        # Problems in several files: each file's lines follow a "PATH (N problems):" header.
        assert headers[0], f"grouped output must start with a file header: {body[0]!r}"
        groups: list[tuple[str, int, list[str]]] = []
        for line, header in zip(body, headers, strict=False):
            if header:
                groups.append((header["path"], int(header["count"]), []))
            else:
                groups[-1][2].append(line)
        assert len({path for path, _, _ in groups}) == len(groups), "a file has two groups"
        for path, count, lines in groups:
            assert lines and all(line.startswith(path) for line in lines), f"{path}: lines of another file: {lines}"
            assert count == len(lines) or (total > 50 and (path, count, lines) == groups[-1]), (path, count, lines)
        body = [line for line, header in zip(body, headers, strict=False) if not header]
    assert len(body) == min(total, 50), f"{len(body)} problem lines for {total} problems:\n{err}"
    printed = []
    for line in body:
        found = PROBLEM.fullmatch(line)
        assert found, f"not PATH(:LINE)?: (field: )?message: {line[:300]!r}"
        printed.append(Printed(Path(found["path"]), int(found["line"]) if found["line"] else None,
                               found["field"], found["message"]))
    return printed


def assert_case_reported(case: Case, root: Path, err: str) -> None:
    printed = parse_problems(err)
    if case.count is not None:
        assert len(printed) == case.count, f"expected {case.count} problem(s), got {len(printed)}:\n{err[:3000]}"
    target = (root / case.file).resolve()
    lines = case.line if isinstance(case.line, tuple) else (case.line,)
    matching = [p for p in printed if p.path.resolve() == target and case.phrase in p.message
                and p.line in lines and p.field == case.field]
    where = f"{target}" + (f":{case.line}" if case.line is not None else "") + (f": {case.field}" if case.field else "")
    assert matching, f"no line '{where}: …{case.phrase}…' in:\n{err[:3000]}"


def assert_untouched(root: Path, before: dict[str, str], baseline: Baseline, out: str) -> None:
    assert tree_digest(root / "out") == baseline.digest, "out/ was changed"
    assert snapshot(root) == before, "the project changed (a file written, moved or left behind)"
    beside = (root / out).resolve().parent
    for folder in {root, beside} if beside.is_dir() else {root}:
        stray = [p.name for p in folder.iterdir() if p.name.startswith((".out-", f".{Path(out).name}-"))]
        assert not stray, f"staging folders left in {folder}: {stray}"


# --- the catalogue, in-process ----------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_bad_input_exits_2_with_one_line_per_problem_and_leaves_out_untouched(
        case: Case, project: Path, baseline: Baseline, capsys: pytest.CaptureFixture[str]) -> None:
    case.mutate(project)
    before = snapshot(project)
    code, out, err = run_main(argv(project, case.out), capsys)
    assert code == 2, f"exit {code}, expected 2; stderr:\n{err[:3000]}"
    assert_case_reported(case, project, err)
    assert "Traceback" not in out
    assert_untouched(project, before, baseline, case.out)


def test_several_problems_are_each_reported_on_their_own_line_in_file_order(
        project: Path, baseline: Baseline, capsys: pytest.CaptureFixture[str]) -> None:
    both(set_fields(9, created="2024-02-30"), set_fields(2, url="javascript:void(0)"),
         replace_line(5, b"{not json"))(project)
    before = snapshot(project)
    code, _, err = run_main(argv(project), capsys)
    assert code == 2
    printed = parse_problems(err)
    assert [(p.line, p.field) for p in printed] == [(2, "url"), (5, None), (9, "created")]
    assert all(p.path == project / SIG for p in printed)
    assert err.rstrip().endswith("invalid input (3 problems); nothing was written")
    assert_untouched(project, before, baseline, "out")


def test_problems_in_several_files_are_grouped_by_file_in_line_order(
        project: Path, baseline: Baseline, capsys: pytest.CaptureFixture[str]) -> None:
    taxonomy = (project / TAX).read_text(encoding="utf-8")
    write(TAX, taxonomy.replace('phase = "Train"', 'phase = "Deploy"', 1))(project)
    both(replace_line(7, b"{not json"), replace_line(3, b"[1, 2]"))(project)
    before = snapshot(project)
    code, _, err = run_main(argv(project), capsys)
    assert code == 2
    printed = parse_problems(err)  # checks each header's count and that its lines are its file's
    lines = err.splitlines()
    assert lines[0] == f"{project / TAX} (2 problems):", err  # the unknown phase; Train left with no theme
    assert lines[3] == f"{project / SIG} (2 problems):", err
    assert [p.path for p in printed] == [project / TAX] * 2 + [project / SIG] * 2
    tax_lines = [p.line for p in printed[:2]]
    assert tax_lines == sorted(tax_lines) and line_of(taxonomy, 'phase = "Train"') in tax_lines
    assert [p.line for p in printed[2:]] == [3, 7]  # line order, not the order they were broken in
    assert_untouched(project, before, baseline, "out")


def test_more_than_fifty_problems_are_counted_after_the_fiftieth(
        project: Path, baseline: Baseline, capsys: pytest.CaptureFixture[str]) -> None:
    bad = [signal(n, created="2024-02-30") for n in range(1, 61)]  # generated: 60 impossible dates
    write(SIG, jsonl(bad))(project)
    before = snapshot(project)
    code, _, err = run_main(argv(project), capsys)
    assert code == 2
    printed = parse_problems(err)  # checks "... and 10 more problems" and the summary's 60
    assert [p.line for p in printed] == list(range(1, 51))
    assert "invalid input (60 problems)" in err
    assert_untouched(project, before, baseline, "out")


def test_an_unknown_option_exits_2_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["--no-such-option"], capsys)
    assert code == 2
    assert "unrecognized arguments: --no-such-option" in err and "Traceback" not in err


# --- the catalogue, as a process --------------------------------------------------------------

#: Run through ``python3 build.py`` to prove no traceback escapes at the process level; the
#: last three raised an uncaught exception (RecursionError, ValueError, UnicodeDecodeError) when
#: this catalogue was written.
SUBPROCESS_CASES = (
    "jsonl-truncated-last-line", "jsonl-invalid-utf8", "csv-quoted-newlines-and-commas-then-impossible-date",
    "taxonomy-malformed-toml", "memo-no-front-matter", "template-missing-theme-html", "output-parent-is-a-file",
    "duplicate-url-after-canonicalisation",
    "jsonl-deeply-nested-line", "memo-impossible-date-in-front-matter", "template-not-utf8",
)


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_as_a_process_exits_2_without_a_traceback(case_id: str, project: Path, baseline: Baseline) -> None:
    case = CASE_BY_ID[case_id]
    case.mutate(project)
    before = snapshot(project)
    done = subprocess.run([sys.executable, str(BUILD_PY), *argv(project, case.out)], cwd=project,
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, f"exit {done.returncode}; stderr:\n{done.stderr[-3000:]}"
    assert_case_reported(case, project, done.stderr)
    assert_untouched(project, before, baseline, case.out)


# --- benign variants --------------------------------------------------------------------------


def _bom(relative: str) -> Mutation:
    def mutate(root: Path) -> None:
        path = root / relative
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return mutate


def _crlf(relative: str) -> Mutation:
    def mutate(root: Path) -> None:
        path = root / relative
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return mutate


def _blank_lines(root: Path) -> None:
    lines = _signals(root).read_bytes().rstrip(b"\n").split(b"\n")
    spaced = [b"", b"  "]
    for index, line in enumerate(lines):
        spaced += [line, b"", b"\t \r"] if index % 4 == 0 else [line]
    _signals(root).write_bytes(b"\n".join(spaced))  # no line end after the last record


def _csv_quoted_cells(rows: list[dict[str, Any]]) -> None:
    rows[0]["title"] = 'Synthetic: OOM, then "NaN" loss'
    rows[2]["title"] = "Synthetic post,\nover two lines"
    rows[6]["summary"] = 'Synthetic, "quoted",\r\nand on a second line'


BENIGN: dict[str, Mutation] = {
    "jsonl-with-bom": _bom(SIG),
    "jsonl-with-crlf": _crlf(SIG),
    "jsonl-with-bom-and-crlf": both(_crlf(SIG), _bom(SIG)),
    "jsonl-with-blank-lines-and-no-final-newline": _blank_lines,
    "csv-instead-of-jsonl": to_csv(),
    "csv-with-bom-and-crlf": both(to_csv(), _crlf(CSV), _bom(CSV)),
    "csv-with-blank-lines": to_csv(edit_lines=lambda lines: lines.insert(3, b"") or lines.insert(7, b",,,,,,,,,")),
    "csv-with-quoted-commas-and-newlines": to_csv(_csv_quoted_cells),
    "csv-with-columns-in-another-order": to_csv(fields=list(reversed(FIELDS))),
    "taxonomy-with-bom-and-crlf": both(_crlf(TAX), _bom(TAX)),
    "memo-with-bom-and-crlf": both(_crlf(IDX), _bom(IDX)),
}


@pytest.mark.parametrize("name", list(BENIGN))
def test_benign_variant_builds_with_the_same_stats(name: str, project: Path, baseline: Baseline,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    BENIGN[name](project)
    code, out, err = run_main(argv(project), capsys)
    assert code == 0, f"exit {code}; stderr:\n{err[:3000]}"
    assert err == "", f"a benign variant should build without a word on stderr:\n{err[:3000]}"
    assert out.startswith(f"built {project / 'out'}/: 12 signals")
    assert (project / "out" / "data" / "stats.json").read_bytes() == baseline.stats
    assert not [p.name for p in project.iterdir() if p.name.startswith(".out-")]


def test_csv_quoted_commas_and_newlines_reach_the_site_intact(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    to_csv(_csv_quoted_cells)(project)
    assert run_main(argv(project), capsys)[0] == 0
    posts = {post["id"]: post for theme in ("setup", "breakage", "improve")
             for post in json.loads((project / "out" / "data" / "themes" / f"{theme}.json").read_text("utf-8"))["posts"]}
    assert posts["syn-1"]["title"] == 'Synthetic: OOM, then "NaN" loss'
    assert posts["syn-3"]["title"] == "Synthetic post,\nover two lines"
    assert posts["syn-7"]["summary"] == 'Synthetic, "quoted",\nand on a second line'


# --- unknown extra fields: a warning, and the build succeeds ----------------------------------


@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_unknown_extra_field_is_a_warning_and_the_build_succeeds(
        form: str, project: Path, baseline: Baseline, capsys: pytest.CaptureFixture[str]) -> None:
    if form == "jsonl":
        set_fields(4, notes="synthetic reviewer note")(project)
        path, line = project / SIG, 4
    else:
        to_csv(lambda rows: [row.update(notes=f"note {i}") for i, row in enumerate(rows)],
               fields=[*FIELDS, "notes"])(project)
        path, line = project / CSV, 2
    code, out, err = run_main(argv(project), capsys)
    assert code == 0, err
    assert err.splitlines() == [f"warning: {path}:{line}: notes: unknown field ignored (known: "
                                + ", ".join(["id", "url", "source", "community", "title", "created", "theme", "phase",
                                             "summary", "model_family", "tool", "found_by", "sample", "coded_by",
                                             "corpus"]) + ")"]
    assert "built" in out
    assert (project / "out" / "data" / "stats.json").read_bytes() == baseline.stats
    site_csv = (project / "out" / "data" / "signals.csv").read_text(encoding="utf-8")
    assert "notes" not in site_csv and "synthetic reviewer note" not in site_csv and "note 3" not in site_csv


def test_a_file_name_cannot_forge_a_problem_line_or_drive_the_terminal(project: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (project / "memo" / "a\nindex.md:1: forged\x1b[2J.md").write_text("---\ntitle: X\n---\n", encoding="utf-8")
    code, _, err = run_main(argv(project), capsys)
    assert code == 2
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 2 and SUMMARY.fullmatch(lines[1]), lines
    assert lines[0].endswith("/memo/a\\nindex.md:1: forged\\x1b[2J.md: page file names must be lower-case letters, "
                             "digits and '-' (e.g. faq.md)"), lines[0]
    assert "\x1b" not in err
