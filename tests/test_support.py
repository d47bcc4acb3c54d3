"""Claims that survive the sample: support by resampling, subsets (holds_in), minimum support.

The datasets are synthetic (helpers.HAND_MADE and generated records): theme setup 3, improve 4,
breakage 2, retrain 1 (n = 10); sweep holds 7 signals, targeted 3.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import hand_made, load, make_data, signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.build.stats import compute
from memokit.build.support import RESAMPLES, support
from memokit.cli import main


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    return compute(load(make_data(tmp_path_factory.mktemp("support"), hand_made())))


def exact_probability(n: int, p_first: float, p_second: float, holds) -> float:
    """P(holds(x, y)) for the counts (x, y, rest) of a multinomial(n; p_first, p_second, rest)."""
    total = 0.0
    for x in range(n + 1):
        for y in range(n - x + 1):
            if holds(x, y):
                rest = n - x - y
                ways = math.factorial(n) // (math.factorial(x) * math.factorial(y) * math.factorial(rest))
                total += ways * p_first ** x * p_second ** y * (1 - p_first - p_second) ** rest
    return total


def test_support_matches_the_exact_bootstrap_probability(stats) -> None:
    # A resample of the 10 posts is multinomial: improve 0.4, setup 0.3, the rest 0.3.
    exact = exact_probability(10, 0.4, 0.3, lambda improve, setup: improve > setup)
    measured = support('count("improve") > count("setup")', stats)
    standard_error = math.sqrt(exact * (1 - exact) / RESAMPLES)
    assert abs(measured - exact) < 4 * standard_error, (measured, exact)


def test_support_of_a_share_comparison_matches_the_exact_probability(stats) -> None:
    # share("improve") > 0.3 means improve > 3 of 10 in the resample.
    exact = exact_probability(10, 0.4, 0.0, lambda improve, _: improve > 3)
    measured = support('share("improve") > 0.3', stats)
    assert abs(measured - exact) < 4 * math.sqrt(exact * (1 - exact) / RESAMPLES)


def test_support_is_deterministic(stats) -> None:
    check = 'share(phase="Evaluate") > share(phase="Train")'
    assert support(check, stats) == support(check, stats)


def test_a_claim_true_by_a_wide_margin_has_support_near_one_and_a_coin_flip_near_a_half(tmp_path: Path) -> None:
    records = [signal(n, theme="improve" if n <= 180 else "setup") for n in range(1, 201)]
    wide = compute(load(make_data(tmp_path / "wide", records)))
    assert support('count("improve") > count("setup")', wide) > 0.999
    even = [signal(n, theme="improve" if n % 2 else "setup") for n in range(1, 201)]
    flip = compute(load(make_data(tmp_path / "even", even)))
    assert 0.42 < support('count("improve") > count("setup")', flip) < 0.52  # ties count as not holding
    assert support('count("improve") >= count("setup")', flip) > 0.5


def test_support_honours_denominators_ranks_and_distinct(stats) -> None:
    assert support('share(phase="Evaluate", of="post-training") > 0.5', stats) > 0.9  # 6 of 7
    assert 0.0 < support('rank("improve") == 1', stats) < 1.0
    assert support('distinct("community") >= 1', stats) == 1.0
    assert support("n == 10", stats) == 1.0
    # A resample without a single sweep post cannot compute a share of the sweep: not holding.
    assert support('share("improve", of="sweep") >= 0', stats) == pytest.approx(1 - 0.3 ** 10, abs=1e-3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(themes=st.lists(st.sampled_from(["setup", "improve", "breakage", "retrain"]), min_size=1, max_size=40),
       check=st.sampled_from(['count("improve") > count("setup")', 'share("retrain") < 0.2',
                              'share(phase="Evaluate", of="post-training") >= share(phase="Iterate", of="post-training")',
                              'rank("breakage") <= 2', 'count("setup") + count("improve") > n / 2']))
def test_support_lies_between_zero_and_one(tmp_path_factory, themes: list[str], check: str) -> None:
    records = [signal(n, theme=theme, sample=("sweep", "targeted")[n % 2]) for n, theme in enumerate(themes, 1)]
    found = support(check, compute(load(make_data(tmp_path_factory.mktemp("property"), records))))
    assert 0.0 <= found <= 1.0


# --- through the build ------------------------------------------------------------------------

MEMO = """---
title: Synthetic support memo
claims:
{claims}
---

