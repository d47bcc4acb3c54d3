"""Load the memo's pages: Markdown files with YAML front matter."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..model import INDEX, SLUG_RE, FrontMatter, Page, Problems
from ..model.files import read_text


class _DuplicateKey(ValueError):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that holds a key twice (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let YAML report it
                break
            if first is not None:
                raise _DuplicateKey(str(key), key_node.start_mark.line, first)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_pages(memo_dir: Path) -> list[Page]:
    """Load ``index.md`` and every other ``*.md`` of ``memo_dir``; raise on any problem."""
    problems = Problems()
    if not memo_dir.is_dir():
        problems.add(memo_dir, None, None, "memo folder not found")
        problems.raise_if_any()
    if not (memo_dir / f"{INDEX}.md").is_file():
        problems.add(memo_dir / f"{INDEX}.md", None, None, "the memo page is missing: write memo/index.md")
    pages = []
    for path in sorted(memo_dir.glob("*.md")):
        slug = path.stem
        if not path.is_file():
            problems.add(path, None, None, "is a folder, not a Markdown file: rename or remove it")
            continue
        if not SLUG_RE.match(slug):
            problems.add(path, None, None, "page file names must be lower-case letters, digits and '-' (e.g. faq.md)")
            continue
        page = _load_page(path, slug, problems)
        if page:
            pages.append(page)
    problems.raise_if_any()
    pages.sort(key=lambda p: (p.slug != INDEX, p.meta.order, p.slug))
    return pages


def _bad_date(lines: list[str]) -> tuple[int, str | None]:
    """Return the line and key of the front-matter date YAML could not read (2024-02-30)."""
    for number, line in enumerate(lines, start=2):
        found = re.match(r"^\s*([\w-]+)\s*:\s*(\d{4}-\d{1,2}-\d{1,2})\s*$", line)
        if found:
            try:
                dt.date.fromisoformat(found.group(2))
            except ValueError:
                return number, found.group(1)
    return 2, None


def _load_page(path: Path, slug: str, problems: Problems) -> Page | None:
    text = read_text(path, problems)
    if text is None:
        return None
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        problems.add(path, 1, None, "expected front matter: a first line '---', YAML (title: ...), then '---'")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        problems.add(path, 1, None, "front matter is not closed: add a line '---' after it")
        return None
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=_StrictLoader) or {}  # a safe loader
    except _DuplicateKey as exc:
        problems.add(path, exc.line + 2, exc.key, f"the key appears twice (first at line {exc.first + 2})")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        why = getattr(exc, "problem", None) or str(exc).strip().split("\n")[0]
        problems.add(path, line, None, f"invalid YAML front matter: {why}")
        return None
    except (RecursionError, ValueError) as exc:  # an impossible date (2024-02-30), absurd nesting
        if isinstance(exc, RecursionError):
            problems.add(path, None, None, "invalid YAML front matter: nested too deeply to read")
            return None
        line, key = _bad_date(lines[1:end])
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.add(path, line, key, f"expected a real date YYYY-MM-DD: {reason}" if key else
                     f"invalid YAML front matter: {reason}")
        return None
    if not isinstance(data, dict):
        problems.add(path, 2, None, "front matter must be a mapping of keys to values (title: ...)")
        return None
    key_lines: dict[str, int] = {}
    for number in range(1, end):
        found = re.match(r"^([A-Za-z_][\w-]*)\s*:", lines[number])
        if found:
            key_lines.setdefault(found.group(1), number + 1)
    try:
        meta = FrontMatter.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            field = ".".join(str(part) for part in loc)
            line = key_lines.get(str(loc[0]), 1) if loc else 1
            message = {"missing": "required", "extra_forbidden":
                       f"unknown key; expected one of: {', '.join(FrontMatter.model_fields)}"}.get(error["type"], error["msg"])
            problems.add(path, line, field, message)
        return None
    return Page(slug, path, meta, "\n".join(lines[end + 1:]), end + 2, key_lines, tuple(lines[: end + 1]))


def unused_keys(pages: list[Page]) -> list[str]:
    """Warnings for front-matter keys that have no effect where they stand (a typo'd key is an
    error already; these are keys that are valid but change nothing, so the author should know)."""
    found = []
    any_claims = any(page.meta.claims for page in pages)
    for page in pages:
        meta, fields = page.meta, page.meta.model_fields_set
        if page.slug == INDEX and "order" in fields:
            found.append(f"{_at(page, 'order')}: has no effect on the memo page, which always comes first")
        if "min_support" in fields and not (meta.claims or (page.slug == INDEX and any_claims)):
            found.append(f"{_at(page, 'min_support')}: has no effect: "
                         + ("no page has claims" if page.slug == INDEX else "this page has no claims"))
    return found


def _at(page: Page, key: str) -> str:
    return f"{page.path}:{page.key_lines.get(key, 1)}: {key}"
