"""``memokit code``: the local coding page. One queued post at a time; the coder accepts the
suggestion or picks a theme by keyboard, or skips or drops the post; each decision is written at
once, atomically, into ``data/signals.jsonl`` (or ``data/dropped.jsonl``) and taken off the queue.

The page is for the coder alone. It listens on 127.0.0.1 only and answers only requests naming a
loopback host (as the preview does, against DNS rebinding); every change is a POST of JSON that
carries the page's own random token in a header and comes from the page's own origin, so another
site open in the browser can neither read the queue nor make a decision.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import secrets
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .. import interrupt
from ..build.load import read_taxonomy
from ..build.validate import load_dataset, validate_taxonomy
from ..model import MODEL_ACCEPTED, InputError, Problems, Signal, Taxonomy, display_host, printable, url_key
from ..serve.preview import IDLE, LOOPBACK_HOSTS
from .raw import one_line
from .store import DROPPED_FILE, SIGNALS_FILE, QueueEntry, appended, json_line, read_queue, write_atomic, write_queue

ASSETS = Path(__file__).resolve().parent / "assets"
FILES = {"/code.js": ("code.js", "text/javascript; charset=utf-8"), "/code.css": ("code.css", "text/css; charset=utf-8")}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: How much of a post's body the page shows.
EXCERPT = 1500
#: The field order of a signal as the corpus writes it.
ORDER = ("id", "url", "source", "community", "title", "created", "theme", "phase", "summary", "model_family", "tool",
         "found_by", "sample", "corpus", "coded_by")


class Refused(ValueError):
    """A decision that cannot be made (an unknown theme, a post no longer first in the queue)."""


@dataclass
class Desk:
    """The coding session: the data folder, the coder, and what this session decided (for undo)."""

    data: Path
    coder: str
    taxonomy: Taxonomy
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: list[dict[str, Any]] = field(default_factory=list)
    coded: int = 0

    @classmethod
    def open(cls, data: Path, coder: str) -> Desk:
        load_dataset(data)  # the signals must be valid before anything is added to them
        problems = Problems()
        raw = read_taxonomy(data, problems)
        taxonomy = validate_taxonomy(raw, problems) if raw else None
        read_queue(data, problems)
        problems.raise_if_any()
        assert taxonomy is not None
        return cls(data, coder, taxonomy)

    # --- reading -------------------------------------------------------------------------------

    def _queue(self) -> list[QueueEntry]:
        problems = Problems()
        queue = read_queue(self.data, problems)
        problems.raise_if_any()
        # A post already coded (a decision cut short between its two writes) leaves the queue.
        coded = self._coded_keys()
        kept = [e for e in queue if (url_key(e.url)[0] or e.url) not in coded]
        if len(kept) != len(queue):
            write_queue(self.data, kept)
        return kept

    def _coded_keys(self) -> set[str]:
        path = self.data / SIGNALS_FILE
        keys = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                url = json.loads(line).get("url", "")
                keys.add(url_key(url)[0] or url)
        return keys

    def state(self) -> dict[str, Any]:
        with self.lock:
            queue = self._queue()
        post = None
        if queue:
            entry = queue[0]
            key, _ = url_key(entry.url)
            suggestion = entry.suggestion.model_dump(mode="json") if entry.suggestion else None
            if suggestion and suggestion["theme"] not in {t.id for t in self.taxonomy.themes}:
                suggestion["theme"] = None  # a theme since removed from the codebook
            post = {"id": entry.id, "title": entry.title, "body": entry.body[:EXCERPT],
                    "more": max(0, len(entry.body) - EXCERPT), "source": self.taxonomy.source_label(entry.source),
                    "community": entry.community, "created": entry.created,
                    # Only http(s) links, and the host they really lead to.
                    "url": entry.url if key else None, "host": display_host(entry.url) if key else None,
                    "duplicates": len(entry.duplicates), "suggestion": suggestion}
        return {"post": post, "remaining": len(queue), "coded": self.coded, "undo": len(self.done), "coder": self.coder,
                "themes": [{"id": t.id, "label": t.label, "phase": t.phase, "definition": t.definition}
                           for t in self.taxonomy.themes]}

    # --- deciding ------------------------------------------------------------------------------

    def decide(self, post_id: str, action: str, theme: str | None, summary: str) -> None:
        with self.lock:
            queue = self._queue()
            if not queue or queue[0].id != post_id:
                raise Refused("that post is no longer the first in the queue; the page shows the current one")
            entry, rest = queue[0], queue[1:]
            if action == "skip":
                write_queue(self.data, [*rest, entry])
                self.done.append({"action": "skip", "entry": entry})
                return
            if action == "drop":
                dropped = {"id": entry.id, "url": entry.url, "title": entry.title, "dropped_by": self.coder}
                path = self.data / DROPPED_FILE
                write_atomic(path, appended(path, json_line(dropped)))
                write_queue(self.data, rest)
                self.done.append({"action": "drop", "entry": entry})
                return
            suggested = entry.suggestion.theme if entry.suggestion else None
            if action == "accept":
                if suggested is None:
                    raise Refused("this post has no suggestion to accept: pick a theme")
                theme = suggested
            elif action != "theme":
                raise Refused(f"unknown action {action!r}")
            key, problem = url_key(entry.url)
            if key is None:
                raise Refused(f"this post cannot be coded: {problem}; drop it")
            themes = {t.id: t for t in self.taxonomy.themes}
            if theme not in themes:
                raise Refused(f"unknown theme {theme!r}")
            # A theme picked that is the one suggested rests on the suggestion as much as one accepted.
            coded_by = f"{MODEL_ACCEPTED}:{self.coder}" if theme == suggested else self.coder
            record: dict[str, Any] = {"id": entry.id, "url": entry.url, "source": entry.source, "community": entry.community,
                      "title": entry.title, "created": entry.created, "theme": theme, "phase": themes[theme].phase,
                      # Without a summary of the coder's own, the post's title stands in for it.
                      "summary": one_line(summary) or entry.title, "model_family": "unknown", "tool": "unknown",
                      "found_by": list(entry.found_by), "sample": entry.sample, "corpus": entry.corpus,
                      "coded_by": coded_by}
            Signal.model_validate(record)  # never a line the build would refuse
            line = json_line({k: record[k] for k in ORDER if record[k] not in ("", None) or k == "created"})
            path = self.data / SIGNALS_FILE
            write_atomic(path, appended(path, line))
            write_queue(self.data, rest)
            self.coded += 1
            self.done.append({"action": "code", "entry": entry})

    def undo(self) -> None:
        with self.lock:
            if not self.done:
                raise Refused("nothing to undo")
            last = self.done.pop()
            entry: QueueEntry = last["entry"]
            queue = self._queue()
            if last["action"] == "skip":
                queue = [e for e in queue if e.id != entry.id]
            elif last["action"] == "drop":
                path = self.data / DROPPED_FILE
                lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                         if line.strip() and json.loads(line).get("id") != entry.id]
                write_atomic(path, "".join(lines))
            else:
                path = self.data / SIGNALS_FILE
                lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                         if not line.strip() or json.loads(line).get("id") != entry.id]
                write_atomic(path, "".join(lines))
                self.coded -= 1
            write_queue(self.data, [entry, *queue])


def page(token: str) -> bytes:
    return (ASSETS / "code.html").read_text(encoding="utf-8").replace("{{token}}", html.escape(token)).encode()


class CodingServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away or sent something broken: answered where possible, no traceback


class Handler(BaseHTTPRequestHandler):
    desk: Desk
    token: str
    timeout = IDLE

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            super().handle()

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in LOOPBACK_HOSTS

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: HTTPStatus, data: Any) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False).encode())

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain; charset=utf-8",
                              b"The coding page answers only to 127.0.0.1 and localhost on this machine.\n")
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", page(self.token))
        if path in FILES:
            name, kind = FILES[path]
            return self._send(HTTPStatus.OK, kind, (ASSETS / name).read_bytes())
        if path == "/api/state":
            return self._json(HTTPStatus.OK, self.desk.state())
        return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "not a loopback host"})
        origin = self.headers.get("Origin")
        host = self.headers.get("Host", "")
        if origin is not None and origin != f"http://{host}":
            return self._json(HTTPStatus.FORBIDDEN, {"error": "a request from another origin"})
        if not secrets.compare_digest(self.headers.get("X-Memokit-Token", ""), self.token):
            return self._json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong session token: reload the page"})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "expected JSON"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= 100_000:
                raise ValueError
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "expected a JSON object"})
        try:
            if self.path == "/api/decide":
                self.desk.decide(str(body.get("id", "")), str(body.get("action", "")),
                                 body.get("theme") if isinstance(body.get("theme"), str) else None,
                                 str(body.get("summary") or ""))
            elif self.path == "/api/undo":
                self.desk.undo()
            else:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        except Refused as exc:
            return self._json(HTTPStatus.CONFLICT, {"error": str(exc), **self.desk.state()})
        except (InputError, ValueError) as exc:
            return self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": printable(str(exc).splitlines()[0])})
        return self._json(HTTPStatus.OK, self.desk.state())


def make_server(data: Path, coder: str, port: int) -> CodingServer:
    """The coding server, bound to 127.0.0.1 (not yet serving)."""
    desk = Desk.open(data, coder)
    handler = type("BoundHandler", (Handler,), {"desk": desk, "token": secrets.token_urlsafe(32)})
    return CodingServer(("127.0.0.1", port), handler)


def serve(data: Path, coder: str, port: int) -> int:
    """Serve the coding page until Ctrl+C; return the exit code."""
    try:
        server = make_server(data, coder, port)
    except OSError as exc:
        why = f"port {port} is in use; choose another with --port" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(f"memokit code: cannot listen on 127.0.0.1:{port}: {why}", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(printable(f"memokit: coding {data / 'queue.jsonl'} as {coder} at {url} (every decision is saved at once); "
                    "Ctrl+C stops"), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, interrupt.Interrupted):
        pass
    finally:
        server.server_close()
    print("memokit: coding page stopped", flush=True)
    return 0
