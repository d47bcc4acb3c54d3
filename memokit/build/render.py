"""Stage 6, render: Markdown and Jinja2 templates to pages, data files and assets, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import markdown
import pandas as pd
from jinja2 import (ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound,
                    select_autoescape)
from markupsafe import Markup, escape

from ..model import ALL, INDEX, SIGNAL_FIELDS, InputError, Phase, Problem
from .charts import Charts
from .claims import BLOCK_CLOSE, BLOCK_OPEN, FACT_CLOSE, FACT_OPEN, INLINE_CLOSE, INLINE_OPEN, Binding, BoundPage, Fact
from .expressions import format_interval
from .stats import Stats
from .validate import Dataset

#: Attributes every link to a post carries: the text behind it is from the internet.
POST_REL = "noopener noreferrer nofollow ugc"
#: The link-preview image (og:image): the headline chart as PNG.
SHARE_IMAGE = "assets/share.png"
#: Posts per page of a theme or phase listing, and per drill data file.
PAGE_SIZE = 2000
#: Templates the build needs; a templates folder must provide each.
TEMPLATES = ("memo.html", "page.html", "theme.html")
#: Blocks shown on the memo page even when its prose does not place them, in this order.
DEFAULT_BLOCKS = (("chart", "phase"), ("chart", "theme"), ("cards", None), ("methodology", None), ("claims", None))


def render_site(dataset: Dataset, stats: Stats, pages: list[BoundPage], charts: Charts,
                templates: Sequence[Path], out: SiteWriter, site_url: str | None = None) -> None:
    """Render every file of the site into ``out``; ``site_url`` (the published address, ending
    in "/") fills canonical and Open Graph links, which must be absolute.

    The memo pages come last: they show the charts, which may still be rendering elsewhere."""
    env = _environment(templates)
    taxonomy = dataset.taxonomy
    nav = [{"title": p.page.nav_title, "href": p.page.filename if p.page.slug != INDEX else "index.html",
            "slug": p.page.slug} for p in pages]
    memo = next(p for p in pages if p.page.slug == INDEX)
    site = {"title": memo.page.meta.title, "nav": nav, "share_image": SHARE_IMAGE,
            "url": site_url}
    themes = _theme_cards(stats)

    frame = newest_first(dataset.frame)
    labels = {source: taxonomy.source_label(source) for source in frame["source"].unique()}
    fragments = pd.Series([_post_html(row, labels) for row in frame.itertuples(index=False)], index=frame.index,
                          dtype=object)
    for card in themes:
        rows = frame.index[frame["theme"].to_numpy() == card["id"]]
        _group_pages(env, out, site, card, "themes", fragments.loc[rows].tolist())
        _drill_data(out, card, frame.loc[rows], labels)
    for phase in _phase_rows(stats):
        rows = frame.index[frame["phase"].to_numpy() == phase["id"]]
        _group_pages(env, out, site, phase, "phases", fragments.loc[rows].tolist())

    out.write("data/stats.json", _json(stats.to_json(), indent=1))
    out.write("data/claims.json", _json({
        "bindings": [b.to_json() for p in pages for b in p.bindings],
        "claims": [{"page": p.page.filename, **c.to_json()} for p in pages for c in p.claims],
        "facts": [f.to_json() for p in pages for f in p.facts],
    }, indent=1))
    out.write("data/signals.csv", signals_csv(dataset.frame))
    out.write("assets/phases.css", phase_css(taxonomy.phases))
    for relative, path in sorted(template_assets(templates).items()):
        out.write(f"assets/{relative}", path.read_bytes())

    for bound in pages:
        context = _page_context(bound, stats, charts, themes, env, site)
        template = "memo.html" if bound.page.slug == INDEX else "page.html"
        out.write(bound.page.filename, _render(env, template, context))
    out.write(SHARE_IMAGE, _share_png(charts))


def _share_png(charts: Charts) -> bytes:
    png = charts[charts.share_image].png
    assert png is not None, "the share-image chart is always rendered as PNG too"
    return png


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


def _group_pages(env: Environment, out: SiteWriter, site: dict[str, Any], group: dict[str, Any], folder: str,
                 posts: list[str]) -> None:
    """Write a theme's or phase's posts as pages of at most ``PAGE_SIZE`` posts."""
    pages = max(1, -(-len(posts) // PAGE_SIZE))
    for page in range(1, pages + 1):
        first = (page - 1) * PAGE_SIZE
        chunk = posts[first:first + PAGE_SIZE]
        pagination = {
            "page": page, "pages": pages, "first": first + 1 if chunk else 0, "last": first + len(chunk),
            "previous": page_file(folder, group["id"], page - 1, "html").split("/")[-1] if page > 1 else None,
            "next": page_file(folder, group["id"], page + 1, "html").split("/")[-1] if page < pages else None,
        }
        context = {"site": site, "root": "../", "path": page_file(folder, group["id"], page, "html"),
                   "current": None, "group": group, "count": len(posts),
                   "posts": [Markup(fragment) for fragment in chunk], "pagination": pagination}
        out.write(page_file(folder, group["id"], page, "html"), _render(env, "theme.html", context))


def _drill_data(out: SiteWriter, card: dict[str, Any], rows: pd.DataFrame, labels: Mapping[str, str]) -> None:
    """Write a theme's posts for the drill, ``PAGE_SIZE`` to a file; the first file describes the rest."""
    posts = rows[["id", "url", "title", "source", "community", "created", "summary"]].to_dict("records")
    pages = max(1, -(-len(posts) // PAGE_SIZE))
    for page in range(1, pages + 1):
        chunk = posts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        data: dict[str, Any] = {"theme": card["id"], "page": page, "pages": pages}
        if page == 1:
            data.update({"label": card["label"], "phase": card["phase"], "count": len(posts),
                         "sources": {s: labels[s] for s in sorted(set(rows["source"]))}})
        data["posts"] = chunk
        out.write(page_file("data/themes", card["id"], page, "json"), _json(data))


def newest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort newest first, undated posts last; ties by id, descending, so the order never depends on
    the input's order (the drill sorts the same way)."""
    undated = frame["created"].isna()
    ordered = frame.assign(_undated=undated, _created=frame["created"].fillna(""))
    ordered = ordered.sort_values(["_undated", "_created", "id"], ascending=[True, False, False], kind="stable")
    return ordered.drop(columns=["_undated", "_created"])


def signals_csv(frame: pd.DataFrame) -> str:
    """Return the validated signals as CSV in memokit's own input format."""
    return frame.to_csv(index=False, lineterminator="\n", columns=list(SIGNAL_FIELDS))


def _post_html(row: Any, labels: Mapping[str, str]) -> str:
    """Return one post of a listing; every field is untrusted text and escaped here."""
    url = safe_url(row.url)
    if row.created:
        date = f'<time datetime="{row.created}">{row.created}</time>'
    else:
        date = '<span class="undated">date unknown</span>'
    return (
        f'<li class="post" data-id="{escape(row.id)}"><h2 class="post-title"><a href="{escape(url)}" '
        f'rel="{POST_REL}">{escape(row.title)}</a></h2><p class="post-meta"><span class="source">'
        f'{escape(labels[row.source])}</span> · <span class="community">{escape(row.community)}</span> · {date}</p>'
        f'<p class="post-summary">{escape(row.summary)}</p></li>'
    )


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
    if indent is None:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(data, ensure_ascii=False, indent=indent) + "\n"


def _environment(templates: Sequence[Path]) -> Environment:
    # The first folder that has a template by a name wins: a project's own over the built-in ones.
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in templates]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["interval"] = format_interval
    env.filters["number"] = lambda value: f"{value:,}"
    return env


def safe_url(url: str) -> str:
    """Return ``url`` if it is http(s); anything else becomes an inert ``#``."""
    return url if url.lower().startswith(("http://", "https://")) else "#"


def _render(env: Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as exc:
        source = env.loader.get_source(env, name)[1] if name != exc.name else name  # type: ignore[union-attr]
        raise InputError([Problem(str(source), None, None, f"template error: {exc.name!r} is in no templates "
                                  "folder")]) from None
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        raise InputError([Problem(str(where), line, None, f"template error: {exc.message or exc}")]) from None


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
            "anchor": f"theme-{theme.id}",
        })
    return cards


