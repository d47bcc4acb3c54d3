"""The coding page's decisions log (data/decisions.jsonl): undo after a restart restores
signals.jsonl, queue.jsonl and dropped.jsonl byte for byte; it refuses, changing nothing, where a
file was edited since; a decision or an undo cut short at any write is finished on the next start;
the log is bounded. Synthetic posts on example.com."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import jsonl, make_data, signal

from memokit.build.validate import load_dataset
from memokit.cli import main
from memokit.curate import decisions
from memokit.curate.coding import Desk, Refused
from memokit.curate.decisions import DECISIONS_FILE, Journal
from memokit.curate.store import QueueEntry, Suggestion, queue_lines, write_queue
from memokit.model import InputError

FILES = ("signals.jsonl", "queue.jsonl", "dropped.jsonl")


def entries() -> list[QueueEntry]:
    return [
        QueueEntry(id="q1", url="https://example.com/q/1", source="github", community="example/one",
                   title="Synthetic: crash with CUDA out of memory", body="Synthetic body",
                   suggestion=Suggestion(theme="setup", best="setup", probability=0.9, threshold=0.5)),
        QueueEntry(id="q2", url="https://example.com/q/2", source="forum", community="example-forum",
                   title="Synthetic: did it improve? “quotes” and ünïcode"),
        QueueEntry(id="q3", url="https://example.com/q/3", source="github", community="example/three",
                   title="Synthetic: when to retrain"),
    ]


def files(data: Path) -> dict[str, bytes | None]:
    """The bytes of each file a decision may change (None: absent)."""
    return {name: (data / name).read_bytes() if (data / name).exists() else None for name in FILES}


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = make_data(tmp_path, [signal(1), signal(2, theme="improve")])
    write_queue(folder, entries())
    return folder


def test_undo_after_a_restart_restores_every_file_byte_for_byte(data: Path) -> None:
    states = [files(data)]
    desk = Desk.open(data, "ana")
    desk.decide("q1", "accept", None, "")
    states.append(files(data))
    desk.decide("q2", "theme", "improve", "A summary in the coder's words")
    states.append(files(data))
    desk.decide("q3", "drop", None, "")
    states.append(files(data))
    assert (data / "queue.jsonl").read_text(encoding="utf-8") == ""

    # memokit code stopped and started again: the new session undoes the old one's decisions, newest first.
    desk = Desk.open(data, "ana")
    assert desk.state()["undo"] == {"action": "drop", "id": "q3", "title": "Synthetic: when to retrain",
                                    "coder": "ana", "theme": None, "earlier": True}
    for expected in reversed(states[:-1]):
        desk.undo()
        assert files(data) == expected
    assert files(data)["dropped.jsonl"] is None  # the first drop made it; its undo removes it
    with pytest.raises(Refused, match="nothing to undo"):
        desk.undo()
    load_dataset(data)
    assert leftovers(data) == []
    # The log: what each decision did, then the undos, each naming the decision it took back.
    log = [json.loads(line) for line in (data / DECISIONS_FILE).read_text(encoding="utf-8").splitlines()]
    assert [(r["seq"], r["action"], r["id"], r.get("undoes")) for r in log] == [
        (1, "accept", "q1", None), (2, "theme", "q2", None), (3, "drop", "q3", None),
        (4, "undo", "q3", 3), (5, "undo", "q2", 2), (6, "undo", "q1", 1)]
    assert not any(r.get("pending") for r in log)
    coded = log[1]["files"]["signals.jsonl"]["add_tail"]
    assert json.loads(coded)["summary"] == "A summary in the coder's words"  # the signal line it wrote
    assert log[1]["files"]["queue.jsonl"]["cut_head"] == queue_lines([entries()[1]])  # the entry it took off


def test_a_skip_is_undone_after_a_restart_and_the_post_is_first_again(data: Path) -> None:
    before = files(data)
    Desk.open(data, "ana").decide("q1", "skip", None, "")
    assert [json.loads(line)["id"] for line in (data / "queue.jsonl").read_text().splitlines()] == ["q2", "q3", "q1"]
    desk = Desk.open(data, "bo")  # another coder may take it back; the page says whose it was
    assert desk.state()["undo"]["coder"] == "ana"
    desk.undo()
    assert files(data) == before
    assert desk.state()["post"]["id"] == "q1"


def test_a_signals_file_without_a_last_newline_comes_back_exactly(tmp_path: Path) -> None:
    data = make_data(tmp_path, jsonl([signal(1)]).rstrip("\n"))
    write_queue(data, entries())
    before = files(data)
    Desk.open(data, "ana").decide("q1", "accept", None, "")
    assert (data / "signals.jsonl").read_text(encoding="utf-8").count("\n") == 2
    Desk.open(data, "ana").undo()
    assert files(data) == before


def test_undo_refuses_and_changes_nothing_when_the_coded_line_was_edited_by_hand(data: Path) -> None:
    desk = Desk.open(data, "ana")
    desk.decide("q1", "accept", None, "")
    path = data / "signals.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace('"theme": "setup", "phase": "Train", "summary": '
                                                             '"Synthetic: crash', '"theme": "breakage", "phase": '
                                                             '"Evaluate", "summary": "Synthetic: crash'), encoding="utf-8")
    edited = files(data)
    log = (data / DECISIONS_FILE).read_bytes()
    desk = Desk.open(data, "ana")
    with pytest.raises(Refused) as refused:
        desk.undo()
    assert str(refused.value) == (f"{path} no longer ends with the line coded for q1 as it was written (edited "
                                  "since?): nothing was undone; change the file by hand instead")
    assert files(data) == edited and (data / DECISIONS_FILE).read_bytes() == log


def test_undo_keeps_a_hand_edit_of_another_line(data: Path) -> None:
    desk = Desk.open(data, "ana")
    desk.decide("q1", "accept", None, "")
    path = data / "signals.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Synthetic post 2", "Synthetic post 2, retitled by hand", 1), encoding="utf-8")
    Desk.open(data, "ana").undo()
    assert path.read_text(encoding="utf-8") == jsonl([signal(1), signal(2, theme="improve",
                                                                        title="Synthetic post 2, retitled by hand")])
    assert [e.id for e in Desk.open(data, "ana")._queue()] == ["q1", "q2", "q3"]


def test_undo_of_a_skip_refuses_once_the_queue_was_rewritten(data: Path) -> None:
    desk = Desk.open(data, "ana")
    desk.decide("q1", "skip", None, "")
    # memokit suggest ran meanwhile: the skipped post, last in the queue, has another suggestion now.
    queue = desk._queue()
    write_queue(data, [*queue[:-1], queue[-1].model_copy(update={"suggestion": None})])
    rewritten = files(data)
    with pytest.raises(Refused, match=r"queue\.jsonl no longer ends with the skipped post q1 as the skip left it"):
        Desk.open(data, "ana").undo()
    assert files(data) == rewritten


def test_undo_refuses_a_post_that_is_queued_again(data: Path) -> None:
    desk = Desk.open(data, "ana")
    desk.decide("q1", "drop", None, "")
    write_queue(data, [entries()[0], *desk._queue()])  # queued again by hand
    with pytest.raises(Refused, match=r"q1 is in .*queue\.jsonl again already: nothing was undone"):
        desk.undo()


class Crash(BaseException):
    """The process dies here (as under kill -9 or a power cut): nothing after it runs."""


def crash_at(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Make the ``nth`` write through the log (1: the pending record; then each file; last: the
    record again, done) never happen, nor anything after it."""
    write, calls = decisions.write_atomic, [0]

    def failing(path: Path, text: str) -> None:
        calls[0] += 1
        if calls[0] == nth:
            raise Crash
        write(path, text)

    monkeypatch.setattr(decisions, "write_atomic", failing)


