"""The weekly refresh workflow (.github/workflows/refresh.yml): scheduled off the hour and by hand,
collects, suggests, builds and compares, opens one pull request, and never publishes by itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "refresh.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    [job] = workflow["jobs"].values()
    return list(job["steps"])


def test_it_runs_weekly_off_the_hour_and_by_hand(workflow: dict[Any, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit() and int(minute) not in (0, 30), "scheduled runs crowd on the hour"
    assert hour.isdigit() and day == "*" and month == "*" and weekday.isdigit(), "once a week"


def test_permissions_are_the_least_a_pull_request_needs_and_runs_do_not_overlap(workflow: dict[Any, Any]) -> None:
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert workflow["concurrency"]["group"] and workflow["concurrency"]["cancel-in-progress"] is False
    [job] = workflow["jobs"].values()
    assert "permissions" not in job


def test_it_collects_suggests_builds_compares_then_opens_one_pull_request(workflow: dict[Any, Any]) -> None:
    runs = [step.get("run", "") for step in steps(workflow)]
    order = [".venv/bin/memokit collect", ".venv/bin/memokit suggest", ".venv/bin/memokit >", "memokit compare"]
    at = [next(i for i, text in enumerate(runs) if name in text) for name in order]
    assert at == sorted(at), f"out of order: {dict(zip(order, at, strict=True))}"
    actions = [step.get("uses", "") for step in steps(workflow)]
    pull = [i for i, uses in enumerate(actions) if uses.startswith("peter-evans/create-pull-request@")]
    assert len(pull) == 1 and pull[0] > max(at)
    options = steps(workflow)[pull[0]]["with"]
    assert options["body-path"] == "comparison.md" and "> comparison.md" in runs[at[-1]]
    assert options["branch"]  # one fixed branch: the same pull request is updated week after week


def test_new_posts_are_queued_then_suggested_never_coded(workflow: dict[Any, Any]) -> None:
    [step] = [step["run"] for step in steps(workflow) if "memokit suggest" in step.get("run", "")]
    commands = [line.strip() for line in step.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands == [".venv/bin/memokit ingest", ".venv/bin/memokit suggest"]
    assert "memokit code" not in WORKFLOW.read_text(encoding="utf-8").replace("with memokit code", "")


def test_it_never_publishes_or_pushes_by_itself(workflow: dict[Any, Any]) -> None:
    text = "\n".join(line for line in WORKFLOW.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))
    for forbidden in ("deploy-pages", "upload-pages-artifact", "gh-pages", "git push", "pages: write", "merge"):
        assert forbidden not in text, forbidden
    assert "push" not in workflow.get("on", workflow.get(True))


def test_secrets_come_only_from_the_repository_secrets_into_the_environment(workflow: dict[Any, Any]) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    expressions = re.findall(r"\$\{\{\s*([^}]*?)\s*\}\}", text)
    assert {e for e in expressions if "secrets." in e} == {
        "secrets.GITHUB_TOKEN", "secrets.STACKEXCHANGE_KEY", "secrets.REDDIT_CLIENT_ID", "secrets.REDDIT_CLIENT_SECRET"}
    for step in steps(workflow):
        assert "secrets." not in step.get("run", ""), "a secret in a script can end up in the log"
        for name, value in step.get("env", {}).items():
            if "secrets." in str(value):
                assert value == f"${{{{ secrets.{name} }}}}"
    [collect] = [step for step in steps(workflow) if ".venv/bin/memokit collect" in step.get("run", "")]
    assert set(collect["env"]) == {"GITHUB_TOKEN", "STACKEXCHANGE_KEY", "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"}


def test_actions_are_pinned_to_a_major_version(workflow: dict[Any, Any]) -> None:
    for step in steps(workflow):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_every_script_is_valid_bash(workflow: dict[Any, Any]) -> None:
    for step in steps(workflow):
        if "run" in step:
            result = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True)
            assert result.returncode == 0, f"{step.get('name')}: {result.stderr}"


def test_a_failing_source_does_not_stop_the_refresh_but_bad_configuration_does(workflow: dict[Any, Any],
                                                                               tmp_path: Path) -> None:
    [collect] = [step["run"] for step in steps(workflow) if ".venv/bin/memokit collect" in step.get("run", "")]
    for code, stops in ((0, False), (3, False), (2, True), (130, True)):
        fake = tmp_path / ".venv" / "bin"
        fake.mkdir(parents=True, exist_ok=True)
        (fake / "memokit").write_text(f"#!/bin/sh\nexit {code}\n")
        (fake / "memokit").chmod(0o755)
        output = tmp_path / "output"
        result = subprocess.run(["bash", "-e", "-c", collect], cwd=tmp_path, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)})
        assert (result.returncode != 0) == stops, (code, result.stdout, result.stderr)
        if not stops:
            assert output.read_text().splitlines()[-1] == f"code={code}"


def test_the_repository_collect_toml_is_valid() -> None:
    from memokit.collect.config import read_config
    from memokit.collect.run import ADAPTERS
    from memokit.model.problems import Problems

    problems = Problems()
    config = read_config(ROOT / "collect.toml", ADAPTERS, problems)
    assert not problems.items and config is not None
    assert {spec.kind for spec in config.sources} == set(ADAPTERS)


