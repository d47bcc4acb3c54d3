"""Second corpora and disclosure: the optional ``corpus`` and ``coded_by`` fields of a signal, the
denominators and ``holds_in`` subsets over corpora, and the ``coding`` filter (hand, model,
unrecorded) that a memo binds to say how much of its data rests on accepted suggestions.

Synthetic data (helpers.signal): six posts in two corpora, issues and forums.

  n  theme     corpus  coded_by
  1  setup     issues  ana
  2  improve   issues  model-accepted:ana
  3  improve   issues  ana
  4  improve   forums  model-accepted
  5  improve   forums  bo
  6  breakage  forums  (none)
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import TAXONOMY, load, make_data, problems, signal

from memokit.build.expressions import parse, render
from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.build.stats import compute
from memokit.cli import main
from memokit.model import coding_of
from memokit.model.agreement import coded_digest
from memokit.versions import store

CORPORA = TAXONOMY.replace("[sources]", """[[denominators]]
id = "issues"
label = "the GitHub issues"
where = { corpus = "issues" }

[[denominators]]
id = "forums"
label = "the forum threads"
where = { corpus = "forums" }

[[denominators]]
id = "by-hand"
label = "posts coded by hand"
where = { coding = "hand" }

[sources]""")

ROWS = [(1, "setup", "issues", "ana"), (2, "improve", "issues", "model-accepted:ana"), (3, "improve", "issues", "ana"),
        (4, "improve", "forums", "model-accepted"), (5, "improve", "forums", "bo"), (6, "breakage", "forums", None)]


def records() -> list[dict]:
    out = []
    for n, theme, corpus, coded_by in ROWS:
        record = signal(n, theme=theme, corpus=corpus)
        if coded_by:
            record["coded_by"] = coded_by
        out.append(record)
    return out


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    return compute(load(make_data(tmp_path_factory.mktemp("corpora"), records(), taxonomy=CORPORA)))


def text(expression: str, stats) -> str:
    return render(parse(expression), stats).text


def test_coding_of_reads_coded_by() -> None:
    assert coding_of("ana") == "hand"
    assert coding_of("model-accepted") == coding_of("model-accepted:ana") == "model"
    assert coding_of("") == "unrecorded"


@pytest.mark.parametrize("expression, shown", [
    ('share(coding="hand")', "50%"),        # ana, ana, bo of 6
    ('share(coding="model")', "33%"),       # 2 of 6
    ('count(coding="unrecorded")', "1"),
    ('share(coding="model", of="issues")', "33%"),  # 1 of 3
    ('count("improve", of="forums")', "2"),
    ('share("improve", corpus="forums")', "33%"),  # 2 of 6, a filter rather than a denominator
    ('count(of="by-hand")', "3"),
])
def test_bindings_over_corpora_and_coding(stats, expression: str, shown: str) -> None:
    assert text(expression, stats) == shown


def test_an_unknown_coding_or_corpus_is_named_with_the_known_ones(stats) -> None:
    with pytest.raises(ValueError, match="unknown coding 'robot'; expected one of: hand, model, unrecorded"):
        text('share(coding="robot")', stats)
    with pytest.raises(ValueError, match="unknown corpus 'reddit'; expected one of: forums, issues"):
        text('share(corpus="reddit")', stats)


def test_a_malformed_coded_by_or_corpus_is_one_problem_each(tmp_path: Path) -> None:
    bad = [signal(1, coded_by="model-accepted:"), signal(2, corpus="Forums!"), signal(3, coded_by="ana b")]
    found = problems(make_data(tmp_path, bad))
    assert [line.split(": ")[0:2] for line in found] == [
        [str(tmp_path / "data" / "signals.jsonl") + ":1", "coded_by"],
        [str(tmp_path / "data" / "signals.jsonl") + ":2", "corpus"],
        [str(tmp_path / "data" / "signals.jsonl") + ":3", "coded_by"],
    ], found


MEMO = """---
title: Across corpora
claims:
  - name: improve-leads
    sentence: Improvement is the most common theme in each corpus.
    check: count("improve") >= count("setup")
    holds_in: [issues, forums]
