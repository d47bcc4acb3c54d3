"""Stack Exchange API 2.3: ``/2.3/search/advanced`` on one site, by creation date, paged by page
number while ``has_more``.

Every response is a wrapper with ``quota_remaining`` (300 requests a day without a key, 10,000
with ``STACKEXCHANGE_KEY``) and sometimes ``backoff``, the seconds to wait before the next
request, which is kept. Errors carry ``error_id``, ``error_name`` and ``error_message``; a
``throttle_violation`` says how long to wait.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from ..model.text import SLUG_RE
from .common import Adapter, CredentialsError, Limits, Paging, Post, Reply, Request, Retry, SourceError, Window, post_id
from .config import Option
from .plaintext import strip_html, unescaped_line
from .shape import Node, ShapeError, opt_str

PAGE_SIZE = 100


def _site(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,60}", value):
        return None
    return f"expected a site's API name such as stackoverflow or datascience, got {value!r}"


class StackExchange(Adapter):
    KIND = "stackexchange"
    NAME = "Stack Exchange"
    BASE_URL = "https://api.stackexchange.com"
    OPTIONS: ClassVar[Mapping[str, Option]] = {
        "site": Option("the site's API name: stackoverflow, datascience, ai, stats …", default="stackoverflow",
                       check=_site),
        "tagged": Option("only questions with all of these tags, separated by semicolons", optional=True),
    }
    EARLIEST = "2008-07-01"
    MIN_INTERVAL = 0.1  # more than 30 requests a second from one address are dropped
    ENVIRONMENT = ("STACKEXCHANGE_KEY",)

    @classmethod
    def default_source(cls, options: Mapping[str, str]) -> str:
        # As the coded data names them: "stackoverflow", "datascience", "ai" (sites are slugs).
        site = options.get("site", "")
        return site if SLUG_RE.fullmatch(site) else cls.KIND

    def _key(self) -> str | None:
        return self.env.get("STACKEXCHANGE_KEY") or None

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        key = self._key()
        return {}, ({"key": key} if key else {})

    def secrets(self) -> list[str]:
        key = self._key()
        return [key] if key else []

    def first(self, window: Window) -> Request:
        params = [("site", self.spec.option("site")), ("q", self.spec.query), ("sort", "creation"), ("order", "asc"),
                  ("fromdate", str(window.start)), ("todate", str(window.end - 1)), ("pagesize", str(PAGE_SIZE)),
                  ("page", "1"), ("filter", "withbody")]
        if "tagged" in self.spec.options:
            params.append(("tagged", self.spec.option("tagged")))
        return Request(f"{self.base}/2.3/search/advanced", tuple(params))

    def posts(self, role: str, body: Node) -> list[Post]:
        posts = []
        for item in body["items"].array():
            link = item["link"].string()
            owner = item.get("owner")
            name = opt_str(owner.get("display_name")) if owner is not None else None
            posts.append(Post(
                id=post_id("se", Node(self.spec.option("site"), "site"), item["question_id"]),
                url=link,
                community=(urlsplit(link).hostname or self.spec.option("site")).lower(),
                title=unescaped_line(item["title"].string()),
                body=strip_html(item["body"].string()),
                created_at=float(item["creation_date"].integer()),
                author=html.unescape(name) if name is not None else None,
                score=item["score"].integer(),
            ))
        return posts

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        if not reply.json["has_more"].boolean():
            return Paging(None)
        page = int(reply.request.param("page") or "1")
        return Paging(reply.request.with_param("page", str(page + 1)))

    def limits(self, reply: Reply) -> Limits:
        if reply.body is None or not isinstance(reply.body.value, dict):
            return Limits()
        remaining = reply.body.get("quota_remaining")
        backoff = reply.body.get("backoff")
        left = float(remaining.integer()) if remaining is not None else None
        reset = None
        if left is not None and left <= 0:  # the daily quota: it comes back the next day (UTC)
            tomorrow = datetime.fromtimestamp(reply.fetched, UTC).date() + timedelta(days=1)
            reset = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).timestamp()
        return Limits(remaining=left, reset_at=reset, pause=float(backoff.integer()) if backoff is not None else None)

    def refusal(self, reply: Reply) -> Retry | None:
        try:
            error = Node(json.loads(reply.content))
            error_id = error["error_id"].integer()
        except (ValueError, ShapeError):  # not the wrapper: the common rules apply
            return None
        name = opt_str(error.get("error_name")) or "?"
        message = opt_str(error.get("error_message")) or ""
        said = f"Stack Exchange error {error_id} {name}: {message}"
        if error_id == 502:  # throttle_violation: "… more requests available in 82 seconds"
            found = re.search(r"(\d+)\s*seconds", message)
            return Retry(said, wait=float(found.group(1)) if found else None, minimum=30.0)
        if error_id in (500, 503):
            return Retry(said)
        if error_id in (401, 402, 403, 405, 406) or (self._key() and "key" in message.lower()):
            raise CredentialsError(f"{said} (check STACKEXCHANGE_KEY)")
        raise SourceError(said)
