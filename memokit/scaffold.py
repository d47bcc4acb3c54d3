"""``memokit new DIR``: a new memo project that builds on the first try.

The dataset it writes is tiny and clearly synthetic (ids ``syn-…``, URLs on example.com,
summaries that say so): replace it with real, cited posts before publishing.
"""

from __future__ import annotations

import json
from pathlib import Path

from .model import InputError, Problem

TAXONOMY = '''# Phases in lifecycle order, themes in display order, and named denominators.

[[phases]]
id = "Train"
definition = "Getting a run to start, fit in memory and finish."
color = "#1f6fb2"

[[phases]]
id = "Evaluate"
definition = "Judging a finished run."
color = "#b8480f"

[[phases]]
id = "Iterate"
definition = "Deciding what to do next."
color = "#107a5a"

[[themes]]
id = "setup"
label = "Getting a run to work"
phase = "Train"
order = 1
definition = "Installation, configuration, out-of-memory errors and crashes."

[[themes]]
id = "did-it-improve"
label = "Did it get better?"
phase = "Evaluate"
order = 2
definition = "Whether the new model beats the old one, and by which metric."

[[themes]]
id = "regression"
label = "Did anything break?"
phase = "Evaluate"
order = 3
definition = "Skills the model lost after training."

[[themes]]
id = "next-run"
label = "What to run next"
phase = "Iterate"
order = 4
definition = "When to retrain, what to keep, what another run costs."

[[denominators]]
id = "post-training"
label = "post-training signals (Evaluate and Iterate)"
where = { phase = ["Evaluate", "Iterate"] }

[sources]
github = "GitHub"
forum = "Forum"
'''

MEMO = '''---
title: My memo
subtitle: What the posts say, with every number computed from the data
date: 2026-01-01
description: A starter memo built by memokit from a small synthetic dataset.
claims:
  - name: evaluate-leads
    sentence: After training, more posts ask whether it worked than what to do next.
    check: share(phase="Evaluate", of="post-training") > share(phase="Iterate", of="post-training")
---

This starter memo is built from {{ n }} **synthetic** posts in `data/signals.jsonl`. Replace them
with real, cited posts, and the numbers below follow.

Evaluation holds {{ share(phase="Evaluate") }} of all posts and
{{ share(phase="Evaluate", of="post-training") }} of those written after a training run
(95% interval {{ interval(phase="Evaluate", of="post-training") }}). The largest theme,
“Did it get better?”, counts {{ count("did-it-improve") }} posts.

A number from outside the data needs its source:
{{ fact("29.5%", source="An example survey, replace me", url="https://example.com/survey") }}.

{{ chart("phase") }}

{{ cards() }}

## How the data was collected

Say here how the posts were found and what that means for the numbers.

{{ methodology() }}

{{ claims() }}
'''

README = '''# {name}

A research memo built with memokit: every number in
`memo/index.md` is computed from `data/signals.jsonl` on each build.

- `memokit` (or `python3 -m memokit.cli`) builds `site/`; `memokit --check` checks without writing.
- `memokit serve` previews the site at http://127.0.0.1:8000/ and rebuilds and reloads it as you edit.
- `data/signals.jsonl` holds one post per line; `data/taxonomy.toml` the phases, themes and
  denominators. **The posts here are synthetic**: replace them with real, cited ones.
- `memo/index.md` is the memo: `{{{{ share("did-it-improve") }}}}` inserts a number, `claims:` in the
  front matter are checked on every build, and a number typed by hand fails the build.
'''

# (theme, source, created): a few posts per theme, dated and undated.
_POSTS = [
    ("setup", "github", "2025-01-14"), ("setup", "forum", "2025-03-02"), ("setup", "github", None),
    ("did-it-improve", "github", "2025-02-10"), ("did-it-improve", "forum", "2025-04-22"),
    ("did-it-improve", "github", "2025-06-30"), ("did-it-improve", "github", None),
    ("regression", "github", "2025-05-05"), ("regression", "forum", "2025-07-19"),
    ("next-run", "github", "2025-08-08"), ("next-run", "forum", None),
]
_PHASES = {"setup": "Train", "did-it-improve": "Evaluate", "regression": "Evaluate", "next-run": "Iterate"}


def signals() -> str:
    """Return the starter dataset as JSONL: clearly synthetic records."""
    lines = []
    for number, (theme, source, created) in enumerate(_POSTS, start=1):
        lines.append(json.dumps({
            "id": f"syn-{number:03d}", "url": f"https://example.com/synthetic/{number}", "source": source,
            "community": "example/project", "title": f"Synthetic example post {number}", "created": created,
            "theme": theme, "phase": _PHASES[theme],
            "summary": "A synthetic record made by memokit new; it describes no real post.", "sample": "sweep",
        }))
    return "\n".join(lines) + "\n"


def new_project(folder: Path) -> list[Path]:
    """Write a starter project into ``folder`` (new or empty) and return the files written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError([Problem(str(folder), None, None, "exists and is not an empty folder; choose a new one")])
    files = {
        folder / "data" / "taxonomy.toml": TAXONOMY,
        folder / "data" / "signals.jsonl": signals(),
        folder / "memo" / "index.md": MEMO,
        folder / "README.md": README.format(name=folder.resolve().name),
        folder / ".gitignore": "site/\n",
    }
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(str(folder), None, None, f"cannot write: {exc.strerror or exc}")]) from None
    return list(files)
