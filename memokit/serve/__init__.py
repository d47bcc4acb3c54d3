"""The live preview, ``memokit serve``: build, serve on 127.0.0.1, rebuild on change, reload open pages."""

from __future__ import annotations

from .preview import serve

__all__ = ["serve"]
