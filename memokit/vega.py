"""Render Vega-Lite specs to SVG and PNG with vl-convert, optionally in a worker process.

vl-convert needs about half a second to start its JavaScript engine, and it holds the GIL while
it does. The command line therefore starts a worker process first thing, which warms the
engine up on the second core while the main process imports its libraries and loads the data;
by the time the charts are needed they render in milliseconds. Used as a library (tests,
notebooks), memokit renders in-process.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_TINY = {"data": {"values": [{"x": 1}]}, "mark": "bar", "encoding": {"x": {"field": "x", "type": "quantitative"}}}
_pool: ProcessPoolExecutor | None = None


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def _png(spec: dict[str, Any], scale: float) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale)


def start() -> None:
    """Start the worker and warm it up; call first thing in a fresh process (it forks, and a fork
    is only safe before any thread or vl-convert engine exists)."""
    global _pool
    fresh = threading.active_count() == 1 and "vl_convert" not in sys.modules
    if _pool is None and fresh and "fork" in multiprocessing.get_all_start_methods():
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        _pool.submit(_svg, _TINY)


def stop() -> None:
    """Stop the worker, if any."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def svg(spec: dict[str, Any]) -> Future[str] | str:
    """Render ``spec`` as SVG: a future from the worker, or the text when there is no worker."""
    return _pool.submit(_svg, spec) if _pool is not None else _svg(spec)


def png(spec: dict[str, Any], scale: float = 2) -> Future[bytes] | bytes:
    """Render ``spec`` as PNG: a future from the worker, or the bytes when there is no worker."""
    return _pool.submit(_png, spec, scale) if _pool is not None else _png(spec, scale)


def result(value: Future[Any] | Any) -> Any:
    """Return the value of a rendering, waiting for the worker if needed."""
    return value.result() if isinstance(value, Future) else value
