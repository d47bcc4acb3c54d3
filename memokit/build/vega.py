"""Render charts with Altair and vl-convert, in two worker processes when run from the command line.

Two costs dominate a small build besides importing pandas: vl-convert's JavaScript engine takes
about half a second to start, holding the GIL, and Altair a third of a second to import. The
command line therefore forks two workers first thing, before any thread exists or anything heavy
is imported, and chains them with pipes:

    main process --rows--> Altair worker --specs--> vl-convert worker --SVG--> main process

While the main process imports its libraries, loads and validates the data and computes the
statistics, one worker imports Altair and the other starts its engine, each on its own; the main
process then sends plain rows and collects the rendered charts when a page needs them. It never
loads Altair or vl-convert itself. Used as a library (tests, notebooks), memokit does all of this
in-process (``memokit.chartspec``).

Signals: Ctrl+C in a terminal reaches the whole process group, workers included. A worker ignores
SIGINT (it ends when its inbox closes, or when the main process terminates it) and takes SIGTERM's
default action, so it never prints a traceback; SIGINT and SIGTERM are blocked across the forks,
so none lands before a worker has set this up. The main process stops and reaps both workers on
every way out (``stop``).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from . import chartspec

_pipeline: _Pipeline | None = None
#: Blocked across the forks; a worker ignores the first and dies of the second.
_STOP = frozenset({signal.SIGINT, signal.SIGTERM})


def _stage(warm_up: Callable[[], None], function: Callable[..., Any], inbox: Connection, outbox: Connection,
           unused: list[Connection]) -> None:
    """A worker: warm up, then turn each message from ``inbox`` into one for ``outbox``, in order.

    A message is ``(True, arguments)`` or ``(False, exception)``; the next stage gets the result as
    its one argument; an exception is passed on
    untouched, so it reaches the main process, which raises it. ``None`` (or a closed inbox) stops
    the worker and, passed on, the next one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP)  # blocked since before the fork (``start``)
    for conn in unused:
        conn.close()
    warm_up()
    if not gc.isenabled():  # the command line turns it off while the libraries load
        gc.freeze()
        gc.enable()
    while True:
        try:
            message = inbox.recv()
        except EOFError:
            message = None
        if message is not None and message[0]:
            try:
                message = (True, (function(*message[1]),))
            except Exception as exc:
                message = (False, exc)
        try:
            outbox.send(message)
        except OSError:
            return
        if message is None:
            return


class _Pipeline:
    """The two chained workers; calls go in at one end and results come back in the same order.

    Plain pipes, no threads: a thread in the main process would compete for the GIL with the
    imports it is meant to overlap."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        to_altair, rows_in = context.Pipe(duplex=False)   # (reader, writer)
        to_engine, specs_out = context.Pipe(duplex=False)
        from_engine, charts_out = context.Pipe(duplex=False)
        self.workers = [
            context.Process(target=_stage, name="memokit-altair", daemon=True,
                            args=(chartspec.warm_altair, chartspec.chart_spec, to_altair, specs_out,
                                  [rows_in, to_engine, from_engine, charts_out])),
            context.Process(target=_stage, name="memokit-vl-convert", daemon=True,
                            args=(chartspec.warm_engine, chartspec.render, to_engine, charts_out,
                                  [rows_in, to_altair, specs_out, from_engine])),
        ]
        try:
            for worker in self.workers:
                worker.start()
        except BaseException:
            self._reap()
            raise
        for conn in (to_altair, specs_out, to_engine, charts_out):
            conn.close()
        self.send, self.receive = rows_in, from_engine
        self.sent = 0
        self.received: list[tuple[bool, Any]] = []
        self.broken = False

    def submit(self, *arguments: Any) -> Pending:
        try:
            self.send.send((True, arguments))
        except OSError:
            self.broken = True
            raise RuntimeError("a chart worker stopped unexpectedly") from None
        self.sent += 1
        return Pending(self, self.sent - 1)

    def wait(self, call: int) -> Any:
        while len(self.received) <= call:
            try:
                message = self.receive.recv()
            except EOFError:
                message = None
            if message is None:
                self.broken = True
                raise RuntimeError("a chart worker stopped unexpectedly")
            self.received.append(message)
        ok, value = self.received[call]
        if not ok:
            raise value
        return value[0]

    def close(self) -> None:
        """Stop both workers and reap them; the main process needs nothing more of them. Safe at
        any moment: a worker still warming up or in the middle of a chart is terminated."""
        self.send.close()
        self._reap()
        self.receive.close()

    def _reap(self) -> None:
        started = [worker for worker in self.workers if worker.pid is not None]
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()


class Pending:
    """A chart on its way through the workers; ``result()`` waits for it or raises its error."""

    def __init__(self, pipeline: _Pipeline, call: int):
        self.pipeline, self.call = pipeline, call

    def result(self) -> tuple[str, str | None]:
        svg, share = self.pipeline.wait(self.call)
        return svg, share


def start() -> None:
    """Start the workers, which warm up at once; call first thing in a fresh process (it forks,
    and a fork is only safe before any thread or vl-convert engine exists)."""
    global _pipeline
    fresh = threading.active_count() == 1 and "vl_convert" not in sys.modules
    if _pipeline is None and fresh and "fork" in multiprocessing.get_all_start_methods():
        # A signal that comes now waits: in this process until the workers exist and ``stop`` can
        # reap them, in a worker until it has set its own dispositions (``_stage``).
        before = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
        try:
            _pipeline = _Pipeline()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


def stop() -> None:
    """Stop and reap the workers, if any."""
    global _pipeline
    pipeline, _pipeline = _pipeline, None
    if pipeline is not None:
        pipeline.close()


def chart(title: str, rows: list[dict[str, Any]], colors: dict[str, str],
          share_image: bool) -> Pending | tuple[str, str | None]:
    """Build and render a chart (``chartspec.chart_spec``, then ``chartspec.render``): a pending
    call to the workers, or the result itself when there are none."""
    global _pipeline
    if _pipeline is not None and _pipeline.broken:  # render in-process from now on (a long preview)
        stop()
    if _pipeline is not None:
        try:
            return _pipeline.submit(title, rows, colors, share_image)
        except RuntimeError:
            stop()
    return chartspec.render(chartspec.chart_spec(title, rows, colors, share_image))


def result(value: Pending | Any) -> Any:
    """Return the value of a rendering, waiting for the workers if needed."""
    return value.result() if isinstance(value, Pending) else value
