"""SIGINT (Ctrl+C) and SIGTERM stop ``memokit serve``, the plain build and ``memokit code``
cleanly at every moment.

Each case runs the real command line in a fresh process, in a session of its own, through a small
launcher that sends the signal at an exact moment, so nothing races the imports:

- ``import``: the moment a module starts to load (a ``sys.meta_path`` finder), e.g. in the
  middle of pandas' imports;
- ``call``: the n-th call of a function of memokit (wrapped when its module loads), e.g. the
  third file a build writes, or the second build's statistics (a rebuild);
- ``call`` with ``after``: right after such a call returned, e.g. the atomic exchange of the new
  site and the old one;
- ``renames``: between the two renames of a swap (where the system has no atomic exchange: a
  ``stub`` makes ``site._exchange`` say so), the old site moved aside, the new one not yet in place;
- a ``call`` trip may also catch and drop the exception its signal raised, as a careless library
  would; or, with ``hold``, keep its thread (a request of ``memokit code``, say) waiting after
  the signal until the main thread calls the function a ``gate`` names: so that the signal
  surely lands while that thread is in the middle of its work;
- otherwise the test sends it itself once the preview says it is serving (idle).

The launcher signals itself, or its whole process group as a terminal's Ctrl+C does (the chart
workers included), and logs each signal it sent with the workers and listening ports it had then.
After the process ends: the exit code, the one line it printed, no traceback on either stream,
no process left in its session, the port free, no staging folder, and the last good site as it was.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import leftovers, make_data, tree_digest
from helpers import signal as synthetic

from memokit.cli import main
from memokit.curate.decisions import Journal
from memokit.curate.store import QueueEntry, Suggestion, write_queue
from memokit.scaffold import new_project

ROOT = Path(__file__).resolve().parent.parent
#: Seconds after which a case that hangs is killed (it then fails on its exit code); never reached
#: by a case that works, whatever the load.
WATCHDOG = 120
STOPPED = "memokit: preview stopped"
NOTHING_WRITTEN = "memokit: interrupted; nothing was written"

LAUNCHER = r'''
"""Run memokit's command line (argv after this script) in this folder, sending the signals that
$TRIPS (JSON) asks for at the moments it names; log each to $TRIP_LOG (JSON lines)."""
import importlib.abc
import importlib.util
import json
import os
import shutil  # noqa: F401  (loaded first, so that a trip can wrap it)
import signal
import sys
import threading

sys.path.insert(0, ROOT)
ME = os.getpid()
TRIPS = json.loads(os.environ["TRIPS"])
GATE = threading.Event()  # set when the function a "gate" names is called; a "hold" trip waits for it


def log(record):
    with open(os.environ["TRIP_LOG"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def listening_ports():
    sockets = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    ports = []
    with open("/proc/self/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def trip(index):
    spec = TRIPS[index]
    import multiprocessing

    log({"trip": index, "at": spec["at"], "workers": [child.pid for child in multiprocessing.active_children()],
         "ports": listening_ports()})
    number = getattr(signal, spec["signal"])
    if spec.get("to") == "group":
        os.killpg(os.getpgrp(), number)
    else:
        os.kill(ME, number)


def checkpoint():
    """A Python call: where the interpreter runs a pending signal handler at the latest."""


def wrap(module, index):
    spec = TRIPS[index]
    *path, name = spec["name"].split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    calls = [0]

    if spec["at"] == "stub":  # not a trip: the function just returns this
        setattr(owner, name, lambda *args, **kwargs: spec["value"])
        return
    if spec["at"] == "gate":  # not a trip: calling the function opens the gate
        def opening(*args, **kwargs):
            GATE.set()
            return original(*args, **kwargs)

        setattr(owner, name, opening)
        return

    def wrapper(*args, **kwargs):
        calls[0] += 1
        now = calls[0] == spec["nth"] and os.getpid() == ME
        if now and spec.get("swallow"):  # as a careless library would
            try:
                trip(index)
                checkpoint()
            except BaseException as exc:
                log({"swallowed": type(exc).__name__})
        elif now and not spec.get("after"):
            trip(index)
            if spec.get("hold"):
                GATE.wait()
                log({"held": index})
        result = original(*args, **kwargs)
        if now and spec.get("after"):
            trip(index)
        return result

    setattr(owner, name, wrapper)


class Trips(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if os.getpid() != ME:  # a forked chart worker
            return None
        for index, spec in enumerate(TRIPS):
            if spec.get("module") != fullname or spec.get("done"):
                continue
            spec["done"] = True
            if spec["at"] == "import":
                trip(index)
            else:  # wrap (or stub) a function as soon as its module has run
                found = importlib.util.find_spec(fullname)
                run = found.loader.exec_module

                def exec_module(module, run=run, index=index):
                    run(module)
                    wrap(module, index)

                found.loader.exec_module = exec_module
                return found
        return None


for index, spec in enumerate(TRIPS):
    if spec["at"] in ("call", "stub", "gate") and spec["module"] in sys.modules:  # loaded already: wrap it now
        spec["done"] = True
        wrap(sys.modules[spec["module"]], index)
    if spec["at"] == "renames":  # between two renames: the old site moved aside, the new one not yet in place
        rename = os.rename

        def swapping(source, target, index=index):
            rename(source, target)
            if os.path.basename(source) == "site" and not TRIPS[index].get("done"):
                TRIPS[index]["done"] = True
                trip(index)

        os.rename = swapping
sys.meta_path.insert(0, Trips())
log({"start": True, "sigint_ignored": signal.getsignal(signal.SIGINT) is signal.SIG_IGN})

from memokit.cli import entry  # noqa: E402

sys.argv = ["memokit", *sys.argv[1:]]
sys.exit(entry())
'''


@dataclass
class Run:
    """A launched command line and what it printed."""

    process: subprocess.Popen[str]
    project: Path
    log: Path
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    readers: list[threading.Thread] = field(default_factory=list)
    watchdog: threading.Timer | None = None

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first line on stdout from now on that matches ``pattern``."""
        while True:
            line = self.lines.get()
            if line is None:
                raise AssertionError(f"ended without a line matching {pattern!r}: {self.out} {self.err}")
            found = re.search(pattern, line)
            if found:
                return found

    def finish(self) -> int:
        code = self.process.wait()
        for reader in self.readers:
            reader.join()
        if self.watchdog is not None:
            self.watchdog.cancel()
        return code

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def trips(self) -> list[dict[str, Any]]:
        return [record for record in self.records() if "trip" in record]

    def started(self) -> dict[str, Any]:
        return json.loads(self.log.read_text(encoding="utf-8").splitlines()[0])


