"""Pydantic AI: requires_approval tools reviewed in the real widget, resumed with
DeferredToolResults, driven by a FunctionModel (no network, no API key)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import send
from pydantic_ai import (
    Agent,
    CallDeferred,
    DeferredToolRequests,
    DeferredToolResults,
    ToolApproved,
    ToolDenied,
)
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import hitl_nb
from hitl_nb.adapters import pydantic_ai as adapter

REFUND = {"order": 1042, "amount": 80.0}


class Desk:
    """A scripted support agent: the model proposes refunds, the tool records each run."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls = calls
        self.refunds: list[tuple[int, float]] = []
        self.seen: list[list[ModelMessage]] = []
        self.agent = Agent(FunctionModel(self.model), name="support")

        @self.agent.tool_plain(requires_approval=True)
        def issue_refund(order: int, amount: float) -> str:
            """Refund an order."""
            self.refunds.append((order, amount))
            return f"refunded {amount} on {order}"

    def model(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.seen.append(list(messages))
        returns = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if returns:
            return ModelResponse(parts=[TextPart(" | ".join(str(p.content) for p in returns))])
        return ModelResponse(parts=[ToolCallPart(name, args, tool_call_id=cid)
                                    for cid, args in self.calls
                                    for name in ["issue_refund"]])


def message(widget: hitl_nb.ReviewWidget, action: str, index: int = 0, **fields: Any) -> dict:
    request = widget.requests[index]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": action, "args": None, "message": None, "rating": None, "comment": None,
            **fields}


@pytest.fixture
def desk() -> Desk:
    return Desk([("c1", REFUND)])


def watch(monkeypatch: pytest.MonkeyPatch, agent: Agent) -> list[DeferredToolResults]:
    """Every DeferredToolResults the adapter hands to `agent.run`."""
    sent: list[DeferredToolResults] = []
    original = agent.run

    async def run(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("deferred_tool_results") is not None:
            sent.append(kwargs["deferred_tool_results"])
        return await original(*args, **kwargs)

    monkeypatch.setattr(agent, "run", run)
    return sent


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch, desk: Desk) -> list[DeferredToolResults]:
    return watch(monkeypatch, desk.agent)


def test_a_paused_run_shows_the_call_in_the_widget(desk: Desk):
    session = adapter.review(desk.agent, "refund order 1042")
    widget = session.widget()
    [request] = widget.requests
    assert (request["action"], request["args"]) == ("issue_refund", REFUND)
    assert request["allowed"] == ["approve", "edit", "reject"]
    assert request["gate"] == "requires_approval"
    # the edit schema is the tool's own: order must stay an integer
    assert request["args_schema"]["properties"]["order"] == {"type": "integer"}
    assert (widget.status, desk.refunds) == ("pending", [])
    assert isinstance(session.run_result.output, DeferredToolRequests)


def test_approve_click_resumes_with_tool_approved(desk: Desk, spy):
    session = adapter.review(desk.agent, "refund order 1042")
    send(session.widget(), message(session.widget(), "approve", rating=5))
    assert spy == [DeferredToolResults(approvals={"c1": ToolApproved()},
                                       answered_by={"c1": "tester"})]
    assert desk.refunds == [(1042, 80.0)]
    assert session.status == "done"
    assert session.result == "refunded 80.0 on 1042"
    assert session.widget().result == '"refunded 80.0 on 1042"'
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.framework, row.decision, row.rating, row.reviewer) == (
        "pydantic_ai", "approve", 5.0, "tester")


def test_edit_click_resumes_with_override_args(desk: Desk, spy):
    session = adapter.review(desk.agent, "refund order 1042")
    edited = {"order": 1042, "amount": 60.0}
    send(session.widget(), message(session.widget(), "edit", args=edited))
    assert spy == [DeferredToolResults(approvals={"c1": ToolApproved(override_args=edited)},
                                       answered_by={"c1": "tester"})]
    assert desk.refunds == [(1042, 60.0)]
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, bool(row.edited), row.final_args) == ("edit", True, edited)


def test_an_edit_that_breaks_the_tool_schema_is_refused_and_the_card_stays(desk: Desk, spy):
    session = adapter.review(desk.agent, "refund order 1042")
    widget = session.widget()
    bad = message(widget, "edit", args={"order": "1042", "amount": 60.0})
    send(widget, bad)
    assert "invalid edit of order" in widget.errors["c1"]
    assert (spy, desk.refunds, len(hitl_nb.log())) == ([], [], 0)
    send(widget, {**bad, "args": {"order": 1042, "amount": 60.0}})  # same card, same token
    assert desk.refunds == [(1042, 60.0)]


