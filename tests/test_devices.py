"""Authoring devices, each in Python-Markdown's own syntax and rendered without JavaScript:
callouts (admonition), collapsible sections (md_in_html), footnotes and a headline caveat; and
further pages that are full memo pages (drill, headline, claims). The data is synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import hand_made, make_data

from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.cli import main

MEMO = """---
title: Synthetic devices
headline:
  - value: share("improve")
    label: ask whether it improved
    caveat: the sweep sample alone says less
---

!!! finding "The finding"
    Most of the {{ n }} posts are about **life after** the run.

<details markdown="1">
<summary>Who is the developer in this data?</summary>

Someone who files issues: {{ share(source="github") }} come from GitHub, and **bold** works.
</details>

A sentence with a footnote.[^why]

[^why]: The note itself, with {{ count("breakage") }} posts bound.
"""


def build(tmp_path: Path, memo: str, *pages: tuple[str, str]) -> tuple[int, Path]:
    data = make_data(tmp_path, hand_made())
    folder = tmp_path / "memo"
    folder.mkdir()
    (folder / "index.md").write_text(memo, encoding="utf-8")
    for name, text in pages:
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path / "site"
    return main(["--data", str(data), "--memo", str(folder), "--templates", str(BUILTIN_TEMPLATES), "--out", str(out),
                 "--versions", str(tmp_path / "versions"), "-q"]), out


def test_callouts_collapsible_sections_footnotes_and_caveats_render_without_javascript(tmp_path: Path) -> None:
    code, out = build(tmp_path, MEMO)
    assert code == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<div class="admonition finding">\n<p class="admonition-title">The finding</p>' in html
    assert "<strong>life after</strong>" in html and 'data-expr="n"' in html
    assert "<details>\n<summary>Who is the developer in this data?</summary>" in html
    assert "and <strong>bold</strong> works" in html and 'data-expr="share(source=&#34;github&#34;)"' in html
    assert 'class="footnote-ref" href="#fn:why"' in html and 'data-expr="count(&#34;breakage&#34;)"' in html
    assert '<span class="headline-caveat"><span class="visually-hidden">Caveat: </span>the sweep sample alone says less' in html


@pytest.mark.parametrize("place", [
    '<details markdown="1">\n<summary>More</summary>\n\nA hand-typed 42 posts here.\n</details>',
    '!!! note "A note"\n    A hand-typed 42 posts here.',
    "A sentence.[^n]\n\n[^n]: A hand-typed 42 posts here.",
])
def test_numbers_inside_devices_are_linted(tmp_path: Path, capsys: pytest.CaptureFixture[str], place: str) -> None:
    code, _ = build(tmp_path, "---\ntitle: Synthetic\n---\n\n" + place + "\n")
    assert code == 1
    assert "hand-typed count '42'" in capsys.readouterr().err


def test_a_caveat_is_linted_like_the_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    memo = MEMO.replace("caveat: the sweep sample alone says less", "caveat: 3 of them are duplicates")
    assert build(tmp_path, memo)[0] == 1
    assert "hand-typed count '3'" in capsys.readouterr().err


FURTHER = """---
title: A further page
headline:
  - value: count("retrain")
    label: posts ask when to retrain
claims:
  - name: improve-leads
    sentence: Improve leads setup.
    check: count("improve") > count("setup")
    support: 0.5
---

Synthetic prose about {{ n }} posts.

{{ cards() }}
"""


def test_a_further_page_is_a_full_memo_page(tmp_path: Path) -> None:
    code, out = build(tmp_path, "---\ntitle: Synthetic\n---\n\n{{ n }} posts.\n", ("further.md", FURTHER))
    assert code == 0
    html = (out / "further.html").read_text(encoding="utf-8")
    assert '<ul class="headline"' in html and "posts ask when to retrain" in html  # its own headline strip
    assert 'id="drill"' in html and 'src="assets/drill.js"' in html  # the drill, as on the memo
    assert 'data-drill="improve"' in html
    assert 'id="claim-improve-leads"' in html  # its own claims block, after its prose
    assert html.index("Synthetic prose") < html.index('id="claim-improve-leads"')


def test_front_matter_that_has_no_effect_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    memo = "---\ntitle: Synthetic\norder: 3\n---\n\n{{ n }} posts.\n"
    further = "---\ntitle: Further\nmin_support: 0.9\n---\n\n{{ n }} posts.\n"
    code, _ = build(tmp_path, memo, ("further.md", further))
    assert code == 0
    err = capsys.readouterr().err
    assert "index.md:3: order: has no effect on the memo page, which always comes first" in err
    assert "further.md:3: min_support: has no effect: this page has no claims" in err
