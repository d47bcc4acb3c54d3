"""The small expression language of bindings and claims, evaluated safely against ``Stats``.

An expression is a Python-like formula over a fixed set of functions, e.g.
``share("regression")``, ``count(phase="Evaluate", of="sweep")``,
``share(phase="Evaluate", of="post-training") > 0.5``, optionally followed by a format:
``share("regression") | percent(1)``. Only the names below exist; nothing else of Python does.

Every value an expression computes is a ``Value``: a share, an interval, a count, a number, a
truth value or a date. Each kind knows how it is written for a reader, how it compares, which
formats apply to it and what it exports to ``claims.json``; nothing here asks a value what it is.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, ClassVar, NoReturn

from ..model import ALL, FILTER_FIELDS
from .stats import Share, Stats, StatsError, round_percent

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

#: A number as arithmetic and comparisons see it: shares are exact fractions.
Number = Fraction | int | float

#: Limits that keep an expression small enough to read and quick to evaluate.
MAX_LENGTH = 1000  # characters
MAX_NODES = 200  # syntax-tree nodes
MAX_DEPTH = 100  # nesting (well within Python's recursion limit)
#: The largest magnitude a number may reach (a count is never near it; a runaway product is).
MAX_MAGNITUDE = 10**15


class ExpressionError(ValueError):
    """An expression cannot be parsed or names something that does not exist."""


class EmptyDenominator(ExpressionError):
    """A share was asked of a denominator that holds no signal: the data, not the prose, changed."""


# --- values -----------------------------------------------------------------------------------


class Value:
    """What an expression computes. Subclasses override what applies to their kind; the rest
    refuses with a message naming the kind."""

    kind: ClassVar[str] = "a value"

    def as_number(self) -> Number:
        """The value in arithmetic and comparisons."""
        raise ExpressionError(f"{self.kind} is not a number")

    def as_truth(self) -> bool:
        """The value as the outcome of a claim."""
        raise ExpressionError(f"{self.kind} is not true or false; compare it with something")

    def text(self) -> str:
        """How the value is written in prose when no format is given."""
        raise ExpressionError(f"cannot show {self.kind} in prose")

    def plain(self) -> Any:
        """The exact value, ready for JSON."""
        raise NotImplementedError

    def exact(self) -> str:
        """The exact value for a reader, e.g. ``112/498 = 0.224900``."""
        return self.text()

    def detail(self) -> str:
        """What a reader should see beside the value where it stands alone (a headline): for a
        share, its count and its 95% interval."""
        return ""

    # Formats: ``| percent(1)`` calls ``percent(1)``.

    def percent(self, digits: int = 0) -> str:
        self._refuse("percent", "a share")

    def ratio(self) -> str:
        self._refuse("ratio", "a share")

    def number(self, digits: int = 0) -> str:
        self._refuse("number", "a count")

    def interval(self, digits: int = 0) -> str:
        self._refuse("interval", "a share")

    def year(self) -> str:
        self._refuse("year", "a date")

    def month(self) -> str:
        self._refuse("month", "a date")

    def with_interval(self, digits: int = 0) -> str:
        self._refuse("with_interval", "a share")

    def ordinal(self) -> str:
        self._refuse("ordinal", "a count or a rank")

    def months(self) -> str:
        self._refuse("months", "a duration (date_span)")

    def years(self) -> str:
        self._refuse("years", "a duration (date_span)")

    def days(self) -> str:
        self._refuse("days", "a duration (date_span)")

    def _refuse(self, fmt: str, expected: str) -> NoReturn:
        raise ExpressionError(f"the {fmt} format applies to {expected}, not to {self.kind}")


@dataclass(frozen=True)
class ShareValue(Value):
    """A share of a denominator: compared as an exact fraction, written as the whole percent
    that cards and charts show."""

    share: Share
    kind: ClassVar[str] = "a share"

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.share.count, self.share.total)

    def as_number(self) -> Number:
        return self.fraction

    def text(self) -> str:
        return f"{self.share.percent}%"

    def plain(self) -> Any:
        return self.share.count / self.share.total

    def exact(self) -> str:
        return f"{self.share.count}/{self.share.total} = {self.share.count / self.share.total:.6f}"

    def percent(self, digits: int = 0) -> str:
        return self.text() if _digits(digits, "percent") == 0 else percent_text(self.fraction, digits)

    def ratio(self) -> str:
        return ratio_text(self.fraction)

    def interval(self, digits: int = 0) -> str:
        return format_interval(self.share, _digits(digits, "interval"))

    def detail(self) -> str:
        return f"{self.share.count:,} of {self.share.total:,} posts · 95% interval {format_interval(self.share)}"

    def with_interval(self, digits: int = 0) -> str:
        """The share and its Wilson 95% interval: ``54% (95% interval 49–58%)``."""
        return f"{self.percent(digits)} (95% interval {self.interval(digits)})"


@dataclass(frozen=True)
class IntervalValue(Value):
    """The Wilson 95% interval of a share."""

    share: Share
    kind: ClassVar[str] = "an interval"

    def text(self) -> str:
        return format_interval(self.share)

    def plain(self) -> Any:
        return [self.share.low, self.share.high]

    def exact(self) -> str:
        s = self.share
        return f"Wilson 95% interval of {s.count}/{s.total}: {s.low:.6f} to {s.high:.6f}"

    def percent(self, digits: int = 0) -> str:
        return format_interval(self.share, _digits(digits, "percent"))

    def interval(self, digits: int = 0) -> str:
        return format_interval(self.share, _digits(digits, "interval"))


@dataclass(frozen=True)
class CountValue(Value):
    """A whole number of signals (or of distinct values)."""

    value: int
    kind: ClassVar[str] = "a count"

    def as_number(self) -> Number:
        return self.value

    def text(self) -> str:
        return f"{self.value:,}"

    def plain(self) -> Any:
        return self.value

    def exact(self) -> str:
        return str(self.value)

    def number(self, digits: int = 0) -> str:
        return f"{self.value:,.{_digits(digits, 'number')}f}"

    def ordinal(self) -> str:
        return ordinal_text(self.value)


@dataclass(frozen=True)
class NumberValue(Value):
    """A number from arithmetic, a rank, or a literal typed in a claim."""

    value: Number
    kind: ClassVar[str] = "a number"

    def __post_init__(self) -> None:
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ExpressionError("the result is not a finite number")
        if not -MAX_MAGNITUDE <= self.value <= MAX_MAGNITUDE:
            raise ExpressionError(f"the result is beyond {MAX_MAGNITUDE:,}: too large to be a number about posts")

    @property
    def whole(self) -> bool:
        return isinstance(self.value, int) or (isinstance(self.value, Fraction) and self.value.denominator == 1)

    def as_number(self) -> Number:
        return self.value

    def text(self) -> str:
        return f"{int(self.value):,}" if self.whole else f"{float(self.value):,.2f}"

    def plain(self) -> Any:
        return int(self.value) if self.whole else float(self.value)

    def exact(self) -> str:
        return str(int(self.value)) if self.whole else f"{float(self.value):.6f}"

    def percent(self, digits: int = 0) -> str:
        return percent_text(self.value, _digits(digits, "percent"))

    def ratio(self) -> str:
        return ratio_text(self.value)

    def number(self, digits: int = 0) -> str:
        return f"{float(self.value) if not self.whole else int(self.value):,.{_digits(digits, 'number')}f}"

    def ordinal(self) -> str:
        if not self.whole:
            raise ExpressionError(f"the ordinal format applies to a whole number, not to {float(self.value):g}")
        return ordinal_text(int(self.value))


@dataclass(frozen=True)
class TruthValue(Value):
    """The outcome of a comparison."""

    value: bool
    kind: ClassVar[str] = "a truth value"

    def as_truth(self) -> bool:
        return self.value

    def text(self) -> str:
        return "true" if self.value else "false"

    def plain(self) -> Any:
        return self.value


@dataclass(frozen=True)
class DateValue(Value):
    """The first or last known date of the signals (None when no signal has a date)."""

    value: date | None
    kind: ClassVar[str] = "a date"

    def _known(self) -> date:
        if self.value is None:
            raise ExpressionError("the value is unknown (no dated signals)")
        return self.value

    def text(self) -> str:
        return self._known().isoformat()

    def plain(self) -> Any:
        return self.value.isoformat() if self.value else None

    def year(self) -> str:
        return str(self._known().year)

    def month(self) -> str:
        known = self._known()
        return f"{MONTHS[known.month - 1]} {known.year}"


@dataclass(frozen=True)
class DurationValue(Value):
    """The time from the first to the last known date of the signals (``date_span``)."""

    first: date | None
    last: date | None
    kind: ClassVar[str] = "a duration"

    def _days(self) -> int:
        if self.first is None or self.last is None:
            raise ExpressionError("the duration is unknown (no dated signals)")
        return (self.last - self.first).days

    def text(self) -> str:
        return self.months()

    def plain(self) -> Any:
        return self._days()

    def exact(self) -> str:
        return f"{self.first} to {self.last}: {self._days():,} days"

    def months(self) -> str:
        months = round(self._days() / DAYS_PER_MONTH)
        return f"{months:,} month{'' if months == 1 else 's'}"

    def years(self) -> str:
        years = self._days() / DAYS_PER_YEAR
        return f"{years:.1f} years" if round(years, 1) != 1 else "1 year"

    def days(self) -> str:
        days = self._days()
        return f"{days:,} day{'' if days == 1 else 's'}"


@dataclass(frozen=True)
class Rendered:
    """What a binding shows, and the exact value behind it."""

    text: str
    value: Any
    exact: str
    detail: str = ""
    fraction: tuple[int, int] | None = None  # a share's count and total
    interval: tuple[float, float] | None = None  # a share's Wilson 95% interval


# --- text shared by the formats ---------------------------------------------------------------


#: The mean Gregorian month and year, in days.
DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def ordinal_text(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``12th``, ``13th``, ``21st``."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{suffix}"


def _digits(digits: Any, fmt: str) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 3:
        raise ExpressionError(f"{fmt}(digits) takes 0 to 3 digits")
    return digits


def percent_text(fraction: Number, digits: int = 0) -> str:
    """Return ``fraction`` as a percent with ``digits`` decimals (whole percents round half up)."""
    if digits == 0:
        return f"{round_percent(round(Fraction(fraction) * 10**9), 10**9)}%"
    return f"{float(fraction) * 100:.{digits}f}%"


def ratio_text(fraction: Number) -> str:
    """Return the simplest "k in d" (d up to 20) within half a point of the share, else the nearest."""
    value = float(fraction)
    if not 0.05 <= value <= 0.95:
        raise ExpressionError(f"a share of {value:.1%} reads badly as a ratio; use percent")
    best: tuple[float, int, int] | None = None
    for d in range(2, 21):
        k = min(max(round(value * d), 1), d - 1)
        error = abs(k / d - value)
        if error <= 0.005:
            return f"{k} in {d}"
        if best is None or error < best[0] - 1e-12:
            best = (error, k, d)
    assert best is not None
    return f"{best[1]} in {best[2]}"


def format_interval(share: Share, digits: int = 0) -> str:
    """Return the Wilson interval of ``share`` as percents, e.g. ``18–27%``."""
    if share.low is None or share.high is None:
        raise ExpressionError("a share of an empty denominator has no interval")
    if digits == 0:
        low = round_percent(round(share.low * 10**9), 10**9)
        high = round_percent(round(share.high * 10**9), 10**9)
        return f"{low}–{high}%"
    return f"{share.low * 100:.{digits}f}–{share.high * 100:.{digits}f}%"


#: The formats a binding may end with, each a method of ``Value`` (``| percent(1)`` calls
#: ``value.percent(1)``).
FORMATS = ("percent", "ratio", "number", "interval", "with_interval", "ordinal", "year", "month", "months", "years",
           "days")


# --- functions available in expressions --------------------------------------------------------


def _filters(stats: Stats, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    if len(args) > 1:
        raise ExpressionError(f"{name}() takes at most one positional argument (a theme or phase id)")
    of = kwargs.pop("of", ALL)
    if not isinstance(of, str):
        raise ExpressionError(f"{name}(of=...) expects a denominator name")
    unknown = [key for key in kwargs if key not in FILTER_FIELDS]
    if unknown:
        raise ExpressionError(f"{name}() has no argument {unknown[0]!r}; expected: of, {', '.join(FILTER_FIELDS)}")
    for key, given in kwargs.items():
        if not isinstance(given, str) and not (isinstance(given, list) and all(isinstance(v, str) for v in given)):
            raise ExpressionError(f"{name}({key}=...) expects a name or a list of names")
    if args:
        [positional] = args
        if not isinstance(positional, str | list) or not all(isinstance(v, str) for v in positional):
            raise ExpressionError(f"{name}() expects a theme or phase id as its positional argument")
        themes = stats.known_values("theme")
        phases = stats.known_values("phase")
        values = (positional,) if isinstance(positional, str) else tuple(positional)
        if values and all(v in phases for v in values) and "phase" not in kwargs:
            kwargs["phase"] = positional
        elif "theme" in kwargs:
            raise ExpressionError(f"{name}() got a theme twice")
        elif values and all(v in themes for v in values):
            kwargs["theme"] = positional
        else:
            bad = next((v for v in values if v not in themes and v not in phases), values[0] if values else "")
            raise ExpressionError(
                f"unknown theme or phase {bad!r}; expected a theme ({', '.join(themes)}) "
                f"or a phase ({', '.join(phases)})"
            )
    return of, kwargs


def _the_share(stats: Stats, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Share:
    of, filters = _filters(stats, args, kwargs, name)
    share = stats.share(of=of, **filters)
    if share.total == 0:
        raise EmptyDenominator(f"the denominator {of!r} is empty: no share can be taken of it")
    return share


def _share(stats: Stats, *args: Any, **kwargs: Any) -> ShareValue:
    return ShareValue(_the_share(stats, args, kwargs, "share"))


def _interval(stats: Stats, *args: Any, **kwargs: Any) -> IntervalValue:
    return IntervalValue(_the_share(stats, args, kwargs, "interval"))


def _count(stats: Stats, *args: Any, **kwargs: Any) -> CountValue:
    of, filters = _filters(stats, args, kwargs, "count")
    return CountValue(stats.count(of=of, **filters))


def _rank(stats: Stats, *args: Any, **kwargs: Any) -> NumberValue:
    of, filters = _filters(stats, args, kwargs, "rank")
    if len(filters) != 1:
        raise ExpressionError("rank() takes exactly one theme, phase, source or year")
    [(dimension, key)] = filters.items()
    if not isinstance(key, str):
        raise ExpressionError("rank() takes one name, not a list")
    return NumberValue(stats.rank(dimension, key, of=of))


def _distinct(stats: Stats, *args: Any, **kwargs: Any) -> CountValue:
    if not args or not isinstance(args[0], str):
        raise ExpressionError("distinct() expects a field name first, e.g. distinct(\"community\") or "
                              "distinct(\"theme\", phase=\"Iterate\")")
    field, rest = args[0], args[1:]
    of, filters = _filters(stats, rest, kwargs, "distinct")
    return CountValue(stats.distinct(field, of=of, **filters))


FUNCTIONS: dict[str, Callable[..., Value]] = {
    "share": _share,
    "count": _count,
    "interval": _interval,
    "rank": _rank,
    "distinct": _distinct,
}


def _names(stats: Stats) -> dict[str, Value]:
    return {
        "n": CountValue(stats.n),
        "first_date": DateValue(stats.first_date),
        "last_date": DateValue(stats.last_date),
        "date_span": DurationValue(stats.first_date, stats.last_date),
    }


NAMES = ("n", "first_date", "last_date", "date_span")


# --- parsing and evaluation -------------------------------------------------------------------

_COMPARE = {
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    # Division of whole numbers and fractions stays exact.
    ast.Div: lambda a, b: Fraction(a) / Fraction(b) if not isinstance(a, float) and not isinstance(b, float) else a / b,
}


def parse(text: str) -> ast.Expression:
    """Parse an expression, refusing anything beyond the documented size and syntax."""
    source = text.strip()
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source):,} characters long; at most {MAX_LENGTH:,} are allowed")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {_shown(source)}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"cannot parse {_shown(source)}: nested too deeply") from None
    _check_size(tree)
    return tree


def _shown(source: str) -> str:
    return repr(source if len(source) <= 80 else source[:77] + "...")


def _check_size(tree: ast.Expression) -> None:
    """Refuse expressions too large or too deeply nested to read (and to evaluate recursively)."""
    nodes, deepest = 0, 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]  # the length limit bounds this walk
    while stack:
        node, depth = stack.pop()
        nodes, deepest = nodes + 1, max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, ast.expr_context | ast.operator | ast.boolop | ast.cmpop | ast.unaryop))
    if nodes > MAX_NODES:
        raise ExpressionError(f"the expression has more than {MAX_NODES} parts; split it into simpler ones")
    if deepest > MAX_DEPTH:
        raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")


def reads_data(tree: ast.Expression) -> bool:
    """True if the expression asks the data something (calls a function or names ``n`` or a date);
    one that does not is a number typed by hand, however it is dressed."""
    return any((isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS)
               or (isinstance(node, ast.Name) and node.id in NAMES) for node in ast.walk(tree))


def compares_a_term_with_itself(tree: ast.Expression) -> bool:
    """True if a comparison has the same term on both sides (``n == n``): true or false whatever the
    data says."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(ast.dump(a) == ast.dump(b) for a, b in itertools.pairwise(operands)):
                return True
    return False


