"""What every source shares: requests, replies, posts, and the adapter each source fills in.

An adapter (``github.py``, ``hackernews.py``, …) says only what is its own: its URLs and
parameters, how its pages link to the next, which of its fields make a post, and how it says
"slow down". Paging, slicing by date, limits, retries, the cache, the raw files and the state
are written once, in ``client.py``, ``store.py`` and ``run.py``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .config import Option, SourceSpec
from .shape import Node, ShapeError

if TYPE_CHECKING:
    from .client import Client


class SourceError(Exception):
    """A source failed (after retries, or at once where retrying cannot help): it is reported in
    one line and the run goes on with the next source (exit 3 at the end)."""


class CredentialsError(SourceError):
    """A source refused the token or key taken from the environment."""


@dataclass(frozen=True)
class Request:
    """One GET: an absolute URL and its parameters (never a secret: the client adds credentials
    when it sends), and the role of its response (which parser reads it)."""

    url: str
    params: tuple[tuple[str, str], ...] = ()
    role: str = "search"
    #: The post this response will hold, when known before it is fetched (a Discourse topic): a
    #: post already collected is not fetched again.
    post_id: str | None = None

    def shown(self) -> str:
        return f"{self.url}?{urlencode(self.params)}" if self.params else self.url

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def with_param(self, name: str, value: str) -> Request:
        params = (*((k, v) for k, v in self.params if k != name), (name, value))
        return Request(self.url, params, self.role, self.post_id)

    @classmethod
    def from_url(cls, url: str, role: str = "search") -> Request:
        parts = urlsplit(url)
        return cls(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                   tuple(parse_qsl(parts.query, keep_blank_values=True)), role)

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "params": [list(pair) for pair in self.params], "role": self.role,
                "post_id": self.post_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Request:
        return cls(data["url"], tuple((str(k), str(v)) for k, v in data["params"]), data["role"], data.get("post_id"))


@dataclass(frozen=True)
class Reply:
    """A response: status, headers, the body as received, when it came, and the decoded JSON
    (None until the client has checked the status)."""

    request: Request
    status: int
    headers: Mapping[str, str]
    content: bytes
    fetched: float
    body: Node | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def header_number(self, name: str) -> float | None:
        value = self.headers.get(name)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    @property
    def json(self) -> Node:
        assert self.body is not None, "the body is decoded once the status is known to be good"
        return self.body

    def message(self) -> str:
        """What an error response says, briefly: a JSON ``message``/``error_message``/``errors``,
        else the start of its text."""
        try:
            data = json.loads(self.content)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("message", "error_message", "error", "errors"):
                value = data.get(key)
                if isinstance(value, list) and value:
                    value = value[0].get("message", value[0]) if isinstance(value[0], dict) else value[0]
                if isinstance(value, (str, int)) and str(value).strip():
                    return _brief(str(value))
        text = self.content.decode("utf-8", "replace")
        return _brief(re.sub(r"<[^<>]{0,200}>", " ", text)) or "(no message)"


def _brief(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Limits:
    """What a reply says of the source's limits: requests left, when the allowance resets (epoch
    seconds), and a pause to keep before the next request (Stack Exchange's ``backoff``)."""

    remaining: float | None = None
    reset_at: float | None = None
    pause: float | None = None


@dataclass(frozen=True)
class Retry:
    """Ask again after ``wait`` seconds (None: back off exponentially, at least ``minimum``).
    ``accept_after``: after that many retries, take the reply as it is, with a warning."""

    reason: str
    wait: float | None = None
    minimum: float = 0.0
    accept_after: int | None = None


@dataclass(frozen=True)
class Window:
    """Posts created from ``start`` (inclusive) to ``end`` (exclusive), epoch seconds."""

    start: int
    end: int


_ID_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,60}")


