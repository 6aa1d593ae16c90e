"""Shared fixtures: a fresh default log per test, the demo support agent, small graphs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

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


def send(widget: Any, content: Any) -> None:
    """Deliver a message exactly as the comm does when the front end calls model.send()."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                        "buffers": []})


class ToolCallingFake(GenericFakeChatModel):
    """A scripted chat model `create_agent` accepts: the fake lacks `bind_tools`."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFake:
        return self