def evaluate(tree: ast.Expression, stats: Stats) -> Value:
    """Evaluate a parsed expression against ``stats``."""
    try:
        value = _Evaluator(stats).visit(tree.body)
    except StatsError as exc:
        raise ExpressionError(str(exc)) from None
    if not isinstance(value, Value):
        raise ExpressionError(f"{_shown(ast.unparse(tree.body))} is a name, not a value; call a function with it")
    return value


def render(tree: ast.Expression, stats: Stats) -> Rendered:
    """Evaluate a binding and format it for the reader, with its exact value."""
    body = tree.body
    fmt: tuple[str, list[Any]] | None = None
    if isinstance(body, ast.BinOp) and isinstance(body.op, ast.BitOr):
        fmt = _format_call(body.right)
        body = body.left
    value = evaluate(ast.Expression(body=body), stats)
    if fmt is None:
        text = value.text()
    else:
        name, args = fmt
        try:
            text = getattr(value, name)(*args)
        except TypeError:
            raise ExpressionError(f"wrong arguments for the {name} format: {', '.join(map(repr, args))}") from None
    share = value.share if isinstance(value, ShareValue | IntervalValue) else None
    return Rendered(text, value.plain(), value.exact(), value.detail(),
                    (share.count, share.total) if share else None,
                    (share.low, share.high) if share and share.low is not None and share.high is not None else None)