def test_reject_sends_tool_denied_with_the_message_and_the_tool_never_runs(desk: Desk, spy):
    session = adapter.review(desk.agent, "refund order 1042")
    send(session.widget(), message(session.widget(), "reject", message="needs a receipt"))
    assert spy == [DeferredToolResults(approvals={"c1": ToolDenied("needs a receipt")},
                                       answered_by={"c1": "tester"})]
    assert desk.refunds == []
    # the model read the denial as the tool's result
    returns = [p for p in desk.seen[-1][-1].parts if isinstance(p, ToolReturnPart)]
    assert [p.content for p in returns] == ["needs a receipt"]
    assert session.result == "needs a receipt"
    assert hitl_nb.log().to_pandas().iloc[0].message == "needs a receipt"


def test_reject_without_a_message_uses_the_framework_default(desk: Desk, spy):
    adapter.review(desk.agent, "refund order 1042").reject()
    assert spy[0].approvals == {"c1": ToolDenied()}


def test_respond_is_not_offered_because_approvals_take_no_answer(desk: Desk):
    session = adapter.review(desk.agent, "refund order 1042")
    with pytest.raises(hitl_nb.DecisionError, match="respond is not allowed"):
        session.respond("do it tomorrow")
    assert (desk.refunds, len(hitl_nb.log()), session.status) == ([], 0, "pending")


def test_two_calls_resume_once_when_both_are_decided(monkeypatch):
    desk = Desk([("c1", REFUND), ("c2", {"order": 7, "amount": 5.0})])
    spy = watch(monkeypatch, desk.agent)
    session = adapter.review(desk.agent, "refund both")
    assert [r.request_id for r in session.pending] == ["c1", "c2"]
    session.approve("c1")
    assert (spy, desk.refunds, session.staged) == ([], [], ["c1"])
    with pytest.raises(hitl_nb.DecisionError, match="still undecided: c2"):
        session.submit()  # Pydantic AI needs a result for every deferred call
    assert spy == []
    session.reject("not this one", "c2")
    assert spy == [DeferredToolResults(
        approvals={"c1": ToolApproved(), "c2": ToolDenied("not this one")},
        answered_by={"c1": "tester", "c2": "tester"})]
    assert desk.refunds == [(1042, 80.0)]
    assert list(hitl_nb.log().to_pandas().framework) == ["pydantic_ai", "pydantic_ai"]


def test_forged_and_stale_decisions_resume_nothing(desk: Desk, spy):
    session = adapter.review(desk.agent, "refund order 1042")
    widget = session.widget()
    click = message(widget, "approve")
    send(widget, {**click, "nonce": "0" * 32})
    send(widget, {**click, "request_id": "c9"})
    assert (spy, desk.refunds, len(hitl_nb.log())) == ([], [], 0)
    send(widget, click)
    send(widget, click)  # replayed after it was applied
    assert "not pending here" in widget.refusals[-1]
    with pytest.raises(hitl_nb.StaleDecision):
        session.approve("c1")
    assert (len(spy), desk.refunds, len(hitl_nb.log())) == (1, [(1042, 80.0)], 1)


def test_a_reused_call_id_is_a_new_request():
    """Ids the model repeats in a later turn never match an old decision."""
    refunds: list[tuple[int, float]] = []
    turns = iter([[ToolCallPart("issue_refund", REFUND, tool_call_id="c1")],
                  [ToolCallPart("issue_refund", {"order": 7, "amount": 5.0},
                                tool_call_id="c1")],
                  [TextPart("both refunded")]])
    agent = Agent(FunctionModel(lambda m, i: ModelResponse(parts=next(turns))))

    @agent.tool_plain(requires_approval=True)
    def issue_refund(order: int, amount: float) -> str:
        refunds.append((order, amount))
        return "ok"

    session = adapter.review(agent, "refund")
    session.approve()
    assert [r.request_id for r in session.pending] == ["c1~2"]
    with pytest.raises(hitl_nb.StaleDecision):
        session.approve("c1")
    session.approve("c1~2")
    assert refunds == [(1042, 80.0), (7, 5.0)]
    assert session.result == "both refunded"


def test_external_calls_are_reported_not_reviewed():
    agent = Agent(FunctionModel(lambda m, i: ModelResponse(
        parts=[ToolCallPart("lookup", {"order": 1042}, tool_call_id="x1")])))

    @agent.tool_plain
    def lookup(order: int) -> str:
        raise CallDeferred

    session = adapter.review(agent, "look it up")
    assert session.pending == []
    assert session.problems == ["lookup (x1) waits for an external result, not a review: "
                                "resume it yourself with DeferredToolResults(calls=...)."]
    assert session.widget().problems == session.problems


def test_current_is_the_displayed_adapter_session(desk: Desk):
    session = adapter.review(desk.agent, "refund order 1042")
    session._repr_mimebundle_()
    assert hitl_nb.current() is session
    hitl_nb.current().approve()
    assert desk.refunds == [(1042, 80.0)]


def test_an_output_type_with_deferred_requests_is_kept():
    assert adapter._with_deferred(str) == [str, DeferredToolRequests]
    assert adapter._with_deferred([int, DeferredToolRequests]) == [int, DeferredToolRequests]
