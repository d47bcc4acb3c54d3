"""How a run of the command line stops on SIGINT (Ctrl+C) or SIGTERM: cleanly, at any moment.

``install`` (called first thing by ``memokit.cli.entry``, never on import) makes either signal
raise :class:`Interrupted` in the main thread, also when the process was started with SIGINT
ignored (as a shell starts a background job, and Python then never installs its own handler).
The exception is not a ``KeyboardInterrupt`` and not an ``Exception``: it passes every
``except Exception``, runs every ``finally`` and ``except BaseException`` on the way up (the
build's staging folder is removed there), and the command line turns it into one line and an
exit code.

- Only the first signal raises; a repeat is ignored, so that it cannot cut a clean-up short.
  Should the first be lost (Python drops an exception raised in a finalizer), ``check()`` raises
  it again: the preview checks between its looks at the folders.
- ``deferred()`` holds a signal back where being interrupted would do harm: while the staging
  folder is made and while the finished site is swapped into place (``allowed()`` lets one
  through in between, while the pages are written), and while the preview's server thread
  starts. The next ``check()`` raises it: the preview checks after each build; a plain build,
  which ends right after its swap, simply ends, with the site it wrote.
- ``ignore()``: the run is ending (its chart workers are being stopped); a signal changes nothing.
- Used as a library (tests, notebooks), nothing is installed and all of this does nothing.

Only the main thread calls these functions (the builds of ``memokit serve`` run in it).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from types import FrameType

#: The signals that stop a run.
SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Mode(Enum):
    OFF = "off"          # not installed: a library user's process
    RAISE = "raise"      # a signal raises Interrupted where the main thread is
    DEFER = "defer"      # a signal waits for the next check()
    IGNORE = "ignore"    # the run is ending: a signal changes nothing


_mode = _Mode.OFF
_received: int | None = None  # the first signal of the run


def install() -> None:
    """Make SIGINT and SIGTERM raise ``Interrupted`` in the main thread from now on, whatever this
    process inherited (an ignored or blocked SIGINT included)."""
    global _mode, _received
    _mode, _received = _Mode.RAISE, None
    for number in SIGNALS:
        signal.signal(number, _handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:  # a repeat: the run is already stopping
        return
    _received = signum
    if _mode is _Mode.RAISE:
        raise Interrupted(signum)


def check() -> None:
    """Raise the first signal of the run if one came (and was held back by ``deferred``, or lost);
    else let signals raise again from here on."""
    global _mode
    if _mode in (_Mode.OFF, _Mode.IGNORE):
        return
    if _received is not None:
        raise Interrupted(_received)
    _mode = _Mode.RAISE


@contextmanager
def deferred() -> Iterator[None]:
    """Hold back a signal that arrives from here on, until the next ``check()``.

    If the block fails, signals raise again at once (a held one waits for ``check()`` all the
    same); if it ends normally, they keep waiting for ``check()``, so that work that has been
    finished (a site swapped into place) is never reported as interrupted."""
    global _mode
    before = _mode
    if before is _Mode.RAISE:
        _mode = _Mode.DEFER
    try:
        yield
    except BaseException:
        if _mode is _Mode.DEFER:
            _mode = before
        raise


@contextmanager
def allowed() -> Iterator[None]:
    """Inside a ``deferred`` block, let a signal interrupt this part; raise at once one that is
    already being held."""
    global _mode
    before = _mode
    if before is _Mode.DEFER:
        _mode = _Mode.RAISE
    try:
        check()
        yield
    finally:
        if before is _Mode.DEFER and _mode is _Mode.RAISE:
            _mode = before


def ignore() -> None:
    """The run is ending (its workers are being stopped): from here on a signal changes nothing."""
    global _mode
    if _mode is not _Mode.OFF:
        _mode = _Mode.IGNORE
