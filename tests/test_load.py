"""Stage 1, load: JSONL and CSV signals, encodings, line endings, and the taxonomy file."""

from __future__ import annotations

import json

from helpers import TAXONOMY, csv_text, jsonl, load, make_data, problems, signal

from memokit.build.load import read_signals
from memokit.model import Problems


def _fields(dataset):
    return [s.model_dump() for s in dataset.signals]


# --- formats, encodings, line endings ---------------------------------------------------------


def test_jsonl_and_csv_with_the_same_fields_load_the_same_signals(tmp_path):
    records = [signal(1, found_by=["sweep", "tool"]), signal(2, theme="improve", created=None),
               signal(3, theme="retrain", model_family="llama", tool="trl")]
    from_jsonl = load(make_data(tmp_path / "a", records))
    from_csv = load(make_data(tmp_path / "b", records, name="signals.csv"))
    assert len(from_jsonl.signals) == 3
    assert _fields(from_jsonl) == _fields(from_csv)
    assert from_csv.signals[0].found_by == ("sweep", "tool")
    assert from_csv.signals[1].created is None


def test_utf8_with_and_without_bom_load_the_same(tmp_path):
    text = jsonl([signal(1, title="Überanpassung nach dem Training"), signal(2)])
    plain = load(make_data(tmp_path / "a", text.encode("utf-8")))
    bom = load(make_data(tmp_path / "b", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert _fields(plain) == _fields(bom)
    assert bom.signals[0].id == "syn-1"
    assert bom.signals[0].title == "Überanpassung nach dem Training"


def test_csv_with_bom_keeps_the_first_column_name(tmp_path):
    text = csv_text([signal(1), signal(2)])
    dataset = load(make_data(tmp_path, b"\xef\xbb\xbf" + text.encode(), name="signals.csv"))
    assert [s.id for s in dataset.signals] == ["syn-1", "syn-2"]


def test_jsonl_with_crlf_line_endings_loads(tmp_path):
    text = jsonl([signal(1), signal(2)]).replace("\n", "\r\n")
    dataset = load(make_data(tmp_path, text))
    assert [s.id for s in dataset.signals] == ["syn-1", "syn-2"]


def test_csv_with_crlf_line_endings_loads(tmp_path):
    text = csv_text([signal(1), signal(2)]).replace("\n", "\r\n")
    dataset = load(make_data(tmp_path, text, name="signals.csv"))
    assert [s.id for s in dataset.signals] == ["syn-1", "syn-2"]
    assert dataset.signals[1].sample == "sweep"  # the last column has no stray '\r'


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers(tmp_path):
    text = "\n" + json.dumps(signal(1)) + "\n   \n\n" + json.dumps(signal(2)) + "\n\n"
    records = read_signals(make_data(tmp_path, text) / "signals.jsonl", Problems())
    assert [(r.line, r.data["id"]) for r in records] == [(2, "syn-1"), (5, "syn-2")]


def test_blank_lines_in_csv_are_skipped(tmp_path):
    header, first, second, _ = csv_text([signal(1), signal(2)]).split("\n")
    dataset = load(make_data(tmp_path, "\n".join([header, "", first, "  ", second, ""]), name="signals.csv"))
    assert [s.id for s in dataset.signals] == ["syn-1", "syn-2"]


# --- unreadable JSONL lines -------------------------------------------------------------------


def test_truncated_json_line_reports_path_and_its_line(tmp_path):
    text = json.dumps(signal(1)) + "\n\n" + json.dumps(signal(2))[:-15] + "\n" + json.dumps(signal(3)) + "\n"
    data = make_data(tmp_path, text)
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.jsonl'}:3: invalid JSON")


def test_malformed_json_line_with_crlf_reports_its_line(tmp_path):
    text = (jsonl([signal(1), signal(2)]) + "{'id': 'syn-3'}\n").replace("\n", "\r\n")
    data = make_data(tmp_path, text)
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.jsonl'}:3: invalid JSON")


def test_json_line_that_is_not_an_object_is_reported(tmp_path):
    data = make_data(tmp_path, jsonl([signal(1)]) + '["syn-2", "not", "an", "object"]\n')
    [problem] = problems(data)
    assert problem == f"{data / 'signals.jsonl'}:2: expected a JSON object, got list"


def test_invalid_utf8_in_a_jsonl_line_reports_that_line(tmp_path):
    raw = jsonl([signal(1), signal(2)]).encode() + b'{"id": "syn-3", "title": "caf\xe9"}\n'
    data = make_data(tmp_path, raw)
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.jsonl'}:3: invalid UTF-8")


def test_every_unreadable_jsonl_line_is_reported(tmp_path):
    text = "{\n" + jsonl([signal(2)]) + "42\n" + b"\xff".decode("latin-1")
    raw = text.encode("latin-1")  # last line: a lone 0xff byte, invalid UTF-8
    data = make_data(tmp_path, raw)
    found = problems(data)
    assert [p.split(": ")[0] for p in found] == [f"{data / 'signals.jsonl'}:{n}" for n in (1, 3, 4)]


# --- CSV --------------------------------------------------------------------------------------


def test_csv_with_quoted_commas_and_newlines_loads_exactly(tmp_path):
    title = 'Loss is NaN, then "inf"\nafter step 20'
    summary = "One, two;\nthree lines\nof summary"
    dataset = load(make_data(tmp_path, [signal(1, title=title, summary=summary), signal(2)], name="signals.csv"))
    assert dataset.signals[0].title == title
    assert dataset.signals[0].summary == summary
    assert dataset.signals[1].id == "syn-2"


def test_csv_bad_row_after_multiline_cells_reports_its_start_line(tmp_path):
    records = [signal(1, title="two\nlines"), signal(2, summary="three\nline\nsummary"), signal(3, theme="no-such")]
    data = make_data(tmp_path, records, name="signals.csv")
    # header: 1; row 1: lines 2-3; row 2: lines 4-6; row 3 starts on line 7.
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.csv'}:7: theme: unknown theme 'no-such'")


def test_csv_bad_row_spanning_lines_reports_its_first_line(tmp_path):
    records = [signal(1), signal(2, title="bad\ntheme\nrow", theme="no-such")]
    data = make_data(tmp_path, records, name="signals.csv")
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.csv'}:3: theme: unknown theme 'no-such'")


def test_csv_with_crlf_and_a_quoted_newline_loads(tmp_path):
    # A file saved with Windows line endings has CRLF inside quoted cells too.
    text = csv_text([signal(1, title="two\nlines"), signal(2)]).replace("\n", "\r\n")
    dataset = load(make_data(tmp_path, text, name="signals.csv"))
    assert [s.id for s in dataset.signals] == ["syn-1", "syn-2"]
    assert dataset.signals[0].title.splitlines() == ["two", "lines"]


def test_csv_row_with_wrong_column_count_is_reported_with_counts(tmp_path):
    text = csv_text([signal(1), signal(2)]) + "syn-3,https://example.com/3\n"
    data = make_data(tmp_path, text, name="signals.csv")
    [problem] = problems(data)
    assert problem == f"{data / 'signals.csv'}:4: expected 10 columns as in the header, got 2"


def test_csv_with_unclosed_quote_is_reported_not_raised(tmp_path):
    header, first, second, _ = csv_text([signal(1), signal(2)]).split("\n")
    data = make_data(tmp_path, "\n".join([header, first, second.replace("Synthetic", '"Synthetic')]) + "\n",
                     name="signals.csv")
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.csv'}:3: malformed CSV")


def test_invalid_utf8_in_csv_reports_its_line(tmp_path):
    raw = csv_text([signal(1), signal(2)]).encode().replace(b"Synthetic post 2", b"Synthetic \xff")
    data = make_data(tmp_path, raw, name="signals.csv")
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'signals.csv'}:3: invalid UTF-8")


# --- empty input and which file -----------------------------------------------------------------


def test_header_only_csv_gives_a_no_signals_problem(tmp_path):
    header = csv_text([signal(1)]).split("\n")[0] + "\n"
    data = make_data(tmp_path, header, name="signals.csv")
    assert problems(data) == [f"{data / 'signals.csv'}: no signals: the file holds no records"]


def test_empty_jsonl_gives_a_no_signals_problem(tmp_path):
    data = make_data(tmp_path, b"")
    assert problems(data) == [f"{data / 'signals.jsonl'}: no signals: the file holds no records"]


def test_jsonl_of_blank_lines_gives_a_no_signals_problem(tmp_path):
    data = make_data(tmp_path, "\n  \r\n\n")
    assert problems(data) == [f"{data / 'signals.jsonl'}: no signals: the file holds no records"]


def test_both_jsonl_and_csv_present_is_an_error(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    (data / "signals.csv").write_text(csv_text([signal(1)]), encoding="utf-8")
    [problem] = problems(data)
    assert problem.startswith(f"{data}: both signals.jsonl and signals.csv exist")


def test_no_signals_file_is_an_error(tmp_path):
    data = make_data(tmp_path, [signal(1)])
    (data / "signals.jsonl").unlink()
    [problem] = problems(data)
    assert problem.startswith(f"{data}: no signals file")


# --- taxonomy file ----------------------------------------------------------------------------


def test_missing_taxonomy_is_reported(tmp_path):
    data = make_data(tmp_path, [signal(1)], taxonomy=None)
    assert problems(data) == [f"{data / 'taxonomy.toml'}: taxonomy file not found"]


def test_malformed_toml_reports_its_line(tmp_path):
    lines = TAXONOMY.split("\n")
    index = lines.index('id = "retrain"')
    lines[index] = 'id = "retrain'  # unterminated string
    data = make_data(tmp_path, [signal(1)], taxonomy="\n".join(lines))
    [problem] = problems(data)
    assert problem.startswith(f"{data / 'taxonomy.toml'}:{index + 1}: invalid TOML")


def test_taxonomy_with_bom_and_crlf_loads(tmp_path):
    data = make_data(tmp_path, [signal(1)], taxonomy=None)
    (data / "taxonomy.toml").write_bytes(b"\xef\xbb\xbf" + TAXONOMY.replace("\n", "\r\n").encode())
    assert [t.id for t in load(data).taxonomy.themes] == ["setup", "improve", "breakage", "retrain"]
