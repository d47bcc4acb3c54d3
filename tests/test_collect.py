"""``memokit collect`` against the local replay server (tests/replay.py): paging, limits, retries,
date slicing, resuming, incremental runs, malformed responses and untrusted text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from replay import FakeClock, Replay, replay_server

from memokit.collect import EXIT_OK, CollectReport, collect

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
