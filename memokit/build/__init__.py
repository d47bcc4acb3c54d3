"""The offline build: data and memo in, a static site out, in six stages.

``load`` → ``validate`` → ``stats`` → ``claims`` (with ``expressions``, ``prose`` and ``lint``) →
``charts`` → ``render``; ``pipeline`` runs them. The build imports no network and no
machine-learning code. ``from memokit.build import build, Project`` loads the stages on first use,
so that importing ``memokit.build.vega`` (which forks chart workers) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import BuildResult, CheckFailure, Project, build

__all__ = ["BuildResult", "CheckFailure", "Project", "build"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
