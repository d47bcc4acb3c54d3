"""Stage 2, validate: every check on signals and on the taxonomy, and how problems are reported."""

from __future__ import annotations

import re
from datetime import date

import pytest
from helpers import TAXONOMY, load, make_data, problems, signal

from memokit.build.load import read_signals
from memokit.build.validate import validate_signals
from memokit.model import InputError, Problem, Problems, canonical_url

THEME_IDS = "setup, improve, breakage, retrain"


def _only(data, records):
    """Return the single problem reported for ``records``, without the path prefix."""
    found = problems(make_data(data, records))
    assert len(found) == 1, found
    prefix = f"{data / 'data' / 'signals.jsonl'}:"
    assert found[0].startswith(prefix)
    return found[0][len(prefix):]


def _taxonomy_problems(tmp_path, text):
    data = make_data(tmp_path, [signal(1)], taxonomy=text)
    prefix = f"{data / 'taxonomy.toml'}:"
    found = problems(data)
    assert all(p.startswith(prefix) for p in found), found
    return [p[len(prefix):] for p in found]


def _line_of(text, needle, occurrence=1):
    hits = [number for number, line in enumerate(text.split("\n"), start=1) if line.strip() == needle]
    return hits[occurrence - 1]


# --- signals: fields and types ----------------------------------------------------------------


def test_a_valid_signal_loads_with_typed_fields(tmp_path):
    dataset = load(make_data(tmp_path, [signal(1, found_by=["a", "b"])]))
    [s] = dataset.signals
    assert s.created == date(2024, 1, 15)
    assert s.found_by == ("a", "b")
    assert dataset.warnings == ()


@pytest.mark.parametrize("field", ["id", "url", "source", "community", "title", "created", "theme", "phase", "summary"])
def test_missing_required_field_is_reported(tmp_path, field):
    assert _only(tmp_path, [signal(1, drop=(field,))]) == f"1: {field}: required field is missing"


def test_title_that_is_a_number_is_a_wrong_type(tmp_path):
    assert _only(tmp_path, [signal(1, title=42)]) == "1: title: expected a string, got int"


def test_id_that_is_a_number_is_a_wrong_type(tmp_path):
    assert _only(tmp_path, [signal(1, id=7)]) == "1: id: expected a string, got int"


def test_impossible_date_is_rejected(tmp_path):
    assert _only(tmp_path, [signal(1, created="2024-02-30")]) == "1: created: not a real date: '2024-02-30'"


@pytest.mark.parametrize("value", ["15/01/2024", "2024-1-5", "2024-01-15T10:00:00", 20240115])
def test_date_in_the_wrong_format_is_rejected(tmp_path, value):
    assert _only(tmp_path, [signal(1, created=value)]).startswith("1: created: expected a date YYYY-MM-DD or null")


def test_null_date_is_accepted_as_unknown(tmp_path):
    [s] = load(make_data(tmp_path, [signal(1, created=None)])).signals
    assert s.created is None
    assert s.year == "unknown"


def test_control_characters_are_rejected(tmp_path):
    assert _only(tmp_path, [signal(1, title="bell\x07here")]) == "1: title: contains control characters or bidirectional overrides"


def test_control_character_in_summary_is_rejected(tmp_path):
    assert _only(tmp_path, [signal(1, summary="escape \x1b[31m red")]) == "1: summary: contains control characters or bidirectional overrides"


def test_source_must_be_a_slug(tmp_path):
    assert _only(tmp_path, [signal(1, source="Git Hub")]).startswith("1: source: expected text matching")


def test_unknown_extra_field_is_a_warning_not_an_error(tmp_path):
    data = make_data(tmp_path, [signal(1), signal(2, mood="cheerful"), signal(3, mood="glum")])
    dataset = load(data)
    assert len(dataset.signals) == 3
    [warning] = dataset.warnings  # one warning per unknown field, at its first line
    assert warning.startswith(f"{data / 'signals.jsonl'}:2: mood: unknown field ignored")


# --- signals: cross-references ----------------------------------------------------------------


def test_unknown_theme_lists_the_known_theme_ids(tmp_path):
    assert _only(tmp_path, [signal(1, theme="no-such", phase="Train")]) == (
        f"1: theme: unknown theme 'no-such'; expected one of: {THEME_IDS}")


def test_phase_must_be_the_phase_of_the_theme(tmp_path):
    assert _only(tmp_path, [signal(1, theme="improve", phase="Iterate")]) == (
        "1: phase: expected 'Evaluate', the phase of theme 'improve', got 'Iterate'")


def test_duplicate_id_reports_the_second_occurrence_and_the_first_line(tmp_path):
    records = [signal(1), signal(2), signal(1, url="https://example.com/other")]
    assert _only(tmp_path, records) == "3: id: duplicate id 'syn-1' (first at line 1)"


