"""The expression language of bindings and claims, on the hand-made dataset of helpers.HAND_MADE.

theme: setup 3, improve 4, breakage 2, retrain 1 (n = 10); phase: Train 3, Evaluate 6, Iterate 1;
post-training: 7 signals (Evaluate 6, Iterate 1); sweep: 7 signals (setup 2, improve 3, breakage 1, retrain 1).
"""

from __future__ import annotations

import re

import pytest
from helpers import hand_made, load, make_data, signal

from memokit.build.expressions import EmptyDenominator, ExpressionError, evaluate, parse, render, terms
from memokit.build.stats import compute

THEMES = "setup, improve, breakage, retrain"
PHASES = "Train, Evaluate, Iterate"


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    return compute(load(make_data(tmp_path_factory.mktemp("expr"), hand_made())))


def text(expression, stats):
    return render(parse(expression), stats).text


def value(expression, stats):
    return evaluate(parse(expression), stats)


# --- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, shown", [
    ('share("improve")', "40%"),
    ('share(theme="improve")', "40%"),
    ('share("Evaluate")', "60%"),  # a positional phase id
    ('share(phase="Evaluate", of="post-training")', "86%"),
    ('share(phase=["Evaluate", "Iterate"])', "70%"),
    ('share(["setup", "improve"], of="sweep")', "72%"),  # 29% + 43%, as the cards show
    ('share(source="forum")', "30%"),
    ('share(year="unknown")', "20%"),
])
def test_share_shows_the_whole_percent(stats, expression, shown):
    assert text(expression, stats) == shown


def test_share_keeps_its_exact_value(stats):
    rendered = render(parse('share("improve", of="sweep")'), stats)
    assert rendered.value == pytest.approx(3 / 7)
    assert rendered.exact == "3/7 = 0.428571"


@pytest.mark.parametrize("expression, shown", [
    ('count("improve")', "4"),
    ('count(phase="Evaluate", of="sweep")', "4"),
    ('count(of="post-training")', "7"),
    ('count(theme="improve", source="github")', "2"),
    ("n", "10"),
    ('distinct("community")', "3"),
    ('distinct("source", of="post-training")', "2"),
    ('rank("improve")', "1"),
    ('rank("setup")', "2"),
    ('rank(source="forum")', "2"),
])
def test_counts_ranks_and_distinct(stats, expression, shown):
    assert text(expression, stats) == shown


def test_interval_shows_the_wilson_interval_in_percents(stats):
    rendered = render(parse('interval("improve")'), stats)
    assert rendered.text == "17–69%"  # Wilson 95% of 4/10: 0.1682 to 0.6873
    assert rendered.value == pytest.approx([0.16818, 0.68733], abs=1e-4)


def test_dates(stats):
    assert text("first_date", stats) == "2022-12-31"
    assert text("last_date | month", stats) == "August 2024"
    assert text("first_date | year", stats) == "2022"


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, shown", [
    ('share("improve") | percent', "40%"),
    ('share("improve", of="sweep") | percent', "43%"),
    ('share("improve", of="sweep") | percent(1)', "42.9%"),
    ('share(phase="Evaluate", of="post-training") | percent(1)', "85.7%"),
    ('share("retrain", of="sweep") | percent(2)', "14.29%"),
    ('interval("improve") | percent(1)', "16.8–68.7%"),
])
def test_percent_format(stats, expression, shown):
    assert text(expression, stats) == shown


@pytest.mark.parametrize("expression, shown", [
    ('share(phase="Evaluate") | ratio', "3 in 5"),
    ('share("improve") | ratio', "2 in 5"),
    ('share("setup") | ratio', "3 in 10"),
    ('share("improve", of="sweep") | ratio', "3 in 7"),
    ('share(phase="Evaluate", of="post-training") | ratio', "6 in 7"),
    ('share(["improve", "breakage"]) | ratio', "3 in 5"),
])
def test_ratio_format(stats, expression, shown):
    assert text(expression, stats) == shown


