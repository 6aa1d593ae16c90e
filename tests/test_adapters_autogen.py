"""AutoGen AgentChat: a UserProxyAgent answered from the real widget while the team's run
stays suspended on its input function; driven by ReplayChatCompletionClient (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent, UserProxyAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, ModelFamily, ModelInfo, RequestUsage, UserMessage
from autogen_ext.models.replay import ReplayChatCompletionClient
from conftest import send

import hitl_nb
from hitl_nb.adapters import _loop
from hitl_nb.adapters import autogen as adapter

PROPOSAL = "I will refund order 1042 (80.0). Reply APPROVE to proceed."
INFO = ModelInfo(vision=False, function_calling=True, json_output=False,
                 family=ModelFamily.UNKNOWN, structured_output=False)


class Desk:
    """support proposes, the human answers, support refunds (a tool), the human answers,
    support ends. A user message containing REJECT ends the run before the tool."""

    def __init__(self) -> None:
        self.refunds: list[tuple[int, float]] = []
        self.client = ReplayChatCompletionClient([
            PROPOSAL,
            CreateResult(finish_reason="function_calls", cached=False,
                         usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
                         content=[FunctionCall(id="c1", name="issue_refund",
                                               arguments='{"order": 1042, "amount": 80.0}')]),
            "Refund done. TERMINATE",
        ], model_info=INFO)

        def issue_refund(order: int, amount: float) -> str:
            """Refund an order."""
            self.refunds.append((order, amount))
            return f"refunded {amount} on {order}"

        support = AssistantAgent("support", model_client=self.client, tools=[issue_refund])
        user = UserProxyAgent("user", input_func=adapter.human_input)
        self.team = RoundRobinGroupChat(
            [support, user],
            termination_condition=(TextMentionTermination("REJECT", sources=["user"])
                                   | TextMentionTermination("TERMINATE")
                                   | MaxMessageTermination(12)))

    def said_by_user(self, session: adapter.AutoGenSession) -> list[str]:
        return [m.content for m in session.messages
                if isinstance(m, TextMessage) and m.source == "user"][1:]  # [0] is the task


def message(widget: hitl_nb.ReviewWidget, action: str, index: int = 0, **fields: Any) -> dict:
    request = widget.requests[index]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": action, "args": None, "message": None, "rating": None, "comment": None,
            **fields}


@pytest.fixture(autouse=True)
def close_runs():
    """Cancel the runs a test leaves waiting for an answer."""
    yield
    for session in list(adapter._parked):
        session.close()
    assert adapter._parked == set()


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_the_proxy_question_pauses_the_same_run_and_shows_in_the_widget(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    widget = session.widget()
    [request] = widget.requests
    assert (request["action"], request["agent"], request["preview"]) == (
        "reply", "support", PROPOSAL)
    assert request["allowed"] == ["approve", "reject", "respond"]
    assert request["reason"] == "Enter your response:"
    assert (widget.status, desk.refunds) == ("pending", [])
    # the run is parked on the input function, not finished and not to be replayed
    assert session._driver is not None
    assert not session._driver.done()
    assert len(desk.client.create_calls) == 1


def test_approve_returns_the_approve_word_and_the_tool_runs_once(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    send(session.widget(), message(session.widget(), "approve"))
    assert desk.said_by_user(session) == ["APPROVE"]
    assert desk.refunds == [(1042, 80.0)]
    # the same run asks again, now after the tool's result
    [request] = session.pending
    assert request.preview == "refunded 80.0 on 1042"
    session.approve(rating=5)
    assert (session.status, session.result) == ("done", "Refund done. TERMINATE")
    assert desk.refunds == [(1042, 80.0)]
    assert len(desk.client.create_calls) == 3  # one model call per turn, none repeated
    frame = hitl_nb.log().to_pandas()
    assert list(frame.framework) == ["autogen", "autogen"]
    assert list(frame.decision) == ["approve", "approve"]


def test_reject_returns_the_reject_word_with_the_reason_and_the_tool_never_runs(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    send(session.widget(), message(session.widget(), "reject", message="needs a receipt"))
    assert desk.said_by_user(session) == ["REJECT: needs a receipt"]
    assert desk.refunds == []
    assert session.status == "done"
    assert session.run_result is not None
    assert "REJECT" in (session.run_result.stop_reason or "")
    assert hitl_nb.log().to_pandas().iloc[0].message == "needs a receipt"


def test_respond_returns_the_text_and_the_next_model_call_reads_it(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    session.respond("refund only 60, the rest as store credit")
    assert desk.said_by_user(session) == ["refund only 60, the rest as store credit"]
    sent = desk.client.create_calls[-1]["messages"]
    assert [m.content for m in sent if isinstance(m, UserMessage)][-1] == (
        "refund only 60, the rest as store credit")


def test_the_answer_words_are_configurable(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042", approve_text="yes",
                             reject_text="no")
    session.approve()
    session.reject("stop here")
    assert desk.said_by_user(session) == ["yes", "no: stop here"]


def test_edit_is_refused_because_there_are_no_arguments(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    widget = session.widget()
    send(widget, message(widget, "edit", args={"text": "x"}))
    assert "edit is not allowed" in widget.errors[widget.requests[0]["request_id"]]
    assert (len(hitl_nb.log()), desk.refunds, session.status) == (0, [], "pending")
    assert not session._driver.done()


def test_forged_and_stale_decisions_resume_nothing(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    widget = session.widget()
    click = message(widget, "approve")
    old_id = click["request_id"]
    send(widget, {**click, "nonce": "0" * 32})
    send(widget, {**click, "request_id": "not-a-request"})
    assert (len(hitl_nb.log()), desk.said_by_user(session)) == (0, [])
    send(widget, click)
    send(widget, click)  # replay after it was applied
    assert "not pending here" in widget.refusals[-1]
    with pytest.raises(hitl_nb.StaleDecision):
        session.respond("again", old_id)
    assert desk.said_by_user(session) == ["APPROVE"]
    assert (len(hitl_nb.log()), desk.refunds) == (1, [(1042, 80.0)])


def test_a_question_cancelled_by_the_team_takes_no_decision(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    [request] = session.pending
    _, answer = session._asks[request.request_id]
    asyncio.run_coroutine_threadsafe(_cancel(answer), _loop.loop()).result()
    with pytest.raises(hitl_nb.StaleDecision, match="no longer awaited"):
        session.approve()
    assert (len(hitl_nb.log()), desk.refunds, session.pending) == (0, [], [])
    assert session.status == "running"  # AutoGen's run goes on without that answer
    session.close()
    assert session.status == "stopped"


async def _cancel(future: asyncio.Future[str]) -> None:
    future.cancel()


def test_human_input_outside_review_names_the_fix():
    proxy = UserProxyAgent("user", input_func=adapter.human_input)
    with pytest.raises(RuntimeError, match=r"autogen\.review\(team, task=\.\.\.\)"):
        asyncio.run(proxy.run(task="hello"))


def test_close_cancels_a_waiting_run(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    driver = session._driver
    session.close()
    assert driver is not None
    assert driver.done()
    assert (session.status, session.pending, session.widget().status) == (
        "stopped", [], "stopped")
    assert session not in adapter._parked
    with pytest.raises(hitl_nb.StaleDecision):
        session.approve()
    assert (len(hitl_nb.log()), desk.refunds) == (0, [])


def test_current_is_the_displayed_adapter_session(desk: Desk):
    session = adapter.review(desk.team, task="refund order 1042")
    session._repr_mimebundle_()
    assert hitl_nb.current() is session
    hitl_nb.current().reject()
    assert desk.said_by_user(session) == ["REJECT"]
