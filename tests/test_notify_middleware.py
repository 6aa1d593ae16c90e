"""The notify level wherever a graph runs: `policy.notify_middleware()` under LangChain's
`create_agent` (batched and per-call review), and rows written inside a Session's run
landing in that Session's log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import ToolCallingFake, config
from langchain_core.messages import AIMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import hitl_nb
from hitl_nb import Critical, Policy, Threshold, _override

ran: list[tuple[str, Any]] = []


@tool
def tag_ticket(ticket: int, label: str) -> str:
    """Put a label on a ticket."""
    ran.append(("tag", ticket))
    return f"tagged {ticket} {label}"


@tool
def refund(order: int, amount: float) -> str:
    """Refund `amount` on `order`."""
    ran.append(("refund", amount))
    return f"refunded {amount}"


@tool
def lookup(order: int) -> str:
    """Look an order up."""
    ran.append(("lookup", order))
    return f"order {order}: shipped"


@tool
def flaky(ticket: int) -> str:
    """A tool that fails."""
    ran.append(("flaky", ticket))
    raise ToolException("backend down")


flaky.handle_tool_error = True  # the error goes back to the model as an error message


TOOLS = [tag_ticket, refund, lookup, flaky]
# tags and flaky: notify; refunds above 50: confirm, others notify; lookups: autonomy
POLICY = Policy([Critical(actions=["tag_ticket", "flaky"], level="notify"),
                 Critical(actions=["refund"], level="notify"),
                 Threshold("amount", ">", 50, actions=["refund"])])


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    ran.clear()
    monkeypatch.setattr(_override, "_by_action", {})


def agent(calls: list[dict[str, Any]], mode: str = "batched", *, notify: bool = True) -> Any:
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    model = ToolCallingFake(messages=iter([AIMessage(content="", tool_calls=calls),
                                          AIMessage(content="done")]))
    middleware: list[Any] = [HumanInTheLoopMiddleware(
        interrupt_on=POLICY.interrupt_on(TOOLS), interrupt_mode=mode)]  # type: ignore[arg-type]
    if notify:
        middleware.append(POLICY.notify_middleware())
    return create_agent(model, TOOLS, middleware=middleware, checkpointer=InMemorySaver())


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id}


def rows(log: hitl_nb.FeedbackLog) -> list[tuple[str, str, str, str]]:
    return [(r["action_name"], r["source"], r["decision"], r["spectrum_level"]) for r in log]


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_notify_level_calls_under_create_agent_are_logged_and_fed(mode, fresh_default_feed):
    hitl_nb.compensate("tag_ticket", lambda args: ran.append(("untag", args["ticket"])))
    calls = [call("tag_ticket", "a", ticket=1, label="bug"),
             call("refund", "b", order=7, amount=80.0), call("lookup", "c", order=7)]
    session = hitl_nb.Session(agent(calls, mode), config(), policy=POLICY)
    session.invoke({"messages": [("user", "go")]})
    [pending] = session.pending
    assert (pending.action, pending.level) == ("refund", "confirm")
    session.approve()
    assert session.status == "done"
    assert sorted(ran) == [("lookup", 7), ("refund", 80.0), ("tag", 1)]
    # lookup (autonomy) runs without a row, as under policy.guard
    assert sorted(rows(hitl_nb.log())) == [("refund", "human", "approve", "confirm"),
                                           ("tag_ticket", "policy", "auto", "notify")]
    auto = next(r for r in hitl_nb.log() if r["decision"] == "auto")
    assert auto["final_args"] == {"ticket": 1, "label": "bug"}
    assert auto["message"] == "tagged 1 bug"
    assert auto["thread_id"] == session.thread_id
    [item] = fresh_default_feed.items
    assert (item.request.action, item.request.level, item.result) == (
        "tag_ticket", "notify", "tagged 1 bug")
    assert item.can_undo()
    fresh_default_feed.undo(item.id)
    assert ran[-1] == ("untag", 1)
    assert rows(hitl_nb.log())[-1] == ("tag_ticket", "human", "undo", "notify")


def test_without_the_middleware_the_notify_call_leaves_no_trace(fresh_default_feed):
    # the gap the middleware closes (audit p13): the tag runs, unseen
    session = hitl_nb.Session(agent([call("tag_ticket", "a", ticket=1, label="bug")],
                                    notify=False), config(), policy=POLICY)
    session.invoke({"messages": [("user", "go")]})
    assert ran == [("tag", 1)]
    assert len(hitl_nb.log()) == 0
    assert fresh_default_feed.items == []


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_a_reviewed_call_is_not_also_logged_as_auto(mode, fresh_default_feed):
    # edited down to 30, the refund would be notify level: but a human decided it
    session = hitl_nb.Session(agent([call("refund", "b", order=7, amount=80.0)], mode),
                              config(), policy=POLICY)
    session.invoke({"messages": [("user", "go")]})
    session.edit({"order": 7, "amount": 30.0})
    assert session.status == "done"
    assert ran == [("refund", 30.0)]
    assert rows(hitl_nb.log()) == [("refund", "human", "edit", "confirm")]
    assert fresh_default_feed.items == []


def test_a_failed_notify_call_is_not_reported_as_done(fresh_default_feed):
    session = hitl_nb.Session(agent([call("flaky", "f", ticket=3)]), config(), policy=POLICY)
    session.invoke({"messages": [("user", "go")]})
    assert session.status == "done"
    assert ran == [("flaky", 3)]
    [answer] = [m for m in session.result["messages"] if m.type == "tool"]
    assert (answer.status, answer.content) == ("error", "backend down")
    assert len(hitl_nb.log()) == 0
    assert fresh_default_feed.items == []


def test_async_agents_are_recorded_too(fresh_default_feed):
    graph = agent([call("tag_ticket", "a", ticket=2, label="question")])
    out = asyncio.run(graph.ainvoke({"messages": [("user", "go")]}, config("async-run")))
    assert out["messages"][-1].content == "done"
    assert rows(hitl_nb.log()) == [("tag_ticket", "policy", "auto", "notify")]
    assert [(i.request.thread_id, i.result) for i in fresh_default_feed.items] == [
        ("async-run", "tagged 2 question")]


# -- rows written inside a Session's run go to that Session's log -------------------------
def guarded_graph() -> Any:
    model = ToolCallingFake(messages=iter([
        AIMessage(content="", tool_calls=[call("tag_ticket", "a", ticket=1, label="bug")]),
        AIMessage(content="done")]))
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("tools", POLICY.guard(ToolNode(TOOLS)))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("make", [guarded_graph, lambda: agent(
    [call("tag_ticket", "a", ticket=1, label="bug")])], ids=["guard", "middleware"])
def test_auto_rows_of_a_run_land_in_the_sessions_log(make):
    mine = hitl_nb.FeedbackLog()
    session = hitl_nb.Session(make(), config(), log=mine, policy=POLICY)
    session.invoke({"messages": [("user", "go")]})
    assert session.status == "done"
    assert ran == [("tag", 1)]
    assert rows(mine) == [("tag_ticket", "policy", "auto", "notify")]
    assert len(hitl_nb.log()) == 0
