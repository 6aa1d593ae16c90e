"""The notify level: actions run without stopping, land in the feed and the log, and can be
undone once within their window (the compensator runs exactly once)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import ToolCallingFake, config, send

import hitl_nb
from hitl_nb._schema import utcnow


class Calendar:
    """A tiny back office whose invites can be cancelled (the compensating action)."""

    def __init__(self) -> None:
        self.invites: dict[int, str] = {}
        self.cancelled: list[int] = []

    def invite(self, to: str, when: str = "monday") -> dict[str, Any]:
        number = len(self.invites) + 1
        self.invites[number] = f"{to} {when}"
        return {"id": number, "to": to}

    def cancel(self, number: int) -> str:
        self.cancelled.append(number)
        del self.invites[number]
        return f"invite {number} cancelled"


def test_notify_logs_an_auto_row_and_feeds_it(fresh_default_feed):
    row = hitl_nb.notify(action="create_draft", args={"to": "ada@example.com"},
                         result="draft 12 saved", reason="drafts are reversible")
    assert (row["source"], row["decision"], row["spectrum_level"]) == ("policy", "auto", "notify")
    assert row["message"] == "draft 12 saved"
    assert row["final_args"] == {"to": "ada@example.com"}
    [item] = fresh_default_feed.items
    assert item.id == row["request_id"]
    assert item.to_json()["result"] == "draft 12 saved"
    assert item.to_json()["nonce"] is None  # no compensator: nothing to undo
    df = hitl_nb.log().to_pandas()
    assert list(df.decision) == ["auto"]
    assert hitl_nb.log().verify().ok


def test_decorated_tool_runs_notifies_and_undoes_once(fresh_default_feed):
    calendar = Calendar()

    @hitl_nb.notifies(undo=lambda result, args: calendar.cancel(result["id"]))
    def send_invite(to: str, when: str = "monday") -> dict[str, Any]:
        return calendar.invite(to, when)

    out = send_invite("ada@example.com", when="friday")
    assert out == {"id": 1, "to": "ada@example.com"}
    [item] = fresh_default_feed.items
    assert item.request.action == "send_invite"
    assert item.request.args == {"to": "ada@example.com", "when": "friday"}
    assert fresh_default_feed.undo(item.id) == "invite 1 cancelled"
    assert calendar.cancelled == [1]
    with pytest.raises(hitl_nb.UndoError, match="already undone"):
        fresh_default_feed.undo(item.id)
    assert calendar.cancelled == [1]
    rows = hitl_nb.log().rows_for(item.id)
    assert [r["decision"] for r in rows] == ["auto", "undo"]
    assert (rows[1]["source"], rows[1]["reviewer"]) == ("human", "tester")
    assert rows[1]["message"] == "invite 1 cancelled"
    assert rows[1]["edited"] is False
    assert hitl_nb.log().to_pandas().decision.tolist() == ["auto", "undo"]


def test_undo_window_closes(fresh_default_feed):
    calls: list[str] = []
    hitl_nb.notify(action="tag", result="ok", undo=lambda: calls.append("undo"),
                   undo_window=60)
    [item] = fresh_default_feed.items
    assert item.undo_until == item.at + timedelta(seconds=60)
    with pytest.raises(hitl_nb.UndoError, match="closed 30 s ago"):
        fresh_default_feed.undo(item.id, now=item.at + timedelta(seconds=90))
    assert calls == []
    assert fresh_default_feed.undo(item.id, now=item.at + timedelta(seconds=59)) is None
    assert calls == ["undo"]


def test_feed_default_window_is_configurable():
    feed = hitl_nb.feed(undo_window=5)
    hitl_nb.notify(action="tag", undo=lambda: None)
    item = feed.items[-1]
    assert item.undo_until == item.at + timedelta(seconds=5)
    with pytest.raises(ValueError, match="undo_window is in seconds and must be a number >= 0"):
        hitl_nb.feed(undo_window=-1)


@pytest.mark.parametrize(("kwargs", "error", "says"), [
    ({"level": "nope"}, ValueError, "level must be one of ['autonomy', 'notify'"),
    ({"confidence": 5}, ValueError, "confidence must be between 0 and 1, got 5"),
    ({"confidence": float("nan")}, ValueError, "confidence must be a number"),
    ({"undo_window": -5}, ValueError, "undo_window is in seconds and must be a number >= 0"),
    ({"undo_window": "60"}, ValueError, "undo_window is in seconds"),
    ({"undo": "reverse it"}, TypeError, "undo must be a function"),
    ({"args": [1, 2]}, TypeError, "args must be a dict of the action's arguments, got list"),
])
def test_bad_notify_input_is_refused_before_anything_is_logged(fresh_default_feed, kwargs,
                                                                error, says):
    log = hitl_nb.FeedbackLog()
    with pytest.raises(error, match=re.escape(says)):
        hitl_nb.notify(action="tag", log=log, **kwargs)
    assert len(log) == 0
    assert fresh_default_feed.items == []


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"level": "bogus"}, ValueError), ({"undo": 3}, TypeError), ({"undo_window": -1}, ValueError)])
def test_bad_notifies_options_fail_when_decorating(kwargs, error):
    with pytest.raises(error):
        hitl_nb.notifies(**kwargs)


def test_action_without_compensator_cannot_be_undone(fresh_default_feed):
    hitl_nb.notify(action="fetch_page", result="<html>")
    with pytest.raises(hitl_nb.UndoError, match="registered no compensating action"):
        fresh_default_feed.undo(fresh_default_feed.items[0].id)
    with pytest.raises(hitl_nb.UndoError, match="no notification"):
        fresh_default_feed.undo("auto:forged")


def test_failing_compensator_is_logged_and_never_rerun(fresh_default_feed):
    attempts: list[int] = []

    def broken() -> None:
        attempts.append(1)
        raise ConnectionError("calendar API down")

    hitl_nb.notify(action="send_invite", undo=broken)
    item = fresh_default_feed.items[0]
    with pytest.raises(hitl_nb.UndoError, match="raised ConnectionError: calendar API down"):
        fresh_default_feed.undo(item.id)
    with pytest.raises(hitl_nb.UndoError, match="already ran and failed"):
        fresh_default_feed.undo(item.id)
    assert attempts == [1]
    rows = hitl_nb.log().rows_for(item.id)
    assert rows[-1]["decision"] == "undo"
    assert rows[-1]["message"] == "undo failed: ConnectionError: calendar API down"


def undo_message(widget: Any, index: int = -1) -> dict[str, Any]:
    item = widget.items[index]
    return {"type": "undo", "id": item["id"], "nonce": item["nonce"]}


def synced(widget: Any, check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until `check()` holds: what arrives within the throttle interval of the last
    sync follows on the widget's timer. Fails if it never holds."""
    give_up = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < give_up, f"not synced after {seconds} s: {widget.items}"
        time.sleep(0.01)


