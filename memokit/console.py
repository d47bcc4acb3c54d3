"""Reporting to the terminal: what a build says, its exit code, and a progress line for slow steps.

The command line (``memokit.cli``) and the live preview (``memokit.serve``) both report through
here, so neither needs the other.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from .model.problems import InputError, MemokitError, printable

if TYPE_CHECKING:
    from .build.cache import BuildCache
    from .build.pipeline import Project

EXIT_OK, EXIT_CLAIMS, EXIT_INPUT = 0, 1, 2
#: A run stopped by a signal exits with 128 plus its number, as a shell reports a process that a
#: signal ended: 130 for SIGINT (Ctrl+C), 143 for SIGTERM. The preview exits 0: stopping is how
#: it ends.
EXIT_SIGNAL = 128
PREVIEW_STOPPED = "memokit: preview stopped"


@dataclass(frozen=True)
class Report:
    """What a build says: its exit code, the lines for stderr (problems, warnings, and a last line
    saying what happened) and, when it worked, a one-line summary for stdout."""

    code: int
    errors: list[str]
    summary: str | None = None


def run_build(project: Project, *, check: bool = False, verbose: bool = False,
              progress: TerminalProgress | None = None, cache: BuildCache | None = None) -> Report:
    """Build (or check) ``project`` and say how it went; never raises for bad input."""
    from .build.pipeline import CheckFailure, build

    def log(line: str) -> None:
        if progress is not None:
            progress.clear()
        print(line, file=sys.stderr, flush=True)

    try:
        result = build(project, check=check, log=log if verbose else None, progress=progress, cache=cache)
    except InputError as exc:
        return Report(EXIT_INPUT, [*exc.lines(), f"memokit: invalid input ({len(exc.problems)} "
                                   f"problem{'s' if len(exc.problems) != 1 else ''}); nothing was written"])
    except CheckFailure as exc:
        return Report(EXIT_CLAIMS, [*exc.lines(), f"memokit: {exc.summary()}; nothing was written"])
    except MemokitError as exc:
        return Report(exc.exit_code, [f"memokit: {exc}"])
    finally:
        if progress is not None:
            progress.clear()
    claims = result.claims
    summary = (f"{result.stats.n:,} signals, {len(result.stats.taxonomy.themes)} themes, "
               f"{len(result.pages)} page{'s' if len(result.pages) != 1 else ''}, "
               f"{result.bindings} bound numbers, {claims}/{claims} claims hold, "
               f"{result.facts} cited fact{'s' if result.facts != 1 else ''}, no hand-typed numbers")
    history = result.history
    if history is not None and history.since is not None and history.changes is not None:
        moved = len(history.changes.headline)
        summary += f", {moved} headline number{'s' if moved != 1 else ''} moved since {history.since}"
    if check:
        summary = f"check passed: {summary}; nothing written"
    else:
        summary = (f"built {project.out}/: {summary}; {result.files:,} files, {result.bytes / 1024:,.0f} KB "
                   f"in {result.seconds:.1f} s")
    return Report(EXIT_OK, [f"warning: {printable(warning)}" for warning in result.warnings], summary)


def interrupted(signum: int, *, serving: bool = False, writing: bool = True) -> Report:
    """What a run stopped by SIGINT or SIGTERM says: the preview that it stopped (exit 0), a build
    that it wrote nothing (an interrupted build leaves the last site as it was), and anything else
    (``writing=False``: ``memokit new``) only that it was interrupted."""
    if serving:
        return Report(EXIT_OK, [], PREVIEW_STOPPED)
    return Report(EXIT_SIGNAL + signum, ["memokit: interrupted; nothing was written" if writing
                                         else "memokit: interrupted"])


class TerminalProgress:
    """One self-updating status line for slow steps (reading a large file, writing many pages),
    shown only on a terminal and only once a build has run for a moment; ``clear`` removes it
    before anything else is printed."""

    DELAY, INTERVAL = 0.5, 0.1  # seconds before the first update, and between updates

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    @classmethod
    def on(cls, stream: TextIO) -> TerminalProgress | None:
        """A progress line on ``stream`` if it is a terminal, else None."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream) if isatty is not None and isatty() else None

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self.started < self.DELAY or now - self.last < self.INTERVAL:
            return
        self.last = now
        # One line, never wrapped (a wrapped line could not be cleared): cut to the terminal's width.
        width = self._columns()
        if len(text) + 1 >= width:
            text = text[: max(1, width - 2)]
        self.stream.write("\r\x1b[K" + text + "…")
        self.stream.flush()
        self.shown = True

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns if columns > 0 else shutil.get_terminal_size().columns  # (a pty of no size says 0)

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
