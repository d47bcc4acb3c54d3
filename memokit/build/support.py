"""How solid a claim is: the share of bootstrap resamples of the signals in which it still holds.

A bootstrap resample draws as many posts as the corpus holds, with replacement. Drawing posts one
by one would cost time in proportion to the corpus; but a claim only ever asks counts of posts by
a few fields (the filters and denominators of its terms), so the posts are grouped into *cells*
that agree on those fields, and a resample is one multinomial draw of the corpus size over the
cells, their probabilities the cells' shares. Every term is then a sum of cell counts, for all
resamples at once (a matrix product), and the claim's check is evaluated on whole arrays of
resamples. The seed is fixed (derived from the check's text), so the same data gives the same
support on every build.

The evaluation here mirrors ``memokit.build.expressions`` on numbers only: a check whose scalar
evaluation works evaluates here too. Arithmetic is in floating point, which keeps comparisons of
counts and shares exact (counts are whole numbers; equal fractions divide to equal floats).
A resample in which a term cannot be computed (an empty denominator, a division by zero) counts
as one in which the claim does not hold.
"""

from __future__ import annotations

import ast
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .expressions import FUNCTIONS, ExpressionError, _filters, parse
from .stats import SIGNALS, Stats

#: Resamples per claim: the support is known to within about a percentage point.
RESAMPLES = 2000
#: Added to every claim's own seed, so that a new memokit can change all of them at once.
SEED = 20261122
#: Below this support, a claim that sets no minimum of its own is called fragile.
FRAGILE = 0.9


@dataclass(frozen=True)
class _Query:
    kind: str  # "count", "share", "rank" or "distinct"
    of: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    field: str = ""  # rank's dimension or distinct's field
    key: str = ""  # rank's category

    def fields(self, stats: Stats) -> set[str]:
        found = {name for name, _ in self.filters} | set(stats.denominators[self.of].where)
        return found | ({self.field} if self.field else set())


def support(check: str, stats: Stats, resamples: int = RESAMPLES) -> float:
    """Return the share of ``resamples`` bootstrap resamples of the signals in which ``check`` holds."""
    tree = parse(check)
    queries = _Collector(stats).collect(tree)
    fields = sorted(set().union(*(query.fields(stats) for query in queries.values())))
    cells = _cells(stats, fields)
    rng = np.random.Generator(np.random.PCG64(SEED + zlib.crc32(check.strip().encode("utf-8"))))
    base = cells["n"].to_numpy(dtype=np.float64)
    draws = rng.multinomial(stats.n, base / base.sum(), size=resamples) if stats.n else np.zeros((resamples, len(cells)))
    values = {node: _resampled(query, cells, draws, stats) for node, query in queries.items()}
    evaluator = _Vectors(values, stats, resamples)
    holds = evaluator.truth(tree.body) & evaluator.valid
    return float(holds.mean())


def _cells(stats: Stats, fields: Sequence[str]) -> pd.DataFrame:
    """The signals grouped by ``fields``: one row per combination that occurs, with its count ``n``."""
    if not fields:
        return pd.DataFrame({"n": [stats.n]})
    key = "cells:" + "\0".join(fields)  # kept with the statistics: a preview's rebuild reuses them
    if key not in stats.memo:
        if SIGNALS in stats.frame.columns:  # statistics from aggregates: each row stands for its count
            grouped = stats.frame.groupby(list(fields), dropna=False, observed=True, sort=True)[SIGNALS].sum()
        else:
            grouped = stats.frame.groupby(list(fields), dropna=False, observed=True, sort=True).size()
        stats.memo[key] = grouped.rename("n").reset_index()
    cells: pd.DataFrame = stats.memo[key]
    return cells


def _matching(cells: pd.DataFrame, stats: Stats, of: str, filters: Sequence[tuple[str, Sequence[str]]]) -> np.ndarray:
    mask = np.ones(len(cells), dtype=bool)
    for name, values in (*stats.denominators[of].where.items(), *filters):
        mask &= cells[name].isin(list(values)).to_numpy()
    return mask.astype(np.float64)


