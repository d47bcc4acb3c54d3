"""GitHub: ``GET /search/issues`` (issues and pull requests), paged by the ``Link`` header.

A search returns at most 1,000 results, so each window of time is asked with a ``created:``
range and split in two when ``total_count`` says it holds more. ``GITHUB_TOKEN`` (optional)
raises the search limit from 10 to 30 requests a minute; the ``x-ratelimit-*`` headers say
when it is spent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

from .common import Adapter, Limits, Paging, Post, Reply, Request, Retry, SourceError, Window, post_id, retry_after
from .plaintext import iso, one_line, strip_markdown
from .shape import Node, opt_int, opt_str

PER_PAGE = 100
CAP = 1_000
QUERY_LIMIT = 256
#: What memokit adds to every query: " created:2025-01-01T00:00:00Z..2025-01-31T23:59:59Z".
RANGE_LENGTH = len(" created:") + 2 * len("2025-01-01T00:00:00Z") + 2
_OPERATORS = re.compile(r"\b(?:AND|OR|NOT)\b")


class GitHub(Adapter):
    KIND = "github"
    NAME = "GitHub"
    BASE_URL = "https://api.github.com"
    HEADERS: ClassVar[Mapping[str, str]] = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    EARLIEST = "2008-01-01"
    SPLIT_ABOVE = CAP
    #: "If you exceed a secondary rate limit … wait at least one minute" (GitHub's documentation).
    RATE_LIMIT_WAIT = 60.0
    ENVIRONMENT = ("GITHUB_TOKEN",)

    @classmethod
    def check_query(cls, query: str) -> str | None:
        if re.search(r"(?i)(^|\s)-?created:", query):
            return "remove the created: qualifier: memokit adds the date range itself (use since = \"YYYY-MM-DD\")"
        if len(query) + RANGE_LENGTH > QUERY_LIMIT:
            return (f"at most {QUERY_LIMIT - RANGE_LENGTH} characters (GitHub takes {QUERY_LIMIT}, and memokit adds "
                    f"a {RANGE_LENGTH}-character date range); this one has {len(query)}")
        if len(_OPERATORS.findall(query)) > 5:
            return "at most five AND, OR and NOT operators (GitHub's limit)"
        return None

    def _token(self) -> str | None:
        return self.env.get("GITHUB_TOKEN") or None

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        token = self._token()
        return ({"Authorization": f"Bearer {token}"} if token else {}), {}

    def secrets(self) -> list[str]:
        token = self._token()
        return [token] if token else []

    def first(self, window: Window) -> Request:
        q = f"{self.spec.query} created:{iso(window.start)}..{iso(window.end - 1)}"
        return Request(f"{self.base}/search/issues",
                       (("q", q), ("sort", "created"), ("order", "asc"), ("per_page", str(PER_PAGE))))

    def posts(self, role: str, body: Node) -> list[Post]:
        posts = []
        for item in body["items"].array():
            url = item["html_url"].string()
            parts = [part for part in urlsplit(url).path.split("/") if part]
            if len(parts) != 4 or parts[2] not in ("issues", "pull") or not parts[3].isdigit():
                raise SourceError(f"{item['html_url'].path}: expected an issue or pull request address "
                                  f"(https://github.com/owner/repo/issues/N), got {url!r}")
            owner_repo = f"{parts[0]}/{parts[1]}"
            user = item.get("user")
            reactions = item.get("reactions")
            posts.append(Post(
                id=post_id("github", item["id"]),
                url=url,
                community=owner_repo,
                title=one_line(item["title"].string()),
                body=strip_markdown(opt_str(item.get("body")) or ""),
                created_at=item["created_at"].time(),
                author=opt_str(user.get("login")) if user is not None else None,
                score=opt_int(reactions.get("total_count")) if reactions is not None else None,
            ))
        return posts

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        total = reply.json["total_count"].integer()
        link = _next_link(reply)
        if link is None:
            return Paging(None, total)
        request = Request.from_url(link)
        origin = urlsplit(self.base)
        target = urlsplit(request.url)
        if (target.scheme, target.netloc) != (origin.scheme, origin.netloc):
            raise SourceError(f"the Link header points away from {self.base} ({link!r}); not followed")
        page = request.param("page")
        if page is not None and page.isdigit() and (int(page) - 1) * PER_PAGE >= CAP:
            return Paging(None, total)  # GitHub serves no result past the 1,000th
        return Paging(request, total)

    def limits(self, reply: Reply) -> Limits:
        return Limits(remaining=reply.header_number("x-ratelimit-remaining"),
                      reset_at=reply.header_number("x-ratelimit-reset"))

    def check(self, reply: Reply) -> Retry | None:
        if reply.json["incomplete_results"].boolean():
            return Retry("GitHub's search timed out (incomplete_results)", accept_after=2)
        return None

    def refusal(self, reply: Reply) -> Retry | None:
        if reply.status in (403, 429):
            wait = retry_after(reply.header("retry-after"), reply.fetched)
            remaining = reply.header_number("x-ratelimit-remaining")
            reset = reply.header_number("x-ratelimit-reset")
            if wait is not None:
                return Retry(f"GitHub answered {reply.status}: a secondary rate limit", wait=wait)
            if remaining == 0 and reset is not None:
                return Retry("GitHub's rate limit is spent", wait=max(0.0, reset - reply.fetched) + 1)
            if reply.status == 429 or "rate limit" in reply.message().lower():
                return Retry(f"GitHub answered {reply.status}: a secondary rate limit", minimum=self.RATE_LIMIT_WAIT)
        if reply.status == 422:
            raise SourceError(f"GitHub rejected the query {reply.request.param('q')!r}: {reply.message()}")
        return None


def _next_link(reply: Reply) -> str | None:
    header = reply.header("link")
    if not header:
        return None
    for part in header.split(","):
        found = re.match(r'\s*<([^>]*)>\s*;(.*)', part)
        if found and re.search(r'rel="?([^"]*\s)?next(\s[^"]*)?"?', found.group(2)):
            return found.group(1)
    return None