def _page_context(bound: BoundPage, stats: Stats, charts: Charts, themes: list[dict[str, Any]],
                  env: Environment, site: dict[str, Any]) -> dict[str, Any]:
    meta = bound.page.meta
    context: dict[str, Any] = {
        "site": site, "root": "", "path": bound.page.filename, "current": bound.page.slug, "page": meta,
        "stats": stats,
        "charts": charts, "themes": themes, "phases": _phase_rows(stats),
        "headline": [(_binding_html(b), label) for b, label in bound.headline],
        "claims": bound.claims, "methodology": _methodology(stats),
    }
    placed = {(b.name, b.argument) for b in bound.blocks}
    context["placed_headline"] = ("headline", None) in placed
    blocks_html = [Markup(_render(env, f"blocks/{b.name}.html", {**context, "argument": b.argument}))
                   for b in bound.blocks]
    context["content"] = _markdown(bound, blocks_html)
    context["trailing_blocks"] = [
        Markup(_render(env, f"blocks/{name}.html", {**context, "argument": argument}))
        for name, argument in DEFAULT_BLOCKS
        if bound.page.slug == INDEX and (name, argument) not in placed
        and not (name == "claims" and not bound.claims)
    ]
    return context


def _phase_rows(stats: Stats) -> list[dict[str, Any]]:
    breakdown = stats.breakdown("phase", ALL)
    return [{"id": p.id, "label": f"{p.name}: all posts of the phase", "phase": p.id, "phase_label": p.name,
             "name": p.name, "definition": p.definition, "color": p.color, "share": breakdown[p.id],
             "href": f"phases/{p.id}.html", "anchor": f"phase-{p.id}"}
            for p in stats.taxonomy.phases]


