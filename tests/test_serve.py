"""Live preview (``memokit serve``): a real process serving a scaffolded project, driven by
Chromium while the test edits the memo and the data as an author would."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from memokit.scaffold import new_project

ROOT = Path(__file__).resolve().parent.parent
BUILD_PY = ROOT / "build.py"
#: Seconds a rebuild may take to reach the page (a poll, a settle, a build, a reload).
REBUILT = 20_000


@dataclass
class Preview:
    """A running ``build.py serve`` in ``project`` and everything it printed so far."""

    process: subprocess.Popen[str]
    project: Path
    url: str = ""
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.project / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def wait_for(self, stream: list[str], pattern: str, timeout: float = 30, since: int = 0) -> str:
        """The first line of ``stream`` from its ``since``-th on that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in stream[since:]:
                if re.search(pattern, line):
                    return line
            assert self.process.poll() is None, f"serve exited {self.process.returncode}: {self.out} {self.err}"
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {stream[since:]}")


def _collect(pipe, lines: list[str]) -> None:
    for line in pipe:
        lines.append(line.rstrip("\n"))


def start(project: Path, *args: str) -> Preview:
    process = subprocess.Popen([sys.executable, str(BUILD_PY), "serve", "--port", "0", *args], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    preview = Preview(process, project)
    preview.readers = [threading.Thread(target=_collect, args=(process.stdout, preview.out), daemon=True),
                       threading.Thread(target=_collect, args=(process.stderr, preview.err), daemon=True)]
    for reader in preview.readers:
        reader.start()
    serving = preview.wait_for(preview.out, r"serving .* at http://127\.0\.0\.1:\d+/", timeout=90)
    preview.url = re.search(r"http://127\.0\.0\.1:\d+/", serving).group(0)
    return preview


def stop(preview: Preview) -> int:
    """Ctrl+C; return the exit code once everything the preview printed has been read."""
    if preview.process.poll() is None:
        preview.process.send_signal(signal.SIGINT)
    try:
        code = preview.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        preview.process.kill()
        raise
    for reader in preview.readers:  # (the last lines may still be on their way)
        reader.join()
    return code


#: Resolves once the page has scrolled to between ``low`` and ``high``, looking at every frame;
#: rejects after ``ms``. (Not ``page.wait_for_function``: when its first look fails, it evaluates
#: its predicate as a string in the page, which the memo's CSP forbids, so it failed on a busy
#: machine, where the scroll had not happened yet.)
SCROLL_BETWEEN = """([low, high, ms]) => new Promise((resolve, reject) => {
  const start = performance.now();
  const look = () => {
    if (low <= window.scrollY && window.scrollY <= high) resolve(window.scrollY);
    else if (performance.now() - start > ms) reject(new Error(`scrollY ${window.scrollY}, not ${low} to ${high}`));
    else requestAnimationFrame(look);
  };
  look();
})"""


def wait_for_scroll(page: Page, low: float, high: float = 1e9) -> None:
    page.evaluate(SCROLL_BETWEEN, [low, high, REBUILT])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "memo-project"
    new_project(folder)
    return folder


@pytest.fixture
def preview(project: Path) -> Iterator[Preview]:
    running = start(project)
    try:
        yield running
    finally:
        code = stop(running)
    assert code == 0, f"serve exited {code} on Ctrl+C: {running.err}"
    assert any("preview stopped" in line for line in running.out), running.out


@pytest.mark.browser
def test_editing_the_memo_reloads_the_open_page(preview: Preview, page: Page) -> None:
    page.set_viewport_size({"width": 800, "height": 500})
    page.goto(preview.url)
    expect(page.locator("h1")).to_have_text("My memo")
    page.evaluate("window.__notReloaded = true")
    page.mouse.wheel(0, 600)
    wait_for_scroll(page, 500)
    before = page.evaluate("window.scrollY")
    preview.edit("memo/index.md", "title: My memo", "title: A sharper title")
    expect(page.locator("h1")).to_have_text("A sharper title", timeout=REBUILT)
    assert page.evaluate("window.__notReloaded") is None, "the page changed without a reload"
    wait_for_scroll(page, before - 49, before + 49)  # the reader keeps their place
    preview.wait_for(preview.out, r"memo/index\.md changed; rebuilding")
    # The reload script is the preview's alone: the built site on disk never carries it.
    built = (preview.project / "site" / "index.html").read_text(encoding="utf-8")
    assert "A sharper title" in built and "__memokit__" not in built
    assert "/__memokit__/live.js" in page.content()


@pytest.mark.browser
def test_a_page_reloads_even_if_the_rebuild_ended_before_it_listened(preview: Preview, page: Page) -> None:
    with urllib.request.urlopen(preview.url) as response:
        older = response.read()  # the memo as the first build made it
    since = len(preview.out)
    preview.edit("memo/index.md", "title: My memo", "title: A newer title")
    preview.wait_for(preview.out, r"^built site/: ", since=since)
    # The page arrives only now, as from a slow network: the rebuild it should reload for is over.
    served: list[str] = []

    def older_first(route: Route) -> None:
        if served:
            route.continue_()
        else:
            served.append(route.request.url)
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=older)

    page.route(preview.url, older_first)
    page.goto(preview.url)
    expect(page.locator("h1")).to_have_text("A newer title", timeout=REBUILT)
    assert served == [preview.url], "the older page was never shown"


