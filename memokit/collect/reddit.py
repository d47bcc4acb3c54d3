"""Reddit: ``/r/{subreddit}/search.json``, newest first, paged by the ``after`` cursor.

Reddit's search has no date filter, so a run pages down from the newest post until it reaches
the window's start (the last run's end), and a listing stops near 1,000 posts however far it is
paged. With ``REDDIT_CLIENT_ID`` and ``REDDIT_CLIENT_SECRET`` (a "script" or "web" app) it asks
for an application-only OAuth token and searches ``oauth.reddit.com`` (100 requests a minute);
without them, ``www.reddit.com`` (10 a minute). ``X-Ratelimit-Remaining`` and
``X-Ratelimit-Reset`` (seconds) say when to wait.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from .common import Adapter, CredentialsError, Limits, Paging, Post, Reply, Request, Window, post_id
from .config import Option, SourceSpec
from .plaintext import strip_markdown, unescaped_line
from .shape import Node, opt_int, opt_str

if TYPE_CHECKING:
    from .client import Client

LIMIT = 100
SITE = "https://www.reddit.com"
OAUTH = "https://oauth.reddit.com"


def _subreddit(value: str) -> str | None:
    name = value.removeprefix("r/")
    return None if re.fullmatch(r"[A-Za-z0-9_]{2,21}", name) else f"expected a subreddit's name such as LocalLLaMA, got {value!r}"


class Reddit(Adapter):
    KIND = "reddit"
    NAME = "Reddit"
    BASE_URL = SITE
    OPTIONS: ClassVar[Mapping[str, Option]] = {"subreddit": Option("the subreddit to search, e.g. LocalLLaMA", check=_subreddit)}
    EARLIEST = "2005-06-01"
    MIN_INTERVAL = 1.0  # without OAuth, 10 requests a minute; the headers say more once they come
    ENVIRONMENT = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET")

    def __init__(self, spec: SourceSpec, env: Mapping[str, str]):
        super().__init__(spec, env)
        self.token: str | None = None

    def _client_pair(self) -> tuple[str, str] | None:
        client_id, secret = self.env.get("REDDIT_CLIENT_ID"), self.env.get("REDDIT_CLIENT_SECRET")
        return (client_id, secret) if client_id and secret else None

    def default_base(self) -> str:
        return OAUTH if self._client_pair() else SITE

    @classmethod
    def check_env(cls, env: Mapping[str, str]) -> list[tuple[str, str]]:
        have = [name for name in cls.ENVIRONMENT if env.get(name)]
        if len(have) == 1:
            missing = next(name for name in cls.ENVIRONMENT if name not in have)
            return [(missing, f"not set, but {have[0]} is: set both (a Reddit app's id and secret) or neither")]
        return []

    def authorise(self, client: Client) -> None:
        pair = self._client_pair()
        if pair is None:
            return
        token_base = self.spec.base_url or SITE
        reply = client.get(self, Request(f"{token_base.rstrip('/')}/api/v1/access_token", role="token"), method="POST",
                           auth=pair, data={"grant_type": "client_credentials"}, credentials=False)
        token = reply.json.get("access_token")
        if token is None or not isinstance(token.value, str) or not token.value:
            raise CredentialsError("Reddit gave no access token for REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET "
                                   f"({opt_str(reply.json.get('error')) or 'no error given'})")
        self.token = token.value
        client.know_secrets(self)

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        return ({"Authorization": f"bearer {self.token}"} if self.token else {}), {}

    def secrets(self) -> list[str]:
        pair = self._client_pair()
        return [*(pair or ()), *([self.token] if self.token else [])]

    def first(self, window: Window) -> Request:
        name = self.spec.option("subreddit").removeprefix("r/")
        path = f"/r/{name}/search" if self.token else f"/r/{name}/search.json"
        return Request(f"{self.base}{path}", (("q", self.spec.query), ("restrict_sr", "1"), ("sort", "new"),
                                              ("t", "all"), ("limit", str(LIMIT))))

    def posts(self, role: str, body: Node) -> list[Post]:
        posts = []
        for child in body["data"]["children"].array():
            if child["kind"].string() != "t3":
                continue
            data = child["data"]
            permalink = data["permalink"].string()
            if not permalink.startswith("/"):
                permalink = "/" + permalink
            # Without raw_json=1 Reddit escapes &, < and > in every string once: undo it once.
            posts.append(Post(
                id=post_id("reddit", data["id"]),
                url=SITE + permalink,
                community=f"r/{data['subreddit'].string()}",
                title=unescaped_line(data["title"].string()),
                body=strip_markdown(html.unescape(opt_str(data.get("selftext")) or ""), html_inside=False),
                created_at=data["created_utc"].number(),
                author=opt_str(data.get("author")),
                score=opt_int(data.get("score")),
            ))
        return posts

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        after = opt_str(reply.json["data"].get("after"))
        if not after or after == reply.request.param("after"):
            return Paging(None)
        if posts and min(post.created_at for post in posts) < window.start:
            return Paging(None)  # down to what the last run saw
        return Paging(reply.request.with_param("after", after))

    def limits(self, reply: Reply) -> Limits:
        reset = reply.header_number("x-ratelimit-reset")
        return Limits(remaining=reply.header_number("x-ratelimit-remaining"),
                      reset_at=reply.fetched + reset if reset is not None else None)
