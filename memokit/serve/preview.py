"""Live preview (``memokit serve``): build, serve the site on 127.0.0.1, rebuild on change, and
reload the pages that are open.

- The watcher polls the data, memo and templates folders (every file's size and modification
  time, a few times a second): no dependency, and it sees editors that save by replacing a file.
- Builds run in this process, one at a time, through the same code as ``memokit``; a build swaps
  the output folder into place only when it succeeds, so a failed one leaves the last good site
  being served.
- Every HTML page is served with a small script and stylesheet added (never written to disk)
  that listen to ``/__memokit__/events`` (server-sent events). A successful rebuild reloads the
  page; a failed one shows its problems over the page, and in the terminal, until it is fixed.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import sys
import threading
import time
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import interrupt
from ..build.cache import BuildCache
from ..build.pipeline import Project
from ..console import EXIT_INPUT, EXIT_OK, PREVIEW_STOPPED, TerminalProgress, run_build
from ..model.problems import printable

#: The preview's own script and stylesheet, added to every page it serves.
ASSET_DIR = Path(__file__).resolve().parent / "assets"
#: Where the preview's own files and event stream live; no site file can be there.
PREFIX = "/__memokit__/"
EVENTS = PREFIX + "events"
ASSETS = {PREFIX + "live.js": ("live.js", "text/javascript; charset=utf-8"),
          PREFIX + "live.css": ("live.css", "text/css; charset=utf-8")}
#: Seconds between two looks at the watched folders, and of quiet before a rebuild starts
#: (an editor or a script often writes several files at once).
POLL, SETTLE = 0.25, 0.15
#: Seconds between keep-alive comments on an idle event stream.
KEEPALIVE = 15.0


class Preview:
    """The state of a preview: the project, its builds, and who is waiting to hear of them."""

    def __init__(self, project: Project, quiet: bool = False, verbose: bool = False):
        self.project = project
        self.quiet, self.verbose = quiet, verbose
        self.building = threading.Lock()  # held while a build runs
        self.changed = threading.Condition()
        self.version = 0  # successful builds so far; a page that saw another one reloads
        self.error: str | None = None  # the last build's problems, while it is the last word
        self.stopping = False
        self.cache = BuildCache()  # what a rebuild may reuse of the last one: the data, its pages, charts

    def state(self) -> dict[str, Any]:
        with self.changed:
            return {"version": self.version, "error": self.error}

    def rebuild(self, reason: str | None = None) -> int:
        """Build once; tell the terminal and every open page how it went; return the exit code."""
        if reason:
            _say(f"memokit: {reason}; rebuilding")
        with self.building:
            report = run_build(self.project, verbose=self.verbose, cache=self.cache,
                               progress=None if self.quiet else TerminalProgress.on(sys.stderr))
        for line in report.errors:
            print(line, file=sys.stderr, flush=True)
        if report.code == EXIT_OK:
            if report.summary and not self.quiet:
                _say(report.summary)
        else:
            _say("memokit: the last good build is still being served" if self.project.out.is_dir()
                 else "memokit: nothing to serve until the build succeeds", sys.stderr)
        with self.changed:
            if report.code == EXIT_OK:
                self.version += 1
                self.error = None
            else:
                self.error = "\n".join(report.errors)
            self.changed.notify_all()
        with self.building, interrupt.deferred():  # the pages reload meanwhile
            self.cache.tidy()
        return report.code

    def wait_for_change(self, seen: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Return the state once it differs from ``seen``, or after ``timeout`` seconds."""
        with self.changed:  # a re-entrant lock: ``state`` takes it again
            self.changed.wait_for(lambda: self.stopping or self.state() != seen, timeout)
            return self.state()

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()

    def watched(self) -> list[Path]:
        folders = [self.project.data, self.project.memo, *self.project.template_dirs()]
        return list(dict.fromkeys(folder.resolve() for folder in folders))


