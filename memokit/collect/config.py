"""``collect.toml``: which sources to collect from, read and checked before anything is fetched.

```toml
contact = "you@example.org"      # optional: added to the User-Agent, so a source can reach you

[[sources]]
kind = "github"                  # github | hackernews | stackexchange | reddit | discourse
query = "fine-tune evaluate is:issue"
since = "2025-01-01"             # optional: nothing older is collected
# base_url = "http://127.0.0.1:8080"   # optional: a mirror, or a test server
```

Every problem is reported as ``PATH:LINE: field: message`` (exit 2), like the build's taxonomy
problems, and nothing is fetched while there is one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..model.files import parse_toml, read_text
from ..model.problems import Problems
from ..model.text import BANNED_RE, SLUG_RE

CONFIG_FILE = "collect.toml"


@dataclass(frozen=True)
class Option:
    """A key of one kind of source: its default (None: required unless ``optional``), what it is
    for (the README lists the same), and a check that returns a problem or None."""

    help: str
    default: str | None = None
    optional: bool = False
    check: Callable[[str], str | None] | None = None


class Kind(Protocol):
    """What the configuration needs to know of an adapter class."""

    KIND: str
    OPTIONS: Mapping[str, Option]

    @classmethod
    def check_query(cls, query: str) -> str | None: ...

    @classmethod
    def default_source(cls, options: Mapping[str, str]) -> str: ...


#: The keys every source has.
COMMON_KEYS = ("kind", "query", "since", "base_url", "source")


@dataclass(frozen=True)
class SourceSpec:
    """One ``[[sources]]`` table, checked."""

    kind: str
    query: str
    since: str | None = None
    base_url: str | None = None
    source: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    line: int | None = None

    @property
    def key(self) -> str:
        """What the incremental state is kept under: the kind, the query and the options that
        change which posts match (not ``since``, ``base_url`` or the ``source`` label)."""
        return json.dumps([self.kind, self.query, dict(sorted(self.options.items()))], ensure_ascii=False)

    @property
    def label(self) -> str:
        """How messages name this source: kind, scope and query, shortened."""
        scope = next((value for name in ("subreddit", "site", "forum") if (value := self.options.get(name))), None)
        query = self.query if len(self.query) <= 48 else self.query[:47] + "…"
        where = f" {scope}" if scope else ""
        return f"{self.kind}{where} {json.dumps(query, ensure_ascii=False)}"

    def option(self, name: str) -> str:
        return self.options[name]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "query": self.query, "since": self.since, "source": self.source,
                "options": dict(self.options)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceSpec:
        return cls(kind=data["kind"], query=data["query"], since=data.get("since"), source=data["source"],
                   options=dict(data.get("options") or {}))


@dataclass(frozen=True)
class Config:
    path: Path
    sources: tuple[SourceSpec, ...]
    contact: str | None = None


def read_config(path: Path, kinds: Mapping[str, Kind], problems: Problems) -> Config | None:
    """Read and check ``path``; record every problem and return None if there is one."""
    text = read_text(path, problems, missing=f"file not found: write a {CONFIG_FILE} with [[sources]] tables "
                                             "(see 'Collecting' in the README)")
    if text is None:
        return None
    data = parse_toml(path, text, problems)
    if data is None:
        return None

    lines = _Lines(text)
    before = len(problems.items)
    for name in data:
        if name not in ("sources", "contact"):
            problems.add(path, lines.top(name), name, "unknown key; expected 'contact' or [[sources]] tables")
    contact = data.get("contact")
    if contact is not None and (not isinstance(contact, str) or not contact.strip() or BANNED_RE.search(contact)
                                or len(contact) > 200):
        problems.add(path, lines.top("contact"), "contact", "expected one line of text, such as an e-mail address "
                                                            "or a URL (at most 200 characters)")
    tables = data.get("sources")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        problems.add(path, lines.top("sources"), "sources",
                     "expected one or more [[sources]] tables, each with a kind and a query")
        return None

    specs: list[SourceSpec] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        spec = _source(path, index, table, kinds, lines, problems)
        if spec is None:
            continue
        if spec.key in seen:
            problems.add(path, spec.line, f"sources[{index + 1}]",
                         f"the same source and query as sources[{seen[spec.key] + 1}]")
        seen.setdefault(spec.key, index)
        specs.append(spec)
    if len(problems.items) > before:
        return None
    return Config(path, tuple(specs), contact.strip() if isinstance(contact, str) else None)


def _source(path: Path, index: int, table: Mapping[str, Any], kinds: Mapping[str, Kind], lines: _Lines,
            problems: Problems) -> SourceSpec | None:
    where = f"sources[{index + 1}]"
    at = lines.table_line(index)

    def problem(key: str | None, message: str) -> None:
        problems.add(path, lines.key_line(index, key) if key else at, f"{where}.{key}" if key else where, message)

    kind_value = table.get("kind")
    if not isinstance(kind_value, str) or kind_value not in kinds:
        shown = f"unknown kind {kind_value!r}" if kind_value is not None else "missing"
        problem("kind", f"{shown}; expected one of: {', '.join(kinds)}")
        return None
    kind = kinds[kind_value]
    ok = True
    for key, value in table.items():
        if key not in COMMON_KEYS and key not in kind.OPTIONS:
            known = ", ".join((*COMMON_KEYS, *kind.OPTIONS))
            problem(key, f"unknown key for a {kind_value} source; expected one of: {known}")
            ok = False
        elif not isinstance(value, str):
            problem(key, f"expected a string in quotes, got {type(value).__name__} {value!r}")
            ok = False
        elif BANNED_RE.search(value):
            problem(key, "holds a control character")
            ok = False
    if not ok:
        return None

    query = table.get("query", "").strip()
    if not query:
        problem("query", "missing: the search to run, in the source's own query syntax")
        ok = False
    elif (trouble := kind.check_query(query)) is not None:
        problem("query", trouble)
        ok = False
    since = table.get("since")
    if since is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
                raise ValueError
            date.fromisoformat(since)
        except ValueError:
            problem("since", f"expected a date YYYY-MM-DD, got {since!r}")
            ok = False
    base_url = table.get("base_url")
    if base_url is not None and (trouble := http_url_problem(base_url)) is not None:
        problem("base_url", trouble)
        ok = False
    options: dict[str, str] = {}
    for name, option in kind.OPTIONS.items():
        value = table.get(name, option.default)
        if value is None:
            if not option.optional:
                problem(name, f"missing: {option.help}")
                ok = False
            continue
        if option.check is not None and (trouble := option.check(value)) is not None:
            problem(name, trouble)
            ok = False
        options[name] = value
    source = table.get("source", kind.default_source(options))
    if not SLUG_RE.match(source):
        problem("source", f"expected a lower-case slug such as 'hf-forum', got {source!r}")
        ok = False
    if not ok:
        return None
    return SourceSpec(kind=kind_value, query=query, since=since, base_url=base_url.rstrip("/") if base_url else None,
                      source=source, options=options, line=at)


def http_url_problem(text: str) -> str | None:
    """None for an absolute http(s) URL without a query or user information, else the problem."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        return f"expected an http(s) URL, got {text!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc or any(c.isspace() for c in text):
        return f"expected an http(s) URL such as https://example.org, got {text!r}"
    return None


class _Lines:
    """The line of the N-th ``[[sources]]`` table, of a key inside it, and of a top-level key."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        header = re.compile(r"^\s*\[\[\s*sources\s*\]\]")
        self.starts = [number for number, line in enumerate(self.lines) if header.match(line)]

    def top(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(\[\[?\s*)?{re.escape(key)}\b")
        for number, line in enumerate(self.lines):
            if pattern.match(line):
                return number + 1
        return None

    def table_line(self, index: int) -> int | None:
        return self.starts[index] + 1 if index < len(self.starts) else None

    def key_line(self, index: int, key: str) -> int | None:
        if index >= len(self.starts):
            return None
        start = self.starts[index]
        assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1, len(self.lines)):
            if self.lines[number].lstrip().startswith("["):
                break
            if assignment.match(self.lines[number]):
                return number + 1
        return start + 1
