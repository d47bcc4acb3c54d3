"""Build output: a self-updating progress line for slow steps on a terminal, and none elsewhere."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from helpers import RACED, slow_project

from memokit.console import TerminalProgress

ROOT = Path(__file__).resolve().parent.parent


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_waits_a_moment_then_updates_one_line_at_most_ten_times_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    stream = FakeTerminal()
    progress = TerminalProgress.on(stream)
    assert progress is not None
    progress("reading: 5,000 signals")
    assert stream.getvalue() == "", "a quick step shows nothing"
    clock[0] += 0.6
    progress("reading: 10,000 signals")
    clock[0] += 0.05
    progress("reading: 15,000 signals")  # too soon after the last update
    clock[0] += 0.1
    progress("reading: 20,000 signals")
    assert stream.getvalue() == "\r\x1b[Kreading: 10,000 signals…\r\x1b[Kreading: 20,000 signals…"
    progress.clear()
    assert stream.getvalue().endswith("signals…\r\x1b[K")
    progress.clear()  # once is enough
    assert stream.getvalue().count("\r\x1b[K") == 3


def test_no_progress_line_off_a_terminal():
    assert TerminalProgress.on(io.StringIO()) is None
    assert TerminalProgress.on(object()) is None  # type: ignore[arg-type]


def test_a_slow_build_on_a_terminal_shows_progress_and_ends_on_a_clean_line(tmp_path: Path):
    project = slow_project(tmp_path, RACED)
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py")], cwd=project,
                               stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the build closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = process.communicate(timeout=120)
    os.close(leader)
    assert process.returncode == 0, seen.decode(errors="replace")
    text = seen.decode()
    # Reading the signals may end within the line's first half second (it is columnar), so the
    # reading line is checked on its own below, without a clock.
    assert "\r\x1b[Kwriting the site: " in text, text[-500:]
    assert text.endswith("\r\x1b[K"), "the progress line is cleared before the build ends"
    assert out.startswith(f"built site/: {RACED:,} signals")


def test_a_slow_build_piped_prints_no_progress(tmp_path: Path):
    project = slow_project(tmp_path)
    done = subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=project, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "\r" not in done.stdout and "\x1b" not in done.stdout


def test_a_long_progress_line_is_cut_to_the_terminal_width(monkeypatch):
    # memokit collect's lines name a source and its query, and can be longer than the terminal:
    # a wrapped line could not be cleared with one "\r\x1b[K".
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setenv("COLUMNS", "40")
    stream = FakeTerminal()
    progress = TerminalProgress.on(stream)
    assert progress is not None
    clock[0] += 1
    progress("github \"fine-tune evaluate is:issue\": page 3, 214 new posts, 27 requests left")
    line = stream.getvalue().removeprefix("\r\x1b[K")
    assert len(line) == 39 and line.endswith("…")


def test_reading_reports_how_many_signals_have_been_read(tmp_path: Path):
    from memokit.build.validate import load_dataset

    project = slow_project(tmp_path)
    heard: list[str] = []
    dataset = load_dataset(project / "data", heard.append)
    assert heard and all(line.startswith("reading signals.jsonl: ") and line.endswith(" signals") for line in heard)
    assert heard[-1] == f"reading signals.jsonl: {len(dataset):,} signals"