@pytest.mark.browser
def test_a_failed_build_shows_in_page_and_terminal_while_the_last_good_site_is_served(
        preview: Preview, page: Page) -> None:
    page.goto(preview.url)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    preview.edit("memo/index.md", "counts {{ count(\"did-it-improve\") }} posts",
                 "counts {{ count(\"no-such-theme\") }} posts")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Build failed", timeout=REBUILT)
    expect(alert).to_contain_text("no-such-theme")
    expect(alert).to_contain_text("index.md:")
    # The page below is still the last good build, and a fresh load shows the problem too.
    expect(page.locator("h1")).to_have_text("My memo")
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("no-such-theme")
    preview.wait_for(preview.err, r"index\.md:\d+: .*no-such-theme")
    preview.wait_for(preview.err, r"the last good build is still being served")
    assert "no-such-theme" not in (preview.project / "site" / "index.html").read_text(encoding="utf-8")

    # A claim that the data no longer supports fails the same way.
    preview.edit("memo/index.md", "counts {{ count(\"no-such-theme\") }} posts",
                 "counts {{ count(\"did-it-improve\") }} posts")
    preview.edit("memo/index.md", "> share(phase=\"Iterate\"", "< share(phase=\"Iterate\"")
    expect(page.get_by_role("alert")).to_contain_text("claim 'evaluate-leads' is false", timeout=REBUILT)

    preview.edit("memo/index.md", "< share(phase=\"Iterate\"", "> share(phase=\"Iterate\"")
    expect(page.get_by_role("alert")).to_have_count(0, timeout=REBUILT)
    expect(page.locator("h1")).to_have_text("My memo")
    assert errors == []


@pytest.mark.browser
def test_a_data_change_rebuilds_and_moves_the_numbers(preview: Preview, page: Page) -> None:
    page.goto(preview.url)
    signals = preview.project / "data" / "signals.jsonl"
    lines = signals.read_text(encoding="utf-8").splitlines(keepends=True)
    bound_n = page.locator("[data-expr='n']").first
    expect(bound_n).to_have_text(str(len(lines)))
    signals.write_text("".join(lines[:-1]), encoding="utf-8")
    expect(page.locator("[data-expr='n']").first).to_have_text(str(len(lines) - 1), timeout=REBUILT)
    preview.wait_for(preview.out, r"data/signals\.jsonl changed; rebuilding")