def _read(pipe: Any, lines: list[str], also: queue.Queue[str | None] | None) -> None:
    for line in pipe:
        lines.append(line.rstrip("\n"))
        if also is not None:
            also.put(line.rstrip("\n"))
    if also is not None:
        also.put(None)


def launch(project: Path, argv: list[str], trips: list[dict[str, Any]], *, sigint_ignored: bool = False) -> Run:
    """Start the command line in ``project``, in a session of its own; with ``sigint_ignored``,
    through a shell that ignores SIGINT first, as a shell does for a background job."""
    launcher = project.parent / "launcher.py"
    launcher.write_text(f"ROOT = {str(ROOT)!r}\n" + LAUNCHER, encoding="utf-8")
    log = project.parent / "trips.jsonl"
    log.unlink(missing_ok=True)
    command = [sys.executable, str(launcher), *argv]
    if sigint_ignored:
        command = ["/bin/sh", "-c", 'trap "" INT; exec "$0" "$@"', *command]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TRIPS": json.dumps(trips), "TRIP_LOG": str(log)}
    process = subprocess.Popen(command, cwd=project, env=env, text=True, start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = Run(process, project, log)
    run.readers = [threading.Thread(target=_read, args=(process.stdout, run.out, run.lines), daemon=True),
                   threading.Thread(target=_read, args=(process.stderr, run.err, None), daemon=True)]
    for reader in run.readers:
        reader.start()
    run.watchdog = threading.Timer(WATCHDOG, _kill_session, args=(process.pid,))
    run.watchdog.daemon = True
    run.watchdog.start()
    _LAUNCHED.append(run)
    return run


_LAUNCHED: list[Run] = []


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test() -> Iterator[None]:
    yield
    while _LAUNCHED:
        run = _LAUNCHED.pop()
        if run.process.poll() is None:  # (only when the test failed before the run ended)
            _kill_session(run.process.pid)
            run.process.wait()
        if run.watchdog is not None:
            run.watchdog.cancel()


def _kill_session(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def assert_all_gone(run: Run, ports: list[int]) -> None:
    """No process is left in the run's session, and every port it listened on is free."""
    with pytest.raises(ProcessLookupError):
        os.killpg(run.process.pid, 0)
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the preview itself binds
            probe.bind(("127.0.0.1", port))


def assert_no_traceback(run: Run) -> None:
    for stream in (run.out, run.err):
        text = "\n".join(stream)
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, text


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "memo-project"
    new_project(folder)
    return folder


@pytest.fixture
def built(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project with a good site already built."""
    monkeypatch.chdir(project)
    assert main(["-q"]) == 0
    return project


def _import(module: str, name: str, to: str = "self") -> dict[str, Any]:
    return {"at": "import", "module": module, "signal": name, "to": to}


def _call(module: str, function: str, nth: int, name: str, to: str = "self") -> dict[str, Any]:
    return {"at": "call", "module": module, "name": function, "nth": nth, "signal": name, "to": to}


WRITE = ("memokit.build.site", "SiteWriter.write")    # each file a build writes
RENDER = ("memokit.build.render", "render_site")      # once per build, in its staging folder
COMPUTE = ("memokit.build.stats", "compute")          # once per build, before any writing

# ---------------------------------------------------------------------------------------------
# memokit serve: exit 0, "memokit: preview stopped", nothing left running.

SERVE_BEFORE_SERVING = {
    "sigint-group-in-pandas-imports": (_import("pandas.core.frame", "SIGINT", "group"), False),
    "sigterm-as-pandas-starts-to-load": (_import("pandas", "SIGTERM"), False),
    "sigint-group-while-the-workers-fork": (_import("multiprocessing.popen_fork", "SIGINT", "group"), False),
    "sigint-group-mid-first-build-writing": (_call(*WRITE, 3, "SIGINT", "group"), False),
    "sigint-ignored-background-in-pandas-imports": (_import("pandas", "SIGINT"), True),
}


@pytest.mark.parametrize("case", SERVE_BEFORE_SERVING)
def test_serve_stops_cleanly_before_it_serves(project: Path, case: str) -> None:
    trip, ignored = SERVE_BEFORE_SERVING[case]
    run = launch(project, ["serve", "--port", "0"], [trip], sigint_ignored=ignored)
    code = run.finish()
    assert run.started()["sigint_ignored"] is ignored
    [tripped] = run.trips()
    assert code == 0, (code, run.err)
    assert_no_traceback(run)
    assert run.out == [STOPPED], run.out  # stopped before the first build ended, and said so once
    assert run.err == []
    assert_all_gone(run, tripped["ports"])
    if trip["at"] != "import" or trip["module"] != "multiprocessing.popen_fork":
        assert len(tripped["workers"]) == 2, "the chart workers were running when the signal came"
    if trip["at"] == "call":
        assert tripped["ports"], "the server was listening when the signal came"
    assert not (project / "site").exists()
    assert leftovers(project) == [], "a staging folder was left"


# A prose edit reuses the statistics (the data is unchanged), so the statistics are tripped by an edit
# of the data.
SERVE_REBUILD = {
    "sigint-group-mid-rebuild-writing": (_call(*RENDER, 2, "SIGINT", "group"), "memo/index.md"),
    "sigterm-in-rebuild-statistics": (_call(*COMPUTE, 2, "SIGTERM"), "data/signals.jsonl"),
}


@pytest.mark.parametrize("case", SERVE_REBUILD)
def test_serve_stops_cleanly_during_a_rebuild_and_keeps_the_last_good_site(project: Path, case: str) -> None:
    trip, edited = SERVE_REBUILD[case]
    run = launch(project, ["serve", "--port", "0"], [trip])
    port = int(run.wait_for(r"serving .* at http://127\.0\.0\.1:(\d+)/").group(1))
    good = tree_digest(project / "site")
    if edited == "memo/index.md":
        index = project / "memo" / "index.md"
        index.write_text(index.read_text(encoding="utf-8").replace("title: My memo", "title: Changed"), encoding="utf-8")
    else:  # the same records again, one fewer: the data changed
        signals = project / edited
        signals.write_text("".join(signals.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")
    code = run.finish()
    [tripped] = run.trips()
    assert code == 0, (code, run.err)
    assert_no_traceback(run)
    # Stopped while rebuilding, and said so once.
    assert run.out[-2:] == [f"memokit: {edited} changed; rebuilding", STOPPED], run.out
    assert run.out.count(STOPPED) == 1 and run.err == []
    assert len(tripped["workers"]) == 2 and tripped["ports"] == [port]
    assert_all_gone(run, [port])
    assert tree_digest(project / "site") == good, "the last good site changed"
    assert leftovers(project) == [], "a staging folder was left"


SERVE_IDLE = {
    "sigint-to-the-group": (signal.SIGINT, True, False),
    "sigterm-to-the-process": (signal.SIGTERM, False, False),
    "sigint-ignored-background-to-the-group": (signal.SIGINT, True, True),
}


@pytest.mark.parametrize("case", SERVE_IDLE)
def test_serve_stops_cleanly_while_idle(project: Path, case: str) -> None:
    number, group, ignored = SERVE_IDLE[case]
    run = launch(project, ["serve", "--port", "0"], [], sigint_ignored=ignored)
    port = int(run.wait_for(r"serving .* at http://127\.0\.0\.1:(\d+)/").group(1))
    good = tree_digest(project / "site")
    (os.killpg if group else os.kill)(run.process.pid, number)
    code = run.finish()
    assert run.started()["sigint_ignored"] is ignored
    assert code == 0, (code, run.err)
    assert_no_traceback(run)
    assert run.out[-1] == STOPPED and run.out.count(STOPPED) == 1, run.out
    assert run.err == []
    assert_all_gone(run, [port])
    assert tree_digest(project / "site") == good
    assert leftovers(project) == []


def test_a_signal_that_something_swallowed_still_stops_the_preview(project: Path) -> None:
    # The third look at the folders (the first is before the first build) catches and drops the
    # Interrupted that its signal raised; the preview notices the signal all the same.
    swallowed = {**_call("memokit.serve.preview", "snapshot", 3, "SIGINT"), "swallow": True}
    run = launch(project, ["serve", "--port", "0"], [swallowed])
    port = int(run.wait_for(r"serving .* at http://127\.0\.0\.1:(\d+)/").group(1))
    code = run.finish()
    assert {"swallowed": "Interrupted"} in run.records()
    assert code == 0, (code, run.err)
    assert_no_traceback(run)
    assert run.out[-1] == STOPPED and run.out.count(STOPPED) == 1 and run.err == [], run.out
    assert_all_gone(run, [port])


# ---------------------------------------------------------------------------------------------
# The plain build: one line, exit 128 + the signal, the existing site untouched.

BUILD = {
    "sigint-group-in-pandas-imports": (_import("pandas.core.frame", "SIGINT", "group"), False),
    "sigterm-group-mid-writing": (_call(*WRITE, 3, "SIGTERM", "group"), False),
    "sigint-ignored-background-in-statistics": (_call(*COMPUTE, 1, "SIGINT"), True),
}


@pytest.mark.parametrize("case", BUILD)
def test_an_interrupted_build_says_so_and_leaves_the_site_as_it_was(built: Path, case: str) -> None:
    trip, ignored = BUILD[case]
    good = tree_digest(built / "site")
    run = launch(built, [], [trip], sigint_ignored=ignored)
    code = run.finish()
    [tripped] = run.trips()
    assert run.started()["sigint_ignored"] is ignored
    assert code == 128 + getattr(signal, trip["signal"]), (code, run.err)
    assert_no_traceback(run)
    assert run.err == [NOTHING_WRITTEN] and run.out == []
    assert len(tripped["workers"]) == 2
    assert_all_gone(run, [])
    assert tree_digest(built / "site") == good, "the existing site changed"
    assert leftovers(built) == [], "a staging folder was left"


def test_a_second_signal_does_not_cut_the_clean_up_short(built: Path) -> None:
    good = tree_digest(built / "site")
    # The first signal while the pages are written, a second one as the staging folder is removed.
    run = launch(built, [], [_call(*WRITE, 3, "SIGINT", "group"), _call("shutil", "rmtree", 1, "SIGTERM", "group")])
    code = run.finish()
    assert [trip["at"] for trip in run.trips()] == ["call", "call"]
    assert code == 128 + signal.SIGINT, (code, run.err)
    assert_no_traceback(run)
    assert run.err == [NOTHING_WRITTEN] and run.out == []
    assert_all_gone(run, [])
    assert tree_digest(built / "site") == good
    assert leftovers(built) == [], "the clean-up was cut short"


SWAP = {
    "after-the-atomic-exchange": [{**_call("memokit.build.site", "_exchange", 1, "SIGINT", "group"), "after": True}],
    "between-the-two-renames": [{"at": "stub", "module": "memokit.build.site", "name": "_exchange", "value": False},
                                {"at": "renames", "signal": "SIGTERM", "to": "group"}],
}


@pytest.mark.parametrize("case", SWAP)
def test_a_signal_during_the_swap_lets_the_new_site_into_place(built: Path, tmp_path: Path, case: str) -> None:
    index = built / "memo" / "index.md"
    index.write_text(index.read_text(encoding="utf-8").replace("title: My memo", "title: Changed"), encoding="utf-8")
    assert main(["-q", "--out", str(tmp_path / "expected")]) == 0
    run = launch(built, [], SWAP[case])
    code = run.finish()
    assert [trip["at"] for trip in run.trips()] == [SWAP[case][-1]["at"]]
    # The site was complete and the swap under way: it ends, and so does the build.
    assert code == 0, (code, run.err)
    assert_no_traceback(run)
    assert run.err == [] and len(run.out) == 1 and run.out[0].startswith("built site/: "), run.out
    assert_all_gone(run, [])
    assert tree_digest(built / "site") == tree_digest(tmp_path / "expected")
    assert leftovers(built) == []


def test_an_interrupted_check_says_so_too(project: Path) -> None:
    run = launch(project, ["--check"], [_import("jinja2", "SIGTERM")])
    code = run.finish()
    [tripped] = run.trips()
    assert tripped["workers"] == [], "--check starts no chart workers"
    assert code == 128 + signal.SIGTERM, (code, run.err)
    assert_no_traceback(run)
    assert run.err == [NOTHING_WRITTEN] and run.out == []
    assert_all_gone(run, [])


# ---------------------------------------------------------------------------------------------
# memokit code: Ctrl+C exits 0, SIGTERM 143; no decision made is lost, no temporary file is left.

CODE = ["code", "--data", "data", "--coder", "ana", "--port", "0"]
CODE_STOPPED = "memokit: coding page stopped; every decision made is saved in data"


@pytest.fixture
def coding(tmp_path: Path) -> Path:
    """A folder with a data folder of one signal and two queued posts, the first with a suggestion."""
    folder = tmp_path / "coding"
    data = make_data(folder, [synthetic(1)])
    write_queue(data, [
        QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/one",
                   title="Synthetic: crash with CUDA out of memory",
                   suggestion=Suggestion(theme="setup", best="setup", probability=0.9, threshold=0.5)),
        QueueEntry(id="q2", url="https://example.com/q/2", source="github", community="example/two",
                   title="Synthetic: did it improve?")])
    return folder


def _post_decision(base: str) -> http.client.HTTPConnection:
    """Accept q1's suggestion, as the page does; the answer is left to read (or not)."""
    port = int(base.rsplit(":", 1)[1].rstrip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/")
    page = connection.getresponse().read().decode()
    token = page.split('name="memokit-token" content="')[1].split('"')[0]
    connection.request("POST", "/api/decide", body=json.dumps({"id": "q1", "action": "accept"}),
                       headers={"Content-Type": "application/json", "X-Memokit-Token": token})
    return connection


def assert_decided_whole(data: Path) -> None:
    """q1 coded and off the queue, the log's record finished, no temporary file."""
    coded = [json.loads(line)["id"] for line in (data / "signals.jsonl").read_text(encoding="utf-8").splitlines()]
    queued = [json.loads(line)["id"] for line in (data / "queue.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (coded, queued) == (["syn-1", "q1"], ["q2"])
    [record] = Journal(data).records()
    assert (record.action, record.id, record.pending) == ("accept", "q1", False)
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".")) == [], "a temporary file was left"


@pytest.mark.parametrize("number, group, code", [(signal.SIGINT, True, 0), (signal.SIGTERM, False, 143)],
                         ids=["sigint-to-the-group", "sigterm-to-the-process"])
def test_code_stops_on_a_signal_keeping_every_decision(coding: Path, number: int, group: bool, code: int) -> None:
    run = launch(coding, CODE, [])
    base = run.wait_for(r" at (http://127\.0\.0\.1:\d+/) ").group(1)
    connection = _post_decision(base)
    assert connection.getresponse().status == 200
    connection.close()
    (os.killpg if group else os.kill)(run.process.pid, number)
    assert run.finish() == code, run.err
    assert_no_traceback(run)
    assert run.out[-1] == CODE_STOPPED and run.err == [], (run.out, run.err)
    assert_all_gone(run, [int(base.rsplit(":", 1)[1].rstrip("/"))])
    assert_decided_whole(coding / "data")


def test_sigterm_in_the_middle_of_a_decision_lets_it_finish_then_exits_143(coding: Path) -> None:
    # The signal comes as the decision writes its first file (its record is in the log, pending);
    # the decision's thread waits until the main thread has begun to stop, then goes on.
    mid = {**_call("memokit.curate.decisions", "Journal._write_file", 1, "SIGTERM"), "hold": True}
    run = launch(coding, CODE, [mid, {"at": "gate", "module": "memokit.interrupt", "name": "ignore"}])
    base = run.wait_for(r" at (http://127\.0\.0\.1:\d+/) ").group(1)
    connection = _post_decision(base)
    assert run.finish() == 143, run.err
    connection.close()  # (answered or not: the process may end before the answer is sent)
    assert len(run.trips()) == 1 and {"held": 0} in run.records()
    assert_no_traceback(run)
    assert run.out[-1] == CODE_STOPPED and run.err == [], (run.out, run.err)
    assert_all_gone(run, [int(base.rsplit(":", 1)[1].rstrip("/"))])
    assert_decided_whole(coding / "data")
