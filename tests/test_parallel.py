"""Several interrupts pending at once (Send fan-out): one decision each, one Command resumes."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from conftest import config, send
from graphs import by_item, fan_out_graph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

import hitl_nb

WIDGET_ITEMS = ["alpha", "beta", "gamma"]


@pytest.fixture
def executed() -> list[str]:
    return []


@pytest.fixture
def session(executed) -> hitl_nb.Session:
    return hitl_nb.Session(fan_out_graph(executed), config()).invoke({"items": WIDGET_ITEMS})


def test_all_branches_are_pending_at_once(session):
    assert sorted(by_item(session)) == WIDGET_ITEMS
    assert len({r.interrupt_id for r in session.pending}) == 3


def test_decisions_wait_until_all_are_decided_then_one_resume(session, executed):
    ids = by_item(session)
    session.approve(ids["alpha"])
    session.edit({"item": "BETA"}, ids["beta"])
    assert executed == []
    assert session.staged == [ids["alpha"], ids["beta"]]
    assert list(by_item(session)) == ["gamma"]
    session.reject("not today", ids["gamma"])
    assert sorted(executed) == ["BETA", "alpha"]
    assert session.done
    assert sorted(session.result["done"]) == ["alpha: published as alpha",
                                              "beta: published as BETA", "gamma: rejected"]
    assert len(hitl_nb.log()) == 3


def test_submit_resumes_decided_branches_and_keeps_the_rest_pending(session, executed):
    ids = by_item(session)
    session.approve(ids["beta"])
    session.submit()
    assert executed == ["beta"]
    assert sorted(by_item(session)) == ["alpha", "gamma"]
    assert session.status == "pending"
    session.approve(by_item(session)["alpha"])
    session.approve(by_item(session)["gamma"])
    assert sorted(executed) == ["alpha", "beta", "gamma"]
    assert session.done


def test_submit_with_nothing_decided_is_refused(session):
    with pytest.raises(hitl_nb.DecisionError, match="nothing to submit"):
        session.submit()


def test_approve_without_request_id_is_ambiguous(session):
    with pytest.raises(hitl_nb.DecisionError, match="3 requests are pending"):
        session.approve()


def test_widget_lists_all_and_submits_with_its_token(session, executed):
    widget = session.widget()
    assert len(widget.requests) == 3
    first = widget.requests[0]
    send(widget, {"type": "decision", "request_id": first["request_id"],
                  "nonce": first["nonce"], "action": "approve"})
    assert len(widget.requests) == 2
    assert widget.history[0]["staged"] is True
    assert widget.submit_token
    send(widget, {"type": "submit", "token": "forged"})
    assert "stale or forged submit" in widget.refusals[-1]
    assert executed == []
    send(widget, {"type": "submit", "token": widget.submit_token})
    assert executed == [first["args"]["item"]]
    assert widget.history[0]["staged"] is False
    assert len(widget.requests) == 2


# -- static parallel branches -----------------------------------------------------------
class TwoState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def two_branch_graph() -> Any:
    def branch(name: str) -> Any:
        def node(state: TwoState) -> dict[str, Any]:
            decision = hitl_nb.ask(action=f"{name}_step", args={"who": name})
            return {"log": [f"{name}:{decision.action}"]}
        return node

    builder = StateGraph(TwoState)
    builder.add_node("left", branch("left"))
    builder.add_node("right", branch("right"))
    builder.add_edge(START, "left")
    builder.add_edge(START, "right")
    builder.add_edge("left", END)
    builder.add_edge("right", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_parallel_branches_partial_submit_keeps_the_other_branch_pending():
    session = hitl_nb.Session(two_branch_graph(), config()).invoke({})
    by_action = {r.action: r.request_id for r in session.pending}
    assert set(by_action) == {"left_step", "right_step"}
    widget = session.widget()
    right = next(r for r in widget.requests if r["action"] == "right_step")
    send(widget, {"type": "decision", "request_id": right["request_id"],
                  "nonce": right["nonce"], "action": "reject"})
    send(widget, {"type": "submit", "token": widget.submit_token})
    assert [r["action"] for r in widget.requests] == ["left_step"]  # still shown
    assert widget.status == "pending"
    session.approve(by_action["left_step"])
    assert sorted(session.result["log"]) == ["left:approve", "right:reject"]


def test_decide_many_on_a_fan_out_reads_the_graph_once(executed, monkeypatch):
    session = hitl_nb.Session(fan_out_graph(executed), config()).invoke(
        {"items": ["a", "b", "c", "d"]})
    reads: list[int] = []
    real = session.graph.get_state
    monkeypatch.setattr(session.graph, "get_state",
                        lambda *a, **k: reads.append(1) or real(*a, **k))
    chosen = [r.request_id for r in session.pending if r.args["item"] in ("a", "c")]
    decisions = session.decide_many(chosen, "approve")
    assert [d.request_id for d in decisions] == chosen
    assert len(reads) == 2  # the check before, the refresh after the one resume
    assert sorted(executed) == ["a", "c"]
    assert sorted(by_item(session)) == ["b", "d"]
    with pytest.raises(hitl_nb.StaleDecision, match="not pending"):
        session.decide_many(chosen, "approve")
    assert len(hitl_nb.log()) == 2


def test_decide_many_validates_all_before_logging_any(executed):
    session = hitl_nb.Session(fan_out_graph(executed), config()).invoke({"items": ["a", "b"]})
    ids = [r.request_id for r in session.pending]
    with pytest.raises(hitl_nb.DecisionError, match="respond needs a non-empty message"):
        session.decide_many(ids, "respond")
    assert len(hitl_nb.log()) == 0
    assert len(session.pending) == 2


# -- LangChain middleware with several tool calls ------------------------------------------
def three_call_agent(mode: str) -> Any:
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.messages import AIMessage
    from test_payloads import ToolCallingFake, delete_file, send_email
    from test_payloads import executed as tool_log

    tool_log.clear()
    calls = AIMessage(content="", tool_calls=[
        {"name": "send_email", "args": {"to": "a@b.c", "subject": "one"}, "id": "c1"},
        {"name": "send_email", "args": {"to": "d@e.f", "subject": "two"}, "id": "c2"},
        {"name": "delete_file", "args": {"path": "/tmp/x"}, "id": "c3"},
    ])
    model = ToolCallingFake(messages=iter([calls, AIMessage(content="all done")]))
    hitl = HumanInTheLoopMiddleware(interrupt_on={"send_email": True, "delete_file": True},
                                    interrupt_mode=mode)  # type: ignore[arg-type]
    return create_agent(model, [send_email, delete_file], middleware=[hitl],
                        checkpointer=InMemorySaver())


def test_middleware_per_call_partial_submit_keeps_the_others_pending():
    from test_payloads import executed as tool_log

    session = hitl_nb.Session(three_call_agent("per_call"), config())
    session.invoke({"messages": [("user", "go")]})
    assert len(session.pending) == 3
    assert len({r.interrupt_id for r in session.pending}) == 3
    first = next(r for r in session.pending if r.args.get("subject") == "one")
    session.approve(first.request_id)
    session.submit()
    assert tool_log == [("send_email", {"to": "a@b.c", "subject": "one"})]
    assert sorted(r.args.get("subject", r.args.get("path")) for r in session.pending) == [
        "/tmp/x", "two"]
    widget = session.widget()
    assert len(widget.requests) == 2
    session.decide_many([r.request_id for r in session.pending], "reject", message="no")
    assert session.done
    assert tool_log == [("send_email", {"to": "a@b.c", "subject": "one"})]


def test_middleware_batched_three_calls_through_the_widget():
    from test_payloads import executed as tool_log

    session = hitl_nb.Session(three_call_agent("batched"), config())
    session.invoke({"messages": [("user", "go")]})
    widget = session.widget()
    assert [r["index"] for r in widget.requests] == [0, 1, 2]
    first = widget.requests[0]
    send(widget, {"type": "decision", "request_id": first["request_id"],
                  "nonce": first["nonce"], "action": "edit",
                  "args": {"to": "x@y.z", "subject": "one"}})
    assert len(widget.requests) == 2  # the other two stay pending and shown
    assert widget.history[0]["staged"] is True
    assert widget.submit_token == ""  # a batched call goes back whole: nothing to submit yet
    send(widget, {"type": "submit", "token": ""})
    assert "stale or forged submit" in widget.refusals[-1]
    with pytest.raises(hitl_nb.DecisionError, match="decide every action"):
        session.submit()
    assert tool_log == []
    session.decide_many([r["request_id"] for r in widget.requests], "approve")
    assert session.done
    assert sorted(tool_log, key=repr) == [("delete_file", {"path": "/tmp/x"}),
                                ("send_email", {"to": "d@e.f", "subject": "two"}),
                                ("send_email", {"to": "x@y.z", "subject": "one"})]
    assert hitl_nb.log().to_pandas().decision.tolist() == ["edit", "approve", "approve"]