# --- signals: URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "javascript:alert(1)",
    "JavaScript://example.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/relative/path",
    "example.com/no-scheme",
    "ftp://example.com/file",
    "https:///no-host",
])
def test_non_http_or_hostless_urls_are_rejected(tmp_path, url):
    assert _only(tmp_path, [signal(1, url=url)]).startswith("1: url: expected an absolute http(s) URL")


def test_url_with_white_space_is_rejected(tmp_path):
    assert _only(tmp_path, [signal(1, url="https://example.com/a b")]) == "1: url: URL contains white space"


@pytest.mark.parametrize("url", [
    "https://example.com:notaport/x",
    "https://example.com:99999/x",
    "http://[::1/x",
])
def test_malformed_url_is_a_problem_not_a_crash(tmp_path, url):
    found = problems(make_data(tmp_path, [signal(1, url=url), signal(2)]))
    assert len(found) == 1
    assert re.match(r".*signals\.jsonl:1: url: ", found[0])


@pytest.mark.parametrize("variant", [
    "HTTPS://EXAMPLE.COM/post/1",
    "https://example.com/post/1/",
    "https://example.com/post/1#comment-3",
    "https://Example.com:443/post/1/#top",
])
def test_same_url_after_canonicalisation_is_a_duplicate(tmp_path, variant):
    records = [signal(1, url="https://example.com/post/1"), signal(2, url=variant)]
    assert _only(tmp_path, records) == f"2: url: duplicate URL {variant!r} (same post as line 1)"


def test_urls_differing_in_path_or_query_are_not_duplicates(tmp_path):
    records = [signal(1, url="https://example.com/post/1"), signal(2, url="https://example.com/post/1?page=2"),
               signal(3, url="https://example.com/Post/1"), signal(4, url="https://example.org/post/1")]
    assert len(load(make_data(tmp_path, records)).signals) == 4


def test_canonical_url_drops_case_default_port_slash_and_fragment():
    assert canonical_url("HTTPS://Example.COM:443/a/b/#x") == "https://example.com/a/b"
    assert canonical_url("http://example.com:8080/a?q=1") == "http://example.com:8080/a?q=1"


def test_only_valid_signals_are_kept(tmp_path):
    dataset = load(make_data(tmp_path, [signal(1)]))
    records = read_signals(make_data(tmp_path / "more", [signal(1), signal(2, theme="nope"), signal(3),
                                                         signal(4, url="ftp://example.com/4")]) / "signals.jsonl",
                           Problems())
    found, warnings = Problems(), []
    kept = validate_signals(records, dataset.taxonomy, found, warnings)
    assert [s.id for s in kept] == ["syn-1", "syn-3"]
    assert [p.line for p in found.items] == [2, 4]


# --- collecting and printing problems ---------------------------------------------------------


def test_every_bad_line_is_reported_not_just_the_first(tmp_path):
    records = [signal(1, title=5), signal(2), signal(3, theme="nope"), signal(4, url="ftp://example.com/4"),
               signal(5, created="yesterday")]
    data = make_data(tmp_path, records)
    found = problems(data)
    assert len(found) == 4
    path = re.escape(str(data / "signals.jsonl"))
    for line, problem in zip((1, 3, 4, 5), found, strict=False):
        assert re.fullmatch(rf"{path}:{line}: (title|theme|url|created): .+", problem), problem


def test_one_line_with_several_bad_fields_reports_each(tmp_path):
    found = problems(make_data(tmp_path, [signal(1, title=5, summary="", created="2024-13-01")]))
    assert sorted(p.split(": ")[1] for p in found) == ["created", "summary", "title"]


def test_problem_prints_path_line_field_message():
    assert str(Problem("data/signals.jsonl", 7, "url", "bad")) == "data/signals.jsonl:7: url: bad"
    assert str(Problem("data", None, None, "missing")) == "data: missing"


def test_input_error_lines_caps_the_list_and_counts_the_rest():
    error = InputError([Problem("p.jsonl", n, "id", "bad") for n in range(1, 61)])
    lines = error.lines(limit=50)
    assert len(lines) == 51
    assert lines[49] == "p.jsonl:50: id: bad"
    assert lines[-1] == "... and 10 more problems"


def test_input_error_lines_says_problem_for_one_more():
    error = InputError([Problem("p.jsonl", n, "id", "bad") for n in range(1, 5)])
    assert error.lines(limit=3)[-1] == "... and 1 more problem"
    assert error.lines(limit=4) == [f"p.jsonl:{n}: id: bad" for n in range(1, 5)]


def test_input_error_from_a_large_file_is_capped_by_default(tmp_path):
    records = [signal(n, theme="nope") for n in range(1, 56)]
    with pytest.raises(InputError) as caught:
        load(make_data(tmp_path, records))
    assert len(caught.value.problems) == 55
    assert caught.value.lines()[-1] == "... and 5 more problems"


def test_input_error_exit_code_is_2():
    assert InputError([]).exit_code == 2


# --- taxonomy ---------------------------------------------------------------------------------


