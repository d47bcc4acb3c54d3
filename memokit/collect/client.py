"""The HTTP client every source goes through: polite, patient, and quiet about secrets.

- One httpx client (its own connection pool) per source and address; limits and pauses are kept
  per source and address too, so two queries of one source share its allowance.

- A descriptive User-Agent (with the ``contact`` of ``collect.toml``), timeouts on every request,
  no redirects followed (a credential is never sent where the configuration did not say), and a
  cap on the size of a response.
- Limits: a source's own reading of its headers or body (``Adapter.limits``) says how many
  requests are left and when the allowance resets; at zero the client waits for the reset, and it
  keeps any pause a source asks for (Stack Exchange's ``backoff``) and the least interval between
  requests of a source without limit headers. Sources of one kind at one address share these.
- Retries: a 429, a 5xx, a timeout or a dropped connection is asked again after ``Retry-After``
  when the source sent one, else after 1, 2, 4, 8 … seconds (at least the source's own minimum,
  at most ``backoff_cap``), up to ``max_attempts`` in all; then the source fails. A wait longer
  than ``max_wait`` (a daily quota spent) fails the source at once: it would be better to run again
  later, and everything collected so far is kept.
- Time comes from a ``Clock``, which tests replace, so that no test ever sleeps.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol

import httpx

from .. import __version__
from .common import Adapter, CredentialsError, Limits, Reply, Request, Retry, SourceError, duration, retry_after
from .shape import Node

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RESPONSE = 32 * 1024 * 1024
MAX_ATTEMPTS = 6
BACKOFF_CAP = 120.0
MAX_WAIT = 15 * 60.0


class Clock(Protocol):
    """Where the client gets the time and how it waits."""

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def user_agent(contact: str | None) -> str:
    """Who is asking, as the sources' rules ask (Reddit's above all): the tool, its version, what it
    does, and how to reach whoever runs it."""
    reach = f"; {contact}" if contact else ""
    return f"memokit/{__version__} (collects public posts for a research memo{reach})"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Client:
    """Sends every request of a run; counts requests, retries and time spent waiting."""

    def __init__(self, clock: Clock | None = None, *, contact: str | None = None,
                 transport: httpx.BaseTransport | None = None, max_attempts: int = MAX_ATTEMPTS,
                 max_wait: float = MAX_WAIT, backoff_cap: float = BACKOFF_CAP, timeout: httpx.Timeout = TIMEOUT):
        self.clock = clock or SystemClock()
        # One httpx client (and connection pool) per source and address, made when first used.
        self._http: dict[tuple[str, str], httpx.Client] = {}
        self._timeout, self._transport = timeout, transport
        self._headers = {"User-Agent": user_agent(contact), "Accept": "application/json"}
        self.max_attempts, self.max_wait, self.backoff_cap = max_attempts, max_wait, backoff_cap
        self.requests = self.retries = 0
        self.waited = 0.0
        self.warnings: list[str] = []
        #: Called while waiting, with the seconds left and why; the run shows it on the progress line.
        self.on_wait: Callable[[float, str], None] | None = None
        self._not_before: dict[tuple[str, str], tuple[float, str]] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._remaining: dict[tuple[str, str], float] = {}
        self._secrets: set[str] = set()

    def close(self) -> None:
        for http in self._http.values():
            http.close()
        self._http.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _session(self, adapter: Adapter) -> httpx.Client:
        key = self._key(adapter)
        if key not in self._http:
            self._http[key] = httpx.Client(timeout=self._timeout, transport=self._transport, headers=self._headers,
                                           follow_redirects=False)
        return self._http[key]

    def remaining(self, adapter: Adapter) -> float | None:
        """Requests left before the source's limit, where it says."""
        return self._remaining.get(self._key(adapter))

    def redact(self, text: str) -> str:
        """``text`` with every secret in use replaced by ``***``."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def know_secrets(self, adapter: Adapter) -> None:
        self._secrets.update(secret for secret in adapter.secrets() if secret)

    @staticmethod
    def _key(adapter: Adapter) -> tuple[str, str]:
        return adapter.KIND, adapter.base

    def get(self, adapter: Adapter, request: Request, *, method: str = "GET", auth: tuple[str, str] | None = None,
            data: dict[str, str] | None = None, credentials: bool = True) -> Reply:
        """Send ``request`` until it is answered well; raise SourceError when that cannot be."""
        self.know_secrets(adapter)
        attempt = 0
        while True:
            self._wait_turn(adapter)
            verdict, reply = self._attempt(adapter, request, method, auth, data, credentials)
            if verdict is None:
                assert reply is not None
                return reply
            if verdict.accept_after is not None and attempt >= verdict.accept_after and reply is not None:
                self.warnings.append(f"{verdict.reason}, still after {attempt + 1} attempts; kept what it returned")
                return reply
            attempt += 1
            if attempt >= self.max_attempts:
                raise SourceError(f"{verdict.reason}; gave up after {self.max_attempts} attempts")
            if verdict.wait is not None:
                wait = verdict.wait
            else:
                base = max(1.0, verdict.minimum)
                wait = min(max(self.backoff_cap, verdict.minimum), base * 2.0 ** (attempt - 1))
            self.retries += 1
            self._sleep(adapter.NAME, wait, verdict.reason)

    def _attempt(self, adapter: Adapter, request: Request, method: str, auth: tuple[str, str] | None,
                 data: dict[str, str] | None, credentials: bool) -> tuple[Retry | None, Reply | None]:
        headers = dict(adapter.HEADERS)
        params: list[tuple[str, str | int | float | bool | None]] = list(request.params)
        if credentials:
            secret_headers, secret_params = adapter.credentials()
            headers.update(secret_headers)
            params.extend(secret_params.items())
        key = self._key(adapter)
        self._last[key] = self.clock.time()
        self.requests += 1
        try:
            with self._session(adapter).stream(method, request.url, params=params, headers=headers, auth=auth, data=data) as response:
                content = self._read(adapter, response)
        except httpx.TimeoutException:
            return Retry(f"{adapter.NAME} did not answer in time"), None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            return Retry(f"the connection to {adapter.NAME} failed ({type(exc).__name__})"), None
        except httpx.RequestError as exc:
            raise SourceError(f"cannot send the request to {adapter.NAME}: {type(exc).__name__}: {exc}") from None
        reply = Reply(request, response.status_code, response.headers, content, self.clock.time())
        status = reply.status
        if 200 <= status < 300:
            try:
                value = json.loads(content, parse_constant=_reject_constant)
            except (ValueError, RecursionError):
                kind = reply.header("content-type") or "no content type"
                raise SourceError(f"{adapter.NAME} answered {request.shown()} with a body that is not JSON ({kind}): "
                                  f"{reply.message()}") from None
            reply = replace(reply, body=Node(value))
            self._note(adapter, adapter.limits(reply), reply.fetched)
            return adapter.check(reply), reply
        self._note(adapter, adapter.limits(reply), reply.fetched)
        verdict = adapter.refusal(reply)
        if verdict is not None:
            return verdict, reply
        phrase = _phrase(status)
        wait = retry_after(reply.header("retry-after"), reply.fetched)
        if status == 429:
            return Retry(f"{adapter.NAME} answered 429 {phrase}", wait=wait, minimum=adapter.RATE_LIMIT_WAIT), reply
        if status >= 500:
            return Retry(f"{adapter.NAME} answered {status} {phrase}", wait=wait), reply
        if 300 <= status < 400:
            raise SourceError(f"{adapter.NAME} redirected {request.shown()} to {reply.header('location') or '?'}; "
                              "memokit does not follow redirects: set base_url to the new address")
        if status in (401, 403) and adapter.uses_credentials():
            raise CredentialsError(f"{adapter.NAME} refused the credentials in {', '.join(adapter.ENVIRONMENT)} "
                                   f"({status} {phrase}: {reply.message()})")
        raise SourceError(f"{adapter.NAME} answered {status} {phrase} to {request.shown()}: {reply.message()}")

    def _read(self, adapter: Adapter, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE:
                raise SourceError(f"{adapter.NAME} sent a response larger than {MAX_RESPONSE // 2**20} MB; stopped reading")
            chunks.append(chunk)
        return b"".join(chunks)

    def _note(self, adapter: Adapter, limits: Limits, now: float) -> None:
        key = self._key(adapter)
        if limits.remaining is not None:
            self._remaining[key] = limits.remaining
            if limits.remaining <= 0 and limits.reset_at is not None:
                reset = datetime.fromtimestamp(limits.reset_at, UTC).strftime("%H:%M:%S UTC")
                self._hold(key, limits.reset_at + 1, f"{adapter.NAME}'s rate limit is spent until {reset}")
        if limits.pause:
            self._hold(key, now + limits.pause, f"{adapter.NAME} asked for a pause of {duration(limits.pause)}")

    def _hold(self, key: tuple[str, str], until: float, reason: str) -> None:
        if until > self._not_before.get(key, (0.0, ""))[0]:
            self._not_before[key] = (until, reason)

    def _wait_turn(self, adapter: Adapter) -> None:
        key = self._key(adapter)
        now = self.clock.time()
        held, reason = self._not_before.pop(key, (0.0, ""))
        paced = self._last.get(key, -math.inf) + adapter.MIN_INTERVAL
        if held > now and held >= paced:
            self._sleep(adapter.NAME, held - now, reason)
        elif paced > now:
            self._sleep(adapter.NAME, paced - now, f"{adapter.NAME}: keeping to its request rate")

    def _sleep(self, name: str, seconds: float, reason: str) -> None:
        if seconds > self.max_wait:
            until = datetime.fromtimestamp(self.clock.time() + seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise SourceError(f"{reason}: that is a wait of {duration(seconds)} (until {until}); stopped here, and "
                              "everything collected so far is saved: run again later")
        self.waited += seconds
        left = seconds
        while left > 1e-9:
            if self.on_wait is not None and left >= 1:
                self.on_wait(left, reason)
            step = min(1.0, left)
            self.clock.sleep(step)
            left -= step


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
