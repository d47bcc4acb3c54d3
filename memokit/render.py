"""Stage 6, render: Markdown and Jinja2 templates to pages, data files and assets, written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from markupsafe import Markup

from .charts import Chart
from .claims import BLOCK_CLOSE, BLOCK_OPEN, FACT_CLOSE, FACT_OPEN, INLINE_CLOSE, INLINE_OPEN, Binding, BoundPage, Fact
from .errors import InputError, Problem
from .expressions import format_interval
from .memo import INDEX
from .models import SIGNAL_FIELDS, Phase, Signal
from .stats import Stats
from .validate import ALL, Dataset

#: Attributes every link to a post carries: the text behind it is from the internet.
POST_REL = "noopener noreferrer nofollow ugc"
#: The link-preview image (og:image): the headline chart as PNG.
SHARE_IMAGE = "assets/share.png"
#: Templates the build needs; a templates folder must provide each.
TEMPLATES = ("memo.html", "page.html", "theme.html")
#: Blocks shown on the memo page even when its prose does not place them, in this order.
DEFAULT_BLOCKS = (("chart", "phase"), ("chart", "theme"), ("cards", None), ("methodology", None), ("claims", None))


@dataclass(frozen=True)
class Post:
    """A signal as a reader sees it: every field escaped at render time, the link checked."""

    signal: Signal
    source_label: str

    @property
    def date(self) -> str:
        return self.signal.created.isoformat() if self.signal.created else "date unknown"


def render_site(dataset: Dataset, stats: Stats, pages: list[BoundPage], charts: Mapping[str, Chart],
                templates: Path) -> dict[str, bytes]:
    """Return every file of the site, keyed by its path relative to the output folder."""
    env = _environment(templates)
    taxonomy = dataset.taxonomy
    files: dict[str, bytes] = {}
    nav = [{"title": p.page.nav_title, "href": p.page.filename if p.page.slug != INDEX else "index.html",
            "slug": p.page.slug} for p in pages]
    memo = next(p for p in pages if p.page.slug == INDEX)
    site = {"title": memo.page.meta.title, "nav": nav, "share_image": SHARE_IMAGE if charts["phase"].png else None}
    themes = _theme_cards(stats)

    for bound in pages:
        context = _page_context(bound, stats, charts, themes, env, site)
        template = "memo.html" if bound.page.slug == INDEX else "page.html"
        files[bound.page.filename] = _render(env, template, context).encode()

    by_theme: dict[str, list[Signal]] = {t.id: [] for t in taxonomy.themes}
    for signal in dataset.signals:
        by_theme[signal.theme].append(signal)
    for card in themes:
        posts = [Post(s, taxonomy.source_label(s.source)) for s in newest_first(by_theme[card["id"]])]
        context = {"site": site, "root": "../", "current": None, "group": card, "posts": posts, "rel": POST_REL}
        files[f"themes/{card['id']}.html"] = _render(env, "theme.html", context).encode()
        sources = sorted({p.signal.source for p in posts})
        files[f"data/themes/{card['id']}.json"] = _json({
            "theme": card["id"], "label": card["label"], "phase": card["phase"], "count": len(posts),
            "sources": {source: taxonomy.source_label(source) for source in sources},
            "posts": [_post_json(p.signal) for p in posts],
        })
    for phase in _phase_rows(stats):
        signals = [s for t in taxonomy.themes_of(phase["id"]) for s in by_theme[t.id]]
        posts = [Post(s, taxonomy.source_label(s.source)) for s in newest_first(signals)]
        context = {"site": site, "root": "../", "current": None, "group": phase, "posts": posts, "rel": POST_REL}
        files[f"phases/{phase['id']}.html"] = _render(env, "theme.html", context).encode()

    files["data/stats.json"] = _json(stats.to_json())
    files["data/claims.json"] = _json({
        "bindings": [b.to_json() for p in pages for b in p.bindings],
        "claims": [{"page": p.page.filename, **c.to_json()} for p in pages for c in p.claims],
        "facts": [f.to_json() for p in pages for f in p.facts],
    })
    files["data/signals.csv"] = signals_csv(dataset.signals).encode()
    files["assets/phases.css"] = phase_css(taxonomy.phases).encode()
    if charts["phase"].png:
        files[SHARE_IMAGE] = charts["phase"].png
    assets = templates / "assets"
    if assets.is_dir():
        for path in sorted(assets.rglob("*")):
            if path.is_file():
                files[f"assets/{path.relative_to(assets).as_posix()}"] = path.read_bytes()
    return files


def newest_first(signals: list[Signal]) -> list[Signal]:
    """Sort newest first; undated posts last; ties by id so the order never depends on input order."""
    dated = sorted((s for s in signals if s.created), key=lambda s: (s.created, s.id), reverse=True)
    undated = sorted((s for s in signals if not s.created), key=lambda s: s.id)
    return dated + undated


def signals_csv(signals: tuple[Signal, ...] | list[Signal]) -> str:
    """Return the validated signals as CSV in memokit's own input format."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SIGNAL_FIELDS)
    for signal in signals:
        row = signal.model_dump()
        row["created"] = signal.created.isoformat() if signal.created else ""
        row["found_by"] = ";".join(signal.found_by)
        writer.writerow([row[name] for name in SIGNAL_FIELDS])
    return buffer.getvalue()


def phase_css(phases: tuple[Phase, ...]) -> str:
    """Return the CSS that gives each phase its colour on chips, cards and lists."""
    rules = [f'[data-phase="{p.id}"] {{ --phase: {p.color}; }}' for p in phases if p.color]
    return "/* Generated from taxonomy.toml: one colour per phase. */\n" + "\n".join(rules) + "\n"


def _post_json(signal: Signal) -> dict[str, Any]:
    return {"id": signal.id, "url": signal.url, "title": signal.title, "source": signal.source,
            "community": signal.community, "created": signal.created.isoformat() if signal.created else None,
            "summary": signal.summary}


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def _environment(templates: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["interval"] = format_interval
    env.filters["number"] = lambda value: f"{value:,}"
    env.filters["safe_url"] = safe_url
    return env


def safe_url(url: str) -> str:
    """Return ``url`` if it is http(s); anything else becomes an inert ``#``."""
    return url if url.lower().startswith(("http://", "https://")) else "#"


def _render(env: Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
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


def _page_context(bound: BoundPage, stats: Stats, charts: Mapping[str, Chart], themes: list[dict[str, Any]],
                  env: Environment, site: dict[str, Any]) -> dict[str, Any]:
    meta = bound.page.meta
    context: dict[str, Any] = {
        "site": site, "root": "", "current": bound.page.slug, "page": meta, "stats": stats,
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


def write_site(files: Mapping[str, bytes], out: Path) -> None:
    """Write ``files`` to a fresh folder beside ``out`` and swap it into place only when all is written."""
    out = out.resolve()
    parent = out.parent
    if out.exists() and not out.is_dir():
        raise InputError([Problem(str(out), None, None, "output path exists and is not a folder")])
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=parent))
    except OSError as exc:
        raise InputError([Problem(str(out), None, None, f"cannot write the output folder: {exc.strerror or exc}")]) from None
    try:
        os.chmod(staging, 0o755)
        for relative, content in sorted(files.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
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

