"""Stage 4, claims: bind the numbers in the prose to ``Stats`` and check the named claims.

In a page's Markdown, ``{{ expression }}`` inserts a number computed from the data (see
``expressions``). A paragraph that holds nothing but ``{{ cards() }}``, ``{{ chart("phase") }}``,
``{{ chart("theme") }}``, ``{{ headline() }}``, ``{{ methodology() }}`` or ``{{ claims() }}``
places one of the generated blocks there. Whatever the Markdown parser takes for code (fenced,
indented, inline, or ``<code>`` and ``<pre>`` in raw HTML) is left as written (``memokit.build.prose``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import FILTER_FIELDS, INDEX, HeadlineItem, Page, Problems
from .expressions import (
    EmptyDenominator,
    ExpressionError,
    TruthValue,
    compares_a_term_with_itself,
    evaluate,
    parse,
    query_of,
    reads_data,
    render,
    terms,
)
from .lint import Finding
from .prose import READ_ATTRIBUTES, Analysis, Spot, find_bindings
from .scope import Scope
from .stats import Stats, StatsError
from .support import FRAGILE, support

#: Generated blocks a page may place, with the positional argument each takes.
BLOCKS: dict[str, tuple[str, ...]] = {
    "cards": (),
    "chart": ("phase", "theme"),
    "headline": (),
    "methodology": (),
    "claims": (),
    "changes": (),
}
#: The keyword arguments each block takes: the filters and denominator of its scope, and for a
#: chart ``by`` (one chart per value of a field, side by side) and ``order`` (of the theme chart).
BLOCK_OPTIONS: dict[str, tuple[str, ...]] = {
    "chart": ("of", *FILTER_FIELDS, "by", "order"),
    "cards": ("of", *FILTER_FIELDS),
    "headline": ("of", *FILTER_FIELDS),
}
CHART_ORDERS = ("taxonomy", "size")
INLINE_OPEN, INLINE_CLOSE = "\ue000", "\ue001"
FACT_OPEN, FACT_CLOSE = "\ue004", "\ue005"
BLOCK_OPEN, BLOCK_CLOSE = "\ue002", "\ue003"


@dataclass(frozen=True)
class Binding:
    """A number in the prose and where it came from."""

    id: str
    page: str
    line: int
    column: int
    expression: str
    text: str
    value: Any
    exact: str
    detail: str = ""  # a share's count and interval, shown beside it in the headline strip
    fraction: tuple[int, int] | None = None  # a share's count and total
    interval: tuple[float, float] | None = None  # a share's Wilson 95% interval
    query: dict[str, Any] | None = None  # what a single share() or count() asks (see expressions.query_of)
    scope: str = ""  # the scope it was computed in (a scoped headline()), "" for all posts

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "page": self.page, "line": self.line, "column": self.column,
            "expression": self.expression, "value": self.value, "exact": self.exact, "text": self.text,
            **({"scope": self.scope} if self.scope else {}),
        }


@dataclass(frozen=True)
class Block:
    """A generated block placed in the prose, e.g. ``chart("theme")``."""

    name: str
    argument: str | None
    line: int
    options: tuple[tuple[str, Any], ...] = ()  # keyword arguments, checked
    scope: Scope = field(default_factory=Scope)
    headline: tuple[tuple[Binding, str, str], ...] = ()  # a scoped headline(): its numbers in the scope


@dataclass(frozen=True)
class SubsetResult:
    """A claim evaluated on one named subset of the signals, taken alone as the corpus."""

    id: str
    label: str
    holds: bool
    terms: tuple[tuple[str, str], ...]
    error: str | None = None


@dataclass(frozen=True)
class ClaimResult:
    """A named claim, whether the data supports it, in which subsets, and how solidly."""

    name: str
    sentence: str
    check: str
    holds: bool  # on the whole corpus
    line: int
    terms: tuple[tuple[str, str], ...]
    error: str | None = None
    support: float = 0.0  # the share of bootstrap resamples in which it holds
    min_support: float | None = None  # the claim's own minimum, or the memo's
    subsets: tuple[SubsetResult, ...] = ()

    @property
    def passed(self) -> bool:
        """True if it holds, in every subset it names, with at least its minimum support."""
        return self.holds and all(s.holds for s in self.subsets) and not self.below_minimum

    @property
    def below_minimum(self) -> bool:
        return self.min_support is not None and self.support < self.min_support

    @property
    def support_text(self) -> str:
        """The support as a reader reads it: a whole percent, never "100%" unless every resample
        held, nor "0%" unless none did."""
        percent = round(self.support * 100)
        if percent == 100 and self.support < 1:
            return "more than 99%"
        if percent == 0 and self.support > 0:
            return "fewer than 1%"
        return f"{percent}%"

    @property
    def fragile(self) -> bool:
        """True if it sets no minimum and holds in fewer than 90% of resamples."""
        return self.min_support is None and self.support < FRAGILE

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sentence": self.sentence, "check": self.check, "passed": self.passed,
                "holds": self.holds, "support": round(self.support, 4), "min_support": self.min_support,
                "fragile": self.fragile, "holds_in": {s.id: s.holds for s in self.subsets},
                "line": self.line, "terms": [{"expression": e, "value": v} for e, v in self.terms],
                "subsets": {s.id: {"holds": s.holds, "terms": [{"expression": e, "value": v} for e, v in s.terms],
                                   "error": s.error} for s in self.subsets},
                "error": self.error}


@dataclass(frozen=True)
class Fact:
    """A number from outside the data, shown with its source: ``{{ fact("29.5%", source="…") }}``."""

    number: int
    page: str
    line: int
    text: str
    source: str
    url: str | None

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "line": self.line, "text": self.text, "source": self.source, "url": self.url}


@dataclass
class BoundPage:
    """A page whose bindings are evaluated: Markdown with placeholders, and what replaces them."""

    page: Page
    markdown: str
    bindings: list[Binding] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    headline: list[tuple[Binding, str, str]] = field(default_factory=list)  # number, label, caveat
    claims: list[ClaimResult] = field(default_factory=list)
    hand_typed: list[Finding] = field(default_factory=list)  # bindings that read no data


def bind_page(page: Page, stats: Stats, problems: Problems, analysis: Analysis) -> BoundPage:
    """Evaluate every binding of ``page`` that the Markdown parser puts in prose (``analysis``);
    bindings in code, comments and link definitions stay as written. Unknown names and bad
    syntax become problems."""
    bound = BoundPage(page, "")
    spots: dict[int, dict[int, Spot]] = {}
    for spot in analysis.bindings:
        spots.setdefault(spot.line, {})[spot.column - 1] = spot
    lines = page.body.split("\n")
    for index, line in enumerate(lines):
        number = page.body_line + index
        if number in spots:
            lines[index] = _bind_line(line, number, spots[number], bound, stats, problems)
    bound.markdown = "\n".join(lines)

    headline = page.meta.headline or (default_headline(stats) if page.slug == INDEX else ())
    for index, item in enumerate(headline):
        at = page.key_lines.get("headline", 1)
        binding = _binding(item.value, at, 0, bound, stats, problems, f"headline[{index + 1}]")
        if binding:
            bound.headline.append((binding, item.label, item.caveat))
    return bound


def default_headline(stats: Stats) -> tuple[HeadlineItem, ...]:
    """Headline numbers for a memo that declares none: the corpus size and each phase's share."""
    return (
        HeadlineItem(value="n", label="public posts, coded by theme and phase"),
        *(HeadlineItem(value=f"share(phase={p.id!r})", label=f"are about {p.name}") for p in stats.taxonomy.phases),
    )


