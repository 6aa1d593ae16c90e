"""`policy.guard` on async code behaves like on sync code: an `async def`, an async
LangChain tool and a guarded `ToolNode` of async tools, run with `await graph.ainvoke`
and with `Session.ainvoke`, gate, ask, edit, reject, notify (with the real result, once
the action ran), feed and undo exactly as their sync twins run with `invoke`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ToolCallingFake, config
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import Critical, Decision, Policy, Threshold, _override

# refunds: notify level, and confirm above 50; lookups: autonomy
POLICY = Policy([Critical(actions=["refund"], level="notify"),
                 Threshold("amount", ">", 50, actions=["refund"])])
# (tools, how the graph runs): the sync twin first, then the two async ways
MODES = [("sync", "invoke"), ("async", "Session.ainvoke"), ("async", "graph.ainvoke")]
EDIT = Decision(action="edit", args={"order": 2, "amount": 40.0})

Ran = list[tuple[Any, ...]]


@pytest.fixture(autouse=True)
def no_compensations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_override, "_by_action", {})


def run(graph: Any, how: str, inputs: Any, decision: Decision | None = None) -> Any:
    """Run `graph` as `how` says, answer its one pause (if `decision`), return the result."""
    cfg = config()
    if how == "graph.ainvoke":  # no Session: resumed with the value hitl_nb.ask expects
        async def go() -> Any:
            out = await graph.ainvoke(inputs, cfg)
            if decision is None:
                assert "__interrupt__" not in out
                return out
            [pause] = out["__interrupt__"]
            assert pause.value["level"] == "confirm"
            return await graph.ainvoke(Command(resume=decision.to_resume()), cfg)

        return asyncio.run(go())
    session = hitl_nb.Session(graph, cfg)
    if how == "invoke":
        session.invoke(inputs)
    else:
        asyncio.run(session.ainvoke(inputs))
    if decision is not None:
        [request] = session.pending
        assert (request.action, request.level) == ("refund", "confirm")
        session.decide(request.request_id, decision.action, args=decision.args or None,
                       message=decision.message)
    assert session.status == "done", session.error
    return session.result


def auto_rows() -> list[tuple[str, Any, Any]]:
    return [(r["action_name"], r["final_args"], r["message"]) for r in hitl_nb.log()
            if r["decision"] == "auto"]


def undo_the_only_notification(feed: hitl_nb.Feed, ran: Ran) -> None:
    """The feed offers the registered compensation as Undo; it runs once, is logged."""
    [item] = feed.items
    assert item.can_undo()
    feed.undo(item.id)
    assert ran[-1][0] == "unrefund"
    assert [r["decision"] for r in hitl_nb.log()][-1] == "undo"


# -- a guarded function called in a node -------------------------------------------------
class Refund(TypedDict, total=False):
    amount: float
    out: str


def function_graph(kind: str, ran: Ran) -> Any:
    def body(order: int, amount: float) -> str:
        ran.append(("refund", order, amount))
        return f"refunded {amount}"

    builder = StateGraph(Refund)
    if kind == "sync":
        @POLICY.guard
        def refund(order: int, amount: float) -> str:
            return body(order, amount)

        def node(state: Refund) -> Refund:
            return {"out": refund(order=2, amount=state["amount"])}

        builder.add_node("node", node)
    else:
        @POLICY.guard
        async def refund(order: int, amount: float) -> str:
            await asyncio.sleep(0)
            return body(order, amount)

        assert inspect.iscoroutinefunction(refund)

        async def anode(state: Refund) -> Refund:
            return {"out": await refund(order=2, amount=state["amount"])}

        builder.add_node("node", anode)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize(("kind", "how"), MODES)
def test_a_guarded_function_at_notify_level_logs_its_real_result(kind, how, fresh_default_feed):
    ran: Ran = []
    hitl_nb.compensate("refund", lambda args: ran.append(("unrefund", args["amount"])))
    out = run(function_graph(kind, ran), how, {"amount": 20.0})
    assert out["out"] == "refunded 20.0"
    assert ran == [("refund", 2, 20.0)]
    assert auto_rows() == [("refund", {"order": 2, "amount": 20.0}, "refunded 20.0")]
    assert fresh_default_feed.items[0].result == "refunded 20.0"
    undo_the_only_notification(fresh_default_feed, ran)
    assert ran[-1] == ("unrefund", 20.0)


@pytest.mark.parametrize(("kind", "how"), MODES)
@pytest.mark.parametrize(("decision", "expected_out", "expected_ran"), [
    (EDIT, "refunded 40.0", [("refund", 2, 40.0)]),
    (Decision(action="reject", message="no receipt"), "rejected by reviewer: no receipt", []),
])
def test_a_guarded_function_above_the_threshold_asks_first(kind, how, decision, expected_out,
                                                           expected_ran):
    ran: Ran = []
    out = run(function_graph(kind, ran), how, {"amount": 80.0}, decision)
    assert out["out"] == expected_out
    assert ran == expected_ran  # once, with the edited arguments, or not at all
    assert auto_rows() == []  # reviewed, so not also "auto"


def test_an_async_guarded_function_that_raises_notifies_nothing(fresh_default_feed):
    @POLICY.guard
    async def refund(order: int, amount: float) -> str:
        raise ConnectionError("bank API timeout")

    with pytest.raises(ConnectionError):
        asyncio.run(refund(order=1, amount=20.0))  # notify level: runs without a graph
    assert len(hitl_nb.log()) == 0
    assert fresh_default_feed.items == []


# -- LangChain tools: guarded alone (create_agent) and as a guarded ToolNode ------------
def refund_tools(kind: str, ran: Ran) -> list[BaseTool]:
    """refund and lookup, with a sync body only, or a coroutine only (`@tool async def`)."""

    def refund(order: int, amount: float) -> str:
        ran.append(("refund", order, amount))
        return f"refunded {amount}"

    def lookup(order: int) -> str:
        ran.append(("lookup", order))
        return f"order {order}: shipped"

    def as_tool(fn: Callable[..., str], description: str) -> BaseTool:
        async def coroutine(**kwargs: Any) -> str:
            await asyncio.sleep(0)
            return fn(**kwargs)

        sync_tool = StructuredTool.from_function(fn, description=description)
        if kind == "sync":
            return sync_tool
        return StructuredTool.from_function(coroutine=coroutine, name=sync_tool.name,
                                            description=description,
                                            args_schema=sync_tool.args_schema)

    return [as_tool(refund, "Refund `amount` on `order`."),
            as_tool(lookup, "Look an order up.")]


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id}


def tool_answers(out: Any) -> list[str]:
    return [m.content for m in out["messages"] if isinstance(m, ToolMessage)]


@pytest.mark.parametrize(("kind", "how"), MODES)
def test_a_guarded_tool_under_create_agent(kind, how, fresh_default_feed):
    from langchain.agents import create_agent

    ran: Ran = []
    refund, lookup = refund_tools(kind, ran)
    model = ToolCallingFake(messages=iter([
        AIMessage("", tool_calls=[call("refund", "small", order=1, amount=20.0)]),
        AIMessage("", tool_calls=[call("refund", "big", order=2, amount=80.0)]),
        AIMessage("done")]))
    agent = create_agent(model, [POLICY.guard(refund), lookup], checkpointer=InMemorySaver())
    out = run(agent, how, {"messages": [("user", "refund both")]}, EDIT)
    assert tool_answers(out) == ["refunded 20.0", "refunded 40.0"]
    assert ran == [("refund", 1, 20.0), ("refund", 2, 40.0)]
    assert auto_rows() == [("refund", {"order": 1, "amount": 20.0}, "refunded 20.0")]
    assert [i.result for i in fresh_default_feed.items] == ["refunded 20.0"]


def test_a_guarded_async_only_tool_refuses_sync_calls_before_asking():
    ran: Ran = []
    refund, _ = refund_tools("async", ran)
    guarded = POLICY.guard(refund)
    with pytest.raises(NotImplementedError, match="does not support sync invocation"):
        guarded.invoke({"order": 1, "amount": 80.0})
    assert ran == []
    assert len(hitl_nb.log()) == 0


def tool_node_graph(kind: str, ran: Ran) -> Any:
    model = ToolCallingFake(messages=iter([
        AIMessage("", id="ai-1", tool_calls=[call("refund", "big", order=2, amount=80.0),
                                             call("refund", "small", order=1, amount=20.0),
                                             call("lookup", "look", order=7)]),
        AIMessage("done")]))
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("tools", POLICY.guard(ToolNode(refund_tools(kind, ran))))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize(("kind", "how"), MODES)
def test_a_guarded_tool_node_asks_then_runs_every_call_once(kind, how, fresh_default_feed):
    ran: Ran = []
    hitl_nb.compensate("refund", lambda args: ran.append(("unrefund", args["amount"])))
    out = run(tool_node_graph(kind, ran), how, {"messages": [("user", "refunds")]}, EDIT)
    # one answer per call, in the calls' order; the AI message shows the edited call
    assert tool_answers(out) == ["refunded 40.0", "refunded 20.0", "order 7: shipped"]
    [ai] = [m for m in out["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert [c["args"].get("amount") for c in ai.tool_calls] == [40.0, 20.0, None]
    assert sorted(ran) == [("lookup", 7), ("refund", 1, 20.0), ("refund", 2, 40.0)]
    assert auto_rows() == [("refund", {"order": 1, "amount": 20.0}, "refunded 20.0")]
    undo_the_only_notification(fresh_default_feed, ran)
    assert ran[-1] == ("unrefund", 20.0)
