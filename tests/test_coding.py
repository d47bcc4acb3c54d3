"""memokit code: the coding page's server (loopback only, session token, atomic writes) and the
page itself in real Chromium, driven by keyboard as a coder would. Synthetic posts on example.com."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import make_data, signal
from playwright.sync_api import Page, expect

from memokit.build.validate import load_dataset
from memokit.cli import main
from memokit.curate.coding import CodingServer, make_server
from memokit.curate.store import QueueEntry, Suggestion, write_queue

HOSTILE = '<img src=x onerror="window.pwned=1">"><script>window.pwned=1</script>'


def entries() -> list[QueueEntry]:
    return [
        QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/one",
                   title="Synthetic: run crashes with CUDA out of memory " + HOSTILE, body="Synthetic body " + HOSTILE,
                   created="2025-01-05",
                   suggestion=Suggestion(theme="setup", best="setup", probability=0.91, evidence=("memory", "cuda"),
                                         threshold=0.5)),
        QueueEntry(id="q2", url="https://example.com/q/2", source="forum", community="example-forum",
                   title="Synthetic: did the fine-tune improve?", body="",
                   suggestion=Suggestion(theme=None, best="improve", probability=0.3, threshold=0.5)),
        QueueEntry(id="q3", url="https://xn--80ak6aa92e.example.com/q/3", source="github", community="example/three",
                   title="Synthetic: when to retrain on new data", sample="sweep", corpus="issues"),
        QueueEntry(id="q4", url="javascript:alert(1)", source="github", community="example/four",
                   title="Synthetic: a post with a bad link"),
    ]


@contextmanager
def serving(data: Path, coder: str = "ana") -> Iterator[str]:
    """A session of memokit code on ``data``: its address while it runs."""
    server = make_server(data, coder, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = make_data(tmp_path, [signal(1)])
    write_queue(data, entries())
    with serving(data) as base:
        yield base, data


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request(base: str, method: str, path: str, body: dict | None = None, **headers: str) -> tuple[int, str]:
    host, port = base.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, text


def token(base: str) -> str:
    status, page = request(base, "GET", "/")
    assert status == 200
    return page.split('name="memokit-token" content="')[1].split('"')[0]


def test_a_decision_needs_the_session_token_the_page_origin_and_a_loopback_host(desk) -> None:
    base, data = desk
    decide = {"id": "q1", "action": "accept"}
    json_type = {"Content-Type": "application/json"}
    assert request(base, "POST", "/api/decide", decide, **json_type)[0] == 403  # no token
    good = {**json_type, "X-Memokit-Token": token(base)}
    assert request(base, "POST", "/api/decide", decide, **good, Origin="https://evil.example")[0] == 403
    assert request(base, "POST", "/api/decide", decide, **{**good, "Host": "evil.example"})[0] == 421
    assert request(base, "GET", "/api/state", Host="rebound.example:80")[0] == 421
    assert request(base, "POST", "/api/decide", decide, **{**good, "Content-Type": "text/plain"})[0] == 415
    assert len(lines(data / "signals.jsonl")) == 1 and len(lines(data / "queue.jsonl")) == 4
    status, _ = request(base, "POST", "/api/decide", decide, **good, Origin=base.rstrip("/"))
    assert status == 200
    coded = lines(data / "signals.jsonl")[-1]
    assert coded["coded_by"] == "model-accepted:ana" and coded["theme"] == "setup" and coded["phase"] == "Train"
    assert [e["id"] for e in lines(data / "queue.jsonl")] == ["q2", "q3", "q4"]


def test_every_decision_leaves_data_the_build_accepts(desk) -> None:
    base, data = desk
    headers = {"Content-Type": "application/json", "X-Memokit-Token": token(base)}
    assert request(base, "POST", "/api/decide", {"id": "q1", "action": "theme", "theme": "breakage",
                                                 "summary": "A crash, coded by hand."}, **headers)[0] == 200
    status, text = request(base, "POST", "/api/decide", {"id": "q2", "action": "accept"}, **headers)
    assert status == 409 and "no suggestion to accept" in text  # it abstained
    assert request(base, "POST", "/api/decide", {"id": "q2", "action": "theme", "theme": "nope"}, **headers)[0] == 409
    assert request(base, "POST", "/api/decide", {"id": "q2", "action": "drop"}, **headers)[0] == 200
    assert request(base, "POST", "/api/decide", {"id": "q3", "action": "theme", "theme": "retrain"}, **headers)[0] == 200
    status, text = request(base, "POST", "/api/decide", {"id": "q4", "action": "theme", "theme": "setup"}, **headers)
    assert status == 409 and "cannot be coded" in text  # its URL is not http(s): the build would refuse it
    dataset = load_dataset(data)
    assert list(dataset.frame["coded_by"]) == ["", "ana", "ana"]
    assert list(dataset.frame["corpus"]) == ["", "", "issues"]
    assert list(dataset.frame["summary"])[1:] == ["A crash, coded by hand.", "Synthetic: when to retrain on new data"]
    assert lines(data / "dropped.jsonl")[0]["id"] == "q2" and [e["id"] for e in lines(data / "queue.jsonl")] == ["q4"]


@pytest.mark.browser
def test_coding_the_queue_by_keyboard(desk, page: Page) -> None:
    base, data = desk
    page.goto(base)
    expect(page.locator("#title")).to_contain_text("CUDA out of memory")
    # Untrusted text stays text.
    expect(page.locator("#title")).to_contain_text("<script>")
    assert page.evaluate("window.pwned") is None
    expect(page.locator("#link")).to_have_text("example.com")
    expect(page.locator("#suggestion")).to_contain_text("Getting a run to work (probability 91%)")
    expect(page.locator("#suggestion")).to_contain_text("memory, cuda")
    expect(page.locator("#themes li")).to_have_count(4)
    expect(page.locator("#themes")).to_contain_text("Crashes and configuration.")  # the codebook's definition

    page.keyboard.press("Enter")  # accept the suggestion
    expect(page.locator("#title")).to_have_text("Synthetic: did the fine-tune improve?")
    assert lines(data / "signals.jsonl")[-1]["coded_by"] == "model-accepted:ana"
    expect(page.locator("#suggestion")).to_contain_text("No suggestion")
    page.keyboard.press("Enter")  # nothing to accept: asks for a theme, writes nothing
    expect(page.locator("#status")).to_contain_text("Pick a theme first")
    assert len(lines(data / "signals.jsonl")) == 2

    page.keyboard.press("2")  # the second theme in display order: improve
    expect(page.locator('#themes button[data-theme="improve"]')).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("/")
    page.keyboard.type("Synthetic summary typed by the coder")
    page.keyboard.press("Enter")
    expect(page.locator("#title")).to_have_text("Synthetic: when to retrain on new data")
    last = lines(data / "signals.jsonl")[-1]
    assert (last["theme"], last["coded_by"], last["summary"]) == ("improve", "ana", "Synthetic summary typed by the coder")
    expect(page.locator("#link")).to_have_text("xn--80ak6aa92e.example.com")

    page.keyboard.press("u")  # undo: the improve post is back, and out of the signals
    expect(page.locator("#title")).to_have_text("Synthetic: did the fine-tune improve?")
    assert len(lines(data / "signals.jsonl")) == 2
    page.keyboard.press("s")  # skip it: it goes to the end
    expect(page.locator("#title")).to_have_text("Synthetic: when to retrain on new data")
    page.keyboard.press("d")  # drop the retrain post
    expect(page.locator("#title")).to_have_text("Synthetic: a post with a bad link")
    assert lines(data / "dropped.jsonl")[0]["id"] == "q3"
    expect(page.locator("#link")).to_be_hidden()  # a javascript: URL is never a link

    page.reload()  # closing the tab loses nothing: the queue is where it was
    expect(page.locator("#title")).to_have_text("Synthetic: a post with a bad link")
    page.keyboard.press("1")
    page.keyboard.press("Enter")  # its URL would never pass the build: refused, kept in the queue
    expect(page.locator("#status")).to_contain_text("cannot be coded: expected an absolute http(s) URL")
    page.keyboard.press("d")
    expect(page.locator("#title")).to_have_text("Synthetic: did the fine-tune improve?")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    assert [e["id"] for e in lines(data / "signals.jsonl")] == ["syn-1", "q1", "q2"]
    assert lines(data / "queue.jsonl") == []
    load_dataset(data)  # and the build reads it all


@pytest.mark.browser
def test_the_last_decision_is_undone_by_keyboard_after_a_restart(tmp_path: Path, page: Page) -> None:
    data = make_data(tmp_path, [signal(1)])
    write_queue(data, entries())
    names = ("signals.jsonl", "queue.jsonl")
    before = {name: (data / name).read_bytes() for name in names}
    with serving(data) as base:
        page.goto(base)
        expect(page.locator("#last")).to_have_text("No decision to undo.")
        page.keyboard.press("3")  # breakage, not the suggestion
        page.keyboard.press("Enter")
        expect(page.locator("#title")).to_have_text("Synthetic: did the fine-tune improve?")
        expect(page.locator("#last")).to_contain_text("Last decision: coded as Did anything break? “Synthetic: run")
    assert lines(data / "signals.jsonl")[-1]["theme"] == "breakage"
    page.goto("about:blank")  # the tab closed, memokit code stopped; then started again
    with serving(data) as base:
        page.goto(base)
        expect(page.locator("#title")).to_have_text("Synthetic: did the fine-tune improve?")
        expect(page.locator("#progress")).to_contain_text("0 coded in this session")
        expect(page.locator("#last")).to_contain_text("in an earlier session. U undoes it.")
        page.keyboard.press("u")
        expect(page.locator("#title")).to_contain_text("CUDA out of memory")
        expect(page.locator("#status")).to_contain_text("Undone: coded as Did anything break?")
        expect(page.locator("#last")).to_have_text("No decision to undo.")
        assert {name: (data / name).read_bytes() for name in names} == before
        assert page.evaluate("window.pwned") is None  # the title, untrusted, shown as text in the undo line too
        page.keyboard.press("u")
        expect(page.locator("#status")).to_have_text("Nothing to undo.")


def test_memokit_code_says_on_start_what_it_found_one_line_each(tmp_path: Path, monkeypatch, capsys) -> None:
    data = make_data(tmp_path, [signal(1), signal(2)])
    write_queue(data, entries())
    # Figures from before agreement.json recorded its digest, measured on other posts than these two.
    (data / "agreement.json").write_text(json.dumps({
        "posts": 30, "folds": 5, "kappa": 0.6, "accuracy": 0.7, "threshold": 0.5, "kept_share": 0.6,
        "unseen_kept_share": 0.5}), encoding="utf-8")

    def stopped(self, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt  # Ctrl+C as soon as it serves

    monkeypatch.setattr(CodingServer, "serve_forever", stopped)
    assert main(["code", "--data", str(data), "--coder", "ana", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    [warning] = err.splitlines()
    assert warning.startswith(f"warning: {data / 'agreement.json'} was measured on 30 coded posts; the data now has 2 "
                              "(data ") and warning.endswith("rerun memokit agreement --save")
    assert out.splitlines()[-1] == f"memokit: coding page stopped; every decision made is saved in {data}"


@pytest.mark.parametrize("kept", ["csv", "parquet"])
def test_memokit_code_refuses_a_folder_whose_signals_are_not_jsonl_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kept: str) -> None:
    def stopped(self, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt  # were it to serve (it must not), Ctrl+C at once

    monkeypatch.setattr(CodingServer, "serve_forever", stopped)
    data = make_data(tmp_path, [signal(1), signal(2)])
    if kept == "parquet":
        assert main(["convert", "--data", str(data), "-q"]) == 0
    else:
        frame = load_dataset(data).frame
        frame.assign(found_by=frame["found_by"].astype(str)).to_csv(data / "signals.csv", index=False)
    (data / "signals.jsonl").unlink()
    assert load_dataset(data).frame["id"].tolist() == ["syn-1", "syn-2"]  # valid data, of another format
    write_queue(data, entries())
    before = sorted(p.name for p in data.iterdir())
    assert main(["code", "--data", str(data), "--coder", "ana", "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{data / f'signals.{kept}'}: memokit code adds each decision to signals.jsonl as a "
                                f"line, and this folder keeps its signals in signals.{kept}: keep them as "
                                "signals.jsonl to code (memokit convert makes the Parquet from it afterwards)"]
    assert sorted(p.name for p in data.iterdir()) == before  # nothing written: no second signals file
