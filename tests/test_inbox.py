"""Restart recovery: pending reviews are found from the checkpointer and resume correctly,
including when the paused run came from another process (a kernel that was restarted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ipywidgets
import pandas as pd
import pytest
from _restart_agent import REQUESTS, build, ledger
from conftest import config
from graphs import plain_graph
from logrows import sql

import hitl_nb
from hitl_nb import Reviewer
from hitl_nb._inbox import thread_ids
from hitl_nb.demo import SupportDesk, gated_support_agent

HERE = Path(__file__).parent
FINANCE = Reviewer("fiona", ("finance",))


def run_to_the_pause_in_another_process(db: Path, ledger_path: Path, *extra: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(HERE / "_restart_agent.py"), str(db),
                           str(ledger_path), *map(str, extra)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_restart_recovery_from_another_process(tmp_path: Path):
    db, ledger_path = tmp_path / "runs.sqlite", tmp_path / "ledger.jsonl"
    paused = run_to_the_pause_in_another_process(db, ledger_path)
    # the other process ran lookups and the small refund, and paused on the rest
    assert {t: [r["action"] for r in p] for t, p in paused.items()} == {
        "t-small": [], "t-refund": ["issue_refund"], "t-two": ["issue_refund"],
        "t-delete": ["delete_account"]}
    before = ledger(ledger_path)
    assert [name for name, _ in before].count("issue_refund") == 1  # t-small's 25.0

    graph = build(db, ledger_path)  # a fresh graph object: the restarted kernel
    box = hitl_nb.inbox(graph)
    assert sorted(s.thread_id for s in box) == ["t-delete", "t-refund", "t-two"]
    assert box.pending == 3
    df = box.to_pandas()
    assert sorted(df.request_id) == sorted(r["request_id"] for p in paused.values() for r in p)
    two = df.set_index("thread_id").loc["t-two"]
    assert (two.action, two.required_roles, two.approvals) == (
        "issue_refund", "finance", "0 of 2 approvals")
    assert "amount 420.0 > 50 (threshold:refund_amount)" in two.gate_reason
    # the original pause time, not the time the inbox was opened
    assert two.requested_at == pd.Timestamp(paused["t-two"][0]["requested_at"])
    assert (df.waiting_s >= 0).all()

    box["t-refund"].approve(reviewer=FINANCE)
    box["t-delete"].reject("accounts are closed by the customer",
                           reviewer=Reviewer("sam", ("security",)))
    after = ledger(ledger_path)[len(before):]
    refunds = [args for name, args in after if name == "issue_refund"]
    assert refunds == [{"order": 1042, "amount": 80.0, "note": "customer request"}]
    assert [name for name, _ in after].count("delete_account") == 0
    assert box["t-refund"].status == "done"
    log = hitl_nb.log().to_pandas()
    [row] = log[(log.thread_id == "t-refund") & (log.decision == "approve")].itertuples()
    requested = pd.Timestamp(paused["t-refund"][0]["requested_at"])
    assert row.requested_at == requested
    assert row.latency_s == pytest.approx((row.decided_at - requested).total_seconds())

    # decided threads are gone from a new inbox; the two-person refund still waits
    assert [s.thread_id for s in hitl_nb.inbox(build(db, ledger_path))] == ["t-two"]


def test_a_first_approval_survives_the_restart_with_a_persistent_log(tmp_path: Path):
    db, ledger_path, audit = (tmp_path / "runs.sqlite", tmp_path / "ledger.jsonl",
                              tmp_path / "audit.sqlite")
    paused = run_to_the_pause_in_another_process(db, ledger_path, audit)
    [two] = paused["t-two"]  # alice approved once over there; it is still pending
    assert [name for name, _ in ledger(ledger_path)].count("issue_refund") == 1  # t-small

    log = hitl_nb.FeedbackLog(audit)  # the restarted kernel opens the same files
    box = hitl_nb.inbox(build(db, ledger_path), log=log, threads=["t-two"])
    session = box["t-two"]
    assert str(session.approvals()) == "1 of 2 approvals (alice)"
    assert session.widget().requests[0]["approvals"]["by"] == ["alice"]
    with pytest.raises(hitl_nb.NotAuthorized, match="alice already approved"):
        session.approve(reviewer=Reviewer("alice", ("finance",)))
    session.approve(reviewer=Reviewer("bob", ("finance",)))
    refunds = [args for name, args in ledger(ledger_path) if name == "issue_refund"]
    assert refunds[1:] == [{"order": 2001, "amount": 420.0, "note": "customer request"}]
    rows = log.to_pandas()
    approvals = rows[(rows.request_id == two["request_id"]) & (rows.decision == "approve")]
    assert approvals.reviewer.tolist() == ["alice", "bob"]
    assert approvals.args_hash.nunique() == 1
    # both rows count latency from the pause in the first process
    requested = pd.Timestamp(two["requested_at"])
    assert (approvals.requested_at == requested).all()
    assert approvals.latency_s.tolist() == pytest.approx(
        [(t - requested).total_seconds() for t in approvals.decided_at])
    assert log.verify().ok


def test_inbox_in_this_kernel_with_widgets(desk: SupportDesk):
    graph = gated_support_agent(desk)
    threads = {"a": "refund order 1042", "b": "where is order 1043", "c": "delete account 8"}
    for thread, text in threads.items():
        hitl_nb.Session(graph, config(thread)).invoke({"messages": [("user", text)]})
    box = hitl_nb.inbox(graph)
    assert [s.thread_id for s in box] == ["a", "c"]  # oldest request first; b finished
    assert repr(box) == "<hitl_nb.Inbox 2 pending in 2 threads: a, c>"
    view = box.widget()
    assert view.children[0].value == "2 pending reviews in 2 threads"
    assert [w.thread_id for w in view.children[1:]] == ["a", "c"]
    assert [w.requests[0]["action"] for w in view.children[1:]] == ["issue_refund",
                                                                   "delete_account"]
    box["c"].approve(reviewer=Reviewer("sam", ("security",)))
    assert desk.count("delete_account") == 1
    with pytest.raises(KeyError, match="pending threads"):
        box["b"]


def test_inbox_of_a_middleware_agent_enforces_the_policy_of_interrupt_on(desk: SupportDesk):
    """inbox(agent) gets no policy=: the one the agent was built with still decides who
    may approve, and an edit may not raise the refund past its two-person rule."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langgraph.checkpoint.memory import InMemorySaver

    from hitl_nb import Policy, Threshold, TwoPersonRule
    from hitl_nb.demo import ScriptedSupportModel, support_tools

    tools = support_tools(desk)
    policy = Policy([
        Threshold("amount", ">", 50, actions=["issue_refund"], roles=["finance"]),
        TwoPersonRule(actions=["issue_refund"], when=lambda _, args: args["amount"] > 300)])
    agent = create_agent(ScriptedSupportModel(), tools, checkpointer=InMemorySaver(),
                         middleware=[HumanInTheLoopMiddleware(
                             interrupt_on=policy.interrupt_on(tools))])
    agent.invoke({"messages": [("user", "refund order 1042")]}, config("t-80"))
    box = hitl_nb.inbox(agent)
    summary = box.to_pandas().set_index("thread_id").loc["t-80"]
    assert (summary.action, summary.required_roles) == ("issue_refund", "finance")
    assert "amount 80.0 > 50" in summary.gate_reason
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance"):
        box["t-80"].approve(reviewer=Reviewer("ivan", ("support",)))
    with pytest.raises(hitl_nb.NotAuthorized, match="need 2 approvers"):
        box["t-80"].edit({"order": 1042, "amount": 400.0, "note": "x"}, reviewer=FINANCE)
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 0
    box["t-80"].approve(reviewer=FINANCE)
    assert desk.count("issue_refund") == 1


