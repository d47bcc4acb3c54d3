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
import signal
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .. import interrupt
from ..build.load import find_signals_file, read_taxonomy
from ..build.validate import load_dataset, validate_taxonomy
from ..model import MODEL_ACCEPTED, InputError, Problems, Signal, Taxonomy, display_host, printable, url_key
from ..model.agreement import coded_digest
from ..serve.preview import IDLE, LOOPBACK_HOSTS
from .decisions import Action, Journal, Misfit, Splice, read
from .raw import one_line
from .store import (
    DROPPED_FILE,
    QUEUE_FILE,
    SIGNALS_FILE,
    QueueEntry,
    agreement_of,
    json_line,
    queue_lines,
    read_queue,
    to_append,
    write_queue,
)

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
    """A decision that cannot be made (an unknown theme, a post no longer first in the queue), or
    an undo that cannot be done."""


#: Why an undo finds a file other than its decision left it (by the file the change no longer fits).
MISFIT = {
    SIGNALS_FILE: "{path} no longer ends with the line coded for {id} as it was written (edited since?): nothing was "
                  "undone; change the file by hand instead",
    DROPPED_FILE: "{path} no longer ends with the line of the dropped post {id} as it was written (edited since?): "
                  "nothing was undone; change the file by hand instead",
    QUEUE_FILE: "{path} no longer ends with the skipped post {id} as the skip left it (memokit ingest or suggest, or "
                "an edit, changed the queue since): nothing was undone",
}
#: The decisions that code a post (the others skip or drop it).
CODED = ("accept", "theme")


