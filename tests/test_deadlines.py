"""Requests with a deadline resolve to a default (deny unless configured), logged as timeout."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from conftest import config, send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import Reviewer, _session


class S(TypedDict, total=False):
    outcome: str


def graph_with_deadline(deadline: dt.datetime, **ask: Any):
    def node(state: S) -> S:
        decision = hitl_nb.ask(action="wire_transfer", args={"amount": 900},
                               deadline=deadline, **ask)
        return {"outcome": f"{decision.action} by {decision.reviewer}: {decision.message}"}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


def past() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


def future() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def timeout_message(deadline: dt.datetime, default: str) -> str:
    return f"no decision before the deadline {deadline:%Y-%m-%d %H:%M:%S %Z}; default: {default}"


class Clock:
    """The sessions' clock, moved by hand: a deadline passes without sleeping."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_session, "utcnow", fake)
    return fake


def test_overdue_request_is_denied_and_logged_as_timeout():
    deadline = past()
    session = hitl_nb.Session(graph_with_deadline(deadline), config()).invoke({})
    # the run paused on a request already past its deadline: no moment to decide it
    assert session.done
    assert session.pending == []
    assert session.expire_overdue() == []
    assert session.result["outcome"] == f"reject by policy: {timeout_message(deadline, 'reject')}"
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.source, row.reviewer) == ("timeout", "policy", "policy")
    assert row.message == timeout_message(deadline, "reject")


def test_reading_pending_after_the_deadline_applies_the_default(clock):
    graph, cfg = graph_with_deadline(future()), config()
    session = hitl_nb.Session(graph, cfg).invoke({})
    assert [r.action for r in session.pending] == ["wire_transfer"]
    clock.advance(hours=2)
    assert session.refresh().pending == []
    assert session.result["outcome"].startswith("reject by policy: no decision before")
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]
    # another session on the same thread finds nothing left to decide
    assert hitl_nb.Session(graph, cfg).refresh().pending == []
    assert len(hitl_nb.log()) == 1


def async_graph_with_deadline(deadline: dt.datetime):
    async def node(state: S) -> S:
        decision = hitl_nb.ask(action="wire_transfer", args={"amount": 900},
                               deadline=deadline)
        await asyncio.sleep(0)
        return {"outcome": f"{decision.action} by {decision.reviewer}"}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


def test_an_async_run_paused_past_its_deadline_gets_the_default():
    """The default resumes the run with ainvoke, after the run that paused returned
    (hitl_nb's loop cannot resume a run from inside another)."""
    session = hitl_nb.Session(async_graph_with_deadline(past()), config())
    asyncio.run(session.ainvoke({}))
    assert (session.status, session.pending) == ("done", [])
    assert session.result["outcome"] == "reject by policy"
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]


def test_late_decision_is_refused_and_the_default_applied(clock):
    session = hitl_nb.Session(graph_with_deadline(future()), config()).invoke({})
    clock.advance(hours=2)  # the deadline passes while the card is open
    with pytest.raises(hitl_nb.StaleDecision, match=r"expired at .*timeout default was applied"):
        session.approve()
    assert session.result["outcome"].startswith("reject")
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]


def test_configured_default_approves_and_says_so():
    deadline = past()
    session = hitl_nb.Session(graph_with_deadline(deadline), config(), on_timeout="approve")
    session.invoke({})
    assert session.result["outcome"] == f"approve by policy: {timeout_message(deadline, 'approve')}"
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.message) == ("timeout", timeout_message(deadline, "approve"))


@pytest.mark.parametrize(("ask", "needs"), [
    ({"required_roles": ["dba"]}, "role dba"),
    ({"approvals_needed": 2}, "2 different approvers"),
    ({"required_roles": ["dba", "ops"], "approvals_needed": 3},
     "role dba + ops and 3 different approvers"),
])
def test_a_timeout_never_approves_what_a_person_must(ask, needs):
    deadline = past()
    session = hitl_nb.Session(graph_with_deadline(deadline, **ask), config(),
                              on_timeout="approve").invoke({})
    expected = (timeout_message(deadline, "reject") + f" (on_timeout=approve does not apply: "
                f"it needs {needs}, and a timeout approves nothing a person must)")
    assert session.result["outcome"] == f"reject by policy: {expected}"
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.message) == ("timeout", expected)


def test_a_first_approval_does_not_let_the_timeout_approve(clock):
    session = hitl_nb.Session(graph_with_deadline(future(), approvals_needed=2), config(),
                              on_timeout="approve").invoke({})
    session.approve(reviewer=Reviewer("alice"))
    assert str(session.approvals()) == "1 of 2 approvals (alice)"
    clock.advance(hours=2)
    session.refresh()
    assert session.result["outcome"].startswith("reject by policy: no decision before")
    assert hitl_nb.log().to_pandas().decision.tolist() == ["approve", "timeout"]


def test_a_default_the_request_does_not_allow_falls_back_to_reject():
    deadline = past()
    session = hitl_nb.Session(graph_with_deadline(deadline, allowed=["edit", "reject"]),
                              config(), on_timeout="approve").invoke({})
    expected = timeout_message(deadline, "reject") + " (approve is not allowed for this request)"
    assert session.result["outcome"] == f"reject by policy: {expected}"


@pytest.mark.parametrize("bad", ["banana", "edit", "respond", "Approve", None])
def test_on_timeout_takes_approve_or_reject(bad):
    graph = graph_with_deadline(future())
    with pytest.raises(ValueError, match=r"on_timeout must be one of \['approve', 'reject'\]"):
        hitl_nb.Session(graph, config(), on_timeout=bad)
    with pytest.raises(ValueError, match="on_timeout must be one of"):
        hitl_nb.inbox(graph, on_timeout=bad)


def test_a_deadline_without_a_time_zone_fails_in_the_node_that_asked():
    naive = dt.datetime.now() + dt.timedelta(hours=1)  # no tzinfo: the mistake under test
    with pytest.raises(hitl_nb.PayloadError, match=r"deadline= needs a time zone, e\.g\. "):
        hitl_nb.Session(graph_with_deadline(naive), config()).invoke({})
    assert len(hitl_nb.log()) == 0


def test_request_before_its_deadline_is_untouched():
    session = hitl_nb.Session(graph_with_deadline(future()), config()).invoke({})
    assert session.expire_overdue() == []
    assert len(session.refresh().pending) == 1
    session.approve()
    assert session.result["outcome"].startswith("approve by tester")


def test_attach_after_the_deadline_applies_the_default():
    graph = graph_with_deadline(past())
    cfg = config()
    graph.invoke({}, cfg)
    session = hitl_nb.Session.attach(graph, cfg)
    assert session.done
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]


def test_widget_tick_checks_deadlines_and_other_ticks_change_nothing(clock):
    on_time = hitl_nb.Session(graph_with_deadline(future() + dt.timedelta(hours=5)),
                              config()).invoke({}).widget()
    late = hitl_nb.Session(graph_with_deadline(future()), config()).invoke({}).widget()
    assert late.requests[0]["deadline"]
    clock.advance(hours=2)  # past `late`'s deadline only
    send(on_time, {"type": "tick"})
    assert on_time.status == "pending"
    send(late, {"type": "tick"})
    assert late.status == "done"
    assert late.history[0]["request"]["action"] == "wire_transfer"