---

Synthetic prose about {{ n }} posts; {{ share(coding="model") }} of them were coded by accepting a suggestion.

{{ methodology() }}
"""


def build(tmp_path: Path, signals: list[dict], memo: str = MEMO) -> tuple[int, Path]:
    data = make_data(tmp_path, signals, taxonomy=CORPORA)
    (tmp_path / "memo").mkdir(exist_ok=True)
    (tmp_path / "memo" / "index.md").write_text(memo, encoding="utf-8")
    out = tmp_path / "site"
    code = main(["--data", str(data), "--memo", str(tmp_path / "memo"), "--templates", str(BUILTIN_TEMPLATES),
                 "--out", str(out), "-q"])
    return code, out


def test_holds_in_triangulates_a_claim_across_corpora(tmp_path: Path) -> None:
    code, out = build(tmp_path, records())
    assert code == 0
    [claim] = json.loads((out / "data" / "claims.json").read_text(encoding="utf-8"))["claims"]
    assert claim["holds_in"] == {"issues": True, "forums": True}


def test_a_claim_false_in_one_corpus_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In the issues alone, improve (2) is not more than twice setup (1); in the forums (2 > 0) it is.
    memo = MEMO.replace('count("improve") >= count("setup")', 'count("improve") > 2 * count("setup")')
    code, _ = build(tmp_path, records(), memo)
    assert code == 1
    err = capsys.readouterr().err
    assert "does not hold in the subset 'issues'" in err and "subset 'forums'" not in err


def test_the_published_data_carries_coded_by_and_corpus_when_given(tmp_path: Path) -> None:
    code, out = build(tmp_path, records())
    assert code == 0
    rows = list(csv.DictReader(io.StringIO((out / "data" / "signals.csv").read_text(encoding="utf-8"))))
    assert [r["coded_by"] for r in rows] == ["ana", "model-accepted:ana", "ana", "model-accepted", "bo", ""]
    assert [r["corpus"] for r in rows] == ["issues", "issues", "issues", "forums", "forums", "forums"]
    snapshot = store.read(out / "data" / "snapshot.json")
    assert {"corpus", "coding"} <= set(snapshot["signals"]["columns"])


def test_without_the_new_fields_the_published_data_has_none_of_their_columns(tmp_path: Path) -> None:
    plain = [signal(n, theme=theme) for n, theme, _, _ in ROWS]
    memo = "---\ntitle: One corpus\n---\n\nSynthetic prose about {{ n }} posts.\n"
    data = make_data(tmp_path, plain)
    (tmp_path / "memo").mkdir()
    (tmp_path / "memo" / "index.md").write_text(memo, encoding="utf-8")
    out = tmp_path / "site"
    assert main(["--data", str(data), "--memo", str(tmp_path / "memo"), "--templates", str(BUILTIN_TEMPLATES),
                 "--out", str(out), "-q"]) == 0
    header = (out / "data" / "signals.csv").read_text(encoding="utf-8").split("\n")[0]
    assert "coded_by" not in header and "corpus" not in header
    snapshot = store.read(out / "data" / "snapshot.json")
    assert not {"corpus", "coding"} & set(snapshot["signals"]["columns"])


def test_the_methodology_block_shows_who_coded_and_the_agreement(tmp_path: Path) -> None:
    data = make_data(tmp_path, records(), taxonomy=CORPORA)
    (data / "agreement.json").write_text(json.dumps({
        "posts": 558, "folds": 5, "kappa": 0.63, "accuracy": 0.7, "threshold": 0.51, "kept_share": 0.6,
        "kept_kappa": 0.8, "kept_accuracy": 0.84, "unseen_kept_share": 0.58, "unseen_kept_kappa": 0.81}), encoding="utf-8")
    code, out = build(tmp_path, records())
    assert code == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert ("3 posts coded by hand (50%); 2 posts coded by accepting a suggestion (33%); "
            "1 post with no coder recorded (17%)") in html
    assert ("agree with the coders at Cohen's kappa 0.63 (substantial) on all 558 coded posts, by 5-fold "
            "cross-validation; at 0.81 (almost perfect) on the 58% of unseen posts") in html


def test_a_broken_agreement_file_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_data(tmp_path, records(), taxonomy=CORPORA)
    (data / "agreement.json").write_text('{"posts": 5, "kappa": 3}', encoding="utf-8")
    code, _ = build(tmp_path, records())
    assert code == 2
    err = capsys.readouterr().err
    assert f"{data / 'agreement.json'}: kappa: Input should be less than or equal to 1" in err


def agreement_json(measured: list[dict], *, digest: bool = True) -> str:
    """agreement.json as memokit agreement --save writes it, measured on ``measured``."""
    figures: dict = {"posts": len(measured), "folds": 5, "kappa": 0.63, "accuracy": 0.7, "threshold": 0.51,
                     "kept_share": 0.6, "kept_kappa": 0.8, "kept_accuracy": 0.84, "unseen_kept_share": 0.58,
                     "unseen_kept_kappa": 0.81}
    if digest:
        figures["data_digest"] = coded_digest([r["title"] for r in measured], [r["theme"] for r in measured])
    return json.dumps(figures)


EARLIER = "Measured on an earlier version of the data"


@pytest.mark.parametrize("case, now, stale", [
    ("the same posts, in another order", records()[::-1], None),
    ("a post recoded", [*records()[:5], {**records()[5], "theme": "retrain", "phase": "Iterate"}],
     "measured on 6 coded posts (data {then}); the data now has 6 with titles or themes changed (data {now})"),
    ("a post added", [*records(), signal(7, theme="retrain")],
     "measured on 6 coded posts (data {then}); the data now has 7 (data {now})"),
])
def test_agreement_measured_on_other_coded_posts_is_one_warning_and_said_in_the_methodology(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, now: list[dict], stale: str | None) -> None:
    data = make_data(tmp_path, records(), taxonomy=CORPORA)
    (data / "agreement.json").write_text(agreement_json(records()), encoding="utf-8")
    code, out = build(tmp_path, now)
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "agree with the coders at Cohen's kappa 0.63 (substantial) on all 6 coded posts" in html
    if stale is None:
        assert err == [] and EARLIER not in html
        return
    digests = {"then": coded_digest([r["title"] for r in records()], [r["theme"] for r in records()])[7:19],
               "now": coded_digest([r["title"] for r in now], [r["theme"] for r in now])[7:19]}
    assert err == [f"warning: {data / 'agreement.json'} was {stale.format(**digests)}: its figures are out of date; "
                   "rerun memokit agreement --save"]
    changed = ", with titles or themes changed since" if len(now) == 6 else ""
    assert (f"{EARLIER}, of 6 coded posts (it now has {len(now)}{changed}), and not measured again: the figures may "
            "not hold for the posts shown here") in html


def test_an_agreement_file_from_before_the_digest_is_judged_by_its_count(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = make_data(tmp_path, records(), taxonomy=CORPORA)
    (data / "agreement.json").write_text(agreement_json(records(), digest=False), encoding="utf-8")
    code, out = build(tmp_path, [*records()[:5], {**records()[5], "theme": "retrain", "phase": "Iterate"}])
    assert code == 0 and capsys.readouterr().err == ""  # the same count: nothing to go by
    assert EARLIER not in (out / "index.html").read_text(encoding="utf-8")
    code, out = build(tmp_path, records()[:5])
    assert code == 0
    [warning] = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith(f"warning: {data / 'agreement.json'} was measured on 6 coded posts; the data now has 5 "
                              "(data ")
    assert f"{EARLIER}, of 6 coded posts (it now has 5)" in (out / "index.html").read_text(encoding="utf-8")