@dataclass
class Desk:
    """The coding session: the data folder, the coder, and the decisions log (for undo, also of
    earlier sessions). ``first`` is the number of the session's first record; ``warnings``, what
    the start found to say (a change cut short and finished, agreement figures out of date)."""

    data: Path
    coder: str
    taxonomy: Taxonomy
    journal: Journal
    first: int
    warnings: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set when the server stops: no decision starts after it.
    closed: bool = False

    @classmethod
    def open(cls, data: Path, coder: str) -> Desk:
        problems = Problems()
        found = find_signals_file(data, problems)
        if found is not None and found.name != SIGNALS_FILE:
            # A decision is a line appended to signals.jsonl; a second signals file beside this one
            # would stop the next build ("keep one").
            problems.add(found, None, None, f"memokit code adds each decision to {SIGNALS_FILE} as a line, and this "
                         f"folder keeps its signals in {found.name}: keep them as {SIGNALS_FILE} to code "
                         "(memokit convert makes the Parquet from it afterwards)")
        problems.raise_if_any()
        journal = Journal(data)
        with interrupt.deferred():  # a change cut short is finished whole, whatever signal comes meanwhile
            warnings = journal.recover()
        interrupt.check()
        dataset = load_dataset(data)  # the signals must be valid before anything is added to them
        problems = Problems()
        raw = read_taxonomy(data, problems)
        taxonomy = validate_taxonomy(raw, problems) if raw else None
        read_queue(data, problems)
        problems.raise_if_any()
        assert taxonomy is not None
        _, stale = agreement_of(data, len(dataset), coded_digest(dataset.frame["title"], dataset.frame["theme"]))
        records = journal.records()
        return cls(data, coder, taxonomy, journal, records[-1].seq + 1 if records else 1,
                   [*warnings, *([stale] if stale else [])])

    # --- reading -------------------------------------------------------------------------------

    def _queue(self) -> list[QueueEntry]:
        problems = Problems()
        queue = read_queue(self.data, problems)
        problems.raise_if_any()
        # A post coded meanwhile by other means (a line added to signals.jsonl by hand) leaves the queue.
        coded = self._coded_keys()
        kept = [e for e in queue if (url_key(e.url)[0] or e.url) not in coded]
        # The queue as memokit writes it, so that a post's line is exactly what a decision takes off it.
        if queue_lines(kept) != (read(self.data / QUEUE_FILE) or ""):
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
            in_effect = self.journal.in_effect()
        labels = {t.id: t.label for t in self.taxonomy.themes}
        post = None
        if queue:
            entry = queue[0]
            key, _ = url_key(entry.url)
            suggestion = entry.suggestion.model_dump(mode="json") if entry.suggestion else None
            if suggestion and suggestion["theme"] not in labels:
                suggestion["theme"] = None  # a theme since removed from the codebook
            post = {"id": entry.id, "title": entry.title, "body": entry.body[:EXCERPT],
                    "more": max(0, len(entry.body) - EXCERPT), "source": self.taxonomy.source_label(entry.source),
                    "community": entry.community, "created": entry.created,
                    # Only http(s) links, and the host they really lead to.
                    "url": entry.url if key else None, "host": display_host(entry.url) if key else None,
                    "duplicates": len(entry.duplicates), "suggestion": suggestion}
        last = in_effect[-1] if in_effect else None
        undo = None if last is None else {
            "action": last.action, "id": last.id, "title": last.title, "coder": last.coder,
            "theme": labels.get(last.theme, last.theme) if last.theme else None, "earlier": last.seq < self.first}
        return {"post": post, "remaining": len(queue), "undo": undo, "coder": self.coder,
                "coded": sum(r.action in CODED and r.seq >= self.first for r in in_effect),
                "themes": [{"id": t.id, "label": t.label, "phase": t.phase, "definition": t.definition}
                           for t in self.taxonomy.themes]}

    # --- deciding ------------------------------------------------------------------------------

    def decide(self, post_id: str, action: str, theme: str | None, summary: str) -> None:
        with self.lock:
            self._check_open()
            queue = self._queue()
            if not queue or queue[0].id != post_id:
                raise Refused("that post is no longer the first in the queue; the page shows the current one")
            entry = queue[0]
            head = queue_lines([entry])
            if action == "skip":
                return self._commit({QUEUE_FILE: Splice(cut_head=head, add_tail=head)}, "skip", entry)
            if action == "drop":
                dropped = {"id": entry.id, "url": entry.url, "title": entry.title, "dropped_by": self.coder}
                return self._commit({DROPPED_FILE: self._append(DROPPED_FILE, json_line(dropped)),
                                     QUEUE_FILE: Splice(cut_head=head)}, "drop", entry)
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
            self._commit({SIGNALS_FILE: self._append(SIGNALS_FILE, line), QUEUE_FILE: Splice(cut_head=head)},
                         "accept" if action == "accept" else "theme", entry, theme)

    def undo(self) -> None:
        """Take back the newest decision still in effect, whichever session made it."""
        with self.lock:
            self._check_open()
            in_effect = self.journal.in_effect()
            if not in_effect:
                raise Refused(f"nothing to undo ({self.journal.path} holds no decision still in effect)")
            last = in_effect[-1]
            if last.action != "skip" and any(e.id == last.id for e in self._queue()):
                raise Refused(f"{last.id} is in {self.data / QUEUE_FILE} again already: nothing was undone")
            try:
                self.journal.commit({name: change.inverse() for name, change in last.files.items()}, coder=self.coder,
                                    action="undo", id=last.id, title=last.title, theme=last.theme, undoes=last.seq)
            except Misfit as exc:
                raise Refused(printable(MISFIT[exc.name].format(path=self.data / exc.name, id=last.id))) from None

    def _append(self, name: str, line: str) -> Splice:
        return Splice(add_tail=to_append(read(self.data / name), line))

    def _commit(self, splices: dict[str, Splice], action: Action, entry: QueueEntry, theme: str | None = None) -> None:
        try:
            self.journal.commit(splices, coder=self.coder, action=action, id=entry.id, title=entry.title, theme=theme)
        except Misfit as exc:  # (another program wrote the file between the reading and the writing)
            raise Refused(printable(f"{self.data / exc.name} changed while the decision was made: nothing was "
                                    "written; the page shows the queue as it is now")) from None

    def _check_open(self) -> None:
        if self.closed:
            raise Refused("memokit code is stopping: nothing was written")


def page(token: str) -> bytes:
    return (ASSETS / "code.html").read_text(encoding="utf-8").replace("{{token}}", html.escape(token)).encode()


class CodingServer(ThreadingHTTPServer):
    daemon_threads = True
    desk: Desk

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
    server = CodingServer(("127.0.0.1", port), handler)
    server.desk = desk
    return server


def serve(data: Path, coder: str, port: int) -> int:
    """Serve the coding page until Ctrl+C (exit 0) or SIGTERM (exit 143); return the exit code."""
    try:
        server = make_server(data, coder, port)
    except OSError as exc:
        why = f"port {port} is in use; choose another with --port" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(f"memokit code: cannot listen on 127.0.0.1:{port}: {why}", file=sys.stderr)
        return 2
    for warning in server.desk.warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr, flush=True)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(printable(f"memokit: coding {data / 'queue.jsonl'} as {coder} at {url} (every decision is saved at once); "
                    "Ctrl+C stops"), flush=True)
    code = 0
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    except interrupt.Interrupted as stopped:  # Ctrl+C ends a session as usual; SIGTERM is reported as such
        code = 0 if stopped.signum == signal.SIGINT else 128 + stopped.signum
    finally:
        interrupt.ignore()  # from here on a signal changes nothing
        server.server_close()
        # A decision being written when the signal came is finished first (its thread holds the
        # lock); none starts after it.
        with server.desk.lock:
            server.desk.closed = True
    print(printable(f"memokit: coding page stopped; every decision made is saved in {data}"), flush=True)
    return code
