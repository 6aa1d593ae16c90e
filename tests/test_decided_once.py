"""Each request is settled once, whoever looks at it: a new view of a run that raised
after a decision, two views of one paused run, a kernel restart between logging a
decision and sending it, two kernels clicking at once. The log is the shared truth."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from _restart_agent import build, ledger
from conftest import config
from graphs import by_item, fan_out_graph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb._session import RunFailed

HERE = Path(__file__).parent


class Charge(TypedDict, total=False):
    done: list[str]


def flaky_charge(outcome: dict[str, Any]) -> Any:
    """Asks to charge; raises after an approval while `outcome["fail"]` is set."""

    def charge(state: Charge) -> dict[str, Any]:
        decision = hitl_nb.ask(action="charge", args={"amount": 5})
        if decision.approved and outcome["fail"]:
            raise RuntimeError("payment gateway down")
        outcome.setdefault("runs", []).append(decision.action)
        return {"done": [decision.action]}

    builder = StateGraph(Charge)
    builder.add_node("charge", charge)
    builder.add_edge(START, "charge")
    return builder.compile(checkpointer=InMemorySaver())


def test_a_new_view_of_a_run_that_raised_after_a_decision_offers_retry_not_a_new_decision():
    outcome = {"fail": True}
    graph, cfg = flaky_charge(outcome), config()
    first = hitl_nb.Session(graph, cfg).invoke({})
    with pytest.raises(RuntimeError, match="gateway down"):
        first.approve()
    second = hitl_nb.Session(graph, cfg)  # a redisplay, the inbox, another kernel
    assert (second.status, second.pending) == ("error", [])
    assert isinstance(second.error, RunFailed)
    assert "step 'charge' raised" in str(second.error)
    with pytest.raises(hitl_nb.StaleDecision, match=r"raised .*session.retry\(\)"):
        second.reject("changed my mind")
    outcome["fail"] = False
    second.retry()  # resumes with the approval already given
    assert outcome["runs"] == ["approve"]
    assert second.result == {"done": ["approve"]}
    assert [r["decision"] for r in hitl_nb.log()] == ["approve"]


def test_a_step_that_raised_on_the_first_run_is_an_error_not_a_breakpoint():
    def broken(state: Charge) -> dict[str, Any]:
        raise ValueError("bad input")

    builder = StateGraph(Charge)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    graph, cfg = builder.compile(checkpointer=InMemorySaver()), config()
    with pytest.raises(ValueError, match="bad input"):
        graph.invoke({}, cfg)
    session = hitl_nb.Session(graph, cfg)
    assert (session.status, session.pending) == ("error", [])
    assert "step 'broken' raised" in str(session.error)


def test_two_views_share_what_was_decided_and_send_it_once():
    ran: list[str] = []
    graph, cfg = fan_out_graph(ran), config()
    a = hitl_nb.Session(graph, cfg).invoke({"items": ["x", "y"]})
    b = hitl_nb.Session(graph, cfg)
    ids = by_item(a)
    assert by_item(b) == ids
    a.approve(ids["x"])  # staged in view A: y is still open
    with pytest.raises(hitl_nb.StaleDecision, match=r"already decided elsewhere \(approve"):
        b.reject("no", ids["x"])
    assert b.staged == [ids["x"]]  # B now sends A's approval with the rest
    b.reject("not now", ids["y"])
    assert ran == ["x"]
    assert sorted(graph.get_state(cfg).values["done"]) == ["x: published as x", "y: rejected"]
    with pytest.raises(hitl_nb.StaleDecision, match="already sent"):
        a.submit()
    assert ran == ["x"]
    assert sorted((r["request_id"], r["decision"]) for r in hitl_nb.log()) == sorted(
        [(ids["x"], "approve"), (ids["y"], "reject")])


def test_a_decision_logged_but_not_sent_before_a_restart_is_sent_after_it():
    ran: list[str] = []
    graph, cfg = fan_out_graph(ran), config()
    before = hitl_nb.Session(graph, cfg).invoke({"items": ["x", "y"]})
    ids = by_item(before)
    before.edit({"item": "x2"}, ids["x"])  # logged, staged: the kernel stops here
    del before
    after = hitl_nb.Session(graph, cfg)  # the restarted kernel's view
    assert [r.request_id for r in after.pending] == [ids["y"]]
    assert after.staged == [ids["x"]]
    [shown] = after.widget().history  # the decided card, waiting to be submitted
    assert (shown["action"], shown["args"], shown["staged"]) == ("edit", {"item": "x2"}, True)
    after.approve(ids["y"])
    assert sorted(ran) == ["x2", "y"]
    assert [r["decision"] for r in hitl_nb.log()] == ["edit", "approve"]


class Killed(BaseException):
    """The kernel dying between logging a decision and resuming the graph."""


def test_every_decision_logged_but_none_sent_before_a_restart_waits_for_submit(monkeypatch):
    ran: list[str] = []
    graph, cfg = fan_out_graph(ran), config()
    before = hitl_nb.Session(graph, cfg).invoke({"items": ["x", "y"]})
    ids = by_item(before)
    before.approve(ids["x"])

    def die(self: hitl_nb.Session) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(hitl_nb.Session, "_submit", die)
        with pytest.raises(Killed):
            before.approve(ids["y"])  # logged; the resume never happened
    after = hitl_nb.Session(graph, cfg)
    assert (after.pending, sorted(after.staged)) == ([], sorted(ids.values()))
    listed = hitl_nb.inbox(graph).to_pandas()
    assert sorted(zip(listed.request_id, listed.state, listed.todo, strict=True)) == sorted(
        (rid, "staged", "approve logged, not sent: submit()") for rid in ids.values())
    with pytest.raises(hitl_nb.StaleDecision, match=r"2 decision\(s\) made earlier wait to "
                                                    r"be sent: call submit\(\)"):
        after.approve()
    assert ran == []
    after.submit()
    assert sorted(ran) == ["x", "y"]
    assert after.done
    with pytest.raises(hitl_nb.DecisionError, match="nothing to submit"):
        after.submit()
    assert sorted(ran) == ["x", "y"]
    assert len(hitl_nb.log()) == 2


def test_a_staged_decision_alone_can_be_submitted_after_a_restart():
    ran: list[str] = []
    graph, cfg = fan_out_graph(ran), config()
    before = hitl_nb.Session(graph, cfg).invoke({"items": ["x", "y"]})
    ids = by_item(before)
    before.approve(ids["x"])
    before.approve(ids["y"])  # both logged; the run resumed
    assert sorted(ran) == ["x", "y"]
    # rebuilt from nothing but the log: nothing pending, nothing to send again
    again = hitl_nb.Session(graph, cfg)
    assert (again.status, again.pending, again.staged) == ("done", [], [])


RACER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
import hitl_nb
from _restart_agent import build
db, ledger_path, audit, go, name = sys.argv[1:]
hitl_nb.use_log(audit)
graph = build(Path(db), Path(ledger_path))
session = hitl_nb.Session(graph, {{"configurable": {{"thread_id": "t-refund"}}}})
assert [r.action for r in session.pending] == ["issue_refund"], session.pending
print("ready", flush=True)  # the state is read: both will see the request pending
while not Path(go).exists():
    time.sleep(0.001)
try:
    session.approve(reviewer=hitl_nb.Reviewer(name, ("finance",)))
    print("approved")
except hitl_nb.DecisionError as exc:
    print("refused:", type(exc).__name__, exc)
"""