def sent_states(widget: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every state update the widget sends from now on, as its comm carries it."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(widget.comm, "send", lambda data, **_: data.get("method") == "update"
                        and sent.append(data["state"]))
    return sent


def test_widget_updates_live_and_undoes_on_click(fresh_default_feed):
    calendar = Calendar()
    widget = fresh_default_feed.widget()
    assert widget.items == []
    invite = hitl_nb.notifies(undo=lambda r, a: calendar.cancel(r["id"]))(calendar.invite)
    invite("ada@example.com")
    invite("alan@example.com")
    synced(widget, lambda: widget.total == 2)
    assert [i["args"]["to"] for i in widget.items] == ["ada@example.com", "alan@example.com"]
    message = undo_message(widget, 0)
    send(widget, message)
    assert calendar.cancelled == [1]
    assert widget.items[0]["state"] == "undone"
    assert widget.items[0]["nonce"] is None
    send(widget, message)  # double click / replay
    assert calendar.cancelled == [1]
    assert "already undone" in widget.refusals[-1]
    assert widget.items[1]["state"] == "done"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [({"nonce": "0" * 32}, "token does not match"),
     ({"nonce": "ü" * 32}, "token does not match"),
     ({"id": "auto:nope"}, "no notification"),
     ({"extra": 1}, "unexpected fields"),
     ({"type": "approve"}, "not an undo")],
)
def test_forged_undo_messages_run_nothing(fresh_default_feed, tamper, reason):
    calls: list[int] = []
    hitl_nb.notify(action="tag", undo=lambda: calls.append(1))
    widget = fresh_default_feed.widget()
    send(widget, {**undo_message(widget), **tamper})
    assert reason in widget.refusals[-1]
    assert calls == []
    assert [r["decision"] for r in hitl_nb.log()] == ["auto"]


