"""Patterns every input shares: slugs and text without control characters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

#: A lower-case slug: theme, denominator, source, page and claim names.
SLUG = r"^[a-z0-9][a-z0-9-]*$"
SLUG_RE = re.compile(SLUG)

#: Characters no text may hold: C0 and C1 controls (a line break and a tab are allowed), and the
#: bidirectional embeddings, overrides and isolates that make text display in another order than
#: it reads (U+202A–U+202E, U+2066–U+2069). The checks are patterns, so they run inside
#: pydantic-core: a million signals validate in seconds.
_BANNED = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
NO_CONTROL = f"^[^{_BANNED}]*$"
#: The same, and not blank: at least one character that is not white space.
NOT_BLANK = f"^[^{_BANNED}]*[^{_BANNED}\\s][^{_BANNED}]*$"
BANNED_RE = re.compile(f"[{_BANNED}]")
Text = Annotated[str, Field(pattern=NO_CONTROL)]
Line = Annotated[str, Field(pattern=NOT_BLANK)]
