"""The chart workers (memokit.vega): the command line's chain of forked processes gives the same
charts as rendering in-process, keeps each result with its call, passes errors back and leaves
nothing running."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

from memokit.build import chartspec, vega
from memokit.model import MemokitError

ROWS = [{"label": "Did it improve?", "percent": 60, "text": "60% (6)", "phase": "Evaluate"},
        {"label": "Setup", "percent": 40, "text": "40% (4)", "phase": "Train"}]
COLORS = {"Evaluate": "#1f6feb", "Train": "#b8480f"}


def fresh(code: str):
    """Run ``code`` in a fresh interpreter (where ``vega.start()`` may fork); return what it
    pickled to stdout."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return pickle.loads(done.stdout)


def test_workers_render_what_the_library_renders_and_stop_cleanly():
    one, two, children, loaded = fresh(f"""
        import multiprocessing, pickle, sys
        from memokit.build import vega
        vega.start()
        assert vega._pipeline is not None, "no workers in a fresh process"
        first = vega.chart("First", {ROWS!r}, {COLORS!r}, True)
        second = vega.chart("Second", {ROWS[::-1]!r}, {COLORS!r}, False)
        two, one = vega.result(second), vega.result(first)  # collected out of order
        vega.stop()
        loaded = [name for name in ("altair", "vl_convert", "pandas") if name in sys.modules]
        sys.stdout.buffer.write(pickle.dumps((one, two, multiprocessing.active_children(), loaded)))
    """)
    assert one == chartspec.render(chartspec.chart_spec("First", ROWS, COLORS, True))
    assert two == chartspec.render(chartspec.chart_spec("Second", ROWS[::-1], COLORS, False))
    assert one[0] != two[0] and one[1] is not None and two[1] is None
    assert children == []
    assert loaded == [], "the main process should load neither Altair nor vl-convert's engine"


def test_an_error_in_a_worker_comes_back_and_later_charts_still_render():
    error, after = fresh(f"""
        import pickle, sys
        from memokit.build import vega
        vega.start()
        broken = vega.chart("Empty", [], {COLORS!r}, False)
        fine = vega.chart("Fine", {ROWS!r}, {COLORS!r}, False)
        try:
            vega.result(broken)
            error = None
        except Exception as exc:
            error = (type(exc).__name__, str(exc))
        after = vega.result(fine)
        vega.stop()
        sys.stdout.buffer.write(pickle.dumps((error, after)))
    """)
    assert error is not None and error[0] == "ValueError"
    assert after == chartspec.render(chartspec.chart_spec("Fine", ROWS, COLORS, False))


def test_a_failed_chart_is_a_build_error_not_a_missing_template_value(monkeypatch, tmp_path):
    # Jinja turns a LookupError or TypeError from ``charts[...]`` into "undefined"; the build must
    # instead stop with the cause.
    from memokit.build.charts import ChartError, build_charts
    from memokit.build.stats import compute
    from memokit.build.validate import load_dataset
    from tests.helpers import make_data, signal

    def broken(spec):
        raise TypeError("vl-convert is broken")

    monkeypatch.setattr(chartspec, "render", broken)
    stats = compute(load_dataset(make_data(tmp_path, [signal()])))
    with pytest.raises(ChartError, match="the phase chart could not be rendered: TypeError: vl-convert is broken"):
        build_charts(stats)["phase"]
    assert issubclass(ChartError, MemokitError) and not issubclass(ChartError, (LookupError, TypeError))


def test_in_process_without_start():
    assert vega._pipeline is None
    assert vega.result(vega.chart("In", ROWS, COLORS, False)) == chartspec.render(
        chartspec.chart_spec("In", ROWS, COLORS, False))


def test_after_a_worker_dies_the_error_is_clear_and_later_charts_render_in_process():
    error, after, workers = fresh(f"""
        import pickle, sys
        from memokit.build import vega
        vega.start()
        engine = vega._pipeline.workers[1]
        engine.kill()  # the Altair worker takes the chart, then finds nobody to pass it on to
        engine.join()
        try:
            vega.result(vega.chart("Lost", {ROWS!r}, {COLORS!r}, False))
            error = None
        except Exception as exc:
            error = str(exc)
        after = vega.result(vega.chart("Fine", {ROWS!r}, {COLORS!r}, False))
        sys.stdout.buffer.write(pickle.dumps((error, after, vega._pipeline)))
    """)
    assert error == "a chart worker stopped unexpectedly"
    assert after == chartspec.render(chartspec.chart_spec("Fine", ROWS, COLORS, False))
    assert workers is None


def test_with_both_workers_gone_a_chart_renders_in_process():
    after, workers = fresh(f"""
        import pickle, sys
        from memokit.build import vega
        vega.start()
        for worker in vega._pipeline.workers:
            worker.kill()
            worker.join()
        after = vega.result(vega.chart("Fine", {ROWS!r}, {COLORS!r}, False))
        sys.stdout.buffer.write(pickle.dumps((after, vega._pipeline)))
    """)
    assert after == chartspec.render(chartspec.chart_spec("Fine", ROWS, COLORS, False))
    assert workers is None
