"""Statistics from aggregates: a corpus too large for one machine is counted where it lies (here
DuckDB over a hive-partitioned Parquet dataset; bench/README.md has the same on Spark SQL), and
``stats.from_aggregates`` gives exactly the statistics ``stats.compute`` gives from the signals."""

from __future__ import annotations

import random

import duckdb
import pytest
from helpers import THEME_PHASE, load, make_data, signal

from memokit.build.stats import aggregate_sql, compute, from_aggregates
from memokit.build.support import support
from memokit.model import ALL


def _records(n: int) -> list[dict]:
    rng = random.Random(7)
    found = []
    for number in range(1, n + 1):
        theme = rng.choice(list(THEME_PHASE))
        created = None if rng.random() < 0.2 else f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        found.append(signal(number, theme=theme, phase=THEME_PHASE[theme], created=created,
                            source=rng.choice(["github", "github", "forum", "blog"]),
                            community=f"synthetic/community-{rng.randint(1, 9)}",
                            sample=rng.choice(["sweep", "targeted"]), model_family=rng.choice(["", "llama", "qwen"]),
                            tool=rng.choice(["", "trl"])))
    return found


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory):
    """The statistics of 600 synthetic signals, from the signals and from DuckDB's counts over a
    Parquet dataset partitioned hive-style by phase and source (written here)."""
    tmp = tmp_path_factory.mktemp("aggregates")
    dataset = load(make_data(tmp, _records(600)))
    corpus = tmp / "corpus"
    with duckdb.connect() as db:
        frame = dataset.frame  # noqa: F841 -- read by DuckDB by name
        db.execute(f"COPY (SELECT * FROM frame) TO '{corpus}' (FORMAT PARQUET, PARTITION_BY (phase, source))")
        assert sorted(p.name for p in corpus.iterdir()) == ["phase=Evaluate", "phase=Iterate", "phase=Train"]
        reader = f"read_parquet('{corpus}/**/*.parquet', hive_partitioning = true)"
        aggregates = db.execute(aggregate_sql(reader)).fetchdf()
    assert len(aggregates) < len(dataset)  # counts, not posts
    return compute(dataset), from_aggregates(aggregates, dataset.taxonomy)


def test_statistics_from_aggregates_equal_those_from_the_signals(both):
    signals, aggregates = both
    assert aggregates.to_json() == signals.to_json()
    assert aggregates.n == signals.n == 600
    assert (aggregates.first_date, aggregates.last_date) == (signals.first_date, signals.last_date)
    assert aggregates.top_communities == signals.top_communities


@pytest.mark.parametrize("query", [
    {"of": ALL, "theme": "improve"},
    {"of": "post-training", "phase": "Evaluate"},
    {"of": ALL, "source": "github", "sample": "sweep"},
    {"of": "sweep", "theme": ["improve", "breakage"], "year": "2024"},
    {"of": ALL, "model_family": "llama", "tool": "trl"},
])
def test_every_share_is_the_same(both, query):
    signals, aggregates = both
    assert aggregates.share(**query) == signals.share(**query)


def test_distinct_rank_and_subsets_are_the_same(both):
    signals, aggregates = both
    assert aggregates.distinct("community", phase="Evaluate") == signals.distinct("community", phase="Evaluate")
    assert aggregates.rank("theme", "improve") == signals.rank("theme", "improve")
    assert aggregates.within("sweep").to_json() == signals.within("sweep").to_json()
    assert aggregates.subset(ALL, {"source": "github"}).to_json() == signals.subset(ALL, {"source": "github"}).to_json()


def test_a_claims_support_is_the_same(both):
    signals, aggregates = both
    check = 'share(phase="Evaluate", of="post-training") > share(phase="Iterate", of="post-training")'
    assert support(check, aggregates) == support(check, signals)
