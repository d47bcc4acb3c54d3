"""A project's templates folder overrides any built-in template or asset by name."""

from __future__ import annotations

import re
from pathlib import Path

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def build(tmp_path: Path, templates: Path) -> Path:
    out = tmp_path / "site"
    assert main(["--data", str(ROOT / "data"), "--memo", str(ROOT / "memo"), "--templates", str(templates),
                 "--out", str(out), "-q"]) == 0
    return out


def test_one_overridden_template_replaces_only_its_namesake(tmp_path: Path) -> None:
    own = tmp_path / "templates"
    (own / "blocks").mkdir(parents=True)
    (own / "blocks" / "headline.html").write_text(
        '<p class="my-headline">{% for value, label in headline %}{{ value }} {{ label }}; {% endfor %}</p>\n',
        encoding="utf-8")
    out = build(tmp_path, own)
    memo = (out / "index.html").read_text(encoding="utf-8")
    assert '<p class="my-headline">' in memo and '<ul class="headline"' not in memo
    assert '<li class="card"' in memo  # the built-in cards are still there
    assert (out / "themes" / "regression.html").is_file()


def test_an_overridden_asset_replaces_the_built_in_one(tmp_path: Path) -> None:
    own = tmp_path / "templates"
    (own / "assets").mkdir(parents=True)
    (own / "assets" / "memo.css").write_text("body { color: rebeccapurple; }\n", encoding="utf-8")
    out = build(tmp_path, own)
    assert (out / "assets" / "memo.css").read_text(encoding="utf-8") == "body { color: rebeccapurple; }\n"
    assert (out / "assets" / "drill.js").read_bytes() == (BUILTIN_TEMPLATES / "assets" / "drill.js").read_bytes()


def test_the_readme_lists_every_built_in_template() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Templates", 1)[1].split("\n## ", 1)[0]
    for path in sorted((BUILTIN_TEMPLATES).rglob("*.html")):
        name = path.relative_to(BUILTIN_TEMPLATES).as_posix()
        assert re.search(rf"`{re.escape(name)}`", section), f"{name} is not described in README's Templates section"