def _bind_line(line: str, number: int, spots: dict[int, Spot], bound: BoundPage, stats: Stats,
               problems: Problems) -> str:
    pieces: list[str] = []
    last = 0
    for start, end, inner in find_bindings(line):
        spot = spots.get(start)
        if spot is None or not (spot.read or spot.attribute):
            continue  # code, a comment, a link definition: shown as written, never evaluated
        pieces.append(line[last:start])
        last = end
        expression = inner.strip()
        attribute = None if spot.in_text else spot.attribute
        if attribute is not None and attribute not in READ_ATTRIBUTES:
            problems.add(bound.page.path, number, None, f"{{{{ {expression} }}}} stands in a link target or an "
                         f"HTML attribute ({attribute}), where no number can be shown: move it into the text")
            continue
        block = _block(expression)
        if block is not None:
            name, argument, keywords = block
            if line.strip() != line[start:end] or attribute is not None:
                problems.add(bound.page.path, number, None,
                             f"{{{{ {expression} }}}} places a block: put it on a line of its own")
                continue
            problem, scope = _check_block(name, argument, keywords, stats)
            if problem:
                problems.add(bound.page.path, number, None, problem)
                continue
            options = tuple(sorted((k, v) for k, v in keywords.items() if k in ("by", "order")))
            numbers: list[tuple[Binding, str, str]] = []
            if name == "headline" and not scope.everything:
                # The page's headline numbers, computed on the scope's posts alone.
                items = bound.page.meta.headline or (default_headline(stats) if bound.page.slug == INDEX else ())
                for item in items:
                    found = _binding(item.value, number, 0, bound, scope.stats(stats), problems, scope=scope.key())
                    if found:
                        numbers.append((found, item.label, item.caveat))
            bound.blocks.append(Block(name, argument, number, options, scope, tuple(numbers)))
            pieces.append(f"\n{BLOCK_OPEN}{len(bound.blocks) - 1}{BLOCK_CLOSE}\n")
            continue
        if expression.startswith("fact(") or expression.startswith("fact ("):
            fact = _fact(expression, number, bound, problems)
            if fact:
                pieces.append(fact.text if attribute else f"{FACT_OPEN}{len(bound.facts) - 1}{FACT_CLOSE}")
            continue
        binding = _binding(expression, number, start + 1, bound, stats, problems)
        if binding:
            # Alt text and titles show the number as plain text; Markdown escapes it there.
            pieces.append(binding.text if attribute else f"{INLINE_OPEN}{len(bound.bindings) - 1}{INLINE_CLOSE}")
    pieces.append(line[last:])
    return "".join(pieces)


