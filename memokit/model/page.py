"""A memo page: its front matter (title, headline numbers, named claims) and its Markdown body."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from .text import SLUG

INDEX = "index"


class HeadlineItem(BaseModel):
    """A headline number: a binding expression and the words beside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(min_length=1)
    label: str = Field(min_length=1)
    #: A short warning shown with the number, e.g. "the targeted sample reverses it".
    caveat: str = ""


class ClaimSpec(BaseModel):
    """A named claim: a sentence the memo makes, and the check that must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SLUG)
    sentence: str = Field(min_length=1)
    check: str = Field(min_length=1)
    #: Named denominators in which the claim must also hold, each taken alone as the corpus.
    holds_in: tuple[str, ...] = ()
    #: The least share of bootstrap resamples the claim must hold in (0 to 1); below it the build fails.
    support: float | None = Field(default=None, ge=0, le=1)


class FrontMatter(BaseModel):
    """What a page declares above its prose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    subtitle: str = ""
    date: str = ""
    description: str = ""
    nav_title: str = ""
    order: StrictInt = 0
    headline: tuple[HeadlineItem, ...] = ()
    claims: tuple[ClaimSpec, ...] = ()
    #: The least support of the page's claims that set none of their own (on index.md: of every
    #: page's); without one, a claim below 0.9 support is only called fragile.
    min_support: float | None = Field(default=None, ge=0, le=1)

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        return value


@dataclass(frozen=True)
class Page:
    """One memo page: its slug (``index`` for the memo), front matter and Markdown body."""

    slug: str
    path: Path
    meta: FrontMatter
    body: str
    body_line: int  # line number of the body's first line in the file
    key_lines: dict[str, int]  # front-matter key -> line, to point problems at
    front_matter: tuple[str, ...]  # the file's lines up to the body: line N is front_matter[N - 1]

    @property
    def filename(self) -> str:
        return f"{self.slug}.html"

    @property
    def nav_title(self) -> str:
        return self.meta.nav_title or self.meta.title
