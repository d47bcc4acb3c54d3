"""Stage 3, stats: largest-remainder percents, Wilson intervals, and every breakdown of a small dataset."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from helpers import hand_made, load, make_data

from memokit.build.stats import StatsError, compute, largest_remainder, round_percent, wilson

# --- largest remainder ------------------------------------------------------------------------


@pytest.mark.parametrize("counts, expected", [
    ([1, 1, 1], [34, 33, 33]),
    ([93, 217, 188], [19, 43, 38]),  # 18.67, 43.57, 37.75: the two extra points go to .75 then .67
    ([1, 2], [33, 67]),
    ([1, 1, 1, 1, 1, 1], [17, 17, 17, 17, 16, 16]),
    ([2, 2, 1, 1, 1], [29, 29, 14, 14, 14]),  # 28.57 ×2, 14.29 ×3: the points go to the .57 remainders
    ([1, 3, 196], [0, 2, 98]),  # 0.5, 1.5, 98: equal remainders, the point goes to the larger count
    ([5, 0, 5], [50, 0, 50]),
    ([0, 7, 0], [0, 100, 0]),
    ([3], [100]),
])
def test_largest_remainder_matches_hand_computed_values(counts, expected):
    assert largest_remainder(counts) == expected


@pytest.mark.parametrize("counts", [[1, 1, 1], [93, 217, 188], [1] * 7, [999, 1, 1], [13, 29, 31, 37, 41], [1, 0, 0, 0]])
def test_largest_remainder_sums_to_100(counts):
    result = largest_remainder(counts)
    assert sum(result) == 100
    assert all(math.floor(100 * c / sum(counts)) <= p <= math.ceil(100 * c / sum(counts)) for c, p in zip(counts, result, strict=False))


def test_largest_remainder_of_all_zeros_is_all_zeros():
    assert largest_remainder([0, 0, 0]) == [0, 0, 0]
    assert largest_remainder([]) == []


def test_round_percent_rounds_half_up():
    assert round_percent(1, 8) == 13  # 12.5
    assert round_percent(1, 3) == 33
    assert round_percent(2, 3) == 67


# --- Wilson interval --------------------------------------------------------------------------


def _wilson_by_hand(k, n, z=1.96):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_112_of_498_matches_the_formula():
    # p = 0.2249, z = 1.96: centre 0.22701, half-width 0.03659.
    low, high = wilson(112, 498)
    assert low == pytest.approx(0.19042, abs=1e-4)
    assert high == pytest.approx(0.26360, abs=1e-4)
    assert (low, high) == pytest.approx(_wilson_by_hand(112, 498), abs=1e-4)


@pytest.mark.parametrize("k, n", [(1, 3), (5, 10), (30, 40), (1, 1000)])
def test_wilson_matches_the_formula(k, n):
    assert wilson(k, n) == pytest.approx(_wilson_by_hand(k, n), abs=1e-4)


def test_wilson_of_zero_and_all_stays_within_0_and_1():
    low, high = wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4)
    assert high == pytest.approx(1.0, abs=1e-9) and high <= 1.0


def test_wilson_of_an_empty_denominator_raises():
    with pytest.raises(StatsError):
        wilson(0, 0)


# --- compute() on a hand-made dataset (see helpers.HAND_MADE) --------------------------------


@pytest.fixture
def stats(tmp_path):
    return compute(load(make_data(tmp_path, hand_made())))


def _rows(breakdown):
    return [(s.key, s.count, s.percent) for s in breakdown.shares]


def test_counts_and_shares_by_theme_in_display_order(stats):
    theme = stats.breakdown("theme")
    assert theme.total == 10
    assert _rows(theme) == [("setup", 3, 30), ("improve", 4, 40), ("breakage", 2, 20), ("retrain", 1, 10)]
    assert theme["improve"].label == "Did it get better?"
    assert theme["improve"].value == 0.4


def test_counts_and_shares_by_phase_in_lifecycle_order(stats):
    assert _rows(stats.breakdown("phase")) == [("Train", 3, 30), ("Evaluate", 6, 60), ("Iterate", 1, 10)]


def test_sources_are_most_frequent_first_with_labels(stats):
    source = stats.breakdown("source")
    assert _rows(source) == [("github", 6, 60), ("forum", 3, 30), ("blog", 1, 10)]
    assert [s.label for s in source.shares] == ["GitHub", "Forum", "blog"]  # blog has no label in [sources]


def test_years_ascend_with_unknown_dates_last(stats):
    year = stats.breakdown("year")
    assert _rows(year) == [("2022", 1, 10), ("2023", 2, 20), ("2024", 5, 50), ("unknown", 2, 20)]
    assert year["unknown"].label == "unknown date"


def test_dates_and_communities(stats):
    assert stats.n == 10
    assert stats.first_date == date(2022, 12, 31)
    assert stats.last_date == date(2024, 8, 1)
    assert stats.communities == 3
    assert stats.top_communities["improve"] == (("beta", 2), ("alpha", 1), ("gamma", 1))


def test_phase_list_denominator_filters_and_uses_largest_remainder(stats):
    assert stats.denominators["post-training"].n == 7
    # 4/7 = 57.14, 2/7 = 28.57, 1/7 = 14.29: the missing point goes to the .57 remainder.
    assert _rows(stats.breakdown("theme", of="post-training")) == [
        ("setup", 0, 0), ("improve", 4, 57), ("breakage", 2, 29), ("retrain", 1, 14)]
    assert _rows(stats.breakdown("phase", of="post-training")) == [("Train", 0, 0), ("Evaluate", 6, 86), ("Iterate", 1, 14)]


def test_sample_denominator_filters_on_the_sample_field(stats):
    assert stats.denominators["sweep"].n == 7
    # 2/7, 3/7, 1/7, 1/7 = 28.57, 42.86, 14.29, 14.29: extra points to .86 then .57.
    assert _rows(stats.breakdown("theme", of="sweep")) == [
        ("setup", 2, 29), ("improve", 3, 43), ("breakage", 1, 14), ("retrain", 1, 14)]
    assert stats.breakdown("theme", of="sweep")["improve"].total == 7


def test_every_breakdown_of_every_denominator_sums_to_100(stats):
    for of, denominator in stats.denominators.items():
        for dimension in ("theme", "phase", "source", "year"):
            breakdown = stats.breakdown(dimension, of=of)
            assert breakdown.total == denominator.n
            assert sum(s.percent for s in breakdown.shares) == 100, (dimension, of)


def test_share_of_a_list_sums_the_members_percents(stats):
    share = stats.share(of="sweep", theme=["setup", "improve"])
    assert (share.count, share.total) == (5, 7)
    assert share.percent == 29 + 43  # the cards' numbers add up, although 5/7 rounds to 71
    assert share.value == pytest.approx(5 / 7)


def test_share_of_a_single_theme_is_the_breakdown_share(stats):
    share = stats.share(theme="improve")
    assert (share.count, share.total, share.percent) == (4, 10, 40)
    assert (share.low, share.high) == pytest.approx(_wilson_by_hand(4, 10), abs=1e-4)


def test_share_across_two_dimensions_is_counted_directly(stats):
    share = stats.share(theme="improve", source="github")
    assert (share.count, share.total, share.percent) == (2, 10, 20)
    assert stats.count(of="post-training", phase="Evaluate", year="2024") == 3


def test_share_without_filters_is_the_whole_denominator(stats):
    share = stats.share(of="sweep")
    assert (share.count, share.total, share.percent) == (7, 7, 100)


def test_count_of_a_year_without_signals_is_zero(stats):
    assert stats.count(year="2024") == 5
    assert stats.count(year="1999") == 0


def test_rank_and_ties(stats):
    assert stats.rank("theme", "improve") == 1
    assert stats.rank("theme", "setup") == 2
    assert stats.rank("theme", "retrain") == 4
    assert stats.rank("theme", "breakage", of="sweep") == stats.rank("theme", "retrain", of="sweep") == 3


def test_distinct_counts_values_within_a_denominator(stats):
    assert stats.distinct("community") == 3
    assert stats.distinct("source", of="post-training") == 2


def test_unknown_denominator_raises_listing_valid_names(stats):
    with pytest.raises(StatsError, match=r"unknown denominator 'targeted'; expected one of: all, post-training, sweep"):
        stats.share(of="targeted")


def test_unknown_theme_raises_listing_valid_names(stats):
    with pytest.raises(StatsError, match=r"unknown theme 'nope'; expected one of: setup, improve, breakage, retrain"):
        stats.share(theme="nope")


def test_unknown_phase_and_filter_raise(stats):
    with pytest.raises(StatsError, match=r"expected one of: Train, Evaluate, Iterate"):
        stats.count(phase="Deploy")
    with pytest.raises(StatsError, match=r"unknown filter 'mood'"):
        stats.count(mood="x")
    with pytest.raises(StatsError, match=r"unknown breakdown 'tool'"):
        stats.breakdown("tool")


def test_to_json_round_trips_through_json(stats):
    data = stats.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["n"] == 10
    assert data["dates"] == {"first": "2022-12-31", "last": "2024-08-01", "unknown": 2}
    assert [(t["id"], t["count"], t["percent"]) for t in data["themes"]] == [
        ("setup", 3, 30), ("improve", 4, 40), ("breakage", 2, 20), ("retrain", 1, 10)]
    assert [d["id"] for d in data["denominators"]] == ["all", "post-training", "sweep"]
    assert data["denominators"][1]["where"] == {"phase": ["Evaluate", "Iterate"]}
    assert data["breakdowns"]["theme"]["sweep"]["total"] == 7


def test_what_is_counted_over_every_signal_is_counted_once(tmp_path, monkeypatch):
    # A preview asks the same statistics again after every prose edit: each answer that takes a
    # pass over the frame is kept with them, and stays the same.
    import memokit.build.stats as stats_module

    stats = compute(load(make_data(tmp_path, hand_made())))
    first = (stats.share(theme="improve", sample="sweep"), stats.distinct("community", theme="improve"),
             stats.known_values("community"))
    passes = []
    real = stats_module.matching
    monkeypatch.setattr(stats_module, "matching", lambda *args, **kwargs: passes.append(1) or real(*args, **kwargs))
    monkeypatch.setattr(type(stats.frame), "__getitem__", lambda *args: pytest.fail("read the frame again"))
    again = (stats.share(theme="improve", sample="sweep"), stats.distinct("community", theme="improve"),
             stats.known_values("community"))
    assert again == first and passes == []
    monkeypatch.undo()
    assert stats.share(theme="improve", sample="targeted") != first[0]  # another question is counted