def query_of(tree: ast.Expression, stats: Stats) -> dict[str, Any] | None:
    """What a binding that is one ``share()``, ``count()`` or ``interval()`` call asks of the data,
    in normal form (``{"kind": "share", "of": "post-training", "filters": {"phase": ["Evaluate"]}}``),
    so that a later version can tell which posts moved it; None for any other expression."""
    body = tree.body
    if isinstance(body, ast.BinOp) and isinstance(body.op, ast.BitOr):
        body = body.left
    if not (isinstance(body, ast.Call) and isinstance(body.func, ast.Name)
            and body.func.id in ("share", "count", "interval")):
        return None
    evaluator = _Evaluator(stats)
    args = tuple(evaluator.visit(a) for a in body.args)
    kwargs = {str(k.arg): evaluator.visit(k.value) for k in body.keywords}
    of, filters = _filters(stats, args, kwargs, body.func.id)
    return {"kind": body.func.id, "of": of,
            "filters": {name: [value] if isinstance(value, str) else list(value) for name, value in sorted(filters.items())}}


def _format_call(node: ast.expr) -> tuple[str, list[Any]]:
    if isinstance(node, ast.Name) and node.id in FORMATS:
        return node.id, []
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORMATS
            and not node.keywords and all(isinstance(a, ast.Constant) for a in node.args)):
        return node.func.id, [a.value for a in node.args if isinstance(a, ast.Constant)]
    raise ExpressionError(f"unknown format after '|'; expected one of: {', '.join(FORMATS)}")