def test_click_after_the_window_closed_says_so(fresh_default_feed):
    calls: list[int] = []
    hitl_nb.notify(action="tag", undo=lambda: calls.append(1), undo_window=0)
    widget = fresh_default_feed.widget()
    item = fresh_default_feed.items[0]
    item.undo_until = utcnow() - timedelta(seconds=3)  # the browser still shows its button
    send(widget, {"type": "undo", "id": item.id, "nonce": item.nonce})
    assert "undo window of tag closed" in widget.refusals[-1]
    assert calls == []


def test_feed_widget_keeps_the_latest_items_only(fresh_default_feed):
    from hitl_nb.widgets.feed import SHOWN

    for n in range(SHOWN + 7):
        hitl_nb.notify(action="tag", args={"n": n})
    widget = fresh_default_feed.widget()
    assert widget.total == SHOWN + 7
    assert [i["args"]["n"] for i in widget.items] == list(range(7, SHOWN + 7))


def test_notify_inside_a_graph_takes_the_thread_id(fresh_default_feed):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class S(TypedDict, total=False):
        done: bool

    widget = fresh_default_feed.widget()
    seen_while_running: list[list[str]] = []

    def node(state: S) -> S:
        hitl_nb.notify(action="tag_order", args={"order": 1})
        seen_while_running.append([i["action"] for i in widget.items])  # synced already
        hitl_nb.notify(action="tag_order", args={"order": 2})
        return {"done": True}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.compile(checkpointer=InMemorySaver()).invoke(
        {}, {"configurable": {"thread_id": "feed-thread"}})
    assert seen_while_running == [["tag_order"]]
    synced(widget, lambda: len(widget.items) == 2)
    assert fresh_default_feed.items[0].request.thread_id == "feed-thread"
    assert hitl_nb.log().to_pandas().thread_id.tolist() == ["feed-thread", "feed-thread"]


def test_demo_agent_schedules_a_call_at_notify_level_and_undo_cancels_it(fresh_default_feed):
    from hitl_nb.demo import SupportDesk, support_agent

    desk = SupportDesk()
    session = hitl_nb.Session(support_agent(desk), {"configurable": {"thread_id": "call"}})
    session.invoke({"messages": [("user", "schedule a call about order 1043")]})
    assert session.done  # notify level: it did not stop
    assert desk.calls == {1: {"order": 1043, "customer": "alan@example.com",
                              "when": "tomorrow 10:00"}}
    [item] = fresh_default_feed.items
    assert (item.request.action, item.request.level) == ("schedule_call", "notify")
    assert item.result == "call 1 scheduled with alan@example.com for tomorrow 10:00"
    widget = fresh_default_feed.widget()
    send(widget, undo_message(widget))
    assert desk.calls == {}
    assert desk.count("cancel_call") == 1
    assert [(r["decision"], r["thread_id"]) for r in hitl_nb.log()] == [
        ("auto", "call"), ("undo", "call")]


class ManualTimer:
    """Stands in for `threading.Timer`: fires when the test says so."""

    def __init__(self, interval: float, function: Callable[[], None]) -> None:
        self.interval, self.function = interval, function
        self.daemon = self.started = self.cancelled = False

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        assert self.started
        assert not self.cancelled
        self.function()


def test_a_burst_of_notifications_is_synced_at_most_ten_times_a_second(
        fresh_default_feed, monkeypatch):
    from hitl_nb.widgets import feed as feed_module

    widget = fresh_default_feed.widget()
    sent = sent_states(widget, monkeypatch)
    timers: list[ManualTimer] = []
    monkeypatch.setattr(feed_module.threading, "Timer",
                        lambda interval, fn: timers.append(ManualTimer(interval, fn)) or timers[-1])
    now = [1000.0]
    monkeypatch.setattr(feed_module.time, "monotonic", lambda: now[0])
    for n in range(500):  # a tight loop: no time passes
        hitl_nb.notify(action="tag", args={"n": n})
    # the first goes out at once; the other 499 wait for one timer, one interval later
    assert [state["total"] for state in sent] == [1]
    [timer] = timers
    assert timer.interval == feed_module.MIN_INTERVAL
    timer.fire()
    assert [state["total"] for state in sent] == [1, 500]
    assert sent[-1]["items"][-1]["args"] == {"n": 499}
    now[0] += feed_module.MIN_INTERVAL  # a quiet interval later: sent at once again
    hitl_nb.notify(action="tag", args={"n": 500})
    assert [state["total"] for state in sent] == [1, 500, 501]
    assert len(timers) == 1


