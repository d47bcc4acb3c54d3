"""memokit ingest on hand-made duplicate sets (synthetic posts on example.com): same-URL
duplicates by the build's canonical form, near-duplicates by title and body, coded posts kept,
both comparison methods agreeing, and bad input as one line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import make_data, signal

from memokit.cli import main
from memokit.curate import similar
from memokit.curate.ingest import ingest

BODY = ("Synthetic post for a test. After merging the LoRA adapter into the base model the chat template is gone "
        "and every answer comes back as raw text without the assistant turn.")


WORDS = ("adapter", "gradient", "tokenizer", "epoch", "checkpoint", "dataset", "template", "memory", "loss", "metric",
         "benchmark", "merge", "quantised", "schedule", "warmup", "batch", "sequence", "evaluation", "drift", "budget")


def raw(number: int, **fields) -> dict:
    import random

    rng = random.Random(number)
    record = {"id": str(number), "url": f"https://example.com/raw/{number}", "source": "github",
              "community": "example/project", "title": "Synthetic: " + " ".join(rng.sample(WORDS, 5)),
              "body": "Synthetic body: " + " ".join(rng.choice(WORDS) for _ in range(30)),
              "created": "2025-02-01", "query": "synthetic"}
    record.update(fields)
    return record


def write_raw(folder: Path, records: list[dict], name: str = "github.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def queue(data: Path) -> list[dict]:
    return [json.loads(line) for line in (data / "queue.jsonl").read_text(encoding="utf-8").splitlines()]


def test_same_url_after_canonicalisation_is_one_post(tmp_path: Path) -> None:
    data = make_data(tmp_path, [signal(1, url="https://example.com/coded/1")])
    folder = write_raw(tmp_path / "raw", [
        raw(1), raw(2, url="HTTPS://Example.com:443/raw/1/#reply"),  # the same post as 1
        raw(3, url="https://example.com/coded/1/"),  # already coded
    ])
    result = ingest([folder], data)
    assert [e["url"] for e in queue(data)] == ["https://example.com/raw/1"]
    [merge] = result.merges
    assert (merge.kind, merge.kept_url, merge.merged_url, merge.similarity) == (
        "same URL", "https://example.com/raw/1", "https://example.com:443/raw/1/#reply".replace("https://example.com:443",
                                                                                                "HTTPS://Example.com:443"), 1.0)
    assert result.already_coded == 1
    assert queue(data)[0]["duplicates"] == [{"url": "HTTPS://Example.com:443/raw/1/#reply", "similarity": 1.0}]


@pytest.mark.parametrize("method", ["exhaustive", "lsh"])
def test_near_duplicates_are_merged_into_the_oldest_and_reported(tmp_path: Path, method: str) -> None:
    data = make_data(tmp_path, [signal(1)])
    folder = write_raw(tmp_path / "raw", [
        raw(1, title="Synthetic: chat template lost after merging LoRA", body=BODY, created="2025-03-02"),
        # a cross-post on a forum, a day older, with a word changed: the one kept
        raw(2, source="hf-forum", title="Synthetic: chat template lost after merging a LoRA", body=BODY.replace("raw", "plain"),
            created="2025-03-01"),
        raw(3), raw(4),  # unrelated
    ])
    result = ingest([folder], data, method=method)
    assert [e["id"] for e in queue(data)] and [e["url"] for e in queue(data)] == [
        "https://example.com/raw/2", "https://example.com/raw/3", "https://example.com/raw/4"]
    [merge] = result.merges
    assert merge.kind == "near-duplicate" and merge.kept_url.endswith("/raw/2") and merge.merged_url.endswith("/raw/1")
    assert 0.9 <= merge.similarity < 1
    report = (data / "ingest-report.csv").read_text(encoding="utf-8").splitlines()
    assert report[1].startswith(f"near-duplicate,{merge.similarity:.4f},") and "https://example.com/raw/1" in report[1]


def test_a_near_duplicate_of_a_coded_post_keeps_the_coded_one(tmp_path: Path) -> None:
    title = "Synthetic: evaluation loss goes up while accuracy improves"
    data = make_data(tmp_path, [signal(1, title=title, url="https://example.com/coded/1")])
    folder = write_raw(tmp_path / "raw", [raw(1, title=title + "!", body=BODY)])
    result = ingest([folder], data)
    assert queue(data) == []
    [merge] = result.merges
    assert merge.kept_is == "coded" and merge.kept_url == "https://example.com/coded/1"
    # The coded signals are untouched.
    assert "coded_by" not in (data / "signals.jsonl").read_text(encoding="utf-8")


def test_short_alike_titles_without_bodies_are_not_called_the_same(tmp_path: Path) -> None:
    data = make_data(tmp_path, [signal(1, title="NaN loss")])
    folder = write_raw(tmp_path / "raw", [raw(1, title="NaN loss", body=""), raw(2, title="NaN loss!", body="")])
    result = ingest([folder], data)
    assert len(queue(data)) == 2 and not result.merges


def test_ingesting_again_adds_nothing_and_keeps_the_queue(tmp_path: Path) -> None:
    data = make_data(tmp_path, [signal(1)])
    folder = write_raw(tmp_path / "raw", [raw(1), raw(2)])
    ingest([folder], data)
    before = (data / "queue.jsonl").read_text(encoding="utf-8")
    again = ingest([folder], data)
    assert again.already_queued == 2 and not again.queued
    assert (data / "queue.jsonl").read_text(encoding="utf-8") == before


def test_both_methods_find_the_same_pairs_on_generated_cross_posts() -> None:
    import random

    rng = random.Random(7)
    vocabulary = [f"term{i}" for i in range(400)]
    texts = []
    for n in range(300):
        body = " ".join(rng.choice(vocabulary) for _ in range(60))
        texts.append(similar.Text.of(f"Synthetic question {n} " + " ".join(rng.sample(vocabulary, 4)), body))
        if n % 10 == 0:  # a cross-post: one word of the body changed
            texts.append(similar.Text.of(f"Synthetic question {n} again", body.replace(body.split()[5], "changed", 1)))
    exhaustive = similar.pairs(texts, method="exhaustive")
    lsh = similar.pairs(texts, method="lsh")
    assert len(exhaustive) == 30 and lsh == exhaustive


def test_bad_raw_posts_are_one_line_each_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path, [signal(1)])
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "github.jsonl").write_text(
        json.dumps(raw(1, url="javascript:alert(1)")) + "\n"
        + json.dumps(raw(2, title="")) + "\n"
        + "{not json\n"
        + json.dumps(raw(4, created="yesterday")) + "\n", encoding="utf-8")
    assert main(["ingest", str(folder), "--data", str(data)]) == 2
    err = capsys.readouterr().err.splitlines()
    path = folder / "github.jsonl"
    assert err[0].startswith(f"{path}:1: url: expected an absolute http(s) URL")
    assert err[1] == f"{path}:2: title: must not be empty"
    assert err[2].startswith(f"{path}:3: invalid JSON")
    assert err[3].startswith(f"{path}:4: created: expected a date YYYY-MM-DD")
    assert len(err) == 4 and not (data / "queue.jsonl").exists()


def test_control_characters_in_raw_text_are_removed(tmp_path: Path) -> None:
    data = make_data(tmp_path, [signal(1)])
    folder = write_raw(tmp_path / "raw", [raw(1, title="Synthetic\x1b[31m red\u202e title\nsecond line")])
    ingest([folder], data)
    assert queue(data)[0]["title"] == "Synthetic[31m red title second line"