Synthetic prose about {{{{ n }}}} posts.
"""


def project(tmp_path: Path, claims: str, extra: str = "") -> list[str]:
    data = make_data(tmp_path, hand_made())
    memo = tmp_path / "memo"
    memo.mkdir()
    (memo / "index.md").write_text(MEMO.format(claims=claims).replace("claims:", extra + "claims:"), encoding="utf-8")
    return ["--data", str(data), "--memo", str(memo), "--templates", str(BUILTIN_TEMPLATES), "--out",
            str(tmp_path / "site")]


def test_claims_json_records_support_and_subsets(tmp_path: Path) -> None:
    args = project(tmp_path, '  - name: evaluate-leads\n    sentence: Evaluate leads.\n'
                             '    check: count(phase="Evaluate") > count(phase="Train")\n'
                             '    holds_in: [sweep]')
    assert main([*args, "-q"]) == 0
    claims = json.loads((tmp_path / "site" / "data" / "claims.json").read_text(encoding="utf-8"))["claims"]
    [claim] = claims
    assert claim["holds_in"] == {"sweep": True} and 0.8 < claim["support"] <= 1
    assert claim["subsets"]["sweep"]["terms"][0] == {"expression": 'count(phase="Evaluate")', "value": "4"}
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "of resamples</strong>" in html and "Also holds in the sweep sample taken alone." in html


def test_holds_in_names_the_failing_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In the sweep sample setup has 2 posts and improve 3; in all, setup 3 and improve 4.
    args = project(tmp_path, '  - name: setup-trails\n    sentence: Setup trails improve by one.\n'
                             '    check: count("improve") - count("setup") == 1\n    holds_in: [sweep, post-training]')
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "claim 'setup-trails' does not hold in the subset 'post-training' (post-training signals)" in err
    assert 'count("setup") = 0 (in post-training)' in err and 'count("improve") = 4 (in post-training)' in err
    assert "'sweep'" not in err  # it holds there: 3 - 2 == 1


def test_an_unknown_subset_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = project(tmp_path, '  - name: x\n    sentence: X.\n    check: count("improve") > 1\n    holds_in: [sweeep]')
    assert main(args) == 2
    assert "holds_in: unknown denominator 'sweeep'; expected one of: all, post-training, sweep" in capsys.readouterr().err


def test_below_its_minimum_support_a_claim_fails_with_its_support(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = project(tmp_path, '  - name: improve-leads\n    sentence: Improve leads setup.\n'
                             '    check: count("improve") > count("setup")\n    support: 0.95')
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "claim 'improve-leads' holds in only" in err and "below its minimum support of 95%" in err
    assert 'count("improve") = 4' in err


def test_a_memo_wide_minimum_applies_to_claims_without_their_own(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    claims = ('  - name: improve-leads\n    sentence: Improve leads setup.\n'
              '    check: count("improve") > count("setup")\n'
              '  - name: own-minimum\n    sentence: Improve leads setup, loosely.\n'
              '    check: count("improve") > count("setup")\n    support: 0.1')
    assert main(project(tmp_path, claims, extra="min_support: 0.99\n")) == 1
    err = capsys.readouterr().err
    assert "claim 'improve-leads' holds in only" in err and "'own-minimum'" not in err


def test_a_fragile_claim_warns_and_is_marked_but_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = project(tmp_path, '  - name: improve-leads\n    sentence: Improve leads setup.\n'
                             '    check: count("improve") > count("setup")')
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "claim 'improve-leads' holds in only" in err and "fragile" in err
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'class="claim claim-fragile"' in html and "fragile: under 90%" in html
