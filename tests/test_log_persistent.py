"""`FeedbackLog(path)`: durable in SQLite, same API and hashes as in memory, safe with
several writers, nothing acknowledged lost on kill -9, requests kept across restarts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import config
from langgraph.checkpoint.sqlite import SqliteSaver
from logrows import decision_rows, sql, stored

import hitl_nb
from hitl_nb._log import read_parquet
from hitl_nb.demo import SupportDesk, support_agent

REFUND = {"messages": [("user", "refund order 1042")]}
ROOT = Path(__file__).parents[1]


def strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("prev_hash", "entry_hash")}


@pytest.fixture
def run_python():
    """Start another kernel: a fresh interpreter with the package, running `code`.
    Whatever is still running when the test ends (e.g. after a failure) is killed."""
    started: list[subprocess.Popen] = []

    def run(code: str, *args: str, **popen) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                                cwd=ROOT, text=True, **popen)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the same log, kept on disk ----------------------------------------------------------------
def test_round_trip_across_reopen(tmp_path, graph, desk):
    path = tmp_path / "audit.sqlite"
    log = hitl_nb.FeedbackLog(path)
    session = hitl_nb.Session(graph, config(), log=log, reviewer="ada").invoke(REFUND)
    session.edit({"order": 1042, "amount": 50.0, "note": "partial"}, rating=4)
    session.reject("not yet", comment="wait for the refund")
    before = log.to_pandas()
    log.close()

    again = hitl_nb.FeedbackLog(path)
    assert len(again) == 2
    assert again.verify().ok
    pd.testing.assert_frame_equal(again.to_pandas(), before)
    [edit] = again.rows_for(before.request_id[0])
    assert (edit["decision"], edit["final_args"]["amount"], edit["reviewer"]) == ("edit", 50.0,
                                                                                "ada")
    assert again.rows_for("no such request") == []


def test_same_rows_same_hashes_as_in_memory(tmp_path):
    rows = decision_rows(9)
    memory, disk = hitl_nb.FeedbackLog(), hitl_nb.FeedbackLog(tmp_path / "a.sqlite")
    for row in rows:
        memory.append(row)
    disk.extend(rows)
    assert [r["entry_hash"] for r in disk] == [r["entry_hash"] for r in memory]
    assert disk.last_hash == memory.last_hash == list(memory)[-1]["entry_hash"]
    assert disk.rows_for("req-2") == memory.rows_for("req-2")
    assert len(disk.rows_for("req-2")) == 2
    pd.testing.assert_frame_equal(disk.to_pandas(), memory.to_pandas())
    assert disk.verify() == memory.verify()


def test_iteration_pages_through_long_logs_in_order(tmp_path):
    rows = decision_rows(2 * 2048 + 5)
    log = hitl_nb.FeedbackLog(tmp_path / "a.sqlite")
    log.extend(rows)
    assert [r["decision_id"] for r in log] == [r["decision_id"] for r in rows]
    assert len(log) == len(rows)


def test_every_stored_body_is_the_hashed_canonical_json(tmp_path):
    import hashlib

    path = tmp_path / "a.sqlite"
    with hitl_nb.FeedbackLog(path) as log:
        log.extend(decision_rows(4))
    prev = b"0" * 64
    for body, digest in zip(stored(path), stored(path, "entry_hash"), strict=True):
        assert hashlib.sha256(prev + body).hexdigest().encode() == digest
        assert json.loads(body)["prev_hash"] == prev.decode()
        prev = digest


def test_parquet_export_of_a_persistent_log_round_trips(tmp_path, graph):
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    session = hitl_nb.Session(graph, config(), log=log).invoke(REFUND)
    session.edit({"order": 1042, "amount": 50.0, "note": "partial"})
    session.approve(rating=5)
    log.extend(decision_rows(3))
    log.to_parquet(tmp_path / "audit.parquet")
    back = read_parquet(tmp_path / "audit.parquet")
    pd.testing.assert_frame_equal(back, log.to_pandas())
    assert back.patch[0] == [{"op": "replace", "path": "/amount", "value": 50.0},
                             {"op": "replace", "path": "/note", "value": "partial"}]


def test_use_log_makes_a_persistent_log_the_kernel_default(tmp_path, graph):
    log = hitl_nb.use_log(tmp_path / "audit.sqlite")
    assert hitl_nb.log() is log
    assert log.path == str(tmp_path / "audit.sqlite")
    hitl_nb.Session(graph, config()).invoke(REFUND).approve()
    log.close()
    with hitl_nb.FeedbackLog(tmp_path / "audit.sqlite") as reopened:
        assert reopened.to_pandas().decision.tolist() == ["approve"]
    memory = hitl_nb.FeedbackLog()
    assert hitl_nb.use_log(memory) is memory is hitl_nb.log()


def test_batch_is_one_transaction(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = hitl_nb.FeedbackLog(path)
    log.extend(decision_rows(2))
    outside = sqlite3.connect(path)
    with log.batch():
        for row in decision_rows(5, prefix="batch"):
            log.append(row)
        with log.batch():  # nested: still the same transaction
            log.append(decision_rows(1, prefix="inner")[0])
        assert outside.execute("SELECT count(*) FROM entries").fetchone() == (2,)
    assert outside.execute("SELECT count(*) FROM entries").fetchone() == (8,)
    assert log.verify().entries == 8


def test_batch_keeps_what_was_appended_when_the_block_fails(tmp_path):
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")

    def simulation_that_crashes() -> None:
        with log.batch():
            log.extend(decision_rows(3))
            raise RuntimeError("simulation crashed")

    with pytest.raises(RuntimeError, match="simulation crashed"):
        simulation_that_crashes()
    log.close()
    with hitl_nb.FeedbackLog(tmp_path / "audit.sqlite") as again:
        assert (len(again), again.verify().ok) == (3, True)


def test_simulation_inside_one_batch(tmp_path):
    from hitl_nb.demo.simulate import run_episodes

    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    with log.batch():
        episodes = run_episodes(4, learning=True, log=log)
    assert len(log) == episodes.decisions.sum()
    assert log.verify().ok
    assert set(log.to_pandas().source) == {"simulated"}


@pytest.mark.parametrize("bad", ["", ":memory:"])
def test_a_log_needs_a_file(bad):
    with pytest.raises(ValueError, match=r"use FeedbackLog\(\) for a log kept in memory"):
        hitl_nb.FeedbackLog(bad)


def test_refuses_files_that_are_not_a_hitl_nb_log(tmp_path):
    other = tmp_path / "other.sqlite"
    sql(other, "CREATE TABLE t (x)")
    with pytest.raises(ValueError, match="SQLite database of something else"):
        hitl_nb.FeedbackLog(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just text " * 200)
    with pytest.raises(ValueError, match=r"cannot open .*notes.txt.* as a hitl_nb feedback log"):
        hitl_nb.FeedbackLog(text)
    newer = tmp_path / "newer.sqlite"
    hitl_nb.FeedbackLog(newer).close()
    sql(newer, "PRAGMA user_version = 99")
    with pytest.raises(ValueError, match="newer hitl_nb"):
        hitl_nb.FeedbackLog(newer)


def test_durability_settings_are_applied(tmp_path):
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    db = log._store._db  # type: ignore[union-attr]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    fast = hitl_nb.FeedbackLog(tmp_path / "fast.sqlite", synchronous="NORMAL")
    assert fast._store._db.execute("PRAGMA synchronous").fetchone() == (1,)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="'FULL' or 'NORMAL'"):
        hitl_nb.FeedbackLog(tmp_path / "x.sqlite", synchronous="OFF")  # type: ignore[arg-type]


# -- requests: stored when first shown, read back after a restart -----------------------------
def test_record_request_is_idempotent_and_keeps_the_first_time(tmp_path):
    first = decision_rows(1)[0]
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    request = hitl_nb.ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask",
                                    action="issue_refund", args={"amount": 80.0},
                                    required_roles=("finance",), thread_id="t1")
    assert log.record_request(request) is request
    later = hitl_nb.ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask",
                                  action="issue_refund", args={"amount": 80.0},
                                  required_roles=("finance",), thread_id="t1")
    assert later.requested_at > request.requested_at
    again = log.record_request(later)
    assert again.requested_at == request.requested_at
    assert log.requests() == [request]
    assert log.requests(thread_id="t1") == [request]
    assert log.requests(thread_id="other") == []
    log.append({**first, "request_id": "r1"})
    assert log.requests(undecided=True) == []


def test_in_memory_log_keeps_requests_the_same_way():
    log = hitl_nb.FeedbackLog()
    request = hitl_nb.ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask", action="x",
                                    raw={"big": "payload"})
    later = hitl_nb.ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask", action="x")
    assert log.record_request(request) is request
    assert log.record_request(later).requested_at == request.requested_at
    assert log.requests(undecided=True) == [request]
    assert log.requests()[0].raw is None


def test_a_session_stores_each_request_when_it_first_shows_it(graph):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    [refund] = session.pending
    assert hitl_nb.log().requests() == [refund]
    second_view = hitl_nb.Session.attach(graph, session.config)  # e.g. another widget
    assert second_view.pending[0].requested_at == refund.requested_at
    session.approve()
    [draft] = session.pending
    assert hitl_nb.log().requests() == [refund, draft]
    assert hitl_nb.log().requests(undecided=True) == [draft]


def test_requests_survive_a_kernel_restart_with_their_original_time(tmp_path, run_python):
    checkpoints, audit = tmp_path / "checkpoints.sqlite", tmp_path / "audit.sqlite"
    first_kernel = run_python("""
        import sqlite3, sys
        from langgraph.checkpoint.sqlite import SqliteSaver
        import hitl_nb
        from hitl_nb.demo import support_agent
        saver = SqliteSaver(sqlite3.connect(sys.argv[1], check_same_thread=False))
        hitl_nb.use_log(sys.argv[2])
        session = hitl_nb.Session(support_agent(checkpointer=saver),
                                  {"configurable": {"thread_id": "refund-1042"}})
        session.invoke({"messages": [("user", "refund order 1042")]})
        [request] = session.pending
        print(request.request_id, request.requested_at.isoformat())
    """, str(checkpoints), str(audit), stdout=subprocess.PIPE)
    out, _ = first_kernel.communicate(timeout=120)
    assert first_kernel.returncode == 0
    request_id, shown_at = out.split()
    time.sleep(0.5)

    log = hitl_nb.FeedbackLog(audit)  # the restarted kernel
    [open_request] = log.requests(undecided=True)
    assert (open_request.request_id, open_request.requested_at.isoformat()) == (request_id,
                                                                                shown_at)
    assert (open_request.action, open_request.args["order"]) == ("issue_refund", 1042)
    saver = SqliteSaver(sqlite3.connect(checkpoints, check_same_thread=False))
    desk = SupportDesk()
    session = hitl_nb.Session.attach(support_agent(desk, checkpointer=saver),
                                     config("refund-1042"), log=log)
    [pending] = session.pending
    assert pending.request_id == request_id
    assert pending.requested_at.isoformat() == shown_at
    session.approve()
    assert desk.count("issue_refund") == 1
    row = log.rows_for(request_id)[-1]
    assert row["requested_at"] == shown_at
    assert row["latency_s"] >= 0.5
    assert [r.request_id for r in log.requests(undecided=True)] == [
        r.request_id for r in session.pending]


# -- several writers, kill -9 ------------------------------------------------------------------
WRITER = """
    import sys, time
    import hitl_nb
    from hitl_nb._schema import Decision, ReviewRequest
    path, me, other, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    log = hitl_nb.FeedbackLog(path)
    request = ReviewRequest(request_id=me, interrupt_id=me, kind="ask", action="step")
    print("ready", flush=True)
    sys.stdin.readline()                       # start together
    mine, seen, give_up = 0, False, time.monotonic() + 60
    while True:
        seen = seen or bool(log.rows_for(other))
        log.record(request, Decision(action="approve", reviewer=me, args={"n": mine}))
        mine += 1
        # keep going until the other writer's rows came before one of ours: interleaved
        if mine >= n and seen:
            break
        if time.monotonic() > give_up:
            sys.exit(f"{me}: no row from {other} within 60 s")
    print(mine, flush=True)
