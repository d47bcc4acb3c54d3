"""Raw posts: what ``memokit collect`` writes to ``raw/<kind>.jsonl``, or a CSV/JSONL export with
the same fields, read and checked with one problem per bad field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..build.load import iter_signals
from ..model import BANNED_RE, Problems, url_key

#: The fields of a raw post (``memokit collect``'s format).
RAW_FIELDS = ("id", "url", "source", "community", "title", "body", "created", "author", "score", "fetched", "query")
RAW_SUFFIXES = (".jsonl", ".csv")
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


def clean(text: str) -> str:
    """Return ``text`` without control characters and bidirectional overrides (line breaks and
    tabs stay): text from the internet, made safe to store and to show."""
    return BANNED_RE.sub("", text)


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def _created(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()[:10]
    if not isinstance(value, str) or not (found := _DAY.match(value.strip())):
        raise ValueError(f"expected a date YYYY-MM-DD (or an ISO date and time) or null, got {str(value)[:40]!r}")
    try:
        return date.fromisoformat(found.group(1)).isoformat()
    except ValueError:
        raise ValueError(f"not a real date: {found.group(1)!r}") from None


def _text(value: Any) -> Any:
    return "" if value is None else value


def _score(value: Any) -> Any:
    return None if value == "" else value


class RawPost(BaseModel):
    """One collected post, before it is coded."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, BeforeValidator(_text)] = ""
    url: str = Field(min_length=1, max_length=2000)
    source: Annotated[str, BeforeValidator(_text)] = Field(default="other", max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    community: Annotated[str, BeforeValidator(_text)] = Field(default="", max_length=200)
    title: str = Field(min_length=1, max_length=1000)
    body: Annotated[str, BeforeValidator(_text)] = ""
    created: Annotated[str | None, BeforeValidator(_created)] = None
    author: Annotated[str, BeforeValidator(_text)] = Field(default="", max_length=200)
    score: Annotated[float | None, BeforeValidator(_score)] = None
    fetched: Annotated[str, BeforeValidator(_text)] = ""
    query: Annotated[str, BeforeValidator(_text)] = Field(default="", max_length=500)


@dataclass(frozen=True)
class Post:
    """A raw post that passed its checks, with where it came from and its canonical URL."""

    post: RawPost
    key: str
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def raw_files(paths: list[Path], problems: Problems) -> list[Path]:
    """The raw files named: files as given, folders by their ``*.jsonl`` and ``*.csv`` (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in RAW_SUFFIXES and p.is_file()
                           and not p.name.startswith("."))
            if not found:
                problems.add(path, None, None, "no raw posts here: expected *.jsonl or *.csv files")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in RAW_SUFFIXES:
                problems.add(path, None, None, "expected a .jsonl or .csv file of raw posts")
            else:
                files.append(path)
        else:
            problems.add(path, None, None, "not found")
    return files


def read_raw(files: list[Path], problems: Problems) -> Iterator[Post]:
    """Yield every valid raw post of ``files`` in order; each bad field becomes one problem."""
    for path in files:
        for record in iter_signals(path, problems):
            try:
                post = RawPost.model_validate(record.data)
            except ValidationError as exc:
                for error in exc.errors():
                    field = ".".join(str(part) for part in error["loc"]) or None
                    problems.add(path, record.line, field, _message(error))
                continue
            key, problem = url_key(post.url)
            if key is None:
                problems.add(path, record.line, "url", problem or "not a URL")
                continue
            title = one_line(post.title)
            if not title:
                problems.add(path, record.line, "title", "must not be blank")
                continue
            post = post.model_copy(update={"title": title, "body": clean(post.body).strip(),
                                           "community": one_line(post.community), "author": one_line(post.author),
                                           "query": one_line(post.query)})
            yield Post(post, key, path, record.line)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else str(error["msg"])
    if kind == "string_type":
        return f"expected a string, got {type(error.get('input')).__name__}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"too long: at most {error['ctx']['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return f"expected a lower-case name such as 'github', got {str(error.get('input'))[:40]!r}"
    if kind in ("float_parsing", "float_type"):
        return "expected a number or null"
    return str(error["msg"])