def test_notifications_of_a_run_a_click_resumed_reach_the_feed_without_a_cell(
        fresh_default_feed, monkeypatch):
    """A click resumes the run through a comm message: no cell executes (IPython fires no
    `post_execute`), yet every notification of the run reaches the browser promptly."""
    from IPython.core.interactiveshell import InteractiveShell
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class Invites(TypedDict, total=False):
        sent: list[str]

    @hitl_nb.notifies()
    def send_invite(to: str) -> str:
        return f"invited {to}"

    def invite_all(state: Invites) -> Invites:
        decision = hitl_nb.ask(action="invite_all", args={"who": ["ada", "alan", "grace"]})
        return {"sent": [send_invite(who) for who in decision.args["who"]]}

    builder = StateGraph(Invites)
    builder.add_node("invite_all", invite_all)
    builder.add_edge(START, "invite_all")
    graph = builder.compile(checkpointer=InMemorySaver())
    shell = InteractiveShell.instance()  # a kernel's shell, between two cells
    try:
        monkeypatch.setattr("IPython.get_ipython", lambda: shell)
        feed_widget = fresh_default_feed.widget()
        sent = sent_states(feed_widget, monkeypatch)
        review = hitl_nb.Session(graph, config()).invoke({}).widget()
        [request] = review.requests
        send(review, {"type": "decision", "request_id": request["request_id"],
                      "nonce": request["nonce"], "action": "approve"})
        assert len(fresh_default_feed.items) == 3  # the run ran
        synced(feed_widget, lambda: bool(sent) and sent[-1].get("total") == 3)
        assert [item["result"] for item in sent[-1]["items"]] == [
            "invited ada", "invited alan", "invited grace"]
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.parametrize("how", ["graph.ainvoke", "Session.ainvoke"])
def test_an_async_tool_under_notifies_runs_then_is_logged_with_its_result(
        how, fresh_default_feed):
    import asyncio
    import inspect

    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver

    booked: list[str] = []

    @tool
    @hitl_nb.notifies(undo=lambda result, args: booked.remove(args["room"]))
    async def book(room: str) -> str:
        """Book a meeting room."""
        await asyncio.sleep(0)
        booked.append(room)
        return f"booked {room}"

    assert inspect.iscoroutinefunction(book.coroutine)
    model = ToolCallingFake(messages=iter([
        AIMessage("", tool_calls=[{"name": "book", "args": {"room": "A1"}, "id": "c1"}]),
        AIMessage("done")]))
    agent = create_agent(model, [book], checkpointer=InMemorySaver())
    inputs = {"messages": [("user", "book A1")]}
    if how == "graph.ainvoke":
        out = asyncio.run(agent.ainvoke(inputs, config()))
    else:
        out = asyncio.run(hitl_nb.Session(agent, config()).ainvoke(inputs)).result
    assert [m.content for m in out["messages"] if m.type == "tool"] == ["booked A1"]
    assert booked == ["A1"]
    [item] = fresh_default_feed.items
    assert (item.request.action, item.request.args, item.result) == (
        "book", {"room": "A1"}, "booked A1")
    assert [(r["decision"], r["message"]) for r in hitl_nb.log()] == [("auto", "booked A1")]
    fresh_default_feed.undo(item.id)
    assert booked == []


def test_an_async_function_that_raises_under_notifies_is_not_logged(fresh_default_feed):
    import asyncio

    @hitl_nb.notifies()
    async def ping(host: str) -> str:
        raise ConnectionError(host)

    with pytest.raises(ConnectionError):
        asyncio.run(ping("example.com"))
    assert fresh_default_feed.items == []
    assert len(hitl_nb.log()) == 0


def test_a_compensation_registered_with_compensate_is_the_feeds_undo(fresh_default_feed):
    """One registry: `hitl_nb.compensate` serves Session.undo and the notification feed."""
    from hitl_nb import _override

    calendar = Calendar()
    try:
        hitl_nb.compensate("send_invite", lambda args: calendar.cancel(args["id"]))
        made = calendar.invite("ada@example.com")
        hitl_nb.notify(action="send_invite", args={"id": made["id"]}, result=made)
        item = fresh_default_feed.items[0]
        assert item.can_undo()
        fresh_default_feed.undo(item.id)
        assert calendar.cancelled == [made["id"]]
        with pytest.raises(hitl_nb.UndoError):
            fresh_default_feed.undo(item.id)
        assert calendar.cancelled == [made["id"]]  # once
    finally:
        _override.reset()