def _binding(expression: str, line: int, column: int, bound: BoundPage, stats: Stats,
             problems: Problems, field_name: str | None = None, scope: str = "") -> Binding | None:
    try:
        tree = parse(expression)
        if not reads_data(tree):
            # {{ 4200 }} or {{ 0.89 | percent }}: a number typed by hand, dressed as a binding.
            bound.hand_typed.append(Finding(bound.page.path, line, max(column, 1), "number (a binding that reads "
                                            "no data)", f"{{{{ {expression} }}}}"))
            return None
        rendered = render(tree, stats)
    except ExpressionError as exc:
        problems.add(bound.page.path, line, field_name, f"{_written(expression)}: {exc}")
        return None
    binding = Binding(
        id=f"{bound.page.slug}-{len(bound.bindings) + 1}", page=bound.page.filename, line=line, column=column,
        expression=expression, text=rendered.text, value=rendered.value, exact=rendered.exact, detail=rendered.detail,
        fraction=rendered.fraction, interval=rendered.interval, query=query_of(tree, stats) if not scope else None,
        scope=scope,
    )
    bound.bindings.append(binding)
    return binding


def _written(expression: str) -> str:
    """A binding as the author wrote it, shortened to fit a message line."""
    shown = expression if len(expression) <= 80 else expression[:77] + "..."
    return f"{{{{ {shown} }}}}"


def _fact(expression: str, line: int, bound: BoundPage, problems: Problems) -> Fact | None:
    usage = 'write it as {{ fact("29.5%", source="Who said it", url="https://...") }}'
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        problems.add(bound.page.path, line, None, f"{{{{ {expression} }}}}: cannot parse: {exc.msg}; {usage}")
        return None
    assert isinstance(node, ast.Call)
    values = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
    keywords = {k.arg: k.value.value if isinstance(k.value, ast.Constant) else None for k in node.keywords}
    text, source, url = (values[0] if values else None), keywords.get("source"), keywords.get("url")
    unknown = set(keywords) - {"source", "url"}
    if len(values) != 1 or not isinstance(text, str) or not text.strip() or not isinstance(source, str) \
            or not source.strip() or unknown or (url is not None and not isinstance(url, str)):
        problems.add(bound.page.path, line, None, f"{{{{ {expression} }}}}: a fact needs its text and a source; {usage}")
        return None
    if url is not None and not url.lower().startswith(("http://", "https://")):
        problems.add(bound.page.path, line, None, f"{{{{ {expression} }}}}: a fact's url must be http(s), got {url!r}")
        return None
    fact = Fact(len(bound.facts) + 1, bound.page.filename, line, text, source, url)
    bound.facts.append(fact)
    return fact


def _constant(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.List | ast.Tuple) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                                      for e in node.elts):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return _INVALID


_INVALID = object()


def _block(expression: str) -> tuple[str, Any, dict[str, Any]] | None:
    """``(name, positional argument or None, keyword arguments)`` if the expression places a block."""
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BLOCKS):
        return None
    args = [_constant(a) for a in node.args]
    keywords = {str(k.arg): _constant(k.value) for k in node.keywords}
    argument = args[0] if len(args) == 1 else (_INVALID if args else None)
    return node.func.id, argument, keywords


