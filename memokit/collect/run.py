"""A collecting run: every source of ``collect.toml`` in turn, each walked window by window and
page by page, every page saved before the next is asked for.

The walk, for one source and query:

1. **Plan** (only when no run is in progress): one window from ``since`` (or the source's
   earliest date) to now on a first run; on later runs, from a day before the last run's end to
   now (the day again, because search indexes lag; what was seen is skipped), plus the stretch
   from a ``since`` moved earlier to what was covered before.
2. **Walk** the windows oldest first. A source that returns only about 1,000 results per query
   (GitHub, Algolia) says how many match: a window that holds more is split in two at its middle,
   down to a second. Each page's response goes to the cache, its posts to ``raw/<kind>.jsonl``,
   and where the next page is to the state, in that order.
3. **Finish**: the state records how far the source is collected, for the next run.

Stopped anywhere (Ctrl+C, a crash, a source that failed), the next run finds the run in progress
in the state and goes on from the page it had reached.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..model.problems import InputError, Problems, printable
from .client import Client, Clock
from .common import Adapter, Paging, Post, Reply, Request, SourceError, Window, duration
from .config import SourceSpec, read_config
from .discourse import Discourse
from .github import GitHub
from .hackernews import HackerNews
from .plaintext import date_of, iso, one_line, parse_iso
from .reddit import Reddit
from .shape import Node, ShapeError
from .stackexchange import StackExchange
from .store import RawStore, RecordFile, StoreError, dumps, write_atomically

ADAPTERS: dict[str, type[Adapter]] = {
    adapter.KIND: adapter for adapter in (GitHub, HackerNews, StackExchange, Reddit, Discourse)}
#: How far back a run starts before the last one ended: search indexes take a while to list a
#: new post, and a post seen twice costs nothing (it is skipped by its id).
OVERLAP = 86_400
EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_SOURCE = 0, 1, 2, 3

Say = Callable[[str], None]


class Progress(Protocol):
    """The self-updating status line (``memokit.console.TerminalProgress`` on a terminal)."""

    def __call__(self, text: str) -> None: ...

    def clear(self) -> None: ...


@dataclass
class SourceResult:
    """How one source went."""

    spec: SourceSpec
    new: int = 0
    duplicates: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    resumed: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.new:,} new post{_s(self.new)}", f"{self.duplicates:,} duplicate{_s(self.duplicates)} skipped",
                 f"{self.requests:,} request{_s(self.requests)}"]
        if self.retries:
            parts.append(f"{self.retries} retried")
        if self.waited >= 1:
            parts.append(f"waited {duration(self.waited)}")
        resumed = " (resumed where the last run stopped)" if self.resumed else ""
        failed = "; FAILED, see above" if self.error else ""
        return printable(f"{self.spec.label}: {', '.join(parts)}{resumed}{failed}")


@dataclass
class CollectReport:
    """What a run says: its exit code, lines for stderr, and lines for stdout (one per source and
    a summary)."""

    code: int
    errors: list[str]
    lines: list[str] = field(default_factory=list)
    sources: list[SourceResult] = field(default_factory=list)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def collect(config_path: Path, raw: Path, *, env: Mapping[str, str] | None = None, clock: Clock | None = None,
            transport: httpx.BaseTransport | None = None, progress: Progress | None = None,
            say: Say | None = None, warn: Say | None = None, **client_options: Any) -> CollectReport:
    """Collect every source of ``config_path`` into ``raw``; never raises for a bad configuration
    or a failing source (interrupts pass through, with everything fetched so far saved)."""
    env = os.environ if env is None else env
    problems = Problems()
    config = read_config(config_path, ADAPTERS, problems)
    if config is not None:
        for kind in dict.fromkeys(spec.kind for spec in config.sources):
            for variable, message in ADAPTERS[kind].check_env(env):
                problems.add(variable, None, None, message)
    if problems or config is None:
        count = len(problems.items)
        lines = [*InputError(problems.items).lines(),
                 f"memokit: invalid collect configuration ({count} problem{_s(count)}); nothing was fetched"]
        for line in lines:
            if warn is not None:
                warn(line)
        return CollectReport(EXIT_INPUT, lines)
    errors: list[str] = []

    def tell(line: str, sink: Say | None, into: list[str]) -> None:
        line = printable(line)
        into.append(line)
        if sink is not None:
            sink(line)

    report = CollectReport(EXIT_OK, errors)
    store = RawStore(raw)
    try:
        with store.locked(), Client(clock, contact=config.contact, transport=transport, **client_options) as client:
            started = client.clock.time()
            for spec in config.sources:
                result = _collect_source(spec, ADAPTERS[spec.kind](spec, env), client, store, progress)
                report.sources.append(result)
                for warning in result.warnings:
                    tell(f"warning: {result.spec.label}: {warning}", warn, errors)
                if result.error is not None:
                    tell(f"memokit: collect: {result.spec.label}: {result.error}", warn, errors)
                tell(result.line(), say, report.lines)
            seconds = client.clock.time() - started
    except OSError as exc:
        tell(f"memokit: cannot write {raw}: {exc.strerror or exc}; what was written before is kept", warn, errors)
        report.code = EXIT_FAILED
        return report
    except StoreError as exc:  # the raw folder cannot be used (another run holds it, a broken state)
        tell(f"memokit: {exc}", warn, errors)
        report.code = EXIT_INPUT
        return report
    failed = [result for result in report.sources if result.error is not None]
    new = sum(result.new for result in report.sources)
    duplicates = sum(result.duplicates for result in report.sources)
    requests = sum(result.requests for result in report.sources)
    count = len(report.sources)
    summary = (f"collected {count} source{_s(count)} into {raw}/: {new:,} new post{_s(new)}, {duplicates:,} "
               f"duplicate{_s(duplicates)} skipped, {requests:,} request{_s(requests)} in {duration(seconds)}")
    if failed:
        summary += (f"; {len(failed)} source{_s(len(failed))} failed (the others are saved; run again to retry "
                    "from where it stopped)")
        report.code = EXIT_SOURCE
    tell(summary, say, report.lines)
    return report


# --- one source -------------------------------------------------------------------------------


class _Status:
    """The progress line of one source."""

    def __init__(self, progress: Progress | None, label: str, client: Client, adapter: Adapter,
                 result: SourceResult):
        self.progress, self.label, self.client, self.adapter, self.result = progress, label, client, adapter, result

    def show(self, extra: str = "") -> None:
        if self.progress is None:
            return
        text = f"{self.label}: page {self.result.pages}, {self.result.new:,} new post{_s(self.result.new)}"
        remaining = self.client.remaining(self.adapter)
        if remaining is not None:
            text += f", {remaining:,.0f} request{_s(int(remaining))} left"
        self.progress(printable(text + extra))

    def waiting(self, seconds: float, reason: str) -> None:
        self.show(f", waiting {duration(seconds)} ({reason})")


def _collect_source(spec: SourceSpec, adapter: Adapter, client: Client, store: RawStore,
                    progress: Progress | None) -> SourceResult:
    result = SourceResult(spec)
    before = (client.requests, client.retries, client.waited, len(client.warnings))
    status = _Status(progress, spec.label, client, adapter, result)
    client.on_wait = status.waiting
    try:
        adapter.authorise(client)
        _Walk(spec, adapter, client, store, status, result).run()
    except SourceError as exc:
        result.error = client.redact(str(exc))
    except ShapeError as exc:  # read by the client itself (a limit in a body): still the documented shape
        result.error = client.redact(f"a response does not match {adapter.NAME}'s documented shape: {exc}")
    finally:
        client.on_wait = None
        result.requests = client.requests - before[0]
        result.retries = client.retries - before[1]
        result.waited = client.waited - before[2]
        result.warnings.extend(client.redact(w) for w in client.warnings[before[3]:])
        if progress is not None:
            progress.clear()
    return result


class _Walk:
    def __init__(self, spec: SourceSpec, adapter: Adapter, client: Client, store: RawStore, status: _Status,
                 result: SourceResult):
        self.spec, self.adapter, self.client, self.store, self.status, self.result = (
            spec, adapter, client, store, status, result)
        self.records: RecordFile = store.records(spec.kind)
        if self.records.repaired:
            result.warnings.append(f"{self.records.path}: removed a last line that a stopped run had cut short")

    def run(self) -> None:
        state = self.store.state
        entry = state.query(self.spec.key)
        entry.update(kind=self.spec.kind, query=self.spec.query)
        run = entry.get("run")
        if isinstance(run, dict):
            self.result.resumed = True
        else:
            run = entry["run"] = _plan(self.spec, self.adapter, entry, self.client.clock.time())
            state.save()
        while run["windows"]:
            start, end = (int(parse_iso(moment)) for moment in run["windows"][0])
            window = Window(start, end)
            resume = run.get("next")
            request = Request.from_json(resume) if resume else self.adapter.first(window)
            first_page = not resume
            while True:
                reply = self.client.get(self.adapter, request)
                posts = self._posts(reply)
                paging = self._paging(reply, posts, window)
                self._cache(reply)
                self.result.pages += 1
                split = self.adapter.SPLIT_ABOVE
                if first_page and split is not None and paging.total is not None and paging.total > split:
                    if window.end - window.start > 1:
                        # Its posts are not written: the first half asks for them again, so they
                        # would only count as duplicates.
                        middle = window.start + (window.end - window.start) // 2
                        run["windows"][0:1] = [[iso(window.start), iso(middle)], [iso(middle), iso(window.end)]]
                        run["next"] = None
                        state.save()
                        self.status.show()
                        break
                    self.result.warnings.append(
                        f"{paging.total:,} posts created at {iso(window.start)} match; {self.adapter.NAME} returns "
                        f"only the first {split:,} of them")
                self._write(reply, posts)
                for follow in paging.follow:
                    if follow.post_id is not None and follow.post_id in self.records.ids:
                        continue  # collected before: not fetched again
                    self.status.show()
                    answer = self.client.get(self.adapter, follow)
                    self._cache(answer)
                    self._write(answer, self._posts(answer))
                run["next"] = paging.next.to_json() if paging.next is not None else None
                if paging.next is None:
                    run["windows"].pop(0)
                # The state moves on only once the page's posts are written: stopped before this
                # line, the next run asks for the page again and skips what it already holds.
                state.save()
                self.status.show()
                if paging.next is None:
                    break
                request, first_page = paging.next, False
        entry["covered_from"], entry["done_until"] = run["covered_from"], run["until"]
        entry["last_run"] = iso(self.client.clock.time())
        del entry["run"]
        state.save()

    def _shape(self, reply: Reply, exc: ShapeError) -> SourceError:
        return SourceError(f"the response to {reply.request.shown()} does not match {self.adapter.NAME}'s "
                           f"documented shape: {exc}")

    def _posts(self, reply: Reply) -> list[Post]:
        try:
            return self.adapter.posts(reply.request.role, reply.json)
        except ShapeError as exc:
            raise self._shape(reply, exc) from None

    def _cache(self, reply: Reply) -> None:
        """Keep the response as received, so that ``--renormalise`` needs no refetch."""
        self.store.cache.put(reply.content, {
            "kind": self.spec.kind, "key": self.spec.key, "role": reply.request.role, "url": reply.request.shown(),
            "fetched": iso(reply.fetched), "source": self.spec.to_json()})

    def _write(self, reply: Reply, posts: list[Post]) -> None:
        new, duplicates = self.records.add(records(self.spec, posts, reply.fetched))
        self.result.new += new
        self.result.duplicates += duplicates

    def _paging(self, reply: Reply, posts: list[Post], window: Window) -> Paging:
        try:
            return self.adapter.paging(reply, posts, window)
        except ShapeError as exc:
            raise self._shape(reply, exc) from None


def _plan(spec: SourceSpec, adapter: Adapter, entry: Mapping[str, Any], now: float) -> dict[str, Any]:
    until = int(now)
    floor = int(parse_iso(f"{spec.since or adapter.EARLIEST}T00:00:00Z"))
    windows: list[tuple[int, int]] = []
    covered, done = entry.get("covered_from"), entry.get("done_until")
    if isinstance(covered, str) and isinstance(done, str):
        covered_from, done_until = int(parse_iso(covered)), int(parse_iso(done))
        if floor < covered_from:  # ``since`` moved earlier: fill in what was never asked for
            windows.append((floor, covered_from))
        windows.append((max(floor, done_until - OVERLAP), until))
        covered_from = min(covered_from, floor)
    else:
        windows.append((floor, until))
        covered_from = floor
    return {"until": iso(until), "covered_from": iso(covered_from), "next": None,
            "windows": [[iso(start), iso(end)] for start, end in windows if end > start]}


def records(spec: SourceSpec, posts: Iterable[Post], fetched: float) -> list[dict[str, Any]]:
    """The raw records of ``posts``: the fields of point 1 of the README's "Collecting", in that
    order; posts created before ``since`` are left out."""
    floor = parse_iso(f"{spec.since}T00:00:00Z") if spec.since else None
    out = []
    for post in posts:
        if floor is not None and post.created_at < floor:
            continue
        title = post.title or one_line(post.body)[:120] or "(untitled)"
        out.append({"id": post.id, "url": post.url, "source": spec.source, "community": post.community,
                    "title": title, "body": post.body, "created": date_of(post.created_at), "author": post.author,
                    "score": post.score, "fetched": iso(fetched), "query": spec.query})
    return out


# --- re-normalising the cache -----------------------------------------------------------------


def renormalise(raw: Path, *, say: Say | None = None, warn: Say | None = None) -> CollectReport:
    """Rebuild every ``raw/<kind>.jsonl`` from the cached responses, fetching nothing: each record
    the cache can make is made again by today's code; a record it cannot (its response is not in
    the cache, as for posts collected elsewhere) is kept as it is."""
    report = CollectReport(EXIT_OK, [])

    def tell(line: str, sink: Say | None, into: list[str]) -> None:
        into.append(printable(line))
        if sink is not None:
            sink(printable(line))

    store = RawStore(raw)
    rebuilt: dict[str, dict[str, dict[str, Any]]] = {}
    used = missing = unreadable = 0
    try:
        with store.locked():
            for entry in store.cache.entries():
                content = store.cache.read(entry["sha256"])
                kind = entry.get("kind")
                if content is None or kind not in ADAPTERS:
                    missing += 1
                    continue
                try:
                    spec = SourceSpec.from_json(entry["source"])
                    posts = ADAPTERS[spec.kind](spec, {}).posts(str(entry["role"]), Node(json.loads(content)))
                    fetched = parse_iso(str(entry["fetched"]))
                except (ShapeError, SourceError, ValueError, KeyError, TypeError) as exc:
                    unreadable += 1
                    tell(f"warning: {store.cache.folder}/{entry['sha256']}.json: cannot be read again: {exc}", warn,
                         report.errors)
                    continue
                used += 1
                into = rebuilt.setdefault(spec.kind, {})
                for record in records(spec, posts, fetched):
                    into.setdefault(record["id"], record)
            kinds = sorted(set(rebuilt) | {path.stem for path in raw.glob("*.jsonl") if path.stem in ADAPTERS})
            for kind in kinds:
                tell(_rewrite(raw / f"{kind}.jsonl", rebuilt.get(kind, {})), say, report.lines)
    except OSError as exc:
        tell(f"memokit: cannot rewrite {raw}: {exc.strerror or exc}", warn, report.errors)
        report.code = EXIT_FAILED
        return report
    except StoreError as exc:
        tell(f"memokit: {exc}", warn, report.errors)
        report.code = EXIT_INPUT
        return report
    tell(f"renormalised {raw}/ from {used:,} cached response{_s(used)}, fetching nothing"
         + (f"; {missing:,} listed but missing from the cache" if missing else "")
         + (f"; {unreadable:,} could not be read" if unreadable else ""), say, report.lines)
    return report


def _rewrite(path: Path, rebuilt: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    placed: set[str] = set()
    kept = changed = 0
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
            if not line.strip():
                continue
            try:
                identifier = json.loads(line)["id"]
            except (ValueError, TypeError, KeyError):
                identifier = None
            if isinstance(identifier, str) and identifier in rebuilt and identifier not in placed:
                fresh = dumps(rebuilt[identifier])
                changed += fresh != line
                lines.append(fresh)
                placed.add(identifier)
            else:
                lines.append(line)
                kept += 1
    added = [dumps(record) for identifier, record in rebuilt.items() if identifier not in placed]
    lines.extend(added)
    write_atomically(path, "".join(line + "\n" for line in lines))
    count = len(placed) + len(added)
    return (f"{path}: {count:,} record{_s(count)} made again from the cache ({changed:,} changed, {len(added):,} "
            f"added), {kept:,} kept as they were")