class _Evaluator:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.names = _names(stats)

    def visit(self, node: ast.AST) -> Any:
        """Return a ``Value``, or a name or list of names (a function's argument)."""
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"{_shown(ast.unparse(node))} is not allowed in an expression")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bool):
            return TruthValue(node.value)
        if isinstance(node.value, int):
            return NumberValue(node.value)
        if isinstance(node.value, float):
            # A decimal as written: 0.4 is two fifths, exactly, as the shares it is compared with.
            if not math.isfinite(node.value):
                raise ExpressionError("the result is not a finite number")
            return NumberValue(Fraction(repr(node.value)))
        if isinstance(node.value, str):
            return node.value
        raise ExpressionError(f"{node.value!r} is not allowed in an expression")

    def _List(self, node: ast.List | ast.Tuple) -> list[Any]:
        return [self.visit(item) for item in node.elts]

    _Tuple = _List

    def _Name(self, node: ast.Name) -> Value:
        if node.id in self.names:
            return self.names[node.id]
        raise ExpressionError(f"unknown name {node.id!r}; expected one of: {', '.join(NAMES)}, "
                              f"or a function: {', '.join(FUNCTIONS)}")

    def _Call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            raise ExpressionError(f"unknown function {name!r}; expected one of: {', '.join(FUNCTIONS)}")
        if any(kw.arg is None for kw in node.keywords):
            raise ExpressionError("** arguments are not allowed")
        args = [self.visit(a) for a in node.args]
        kwargs = {str(kw.arg): self.visit(kw.value) for kw in node.keywords}
        try:
            return FUNCTIONS[node.func.id](self.stats, *args, **kwargs)
        except TypeError as exc:
            raise ExpressionError(f"{node.func.id}(): {exc}") from None

    def _number(self, node: ast.AST) -> Number:
        value = self.visit(node)
        if not isinstance(value, Value):
            raise ExpressionError(f"{_shown(ast.unparse(node))} is a name, not a number")
        try:
            return value.as_number()
        except ExpressionError:
            raise ExpressionError(f"{_shown(ast.unparse(node))} is {value.kind}, not a number") from None

    def _BinOp(self, node: ast.BinOp) -> NumberValue:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator in {_shown(ast.unparse(node))} is not allowed (a format goes last)")
        left, right = self._number(node.left), self._number(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExpressionError(f"division by zero in {_shown(ast.unparse(node))}")
        try:
            return NumberValue(op(left, right))
        except OverflowError:
            raise ExpressionError("the result is not a finite number") from None

    def _UnaryOp(self, node: ast.UnaryOp) -> Value:
        if isinstance(node.op, ast.Not):
            return TruthValue(not self._truth(node.operand))
        if isinstance(node.op, ast.USub):
            return NumberValue(-self._number(node.operand))
        raise ExpressionError(f"{_shown(ast.unparse(node))} is not allowed")

    def _truth(self, node: ast.AST) -> bool:
        value = self.visit(node)
        if not isinstance(value, Value):
            raise ExpressionError(f"{_shown(ast.unparse(node))} is a name, not true or false")
        try:
            return value.as_truth()
        except ExpressionError:
            raise ExpressionError(f"{_shown(ast.unparse(node))} is not true or false; compare it with something") from None

    def _BoolOp(self, node: ast.BoolOp) -> TruthValue:
        values = [self._truth(v) for v in node.values]
        return TruthValue(all(values) if isinstance(node.op, ast.And) else any(values))

    def _Compare(self, node: ast.Compare) -> TruthValue:
        left = self._number(node.left)
        for op_node, right_node in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"comparison in {_shown(ast.unparse(node))} is not allowed")
            right = self._number(right_node)
            if not op(left, right):
                return TruthValue(False)
            left = right
        return TruthValue(True)


def terms(text: str, stats: Stats) -> list[tuple[str, str]]:
    """Return each function call or name in the expression, as written, with its current exact value."""
    tree = parse(text)
    source = text.strip()
    if isinstance(tree.body, ast.BinOp) and isinstance(tree.body.op, ast.BitOr):
        tree = ast.Expression(body=tree.body.left)  # a format is not a term
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call | ast.Name) or (isinstance(node, ast.Name) and node.id in FUNCTIONS):
            continue
        written = ast.get_source_segment(source, node) or ast.unparse(node)
        if written in seen or (isinstance(node, ast.Name) and node.id in FORMATS):
            continue
        seen.add(written)
        try:
            found.append((written, evaluate(ast.Expression(body=node), stats).exact()))
        except ExpressionError as exc:
            found.append((written, f"cannot be computed: {exc}"))
    return found
