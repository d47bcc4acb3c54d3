"""Small builders for the unit tests: a taxonomy, synthetic signals, and ways to load them.

Every signal made here is synthetic: ids start with ``syn-`` and URLs point at example.com.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import http.server
import io
import json
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from memokit.build.validate import Dataset, load_dataset
from memokit.model import InputError
from memokit.scaffold import new_project

ROOT = Path(__file__).resolve().parent.parent

#: A small taxonomy: three phases, four themes (declared out of display order), two denominators.
TAXONOMY = """\
[[phases]]
id = "Train"
definition = "Getting a run to work."
color = "#1f6fb2"

[[phases]]
id = "Evaluate"
definition = "Judging a finished run."

[[phases]]
id = "Iterate"
definition = "Deciding what to do next."

[[themes]]
id = "setup"
label = "Getting a run to work"
phase = "Train"
order = 1
definition = "Crashes and configuration."

[[themes]]
id = "retrain"
label = "When to retrain"
phase = "Iterate"
order = 4
definition = "When another run is worth it."

[[themes]]
id = "improve"
label = "Did it get better?"
phase = "Evaluate"
order = 2
definition = "Whether the model improved."

[[themes]]
id = "breakage"
label = "Did anything break?"
phase = "Evaluate"
order = 3
definition = "Lost skills after training."

[[denominators]]
id = "post-training"
label = "post-training signals"
where = { phase = ["Evaluate", "Iterate"] }

[[denominators]]
id = "sweep"
label = "the sweep sample"
where = { sample = "sweep" }

[sources]
github = "GitHub"
forum = "Forum"
"""

THEME_PHASE = {"setup": "Train", "improve": "Evaluate", "breakage": "Evaluate", "retrain": "Iterate"}


def signal(number: int = 1, *, drop: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    """Return one valid synthetic signal; ``fields`` override, ``drop`` names fields to leave out."""
    theme = fields.get("theme", "setup")
    record: dict[str, Any] = {
        "id": f"syn-{number}",
        "url": f"https://example.com/synthetic/{number}",
        "source": "github",
        "community": "example/project",
        "title": f"Synthetic post {number}",
        "created": "2024-01-15",
        "theme": theme,
        "phase": THEME_PHASE.get(theme, "Train"),
        "summary": "A synthetic record made for a unit test.",
        "sample": "sweep",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if key not in drop}


#: A hand-made dataset whose every number is worked out in the tests' comments:
#:
#:   n  theme     phase     source  created     sample    community
#:   1  setup     Train     github  2023-03-01  sweep     alpha
#:   2  setup     Train     github  2024-05-01  targeted  alpha
#:   3  improve   Evaluate  github  2024-01-01  sweep     beta
#:   4  improve   Evaluate  forum   2024-02-01  sweep     beta
#:   5  improve   Evaluate  forum   (none)      sweep     gamma
#:   6  breakage  Evaluate  github  2023-07-01  targeted  beta
#:   7  retrain   Iterate   forum   2024-06-01  sweep     gamma
#:   8  improve   Evaluate  github  (none)      targeted  alpha
#:   9  setup     Train     blog    2022-12-31  sweep     alpha
#:  10  breakage  Evaluate  github  2024-08-01  sweep     beta
#:
#: By theme 3/4/2/1, by phase 3/6/1; post-training (Evaluate + Iterate) holds 7, sweep holds 7.
HAND_MADE = [
    (1, "setup", "github", "2023-03-01", "sweep", "alpha"),
    (2, "setup", "github", "2024-05-01", "targeted", "alpha"),
    (3, "improve", "github", "2024-01-01", "sweep", "beta"),
    (4, "improve", "forum", "2024-02-01", "sweep", "beta"),
    (5, "improve", "forum", None, "sweep", "gamma"),
    (6, "breakage", "github", "2023-07-01", "targeted", "beta"),
    (7, "retrain", "forum", "2024-06-01", "sweep", "gamma"),
    (8, "improve", "github", None, "targeted", "alpha"),
    (9, "setup", "blog", "2022-12-31", "sweep", "alpha"),
    (10, "breakage", "github", "2024-08-01", "sweep", "beta"),
]


def hand_made() -> list[dict[str, Any]]:
    return [signal(n, theme=theme, source=source, created=created, sample=sample, community=community)
            for n, theme, source, created, sample, community in HAND_MADE]


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def csv_text(records: list[dict[str, Any]], fields: list[str] | None = None) -> str:
    """Return ``records`` as CSV (lists joined with ';'), with a header of ``fields``."""
    fields = fields or list(dict.fromkeys(key for record in records for key in record))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for record in records:
        row = []
        for name in fields:
            value = record.get(name, "")
            row.append(";".join(value) if isinstance(value, list | tuple) else ("" if value is None else value))
        writer.writerow(row)
    return buffer.getvalue()


def make_data(tmp_path: Path, signals: str | bytes | list[dict[str, Any]] | None = None,
              *, name: str = "signals.jsonl", taxonomy: str | None = TAXONOMY) -> Path:
    """Write a data folder under ``tmp_path`` and return it."""
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    if taxonomy is not None:
        (data / "taxonomy.toml").write_text(taxonomy, encoding="utf-8")
    if signals is None:
        signals = [signal(1)]
    if isinstance(signals, list):
        signals = jsonl(signals) if name.endswith(".jsonl") else csv_text(signals)
    if isinstance(signals, str):
        signals = signals.encode("utf-8")
    (data / name).write_bytes(signals)
    return data


def load(data: Path) -> Dataset:
    return load_dataset(data)


def problems(data: Path) -> list[str]:
    """Load ``data``, expecting it to be invalid; return every problem as printed."""
    with pytest.raises(InputError) as caught:
        load_dataset(data)
    return [str(problem) for problem in caught.value.problems]


def leftovers(project: Path) -> list[str]:
    """The staging folders of builds (``.site-…``) left in ``project``."""
    return sorted(p.name for p in project.iterdir() if p.name.startswith(".site-"))


def tree_digest(folder: Path) -> dict[str, str]:
    """Return every file under ``folder`` (relative path) with a SHA-256 of its bytes."""
    import hashlib

    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        # The browser may go away mid-response: not the site's problem.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 and yield its base URL (ending in /)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


#: Signals in ``slow_project``. A test that must catch a build in the act (its progress line on a
#: terminal, a kill while it writes) asks for ``RACED``: at 60,000 the build's own stages take about
#: half a second here, and its writing may be over before the progress line's first half second.
SLOW, RACED = 60_000, 240_000


def slow_project(tmp_path: Path, signals: int = SLOW) -> Path:
    """A scaffolded project over ``signals`` clearly synthetic signals: a build of a second or more."""
    project = tmp_path / "big"
    new_project(project)
    taxonomy = tomllib.loads((project / "data" / "taxonomy.toml").read_text(encoding="utf-8"))
    themes = [(theme["id"], theme["phase"]) for theme in taxonomy["themes"]]
    records = [signal(n, theme=themes[n % len(themes)][0], phase=themes[n % len(themes)][1],
                      sample=("sweep", "targeted")[n % 2]) for n in range(1, signals + 1)]
    (project / "data" / "signals.jsonl").write_text(jsonl(records), encoding="utf-8")
    return project
