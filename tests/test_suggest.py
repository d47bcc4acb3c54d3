"""memokit suggest and agreement on a small synthetic coded set (example.com): suggestions with
their words, abstention below the threshold, training on title and body and never the summary."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from helpers import make_data, signal

from memokit.cli import main
from memokit.curate.agreement import default_folds, fold_problem, posts_needed
from memokit.curate.classifier import Classifier, TooFewPosts, with_codebook
from memokit.curate.coding import Desk
from memokit.curate.commands import coded_texts
from memokit.curate.store import QueueEntry, read_queue, write_queue
from memokit.model import Problems
from memokit.model.agreement import coded_digest

TOPICS = {"setup": ["cuda out of memory crash", "install fails with import error", "nan loss crash at step one",
                    "config error crashes the trainer", "oom on a single gpu crash", "segfault when the run starts"],
          "improve": ["is the fine tune better than base", "which metric shows improvement", "eval score did not improve",
                      "outputs identical to the base model", "loss down but quality not better", "how to tell it improved"]}


def coded() -> list[dict]:
    records, n = [], 0
    for theme, titles in TOPICS.items():
        for title in titles:
            for variant in ("", " again"):
                n += 1
                # The summary names the other theme: a classifier that read it would learn the wrong thing.
                records.append(signal(n, theme=theme, title=f"Synthetic: {title}{variant}",
                                      summary="Synthetic summary: " + ("evaluation" if theme == "setup" else "crash")))
    return records


def test_suggest_writes_a_theme_its_probability_and_words_and_abstains_when_unsure(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path, coded())
    write_queue(data, [
        QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/a",
                   title="Synthetic: training crash with cuda out of memory"),
        QueueEntry(id="q2", url="https://example.com/q/2", source="github", community="example/a",
                   title="Synthetic: crash or improve"),
    ])
    assert main(["suggest", "--data", str(data), "--threshold", "0.7"]) == 0
    problems = Problems()
    first, second = read_queue(data, problems)
    assert not problems
    assert first.suggestion is not None and first.suggestion.theme == "setup" and first.suggestion.probability >= 0.7
    assert {"crash", "cuda", "memory"} & set(first.suggestion.evidence)
    assert second.suggestion is not None and second.suggestion.theme is None and second.suggestion.probability < 0.7
    assert "suggested a theme for 1 of 2 queued posts; abstained on 1" in capsys.readouterr().out


def test_the_classifier_reads_title_and_body_never_the_summary(tmp_path: Path) -> None:
    data = make_data(tmp_path, coded())
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "github.jsonl").write_text(json.dumps({"url": "https://example.com/synthetic/1/", "title": "x",
                                                  "body": "Synthetic body with a traceback"}) + "\n", encoding="utf-8")
    found = coded_texts(data, [raw])
    texts, themes, with_body = found.texts, found.themes, found.with_body
    assert texts[0] == "Synthetic: cuda out of memory crash\nSynthetic body with a traceback" and with_body == 1
    assert texts[1] == "Synthetic: cuda out of memory crash again"
    assert not any("summary" in text for text in texts) and themes[:1] == ["setup"]


def test_agreement_prints_kappa_per_theme_and_the_threshold(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path, coded())
    assert main(["agreement", "--data", str(data), "--folds", "3", "--save"]) == 0
    out = capsys.readouterr().out
    assert "all posts:       kappa" in out and "threshold for kappa ≥ 0.80" in out and "confusion" in out
    saved = json.loads((data / "agreement.json").read_text(encoding="utf-8"))
    assert saved["posts"] == 24 and saved["folds"] == 3 and -1 <= saved["kappa"] <= 1


def test_too_few_coded_posts_is_one_clear_line(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path, coded()[:16])  # improve has only four posts
    assert main(["agreement", "--data", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every theme needs at least 5 coded posts" in err[0] and "improve (4)" in err[0]


def test_the_codebook_is_read_as_one_more_post_of_each_coded_theme(tmp_path: Path) -> None:
    data = make_data(tmp_path, coded())
    found = coded_texts(data, [])
    # The taxonomy's label and definition of every theme; only the coded ones are trained on.
    assert found.codebook["improve"] == "Did it get better?\nWhether the model improved."
    documents, labels = with_codebook(found.texts, found.themes, found.codebook)
    assert documents[len(found.texts):] == [found.codebook["setup"], found.codebook["improve"]]
    assert labels[len(found.texts):] == ["setup", "improve"] and "retrain" not in labels
    # "better" is in the codebook's label of improve and in no coded title: only the codebook teaches it.
    post = ["Synthetic: better"]
    without = Classifier.train(found.texts, found.themes)
    with_book = Classifier.train(found.texts, found.themes, found.codebook)
    improve = with_book.themes.index("improve")
    assert with_book.probabilities(post)[0, improve] > without.probabilities(post)[0, improve]
    assert "better" in with_book.evidence(post, ["improve"])[0]


def test_folds_default_to_ten_or_what_the_smallest_theme_allows(tmp_path: Path, capsys) -> None:
    themes = ["setup"] * 12 + ["improve"] * 12
    assert default_folds(themes) == 10 and fold_problem(themes, 10) is None
    # Ten folds, nested: 12 posts leave 10 in the outer training part (one per inner fold) and 9 inside.
    assert posts_needed(10) == 12 and posts_needed(10, nested=False) == 10
    # Eight posts: 6-fold nested leaves 6 (one per inner fold), then 5 for the calibration's folds.
    assert default_folds(["setup"] * 12 + ["improve"] * 8) == 6
    assert default_folds(["setup"] * 12 + ["improve"] * 8, nested=False) == 8
    assert default_folds(["setup"] * 12 + ["improve"] * 6, nested=False) == 6
    with pytest.raises(TooFewPosts, match=r"^nested cross-validation needs at least 8 coded posts of every theme; "
                                          r"too few: improve \(7\)$"):
        default_folds(["setup"] * 12 + ["improve"] * 7)
    records = coded()
    data = make_data(tmp_path, records[:12] + records[12:20])  # improve: eight posts
    assert main(["agreement", "--data", str(data), "--folds", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "10-fold nested cross-validation needs at least 12 coded posts of every theme" in err[0]
    assert "too few: improve (8)" in err[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fold left without a post of a theme
        assert main(["agreement", "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["folds"] == 6


def test_agreement_save_records_what_it_measured_and_suggest_and_code_warn_once_it_changed(tmp_path: Path,
                                                                                        capsys) -> None:
    data = make_data(tmp_path, coded())
    write_queue(data, [QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/a",
                                  title="Synthetic: training crash with cuda out of memory")])
    assert main(["agreement", "--data", str(data), "--folds", "3", "--save"]) == 0
    saved = json.loads((data / "agreement.json").read_text(encoding="utf-8"))
    assert saved["data_digest"] == coded_digest([r["title"] for r in coded()], [r["theme"] for r in coded()])
    capsys.readouterr()
    assert main(["suggest", "--data", str(data)]) == 0
    assert capsys.readouterr().err == ""
    assert Desk.open(data, "ana").warnings == []

    # A post coded since: the figures describe 24 posts, the data has 25.
    path = data / "signals.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + json.dumps(signal(99, theme="setup")) + "\n", encoding="utf-8")
    now = coded_digest([r["title"] for r in [*coded(), signal(99)]], [r["theme"] for r in [*coded(), signal(99)]])
    warning = (f"warning: {data / 'agreement.json'} was measured on 24 coded posts (data {saved['data_digest'][7:19]}); "
               f"the data now has 25 (data {now[7:19]}): its figures are out of date; rerun memokit agreement --save")
    assert main(["suggest", "--data", str(data)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [warning]
    assert f"probability below {saved['threshold']:.2f}, from {data / 'agreement.json'}" in captured.out  # still used
    assert [f"warning: {line}" for line in Desk.open(data, "ana").warnings] == [warning]
    assert main(["agreement", "--data", str(data), "--folds", "3", "--save"]) == 0
    assert Desk.open(data, "ana").warnings == []


def test_a_broken_agreement_file_stops_suggest_with_one_line(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path, coded())
    write_queue(data, [QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/a",
                                  title="Synthetic: a post")])
    (data / "agreement.json").write_text('{"posts": 24, "kappa": 3}', encoding="utf-8")
    assert main(["suggest", "--data", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert f"{data / 'agreement.json'}: kappa: Input should be less than or equal to 1" in err
