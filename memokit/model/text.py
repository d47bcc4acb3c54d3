"""Patterns every input shares: slugs and text without control characters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

#: A lower-case slug: theme, denominator, source, page and claim names.
SLUG = r"^[a-z0-9][a-z0-9-]*$"
SLUG_RE = re.compile(SLUG)

#: Text without control characters, C0 or C1 (a line break and a tab are allowed). The check is
#: a pattern, so it runs inside pydantic-core: a million signals validate in seconds.
NO_CONTROL = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Text = Annotated[str, Field(pattern=NO_CONTROL)]
