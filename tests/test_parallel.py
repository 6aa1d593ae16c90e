"""Several interrupts pending at once (Send fan-out): one decision each, one Command resumes."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from conftest import config, send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

import hitl_nb

WIDGET_ITEMS = ["alpha", "beta", "gamma"]


class FanState(TypedDict, total=False):
    items: list[str]
    done: Annotated[list[str], operator.add]


def fan_out_graph(executed: list[str]) -> Any:
    def spread(state: FanState) -> list[Send]:
        return [Send("publish", {"items": [item]}) for item in state["items"]]

    def publish(state: FanState) -> dict[str, Any]:
        item = state["items"][0]
        decision = hitl_nb.ask(action="publish", args={"item": item}, reason=f"publish {item}?")
        if decision.action == "reject":
            return {"done": [f"{item}: rejected"]}
        executed.append(decision.args["item"])  # the side effect, after the review
        return {"done": [f"{item}: published as {decision.args['item']}"]}

    builder = StateGraph(FanState)
    builder.add_node("publish", publish)
    builder.add_conditional_edges(START, spread, ["publish"])
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


@pytest.fixture
def executed() -> list[str]:
    return []


@pytest.fixture
def session(executed) -> hitl_nb.Session:
    return hitl_nb.Session(fan_out_graph(executed), config()).invoke({"items": WIDGET_ITEMS})


def by_item(session: hitl_nb.Session) -> dict[str, str]:
    return {r.args["item"]: r.request_id for r in session.pending}


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