@pytest.mark.browser
def test_without_a_good_build_yet_the_page_says_why_and_reloads_once_fixed(project: Path, page: Page) -> None:
    index = project / "memo" / "index.md"
    good = index.read_text(encoding="utf-8")
    index.write_text(good.replace("{{ n }}", "{{ n( }}"), encoding="utf-8")
    running = start(project)
    try:
        running.wait_for(running.err, r"nothing to serve until the build succeeds")
        page.goto(running.url)
        expect(page.locator("h1")).to_have_text("No site yet")
        expect(page.get_by_role("alert")).to_contain_text("index.md:")
        index.write_text(good, encoding="utf-8")
        expect(page.locator("h1")).to_have_text("My memo", timeout=REBUILT)
        expect(page.get_by_role("alert")).to_have_count(0)
    finally:
        assert stop(running) == 0


def test_serve_sends_fresh_files_and_nothing_outside_the_site(preview: Preview) -> None:
    assert preview.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(preview.url + "data/stats.json") as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.read().startswith(b"{")
    with urllib.request.urlopen(preview.url + "themes/did-it-improve.html") as response:
        assert b"/__memokit__/live.js" in response.read()
    for path in ("../memo/index.md", "%2e%2e/memo/index.md", "__memokit__/nothing", "no-such-page.html"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(preview.url + path)
        assert caught.value.code == 404, path


def test_a_port_in_use_is_one_clear_line_and_exit_2(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(BUILD_PY), "serve", "--port", str(port)], cwd=project,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"memokit serve: cannot listen on 127.0.0.1:{port}: port {port} is in use; choose another with --port"]
    assert not (project / "site").exists(), "nothing is built when the preview cannot start"


def test_a_template_change_rebuilds(project: Path) -> None:
    (project / "templates" / "assets").mkdir(parents=True)
    (project / "templates" / "assets" / "note.txt").write_text("first", encoding="utf-8")
    running = start(project)
    try:
        with urllib.request.urlopen(running.url + "assets/note.txt") as response:
            assert response.read() == b"first"
        (project / "templates" / "assets" / "note.txt").write_text("second", encoding="utf-8")
        rebuilding = running.wait_for(running.out, r"templates/assets/note\.txt changed; rebuilding")
        running.wait_for(running.out, r"^built site/: ", since=running.out.index(rebuilding))
        with urllib.request.urlopen(running.url + "assets/note.txt") as response:
            assert response.read() == b"second"
    finally:
        assert stop(running) == 0


def _raw(url: str, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` as it is to the preview and return all it answers before closing."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_the_preview_answers_only_to_loopback_names_lists_no_folder_and_stays_quiet(preview: Preview) -> None:
    port = preview.url.rstrip("/").rsplit(":", 1)[1]
    # A page elsewhere reaching the preview by DNS rebinding names its own host: refused.
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        answer = _raw(preview.url, f"GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.0 421"), (host, answer[:80])
        assert b"<html" not in answer
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        answer = _raw(preview.url, f"GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.0 200"), (host, answer[:80])
    # No listing of a folder, with or without its slash.
    for path in ("/themes/", "/data/", "/assets/"):
        answer = _raw(preview.url, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.0 404"), (path, answer[:80])
    # Malformed paths and requests get a plain error, and a client that goes away mid-answer is fine.
    for request in (b"GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    b"NONSENSE\r\n\r\n", b"\xff\xfe\r\n\r\n"):
        answer = _raw(preview.url, request)  # (a request without a version gets an HTTP/0.9 answer: no status line)
        assert answer.startswith(b"HTTP/1.0 4") or b"Error code: 400" in answer, (request[:20], answer[:80])
    port_number = int(port)
    with socket.create_connection(("127.0.0.1", port_number)) as connection:
        connection.sendall(f"GET /themes/did-it-improve.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    # A connection held open without a request is closed after a few seconds, not kept for ever.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port_number), timeout=30) as idle:
        assert idle.recv(1) == b""
    assert time.monotonic() - started < 25
    time.sleep(0.5)
    assert not any("Traceback" in line for line in preview.err), preview.err