def post_id(prefix: str, *parts: Node) -> str:
    """A record's id: the source's prefix and its own ids (``hn:123``, ``se:stackoverflow:1``),
    in the characters a signal's id allows, so a coded post keeps the id it was collected with.
    An id of any other form fails, naming the field, rather than being rewritten."""
    values = []
    for part in parts:
        value = str(part.integer()) if isinstance(part.value, int) else part.string()
        if not _ID_PART.fullmatch(value):
            raise ShapeError(part.path, f"expected an id of letters, digits, '.', '_' and '-', got {value[:40]!r}")
        values.append(value)
    return ":".join((prefix, *values))


@dataclass(frozen=True)
class Post:
    """One post, normalised; ``source``, ``fetched`` and ``query`` are added from the source."""

    id: str
    url: str
    community: str
    title: str
    body: str
    created_at: float
    author: str | None
    score: int | None


@dataclass
class Paging:
    """Where a page leads: the next page (None at the end), how many posts match in the window
    (where the source says), and requests whose responses hold this page's posts."""

    next: Request | None
    total: int | None = None
    follow: list[Request] = field(default_factory=list)


class Adapter:
    """One source. Subclasses set the class attributes and fill in ``first``, ``posts`` and
    ``paging``; the rest has defaults that suit a source with no credentials or limit headers."""

    KIND: ClassVar[str]
    NAME: ClassVar[str]                  # as messages call it: "GitHub"
    BASE_URL: ClassVar[str]
    OPTIONS: ClassVar[Mapping[str, Option]] = {}
    HEADERS: ClassVar[Mapping[str, str]] = {}
    #: The earliest date to ask for when no ``since`` is given.
    EARLIEST: ClassVar[str] = "2005-01-01"
    #: A query that matches more than this in one window is split in two by date (the source
    #: returns no more than about this many results per query).
    SPLIT_ABOVE: ClassVar[int | None] = None
    #: The least time between two requests, for a source whose documented limit has no headers.
    MIN_INTERVAL: ClassVar[float] = 0.0
    #: The least wait after a rate-limit answer that says nothing of how long to wait.
    RATE_LIMIT_WAIT: ClassVar[float] = 1.0
    #: The environment variables that hold this source's credentials (named in messages).
    ENVIRONMENT: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: SourceSpec, env: Mapping[str, str]):
        self.spec = spec
        self.env = env
        self.base = (spec.base_url or self.default_base()).rstrip("/")

    def default_base(self) -> str:
        return self.BASE_URL

    # --- configuration ---

    @classmethod
    def check_query(cls, query: str) -> str | None:
        """A problem with the query, checked before anything is fetched, or None."""
        return None

    @classmethod
    def default_source(cls, options: Mapping[str, str]) -> str:
        """The record's ``source`` when ``collect.toml`` names none."""
        return cls.KIND

    @classmethod
    def check_env(cls, env: Mapping[str, str]) -> list[tuple[str, str]]:
        """Problems with the credentials in the environment, as (variable, message)."""
        return []

    # --- credentials ---

    def authorise(self, client: Client) -> None:
        """Get what the credentials need before the first request (Reddit's OAuth token)."""

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and parameters that carry credentials, added to each request as it is sent."""
        return {}, {}

    def secrets(self) -> list[str]:
        """Every secret value in use, so that no message can show one."""
        return []

    def uses_credentials(self) -> bool:
        return bool(self.secrets())

    # --- pages ---

    def first(self, window: Window) -> Request:
        raise NotImplementedError

    def posts(self, role: str, body: Node) -> list[Post]:
        """The posts in a response (pure: re-normalising the cache calls it too)."""
        raise NotImplementedError

    def paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        raise NotImplementedError

    # --- limits and errors ---

    def limits(self, reply: Reply) -> Limits:
        return Limits()

    def check(self, reply: Reply) -> Retry | None:
        """Look at a good (2xx) reply's body: ask again, raise SourceError, or accept (None)."""
        return None

    def refusal(self, reply: Reply) -> Retry | None:
        """A source's own reading of an error reply (a rate limit in a 403, an error wrapper);
        None leaves it to the common rules."""
        return None


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds, or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


def duration(seconds: float) -> str:
    """``45 s``, ``3 min``, ``2 h 5 min``."""
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"
