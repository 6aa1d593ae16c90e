"""OpenAI Agents SDK: needs_approval tools reviewed in the real widget, resumed through
RunState.approve / RunState.reject, driven by the SDK's ScriptedModel (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from agents import Agent, RunConfig, RunState, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call
from conftest import send

import hitl_nb
from hitl_nb.adapters import openai_agents as adapter

REFUND = {"order": 1042, "amount": 80.0}
OFFLINE = RunConfig(tracing_disabled=True)


class Desk:
    """A scripted support agent whose refund tool needs approval."""

    def __init__(self, *turns: list[Any]) -> None:
        self.refunds: list[tuple[int, float]] = []
        self.model = ScriptedModel(turns or ([function_call("issue_refund", REFUND,
                                                            call_id="call_1")],
                                             [assistant_message("Refund handled.")]))

        @function_tool(needs_approval=True)
        def issue_refund(order: int, amount: float) -> str:
            """Refund an order."""
            self.refunds.append((order, amount))
            return f"refunded {amount} on {order}"

        self.agent = Agent(name="support", tools=[issue_refund], model=self.model)

    def tool_outputs(self) -> dict[str, str]:
        """What the model was sent back for each call, in its last request."""
        call = self.model.last_call
        assert call is not None
        items = call.input if isinstance(call.input, list) else []
        return {i["call_id"]: i["output"] for i in items
                if isinstance(i, dict) and i.get("type") == "function_call_output"}


def message(widget: hitl_nb.ReviewWidget, action: str, index: int = 0, **fields: Any) -> dict:
    request = widget.requests[index]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": action, "args": None, "message": None, "rating": None, "comment": None,
            **fields}


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    """Every RunState.approve / RunState.reject the adapter makes."""
    made: list[tuple[str, str, Any]] = []
    approve, reject = RunState.approve, RunState.reject

    def spy_approve(self: RunState, item: Any, always_approve: bool = False) -> None:
        made.append(("approve", item.call_id, always_approve))
        approve(self, item, always_approve)

    def spy_reject(self: RunState, item: Any, always_reject: bool = False, *,
                   rejection_message: str | None = None) -> None:
        made.append(("reject", item.call_id, rejection_message))
        reject(self, item, always_reject, rejection_message=rejection_message)

    monkeypatch.setattr(RunState, "approve", spy_approve)
    monkeypatch.setattr(RunState, "reject", spy_reject)
    return made


def test_a_paused_run_shows_the_call_and_offers_only_what_the_sdk_can_do(desk: Desk):
    session = adapter.review(desk.agent, "refund order 1042", run_config=OFFLINE)
    widget = session.widget()
    [request] = widget.requests
    assert (request["request_id"], request["action"], request["args"]) == (
        "call_1", "issue_refund", REFUND)
    # RunState can approve or reject a call; it cannot change its arguments
    assert request["allowed"] == ["approve", "reject"]
    assert (request["gate"], request["agent"], request["reason"]) == (
        "needs_approval", "support", "Refund an order.")
    assert (widget.status, desk.refunds) == ("pending", [])
    assert [i.call_id for i in session.run_result.interruptions] == ["call_1"]


def test_approve_click_approves_the_item_and_the_tool_runs_once(desk: Desk, calls):
    session = adapter.review(desk.agent, "refund order 1042", run_config=OFFLINE)
    send(session.widget(), message(session.widget(), "approve", rating=4, comment="fine"))
    assert calls == [("approve", "call_1", False)]
    assert desk.refunds == [(1042, 80.0)]
    assert desk.tool_outputs() == {"call_1": "refunded 80.0 on 1042"}
    assert (session.status, session.result) == ("done", "Refund handled.")
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.framework, row.decision, row.rating, row.comment, row.agent) == (
        "openai_agents", "approve", 4.0, "fine", "support")


def test_reject_click_sends_the_rejection_message_and_the_tool_never_runs(desk: Desk, calls):
    session = adapter.review(desk.agent, "refund order 1042", run_config=OFFLINE)
    send(session.widget(), message(session.widget(), "reject", message="needs a receipt"))
    assert calls == [("reject", "call_1", "needs a receipt")]
    assert desk.refunds == []
    assert desk.tool_outputs() == {"call_1": "needs a receipt"}
    assert session.status == "done"
    assert hitl_nb.log().to_pandas().iloc[0].decision == "reject"


@pytest.mark.parametrize(("action", "fields"), [
    ("edit", {"args": {"order": 1042, "amount": 60.0}}),
    ("respond", {"message": "do it tomorrow"}),
])
def test_edit_and_respond_are_refused_on_the_card(desk: Desk, calls, action, fields):
    session = adapter.review(desk.agent, "refund order 1042", run_config=OFFLINE)
    widget = session.widget()
    send(widget, message(widget, action, **fields))
    assert widget.errors["call_1"] == (f"{action} is not allowed for 'issue_refund'; "
                                       "allowed: approve, reject.")
    assert (calls, desk.refunds, len(hitl_nb.log()), session.status) == ([], [], 0, "pending")


def test_two_calls_resume_once_when_both_are_decided(calls):
    desk = Desk([function_call("issue_refund", REFUND, call_id="call_1"),
                 function_call("issue_refund", {"order": 7, "amount": 5.0}, call_id="call_2")],
                [assistant_message("One refunded, one refused.")])
    session = adapter.review(desk.agent, "refund both", run_config=OFFLINE)
    session.approve("call_1")
    assert (calls, desk.refunds, session.staged) == ([], [], ["call_1"])
    session.reject("too small to refund", "call_2")
    assert calls == [("approve", "call_1", False), ("reject", "call_2", "too small to refund")]
    assert desk.refunds == [(1042, 80.0)]
    assert desk.tool_outputs() == {"call_1": "refunded 80.0 on 1042",
                                   "call_2": "too small to refund"}
    assert session.result == "One refunded, one refused."


def test_submit_resumes_the_decided_call_and_keeps_the_other_card(calls):
    desk = Desk([function_call("issue_refund", REFUND, call_id="call_1"),
                 function_call("issue_refund", {"order": 7, "amount": 5.0}, call_id="call_2")],
                [assistant_message("done")])
    session = adapter.review(desk.agent, "refund both", run_config=OFFLINE)
    first_asked = session.pending[1].requested_at
    session.approve("call_1")
    session.submit()
    assert desk.refunds == [(1042, 80.0)]
    [left] = session.pending
    assert (left.request_id, left.args, left.requested_at) == (
        "call_2", {"order": 7, "amount": 5.0}, first_asked)
    session.approve("call_2")
    assert desk.refunds == [(1042, 80.0), (7, 5.0)]
    assert len(hitl_nb.log()) == 2


def test_forged_and_stale_decisions_resume_nothing(desk: Desk, calls):
    session = adapter.review(desk.agent, "refund order 1042", run_config=OFFLINE)
    widget = session.widget()
    click = message(widget, "approve")
    send(widget, {**click, "nonce": "f" * 32})
    send(widget, {**click, "request_id": "call_9"})
    send(widget, {**click, "sneaky": True})
    assert (calls, desk.refunds, len(hitl_nb.log())) == ([], [], 0)
    send(widget, click)
    send(widget, click)
    assert "not pending here" in widget.refusals[-1]
    with pytest.raises(hitl_nb.StaleDecision):
        session.approve("call_1")
    assert (len(calls), desk.refunds, len(hitl_nb.log())) == (1, [(1042, 80.0)], 1)


def test_arguments_that_are_not_an_object_are_shown_as_text():
    desk = Desk([function_call("issue_refund", "not json", call_id="call_1")],
                [assistant_message("done")])
    session = adapter.review(desk.agent, "refund", run_config=OFFLINE)
    [request] = session.pending
    assert (request.args, request.preview) == ({}, "not json")


def test_the_framework_error_is_kept_and_raised():
    desk = Desk([function_call("issue_refund", REFUND, call_id="call_1")])  # no 2nd turn
    session = adapter.review(desk.agent, "refund", run_config=OFFLINE)
    with pytest.raises(Exception, match="script"):
        session.approve()
    assert session.status == "error"
    assert "script" in session.widget().error
    assert desk.refunds == [(1042, 80.0)]
    assert hitl_nb.log().to_pandas().iloc[0].decision == "approve"  # logged before resuming


def test_current_is_the_displayed_adapter_session(desk: Desk):
    session = adapter.review(desk.agent, "refund", run_config=OFFLINE)
    session._repr_mimebundle_()
    assert hitl_nb.current() is session
    hitl_nb.current().reject("no")
    assert desk.refunds == []
