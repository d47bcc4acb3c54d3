"""The preview's incremental builds: a change to the prose reuses the data, its pages and the charts
of the last build, and writes exactly what a full build writes. The data here is synthetic."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from helpers import leftovers, slow_project, tree_digest

from memokit.build import pipeline
from memokit.build.cache import BuildCache
from memokit.build.pipeline import Project, build
from memokit.model import AgreementSummary, InputError
from memokit.serve.preview import Preview
from memokit.versions import compare, store

ROOT = Path(__file__).resolve().parent.parent


def project_at(root: Path, out: str = "site") -> Project:
    return Project(data=root / "data", memo=root / "memo", out=root / out, versions=root / "versions")


def flagship(tmp_path: Path, *, versions: bool = False) -> Path:
    """A copy of the flagship's data and memo (and its pinned versions) to build and edit."""
    root = tmp_path / "flagship"
    for folder in ("data", "memo", *(("versions",) if versions else ())):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_prose_edit_reuses_the_data_and_builds_the_same_site_as_a_full_build(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = flagship(tmp_path, versions=True)
    cache = BuildCache()
    build(project_at(root), cache=cache)
    read, pairs = [], []
    monkeypatch.setattr(store, "read", lambda path: read.append(path))
    monkeypatch.setattr(compare, "_Pair", lambda *tables: pairs.append(tables))
    dataset, derived = cache.dataset, cache.derived
    assert derived is not None and any(f.startswith("themes/") for f in derived.files)
    inode = (root / "site" / "themes" / "regression.html").stat().st_ino
    signals = (root / "site" / "data" / "snapshot-signals.json").stat().st_ino

    edit(root / "memo" / "index.md", "Getting a fine-tuning run to work is still", "Getting a fine-tuning run to work is, still,")
    stages: list[str] = []
    build(project_at(root), cache=cache, log=stages.append)
    assert cache.dataset is dataset, "the data was read again although it did not change"
    # The pinned version (2026-11-22) is not read again, nor its signals matched again with the data's.
    assert read == [] and pairs == []
    monkeypatch.undo()
    assert any("kept the" in stage for stage in stages), stages
    assert (root / "site" / "themes" / "regression.html").stat().st_ino == inode  # linked, not rewritten
    assert (root / "site" / "data" / "snapshot-signals.json").stat().st_ino == signals  # the snapshot's signals too
    assert "is, still," in (root / "site" / "index.html").read_text(encoding="utf-8")
    # The snapshot's other half, written again, names the linked file, which a reader checks.
    assert store.read(root / "site" / "data" / "snapshot.json")["n"] == len(dataset)

    build(project_at(root, "full"))  # a fresh full build of the same inputs
    assert tree_digest(root / "site") == tree_digest(root / "full")
    assert "data/snapshot-signals.json" in tree_digest(root / "full")


def test_a_title_or_data_change_rebuilds_what_depends_on_it(tmp_path: Path) -> None:
    root = flagship(tmp_path)
    cache = BuildCache()
    build(project_at(root), cache=cache)
    inode = (root / "site" / "themes" / "regression.html").stat().st_ino
    signals = root / "site" / "data" / "snapshot-signals.json"
    signals_inode, signals_bytes = signals.stat().st_ino, signals.read_bytes()
    # The memo's title is in every page's frame: the theme pages are rendered again; the snapshot's
    # signals follow from the data alone and are still linked.
    edit(root / "memo" / "index.md", "title: The Iteration Gap", "title: The Iteration Gap, again")
    build(project_at(root), cache=cache)
    page = root / "site" / "themes" / "regression.html"
    assert page.stat().st_ino != inode and "The Iteration Gap, again" in page.read_text(encoding="utf-8")
    assert signals.stat().st_ino == signals_inode
    # A change to the data is read, validated and counted again.
    dataset = cache.dataset
    lines = (root / "data" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    time.sleep(0.01)
    (root / "data" / "signals.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    build(project_at(root), cache=cache)
    assert cache.dataset is not dataset and cache.stats is not None and cache.stats.n == len(lines) - 1
    assert signals.stat().st_ino != signals_inode and signals.read_bytes() != signals_bytes
    build(project_at(root, "full"))
    assert tree_digest(root / "site") == tree_digest(root / "full")


def test_a_failed_build_keeps_nothing_it_did_not_publish(tmp_path: Path) -> None:
    project = slow_project(tmp_path)
    root = project
    cache = BuildCache()
    build(project_at(root), cache=cache)
    good = cache.derived
    # A template that breaks the memo page only: the build fails after the theme pages were made.
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "memo.html").write_text("{% extends 'base.html' %}{% block body %}{{ 1 // 0 }}{% endblock %}",
                                                  encoding="utf-8")
    failing = Project(data=root / "data", memo=root / "memo", out=root / "site", templates=root / "templates",
                      versions=root / "versions")
    with pytest.raises(InputError, match="ZeroDivisionError"):
        build(failing, cache=cache)
    assert cache.derived is good  # still the files of the site in place, not those of the failed build


def test_a_file_gone_from_the_last_site_is_written_again_with_the_others(tmp_path: Path) -> None:
    root = flagship(tmp_path)
    cache = BuildCache()
    build(project_at(root), cache=cache)
    (root / "site" / "phases" / "Evaluate.html").unlink()  # someone tidied the served site
    (root / "site" / "data" / "snapshot-signals.json").unlink()
    kept = (root / "site" / "themes" / "regression.html").stat().st_ino
    edit(root / "memo" / "index.md", "Getting a fine-tuning run to work is still", "Getting a fine-tuning run to work is, still,")
    build(project_at(root), cache=cache)
    # None of the data-derived files is taken when one is missing: all are rendered again.
    assert (root / "site" / "themes" / "regression.html").stat().st_ino != kept
    build(project_at(root, "full"))
    assert tree_digest(root / "site") == tree_digest(root / "full")


def test_the_old_site_is_removed_once_the_new_one_is_in_place(tmp_path: Path) -> None:
    root = flagship(tmp_path)
    cache = BuildCache()
    build(project_at(root), cache=cache)
    memo = root / "memo" / "index.md"
    edit(memo, "Getting a fine-tuning run to work is still", "Getting a fine-tuning run to work is, still,")
    build(project_at(root), cache=cache)
    # The build hands the old site over instead of removing it before it returns...
    [old] = cache.retired
    assert leftovers(root) == [old.name] and (old / "index.html").is_file()
    cache.tidy()
    assert leftovers(root) == [] and cache.retired == []
    # ...and one never removed is removed by the next build, before it starts.
    build(project_at(root), cache=cache)
    build(project_at(root), cache=cache)
    assert len(leftovers(root)) == 1
    # The preview removes it once the pages have been told to reload.
    preview = Preview(project_at(root), quiet=True)
    assert preview.rebuild() == 0 and preview.rebuild() == 0
    assert leftovers(root) == [] and preview.cache.retired == []


def test_a_prose_edit_does_not_digest_the_coded_posts_again_for_agreement_json(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = flagship(tmp_path)
    # Figures measured on fewer posts than the data has: every build warns, a prose edit too.
    summary = AgreementSummary(posts=500, folds=10, kappa=0.65, accuracy=0.71, threshold=0.53, kept_share=0.66,
                               kept_kappa=0.8, kept_accuracy=0.83, unseen_kept_share=0.63, unseen_kept_kappa=0.81)
    (root / "data" / "agreement.json").write_text(summary.model_dump_json(), encoding="utf-8")
    digests: list[int] = []
    real = pipeline.coded_digest
    monkeypatch.setattr(pipeline, "coded_digest", lambda titles, themes: digests.append(1) or real(titles, themes))
    cache = BuildCache()
    first = build(project_at(root), cache=cache)
    edit(root / "memo" / "index.md", "Getting a fine-tuning run to work is still", "Getting a fine-tuning run to work is, still,")
    second = build(project_at(root), cache=cache)
    assert digests == [1], "the coded posts were digested again although the data did not change"
    stale = [w for w in second.warnings if "agreement.json was measured on 500 coded posts" in w]
    assert len(stale) == 1 and stale == [w for w in first.warnings if "agreement.json" in w]
    (root / "data" / "signals.jsonl").write_bytes((root / "data" / "signals.jsonl").read_bytes() + b"\n")
    build(project_at(root), cache=cache)
    assert digests == [1, 1]  # the data's files changed: digested again
