"""Discourse forums (the Hugging Face Forum, …): ``/search.json`` finds topics, newest first,
paged by number while ``grouped_search_result.more_full_page_results`` is set; then
``/t/{id}.json`` gives each topic's first post (its ``cooked`` HTML is the body). A topic
already collected is not fetched again.

No credentials; by default 200 requests a minute and 50 per 10 seconds per address, so requests
are paced at least 0.25 s apart; a 429 is plain text with ``Retry-After``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

from .common import Adapter, Paging, Post, Reply, Request, SourceError, Window, post_id
from .config import Option, http_url_problem
from .plaintext import date_of, one_line, parse_iso, strip_html
from .shape import Node, opt_int, opt_str

DAY = 86_400


class Discourse(Adapter):
    KIND = "discourse"
    NAME = "Discourse"
    OPTIONS: ClassVar[Mapping[str, Option]] = {"forum": Option("the forum's address, e.g. https://discuss.huggingface.co", check=http_url_problem)}
    EARLIEST = "2013-01-01"
    MIN_INTERVAL = 0.25

    def default_base(self) -> str:
        return self.spec.option("forum")

    @property
    def forum(self) -> str:
        return self.spec.option("forum").rstrip("/")

    @property
    def host(self) -> str:
        return (urlsplit(self.forum).hostname or "").lower()

    @classmethod
    def check_query(cls, query: str) -> str | None:
        if re.search(r"(?i)(^|\s)(after|before|order):", query):
            return "remove after:, before: and order:: memokit adds them itself (use since = \"YYYY-MM-DD\")"
        return None

    def topic_id(self, topic: int) -> str:
        return post_id("discourse", Node(self.host, "forum"), Node(topic, "id"))

    def first(self, window: Window) -> Request:
        # after: takes a day; a day earlier, so that nothing on the window's first day is missed.
        q = f"{self.spec.query} after:{date_of(window.start - DAY)} order:latest"
        return Request(f"{self.base}/search.json", (("q", q), ("page", "1")))

    def posts(self, role: str, body: Node) -> list[Post]:
        if role != "topic":
            return []
        topic = body["id"].integer()
        first = body["post_stream"]["posts"].array()
        if not first:
            raise SourceError(f"{body['post_stream']['posts'].path}: expected the topic's first post, got none")
        post = first[0]
        slug = body["slug"].string()
        return [Post(
            id=self.topic_id(topic),
            url=f"{self.forum}/t/{slug}/{topic}",
            community=self.host,
            title=one_line(body["title"].string()),
            body=strip_html(post["cooked"].string()),
            created_at=body["created_at"].time(),
            author=opt_str(post.get("username")),
            score=opt_int(body.get("like_count")),
        )]

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        if reply.request.role != "search":
            return Paging(None)
        body = reply.json
        since = parse_iso(f"{self.spec.since}T00:00:00Z") if self.spec.since else None
        follow: list[Request] = []
        seen: set[int] = set()
        topics = body.get("topics")  # absent when nothing matched
        for topic in topics.array() if topics is not None else []:
            number = topic["id"].integer()
            if number in seen or (since is not None and topic["created_at"].time() < since):
                continue
            seen.add(number)
            follow.append(Request(f"{self.base}/t/{number}.json", role="topic", post_id=self.topic_id(number)))
        more = body["grouped_search_result"].get("more_full_page_results")
        if more is None or not more.truthy():
            return Paging(None, follow=follow)
        page = int(reply.request.param("page") or "1")
        return Paging(reply.request.with_param("page", str(page + 1)), follow=follow)