def test_theme_pointing_at_unknown_phase_reports_the_phase_line(tmp_path):
    text = TAXONOMY.replace('phase = "Iterate"\norder = 4', 'phase = "Deploy"\norder = 4')
    line = _line_of(text, 'phase = "Deploy"')
    found = _taxonomy_problems(tmp_path, text)
    assert f"{line}: themes[2].phase: unknown phase 'Deploy'; expected one of: Train, Evaluate, Iterate" in found


def test_duplicate_theme_ids_report_the_second_id_line(tmp_path):
    text = TAXONOMY.replace('id = "breakage"', 'id = "improve"')
    line = _line_of(text, 'id = "improve"', occurrence=2)
    assert _taxonomy_problems(tmp_path, text) == [f"{line}: themes[4].id: duplicate id 'improve'"]


def test_denominator_filtering_on_unknown_field_reports_the_where_line(tmp_path):
    text = TAXONOMY.replace('where = { sample = "sweep" }', 'where = { mood = "sweep" }')
    line = _line_of(text, 'where = { mood = "sweep" }')
    [problem] = _taxonomy_problems(tmp_path, text)
    assert problem.startswith(f"{line}: denominators[2].where.mood: cannot filter on 'mood'; "
                              "expected one of: theme, phase")


def test_denominator_filtering_on_unknown_phase_is_rejected(tmp_path):
    text = TAXONOMY.replace('phase = ["Evaluate", "Iterate"]', 'phase = ["Evaluate", "Deploy"]')
    line = _line_of(text, 'where = { phase = ["Evaluate", "Deploy"] }')
    [problem] = _taxonomy_problems(tmp_path, text)
    assert problem.startswith(f"{line}: denominators[1].where.phase: unknown phase 'Deploy'")


def test_unknown_key_in_a_theme_table_is_reported_at_its_line(tmp_path):
    text = TAXONOMY.replace('order = 2\n', 'order = 2\ncolour = "red"\n')
    line = _line_of(text, 'colour = "red"')
    assert _taxonomy_problems(tmp_path, text) == [f"{line}: themes[3].colour: unknown field"]


def test_missing_theme_key_points_at_its_table(tmp_path):
    text = TAXONOMY.replace('order = 4\n', '')
    header = [n for n, line in enumerate(text.split("\n"), start=1) if line == "[[themes]]"][1]
    assert _taxonomy_problems(tmp_path, text) == [f"{header}: themes[2].order: required field is missing"]


def test_implicit_all_denominator_is_added_first_when_not_declared(tmp_path):
    taxonomy = load(make_data(tmp_path, [signal(1)])).taxonomy
    assert [d.id for d in taxonomy.denominators] == ["all", "post-training", "sweep"]
    assert taxonomy.denominator("all").where == {}


def test_declared_all_denominator_is_not_duplicated(tmp_path):
    text = TAXONOMY + '\n[[denominators]]\nid = "all"\nlabel = "every post"\n'
    taxonomy = load(make_data(tmp_path, [signal(1)], taxonomy=text)).taxonomy
    assert [d.id for d in taxonomy.denominators].count("all") == 1
    assert taxonomy.denominator("all").label == "every post"


def test_all_denominator_cannot_filter(tmp_path):
    text = TAXONOMY + '\n[[denominators]]\nid = "all"\nlabel = "every post"\nwhere = { sample = "sweep" }\n'
    [problem] = _taxonomy_problems(tmp_path, text)
    assert "the 'all' denominator cannot filter" in problem


def test_themes_are_sorted_by_order(tmp_path):
    taxonomy = load(make_data(tmp_path, [signal(1)])).taxonomy
    assert [t.id for t in taxonomy.themes] == ["setup", "improve", "breakage", "retrain"]
    assert [t.order for t in taxonomy.themes] == [1, 2, 3, 4]


def test_duplicate_theme_order_is_rejected(tmp_path):
    text = TAXONOMY.replace("order = 4", "order = 2")
    found = _taxonomy_problems(tmp_path, text)
    assert len(found) == 2 and all("order 2 is used by more than one theme" in p for p in found)


def test_phase_without_a_theme_is_rejected(tmp_path):
    text = TAXONOMY.replace('[[phases]]\nid = "Iterate"', '[[phases]]\nid = "Deploy"\ndefinition = "x"\n\n[[phases]]\nid = "Iterate"')
    line = _line_of(text, 'id = "Deploy"')
    assert _taxonomy_problems(tmp_path, text) == [f"{line}: phases: phase 'Deploy' has no theme"]


def test_taxonomy_problems_are_all_collected(tmp_path):
    text = (TAXONOMY.replace('phase = "Iterate"\norder = 4', 'phase = "Deploy"\norder = 4')
            .replace('id = "breakage"', 'id = "improve"')
            .replace('where = { sample = "sweep" }', 'where = { mood = "sweep" }'))
    found = _taxonomy_problems(tmp_path, text)
    assert any("duplicate id 'improve'" in p for p in found)
    assert any("unknown phase 'Deploy'" in p for p in found)
    assert any("cannot filter on 'mood'" in p for p in found)
