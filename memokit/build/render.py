"""Stage 6, render: Markdown and Jinja2 templates to pages, data files and assets, written atomically."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any, overload

import numpy as np
import pandas as pd
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ..model import ALL, INDEX, UNRECORDED, InputError, Phase, Problem, coding_of
from ..model.agreement import AgreementSummary, Stale, landis_koch
from ..versions import store
from ..versions.compare import compare
from .cache import DerivedFiles, derived_key
from .charts import ChartError, Charts, chart_requests
from .claims import (
    BLOCK_CLOSE,
    BLOCK_OPEN,
    FACT_CLOSE,
    FACT_OPEN,
    INLINE_CLOSE,
    INLINE_OPEN,
    Binding,
    Block,
    BoundPage,
    Fact,
)
from .expressions import format_interval
from .posts import (  # noqa: F401 -- POST_CARD, safe_url, signals_csv…: re-exported, the render stage's names
    DRILL_FIELDS,
    FORMULA_START,
    POST_CARD,
    POST_REL,
    POST_TEMPLATE,
    UNDATED,
    Page,
    Posts,
    newest_first_order,
    safe_url,
    signals_csv,
    signals_csv_chunks,
)
from .prose import to_html
from .site import SiteWriter
from .snapshot import History, SignalColumns
from .stats import Stats
from .support import RESAMPLES
from .validate import Dataset, mapped

#: The link-preview image (og:image): the headline chart as PNG.
SHARE_IMAGE = "assets/share.png"
#: Posts per page of a theme or phase listing, and per drill data file.
PAGE_SIZE = 2000
#: Templates the build needs; a templates folder must provide each.
TEMPLATES = ("memo.html", "page.html", "theme.html", "versions.html")
#: The posts added, dropped or recoded since the last pinned version that the memo's "What changed"
#: block lists, of each kind, at most: a refresh of a million posts would otherwise list them all
#: on the memo page (134 MB at 1M); the counts are always whole.
CHANGES_LISTED = 100
#: Blocks shown on the memo page even when its prose does not place them, in this order.
DEFAULT_BLOCKS = (("chart", "phase"), ("chart", "theme"), ("cards", None), ("changes", None), ("methodology", None),
                  ("claims", None))
#: The page listing every pinned version with its headline numbers side by side.
VERSIONS_PAGE = "versions.html"


@dataclass
class Reuse:
    """Which data-derived files a build may take from the last site (``memokit.build.cache``), and,
    once it has run, those it made."""

    data_key: str
    templates_key: str
    previous: DerivedFiles | None
    site: Path  # the last good site, the one being replaced
    made: DerivedFiles | None = None
    #: The digest of the snapshot's signals file in the last site, and of this build's.
    previous_signals: str | None = None
    made_signals: str | None = None
    #: The template environment of the last build, kept while no template file changed (its
    #: compiled templates are most of a small rebuild's time).
    environments: dict[str, Environment] = field(default_factory=dict)


def render_site(dataset: Dataset, stats: Stats, pages: list[BoundPage], charts: Charts,
                templates: Sequence[Path], out: SiteWriter, site_url: str | None = None,
                history: History | None = None, reuse: Reuse | None = None,
                agreement: AgreementSummary | None = None, agreement_stale: Stale | None = None) -> list[str]:
    """Render every file of the site into ``out``; ``site_url`` (the published address, ending
    in "/") fills canonical and Open Graph links, which must be absolute; ``agreement`` is
    ``agreement.json``'s figures, and ``agreement_stale`` says if they were measured on other
    coded posts than the data's. Return warnings about the pages (``page_warnings``).

    The memo pages come last: they show the charts, which may still be rendering elsewhere."""
    warnings: list[str] = []
    if reuse is None:
        env = _environment(templates)
    else:
        env = reuse.environments.get(reuse.templates_key) or _environment(templates)
        reuse.environments.clear()
        reuse.environments[reuse.templates_key] = env
    nav = [{"title": p.page.nav_title, "href": p.page.filename if p.page.slug != INDEX else "index.html",
            "slug": p.page.slug} for p in pages]
    if history is not None and history.versions:
        nav.append({"title": "Versions", "href": VERSIONS_PAGE, "slug": "versions"})
    memo = next(p for p in pages if p.page.slug == INDEX)
    site = {"title": memo.page.meta.title, "nav": nav, "share_image": SHARE_IMAGE,
            "url": site_url}
    themes = _theme_cards(stats)

    # The snapshot's signals file is made on a thread of its own while the pages are made here.
    snapshot_written = _snapshot_signals(history.snapshot, out, reuse) if history is not None else None
    key = derived_key(reuse.data_key, reuse.templates_key, site) if reuse is not None else ""
    previous = reuse.previous if reuse is not None else None
    # The data, templates and frame are as they were: the same bytes, taken from the last site.
    if reuse is not None and previous is not None and previous.key == key \
            and out.reuse(previous.files, reuse.site, previous.bytes):
        warnings.extend(previous.warnings)
        reuse.made = previous
    else:
        first, before, size = len(out.written), len(warnings), out.bytes
        _render_data(dataset, stats, env, out, site, themes, warnings)
        if reuse is not None:
            reuse.made = DerivedFiles(key, out.written[first:], warnings[before:], out.bytes - size)
    out.write("data/claims.json", _json({
        "bindings": [b.to_json() for p in pages for b in p.bindings],
        "claims": [{"page": p.page.filename, **c.to_json()} for p in pages for c in p.claims],
        "facts": [f.to_json() for p in pages for f in p.facts],
    }, indent=1))
    if history is not None and history.versions:
        html = _render(env, "versions.html", {"site": site, "root": "", "path": VERSIONS_PAGE,
                                              "current": "versions", "versions": _versions(history)})
        warnings.extend(page_warnings(VERSIONS_PAGE, html))
        out.write(VERSIONS_PAGE, html)
    for relative, path in sorted(template_assets(templates).items()):
        out.write(f"assets/{relative}", path.read_bytes())

    for bound in pages:
        context = _page_context(bound, stats, charts, themes, env, site, history, agreement, agreement_stale)
        template = "memo.html" if bound.page.slug == INDEX else "page.html"
        html = _render(env, template, context)
        warnings.extend(page_warnings(bound.page.filename, html))
        out.write(bound.page.filename, html)
    out.write(SHARE_IMAGE, _share_png(charts))
    if history is not None and snapshot_written is not None:
        snapshot_written()
        digest = history.snapshot["signals"].known_digest
        assert digest is not None, "the signals file was taken, or made to its end"
        if reuse is not None:
            reuse.made_signals = digest
        out.write(store.SNAPSHOT.as_posix(), store.split_json(history.snapshot, digest))
    return warnings


def _snapshot_signals(snapshot: dict[str, Any], out: SiteWriter, reuse: Reuse | None) -> Callable[[], None]:
    """Start on the snapshot, split (``memokit.versions.store``): its signals file is taken from the
    last site when it holds the same bytes (they follow from the data alone), or else made on a
    thread of its own; what this returns waits for that, after which the signals' digest is known
    and ``data/snapshot.json``, which names it, can be written."""
    signals: SignalColumns = snapshot["signals"]
    digest = signals.known_digest
    if reuse is not None and digest is not None and reuse.previous_signals == digest \
            and out.reuse([store.SITE_SIGNALS], reuse.site):
        return lambda: None
    return out.write_aside(store.SITE_SIGNALS, signals.file())


#: Elements whose address the browser loads by itself, and the attribute that holds it.
_LOADED = {"script": "src", "img": "src", "iframe": "src", "frame": "src", "embed": "src", "source": "src",
           "video": "src", "audio": "src", "track": "src", "object": "data", "link": "href", "input": "src"}
#: ``<link rel>`` values that name an address without loading it.
_NOT_LOADED = {"canonical", "alternate", "author", "license", "me", "bookmark", "next", "prev", "help", "search"}


class _PageCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.csp = False
        self.elsewhere: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = True
        attribute = _LOADED.get(tag)
        if tag == "link" and set(values.get("rel", "").lower().split()) <= _NOT_LOADED and values.get("rel"):
            return
        address = values.get(attribute or "", "").strip().lower()
        if attribute and address.startswith(("http:", "https:", "//")):
            self.elsewhere.append(f"<{tag} {attribute}={values[attribute]!r}>")

    handle_startendtag = handle_starttag


def page_warnings(path: str, html: str) -> list[str]:
    """Return what makes a page unsafe or not self-contained, as a template override can: no
    Content-Security-Policy, or something loaded from another origin."""
    check = _PageCheck()
    check.feed(html)
    check.close()
    found = []
    if not check.csp:
        found.append(f"{path}: the page has no Content-Security-Policy (a template override dropped the "
                     "<meta http-equiv=\"Content-Security-Policy\"> of base.html)")
    found.extend(f"{path}: the page loads {what} from another origin; a memo site loads nothing from elsewhere"
                 for what in check.elsewhere[:3])
    return found


def _share_png(charts: Charts) -> bytes:
    png = charts[charts.share_image].png
    assert png is not None, "the share-image chart is always rendered as PNG too"
    return png


def _render_data(dataset: Dataset, stats: Stats, env: Environment, out: SiteWriter, site: dict[str, Any],
                 themes: list[dict[str, Any]], warnings: list[str]) -> None:
    """Write the files that follow from the data alone (and the templates and the site's frame):
    theme and phase pages, the drill's data, ``stats.json``, ``signals.csv`` and ``phases.css``."""
    # signals.csv is made on a thread of its own, while the pages are made here.
    out.write_aside("data/signals.csv", signals_csv_chunks(dataset.frame))
    sources = pd.unique(dataset.frame["source"])
    labels = {str(source): dataset.taxonomy.source_label(str(source)) for source in sources}
    # How a post was coded, and its corpus, go into the drill's data only where the data records them.
    frame = dataset.frame
    drill_fields: tuple[str, ...] = DRILL_FIELDS
    if (frame["corpus"].fillna("") != "").any():
        drill_fields += ("corpus",)
    coded_by = frame["coded_by"].fillna("")
    if (coded_by != "").any():
        frame = frame.assign(coding=mapped(coded_by, coding_of))
        drill_fields += ("coding",)
    posts = Posts(frame, labels, drill_fields)
    phases = _phase_rows(stats)
    groups = {("theme", card["id"]): card for card in themes} | {("phase", phase["id"]): phase for phase in phases}
    counts = {key: len(posts.rows(*key)) for key in groups}
    for page in posts.pages([card["id"] for card in themes], [phase["id"] for phase in phases], PAGE_SIZE):
        group = groups[(page.field, page.group)]
        # Every listing page comes from theme.html: checking the first theme's first page checks the template.
        first = page.field == "theme" and page.group == themes[0]["id"] and page.number == 1
        _group_page(env, out, site, group, f"{page.field}s", posts, page, counts[(page.field, page.group)],
                    warnings if first else None)
        if page.drill is not None:
            _drill_file(out, group, posts, page, counts[(page.field, page.group)], labels)
    del posts
    out.write("data/stats.json", _json(stats.to_json(), indent=1))
    out.write("assets/phases.css", phase_css(dataset.taxonomy.phases))


def template_assets(templates: Sequence[Path]) -> dict[str, Path]:
    """Return every asset by its path under ``assets/``; an earlier folder's file wins."""
    found: dict[str, Path] = {}
    for folder in reversed(templates):
        assets = folder / "assets"
        if assets.is_dir():
            for path in assets.rglob("*"):
                if path.is_file():
                    found[path.relative_to(assets).as_posix()] = path
    return found


def page_file(folder: str, group_id: str, page: int, suffix: str) -> str:
    """Return the path of page ``page`` (from 1) of a theme's or phase's listing or drill data."""
    return f"{folder}/{group_id}{'' if page == 1 else f'.p{page}'}.{suffix}"


def pages_of(count: int) -> list[tuple[int, int, int]]:
    """Split ``count`` posts into pages of at most ``PAGE_SIZE``: ``(page, start, stop)``, from
    page 1; an empty list still has its one (empty) page."""
    pages = max(1, -(-count // PAGE_SIZE))
    return [(page, (page - 1) * PAGE_SIZE, min(page * PAGE_SIZE, count)) for page in range(1, pages + 1)]


def _group_page(env: Environment, out: SiteWriter, site: dict[str, Any], group: dict[str, Any], folder: str,
                posts: Posts, page: Page, count: int, checked: list[str] | None = None) -> None:
    """Write one page of a theme's or phase's posts (``count`` in all, ``PAGE_SIZE`` a page); if
    ``checked`` is a list, add to it what ``page_warnings`` finds in it."""
    pages = len(pages_of(count))
    number, first = page.number, (page.number - 1) * PAGE_SIZE
    pagination = {
        "page": number, "pages": pages, "first": first + 1 if len(page.rows) else 0, "last": first + len(page.rows),
        "previous": page_file(folder, group["id"], number - 1, "html").split("/")[-1] if number > 1 else None,
        "next": page_file(folder, group["id"], number + 1, "html").split("/")[-1] if number < pages else None,
    }
    # The cards go in as bytes where the page shows posts_html: they are never Python text.
    path = page_file(folder, group["id"], number, "html")
    context = {"site": site, "root": "../", "path": path, "current": None, "group": group, "count": count,
               "posts": _Cards(posts, page.rows), "posts_html": Markup(_LISTING), "pagination": pagination}
    parts = _render(env, "theme.html", context).split(_LISTING)
    if checked is not None:
        # The page as the template made it: the cards between its parts are memokit's own (escaped
        # text, and links, which load nothing), and reading thousands of them would find nothing.
        checked.extend(page_warnings(path, "".join(parts)))
    pieces: list[bytes | memoryview] = [parts[0].encode()]
    for part in parts[1:]:
        pieces += [*page.listing, part.encode()]
    out.write(path, pieces)


#: Where a listing page's cards go, in the rendered template (a text no template or post holds).
_LISTING = "\x00memokit-posts\x00"


class _Cards(Sequence[Markup]):
    """A page's posts for ``theme.html`` (escaped HTML), made only if a template asks for them: the
    built-in one shows ``posts_html``, the same cards joined."""

    def __init__(self, posts: Posts, rows: np.ndarray) -> None:
        self.posts, self.rows = posts, rows
        self._cards: list[Markup] | None = None

    def _all(self) -> list[Markup]:
        if self._cards is None:
            self._cards = [Markup(card) for card in self.posts.cards(self.rows)]
        return self._cards

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Markup: ...

    @overload
    def __getitem__(self, index: slice) -> list[Markup]: ...

    def __getitem__(self, index: int | slice) -> Markup | list[Markup]:
        return self._all()[index]


def _drill_file(out: SiteWriter, card: dict[str, Any], posts: Posts, page: Page, count: int,
                labels: Mapping[str, str]) -> None:
    """Write one file of a theme's posts for the drill (``PAGE_SIZE`` a file); the first file
    describes the rest."""
    data: dict[str, Any] = {"theme": card["id"], "page": page.number, "pages": len(pages_of(count))}
    if page.number == 1:
        data.update({"label": card["label"], "phase": card["phase"], "count": count,
                     "sources": {s: labels[s] for s in posts.sources(posts.rows("theme", card["id"]))}})
    # The posts are JSON already: put them in as the last key, as json.dumps would.
    assert page.drill is not None
    out.write(page_file("data/themes", card["id"], page.number, "json"),
              [f'{_json(data)[:-2]},"posts":'.encode(), *page.drill, b"}\n"])


def newest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort newest first, undated posts last; ties by id, descending, so the order never depends on
    the input's order (the drill sorts the same way)."""
    return frame.iloc[newest_first_order(frame)]


def phase_css(phases: tuple[Phase, ...]) -> str:
    """Return the CSS that gives each phase its colour on chips, cards and lists, and the ink for
    text set on that colour (``--phase-ink``): white or black, whichever has the higher WCAG
    contrast against it. One of the two always reaches at least 4.58:1, whatever the colour."""

    def luminance(color: str) -> float:
        channels = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    def ink(color: str) -> str:
        # WCAG 2 contrast: against white (1 + .05) / (L + .05), against black (L + .05) / (0 + .05).
        lit = luminance(color) + 0.05
        return "#ffffff" if 1.05 / lit >= lit / 0.05 else "#000000"

    rules = [f'[data-phase="{p.id}"] {{ --phase: {p.color}; --phase-ink: {ink(p.color)}; }}' for p in phases if p.color]
    return "/* Generated from taxonomy.toml: one colour per phase, and the ink for text on it. */\n" + "\n".join(rules) + "\n"


def _json(data: Any, indent: int | None = None) -> str:
    """Strict JSON (``NaN`` and ``Infinity`` are not JSON: a number that is not finite is a bug)."""
    if indent is None:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    return json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"


def _environment(templates: Sequence[Path]) -> Environment:
    # The first folder that has a template by a name wins: a project's own over the built-in ones.
    # Templates are code a project brings along: they run sandboxed, so an override can shape the
    # page but not reach Python (no attributes starting with "_", no unsafe calls).
    env = SandboxedEnvironment(
        loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in templates]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Not looked at again on every page: a changed template folder is a new environment
        # (the preview keeps one per fingerprint of the templates, ``Reuse.environments``).
        auto_reload=False,
    )
    env.filters["interval"] = format_interval
    env.filters["number"] = lambda value: f"{value:,}"
    return env


def _render(env: Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``; whatever a template raises is a problem with its file and line."""
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as exc:
        source = env.loader.get_source(env, name)[1] if name != exc.name else name  # type: ignore[union-attr]
        raise InputError([Problem(str(source), None, None, f"template error: {exc.name!r} is in no templates "
                                  "folder")]) from None
    except TemplateError as exc:
        # Syntax errors carry their place; errors while rendering (a sandbox refusal, an undefined
        # value) are found in the traceback, which Jinja2 points at the template's line.
        where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        if not where:
            where, line = _template_frame(exc.__traceback__, name)
        raise InputError([Problem(str(where), line, None, f"template error: {exc.message or exc}")]) from None
    except (InputError, ChartError):
        raise
    except RecursionError:
        where, line = _template_frame(sys.exc_info()[2], name)
        raise InputError([Problem(where, line, None, "template error: templates include or call each other "
                                  "without end")]) from None
    except Exception as exc:  # a template's own expression failed: 1/0, a wrong type, a bad format
        where, line = _template_frame(exc.__traceback__, name)
        raise InputError([Problem(where, line, None, f"template error: {type(exc).__name__}: "
                                  f"{_first_line(str(exc))}")]) from None


def _template_frame(tb: TracebackType | None, name: str) -> tuple[str, int | None]:
    """Return the template file and line that were running when ``tb`` was raised (Jinja2 rewrites
    tracebacks to point at templates), or ``name`` when no template frame is found."""
    found: tuple[str, int | None] = (name, None)
    for frame in traceback.extract_tb(tb):
        if frame.filename.endswith((".html", ".htm", ".xml", ".txt", ".j2")):
            found = (frame.filename, frame.lineno)
    return found


def _first_line(text: str) -> str:
    line = text.strip().split("\n")[0]
    return line if len(line) <= 200 else line[:197] + "..."


def _theme_cards(stats: Stats) -> list[dict[str, Any]]:
    taxonomy = stats.taxonomy
    breakdown = stats.breakdown("theme", ALL)
    cards = []
    for theme in taxonomy.themes:
        share = breakdown[theme.id]
        phase = taxonomy.phase(theme.phase)
        cards.append({
            "id": theme.id, "label": theme.label, "phase": phase.id, "phase_label": phase.name,
            "phase_color": phase.color, "definition": theme.definition, "share": share,
            "communities": stats.top_communities[theme.id], "href": f"themes/{theme.id}.html",
            "anchor": f"theme-{theme.id}", "drill": theme.id, "drill_label": theme.label,
        })
    return cards


def _page_context(bound: BoundPage, stats: Stats, charts: Charts, themes: list[dict[str, Any]],
                  env: Environment, site: dict[str, Any], history: History | None = None,
                  agreement: AgreementSummary | None = None, agreement_stale: Stale | None = None) -> dict[str, Any]:
    meta = bound.page.meta
    changes = history.changes if history is not None and history.changed else None
    context: dict[str, Any] = {
        "site": site, "root": "", "path": bound.page.filename, "current": bound.page.slug, "page": meta,
        "stats": stats,
        "charts": charts, "themes": themes, "phases": _phase_rows(stats),
        "headline": [(_binding_html(b), label, b.detail, caveat) for b, label, caveat in bound.headline],
        "claims": bound.claims, "methodology": _methodology(stats, agreement, agreement_stale), "post_template": POST_TEMPLATE,
        "resamples": RESAMPLES, "changes": changes, "since": history.since if history else None,
        "changes_listed": CHANGES_LISTED,
        "scope": {"label": "all posts", "n": stats.n, "counted": f"all {stats.n:,} posts", "everything": True},
    }
    # A block counts as placed by its unscoped form only: a scoped one is another view.
    placed = {(b.name, b.argument) for b in bound.blocks if b.scope.everything and not b.options}
    context["placed_headline"] = ("headline", None) in placed
    blocks_html = [Markup(_render(env, f"blocks/{b.name}.html", _block_context(b, context, stats)))
                   for b in bound.blocks]
    context["content"] = _markdown(bound, blocks_html)
    context["trailing_blocks"] = [
        Markup(_render(env, f"blocks/{name}.html", _block_context(Block(name, argument, 0), context, stats)))
        for name, argument in DEFAULT_BLOCKS
        if (bound.page.slug == INDEX or name == "claims") and (name, argument) not in placed
        and not (name == "claims" and not bound.claims) and not (name == "changes" and changes is None)
    ]
    return context


def _block_context(block: Block, context: dict[str, Any], stats: Stats) -> dict[str, Any]:
    """What a block's template sees: the page's values, its ``argument``, and for a scoped block
    its ``scope`` (``label``, ``n``), the charts it shows (``block_charts``) or its cards."""
    scoped = block.scope.stats(stats)
    values: dict[str, Any] = {**context, "argument": block.argument, "where": "",
                              "scope": {"label": block.scope.label(stats), "n": scoped.n,
                                        "counted": block.scope.label(stats, count=True),
                                        "everything": block.scope.everything},
                              # A scoped block's ids differ from the unscoped block's: both may be on one page.
                              "id_suffix": "" if block.scope.everything else
                              "-" + re.sub(r"[^a-z0-9]+", "-", block.scope.key().lower()).strip("-")}
    if block.name == "chart":
        values["block_charts"] = [context["charts"][key] for key, *_ in chart_requests(block, stats)]
        values["by"] = dict(block.options).get("by")
    if block.name == "headline" and block.headline:
        values["headline"] = [(_binding_html(b), label, b.detail, caveat) for b, label, caveat in block.headline]
    if block.name == "cards" and not block.scope.everything:
        themes = [card for card in _theme_cards(scoped) if card["share"].count]
        phases = [phase for phase in _phase_rows(scoped) if phase["share"].count]
        where = block.scope.where(stats)
        if where:  # the drill shows a card's posts in the scope alone, under its own key
            for row in [*themes, *phases]:
                row["drill"] += "~" + values["id_suffix"][1:]
                row["drill_label"] = f"{row.get('name', row['label'])}: {values['scope']['label']}"
        values.update(themes=themes, phases=phases, where=_json([[n, list(v)] for n, v in where]).strip() if where else "")
    return values


def _versions(history: History) -> dict[str, Any]:
    """The versions page's table: one column per pinned version (and this build, if it is not one of
    them), one row per headline number, matched by expression; and what changed between neighbours."""
    columns = list(history.versions)
    current = history.snapshot
    if not columns or columns[-1][1] != current:
        columns.append((f"{current.get('version') or 'this build'} (this build)", current))
    rows: dict[str, dict[str, Any]] = {}
    for _, snap in columns:  # the newest label wins
        for number in snap.get("headline", []):
            rows[number["expression"]] = {"label": number.get("label") or number["expression"], "values": {}}
    for name, snap in columns:
        for number in snap.get("headline", []):
            rows[number["expression"]]["values"][name] = number["text"]
    steps = [(columns[i][0], columns[i + 1][0], compare(columns[i][1], columns[i + 1][1], history.tables).summary())
             for i in range(len(columns) - 1)]
    return {"names": [name for name, _ in columns], "n": {name: snap["n"] for name, snap in columns},
            "claims": {name: f"{sum(c['passed'] for c in snap['claims'])}/{len(snap['claims'])}"
                       for name, snap in columns},
            "rows": list(rows.values()), "steps": steps}


def _phase_rows(stats: Stats) -> list[dict[str, Any]]:
    breakdown = stats.breakdown("phase", ALL)
    return [{"id": p.id, "label": f"{p.name}: all posts of the phase", "phase": p.id, "phase_label": p.name,
             "name": p.name, "definition": p.definition, "color": p.color, "share": breakdown[p.id],
             "href": f"phases/{p.id}.html", "anchor": f"phase-{p.id}", "drill": f"phase:{p.id}",
             "drill_label": f"{p.name}: all posts of the phase"}
            for p in stats.taxonomy.phases]


def _methodology(stats: Stats, agreement: AgreementSummary | None = None,
                 agreement_stale: Stale | None = None) -> dict[str, Any]:
    years = stats.breakdown("year", ALL)
    unknown = years.get("unknown")
    # Denominators that do not filter on phase can be compared by their phase mix.
    comparable = [d for d in stats.denominators.values() if "phase" not in d.where and "theme" not in d.where]
    return {
        "n": stats.n,
        "first_date": stats.first_date,
        "last_date": stats.last_date,
        "unknown_dates": unknown,
        "communities": stats.communities,
        "sources": stats.breakdown("source", ALL).shares,
        "phase_by_denominator": [(d, stats.breakdown("phase", d.id)) for d in comparable if d.n],
        "denominators": list(stats.denominators.values()),
        # Who coded the posts (shown once any post records it) and how far suggestions agree.
        "coding": [(label, share) for value, label in CODING_LABELS
                   if (share := stats.share(coding=value)).count] if recorded(stats) else [],
        "agreement": agreement,
        "agreement_stale": agreement_stale,  # measured on an earlier version of the data: the block says so
        "agreement_words": landis_koch(agreement.kappa) if agreement else "",
        "kept_words": landis_koch(agreement.unseen_kept_kappa) if agreement and agreement.unseen_kept_kappa is not None
        else "",
    }


CODING_LABELS = (("hand", "coded by hand"), ("model", "coded by accepting a suggestion"),
                 (UNRECORDED, "with no coder recorded"))


def recorded(stats: Stats) -> bool:
    """Whether any signal records who coded it."""
    return stats.count(coding=UNRECORDED) < stats.n


def _markdown(bound: BoundPage, blocks_html: list[Markup]) -> Markup:
    html = to_html(bound.markdown)
    for index, block in enumerate(blocks_html):
        token = f"{BLOCK_OPEN}{index}{BLOCK_CLOSE}"
        html = html.replace(f"<p>{token}</p>", block).replace(token, block)
    for index, binding in enumerate(bound.bindings):
        html = html.replace(f"{INLINE_OPEN}{index}{INLINE_CLOSE}", _binding_html(binding))
    for index, fact in enumerate(bound.facts):
        html = html.replace(f"{FACT_OPEN}{index}{FACT_CLOSE}", _fact_html(fact))
    if bound.facts:
        html += str(_sources_html(bound.facts))
    return Markup(html)


def _fact_html(fact: Fact) -> Markup:
    return Markup(
        '<span class="fact" title="Outside fact, not computed from the data: {source}">{text}'
        '<sup class="fact-ref"><a href="#source-{n}" id="fact-{n}" aria-label="Source {n}">[{n}]</a></sup></span>'
    ).format(source=fact.source, text=fact.text, n=fact.number)


def _sources_html(facts: list[Fact]) -> Markup:
    items = []
    for fact in facts:
        link = Markup(' <a href="{url}" rel="{rel}">{url}</a>').format(url=fact.url, rel=POST_REL) if fact.url else ""
        items.append(Markup('<li id="source-{n}">{source}.{link} <a href="#fact-{n}" aria-label="Back to the text">↩</a></li>')
                     .format(n=fact.number, source=fact.source, link=link))
    return Markup('\n<section class="sources" aria-labelledby="sources-heading"><h2 id="sources-heading">Sources '
                  'of outside facts</h2>\n<ol>\n{}\n</ol>\n</section>\n').format(Markup("\n").join(items))


def _binding_html(binding: Binding) -> Markup:
    tip = f"{binding.expression} = {binding.exact}"
    value = json.dumps(binding.value) if not isinstance(binding.value, str) else binding.value
    return Markup(
        '<data class="bound" id="{id}" value="{value}" data-expr="{expr}" data-exact="{exact}" '
        'title="{tip}">{text}</data>'
    ).format(id=binding.id, value=value, expr=binding.expression, exact=binding.exact, tip=tip, text=binding.text)
