"""The build: run every stage of the data flow in order, and write only when all succeeded."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import interrupt
from ..model import INDEX, InputError, MemokitError, Problem, Problems, grouped, printable
from ..model.agreement import AGREEMENT_FILE, coded_digest, staleness
from ..model.files import utf8_error_line
from ..versions import store
from .cache import BuildCache, fingerprint
from .charts import build_charts, chart_requests
from .claims import BLOCKS, BoundPage, ClaimResult, bind_page, check_claims
from .lint import Finding, candidates, lint_page
from .load import TAXONOMY_FILE, read_agreement
from .pages import load_pages, unused_keys
from .prose import analyse, structure_problems
from .render import TEMPLATES, Reuse, render_site
from .site import check_output, clean_up, staged_site
from .snapshot import History, data_part, history, snapshot
from .stats import Stats, compute
from .validate import Dataset, load_dataset

#: The built-in templates; a project's own templates folder overrides any of them by name.
BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


class CheckFailure(MemokitError):
    """Named claims no longer hold, or the prose holds hand-typed numbers (exit 1)."""

    exit_code = 1

    def __init__(self, failed: list[tuple[BoundPage, ClaimResult]], findings: list[Finding]):
        self.failed = failed
        self.findings = findings
        super().__init__(self.summary())

    def summary(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{len(self.failed)} claim{'s' if len(self.failed) != 1 else ''} no longer hold"
                         f"{'s' if len(self.failed) == 1 else ''}")
        if self.findings:
            parts.append(f"{len(self.findings)} hand-typed number{'s' if len(self.findings) != 1 else ''} in the prose")
        return " and ".join(parts)

    def lines(self) -> list[str]:
        """One report per finding and failed claim (a claim's with its check and terms below
        it), grouped by page."""
        reports = [(str(finding.path), finding.line, [str(finding)]) for finding in self.findings]
        for bound, claim in self.failed:
            where = f"{bound.page.path}:{claim.line}: claim {claim.name!r}"
            lines: list[str] = []
            if not claim.holds:
                why = f"cannot be computed: {claim.error}" if claim.error else "is false"
                lines += [f"{where} {why}: {claim.sentence}", f"    check: {claim.check}"]
                lines += [f"    {expression} = {value}" for expression, value in claim.terms]
            for subset in claim.subsets:
                if not subset.holds:
                    why = f"cannot be computed there: {subset.error}" if subset.error else "is false there"
                    lines += [f"{where} does not hold in the subset {subset.id!r} ({subset.label}), where it {why}: "
                              f"{claim.sentence}", f"    check: {claim.check}"]
                    lines += [f"    {expression} = {value} (in {subset.id})" for expression, value in subset.terms]
            if claim.below_minimum:
                lines += [f"{where} holds in only {claim.support:.1%} of resamples, below its minimum support of "
                          f"{claim.min_support:.0%}: {claim.sentence}", f"    check: {claim.check}"]
                lines += [f"    {expression} = {value}" for expression, value in claim.terms]
            reports.append((str(bound.page.path), claim.line or 0, [printable(line) for line in lines]))
        return grouped(reports)


@dataclass(frozen=True)
class Project:
    """Where a memo's inputs live and where its site goes."""

    data: Path = Path("data")
    memo: Path = Path("memo")
    templates: Path | None = None
    out: Path = Path("site")
    site_url: str | None = None  # where the site is published, e.g. https://example.org/memo/
    versions: Path = Path("versions")  # the pinned versions (memokit pin), oldest first by date

    def template_dirs(self) -> list[Path]:
        """Return the templates folders, most specific first: ``--templates`` (or ./templates if
        there is one), then the built-in templates."""
        own = self.templates if self.templates is not None else Path("templates")
        if self.templates is None and not own.is_dir():
            return [BUILTIN_TEMPLATES]
        if own.resolve() == BUILTIN_TEMPLATES:
            return [BUILTIN_TEMPLATES]
        return [own, BUILTIN_TEMPLATES]


@dataclass
class BuildResult:
    dataset: Dataset
    stats: Stats
    pages: list[BoundPage]
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # the data's, then the pages'
    history: History | None = None  # the snapshot, and what changed since the last pinned version

    def __post_init__(self) -> None:
        self.warnings[:0] = self.dataset.warnings

    @property
    def bindings(self) -> int:
        return sum(len(p.bindings) for p in self.pages)

    @property
    def claims(self) -> int:
        return sum(len(p.claims) for p in self.pages)

    @property
    def facts(self) -> int:
        return sum(len(p.facts) for p in self.pages)


