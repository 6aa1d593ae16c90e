"""Retry from the widget: after a step raised, one click runs it again with what was
decided, guarded by a one-time token like Stop and Undo; nothing is decided twice."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb.adapters import pydantic_ai as pydantic_ai_adapter


class Charge(TypedDict, total=False):
    done: list[str]


class Gateway:
    """A payment step that raises after an approval while `down` is set."""

    def __init__(self) -> None:
        self.down = True
        self.charged: list[str] = []  # decisions the step went through with

    def graph(self) -> Any:
        def charge(state: Charge) -> dict[str, Any]:
            decision = hitl_nb.ask(action="charge", args={"amount": 5})
            if decision.approved and self.down:
                raise RuntimeError("payment gateway down")
            self.charged.append(decision.action)
            return {"done": [decision.action]}

        builder = StateGraph(Charge)
        builder.add_node("charge", charge)
        builder.add_edge(START, "charge")
        return builder.compile(checkpointer=InMemorySaver())


pytestmark = pytest.mark.usefixtures("clean_overrides")  # conftest: a clean kill switch


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


def approve_click(widget: hitl_nb.ReviewWidget) -> dict[str, Any]:
    request = widget.requests[0]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": "approve", "args": None, "message": None, "rating": None,
            "comment": None}


def retry_click(widget: hitl_nb.ReviewWidget, **fields: Any) -> dict[str, Any]:
    return {"type": "retry", "token": widget.retry_token, **fields}


@pytest.fixture
def failed(gateway: Gateway) -> hitl_nb.ReviewWidget:
    """A widget whose Approve click made the step raise."""
    widget = hitl_nb.Session(gateway.graph(), config()).invoke({}).widget()
    assert widget.retry_token == ""  # nothing failed yet: no Retry
    send(widget, approve_click(widget))
    assert widget.status == "error"
    return widget


def decisions() -> list[str]:
    return [row["decision"] for row in hitl_nb.log()]


def test_retry_click_resumes_with_the_decision_given_and_a_replay_runs_nothing(
        failed, gateway: Gateway):
    assert "payment gateway down" in failed.error
    assert len(failed.retry_token) == 32
    gateway.down = False
    click = retry_click(failed)
    send(failed, click)
    assert (failed.status, failed.error, failed.retry_token) == ("done", "", "")
    assert '"approve"' in failed.result
    assert gateway.charged == ["approve"]  # the step went through once
    assert decisions() == ["approve"]  # and nobody decided again
    send(failed, click)
    assert "nothing to retry, the run is done" in failed.override_errors["retry"]
    assert gateway.charged == ["approve"]


def test_a_retry_that_raises_again_shows_the_new_error_with_a_fresh_token(
        failed, gateway: Gateway):
    first = retry_click(failed)
    send(failed, first)
    assert failed.status == "error"
    assert "payment gateway down" in failed.error
    assert failed.retry_token not in ("", first["token"])
    send(failed, first)  # the spent token
    assert "stale or forged retry" in failed.override_errors["retry"]
    assert gateway.charged == []
    gateway.down = False
    send(failed, retry_click(failed))
    assert (failed.status, gateway.charged, decisions()) == ("done", ["approve"], ["approve"])


@pytest.mark.parametrize("tamper", [{"token": "0" * 32}, {"token": None}, {"token": 7},
                                    {"extra": 1}, {"request_id": "x"}])
def test_forged_or_malformed_retries_run_nothing(failed, gateway: Gateway, tamper):
    gateway.down = False
    send(failed, retry_click(failed, **tamper))
    assert "stale or forged retry" in failed.override_errors["retry"]
    assert failed.refusals[-1] == failed.override_errors["retry"]
    assert (failed.status, gateway.charged) == ("error", [])
    send(failed, retry_click(failed))  # a forgery does not spend the real token
    assert (failed.status, gateway.charged) == ("done", ["approve"])


def test_a_retry_without_a_token_is_refused(failed, gateway: Gateway):
    gateway.down = False
    send(failed, {"type": "retry"})
    assert "stale or forged retry" in failed.override_errors["retry"]
    assert (failed.status, gateway.charged) == ("error", [])


def test_a_retry_while_not_in_error_is_refused_and_runs_nothing(gateway: Gateway):
    widget = hitl_nb.Session(gateway.graph(), config()).invoke({}).widget()
    send(widget, {"type": "retry", "token": "0" * 32})
    assert "nothing to retry, the run is pending" in widget.override_errors["retry"]
    assert (widget.status, len(widget.requests), gateway.charged) == ("pending", 1, [])
    assert len(hitl_nb.log()) == 0
    with pytest.raises(hitl_nb.StaleDecision, match=r"nothing to retry .* pending"):
        widget.session.retry()  # the same rule from code


def test_the_token_survives_a_redraw_of_the_same_error(failed):
    token = failed.retry_token
    with hitl_nb.reviewer("someone-else"):  # any change redraws the widget
        assert failed.reviewer["name"] == "someone-else"
        assert failed.retry_token == token


def test_a_new_view_of_a_failed_run_offers_retry(gateway: Gateway):
    graph, cfg = gateway.graph(), config()
    first = hitl_nb.Session(graph, cfg).invoke({})
    with pytest.raises(RuntimeError, match="gateway down"):
        first.approve()
    view = hitl_nb.Session(graph, cfg).widget()  # a redisplay, after a restart
    assert (view.status, view.requests) == ("error", [])
    assert "RunFailed: step 'charge' raised RuntimeError('payment gateway down')" in view.error
    assert len(view.retry_token) == 32
    gateway.down = False
    send(view, retry_click(view))
    assert (view.status, gateway.charged, decisions()) == ("done", ["approve"], ["approve"])


def test_retry_refused_during_an_emergency_stop_shows_why_and_stays_offered(
        failed, gateway: Gateway):
    gateway.down = False
    hitl_nb.emergency_stop("audit")
    send(failed, retry_click(failed))
    assert "emergency stop engaged" in failed.override_errors["retry"]
    assert (failed.status, gateway.charged) == ("error", [])
    assert len(failed.retry_token) == 32  # nothing ran: the person may try again later
    hitl_nb.resume_all()
    send(failed, retry_click(failed))
    assert (failed.status, gateway.charged) == ("done", ["approve"])


def failing_agent() -> Agent[None, str]:
    """A Pydantic AI agent whose approved tool raises."""

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart("charge", {"amount": 5}, tool_call_id="c1")])

    agent: Agent[None, str] = Agent(FunctionModel(model))

    @agent.tool_plain(requires_approval=True)
    def charge(amount: int) -> str:
        raise RuntimeError("payment gateway down")

    return agent


def test_adapter_sessions_offer_no_retry_and_refuse_one():
    session = pydantic_ai_adapter.review(failing_agent(), "charge 5")
    widget = session.widget()
    send(widget, approve_click(widget))
    assert session.status == "error"
    assert "payment gateway down" in widget.error
    assert (widget.overrides, widget.retry_token) == (False, "")
    send(widget, {"type": "retry", "token": "0" * 32})
    assert "retry is not available for this run" in widget.override_errors["retry"]
    assert session.status == "error"
