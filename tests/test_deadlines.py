"""Requests with a deadline resolve to a default (deny unless configured), logged as timeout."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import config, send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

import hitl_nb


class S(TypedDict, total=False):
    outcome: str


def graph_with_deadline(deadline: dt.datetime):
    def node(state: S) -> S:
        decision = hitl_nb.ask(action="wire_transfer", args={"amount": 900},
                               deadline=deadline)
        return {"outcome": f"{decision.action} by {decision.reviewer}: {decision.message}"}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


def past() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


def future() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def test_overdue_request_is_denied_and_logged_as_timeout():
    session = hitl_nb.Session(graph_with_deadline(past()), config()).invoke({})
    [expired] = session.expire_overdue()
    assert expired.action == "wire_transfer"
    assert session.done
    assert session.result["outcome"].startswith("reject by policy: no decision before")
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.source, row.reviewer) == ("timeout", "policy", "policy")


def test_late_decision_is_refused_and_the_default_applied():
    session = hitl_nb.Session(graph_with_deadline(past()), config()).invoke({})
    with pytest.raises(hitl_nb.StaleDecision, match="expired at"):
        session.approve()
    assert session.result["outcome"].startswith("reject")
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]


def test_configured_default_approves():
    session = hitl_nb.Session(graph_with_deadline(past()), config(), on_timeout="approve")
    session.invoke({})
    session.expire_overdue()
    assert session.result["outcome"] == "approve by policy: None"


def test_request_before_its_deadline_is_untouched():
    session = hitl_nb.Session(graph_with_deadline(future()), config()).invoke({})
    assert session.expire_overdue() == []
    session.approve()
    assert session.result["outcome"].startswith("approve by tester")


def test_attach_after_the_deadline_applies_the_default():
    graph = graph_with_deadline(past())
    cfg = config()
    graph.invoke({}, cfg)
    session = hitl_nb.Session.attach(graph, cfg)
    assert session.done
    assert hitl_nb.log().to_pandas().decision.tolist() == ["timeout"]


def test_widget_tick_checks_deadlines_and_other_ticks_change_nothing():
    on_time = hitl_nb.Session(graph_with_deadline(future()), config()).invoke({}).widget()
    send(on_time, {"type": "tick"})
    assert on_time.status == "pending"
    late = hitl_nb.Session(graph_with_deadline(past()), config()).invoke({}).widget()
    assert late.requests[0]["deadline"]
    send(late, {"type": "tick"})
    assert late.status == "done"
    assert late.history[0]["request"]["action"] == "wire_transfer"
