"""Scoped blocks: chart(), cards() with the filters of the bindings, by= and order=; every block
argument the README documents builds. The data is synthetic (helpers.HAND_MADE: setup 3, improve 4,
breakage 2, retrain 1; Evaluate 6; sweep 7 of 10)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import hand_made, make_data

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def build(tmp_path: Path, prose: str) -> tuple[int, str]:
    data = make_data(tmp_path, hand_made())
    memo = tmp_path / "memo"
    memo.mkdir(exist_ok=True)
    (memo / "index.md").write_text("---\ntitle: Synthetic blocks\n---\n\n{{ n }} synthetic posts.\n\n" + prose + "\n",
                                   encoding="utf-8")
    code = main(["--data", str(data), "--memo", str(memo), "--templates", str(BUILTIN_TEMPLATES),
                 "--out", str(tmp_path / "site"), "--versions", str(tmp_path / "versions"), "-q"])
    index = tmp_path / "site" / "index.html"
    return code, index.read_text(encoding="utf-8") if code == 0 else ""


def rows(html: str, caption: str) -> list[tuple[str, str, str]]:
    table = html.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a></th><td>([^<]+)</td><td>([^<]+)</td>', table)


def test_a_theme_chart_of_one_phase_shows_its_themes_as_shares_of_that_phase(tmp_path: Path) -> None:
    code, html = build(tmp_path, '{{ chart("theme", phase="Evaluate") }}')
    assert code == 0
    assert rows(html, "Share of the 6 Evaluate posts by theme") == [
        ("Did it get better?", "4", "67%"), ("Did anything break?", "2", "33%")]


def test_order_size_sorts_themes_by_size_within_each_phase(tmp_path: Path) -> None:
    code, html = build(tmp_path, '{{ chart("theme", of="sweep", order="size") }}')
    assert code == 0
    # Sweep: setup 2 (Train); improve 3, breakage 1 (Evaluate); retrain 1 (Iterate).
    assert [label for label, _, _ in rows(html, "Share of the 7 posts of the sweep sample by theme")] == [
        "Getting a run to work", "Did it get better?", "Did anything break?", "When to retrain"]


def test_by_sample_draws_one_chart_per_sample_side_by_side(tmp_path: Path) -> None:
    code, html = build(tmp_path, '{{ chart("phase", by="sample") }}')
    assert code == 0
    assert '<div class="chart-row">' in html
    assert rows(html, "Share of the 7 sweep posts by phase") == [
        ("Train", "2", "29%"), ("Evaluate", "4", "57%"), ("Iterate", "1", "14%")]
    assert rows(html, "Share of the 3 targeted posts by phase") == [("Train", "1", "33%"), ("Evaluate", "2", "67%")]


def test_scoped_cards_show_the_themes_of_the_scope_with_their_own_ids(tmp_path: Path) -> None:
    code, html = build(tmp_path, '{{ cards(phase="Evaluate") }}\n\n{{ cards() }}')
    assert code == 0
    assert "Percentages are shares of the 6 Evaluate posts" in html
    assert 'id="theme-improve-phase-evaluate"' in html and 'id="theme-improve"' in html
    scoped = html.split('id="themes-heading-phase-evaluate"', 1)[1].split("</section>", 1)[0]
    assert scoped.count('<li class="card"') == 2 and "67%" in scoped


def test_cards_of_a_sample_count_and_open_only_its_posts(tmp_path: Path) -> None:
    code, html = build(tmp_path, '{{ cards(of="sweep", source="forum") }}')
    assert code == 0
    # Sweep and forum: improve 2 (posts 4 and 5), retrain 1 (post 7).
    scoped = html.split('id="themes-heading-of-sweep-source-forum"', 1)[1].split("</section>", 1)[0]
    assert "Percentages are shares of the 3 Forum posts of the sweep sample" in scoped
    assert re.findall(r'data-drill="([^"]+)"', scoped) == [
        "phase:Evaluate~of-sweep-source-forum", "phase:Iterate~of-sweep-source-forum",
        "improve~of-sweep-source-forum", "retrain~of-sweep-source-forum"]
    where = '[[&#34;sample&#34;,[&#34;sweep&#34;]],[&#34;source&#34;,[&#34;forum&#34;]]]'
    assert scoped.count(f'data-where="{where}"') == 4
    assert 'data-label="Did it get better?: the Forum posts of the sweep sample"' in scoped
    drill = json.loads((tmp_path / "site" / "data" / "themes" / "improve.json").read_text(encoding="utf-8"))
    assert {post["id"]: post["sample"] for post in drill["posts"]}["syn-8"] == "targeted"  # what the drill filters by


@pytest.mark.parametrize("block, message", [
    ('{{ chart("theme", phase="Deploy") }}', "unknown phase 'Deploy'"),
    ('{{ chart("theme", colour="red") }}', "chart() has no argument 'colour'"),
    ('{{ chart("theme", by="colour") }}', "chart(by=...) takes a field"),
    ('{{ chart("theme", order="random") }}', "chart(order=...) takes one of: 'taxonomy', 'size'"),
    ('{{ cards(colour="red") }}', "cards() has no argument 'colour'; expected: of, theme, phase, source"),
    ('{{ claims(phase="Train") }}', "claims() has no argument 'phase'; it takes none"),
    ('{{ chart("theme", of="nowhere") }}', "unknown denominator 'nowhere'"),
    ('{{ cards(sample="census") }}', "unknown sample 'census'"),
])
def test_a_wrong_block_argument_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str,
                                                  message: str) -> None:
    code, _ = build(tmp_path, block)
    assert code == 2
    assert message in capsys.readouterr().err


def test_every_block_argument_the_readme_documents_builds(tmp_path: Path) -> None:
    section = README.split("### Generated blocks", 1)[1].split("\n### ", 1)[0]
    documented = sorted(set(re.findall(r"`(\{\{ (?:chart|cards|headline|methodology|claims|changes)\([^`]*\) \}\})`", section)))
    assert len(documented) >= 8, documented
    for number, block in enumerate(documented):
        adapted = (block.replace('"Iterate"', '"Evaluate"').replace('"did-it-improve"', '"improve"')
                   .replace('"regression"', '"breakage"').replace('"data-quality"', '"setup"'))
        code, html = build(tmp_path / str(number), adapted)
        assert code == 0, block
        shown = {"chart": '<figure class="chart"', "cards": '<li class="card"', "headline": '<ul class="headline"',
                 "methodology": 'class="methodology-data"'}.get(block[3:].split("(")[0])
        assert shown is None or shown in html, block


def test_a_scoped_headline_computes_the_page_headline_in_the_scope(tmp_path: Path) -> None:
    prose = "{{ headline(of=\"sweep\") }}"
    data = make_data(tmp_path, hand_made())
    memo = tmp_path / "memo"
    memo.mkdir()
    (memo / "index.md").write_text("---\ntitle: Synthetic\nheadline:\n  - value: share(\"improve\")\n    label: improve\n"
                                   "---\n\n" + prose + "\n", encoding="utf-8")
    assert main(["--data", str(data), "--memo", str(memo), "--templates", str(BUILTIN_TEMPLATES), "--out",
                 str(tmp_path / "site"), "--versions", str(tmp_path / "v"), "-q"]) == 0
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<p class="headline-scope">Within the 7 posts of the sweep sample:</p>' in html
    assert 'data-exact="3/7 = 0.428571"' in html  # improve: 3 of the 7 sweep posts
    assert 'data-exact="4/10 = 0.400000"' in html  # the page's own headline, over all posts, at the top