def test_two_kernels_approving_at_once_run_the_action_once(tmp_path: Path):
    db, ledger_path, audit = tmp_path / "runs.sqlite", tmp_path / "l.jsonl", tmp_path / "a.sqlite"
    graph = build(db, ledger_path)
    hitl_nb.use_log(audit)
    hitl_nb.Session(graph, {"configurable": {"thread_id": "t-refund"}}).invoke(
        {"messages": [("user", "refund order 1042")]})
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")])}
    racers = [subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RACER.format(here=str(HERE))), str(db),
         str(ledger_path), str(audit), str(go), name], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env) for name in ("fiona", "frank")]
    for racer in racers:  # both have read the state and wait at the line before approve()
        assert racer.stdout is not None
        assert racer.stdout.readline() == "ready\n"
    go.touch()
    outputs = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), [err for _, err in outputs]
    said = sorted(out.strip().split(":")[0] for out, _ in outputs)
    assert said == ["approved", "refused"], outputs
    refunds = [args for name, args in ledger(ledger_path) if name == "issue_refund"]
    assert len(refunds) == 1
    with hitl_nb.FeedbackLog(audit) as log:
        assert [r["decision"] for r in log if r["action_name"] == "issue_refund"] == [
            "approve"]
        assert log.verify().ok


def test_the_inbox_lists_a_run_that_raised_after_a_decision_with_retry():
    outcome = {"fail": True}
    graph, cfg = flaky_charge(outcome), config()
    with pytest.raises(RuntimeError, match="gateway down"):
        hitl_nb.Session(graph, cfg).invoke({}).approve()
    box = hitl_nb.inbox(graph)
    [session] = list(box)
    assert (session.thread_id, session.status) == (cfg["configurable"]["thread_id"], "error")
    assert session.widget().retry_token
    [row] = box.to_pandas().to_dict("records")
    assert (row["thread_id"], row["state"]) == (cfg["configurable"]["thread_id"], "error")
    assert "gateway down" in row["todo"]
    assert row["todo"].endswith("retry()")
    outcome["fail"] = False
    session.retry()
    assert outcome["runs"] == ["approve"]
    assert len(hitl_nb.inbox(graph)) == 0