def snapshot(folders: list[Path]) -> dict[Path, tuple[int, int]]:
    """Every file under ``folders`` (but hidden ones and editors' backups) with its modification
    time and size."""
    found: dict[Path, tuple[int, int]] = {}
    for folder in folders:
        if folder.is_file():
            paths = [folder]
        elif folder.is_dir():
            paths = sorted(folder.rglob("*"))
        else:
            continue
        for path in paths:
            relative = path.relative_to(folder).parts if path != folder else (path.name,)
            if any(part.startswith(".") for part in relative) or path.name.endswith(("~", ".swp", ".swx")):
                continue
            try:
                info = path.stat()
            except OSError:  # removed while we looked
                continue
            if path.is_file():
                found[path] = (info.st_mtime_ns, info.st_size)
    return found


def changes(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]) -> list[Path]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


#: Seconds a connection may sit idle (no request, or a request arriving too slowly) before it
#: is closed: a held-open connection cannot pin a thread for ever.
IDLE = 5.0
#: The names the preview answers to. Any other Host header is a page elsewhere reaching the
#: preview through DNS rebinding, to read unpublished drafts: refused.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class PreviewServer(ThreadingHTTPServer):
    """The preview's HTTP server: threads that end with the process, and no traceback when a
    client goes away or sends something broken (the handler answers what it can)."""

    daemon_threads = True
    verbose = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            print(f"memokit serve: a request from {client_address[0]} failed: {sys.exc_info()[1]!r}",
                  file=sys.stderr, flush=True)


