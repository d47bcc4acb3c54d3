"""A project's templates folder overrides any built-in template or asset by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
        '<p class="my-headline">{% for value, label, detail, caveat in headline %}{{ value }} {{ label }}; {% endfor %}</p>\n',
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


def _own(tmp_path: Path, name: str, text: str) -> Path:
    own = tmp_path / "templates"
    (own / name).parent.mkdir(parents=True, exist_ok=True)
    (own / name).write_text(text, encoding="utf-8")
    return own


@pytest.mark.parametrize("expression", ["stats.__class__.__mro__", "page.__init__.__globals__",
                                        "cycler.__init__.__globals__.os", "site.title.__class__.__base__.__subclasses__()"])
def test_templates_run_sandboxed_and_cannot_reach_python(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         expression: str) -> None:
    own = _own(tmp_path, "blocks/headline.html", f"<p>{{{{ {expression} }}}}</p>\n")
    code = main(["--data", str(ROOT / "data"), "--memo", str(ROOT / "memo"), "--templates", str(own),
                 "--out", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{own / 'blocks' / 'headline.html'}:1: template error:" in err and "unsafe" in err
    assert not (tmp_path / "site").exists()


def test_an_override_that_drops_the_csp_or_loads_another_origin_is_warned_about(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = (BUILTIN_TEMPLATES / "base.html").read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', base)
    assert csp
    changed = base.replace(csp.group(0), "").replace("</head>", '<script src="https://cdn.example/x.js"></script>\n'
                                                                '<link rel="canonical" href="https://example.org/">\n</head>')
    own = _own(tmp_path, "base.html", changed)
    assert main(["--data", str(ROOT / "data"), "--memo", str(ROOT / "memo"), "--templates", str(own),
                 "--out", str(tmp_path / "site")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert "warning: index.html: the page has no Content-Security-Policy" in "\n".join(warnings)
    assert "warning: themes/" in "\n".join(warnings) and "warning: about.html: the page has no" in "\n".join(warnings)
    assert any("loads <script src='https://cdn.example/x.js'> from another origin" in w for w in warnings)
    assert not any("canonical" in w for w in warnings)


def test_the_built_in_templates_draw_no_page_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build(tmp_path, BUILTIN_TEMPLATES)
    err = capsys.readouterr().err
    assert "Content-Security-Policy" not in err and "another origin" not in err
