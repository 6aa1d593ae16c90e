"""Shared fixtures: a fresh default log per test, the demo support agent, small graphs."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import _log, _notify, _override, _policy
from hitl_nb.demo import SupportDesk, support_agent


@pytest.fixture(autouse=True)
def fresh_default_log(monkeypatch: pytest.MonkeyPatch) -> hitl_nb.FeedbackLog:
    fresh = hitl_nb.FeedbackLog()
    monkeypatch.setattr(_log, "_default", fresh)
    monkeypatch.setenv("HITL_NB_REVIEWER", "tester")
    return fresh


@pytest.fixture(autouse=True)
def fresh_default_feed(monkeypatch: pytest.MonkeyPatch) -> hitl_nb.Feed:
    fresh = hitl_nb.Feed()
    monkeypatch.setattr(_notify, "_feed", fresh)
    return fresh


@pytest.fixture(autouse=True)
def no_registered_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """`policy.interrupt_on(tools)` registers kernel-wide: one test's tools must not
    gate another's."""
    monkeypatch.setattr(_policy, "_by_tool", {})


@pytest.fixture
def clean_overrides() -> Iterator[None]:
    """Compensations forgotten and the kill switch released around the test (files that
    engage them: `pytestmark = pytest.mark.usefixtures("clean_overrides")`)."""
    _override.reset()
    yield
    _override.reset()


@pytest.fixture
def desk() -> SupportDesk:
    return SupportDesk()


@pytest.fixture
def graph(desk: SupportDesk) -> Any:
    return support_agent(desk)


def config(thread: str | None = None) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread or uuid.uuid4().hex}}


class PlainState(TypedDict, total=False):
    payload: Any
    answer: Any
    runs: int


def plain_graph(payload: Any) -> Any:
    """One node that calls plain `interrupt(payload)` and stores what it got back."""

    def node(state: PlainState) -> dict[str, Any]:
        return {"answer": interrupt(payload)}

    builder = StateGraph(PlainState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(checkpointer=InMemorySaver())


def send(widget: Any, content: Any) -> None:
    """Deliver a message exactly as the comm does when the front end calls model.send()."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                        "buffers": []})


class ToolCallingFake(GenericFakeChatModel):
    """A scripted chat model `create_agent` accepts: the fake lacks `bind_tools`."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFake:
        return self


class FanState(TypedDict, total=False):
    items: list[str]
    done: Annotated[list[str], operator.add]


def fan_out_graph(executed: list[str]) -> Any:
    """A `Send` fan-out: one `publish` branch per item, each asking `hitl_nb.ask` about
    itself; the side effect (appending the approved item to `executed`) runs after the
    review, and `done` says what each branch did."""

    def spread(state: FanState) -> list[Send]:
        return [Send("publish", {"items": [item]}) for item in state["items"]]

    def publish(state: FanState) -> dict[str, Any]:
        item = state["items"][0]
        decision = hitl_nb.ask(action="publish", args={"item": item}, reason=f"publish {item}?")
        if decision.action == "reject":
            return {"done": [f"{item}: rejected"]}
        executed.append(decision.args["item"])
        return {"done": [f"{item}: published as {decision.args['item']}"]}

    builder = StateGraph(FanState)
    builder.add_node("publish", publish)
    builder.add_conditional_edges(START, spread, ["publish"])
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def by_item(session: hitl_nb.Session) -> dict[str, str]:
    """Pending request ids of a fan-out session, by item."""
    return {r.args["item"]: r.request_id for r in session.pending}
