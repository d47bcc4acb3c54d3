"""Numbers that cannot drift: bound values, named claims, cited facts and the number lint,
exercised through the command line on a copy of the flagship project."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the flagship project (data and memo) that a test may edit."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "memo", tmp_path / "memo")
    return tmp_path


def run(project: Path, *extra: str) -> int:
    return main(["--data", str(project / "data"), "--memo", str(project / "memo"),
                 "--templates", str(BUILTIN_TEMPLATES), "--out", str(project / "site"), *extra])


def append_paragraph(project: Path, text: str) -> int:
    """Append a paragraph to the memo and return the line it stands on."""
    memo = project / "memo" / "index.md"
    lines = memo.read_text(encoding="utf-8").split("\n")
    memo.write_text("\n".join([*lines, "", text, ""]), encoding="utf-8")
    return len(lines) + 2


def test_a_stale_literal_percentage_fails_at_its_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = append_paragraph(project, "Evaluation makes up 89% of feedback.")
    assert run(project) == 1
    err = capsys.readouterr().err
    assert f"memo/index.md:{line}:21: hand-typed percentage '89%'" in err
    assert not (project / "site").exists()


def test_removing_posts_so_a_claim_flips_fails_and_names_it_with_its_values(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = project / "data" / "signals.jsonl"
    records = [json.loads(line) for line in signals.read_text(encoding="utf-8").splitlines()]
    # Drop Evaluate posts until Iterate outnumbers Evaluate after training.
    iterate = sum(r["phase"] == "Iterate" for r in records)
    kept, evaluate = [], 0
    for record in records:
        if record["phase"] == "Evaluate":
            if evaluate >= iterate - 10:
                continue
            evaluate += 1
        kept.append(record)
    signals.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")

    assert run(project) == 1
    err = capsys.readouterr().err
    assert "claim 'evaluate-leads-after-training' is false" in err
    assert "more posts about life after a run ask whether it worked than what to do next" in err
    assert 'check: share(phase="Evaluate", of="post-training") > share(phase="Iterate", of="post-training")' in err
    total = evaluate + iterate
    assert f'share(phase="Evaluate", of="post-training") = {evaluate}/{total} = {evaluate / total:.6f}' in err
    assert f'share(phase="Iterate", of="post-training") = {iterate}/{total} = {iterate / total:.6f}' in err
    assert not (project / "site").exists()


def test_a_claim_over_an_empty_denominator_fails_clearly(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    memo = project / "memo" / "index.md"
    text = memo.read_text(encoding="utf-8")
    memo.write_text(text.replace("claims:\n", "claims:\n  - name: nothing-in-empty\n    sentence: Nothing is empty.\n"
                                 "    check: share(phase=\"Train\", of=\"empty\") < 0.5\n", 1), encoding="utf-8")
    taxonomy = project / "data" / "taxonomy.toml"
    taxonomy.write_text(taxonomy.read_text(encoding="utf-8")
                        + '\n[[denominators]]\nid = "empty"\nlabel = "nothing"\nwhere = { sample = "no-such-sample" }\n',
                        encoding="utf-8")
    assert run(project) == 1
    err = capsys.readouterr().err
    assert "claim 'nothing-in-empty' cannot be computed: the denominator 'empty' is empty" in err
    assert "Traceback" not in err


def test_a_cited_fact_passes_and_shows_its_source(project: Path) -> None:
    append_paragraph(project, 'A survey put it at {{ fact("29.5%", source="Example Survey 2025", '
                              'url="https://example.com/survey") }} of teams.')
    assert run(project, "-q") == 0
    html = (project / "site" / "index.html").read_text(encoding="utf-8")
    number = re.search(r'<span class="fact"[^>]*>29\.5%<sup class="fact-ref"><a href="#source-(\d+)"', html).group(1)
    assert f'<li id="source-{number}">Example Survey 2025. <a href="https://example.com/survey"' in html
    facts = json.loads((project / "site" / "data" / "claims.json").read_text(encoding="utf-8"))["facts"]
    [fact] = [f for f in facts if f["text"] == "29.5%"]
    assert fact["source"] == "Example Survey 2025" and fact["url"] == "https://example.com/survey"


def test_a_fact_with_a_javascript_url_is_invalid_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = append_paragraph(project, '{{ fact("12", source="x", url="javascript:alert(1)") }} teams')
    assert run(project) == 2
    assert f"memo/index.md:{line}: " in capsys.readouterr().err


def test_an_unknown_theme_in_a_binding_is_invalid_input_naming_the_valid_ones(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = append_paragraph(project, 'Then {{ share("did-it-improv") }} of posts.')
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"memo/index.md:{line}: " in err
    assert "unknown theme or phase 'did-it-improv'" in err and "did-it-improve" in err


def test_an_unknown_denominator_is_invalid_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append_paragraph(project, 'Then {{ share("regression", of="everyone") }} of posts.')
    assert run(project) == 2
    assert "unknown denominator 'everyone'; expected one of: all, post-training, sweep, targeted" in capsys.readouterr().err


def test_check_reports_a_summary_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, "--check") == 0
    out = capsys.readouterr().out
    assert re.search(r"check passed: 558 signals, 8 themes, 3 pages, \d+ bound numbers, (\d+)/\1 claims hold", out)
    assert not (project / "site").exists()


def test_check_fails_like_a_build_on_a_hand_typed_number(project: Path) -> None:
    append_paragraph(project, "Some two thousand signals.")
    assert run(project, "--check") == 1


def test_claims_json_lists_every_bound_number_of_the_page(flagship_site: Path) -> None:
    claims = json.loads((flagship_site / "data" / "claims.json").read_text(encoding="utf-8"))
    for page in ("index.html", "about.html"):
        html = (flagship_site / page).read_text(encoding="utf-8")
        shown = re.findall(r'<data class="bound" id="([^"]+)" value="[^"]*" data-expr="([^"]*)"[^>]*>([^<]*)</data>', html)
        listed = [(b["id"], b["expression"], b["text"]) for b in claims["bindings"] if b["page"] == page]
        unescape = lambda s: s.replace("&#34;", '"').replace("&#39;", "'")  # noqa: E731
        assert sorted((i, unescape(e), t) for i, e, t in shown) == sorted(listed)
        assert listed, page
    for binding in claims["bindings"]:
        assert {"page", "line", "expression", "value", "exact", "text"} <= binding.keys()
    assert [c["name"] for c in claims["claims"]][:2] == ["post-training-is-the-majority", "evaluate-leads-after-training"]
    assert all(c["passed"] and 0.9 <= c["support"] <= 1 for c in claims["claims"])
    assert claims["claims"][1]["holds_in"] == {"sweep": True}


def test_one_quantity_is_identical_in_prose_card_chart_and_stats_json(flagship_site: Path) -> None:
    stats = json.loads((flagship_site / "data" / "stats.json").read_text(encoding="utf-8"))
    theme = next(t for t in stats["themes"] if t["id"] == "did-it-improve")
    html = (flagship_site / "index.html").read_text(encoding="utf-8")
    prose = re.search(r'data-expr="share\(&#34;did-it-improve&#34;\)"[^>]*>([^<]+)</data>', html).group(1)
    card = re.search(r'id="theme-did-it-improve".*?<span class="card-share">([^<]+)</span>', html, re.S).group(1)
    chart_row = re.search(r'<th scope="row"><a [^>]*>Did it get better\?</a></th><td>(\d+)</td><td>([^<]+)</td>', html)
    bar_label = f'{theme["percent"]}% ({theme["count"]})'
    assert prose == card == chart_row.group(2) == f'{theme["percent"]}%'
    assert int(chart_row.group(1)) == theme["count"]
    assert bar_label in html
    claims = json.loads((flagship_site / "data" / "claims.json").read_text(encoding="utf-8"))
    bound = next(b for b in claims["bindings"] if b["expression"] == 'share("did-it-improve")')
    assert bound["value"] == theme["share"] and bound["text"] == prose


def test_bindings_in_code_are_shown_as_written_not_evaluated(project: Path) -> None:
    append_paragraph(project, '```\n{{ share("no-such-theme") }} and 89%\n```\n\nInline `{{ n }}` too.')
    assert run(project, "-q") == 0
    html = (project / "site" / "index.html").read_text(encoding="utf-8")
    assert "<code>{{ share(&quot;no-such-theme&quot;) }} and 89%" in html
    assert "<code>{{ n }}</code>" in html


def test_indented_code_in_lists_and_blockquotes_is_code_to_bindings_and_the_lint(project: Path) -> None:
    append_paragraph(project, "Some prose.\n\n    results = 42\n    {{ n }}\n\n- an item\n\n        {{ share(\"nope\") }} 89%\n\n"
                              ">     {{ count() }} 2,562\n\nAfter: {{ n }} posts.")
    assert run(project, "-q") == 0
    html = (project / "site" / "index.html").read_text(encoding="utf-8")
    assert "<pre><code>results = 42\n{{ n }}\n</code></pre>" in html
    assert "<code>{{ share(\"nope\") }} 89%" in html and "<code>{{ count() }} 2,562" in html
    assert re.search(r'After: <data class="bound" [^>]*data-expr="n"', html)


def test_a_binding_in_a_link_target_is_invalid_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = append_paragraph(project, "See [the posts](themes/{{ n }}.html).")
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"index.md:{line}: {{{{ n }}}} stands in a link target or an HTML attribute (href)" in err


def test_a_binding_in_alt_text_shows_as_plain_text(project: Path) -> None:
    append_paragraph(project, '![A chart of {{ n }} posts](assets/favicon.svg "{{ share("regression") }} break")')
    assert run(project, "-q") == 0
    html = (project / "site" / "index.html").read_text(encoding="utf-8")
    claims = json.loads((project / "site" / "data" / "claims.json").read_text(encoding="utf-8"))
    n = next(b["text"] for b in claims["bindings"] if b["expression"] == "n")
    share = next(b["text"] for b in claims["bindings"] if b["expression"] == 'share("regression")')
    assert f'alt="A chart of {n} posts"' in html and f'title="{share} break"' in html


@pytest.mark.parametrize("binding", ["{{ 4200 }}", "{{ 0.89 | percent }}", "{{ 2 * 21 | number }}", "{{ -3 }}"])
def test_a_binding_that_reads_no_data_is_a_hand_typed_number(project: Path, capsys: pytest.CaptureFixture[str],
                                                             binding: str) -> None:
    line = append_paragraph(project, f"Some say {binding} of them.")
    assert run(project) == 1
    err = capsys.readouterr().err
    assert f"index.md:{line}:10: hand-typed number (a binding that reads no data) '{binding}'" in err
    assert not (project / "site").exists()