def build(project: Project, check: bool = False, log: Callable[[str], None] | None = None,
          progress: Callable[[str], None] | None = None, cache: BuildCache | None = None) -> BuildResult:
    """Load, validate, compute and check; then, unless ``check``, render and write the site.

    ``log`` receives one line per finished stage with its time (the command line's ``-v``);
    ``progress``, often, a few words on how far a slow stage has got (it may ignore most);
    ``cache``, kept by the caller between builds, lets a build reuse what a change did not touch
    (``memokit.build.cache``; the preview passes one): the output is the same.
    """
    started = time.perf_counter()
    clock = [started]

    def done(stage: str) -> None:
        if log is not None:
            now = time.perf_counter()
            log(f"{stage} in {now - clock[0]:.2f} s")
            clock[0] = now

    templates = project.template_dirs()
    _check_templates(templates)
    _check_out(project)
    if not check:
        check_output(project.out)  # before the work, not after it
        clean_up(Path(os.path.abspath(project.out)))  # what an interrupted build left, whatever this one does
    data_key = fingerprint([project.data]) if cache is not None else ""
    data_digest = None
    if cache is not None and cache.data_key == data_key and cache.dataset is not None and cache.stats is not None:
        dataset, stats = cache.dataset, cache.stats
        done(f"kept the {len(dataset):,} signals of the last build (the data is unchanged)")
    else:
        dataset = load_dataset(project.data, progress)
        done(f"loaded and validated {len(dataset):,} signals")
        # The snapshot's digest of the data file is read while the statistics and claims are computed.
        data_digest = store.file_digest_ahead(dataset.source_path)
        stats = compute(dataset)
        if cache is not None:
            cache.keep_data(data_key, dataset, stats)
    agreement_problems = Problems()
    agreement = read_agreement(project.data, agreement_problems)
    agreement_problems.raise_if_any()
    # Figures measured on other coded posts than these are shown as such, with a warning.
    agreement_stale = None
    if agreement is not None:
        digest = cache.coded_digest if cache is not None and cache.coded_digest else None
        if digest is None:  # a pass over every signal: a prose edit in the preview keeps it
            digest = coded_digest(dataset.frame["title"], dataset.frame["theme"])
            if cache is not None:
                cache.coded_digest = digest
        agreement_stale = staleness(agreement, len(dataset), digest)
    pages = load_pages(project.memo)
    # Rendered elsewhere while the claims are checked.
    charts = None if check else build_charts(stats, cache.charts if cache is not None else None)
    done("computed the statistics")

    problems = Problems()
    for page in pages:
        for line, message in structure_problems(page.body, page.body_line):
            problems.add(page.path, line, None, message)
    problems.raise_if_any()
    analyses = [analyse(page.body, page.body_line, candidates) for page in pages]
    bound = [bind_page(page, stats, problems, analysis) for page, analysis in zip(pages, analyses, strict=True)]
    memo_support = next((p.meta.min_support for p in pages if p.slug == INDEX), None)
    for bound_page in bound:
        check_claims(bound_page, stats, problems, memo_support)
    problems.raise_if_any()
    if charts is not None:  # the scoped charts the pages place, asked for now, collected when rendered
        for block in (b for p in bound for b in p.blocks if b.name == "chart"):
            for key, dimension, scoped, title, order in chart_requests(block, stats):
                if key not in charts:
                    charts.request(key, dimension, scoped, title, order)
    failed = [(bound_page, claim) for bound_page in bound for claim in bound_page.claims if not claim.passed]
    findings = [finding for page, analysis in zip(pages, analyses, strict=True) for finding in lint_page(page, analysis)]
    findings += [finding for bound_page in bound for finding in bound_page.hand_typed]
    if failed or findings:
        raise CheckFailure(failed, findings)
    done(f"checked {sum(len(p.bindings) for p in bound)} bound numbers and {sum(len(p.claims) for p in bound)} claims")

    result = BuildResult(dataset, stats, bound)
    result.warnings.extend(unused_keys(pages))
    if agreement_stale is not None:
        result.warnings.append(agreement_stale.warning(project.data / AGREEMENT_FILE))
    taxonomy_path = project.data / TAXONOMY_FILE
    data = cache.snapshot_data if cache is not None else None
    if data is None:
        data = data_part(dataset, stats, taxonomy_path, data_digest)
        if cache is not None:
            cache.snapshot_data = data
    pinned, tables = cache.versions(project.versions) if cache is not None else (store.read_pinned(project.versions), None)
    result.history = history(snapshot(dataset, stats, bound, taxonomy_path, data), pinned, tables)
    result.warnings.extend(
        f"{p.page.path}:{claim.line}: claim {claim.name!r} holds in only {claim.support:.0%} of resamples of the "
        f"data: it is shown as fragile (give it a minimum with support: in its front matter, or rephrase it)"
        for p in bound for claim in p.claims if claim.fragile)
    if charts is not None:
        # On SIGINT or SIGTERM from the command line, only the writing is interrupted: neither the
        # making of the staging folder nor the swap into place is (memokit.interrupt).
        reuse = None
        if cache is not None:
            reuse = Reuse(data_key, fingerprint(templates), cache.derived, Path(os.path.abspath(project.out)),
                          environments=cache.environments, previous_signals=cache.signals)
        retire = cache.retired.append if cache is not None else None
        with interrupt.deferred(), staged_site(project.out, progress, retire) as out, interrupt.allowed():
            result.warnings.extend(render_site(dataset, stats, bound, charts, templates, out, project.site_url,
                                               result.history, reuse, agreement, agreement_stale))
        if cache is not None and reuse is not None:
            cache.derived, cache.signals = reuse.made, reuse.made_signals  # only now that the site holding them is in place
        result.files, result.bytes = out.files, out.bytes
        done(f"rendered the charts and wrote {out.files:,} files ({out.bytes / 1e6:,.1f} MB)")
    result.seconds = time.perf_counter() - started
    return result


def _check_templates(templates: list[Path]) -> None:
    if not templates[0].is_dir():
        raise InputError([Problem(str(templates[0]), None, None, "templates folder not found")])
    needed = (*TEMPLATES, *(f"blocks/{b}.html" for b in BLOCKS))
    problems = Problems()
    for name in needed:
        if not any((folder / name).is_file() for folder in templates):
            problems.add(templates[0] / name, None, None, "template not found")
    for path in sorted(p for folder in templates for p in folder.rglob("*.html")):
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(path, utf8_error_line(raw, exc), None, "invalid UTF-8: save the template as UTF-8")
    problems.raise_if_any()


def _check_out(project: Project) -> None:
    out = project.out.resolve()
    for source in (project.data, project.memo, project.templates or Path("templates")):
        source = source.resolve()
        if source == out or out in source.parents:
            raise InputError([Problem(str(project.out), None, None,
                                      f"the output folder would replace the input folder {source}; choose another --out")])
