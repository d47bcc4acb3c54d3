"""Render Vega-Lite specs with vl-convert, optionally in a worker process.

vl-convert needs about half a second to start its JavaScript engine, and it holds the GIL while
it does. The command line therefore forks a worker process first thing, which warms the engine
up on the second core while the main process imports its libraries, loads the data and builds
the specs with Altair (imported only then, also while the worker warms up). Used as a library
(tests, notebooks), memokit renders in-process.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_TINY = {"data": {"values": [{"x": 1}]}, "mark": "bar", "encoding": {"x": {"field": "x", "type": "quantitative"}}}
_renders: ProcessPoolExecutor | None = None


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def _png(spec: dict[str, Any], scale: float) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale)


def start() -> None:
    """Start the worker and warm it up; call first thing in a fresh process (it forks, and a fork
    is only safe before any thread or vl-convert engine exists)."""
    global _renders
    fresh = threading.active_count() == 1 and "vl_convert" not in sys.modules
    if _renders is None and fresh and "fork" in multiprocessing.get_all_start_methods():
        _renders = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        _renders.submit(_svg, _TINY)


def stop() -> None:
    """Stop the worker, if any."""
    global _renders
    if _renders is not None:
        _renders.shutdown(wait=True, cancel_futures=True)
    _renders = None


def svg(spec: dict[str, Any]) -> Future[str] | str:
    """Render ``spec`` as SVG: a future from the worker, or the text when there is no worker."""
    return _renders.submit(_svg, spec) if _renders is not None else _svg(spec)


def png(spec: dict[str, Any], scale: float = 2) -> Future[bytes] | bytes:
    """Render ``spec`` as PNG: a future from the worker, or the bytes when there is no worker."""
    return _renders.submit(_png, spec, scale) if _renders is not None else _png(spec, scale)


def result(value: Future[Any] | Any) -> Any:
    """Return the value of a rendering, waiting for the worker if needed."""
    return value.result() if isinstance(value, Future) else value