def _methodology(stats: Stats) -> dict[str, Any]:
    years = stats.breakdown("year", ALL)
    unknown = years["unknown"] if "unknown" in years.keys() else None
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
    }


def _markdown(bound: BoundPage, blocks_html: list[Markup]) -> Markup:
    html = markdown.markdown(
        bound.markdown, extensions=["extra", "sane_lists", "smarty", "toc"], output_format="html",
        extension_configs={"toc": {"permalink": False}, "smarty": {"smart_angled_quotes": False}},
    )
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


# --- writing ----------------------------------------------------------------------------------


class SiteWriter:
    """Writes the files of a site into a staging folder, counting files and bytes."""

    def __init__(self, root: Path, progress: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self.progress = progress

    def write(self, relative: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.files += 1
        self.bytes += len(data)
        if self.progress is not None:
            self.progress(f"writing the site: {self.files:,} files, {self.bytes / 1e6:,.1f} MB")


@contextmanager
def staged_site(out: Path, progress: Callable[[str], None] | None = None) -> Iterator[SiteWriter]:
    """Yield a writer into a fresh folder beside ``out``; swap it into place only if the block
    finishes, so a failed build never leaves a half-written site. ``progress`` hears of each
    file written."""
    out = out.resolve()
    parent = out.parent
    if out.exists() and not out.is_dir():
        raise InputError([Problem(str(out), None, None, "output path exists and is not a folder")])
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=parent))
    except OSError as exc:
        blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
        raise InputError([Problem(str(out), None, None, f"cannot write the output folder: {why}")]) from None
    try:
        os.chmod(staging, 0o755)
        yield SiteWriter(staging, progress)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=parent))
            os.rename(out, retired / out.name)
            os.rename(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError([Problem(str(out), None, None, f"cannot write the output folder: {exc.strerror or exc}")]) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