def consistent(data: Path) -> dict[str, list[str]]:
    """Where each post is; every one is in exactly one place, and the log agrees with the files."""
    signals = [json.loads(line)["id"] for line in (data / "signals.jsonl").read_text(encoding="utf-8").splitlines()]
    queue = [json.loads(line)["id"] for line in (data / "queue.jsonl").read_text(encoding="utf-8").splitlines()]
    dropped = ([json.loads(line)["id"] for line in (data / "dropped.jsonl").read_text(encoding="utf-8").splitlines()]
               if (data / "dropped.jsonl").exists() else [])
    for post in ("q1", "q2", "q3"):
        assert (signals + queue + dropped).count(post) == 1, (post, signals, queue, dropped)
    assert not any(r.pending for r in Journal(data).records())
    return {"signals": signals, "queue": queue, "dropped": dropped}


@pytest.mark.parametrize("nth", [1, 2, 3, 4])
@pytest.mark.parametrize("decision", ["accept", "drop", "undo"])
def test_a_change_cut_short_at_any_write_is_finished_on_the_next_start(data: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      decision: str, nth: int) -> None:
    if decision == "undo":
        Desk.open(data, "ana").decide("q1", "accept", None, "")
    before = files(data)
    crash_at(monkeypatch, nth)
    desk = Desk.open(data, "ana")
    with pytest.raises(Crash):
        desk.undo() if decision == "undo" else desk.decide("q1", decision, None, "")
    monkeypatch.undo()
    desk = Desk.open(data, "ana")  # the next start
    where = consistent(data)
    if nth == 1:  # nothing was written, not even the record: as if the decision was never made
        assert files(data) == before
        return
    # The change is whole: as the decision or undo would have left it.
    assert where == {"accept": {"signals": ["syn-1", "syn-2", "q1"], "queue": ["q2", "q3"], "dropped": []},
                     "drop": {"signals": ["syn-1", "syn-2"], "queue": ["q2", "q3"], "dropped": ["q1"]},
                     "undo": {"signals": ["syn-1", "syn-2"], "queue": ["q1", "q2", "q3"], "dropped": []}}[decision]
    assert desk.warnings == []
    if decision != "undo":  # and it can be undone like any other
        desk.undo()
        assert files(data) == before