@pytest.mark.parametrize("expression, shown", [
    ("n | number", "10"),
    ("n * 1000 | number", "10,000"),
    ('count("improve") * 312500 | number', "1,250,000"),
    ("n * 1234 | number(1)", "12,340.0"),
])
def test_number_format_uses_thousands_separators(stats, expression, shown):
    assert text(expression, stats) == shown


def test_interval_format_of_a_share(stats):
    assert text('share("improve") | interval', stats) == "17–69%"
    assert text('share("improve") | interval(1)', stats) == "16.8–68.7%"


@pytest.mark.parametrize("expression, message", [
    ("n | percent", "the percent format applies to a share, not to a count"),
    ('share("improve") | number', "the number format applies to a count, not to a share"),
    ("n | interval", "the interval format applies to a share"),
    ('share("improve") | percent(7)', "percent(digits) takes 0 to 3 digits"),
    ('share("improve") | bold', "unknown format after '|'; expected one of: percent, ratio, number"),
])
def test_format_misuse_is_an_expression_error(stats, expression, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        render(parse(expression), stats)


@pytest.mark.parametrize("expression", ['share("improve") | ratio(3)', "n | number(1, 2)", 'share("improve") | percent(1, 2)'])
def test_format_with_too_many_arguments_is_an_expression_error(stats, expression):
    with pytest.raises(ExpressionError):
        render(parse(expression), stats)


# --- unknown names ----------------------------------------------------------------------------


def test_unknown_theme_names_the_valid_themes_and_phases(stats):
    with pytest.raises(ExpressionError) as caught:
        value('share("no-such")', stats)
    message = str(caught.value)
    assert "'no-such'" in message and THEMES in message and PHASES in message


def test_unknown_theme_keyword_names_the_valid_themes(stats):
    with pytest.raises(ExpressionError, match=f"unknown theme 'nope'; expected one of: {THEMES}"):
        value('count(theme="nope")', stats)


def test_unknown_phase_names_the_valid_phases(stats):
    with pytest.raises(ExpressionError, match=f"unknown phase 'Deploy'; expected one of: {PHASES}"):
        value('share(phase="Deploy")', stats)


def test_unknown_denominator_names_the_valid_denominators(stats):
    with pytest.raises(ExpressionError, match="unknown denominator 'targeted'; expected one of: all, post-training, sweep"):
        value('share("improve", of="targeted")', stats)


@pytest.mark.parametrize("expression, message", [
    ("total", "unknown name 'total'; expected one of: n, first_date, last_date"),
    ('mean("improve")', "unknown function 'mean'; expected one of: share, count, interval, rank, distinct"),
    ('share(mood="happy")', "share() has no argument 'mood'"),
    ('distinct("mood")', "unknown field 'mood'"),
    ('share("improve", "setup")', "at most one positional argument"),
])
def test_unknown_names_and_arguments_are_refused(stats, expression, message):
    with pytest.raises(ExpressionError) as caught:
        value(expression, stats)
    assert message in str(caught.value)


def test_count_of_a_year_without_signals_is_zero(stats):
    assert text('count(year="1999")', stats) == "0"


def test_share_of_an_empty_denominator_is_reported(tmp_path):
    records = [signal(1, sample="targeted"), signal(2, theme="improve", sample="targeted")]
    empty = compute(load(make_data(tmp_path, records)))
    with pytest.raises(EmptyDenominator, match="'sweep' is empty"):
        value('share("improve", of="sweep")', empty)
    assert value('count(of="sweep")', empty).value == 0


# --- only the documented language -------------------------------------------------------------


@pytest.mark.parametrize("expression", [
    "n.__class__",
    'share("improve").count',
    '__import__("os")',
    '__import__("os").system("true")',
    "(lambda: 1)()",
    "lambda: 1",
    "[1, 2][0]",
    '"abc"[0]',
    "{}",
    "{'a': 1}",
    "[x for x in (1, 2)]",
    "open('/etc/passwd')",
    'share(**{"theme": "improve"})',
    "n if n else 0",
    "f'{n}'",
    "n ** 2",
    "n in [10]",
    "n := 3",
    "None",
])
def test_python_beyond_the_language_is_refused(stats, expression):
    with pytest.raises(ExpressionError):
        render(parse(expression), stats)


def test_syntax_error_is_an_expression_error():
    with pytest.raises(ExpressionError, match="cannot parse"):
        parse('share("improve"')


# --- comparison, arithmetic, and/or -----------------------------------------------------------


@pytest.mark.parametrize("expression, expected", [
    ('share("improve") > share("setup")', True),
    ('share("improve") == 0.4', True),
    ('share("improve") < 0.4', False),
    ('count("improve") >= 4', True),
    ('count("improve") != 4', False),
    ('0.3 < share("improve") < 0.5', True),
    ('0.3 < share("improve") < 0.35', False),
    ('share("improve") > 0.3 and count("setup") == 3', True),
    ('share("improve") > 0.5 and count("setup") == 3', False),
    ('share("improve") > 0.5 or n == 10', True),
    ('share("improve") > 0.5 or n < 5', False),
    ('not share("improve") > 0.5', True),
    ('rank("improve") == 1', True),
    ('share(phase="Evaluate", of="sweep") - share(phase="Evaluate") < 0', True),  # 4/7 - 6/10 < 0
    ('count("setup") + count("improve") == 7', True),
    ('count("improve") / n == 0.4', True),
])
def test_comparisons_arithmetic_and_boolean_logic(stats, expression, expected):
    assert value(expression, stats).as_truth() is expected


def test_and_requires_truth_values(stats):
    with pytest.raises(ExpressionError, match="not true or false"):
        value('share("improve") and n > 1', stats)


def test_comparison_with_a_date_is_refused(stats):
    with pytest.raises(ExpressionError):
        value("first_date > 3", stats)


def test_division_by_zero_is_an_expression_error(stats):
    with pytest.raises(ExpressionError, match="division by zero"):
        value('n / count(of="post-training", phase="Train")', stats)


def test_true_claim_renders_as_true(stats):
    assert text('share("improve") > 0.3', stats) == "true"


# --- terms ------------------------------------------------------------------------------------


def test_terms_lists_each_call_as_written_with_its_exact_value(stats):
    found = terms('share("improve") > share(theme="setup") and count("retrain") < 2 and n == 10', stats)
    assert found == [
        ('share("improve")', "4/10 = 0.400000"),
        ('share(theme="setup")', "3/10 = 0.300000"),
        ('count("retrain")', "1"),
        ("n", "10"),
    ]


def test_terms_lists_a_repeated_call_once(stats):
    assert terms('share("improve") > 0.1 and share("improve") < 0.9', stats) == [('share("improve")', "4/10 = 0.400000")]


def test_terms_reports_a_term_that_cannot_be_computed(tmp_path):
    empty = compute(load(make_data(tmp_path, [signal(1, sample="targeted")])))
    [(expression, shown)] = terms('share("setup", of="sweep") > 0.5', empty)
    assert expression == 'share("setup", of="sweep")'
    assert shown.startswith("cannot be computed:") and "'sweep' is empty" in shown


def test_terms_leave_out_formats(stats):
    assert terms('share("improve") | ratio', stats) == [('share("improve")', "4/10 = 0.400000")]
    assert terms('share("improve") | percent(1)', stats) == [('share("improve")', "4/10 = 0.400000")]


# --- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, message", [
    ("n" + " + n" * 150, "more than 200 parts"),
    ("not " * 150 + "n > 1", "nested more than 100 levels"),
    ("-(" * 120 + "n" + ")" * 120, "nested more than 100 levels"),
    ("9" * 2000 + " * 2", "at most 1,000 are allowed"),
    ("9" * 400 + " * " + "9" * 400, "too large"),
    ("1e308 * 10", "too large"),
    ("1e999 > n", "not a finite number"),
    ("n * 10 ** 3", "not allowed"),
])
def test_huge_deep_and_non_finite_expressions_are_clear_errors(stats, expression, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        render(parse(expression), stats)


def test_decimals_compare_exactly_with_shares(stats):
    assert value('share("improve") == 0.4', stats).as_truth()  # 4/10 is exactly 0.4
    assert value('share("improve") - 0.1 == 0.3', stats).as_truth()  # not 0.30000000000000004
    assert text('count("improve") / n | percent', stats) == "40%"
