"""The small expression language of bindings and claims, evaluated safely against ``Stats``.

An expression is a Python-like formula over a fixed set of functions, e.g.
``share("regression")``, ``count(phase="Evaluate", of="sweep")``,
``share(phase="Evaluate", of="post-training") > 0.5``, optionally followed by a format:
``share("regression") | percent(1)``. Only the names below exist; nothing else of Python does.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..model import ALL
from .stats import Share, Stats, StatsError, round_percent

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


class ExpressionError(ValueError):
    """An expression cannot be parsed or names something that does not exist."""


class EmptyDenominator(ExpressionError):
    """A share was asked of a denominator that holds no signal: the data, not the prose, changed."""


@dataclass(frozen=True)
class Interval:
    """The Wilson 95% interval of a share."""

    share: Share


@dataclass(frozen=True)
class Count:
    """A whole number of signals (or of distinct values), with how it was counted."""

    value: int


@dataclass(frozen=True)
class Rendered:
    """What a binding shows, and the exact value behind it."""

    text: str
    value: Any
    exact: str


# --- functions available in expressions --------------------------------------------------------

FILTERS = ("theme", "phase", "source", "year", "community", "sample", "model_family", "tool")


def _filters(stats: Stats, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    if len(args) > 1:
        raise ExpressionError(f"{name}() takes at most one positional argument (a theme or phase id)")
    of = kwargs.pop("of", ALL)
    if not isinstance(of, str):
        raise ExpressionError(f"{name}(of=...) expects a denominator name")
    unknown = [key for key in kwargs if key not in FILTERS]
    if unknown:
        raise ExpressionError(f"{name}() has no argument {unknown[0]!r}; expected: of, {', '.join(FILTERS)}")
    if args:
        [positional] = args
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


def _share(stats: Stats, *args: Any, **kwargs: Any) -> Share:
    of, filters = _filters(stats, args, kwargs, "share")
    share = stats.share(of=of, **filters)
    if share.total == 0:
        raise EmptyDenominator(f"the denominator {of!r} is empty: no share can be taken of it")
    return share


def _count(stats: Stats, *args: Any, **kwargs: Any) -> Count:
    of, filters = _filters(stats, args, kwargs, "count")
    return Count(stats.count(of=of, **filters))


def _interval(stats: Stats, *args: Any, **kwargs: Any) -> Interval:
    return Interval(_share(stats, *args, **kwargs))


def _rank(stats: Stats, *args: Any, **kwargs: Any) -> int:
    of, filters = _filters(stats, args, kwargs, "rank")
    if len(filters) != 1:
        raise ExpressionError("rank() takes exactly one theme, phase, source or year")
    [(dimension, key)] = filters.items()
    if not isinstance(key, str):
        raise ExpressionError("rank() takes one name, not a list")
    return stats.rank(dimension, key, of=of)


def _distinct(stats: Stats, field: Any, of: str = ALL) -> Count:
    if not isinstance(field, str):
        raise ExpressionError("distinct() expects a field name, e.g. distinct(\"community\")")
    return Count(stats.distinct(field, of=of))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "share": _share,
    "count": _count,
    "interval": _interval,
    "rank": _rank,
    "distinct": _distinct,
}


def _names(stats: Stats) -> dict[str, Any]:
    return {
        "n": Count(stats.n),
        "first_date": stats.first_date,
        "last_date": stats.last_date,
    }


NAMES = ("n", "first_date", "last_date")


# --- formats -----------------------------------------------------------------------------------


def _as_fraction(value: Any, fmt: str) -> float:
    if isinstance(value, Share) and value.value is not None:
        return value.value
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    raise ExpressionError(f"the {fmt} format applies to a share, not to {_kind(value)}")


def _percent(value: Any, digits: int = 0) -> str:
    if not isinstance(digits, int) or not 0 <= digits <= 3:
        raise ExpressionError("percent(digits) takes 0 to 3 digits")
    if isinstance(value, Interval):
        return format_interval(value.share, digits)
    if isinstance(value, Share) and digits == 0:
        return f"{value.percent}%"
    fraction = _as_fraction(value, "percent")
    if digits == 0:
        return f"{round_percent(round(fraction * 10**9), 10**9)}%"
    return f"{fraction * 100:.{digits}f}%"


def format_interval(share: Share, digits: int = 0) -> str:
    """Return the Wilson interval of ``share`` as percents, e.g. ``18–27%``."""
    if share.low is None or share.high is None:
        raise ExpressionError("a share of an empty denominator has no interval")
    if digits == 0:
        low = round_percent(round(share.low * 10**9), 10**9)
        high = round_percent(round(share.high * 10**9), 10**9)
        return f"{low}–{high}%"
    return f"{share.low * 100:.{digits}f}–{share.high * 100:.{digits}f}%"


def _ratio(value: Any) -> str:
    """Return the simplest "k in d" (d up to 20) within half a point of the share, else the nearest."""
    fraction = _as_fraction(value, "ratio")
    if not 0.05 <= fraction <= 0.95:
        raise ExpressionError(f"a share of {fraction:.1%} reads badly as a ratio; use percent")
    best: tuple[float, int, int] | None = None
    for d in range(2, 21):
        k = min(max(round(fraction * d), 1), d - 1)
        error = abs(k / d - fraction)
        if error <= 0.005:
            return f"{k} in {d}"
        if best is None or error < best[0] - 1e-12:
            best = (error, k, d)
    assert best is not None
    return f"{best[1]} in {best[2]}"


def _number(value: Any, digits: int = 0) -> str:
    if isinstance(value, Count):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"the number format applies to a count, not to {_kind(value)}")
    return f"{value:,.{digits}f}"


def _year(value: Any) -> str:
    if not isinstance(value, date):
        raise ExpressionError(f"the year format applies to a date, not to {_kind(value)}")
    return str(value.year)


def _month(value: Any) -> str:
    if not isinstance(value, date):
        raise ExpressionError(f"the month format applies to a date, not to {_kind(value)}")
    return f"{MONTHS[value.month - 1]} {value.year}"


FORMATS: dict[str, Callable[..., str]] = {
    "percent": _percent,
    "ratio": _ratio,
    "number": _number,
    "interval": lambda value, digits=0: format_interval(_require_share(value), digits),
    "year": _year,
    "month": _month,
}


def _require_share(value: Any) -> Share:
    if isinstance(value, Interval):
        return value.share
    if isinstance(value, Share):
        return value
    raise ExpressionError(f"the interval format applies to a share, not to {_kind(value)}")


def _kind(value: Any) -> str:
    return {Share: "a share", Count: "a count", Interval: "an interval", bool: "a truth value"}.get(
        type(value), "a date" if isinstance(value, date) else "a number")


# --- parsing and evaluation -------------------------------------------------------------------

_COMPARE = {
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def parse(text: str) -> ast.Expression:
    """Parse an expression, refusing anything beyond the documented syntax."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text.strip()!r}: {exc.msg}") from None
    return tree


