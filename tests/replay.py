"""A local replay server for ``memokit collect``'s tests: 127.0.0.1 only, no network.

It serves the posts of ``tests/fixtures/collect/<kind>/`` (each a response shaped exactly like the
source's documented one, see ``../shared/research/source-apis.md``) the way the real API pages and
filters them: GitHub by ``created:`` ranges and ``Link`` headers, Algolia by ``numericFilters``
and page numbers, Stack Exchange by ``fromdate``/``todate`` and ``has_more``, Reddit newest first
by ``after`` cursors, Discourse by ``after:`` and ``more_full_page_results`` plus one ``/t/{id}.json``
per topic. Pages are small (``page_size``) so that paging happens with a handful of posts.

``faults`` holds responses to serve before the normal one for a path (a 429 with ``Retry-After``,
a 502, a malformed body); ``log`` records every request that arrived (path, parameters, headers).
``clock`` is the tests' fake clock, so rate-limit reset times agree with the collector's time.
"""

from __future__ import annotations

import copy
import http.server
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "collect"


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


class FakeClock:
    """The collector's clock: ``sleep`` records the wait and moves time on, at once."""

    def __init__(self, now: str):
        self.now = _epoch(now)
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


def _compare(left: int, op: str, right: int) -> bool:
    return {">=": left >= right, "<": left < right, ">": left > right, "<=": left <= right}[op]


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass
class Response:
    status: int = 200
    body: Any = None            # JSON-encoded unless bytes or str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # real seconds to wait before answering (a slow server)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