def test_empty_inbox_and_graph_without_checkpointer():
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("n", lambda s: s)
    builder.add_edge(START, "n")
    with pytest.raises(ValueError, match="no checkpointer"):
        hitl_nb.inbox(builder.compile())
    box = hitl_nb.inbox(gated_support_agent(SupportDesk()))
    assert len(box) == 0
    assert box.widget().children[0].value == "No pending reviews"
    assert box.to_pandas().empty


def test_thread_discovery_matches_listing_every_checkpoint(tmp_path: Path):
    graph = build(tmp_path / "runs.sqlite", tmp_path / "ledger.jsonl")
    for thread, text in REQUESTS.items():
        hitl_nb.Session(graph, config(thread)).invoke({"messages": [("user", text)]})
    listed = {c.config["configurable"]["thread_id"] for c in graph.checkpointer.list(None)}
    assert sorted(listed) == sorted(REQUESTS)
    assert sorted(thread_ids(graph.checkpointer)) == sorted(listed)


def test_an_unreadable_stored_request_leaves_the_other_threads_listed(tmp_path: Path):
    path = tmp_path / "audit.sqlite"
    graph = plain_graph("Proceed with the migration?")
    log = hitl_nb.FeedbackLog(path)
    for thread in ("t-a", "t-b", "t-c"):
        hitl_nb.Session(graph, config(thread), log=log).invoke({})
    [bad] = [r.request_id for r in log.requests(thread_id="t-b")]
    sql(path, "UPDATE requests SET requested_at = 'garbage' WHERE request_id = ?", bad)

    box = hitl_nb.inbox(graph, log=log)
    assert sorted(s.thread_id for s in box) == ["t-a", "t-c"]
    assert box.pending == 2
    [problem] = box.problems
    assert problem.startswith(f"thread 't-b' cannot be opened: stored request {bad!r} ")
    assert "unreadable requested_at" in problem
    assert "DELETE FROM requests WHERE request_id" in problem  # the fix
    assert problem in [w.value for w in box.widget().children
                       if isinstance(w, ipywidgets.Label)]
    assert repr(box).endswith("t-a, t-c; 1 thread unreadable (.problems)>")

    sql(path, "DELETE FROM requests WHERE request_id = ?", bad)  # as the message says
    again = hitl_nb.inbox(graph, log=log)
    assert (sorted(s.thread_id for s in again), again.problems) == (["t-a", "t-b", "t-c"], [])