def test_a_file_edited_after_a_crash_is_left_as_it_is_with_a_warning(data: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    crash_at(monkeypatch, 3)  # signals.jsonl written, queue.jsonl not yet
    with pytest.raises(Crash):
        Desk.open(data, "ana").decide("q1", "accept", None, "")
    monkeypatch.undo()
    write_queue(data, [entries()[2], entries()[1], entries()[0]])  # reordered by hand before the restart
    desk = Desk.open(data, "ana")
    assert desk.warnings == [f"{data / 'queue.jsonl'}: changed since decision 1 (accept of q1) was cut short, so "
                             f"left as it is; check it against {data / DECISIONS_FILE}"]
    assert [e.id for e in desk._queue()] == ["q3", "q2"]  # q1 is coded: it leaves the queue all the same


def test_the_log_keeps_the_newest_records_and_undo_reaches_back_through_them(data: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decisions, "KEEP", 3)
    desk = Desk.open(data, "ana")
    for _ in range(5):
        desk.decide(desk._queue()[0].id, "skip", None, "")
    assert [r.seq for r in Journal(data).records()] == [3, 4, 5]
    desk.undo()
    desk.undo()
    with pytest.raises(Refused, match="nothing to undo"):
        desk.undo()
    assert [e.id for e in desk._queue()] == ["q1", "q2", "q3"]  # as after the third skip (of five)


def test_a_log_memokit_cannot_read_stops_memokit_code_with_one_line_per_problem(data: Path, capsys) -> None:
    (data / DECISIONS_FILE).write_text('{"seq": 1, "action": "keep"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError):
        Desk.open(data, "ana")
    assert main(["code", "--data", str(data), "--coder", "ana", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith(f"{data / DECISIONS_FILE}:") for line in err), err
    assert any(":2:" in line for line in err) and any("remove the file to start a new log" in line for line in err)


def test_a_log_changed_by_hand_while_the_page_runs_is_read_again(data: Path) -> None:
    desk = Desk.open(data, "ana")
    desk.decide("q1", "skip", None, "")
    (data / DECISIONS_FILE).unlink()  # the researcher starts a new log
    with pytest.raises(Refused, match="nothing to undo"):
        desk.undo()
    (data / DECISIONS_FILE).write_text("not json\n", encoding="utf-8")
    with pytest.raises(InputError):
        desk.undo()