def _check_block(name: str, argument: Any, keywords: dict[str, Any], stats: Stats) -> tuple[str | None, Scope]:
    """Return a problem with a block's arguments (or None) and its scope."""
    allowed = BLOCKS[name]
    if allowed and argument not in allowed:
        return f"{name}() takes one of: {', '.join(repr(a) for a in allowed)}", Scope()
    if not allowed and argument is not None:
        return f"{name}() takes no positional argument", Scope()
    options = BLOCK_OPTIONS.get(name, ())
    unknown = [key for key in keywords if key not in options]
    if unknown:
        expected = f"expected: {', '.join(options)}" if options else "it takes none"
        return f"{name}() has no argument {unknown[0]!r}; {expected}", Scope()
    if any(value is _INVALID for value in keywords.values()):
        return f"{name}()'s arguments are names in quotes, or lists of them", Scope()
    if "by" in keywords and keywords["by"] not in FILTER_FIELDS:
        return f"{name}(by=...) takes a field: one of {', '.join(FILTER_FIELDS)}", Scope()
    if keywords.get("order", "taxonomy") not in CHART_ORDERS:
        return f"{name}(order=...) takes one of: {', '.join(repr(o) for o in CHART_ORDERS)}", Scope()
    try:
        scope = Scope.parse({k: v for k, v in keywords.items() if k not in ("by", "order")}, stats)
    except StatsError as exc:
        return f"{name}(): {exc}", Scope()
    return None, scope


def check_claims(bound: BoundPage, stats: Stats, problems: Problems, default_support: float | None = None) -> None:
    """Evaluate every named claim of the page on the whole corpus, on each subset it names, and on
    bootstrap resamples (its support); names that do not exist become problems.

    A claim that is false, does not hold in a subset it names, falls below its minimum support, or
    whose terms cannot be computed from the current data, is recorded as failed (the build turns
    that into exit 1), never raised. ``default_support`` is the memo's minimum for claims that set
    none of their own.
    """
    base = bound.page.key_lines.get("claims", 1)
    minimum = bound.page.meta.min_support if bound.page.meta.min_support is not None else default_support
    for index, spec in enumerate(bound.page.meta.claims):
        line = _claim_line(bound.page, spec.name, base)
        unknown = [name for name in spec.holds_in if name not in stats.denominators]
        if unknown:
            problems.add(bound.page.path, line, f"claims[{index + 1}].holds_in",
                         f"unknown denominator {unknown[0]!r}; expected one of: {', '.join(stats.denominators)}")
            continue
        try:
            tree = parse(spec.check)
            if not reads_data(tree) or compares_a_term_with_itself(tree):
                problems.add(bound.page.path, line, f"claims[{index + 1}].check",
                             f"{spec.check!r} is vacuous: it holds or fails whatever the data says; compare "
                             "what the data computes (a share, a count) with something else")
                continue
            value = evaluate(tree, stats)
            holds, error = value.as_truth() if isinstance(value, TruthValue) else None, None
        except EmptyDenominator as exc:
            holds, error = False, str(exc)
        except ExpressionError as exc:
            problems.add(bound.page.path, line, f"claims[{index + 1}].check", str(exc))
            continue
        if holds is None:
            problems.add(bound.page.path, line, f"claims[{index + 1}].check",
                         f"{spec.check!r} is not true or false: compare it with something")
            continue
        bound.claims.append(ClaimResult(
            spec.name, spec.sentence, spec.check, holds, line, tuple(terms(spec.check, stats)), error,
            support=support(spec.check, stats), min_support=spec.support if spec.support is not None else minimum,
            subsets=tuple(_in_subset(spec.check, stats, name) for name in spec.holds_in)))


def _in_subset(check: str, stats: Stats, name: str) -> SubsetResult:
    """Evaluate ``check`` on the signals of denominator ``name`` alone."""
    within = stats.within(name)
    label = stats.denominators[name].label
    if within.n == 0:
        return SubsetResult(name, label, False, (), f"the subset {name!r} holds no signal")
    try:
        holds = evaluate(parse(check), within).as_truth()
        error = None
    except ExpressionError as exc:  # an empty denominator within the subset
        holds, error = False, str(exc)
    return SubsetResult(name, label, holds, tuple(terms(check, within)), error)


def _claim_line(page: Page, name: str, default: int) -> int:
    for number, text in enumerate(page.front_matter, start=1):
        if re.search(rf"name:\s*['\"]?{re.escape(name)}['\"]?\s*$", text):
            return number
    return default
