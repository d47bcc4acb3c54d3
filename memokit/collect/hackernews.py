"""Hacker News, through Algolia: ``/api/v1/search_by_date`` (newest first) or ``/api/v1/search``
(by relevance), paged by page number, sliced by ``created_at_i`` windows.

No credentials and no limit headers: about 10,000 requests an hour per address, so requests are
paced at least 0.4 s apart, and about 1,000 hits per query (unconfirmed), so a window that
matches more is split in two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .common import Adapter, Paging, Post, Reply, Request, Window, post_id
from .config import Option
from .plaintext import one_line, strip_html
from .shape import Node, opt_int, opt_str

HITS_PER_PAGE = 100
ENDPOINTS = {"date": "search_by_date", "relevance": "search"}


def _sort(value: str) -> str | None:
    return None if value in ENDPOINTS else f"expected one of: {', '.join(ENDPOINTS)}; got {value!r}"


class HackerNews(Adapter):
    KIND = "hackernews"
    NAME = "Hacker News (Algolia)"
    BASE_URL = "https://hn.algolia.com"
    OPTIONS: ClassVar[Mapping[str, Option]] = {
        "tags": Option("Algolia's tags filter: story, comment, ask_hn, show_hn, (story,comment) …", default="story"),
        "sort": Option("date (search_by_date, newest first) or relevance (search)", default="date", check=_sort),
    }
    EARLIEST = "2006-10-01"
    SPLIT_ABOVE = 1_000
    MIN_INTERVAL = 0.4

    def first(self, window: Window) -> Request:
        endpoint = ENDPOINTS[self.spec.option("sort")]
        return Request(f"{self.base}/api/v1/{endpoint}", (
            ("query", self.spec.query), ("tags", self.spec.option("tags")),
            ("numericFilters", f"created_at_i>={window.start},created_at_i<{window.end}"),
            ("hitsPerPage", str(HITS_PER_PAGE)), ("page", "0")))

    def posts(self, role: str, body: Node) -> list[Post]:
        posts = []
        for hit in body["hits"].array():
            object_id = hit["objectID"].string()
            text = opt_str(hit.get("story_text")) or opt_str(hit.get("comment_text")) or ""
            title = opt_str(hit.get("title")) or opt_str(hit.get("story_title")) or ""
            posts.append(Post(
                id=post_id("hn", hit["objectID"]),
                url=f"https://news.ycombinator.com/item?id={object_id}",
                community="news.ycombinator.com",
                title=one_line(title),
                body=strip_html(text),
                created_at=float(hit["created_at_i"].integer()),
                author=opt_str(hit.get("author")),
                score=opt_int(hit.get("points")),
            ))
        return posts

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        body = reply.json
        page, pages = body["page"].integer(), body["nbPages"].integer()
        total = body["nbHits"].integer()
        following = reply.request.with_param("page", str(page + 1)) if page + 1 < pages else None
        return Paging(following, total)