class Handler(SimpleHTTPRequestHandler):
    """Serves the output folder as it is now, adding the live-reload script to every page."""

    preview: Preview
    timeout = IDLE

    def __init__(self, *args: Any, preview: Preview, **kwargs: Any):
        self.preview = preview
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        if self.preview.verbose:
            super().log_message(format, *args)

    def handle(self) -> None:
        # A client that goes away, or a connection idle past its time, ends quietly.
        with contextlib.suppress(OSError):  # ConnectionError and TimeoutError among them
            super().handle()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in LOOPBACK_HOSTS:
            body = (b"The memokit preview answers only to 127.0.0.1 and localhost on this machine. "
                    b"(This request named another host, as a page elsewhere would through DNS rebinding.)\n")
            self.send_response(HTTPStatus.MISDIRECTED_REQUEST)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return False
        return True

    def list_directory(self, path: Any) -> None:
        # Never a listing of what lies in the output folder: a page or a 404.
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._get()
        except (ConnectionError, TimeoutError):
            raise
        except (ValueError, OSError, UnicodeError):  # a path with a NUL byte, a name too long: a bad request
            self.send_error(HTTPStatus.BAD_REQUEST)

    def _get(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == EVENTS and self.command == "GET":
            return self._events()
        if path in ASSETS:
            name, kind = ASSETS[path]
            return self._send(HTTPStatus.OK, kind, (ASSET_DIR / name).read_bytes())
        if path.startswith(PREFIX):
            return self.send_error(HTTPStatus.NOT_FOUND)
        target = self._file(path)
        if target is not None and target.suffix == ".html":
            # The build's number first, then the page: a page newer than its number is possible
            # (it is reloaded once more), one older is not (it would never be reloaded).
            version = self.preview.state()["version"]
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", _inject(target.read_bytes(), version))
        if target is None and not Path(self.directory).is_dir():
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/html; charset=utf-8", self._no_site())
        # Other files; directories without a slash (a redirect); 404s.
        return super().do_HEAD() if self.command == "HEAD" else super().do_GET()

    def _file(self, path: str) -> Path | None:
        """The file a request names, waiting for a build under way if it is missing just now
        (the output folder is swapped at the end of each build)."""
        for attempt in range(2):
            target = Path(self.translate_path(self.path))
            if target.is_dir() and path.endswith("/"):
                target = target / "index.html"
            if target.is_file():
                return target
            if attempt == 0:
                with self.preview.building:
                    pass
        return None

    def _no_site(self) -> bytes:
        state = self.preview.state()
        error = state["error"] or "The first build has not finished yet."
        return (b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>memokit preview: '
                b'no site yet</title>' + _live(state["version"]) +
                f'</head><body><main><h1>No site yet</h1><p>The build failed; fix the problems below and '
                f'this page reloads by itself.</p><pre>{html.escape(error)}</pre></main></body></html>'.encode())

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        seen: dict[str, Any] | None = None
        try:
            while not self.preview.stopping:
                state = self.preview.state() if seen is None else self.preview.wait_for_change(seen, KEEPALIVE)
                if state != seen:
                    self.wfile.write(f"data: {json.dumps(state)}\n\n".encode())
                    seen = state
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass


def _live(version: int) -> bytes:
    """The preview's stylesheet and script for a page of the ``version``-th good build: the
    script reloads the page as soon as the preview has another one, also one that was made
    before the script could ask."""
    return (f'<link rel="stylesheet" href="{PREFIX}live.css">'
            f'<script src="{PREFIX}live.js" data-version="{version}" defer></script>').encode()


def _inject(page: bytes, version: int) -> bytes:
    """Add the live-reload script and stylesheet to a page's head (or its start)."""
    at = page.find(b"</head>")
    return page[:at] + _live(version) + page[at:] if at >= 0 else _live(version) + page


def _say(line: str, stream: Any = None) -> None:
    # File names are input too: a name holding a newline or a terminal escape is shown escaped.
    print(printable(line), file=stream or sys.stdout, flush=True)


def serve(project: Project, port: int = 8000, quiet: bool = False, verbose: bool = False) -> int:
    """Run the preview until Ctrl+C (SIGINT) or SIGTERM; return the exit code.

    From the command line a signal raises ``memokit.interrupt.Interrupted`` wherever this is (a
    build included, which then leaves no staging folder); used as a library, Ctrl+C raises
    ``KeyboardInterrupt``. Either stops the server thread, closes the socket and says so."""
    preview = Preview(project, quiet=quiet, verbose=verbose)
    handler = partial(Handler, preview=preview, directory=str(project.out.resolve()))
    server: ThreadingHTTPServer | None = None
    serving = False
    try:
        try:
            server = PreviewServer(("127.0.0.1", port), handler)
            server.verbose = verbose
        except OSError as exc:
            why = f"port {port} is in use; choose another with --port" if exc.errno == errno.EADDRINUSE else exc.strerror
            print(f"memokit serve: cannot listen on 127.0.0.1:{port}: {why}", file=sys.stderr)
            return EXIT_INPUT
        server.daemon_threads = True
        folders = preview.watched()
        before = snapshot(folders)
        preview.rebuild()
        interrupt.check()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        with interrupt.deferred():  # started or not, never half-way: shutdown() must know which
            thread.start()
            serving = True
        interrupt.check()
        shown = ", ".join(_short(folder) for folder in folders)
        _say(f"memokit: serving {_short(project.out.resolve())}/ at {url} and watching {shown}; Ctrl+C stops")
        while True:
            time.sleep(POLL)
            interrupt.check()  # (a signal whose exception something caught and dropped)
            after = snapshot(folders)
            if after == before:
                continue
            while True:  # let a burst of writes finish
                time.sleep(SETTLE)
                settled = snapshot(folders)
                if settled == after:
                    break
                after = settled
            changed = changes(before, after)
            before = after
            names = ", ".join(_short(path) for path in changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            preview.rebuild(f"{names} changed")
            interrupt.check()  # a signal held back while the site was swapped in
    except (interrupt.Interrupted, KeyboardInterrupt):
        pass
    finally:
        preview.stop()  # ends the pages' event streams
        preview.cache.tidy()  # (an old site a build swapped out, if a signal came before it was removed)
        if server is not None:
            if serving:  # (shutdown() would wait forever for a loop that never started)
                server.shutdown()
            server.server_close()
    _say(PREVIEW_STOPPED)
    return EXIT_OK


def _short(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, for shorter messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
