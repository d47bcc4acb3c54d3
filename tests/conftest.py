"""Shared fixtures: the flagship site built once, served on 127.0.0.1, and Chromium for Playwright."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import serve

from memokit.build.pipeline import BUILTIN_TEMPLATES, Project, build

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Use the system Chromium (CHROMIUM_PATH, default /usr/bin/chromium) when there is one;
    on a laptop without it, Playwright's own browser is used."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    if Path(path).exists():
        args["executable_path"] = path
    return args


@pytest.fixture(scope="session")
def flagship_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the flagship memo from the repository's own data into a temporary folder."""
    out = tmp_path_factory.mktemp("flagship") / "site"
    build(Project(data=ROOT / "data", memo=ROOT / "memo", templates=BUILTIN_TEMPLATES, out=out, versions=ROOT / "versions"))
    return out


@pytest.fixture(scope="session")
def flagship_signals() -> list[dict]:
    """The flagship data as plain JSON, read without memokit, to check the site against."""
    lines = (ROOT / "data" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def served_site(flagship_site: Path) -> Iterator[str]:
    """Serve the flagship site on 127.0.0.1 and yield its base URL (ending in /)."""
    with serve(flagship_site) as url:
        yield url