def _resampled(query: _Query, cells: pd.DataFrame, draws: np.ndarray, stats: Stats) -> Any:
    """A query's value in every resample: an array (counts, ranks), or (numerators, denominators)."""
    if query.kind in ("count", "share"):
        numerator = draws @ _matching(cells, stats, query.of, query.filters)
        if query.kind == "count":
            return numerator
        return numerator, draws @ _matching(cells, stats, query.of, ())
    if query.kind == "rank":
        categories = stats.breakdown(query.field, query.of).keys() or [query.key]
        if query.key not in categories:
            categories = [*categories, query.key]
        counts = np.stack([draws @ _matching(cells, stats, query.of, ((query.field, (category,)),))
                           for category in categories], axis=1)
        own = counts[:, categories.index(query.key)]
        return 1.0 + (counts > own[:, None]).sum(axis=1)
    values = sorted(str(v) for v in cells.loc[_matching(cells, stats, query.of, query.filters) > 0, query.field].unique())
    if not values:
        return np.zeros(draws.shape[0])
    counts = np.stack([draws @ _matching(cells, stats, query.of, (*query.filters, (query.field, (value,))))
                       for value in values], axis=1)
    return (counts > 0).sum(axis=1).astype(np.float64)


class _Collector:
    """Finds every function call of a check and what it asks of the data, in the same terms as
    ``memokit.build.expressions`` (the same argument rules and the same errors)."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self, tree: ast.Expression) -> dict[ast.AST, _Query]:
        found: dict[ast.AST, _Query] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
                found[node] = self._query(node)
        return found

    def _argument(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [self._argument(item) for item in node.elts]
        raise ExpressionError(f"{ast.unparse(node)!r} is not a name")

    def _query(self, node: ast.Call) -> _Query:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        args = tuple(self._argument(a) for a in node.args)
        kwargs = {str(k.arg): self._argument(k.value) for k in node.keywords}
        field = ""
        if name == "distinct":
            field, args = str(args[0]), args[1:]
        of, filters = _filters(self.stats, args, dict(kwargs), name)
        normal = tuple(sorted((key, (value,) if isinstance(value, str) else tuple(value))
                              for key, value in filters.items()))
        if name == "distinct":
            return _Query("distinct", of, normal, field=field)
        if name == "rank":
            [(dimension, (key,))] = normal
            return _Query("rank", of, (), field=dimension, key=key)
        if name not in ("count", "share"):
            raise ExpressionError(f"{name}() is not a number a claim can compare")
        return _Query(name, of, normal)


_COMPARE = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}


class _Vectors:
    """Evaluates a check on arrays of resamples; ``valid`` marks the resamples in which every term
    could be computed."""

    def __init__(self, values: Mapping[ast.AST, Any], stats: Stats, resamples: int) -> None:
        self.values, self.stats = values, stats
        self.valid = np.ones(resamples, dtype=bool)

    def number(self, node: ast.AST) -> np.ndarray | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id == "n":
            return float(self.stats.n)  # every resample holds as many posts as the corpus
        if isinstance(node, ast.Call) and node in self.values:
            value = self.values[node]
            if isinstance(value, tuple):
                numerator, denominator = value
                self.valid &= denominator > 0
                quotient: np.ndarray = np.divide(numerator, denominator, out=np.zeros_like(numerator),
                                                 where=denominator > 0)
                return quotient
            return np.asarray(value, dtype=np.float64)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.number(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = self.number(node.left), self.number(node.right)
            if isinstance(node.op, ast.Add):
                return np.add(left, right)
            if isinstance(node.op, ast.Sub):
                return np.subtract(left, right)
            if isinstance(node.op, ast.Mult):
                return np.multiply(left, right)
            if isinstance(node.op, ast.Div):
                right_array = np.broadcast_to(np.asarray(right, dtype=np.float64), self.valid.shape)
                self.valid &= right_array != 0
                return np.divide(left, right_array, out=np.zeros(self.valid.shape), where=right_array != 0)
        raise ExpressionError(f"{ast.unparse(node)!r} cannot be resampled")

    def truth(self, node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.BoolOp):
            parts = [self.truth(value) for value in node.values]
            combined: np.ndarray = (np.logical_and if isinstance(node.op, ast.And) else np.logical_or).reduce(parts)
            return combined
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.truth(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return np.full(self.valid.shape, node.value)
        if isinstance(node, ast.Compare):
            result = np.ones(self.valid.shape, dtype=bool)
            left = self.number(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.number(right_node)
                result &= np.broadcast_to(_COMPARE[type(op)](left, right), self.valid.shape)
                left = right
            return result
        raise ExpressionError(f"{ast.unparse(node)!r} is not true or false")
