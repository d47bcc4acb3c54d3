"""The README stays true: its commands are the ones CI runs, and every option is documented."""

from __future__ import annotations

import re
from pathlib import Path

from memokit.cli import compare_parser, parser, pin_parser, serve_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert ci_lines == [c for c in _commands() if "pytest" in c]


def test_readme_build_command_runs_build_py_in_a_virtual_environment() -> None:
    [build] = [c for c in _commands() if c.endswith("build.py")]
    assert "python3 -m venv .venv" in build and build.endswith(".venv/bin/python build.py")
    assert "pip install" in build and "python3 -m pip" not in build  # never into the system's Python


def test_readme_test_command_uses_a_fresh_virtual_environment_and_the_static_checks() -> None:
    [test] = [c for c in _commands() if "pytest" in c]
    assert "python3 -m venv --clear .venv" in test and "python3 -m pip" not in test
    for step in (".venv/bin/ruff check", ".venv/bin/mypy", ".venv/bin/python -m pytest"):
        assert step in test


def test_every_command_line_option_is_documented() -> None:
    for action in parser()._actions:
        for flag in action.option_strings:
            if flag in ("-h", "--help"):
                continue
            assert f"`{flag}" in README, f"{flag} is not documented in README.md"


def test_every_serve_option_is_documented() -> None:
    for action in serve_parser()._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert f"`{flag}" in README, f"serve {flag} is not documented in README.md"


def test_readme_has_the_sections_an_author_needs() -> None:
    headings = re.findall(r"^#+ (.+)$", README, flags=re.MULTILINE)
    for section in ("The two commands", "Options", "Preview", "Data format", "Writing a memo", "Templates",
                    "Publishing", "What a reader sees", "Collecting"):
        assert section in headings, f"README.md has no '{section}' section"


def test_every_curating_option_is_documented() -> None:
    from memokit.curate.commands import agreement_parser, code_parser, ingest_parser, suggest_parser

    curating = README.split("## Curating", 1)[1].split("\n## ", 1)[0]
    for make in (ingest_parser, suggest_parser, agreement_parser, code_parser):
        for action in make()._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in curating, f"{make().prog} {flag} is not documented under Curating in README.md"


def test_every_pin_and_compare_option_is_documented() -> None:
    for make in (pin_parser, compare_parser):
        for action in make()._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in README or f"{flag}" in README.split("## Versions", 1)[1], f"{flag}"


def test_every_collect_option_and_config_key_is_documented() -> None:
    from memokit.cli import collect_parser
    from memokit.collect.config import COMMON_KEYS
    from memokit.collect.run import ADAPTERS

    section = README.split("## Collecting", 1)[1].split("\n## ", 1)[0]
    for action in collect_parser()._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert f"`{flag}" in section, f"collect {flag} is not documented under 'Collecting'"
    keys = [*COMMON_KEYS, *(key for adapter in ADAPTERS.values() for key in adapter.OPTIONS)]
    for key in keys:
        assert f"`{key}`" in section, f"collect.toml key {key} is not documented under 'Collecting'"
    for kind, adapter in ADAPTERS.items():
        assert f"| `{kind}` |" in section, f"what {kind} can and cannot return is not documented"
        for variable in adapter.ENVIRONMENT:
            assert f"`{variable}`" in section, f"{variable} is not documented under 'Collecting'"
