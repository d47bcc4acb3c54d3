"""The output folder: never someone else's files, never half a site, never a lost site.

Real builds are killed with SIGKILL at several points: while writing, between the two renames of a
swap (on systems without an atomic exchange), and after the swap before the old site is removed.
Each time the last good site is still (or again) there, and the next build cleans up. The data
here is synthetic.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import RACED, leftovers, slow_project, tree_digest

from memokit.build.site import LOCK, MARKER, clean_up
from memokit.scaffold import new_project

ROOT = Path(__file__).resolve().parent.parent
BUILD_PY = ROOT / "build.py"


def build(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(BUILD_PY), "-q", *args], cwd=project, capture_output=True,
                            text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "memo-project"
    new_project(root)
    build(root)
    return root


def test_someone_elses_folder_is_never_replaced(project: Path) -> None:
    thesis = project / "thesis"
    thesis.mkdir()
    (thesis / "chapter-1.tex").write_text("Years of work.\n", encoding="utf-8")
    result = build(project, "--out", "thesis", check=False)
    assert result.returncode == 2
    assert "holds files memokit did not write" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in thesis.iterdir()] == ["chapter-1.tex"]
    # A hidden folder counts too: a gh-pages checkout's .git would be lost.
    (thesis / "chapter-1.tex").unlink()
    (thesis / ".git").mkdir()
    assert build(project, "--out", "thesis", check=False).returncode == 2 and (thesis / ".git").is_dir()


def test_an_empty_folder_a_memokit_site_and_an_older_memokit_site_are_replaced(project: Path) -> None:
    (project / "empty").mkdir()
    build(project, "--out", "empty")
    assert (project / "empty" / MARKER).is_file() and (project / "empty" / "index.html").is_file()
    build(project, "--out", "empty")  # its own marker
    (project / "empty" / MARKER).unlink()  # as an older memokit wrote it: data/stats.json and data/claims.json
    build(project, "--out", "empty")
    assert (project / "empty" / MARKER).is_file()


def test_a_build_killed_while_writing_leaves_the_site_and_the_next_cleans_up(tmp_path: Path) -> None:
    project = slow_project(tmp_path, RACED)
    build(project)
    before = tree_digest(project / "site")
    process = subprocess.Popen([sys.executable, str(BUILD_PY), "-q"], cwd=project, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the new site is being written
        staging = [p for p in project.glob(".site-new-*") if (p / "themes").is_dir()]
        if staging and sum(1 for _ in staging[0].rglob("*.html")) >= 3:
            break
        assert process.poll() is None, "the build ended before it could be killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert tree_digest(project / "site") == before
    assert leftovers(project), "the killed build left its staging folder (so this test tests something)"
    build(project)
    assert leftovers(project) == []
    assert tree_digest(project / "site") == before


LAUNCHER = textwrap.dedent('''\
    import os, signal, sys
    sys.argv = ["memokit", "-q"]
    import memokit.build.site as site
    when = os.environ["KILL_WHEN"]
    if when == "between-renames":
        site._exchange = lambda first, second: False  # a system without an atomic exchange
        renames = []
        real_rename = os.rename
        def rename(source, target):
            real_rename(source, target)
            renames.append(target)
            if len(renames) == 1 and ".site-old-" in str(target):
                os.kill(os.getpid(), signal.SIGKILL)
        site.os.rename = rename
    elif when == "after-swap":
        real_swap = site._swap
        def swap(staging, out):
            real_swap(staging, out)
            os.kill(os.getpid(), signal.SIGKILL)
        site._swap = swap
    from memokit.cli import entry
    sys.exit(entry())
''')


def _killed_build(project: Path, when: str) -> None:
    launcher = project.parent / "launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    result = subprocess.run([sys.executable, str(launcher)], cwd=project, env={**os.environ, "KILL_WHEN": when,
                            "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr


def _change_the_memo(project: Path) -> None:
    memo = project / "memo" / "index.md"
    memo.write_text(memo.read_text(encoding="utf-8") + "\nOne more synthetic paragraph.\n", encoding="utf-8")


def test_a_swap_killed_between_its_two_renames_is_repaired_by_the_next_build(project: Path) -> None:
    before = tree_digest(project / "site")
    _change_the_memo(project)
    _killed_build(project, "between-renames")
    assert not (project / "site").exists(), "killed between the renames, the site is briefly gone"
    assert [name for name in leftovers(project) if name.startswith(".site-old-")]
    # Even a build that fails puts the last good site back first.
    (project / "data" / "taxonomy.toml").write_text("broken = [", encoding="utf-8")
    assert build(project, check=False).returncode == 2
    assert tree_digest(project / "site") == before
    assert not [name for name in leftovers(project) if name.startswith(".site-old-")]


def test_a_build_killed_after_the_swap_leaves_the_new_site_and_the_old_is_removed_next_time(project: Path) -> None:
    _change_the_memo(project)
    _killed_build(project, "after-swap")
    assert "One more synthetic paragraph." in (project / "site" / "index.html").read_text(encoding="utf-8")
    assert leftovers(project), "the old site waits beside the new one"
    build(project)
    assert leftovers(project) == []


def test_clean_up_touches_only_folders_memokit_wrote_and_no_build_in_progress(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / MARKER).write_text("x", encoding="utf-8")
    foreign = tmp_path / ".site-new-foreign"  # someone's folder with a confusing name: no marker
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n", encoding="utf-8")
    running = tmp_path / ".site-new-running"  # a build in progress: its process is alive
    running.mkdir()
    (running / MARKER).write_text("x", encoding="utf-8")
    (running / LOCK).write_text(f"{os.getppid()}\n", encoding="ascii")
    dead = tmp_path / ".site-new-dead"  # a killed build: its process is gone
    dead.mkdir()
    (dead / MARKER).write_text("x", encoding="utf-8")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (dead / LOCK).write_text(f"{gone.pid}\n", encoding="ascii")
    assert clean_up(out) == [dead]
    assert foreign.is_dir() and running.is_dir() and not dead.exists()


def _pieces(count: int, fail_at: int | None = None):
    for number in range(count):
        if number == fail_at:
            raise ValueError("the pieces ran out")
        yield f"piece {number}\n".encode()


def test_the_writing_thread_writes_every_file_and_counts_its_bytes(tmp_path: Path) -> None:
    """Files are written on a thread of their own, and one of them by another still (write_aside):
    once the writer is closed, every file holds its bytes, in order, and the counts are right."""
    from memokit.build import site

    writer = site.SiteWriter(tmp_path)
    writer.write_aside("data/big.csv", _pieces(5000))
    writer.write("a.html", "<p>é</p>")
    writer.write("b/c.json", [b"[", memoryview(b"1,2"), b"]"])
    writer.write("d.txt", iter([b"x", b"y"]))
    writer.write("empty.txt", iter([]))
    writer.close()
    assert (tmp_path / "data" / "big.csv").read_bytes() == b"".join(_pieces(5000))
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == "<p>é</p>"
    assert (tmp_path / "b" / "c.json").read_bytes() == b"[1,2]"
    assert (tmp_path / "d.txt").read_bytes() == b"xy"
    assert (tmp_path / "empty.txt").read_bytes() == b""
    assert writer.files == 5
    assert writer.bytes == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert writer.written == ["data/big.csv", "a.html", "b/c.json", "d.txt", "empty.txt"]


def test_what_a_file_made_aside_raises_is_raised_by_close_and_an_abandoned_writer_raises_nothing(
        tmp_path: Path) -> None:
    from memokit.build import site

    writer = site.SiteWriter(tmp_path / "one")
    writer.write_aside("data/big.csv", _pieces(100, fail_at=50))
    writer.write("a.html", "a")
    with pytest.raises(ValueError, match="the pieces ran out"):
        writer.close()

    writer = site.SiteWriter(tmp_path / "two")
    writer.write_aside("data/big.csv", _pieces(10_000_000))
    writer.write("a.html", "a")
    writer.close(abandon=True)  # returns, though the pieces would take a while


def test_a_write_that_fails_on_the_writing_thread_is_raised_in_the_build(tmp_path: Path) -> None:
    from memokit.build import site

    (tmp_path / "taken").write_text("a file where a folder's file is to go", encoding="utf-8")
    writer = site.SiteWriter(tmp_path)
    writer.write("taken", "x")  # a file may be replaced ...
    (tmp_path / "folder").mkdir()
    writer.write("folder", "x")  # ... but not a folder
    with pytest.raises(OSError):
        for number in range(1000):
            writer.write(f"more/{number}.txt", "x")
        writer.close()
    writer.close(abandon=True)