def evaluate(tree: ast.Expression, stats: Stats) -> Any:
    """Evaluate a parsed expression against ``stats``."""
    try:
        return _Evaluator(stats).visit(tree.body)
    except StatsError as exc:
        raise ExpressionError(str(exc)) from None


def render(tree: ast.Expression, stats: Stats) -> Rendered:
    """Evaluate a binding and format it for the reader, with its exact value."""
    body = tree.body
    fmt: tuple[str, list[Any]] | None = None
    if isinstance(body, ast.BinOp) and isinstance(body.op, ast.BitOr):
        fmt = _format_call(body.right)
        body = body.left
    value = evaluate(ast.Expression(body=body), stats)
    if fmt is None:
        text = _default_text(value)
    else:
        name, args = fmt
        try:
            text = FORMATS[name](value, *args)
        except TypeError:
            raise ExpressionError(f"wrong arguments for the {name} format: {', '.join(map(repr, args))}") from None
    return Rendered(text, plain(value), exact(value))


def _format_call(node: ast.expr) -> tuple[str, list[Any]]:
    if isinstance(node, ast.Name) and node.id in FORMATS:
        return node.id, []
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORMATS
            and not node.keywords and all(isinstance(a, ast.Constant) for a in node.args)):
        return node.func.id, [a.value for a in node.args if isinstance(a, ast.Constant)]
    raise ExpressionError(f"unknown format after '|'; expected one of: {', '.join(FORMATS)}")


def _default_text(value: Any) -> str:
    if isinstance(value, Share):
        return f"{value.percent}%"
    if isinstance(value, Interval):
        return format_interval(value.share)
    if isinstance(value, Count):
        return f"{value.value:,}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        raise ExpressionError("the value is unknown (no dated signals)")
    raise ExpressionError(f"cannot show {_kind(value)} in prose")


def plain(value: Any) -> Any:
    """Return a JSON-ready exact value: a share as its fraction, a count as an int."""
    if isinstance(value, Share):
        return value.value
    if isinstance(value, Interval):
        return [value.share.low, value.share.high]
    if isinstance(value, Count):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def exact(value: Any) -> str:
    """Return the exact value as a reader-facing string, e.g. ``112/498 = 0.224900``."""
    if isinstance(value, Share):
        return f"{value.count}/{value.total} = {value.value:.6f}"
    if isinstance(value, Interval):
        s = value.share
        return f"Wilson 95% interval of {s.count}/{s.total}: {s.low:.6f} to {s.high:.6f}"
    if isinstance(value, Count):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Evaluator:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.names = _names(stats)

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in an expression")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, str | int | float | bool):
            return node.value
        raise ExpressionError(f"{node.value!r} is not allowed in an expression")

    def _List(self, node: ast.List) -> list[Any]:
        return [self.visit(item) for item in node.elts]

    _Tuple = _List

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        raise ExpressionError(f"unknown name {node.id!r}; expected one of: {', '.join(NAMES)}, "
                              f"or a function: {', '.join(FUNCTIONS)}")

    def _Call(self, node: ast.Call) -> Any:
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

    def _number(self, node: ast.AST) -> float | int:
        value = self.visit(node)
        if isinstance(value, Share) and value.value is not None:
            return value.value
        if isinstance(value, Count):
            return value.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError(f"{ast.unparse(node)!r} is {_kind(value)}, not a number")
        return value

    def _BinOp(self, node: ast.BinOp) -> Any:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator in {ast.unparse(node)!r} is not allowed (a format goes last)")
        left, right = self._number(node.left), self._number(node.right)
        if op is operator.truediv and right == 0:
            raise ExpressionError(f"division by zero in {ast.unparse(node)!r}")
        return op(left, right)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            return not self._truth(node.operand)
        if isinstance(node.op, ast.USub):
            return -self._number(node.operand)
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed")

    def _truth(self, node: ast.AST) -> bool:
        value = self.visit(node)
        if not isinstance(value, bool):
            raise ExpressionError(f"{ast.unparse(node)!r} is not true or false; compare it with something")
        return value

    def _BoolOp(self, node: ast.BoolOp) -> bool:
        values = [self._truth(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def _Compare(self, node: ast.Compare) -> bool:
        left = self._number(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"comparison in {ast.unparse(node)!r} is not allowed")
            right = self._number(right_node)
            if not op(left, right):
                return False
            left = right
        return True


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
            found.append((written, exact(evaluate(ast.Expression(body=node), stats))))
        except ExpressionError as exc:
            found.append((written, f"cannot be computed: {exc}"))
    return found