"""


def test_two_processes_appending_keep_one_valid_chain(tmp_path, run_python):
    path = tmp_path / "audit.sqlite"
    hitl_nb.FeedbackLog(path).close()
    writers = [run_python(WRITER, str(path), me, other, "40", stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
               for me, other in (("A", "B"), ("B", "A"))]
    for w in writers:
        assert w.stdout is not None
        assert w.stdout.readline() == "ready\n"
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    counts = [int(w.communicate(timeout=120)[0]) for w in writers]
    assert [w.returncode for w in writers] == [0, 0]

    log = hitl_nb.FeedbackLog(path)
    result = log.verify()
    assert result.ok, str(result)
    assert result.entries == sum(counts) == len(log)
    df = log.to_pandas()
    for name, count in zip("AB", counts, strict=True):
        mine = df[df.reviewer == name]
        assert [args["n"] for args in mine.final_args] == list(range(count))
    switches = int((df.reviewer != df.reviewer.shift()).sum()) - 1
    assert switches >= 2


STREAM = """
    import sys, uuid
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict
    import hitl_nb

    class S(TypedDict, total=False):
        step: int

    def work(state: S) -> S:
        decision = hitl_nb.ask(action="step", args={"n": state["step"]})
        return {"step": state["step"] + 1}

    builder = StateGraph(S)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", "work")
    graph = builder.compile(checkpointer=InMemorySaver())
    session = hitl_nb.Session(graph, {"configurable": {"thread_id": uuid.uuid4().hex},
                                      "recursion_limit": 10**9},
                              log=hitl_nb.FeedbackLog(sys.argv[1]))
    session.invoke({"step": 0})
    while True:
        decision = session.approve()
        print(decision.request_id, flush=True)  # acknowledged: record() has returned
"""


def test_kill_9_loses_no_acknowledged_decision(tmp_path, run_python):
    path = tmp_path / "audit.sqlite"
    acknowledged: list[str] = []
    for after in (25, 60):  # the second kernel appends to the file the first one died on
        stream = run_python(STREAM, str(path), stdout=subprocess.PIPE)
        assert stream.stdout is not None
        for _ in range(after):
            acknowledged.append(stream.stdout.readline().strip())
        os.kill(stream.pid, signal.SIGKILL)
        rest, _ = stream.communicate(timeout=60)
        assert stream.returncode == -signal.SIGKILL
        acknowledged += rest.split()  # printed before the kill landed

    log = hitl_nb.FeedbackLog(path)
    result = log.verify()
    assert result.ok, str(result)
    assert all(acknowledged)
    for request_id in acknowledged:
        assert [r["decision"] for r in log.rows_for(request_id)] == ["approve"]
    # at most one more per kernel: logged, killed before it was acknowledged
    assert len(acknowledged) <= len(log) <= len(acknowledged) + 2
    assert len(log.requests()) >= len(log)
