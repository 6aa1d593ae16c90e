"""Plain `interrupt(value)` payloads and LangChain's HumanInTheLoopMiddleware, unchanged graphs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from conftest import ToolCallingFake, config
from graphs import plain_graph
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import Field

import hitl_nb


# -- plain interrupt(value) ---------------------------------------------------------
def test_plain_string_question_resumed_with_the_response_text():
    graph = plain_graph("What is the customer's name?")
    session = hitl_nb.Session(graph, config()).invoke({})
    [request] = session.pending
    assert (request.kind, request.action) == ("plain", "question")
    assert request.reason == "What is the customer's name?"
    assert request.allowed == ("approve", "reject", "respond")
    session.respond("Ada Lovelace")
    assert session.result["answer"] == "Ada Lovelace"


@pytest.mark.parametrize(("method", "expected"), [("approve", True), ("reject", False)])
def test_plain_string_approve_and_reject_resume_booleans(method, expected):
    session = hitl_nb.Session(plain_graph("Proceed?"), config()).invoke({})
    getattr(session, method)()
    assert session.result["answer"] is expected


def test_plain_dict_edit_returns_the_payload_with_edited_values():
    payload = {"question": "Check the summary", "summary": "draft text", "words": 2}
    session = hitl_nb.Session(plain_graph(payload), config()).invoke({})
    [request] = session.pending
    assert request.reason == "Check the summary"
    assert request.args == {"summary": "draft text", "words": 2}
    session.edit({"summary": "better text", "words": 2})
    assert session.result["answer"] == {"question": "Check the summary",
                                        "summary": "better text", "words": 2}


def test_plain_dict_with_args_key_keeps_its_shape():
    payload = {"action": "send_email", "args": {"to": "a@b.c"}, "confidence": 0.4}
    session = hitl_nb.Session(plain_graph(payload), config()).invoke({})
    [request] = session.pending
    assert (request.action, request.args, request.confidence) == ("send_email",
                                                                  {"to": "a@b.c"}, 0.4)
    session.edit({"to": "x@y.z"})
    assert session.result["answer"] == {**payload, "args": {"to": "x@y.z"}}


@pytest.mark.parametrize("confidence", [80, -0.5, True, "high"])
def test_a_plain_confidence_that_is_not_a_probability_stays_an_argument(confidence):
    payload = {"question": "Ship it?", "confidence": confidence, "carrier": "DHL"}
    session = hitl_nb.Session(plain_graph(payload), config()).invoke({})
    [request] = session.pending
    assert session.problems == []
    assert request.confidence is None
    assert request.args == {"confidence": confidence, "carrier": "DHL"}
    session.edit({"carrier": "UPS"})
    assert session.result["answer"] == {**payload, "carrier": "UPS"}


def test_resume_as_overrides_the_plain_convention():
    def resume_as(request, decision):
        return {"approved": decision.approved, "note": decision.comment}

    session = hitl_nb.Session(plain_graph("ok?"), config(), resume_as=resume_as).invoke({})
    session.approve(comment="looks right")
    assert session.result["answer"] == {"approved": True, "note": "looks right"}


def test_non_json_plain_payload_is_reviewable_as_text_without_edit():
    import datetime as dt

    # the checkpointer can store a datetime, the browser only its text
    payload = {"due": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    session = hitl_nb.Session(plain_graph(payload), config()).invoke({})
    [request] = session.pending
    assert request.allowed == ("approve", "reject", "respond")
    assert "2026-01-01" in request.preview
    assert "not JSON-able" in request.reason
    session.approve()
    assert session.result["answer"] is True


def test_malformed_ask_payload_is_reported():
    session = hitl_nb.Session(
        plain_graph({"__hitl_nb__": 1, "action": "x", "confidence": "high"}), config()
    ).invoke({})
    assert session.pending == []
    assert "confidence must be a number" in session.problems[0]


# -- LangChain HumanInTheLoopMiddleware ----------------------------------------------
executed: list[tuple[str, dict[str, Any]]] = []


@tool
def send_email(to: str, subject: str) -> str:
    """Send an email."""
    executed.append(("send_email", {"to": to, "subject": subject}))
    return f"sent to {to}"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    executed.append(("delete_file", {"path": path}))
    return f"deleted {path}"


def middleware_agent(mode: str = "batched") -> Any:
    executed.clear()
    calls = AIMessage(content="", tool_calls=[
        {"name": "send_email", "args": {"to": "a@b.c", "subject": "hi"}, "id": "c1"},
        {"name": "delete_file", "args": {"path": "/tmp/x"}, "id": "c2"},
    ])
    model = ToolCallingFake(messages=iter([calls, AIMessage(content="all done")]))
    hitl = HumanInTheLoopMiddleware(
        interrupt_on={"send_email": True,
                      "delete_file": {"allowed_decisions": ["approve", "reject"]}},
        interrupt_mode=mode)  # type: ignore[arg-type]
    return create_agent(model, [send_email, delete_file], middleware=[hitl],
                        checkpointer=InMemorySaver())


def test_middleware_batched_one_decision_per_action_in_order():
    session = hitl_nb.Session(middleware_agent(), config())
    session.invoke({"messages": [("user", "go")]})
    first, second = session.pending
    assert (first.kind, first.action, first.args) == ("middleware", "send_email",
                                                      {"to": "a@b.c", "subject": "hi"})
    assert second.allowed == ("approve", "reject")
    assert first.interrupt_id == second.interrupt_id
    session.edit({"to": "x@y.z", "subject": "hi"}, first.request_id)
    assert executed == []  # waits for the second decision of the same interrupt
    assert [r.request_id for r in session.pending] == [second.request_id]
    session.reject("keep the file", second.request_id)
    assert executed == [("send_email", {"to": "x@y.z", "subject": "hi"})]
    assert session.done
    rejected = [m for m in session.result["messages"] if m.type == "tool" and m.status == "error"]
    assert "keep the file" in rejected[0].content
    assert hitl_nb.log().to_pandas().decision.tolist() == ["edit", "reject"]


@tool
def transfer(amount: Annotated[float, Field(gt=0, le=500)], currency: Literal["EUR", "USD"]) -> str:
    """Transfer money."""
    executed.append(("transfer", {"amount": amount, "currency": currency}))
    return f"sent {amount} {currency}"


def test_middleware_batched_edits_are_checked_against_the_tools_own_schema():
    executed.clear()
    calls = AIMessage(content="", tool_calls=[
        {"name": "transfer", "args": {"amount": 100.0, "currency": "EUR"}, "id": "t1"}])
    model = ToolCallingFake(messages=iter([calls, AIMessage(content="done")]))
    agent = create_agent(model, [transfer], checkpointer=InMemorySaver(), middleware=[
        HumanInTheLoopMiddleware(interrupt_on={"transfer": True})])
    session = hitl_nb.Session(agent, config()).invoke({"messages": [("user", "pay")]})
    [request] = session.pending
    assert request.args_schema["properties"]["currency"]["enum"] == ["EUR", "USD"]
    editors = session.widget().requests[0]["args_schema"]["properties"]
    assert editors["currency"]["enum"] == ["EUR", "USD"]  # a menu, not a text field
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of currency: 'GBP'"):
        session.edit({"currency": "GBP"})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of amount"):
        session.edit({"amount": 900.0})
    with pytest.raises(hitl_nb.DecisionError, match="'amout' was unexpected"):
        session.edit({"amout": 3.0})  # the tool would drop it and run with the old amount
    assert executed == []
    session.edit({"amount": 50.0, "currency": "USD"})
    assert executed == [("transfer", {"amount": 50.0, "currency": "USD"})]


def test_middleware_refuses_a_decision_type_the_config_forbids():
    session = hitl_nb.Session(middleware_agent(), config())
    session.invoke({"messages": [("user", "go")]})
    with pytest.raises(hitl_nb.DecisionError, match="edit is not allowed"):
        session.edit({"path": "/etc"}, session.pending[1].request_id)


def test_middleware_per_call_mode_resumes_each_interrupt_by_id():
    session = hitl_nb.Session(middleware_agent("per_call"), config())
    session.invoke({"messages": [("user", "go")]})
    kinds = {r.kind for r in session.pending}
    assert kinds == {"tool_approval"}
    by_action = {r.action: r for r in session.pending}
    assert by_action["delete_file"].allowed == ("approve", "reject")
    assert by_action["send_email"].args_schema["properties"].keys() == {"to", "subject"}
    session.approve(by_action["delete_file"].request_id)
    session.respond("already sent", by_action["send_email"].request_id)
    assert executed == [("delete_file", {"path": "/tmp/x"})]
    assert session.done
