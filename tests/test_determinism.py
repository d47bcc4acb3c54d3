"""Same inputs, byte-identical site: nothing depends on the clock, the locale or file order."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build(out: Path, **env: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)], cwd=ROOT, check=True,
                   env={**os.environ, **env}, timeout=300)


def test_two_builds_of_the_same_inputs_are_byte_identical(tmp_path: Path) -> None:
    build(tmp_path / "a", TZ="UTC", LC_ALL="C.UTF-8")
    build(tmp_path / "b", TZ="Pacific/Kiritimati", LC_ALL="C", SOURCE_DATE_EPOCH="0", PYTHONHASHSEED="123")
    first, second = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert len(first) > 20
    assert first == second


def test_the_command_line_and_the_library_build_the_same_site(tmp_path: Path, flagship_site: Path) -> None:
    # The command renders charts in a worker process (memokit.vega); the library renders in-process.
    build(tmp_path / "cli")
    assert digest(tmp_path / "cli") == digest(flagship_site)