@dataclass
class Hit:
    """One request the server received."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float  # the fake clock's time when it arrived


class Replay:
    """The state the handler reads: the posts each source holds, faults to serve, and the log."""

    def __init__(self, clock: FakeClock, page_size: int = 2):
        self.clock = clock
        self.page_size = page_size
        self.base = ""
        self.log: list[Hit] = []
        self.faults: dict[str, list[Response]] = {}
        self.github = fixture("github/search-issues.json")["items"]
        self.hackernews = fixture("hackernews/search_by_date.json")["hits"]
        self.stackexchange = fixture("stackexchange/search-advanced.json")["items"]
        self.reddit = fixture("reddit/search.json")["data"]["children"]
        self.discourse = fixture("discourse/search.json")
        self.topics = {int(p.stem): json.loads(p.read_text(encoding="utf-8")) for p in (FIXTURES / "discourse" / "t").glob("*.json")}
        #: Extra fields for one Stack Exchange page's wrapper (``{2: {"backoff": 10}}``).
        self.stackexchange_extra: dict[int, dict[str, Any]] = {}
        #: GitHub's x-ratelimit-remaining, counting down with each search.
        self.github_remaining = 30
        self.routes: dict[str, Callable[[dict[str, str]], Response]] = {
            "/search/issues": self._github,
            "/api/v1/search_by_date": self._hackernews_by_date,
            "/api/v1/search": self._hackernews,
            "/2.3/search/advanced": self._stackexchange,
            "/search.json": self._discourse,
            "/api/v1/access_token": self._reddit_token,
        }

    def hits(self, path: str) -> list[Hit]:
        return [hit for hit in self.log if hit.path == path]

    def gaps(self, path: str | None = None) -> list[float]:
        """The time between consecutive requests (to ``path``), by the fake clock."""
        hits = self.log if path is None else self.hits(path)
        return [round(b.at - a.at, 3) for a, b in itertools.pairwise(hits)]

    def fail(self, path: str, *responses: Response) -> None:
        self.faults.setdefault(path, []).extend(responses)

    def answer(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        self.log.append(Hit(method, path, params, headers, self.clock.time()))
        if self.faults.get(path):
            fault = self.faults[path].pop(0)
            # A fault without a body is the normal answer, only slow.
            return fault if fault.body is not None else replace(self.routes[path](params), delay=fault.delay)
        if path in self.routes:
            return self.routes[path](params)
        found = re.fullmatch(r"/t/(\d+)\.json", path)
        if found and int(found.group(1)) in self.topics:
            return Response(body=self.topics[int(found.group(1))])
        found = re.fullmatch(r"/r/([^/]+)/search(?:\.json)?", path)
        if found:
            return self._reddit(params)
        return Response(404, {"message": "Not Found"})

    # --- GitHub -------------------------------------------------------------------------------

    def _github(self, params: dict[str, str]) -> Response:
        found = re.search(r"created:(\S+)\.\.(\S+)", params["q"])
        assert found, f"no created: range in {params['q']!r}"
        start, end = _epoch(found.group(1)), _epoch(found.group(2))
        items = sorted((i for i in self.github if start <= _epoch(i["created_at"]) <= end), key=lambda i: i["created_at"])
        page = int(params.get("page", "1"))
        size = min(int(params.get("per_page", "30")), self.page_size)
        chunk = items[(page - 1) * size: page * size]
        self.github_remaining -= 1
        headers = {"x-ratelimit-limit": "30", "x-ratelimit-remaining": str(self.github_remaining),
                   "x-ratelimit-used": str(30 - self.github_remaining), "x-ratelimit-resource": "search",
                   "x-ratelimit-reset": str(int(self.clock.time()) + 60)}
        if page * size < len(items):
            links = [f'<{self.base}/search/issues?{urlencode({**params, "page": str(page + 1)})}>; rel="next"',
                     f'<{self.base}/search/issues?{urlencode({**params, "page": str(-(-len(items) // size))})}>; rel="last"']
            headers["Link"] = ", ".join(links)
        return Response(body={"total_count": len(items), "incomplete_results": False, "items": chunk}, headers=headers)

    # --- Hacker News (Algolia) ----------------------------------------------------------------

    def _hackernews_by_date(self, params: dict[str, str]) -> Response:
        return self._algolia(params, newest_first=True)

    def _hackernews(self, params: dict[str, str]) -> Response:
        return self._algolia(params, newest_first=False)

    def _algolia(self, params: dict[str, str], newest_first: bool) -> Response:
        hits = list(self.hackernews)
        for condition in params.get("numericFilters", "").split(","):
            found = re.fullmatch(r"created_at_i(>=|<|>|<=)(\d+)", condition.strip())
            assert found, f"unexpected numericFilters {params.get('numericFilters')!r}"
            op, value = found.group(1), int(found.group(2))
            hits = [h for h in hits if _compare(h["created_at_i"], op, value)]
        hits.sort(key=lambda h: h["created_at_i"], reverse=newest_first)
        size = min(int(params.get("hitsPerPage", "20")), self.page_size)
        page = int(params.get("page", "0"))
        pages = -(-len(hits) // size)
        return Response(body={"hits": hits[page * size:(page + 1) * size], "nbHits": len(hits), "page": page,
                              "nbPages": pages, "hitsPerPage": size})

    # --- Stack Exchange -----------------------------------------------------------------------

    def _stackexchange(self, params: dict[str, str]) -> Response:
        assert params.get("site"), "site is required"
        start, end = int(params.get("fromdate", "0")), int(params.get("todate", str(2**40)))
        items = sorted((i for i in self.stackexchange if start <= i["creation_date"] <= end),
                       key=lambda i: i["creation_date"])
        if params.get("filter") != "withbody":
            items = [{k: v for k, v in i.items() if k != "body"} for i in items]
        page, size = int(params.get("page", "1")), min(int(params.get("pagesize", "30")), self.page_size)
        body = {"items": items[(page - 1) * size: page * size], "has_more": page * size < len(items),
                "quota_max": 10000, "quota_remaining": 9990 - len(self.hits("/2.3/search/advanced")),
                **self.stackexchange_extra.get(page, {})}
        return Response(body=body)

    # --- Reddit -------------------------------------------------------------------------------

    def _reddit_token(self, params: dict[str, str]) -> Response:
        return Response(body={"access_token": "reddit-token-abc123", "token_type": "bearer", "expires_in": 86400,
                              "scope": "*"})

    def _reddit(self, params: dict[str, str]) -> Response:
        children = sorted(self.reddit, key=lambda c: c["data"]["created_utc"], reverse=True)
        after = params.get("after")
        if after:
            names = [c["data"]["name"] for c in children]
            children = children[names.index(after) + 1:]
        size = min(int(params.get("limit", "25")), self.page_size)
        chunk = children[:size]
        more = len(children) > size
        data = {"after": chunk[-1]["data"]["name"] if more else None, "before": None, "dist": len(chunk),
                "children": chunk}
        headers = {"X-Ratelimit-Used": str(len(self.log)), "X-Ratelimit-Remaining": "99.0", "X-Ratelimit-Reset": "60"}
        return Response(body={"kind": "Listing", "data": data}, headers=headers)

    # --- Discourse ----------------------------------------------------------------------------

    def _discourse(self, params: dict[str, str]) -> Response:
        found = re.search(r"after:(\d{4}-\d{2}-\d{2})", params.get("q", ""))
        after = _epoch(found.group(1)) if found else 0
        pool = copy.deepcopy(self.discourse)
        # after: matches posts, so a topic with a new reply is found again.
        latest: dict[int, str] = {}
        for post in pool["posts"]:
            if _epoch(post["created_at"]) >= after:
                latest[post["topic_id"]] = max(latest.get(post["topic_id"], ""), post["created_at"])
        topics = sorted((t for t in pool["topics"] if t["id"] in latest), key=lambda t: latest[t["id"]], reverse=True)
        page, size = int(params.get("page", "1")), self.page_size
        chunk = topics[(page - 1) * size: page * size]
        ids = {t["id"] for t in chunk}
        posts = [p for p in pool["posts"] if p["topic_id"] in ids]
        more = True if page * size < len(topics) else None
        return Response(body={"posts": posts, "topics": chunk, "users": [], "categories": [],
                              "grouped_search_result": {"post_ids": [p["id"] for p in posts],
                                                        "more_full_page_results": more}})


class _Handler(http.server.BaseHTTPRequestHandler):
    replay: Replay

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if self.command == "POST":
            length = int(self.headers.get("Content-Length", "0"))
            params.update(parse_qsl(self.rfile.read(length).decode("utf-8")))
        response = self.replay.answer(self.command, parts.path, params, {k.lower(): v for k, v in self.headers.items()})
        content = response.encoded()
        if response.delay:
            time.sleep(response.delay)
        self.send_response(response.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def replay_server(clock: FakeClock, page_size: int = 2) -> Iterator[Replay]:
    """Serve a ``Replay`` on 127.0.0.1 (a free port) for the length of the block."""
    replay = Replay(clock, page_size)
    handler = type("Handler", (_Handler,), {"replay": replay})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    replay.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
