"""``memokit collect`` against the local replay server (tests/replay.py): paging, limits, retries,
date slicing, resuming, incremental runs, malformed responses and untrusted text."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from replay import FakeClock, Replay, Response, replay_server
from replay import _epoch as replay_epoch

from memokit.cli import main
from memokit.collect import EXIT_INPUT, EXIT_OK, EXIT_SOURCE, CollectReport, collect, renormalise
from memokit.collect.github import GitHub
from memokit.collect.hackernews import HackerNews

ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-02-10T00:00:00Z"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def server(clock: FakeClock) -> Iterator[Replay]:
    with replay_server(clock) as replay:
        yield replay


def config(tmp_path: Path, server: Replay, *tables: str) -> Path:
    """A collect.toml whose every source points at the replay server."""
    path = tmp_path / "collect.toml"
    parts = []
    for table in tables:
        parts.append(f'[[sources]]\n{table.strip()}\nbase_url = "{server.base}"\n')
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def run(tmp_path: Path, path: Path, clock: FakeClock, env: dict[str, str] | None = None,
        lines: list[str] | None = None) -> CollectReport:
    sink = lines if lines is not None else []
    return collect(path, tmp_path / "raw", env=env or {}, clock=clock, say=sink.append, warn=sink.append)


def records(tmp_path: Path, kind: str) -> list[dict]:
    path = tmp_path / "raw" / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


GITHUB = 'kind = "github"\nquery = "lora eval is:issue"\nsince = "2025-01-01"'


def test_github_pages_to_the_end_by_the_link_header(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_OK, report.errors
    got = records(tmp_path, "github")
    # Four posts were created before NOW, served two to a page: two pages, both fetched.
    assert [r["id"] for r in got] == ["github:2790000101", "github:2790000102", "github:2790000103",
                                      "github:2790000104"]
    searches = server.hits("/search/issues")
    assert [hit.params.get("page") for hit in searches] == [None, "2"]
    assert "created:2025-01-01T00:00:00Z..2025-02-09T23:59:59Z" in searches[0].params["q"]
    first = got[0]
    assert set(first) == {"id", "url", "source", "community", "title", "body", "created", "author", "score",
                          "fetched", "query"}
    assert first["url"] == "https://github.com/huggingface/peft/issues/42"
    assert first["community"] == "huggingface/peft"
    assert first["source"] == "github" and first["created"] == "2025-01-02" and first["author"] == "ada"
    assert first["query"] == "lora eval is:issue" and first["fetched"] == NOW
    assert got[2]["community"] == "axolotl-ai-cloud/axolotl"


HACKERNEWS = 'kind = "hackernews"\nquery = "fine-tune eval"\nsince = "2025-01-01"'
STACKEXCHANGE = 'kind = "stackexchange"\nquery = "fine-tune"\nsite = "stackoverflow"\nsince = "2025-01-01"'
REDDIT = 'kind = "reddit"\nquery = "lora eval"\nsubreddit = "LocalLLaMA"\nsince = "2025-01-01"'
DISCOURSE = 'kind = "discourse"\nquery = "eval"\nforum = "https://discuss.huggingface.co"\nsince = "2025-01-01"\nsource = "hf-forum"'


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


# --- paging to the end, one test per source (with the HTML and entities of each) ---------------


def test_hackernews_pages_by_number_newest_first_and_strips_story_html(tmp_path: Path, server: Replay,
                                                                       clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, HACKERNEWS), clock)
    assert report.code == EXIT_OK, report.errors
    hits = server.hits("/api/v1/search_by_date")
    assert [hit.params["page"] for hit in hits] == ["0", "1"]  # nbPages 2: both pages, then stop
    assert hits[0].params["tags"] == "story"
    assert hits[0].params["numericFilters"] == "created_at_i>=1735689600,created_at_i<1739145600"
    got = by_id(records(tmp_path, "hackernews"))
    assert set(got) == {"hn:42000001", "hn:42000002", "hn:42000003"}
    ask = got["hn:42000002"]
    # The discussion's own page, not the linked article (which Ask HN does not have).
    assert ask["url"] == "https://news.ycombinator.com/item?id=42000002"
    assert ask["body"] == "We fine-tuned Llama & Qwen.\nWhich eval do you trust? See this."
    assert ask["community"] == "news.ycombinator.com" and ask["score"] == 10 and ask["author"] == "dang"
    assert got["hn:42000003"]["url"] == "https://news.ycombinator.com/item?id=42000003"


def test_stackexchange_pages_while_has_more_and_decodes_titles_once(tmp_path: Path, server: Replay,
                                                                    clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, STACKEXCHANGE), clock)
    assert report.code == EXIT_OK, report.errors
    hits = server.hits("/2.3/search/advanced")
    assert [hit.params["page"] for hit in hits] == ["1", "2"]
    assert hits[0].params["site"] == "stackoverflow" and hits[0].params["filter"] == "withbody"
    assert hits[0].params["fromdate"] == "1735689600" and hits[0].params["sort"] == "creation"
    got = by_id(records(tmp_path, "stackexchange"))
    question = got["se:stackoverflow:79300001"]
    # Decoded once: the title's own "&lt;" (sent as "&amp;lt;") stays as the asker typed it.
    assert question["title"] == 'Why doesn\'t my "fine-tuned" model beat the base? &lt;not a tag&gt;'
    assert question["body"] == ("I trained with <pad> tokens & the loss fell.\n\ntrainer.evaluate()\n\n"
                                 "But accuracy didn't move.")
    assert question["author"] == "José" and question["score"] == 3
    assert question["community"] == "stackoverflow.com" and question["source"] == "stackoverflow"
    assert question["url"] == "https://stackoverflow.com/questions/79300001/why-doesnt-my-fine-tuned-model-beat-the-base"


def test_reddit_pages_by_after_cursor_and_unescapes_its_entities(tmp_path: Path, server: Replay,
                                                                 clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, REDDIT), clock)
    assert report.code == EXIT_OK, report.errors
    hits = server.hits("/r/LocalLLaMA/search.json")
    assert [hit.params.get("after") for hit in hits] == [None, "t3_1ic0002"]
    assert hits[0].params["sort"] == "new" and hits[0].params["restrict_sr"] == "1"
    got = by_id(records(tmp_path, "reddit"))
    assert set(got) == {"reddit:1ic0001", "reddit:1ic0002", "reddit:1ic0003"}
    post = got["reddit:1ic0003"]
    assert post["title"] == "Q&A: my Qwen LoRA got worse >:("
    assert post["body"] == "Loss went down, evals went <down> too.\n\ntried lr 1e-4\ntried lr 2e-5"
    assert post["url"] == "https://www.reddit.com/r/LocalLLaMA/comments/1ic0003/qa_my_qwen_lora_got_worse/"
    assert post["community"] == "r/LocalLLaMA" and post["created"] == "2025-02-01"
    assert got["reddit:1ic0001"]["body"] == "Thinking of lm-eval-harness."


def test_discourse_pages_the_search_then_reads_each_topic(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, DISCOURSE), clock)
    assert report.code == EXIT_OK, report.errors
    searches = server.hits("/search.json")
    assert [hit.params["page"] for hit in searches] == ["1"]
    assert "after:2024-12-31" in searches[0].params["q"] and "order:latest" in searches[0].params["q"]
    assert {hit.path for hit in server.log} == {"/search.json", "/t/13.json", "/t/14.json"}
    got = by_id(records(tmp_path, "discourse"))
    topic = got["discourse:discuss.huggingface.co:13"]
    assert topic["url"] == "https://discuss.huggingface.co/t/how-do-i-compare-two-fine-tuned-checkpoints/13"
    # The script's content is not text a reader sees; the quote's is.
    assert topic["body"] == "I have two checkpoints & one eval set.\n\nuse the same seed"
    assert topic["source"] == "hf-forum" and topic["community"] == "discuss.huggingface.co"
    assert got["discourse:discuss.huggingface.co:14"]["body"] == "After epoch 1, eval_loss is NaN."


def test_github_bodies_lose_markdown_and_html_but_keep_code_and_titles_lose_terminal_escapes(
        tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    assert run(tmp_path, config(tmp_path, server, GITHUB), clock).code == EXIT_OK
    got = by_id(records(tmp_path, "github"))
    body = got["github:2790000101"]["body"]
    assert body == ("After merge_and_unload() the eval loss jumps.\n\nLogs\n\nloss=0.31 & acc=0.88\n\n"
                    "model = model.merge_and_unload() # <s> stays")
    assert got["github:2790000104"]["title"] == "[31mRed [0m title with a terminal escape"
    assert got["github:2790000104"]["body"] == ""
    raw = (tmp_path / "raw" / "github.jsonl").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\\u001b" not in raw


# --- limits and retries --------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_and_asked_again(tmp_path: Path, server: Replay,
                                                              clock: FakeClock) -> None:
    server.fail("/search/issues", Response(429, {"message": "API rate limit exceeded"}, {"Retry-After": "7"}))
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_OK, report.errors
    assert clock.slept == pytest.approx(7)
    searches = server.hits("/search/issues")
    assert len(searches) == 3 and searches[1].at - searches[0].at == pytest.approx(7)
    assert len(records(tmp_path, "github")) == 4
    assert "1 retried, waited 7 s" in report.sources[0].line()


def test_a_429_without_retry_after_from_github_waits_at_least_a_minute(tmp_path: Path, server: Replay,
                                                                       clock: FakeClock) -> None:
    server.fail("/search/issues", Response(429, {"message": "You have exceeded a secondary rate limit."}))
    assert run(tmp_path, config(tmp_path, server, GITHUB), clock).code == EXIT_OK
    assert server.gaps("/search/issues")[0] == 60


def test_github_spent_rate_limit_waits_until_reset(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    server.github_remaining = 1  # the first search leaves 0: wait for x-ratelimit-reset (now + 60)
    assert run(tmp_path, config(tmp_path, server, GITHUB), clock).code == EXIT_OK
    searches = server.hits("/search/issues")
    assert searches[1].at - searches[0].at == pytest.approx(61)


def test_stackexchange_backoff_is_kept_before_the_next_request(tmp_path: Path, server: Replay,
                                                               clock: FakeClock) -> None:
    server.stackexchange_extra[1] = {"backoff": 10}
    report = run(tmp_path, config(tmp_path, server, STACKEXCHANGE), clock)
    assert report.code == EXIT_OK, report.errors
    first, second = server.hits("/2.3/search/advanced")
    assert second.at - first.at == pytest.approx(10)
    assert len(records(tmp_path, "stackexchange")) == 3


def test_stackexchange_throttle_violation_waits_the_seconds_it_names(tmp_path: Path, server: Replay,
                                                                     clock: FakeClock) -> None:
    server.fail("/2.3/search/advanced", Response(400, {
        "error_id": 502, "error_name": "throttle_violation",
        "error_message": "too many requests from this IP, more requests available in 42 seconds"}))
    assert run(tmp_path, config(tmp_path, server, STACKEXCHANGE), clock).code == EXIT_OK
    assert server.gaps()[0] == pytest.approx(42)


def test_a_5xx_is_retried_with_exponential_backoff_then_succeeds(tmp_path: Path, server: Replay,
                                                                 clock: FakeClock) -> None:
    server.fail("/api/v1/search_by_date", Response(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
                Response(503, "Service Unavailable", {"Content-Type": "text/plain"}))
    report = run(tmp_path, config(tmp_path, server, HACKERNEWS), clock)
    assert report.code == EXIT_OK, report.errors
    # 1 s, then 2 s; then the next page after Algolia's 0.4 s pacing.
    assert server.gaps() == [1, 2, 0.4]
    assert len(records(tmp_path, "hackernews")) == 3


def test_a_source_failing_after_retries_exits_3_and_the_others_are_saved(tmp_path: Path, server: Replay,
                                                                         clock: FakeClock) -> None:
    server.fail("/search/issues", *[Response(500, {"message": "Server Error"})] * 10)
    lines: list[str] = []
    report = run(tmp_path, config(tmp_path, server, GITHUB, HACKERNEWS), clock, lines=lines)
    assert report.code == EXIT_SOURCE
    assert len(server.hits("/search/issues")) == 6  # max_attempts
    assert len(records(tmp_path, "hackernews")) == 3
    assert not (tmp_path / "raw" / "github.jsonl").exists()
    failure = [line for line in lines if line.startswith("memokit: collect: github")]
    assert failure == ['memokit: collect: github "lora eval is:issue": GitHub answered 500 Internal Server Error; '
                       'gave up after 6 attempts']
    assert lines[-1].endswith("1 source failed (the others are saved; run again to retry from where it stopped)")
    # The backoff doubled.
    assert server.gaps("/search/issues") == [1, 2, 4, 8, 16]


def test_a_wait_longer_than_the_limit_stops_the_source_at_once(tmp_path: Path, server: Replay,
                                                               clock: FakeClock) -> None:
    server.fail("/search/issues", Response(429, {"message": "slow down"}, {"Retry-After": "86400"}))
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_SOURCE and clock.slept == 0
    assert "that is a wait of 24 h 0 min" in report.errors[0] and "run again later" in report.errors[0]


# --- date slicing -------------------------------------------------------------------------------


def test_a_capped_github_query_is_split_by_dates_until_each_window_fits(tmp_path: Path, server: Replay,
                                                                        clock: FakeClock,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GitHub, "SPLIT_ABOVE", 2)  # as if GitHub stopped at 2 results instead of 1,000
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_OK, report.errors
    ranges = [re.search(r"created:(\S+)", hit.params["q"]).group(1) for hit in server.hits("/search/issues")]
    # The whole span matched 4 (> 2): split at its middle (Jan 21); the first half still holds 3, so
    # it is split again (Jan 11); every window then fits and is fetched, oldest first.
    assert ranges == ["2025-01-01T00:00:00Z..2025-02-09T23:59:59Z",
                      "2025-01-01T00:00:00Z..2025-01-20T23:59:59Z",
                      "2025-01-01T00:00:00Z..2025-01-10T23:59:59Z",
                      "2025-01-11T00:00:00Z..2025-01-20T23:59:59Z",
                      "2025-01-21T00:00:00Z..2025-02-09T23:59:59Z"]
    assert sorted(r["id"] for r in records(tmp_path, "github")) == [
        "github:2790000101", "github:2790000102", "github:2790000103", "github:2790000104"]
    assert report.sources[0].duplicates == 0


def test_a_capped_algolia_query_is_split_by_created_at_i(tmp_path: Path, server: Replay, clock: FakeClock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HackerNews, "SPLIT_ABOVE", 2)
    assert run(tmp_path, config(tmp_path, server, HACKERNEWS), clock).code == EXIT_OK
    filters = [hit.params["numericFilters"] for hit in server.hits("/api/v1/search_by_date")]
    assert filters[0] == "created_at_i>=1735689600,created_at_i<1739145600"
    assert filters[1:] == ["created_at_i>=1735689600,created_at_i<1737417600",
                           "created_at_i>=1737417600,created_at_i<1739145600"]
    assert len(records(tmp_path, "hackernews")) == 3


# --- resuming and incremental runs -------------------------------------------------------------


class StopAfter:
    """A progress line that raises KeyboardInterrupt (as Ctrl+C would) at its n-th update."""

    def __init__(self, n: int):
        self.n = n

    def __call__(self, text: str) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt

    def clear(self) -> None:
        pass


def test_an_interrupted_run_keeps_what_it_fetched_and_the_next_goes_on_from_there(
        tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    path = config(tmp_path, server, GITHUB)
    with pytest.raises(KeyboardInterrupt):
        collect(path, tmp_path / "raw", env={}, clock=clock, progress=StopAfter(1))
    assert len(server.hits("/search/issues")) == 1
    assert [r["id"] for r in records(tmp_path, "github")] == ["github:2790000101", "github:2790000102"]
    report = run(tmp_path, path, clock)
    assert report.code == EXIT_OK and report.sources[0].resumed
    searches = server.hits("/search/issues")
    # Page 1 is not asked for again: the second run starts at page 2 of the same query.
    assert [hit.params.get("page") for hit in searches] == [None, "2"]
    assert searches[1].params["q"] == searches[0].params["q"]
    assert [r["id"] for r in records(tmp_path, "github")] == [
        "github:2790000101", "github:2790000102", "github:2790000103", "github:2790000104"]
    assert report.sources[0].new == 2 and report.sources[0].duplicates == 0
    assert "(resumed where the last run stopped)" in report.lines[0]


def test_a_run_stopped_by_a_failing_source_is_resumed_too(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    path = config(tmp_path, server, STACKEXCHANGE)
    server.fail("/2.3/search/advanced", Response(200, {"items": []}))  # page 1 of a fault: no has_more
    first = run(tmp_path, path, clock)
    assert first.code == EXIT_SOURCE and "has_more: missing" in first.errors[0]
    second = run(tmp_path, path, clock)
    assert second.code == EXIT_OK and second.sources[0].resumed
    # The page that failed is asked again, then the rest; the plan (its window) is the first run's.
    assert [hit.params["page"] for hit in server.hits("/2.3/search/advanced")] == ["1", "1", "2"]
    assert len({hit.params["todate"] for hit in server.hits("/2.3/search/advanced")}) == 1
    assert len(records(tmp_path, "stackexchange")) == 3


def test_a_second_run_asks_only_for_what_is_new(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    path = config(tmp_path, server, GITHUB)
    assert run(tmp_path, path, clock).code == EXIT_OK
    before = len(server.hits("/search/issues"))
    clock.now = replay_epoch("2025-03-01T00:00:00Z")
    report = run(tmp_path, path, clock)
    assert report.code == EXIT_OK
    searches = server.hits("/search/issues")[before:]
    # From a day before the last run ended (search indexes lag) to now: one page, one request.
    assert [re.search(r"created:(\S+)", hit.params["q"]).group(1) for hit in searches] == [
        "2025-02-09T00:00:00Z..2025-02-28T23:59:59Z"]
    assert report.sources[0].requests == 1 and report.sources[0].new == 1
    assert records(tmp_path, "github")[-1]["id"] == "github:2790000105"


def test_a_second_run_skips_posts_already_collected_and_counts_them(tmp_path: Path, server: Replay,
                                                                    clock: FakeClock) -> None:
    path = config(tmp_path, server, DISCOURSE)
    assert run(tmp_path, path, clock).code == EXIT_OK
    server.discourse["posts"].append({"id": 162, "username": "kim", "created_at": "2025-02-10T12:00:00.000Z",
                                      "blurb": "try bf16", "like_count": 0, "post_number": 3, "topic_id": 14})
    clock.now = replay_epoch("2025-02-11T00:00:00Z")
    before = len(server.log)
    report = run(tmp_path, path, clock)
    # A new reply puts topic 14 in the search again, but it is not fetched twice.
    assert [hit.path for hit in server.log[before:]] == ["/search.json"]
    assert report.sources[0].new == 0 and report.sources[0].duplicates == 0
    assert len(records(tmp_path, "discourse")) == 2


def test_reddit_second_run_stops_paging_at_the_last_run(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    path = config(tmp_path, server, REDDIT)
    assert run(tmp_path, path, clock).code == EXIT_OK
    server.reddit.insert(0, {"kind": "t3", "data": {**server.reddit[0]["data"], "id": "1ic0004", "name": "t3_1ic0004",
                                                     "created_utc": replay_epoch("2025-02-12T00:00:00Z")}})
    clock.now = replay_epoch("2025-02-13T00:00:00Z")
    before = len(server.log)
    report = run(tmp_path, path, clock)
    # The newest page holds the new post and one older than the last run: no further page.
    assert len(server.log) - before == 1
    assert report.sources[0].new == 1 and report.sources[0].duplicates == 1


# --- malformed responses, bad configuration, credentials ----------------------------------------


def test_a_response_that_does_not_match_the_documented_shape_names_the_field(tmp_path: Path, server: Replay,
                                                                             clock: FakeClock) -> None:
    item = dict(server.github[0])
    del item["html_url"]
    server.fail("/search/issues", Response(200, {"total_count": 1, "incomplete_results": False, "items": [item]}))
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_SOURCE
    assert report.errors == [
        'memokit: collect: github "lora eval is:issue": the response to '
        f'{server.base}/search/issues?q=lora+eval+is%3Aissue+created%3A2025-01-01T00%3A00%3A00Z..2025-02-09T23%3A59%3A59Z'
        "&sort=created&order=asc&per_page=100 does not match GitHub's documented shape: items[0].html_url: missing"]


@pytest.mark.parametrize(("body", "field"), [
    ({"hits": [{"objectID": "1"}], "nbHits": 1, "page": 0, "nbPages": 1}, "hits[0].created_at_i: missing"),
    ({"hits": {}, "nbHits": 0, "page": 0, "nbPages": 0}, "hits: expected a list, got an object"),
    ({"hits": [], "nbHits": 0, "page": "0", "nbPages": 1}, "page: expected an integer, got a string"),
    ({"hits": [{"objectID": "../x", "created_at_i": 1}], "nbHits": 1, "page": 0, "nbPages": 1}, "hits[0].objectID"),
])
def test_malformed_algolia_responses_are_one_line_naming_the_field(tmp_path: Path, server: Replay, clock: FakeClock,
                                                                   body: dict, field: str) -> None:
    server.fail("/api/v1/search_by_date", Response(200, body))
    report = run(tmp_path, config(tmp_path, server, HACKERNEWS), clock)
    assert report.code == EXIT_SOURCE and len(report.errors) == 1
    assert field in report.errors[0] and "\n" not in report.errors[0]


def test_a_body_that_is_not_json_is_one_line(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    server.fail("/search.json", Response(200, "<html><body>\x1b[2J Maintenance</body></html>",
                                         {"Content-Type": "text/html"}))
    report = run(tmp_path, config(tmp_path, server, DISCOURSE), clock)
    assert report.code == EXIT_SOURCE
    assert "with a body that is not JSON (text/html): \\x1b[2J Maintenance" in report.errors[0]
    assert "\x1b" not in "".join(report.errors)


def test_bad_configuration_is_one_line_per_problem_and_nothing_is_fetched(tmp_path: Path, server: Replay,
                                                                          clock: FakeClock) -> None:
    path = tmp_path / "collect.toml"
    path.write_text('[[sources]]\nkind = "gitlab"\nquery = "x"\n\n[[sources]]\nkind = "github"\nquery = "a created:>2025"\n'
                    'since = "2025-13-01"\n\n[[sources]]\nkind = "reddit"\nquery = "x"\n', encoding="utf-8")
    report = run(tmp_path, path, clock)
    assert report.code == EXIT_INPUT and not server.log
    assert report.errors == [
        f"{path}:2: sources[1].kind: unknown kind 'gitlab'; expected one of: github, hackernews, stackexchange, "
        "reddit, discourse",
        f'{path}:7: sources[2].query: remove the created: qualifier: memokit adds the date range itself (use since = '
        '"YYYY-MM-DD")',
        f"{path}:8: sources[2].since: expected a date YYYY-MM-DD, got '2025-13-01'",
        f"{path}:10: sources[3].subreddit: missing: the subreddit to search, e.g. LocalLLaMA",
        "memokit: invalid collect configuration (4 problems); nothing was fetched"]
    assert not (tmp_path / "raw").exists()


def test_a_missing_config_file_says_what_to_write(tmp_path: Path, clock: FakeClock) -> None:
    report = run(tmp_path, tmp_path / "collect.toml", clock)
    assert report.code == EXIT_INPUT
    assert report.errors[0].endswith("collect.toml: file not found: write a collect.toml with [[sources]] tables "
                                     "(see 'Collecting' in the README)")


TOKEN = "ghp_notarealtoken0123456789"


def test_tokens_come_from_the_environment_and_never_reach_disk_or_messages(tmp_path: Path, server: Replay,
                                                                           clock: FakeClock) -> None:
    server.fail("/search/issues", Response(500, {"message": f"echoing your token {TOKEN}"}))
    lines: list[str] = []
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock, env={"GITHUB_TOKEN": TOKEN}, lines=lines)
    assert report.code == EXIT_OK
    searches = server.hits("/search/issues")
    assert all(hit.headers["authorization"] == f"Bearer {TOKEN}" for hit in searches)
    assert searches[0].headers["user-agent"].startswith("memokit/")
    assert "research memo" in searches[0].headers["user-agent"]
    for file in (tmp_path / "raw").rglob("*"):
        if file.is_file():
            assert TOKEN.encode() not in file.read_bytes(), file
    assert TOKEN not in "\n".join(lines)


def test_a_refused_token_is_one_line_naming_the_variable(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    server.fail("/search/issues", Response(401, {"message": "Bad credentials"}))
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock, env={"GITHUB_TOKEN": TOKEN})
    assert report.code == EXIT_SOURCE
    assert report.errors == ['memokit: collect: github "lora eval is:issue": GitHub refused the credentials in '
                             'GITHUB_TOKEN (401 Unauthorized: Bad credentials)']
    assert len(server.hits("/search/issues")) == 1  # a bad token is not retried


def test_stackexchange_key_is_sent_as_a_parameter_but_not_cached(tmp_path: Path, server: Replay,
                                                                  clock: FakeClock) -> None:
    key = "se-key-0123456789((("
    assert run(tmp_path, config(tmp_path, server, STACKEXCHANGE), clock, env={"STACKEXCHANGE_KEY": key}).code == 0
    assert all(hit.params["key"] == key for hit in server.hits("/2.3/search/advanced"))
    assert not any(key.encode() in f.read_bytes() for f in (tmp_path / "raw").rglob("*") if f.is_file())


def test_reddit_uses_an_oauth_token_with_client_id_and_secret(tmp_path: Path, server: Replay,
                                                               clock: FakeClock) -> None:
    env = {"REDDIT_CLIENT_ID": "client-id-123", "REDDIT_CLIENT_SECRET": "client-secret-456"}
    assert run(tmp_path, config(tmp_path, server, REDDIT), clock, env=env).code == EXIT_OK
    token, *searches = server.log
    assert token.method == "POST" and token.path == "/api/v1/access_token"
    assert token.params == {"grant_type": "client_credentials"}
    assert token.headers["authorization"].startswith("Basic ")
    assert [hit.path for hit in searches] == ["/r/LocalLLaMA/search"] * 2
    assert all(hit.headers["authorization"] == "bearer reddit-token-abc123" for hit in searches)
    for file in (tmp_path / "raw").rglob("*"):
        if file.is_file():
            assert b"client-secret-456" not in file.read_bytes() and b"reddit-token-abc123" not in file.read_bytes()


def test_reddit_client_id_without_its_secret_is_bad_configuration(tmp_path: Path, server: Replay,
                                                                  clock: FakeClock) -> None:
    report = run(tmp_path, config(tmp_path, server, REDDIT), clock, env={"REDDIT_CLIENT_ID": "x"})
    assert report.code == EXIT_INPUT and not server.log
    assert report.errors[0] == ("REDDIT_CLIENT_SECRET: not set, but REDDIT_CLIENT_ID is: set both (a Reddit app's id "
                                "and secret) or neither")


# --- the cache and re-normalising ------------------------------------------------------------------


def test_renormalise_rebuilds_the_records_from_the_cache_without_fetching(tmp_path: Path, server: Replay,
                                                                          clock: FakeClock) -> None:
    path = config(tmp_path, server, GITHUB, STACKEXCHANGE, DISCOURSE)
    assert run(tmp_path, path, clock).code == EXIT_OK
    files = {kind: (tmp_path / "raw" / f"{kind}.jsonl").read_text(encoding="utf-8")
             for kind in ("github", "stackexchange", "discourse")}
    cached = sorted((tmp_path / "raw" / ".cache").glob("*.json"))
    assert cached and all(hashlib.sha256(f.read_bytes()).hexdigest() == f.stem for f in cached)
    for kind in files:
        (tmp_path / "raw" / f"{kind}.jsonl").unlink()
    fetched = len(server.log)
    report = renormalise(tmp_path / "raw")
    assert report.code == EXIT_OK and len(server.log) == fetched
    for kind, text in files.items():
        assert (tmp_path / "raw" / f"{kind}.jsonl").read_text(encoding="utf-8") == text


# --- the command line ----------------------------------------------------------------------------


def test_the_command_line_prints_a_line_per_source_and_a_summary(tmp_path: Path, server: Replay,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = config(tmp_path, server, HACKERNEWS)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code = main(["collect", "--config", str(path), "--raw", str(tmp_path / "raw")])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == 'hackernews "fine-tune eval": 3 new posts, 0 duplicates skipped, 2 requests'
    assert re.fullmatch(rf"collected 1 source into {re.escape(str(tmp_path / 'raw'))}/: 3 new posts, 0 duplicates "
                        r"skipped, 2 requests in \d+ s", lines[1])


def test_the_command_line_exits_2_for_an_unknown_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "collect.toml"
    path.write_text('[[sources]]\nkind = "mastodon\\u001b[2J"\nquery = "x"\n', encoding="utf-8")
    assert main(["collect", "--config", str(path), "--raw", str(tmp_path / "raw")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"{path}:2: sources[1].kind: unknown kind 'mastodon\\x1b[2J'; expected one of: github, "
                                   "hackernews, stackexchange, reddit, discourse")
    assert "\x1b" not in err


def test_the_progress_line_shows_pages_posts_requests_left_and_waits(tmp_path: Path, server: Replay,
                                                                     clock: FakeClock) -> None:
    shown: list[str] = []

    class Recorder:
        def __call__(self, text: str) -> None:
            shown.append(text)

        def clear(self) -> None:
            shown.append("")

    server.fail("/search/issues", Response(429, {"message": "slow"}, {"Retry-After": "3"}))
    collect(config(tmp_path, server, GITHUB), tmp_path / "raw", env={}, clock=clock, progress=Recorder())
    assert 'github "lora eval is:issue": page 0, 0 new posts, waiting 3 s (GitHub answered 429: a secondary rate limit)' \
        in shown
    assert 'github "lora eval is:issue": page 2, 4 new posts, 28 requests left' in shown
    assert shown[-1] == ""


def test_a_request_that_times_out_is_asked_again(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    server.fail("/search/issues", Response(delay=1.0))
    report = collect(config(tmp_path, server, GITHUB), tmp_path / "raw", env={}, clock=clock,
                     timeout=httpx.Timeout(0.2))
    assert report.code == EXIT_OK, report.errors
    assert len(server.hits("/search/issues")) == 3 and report.sources[0].retries == 1
    assert len(records(tmp_path, "github")) == 4


def test_the_user_agent_names_the_tool_and_the_contact(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    path = config(tmp_path, server, HACKERNEWS)
    path.write_text('contact = "researcher@example.org"\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(tmp_path, path, clock).code == EXIT_OK
    agent = server.log[0].headers["user-agent"]
    assert re.fullmatch(r"memokit/\S+ \(collects public posts for a research memo; researcher@example\.org\)", agent)


def test_ctrl_c_in_a_real_run_keeps_what_was_fetched_and_exits_130(tmp_path: Path, clock: FakeClock) -> None:
    clock.now = time.time()  # the subprocess runs on the real clock; the server's reset times agree
    with replay_server(clock) as server:
        server.fail("/search/issues", Response(), Response(delay=30))  # page 1 at once, page 2 hangs
        path = config(tmp_path, server, 'kind = "github"\nquery = "lora"\nsince = "2025-01-01"')
        process = subprocess.Popen([sys.executable, "-m", "memokit", "collect", "--config", str(path), "--raw",
                                    str(tmp_path / "raw")], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_TOKEN": ""})
        deadline = time.monotonic() + 60
        while len(server.hits("/search/issues")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (f"memokit: collect interrupted; everything fetched so far is saved in "
                                            f"{tmp_path / 'raw'}/, and the next memokit collect goes on from where "
                                            "this one stopped")
    assert "Traceback" not in err
    assert len(records(tmp_path, "github")) == 2
    state = json.loads((tmp_path / "raw" / ".state.json").read_text(encoding="utf-8"))
    [entry] = state["queries"].values()
    assert dict(entry["run"]["next"]["params"])["page"] == "2"
    assert not (tmp_path / "raw" / ".lock").read_text()  # released (flock), nothing written into it


def test_github_incomplete_results_are_asked_again_then_kept_with_a_warning(tmp_path: Path, server: Replay,
                                                                           clock: FakeClock) -> None:
    incomplete = {"total_count": 1, "incomplete_results": True, "items": [server.github[0]]}
    server.fail("/search/issues", *[Response(200, incomplete)] * 3)
    report = run(tmp_path, config(tmp_path, server, GITHUB), clock)
    assert report.code == EXIT_OK
    assert len(server.hits("/search/issues")) == 3  # asked twice more, then taken as it is
    assert report.errors == ['warning: github "lora eval is:issue": GitHub\'s search timed out (incomplete_results), '
                             'still after 3 attempts; kept what it returned']


def test_a_discourse_429_in_plain_text_is_waited_out(tmp_path: Path, server: Replay, clock: FakeClock) -> None:
    server.fail("/t/14.json", Response(429, "Slow down, too many requests from this IP address.\n",
                                       {"Content-Type": "text/plain", "Retry-After": "9",
                                        "Discourse-Rate-Limit-Error-Code": "ip_10_secs_limit"}))
    report = run(tmp_path, config(tmp_path, server, DISCOURSE), clock)
    assert report.code == EXIT_OK, report.errors
    topic = server.hits("/t/14.json")
    assert len(topic) == 2 and topic[1].at - topic[0].at == pytest.approx(9)
    assert len(records(tmp_path, "discourse")) == 2
