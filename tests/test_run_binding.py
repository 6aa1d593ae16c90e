"""A review stays bound to the run it was shown for: its thread (not the caller's config
dict), its checkpoint (a time-travel fork is answered once), its `context=` and other
invoke options, sync or async, and a thread that paused before the session existed."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from conftest import config
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb._log import run_log


class S(TypedDict, total=False):
    topic: str
    answers: list[str]
    sent: str


@dataclasses.dataclass
class Ctx:
    user: str


def one_node(node: Any, *, checkpointed: bool = True, **builder: Any) -> Any:
    """A graph of the one node `node` (named after it), with an in-memory checkpointer."""
    graph = StateGraph(S, **builder)
    graph.add_node(node.__name__, node)
    graph.add_edge(START, node.__name__)
    return graph.compile(checkpointer=InMemorySaver() if checkpointed else None)


def answer_graph(calls: list[str]) -> Any:
    """`ask_topic` asks a plain question; each run of the node after the pause is counted."""

    def ask_topic(state: S) -> dict[str, Any]:
        answer = interrupt("Which topic?")
        calls.append(answer)
        return {"answers": [*state.get("answers", []), answer]}

    return one_node(ask_topic)


def test_a_session_on_a_paused_thread_starts_from_its_checkpoint():
    calls: list[str] = []
    graph, cfg = answer_graph(calls), config()
    graph.invoke({}, cfg)  # paused before any Session existed
    session = hitl_nb.Session(graph, cfg)
    assert [r.reason for r in session.pending] == ["Which topic?"]
    assert session.status == "pending"
    session.respond("birds")
    assert calls == ["birds"]
    assert session.result["answers"] == ["birds"]


def test_a_fresh_thread_is_idle_until_invoked():
    session = hitl_nb.Session(answer_graph([]), config())
    assert (session.status, session.pending, session.result) == ("idle", [], None)


def test_a_fork_from_a_pinned_checkpoint_is_answered_once():
    calls: list[str] = []
    graph, cfg = answer_graph(calls), config()
    graph.invoke({}, cfg)
    pinned = graph.get_state(cfg).config  # carries checkpoint_id, as history entries do
    assert pinned["configurable"]["checkpoint_id"]
    session = hitl_nb.Session(graph, pinned)
    session.respond("first")
    assert session.done
    with pytest.raises(hitl_nb.StaleDecision):
        session.respond("second")
    assert calls == ["first"]
    assert [r["message"] for r in hitl_nb.log()] == ["first"]


def test_the_callers_config_can_be_reused_for_the_next_thread():
    calls: list[str] = []
    graph = answer_graph(calls)
    cfg = {"configurable": {"thread_id": "alice"}}
    alice = hitl_nb.Session(graph, cfg).invoke({})
    cfg["configurable"]["thread_id"] = "bob"  # a notebook moves on to the next thread
    hitl_nb.Session(graph, cfg).invoke({})
    alice.respond("for alice")
    assert alice.thread_id == "alice"
    assert graph.get_state({"configurable": {"thread_id": "alice"}}).values["answers"] == [
        "for alice"]
    assert graph.get_state({"configurable": {"thread_id": "bob"}}).interrupts


def context_graph(seen: list[str]) -> Any:
    def greet(state: S, runtime: Runtime[Ctx]) -> dict[str, Any]:
        decision = hitl_nb.ask(action="send", args={"text": f"hi {runtime.context.user}"})
        seen.append(runtime.context.user)
        return {"sent": decision.args["text"]}

    return one_node(greet, context_schema=Ctx)


def test_context_given_to_invoke_is_given_again_on_resume():
    seen: list[str] = []
    session = hitl_nb.Session(context_graph(seen), config()).invoke({}, context=Ctx("ann"))
    assert session.pending[0].args == {"text": "hi ann"}
    session.approve()
    assert seen == ["ann"]
    assert session.result["sent"] == "hi ann"


def test_invoke_refuses_options_it_cannot_keep_and_graphs_without_checkpointer():
    graph = answer_graph([])
    with pytest.raises(TypeError, match=r"\['stream_mode'\]"):
        hitl_nb.Session(graph, config()).invoke({}, stream_mode="updates")
    def ask_topic(state: S) -> dict[str, Any]:
        return {"topic": interrupt("?")}

    with pytest.raises(ValueError, match=r"no checkpointer.*checkpointer=InMemorySaver"):
        hitl_nb.Session(one_node(ask_topic, checkpointed=False), config()).invoke({})


def async_graph(calls: list[str]) -> Any:
    async def ask_topic(state: S) -> dict[str, Any]:  # async only: no sync version exists
        decision = hitl_nb.ask(action="publish", args={"topic": "owls"})
        await asyncio.sleep(0)
        calls.append(decision.args["topic"])
        return {"topic": decision.args["topic"]}

    return one_node(ask_topic)


def test_an_async_graph_is_resumed_with_ainvoke():
    calls: list[str] = []
    session = hitl_nb.Session(async_graph(calls), config())
    asyncio.run(session.ainvoke({}))
    assert [r.action for r in session.pending] == ["publish"]
    session.edit({"topic": "larks"})  # a sync call, as a click is
    assert calls == ["larks"]
    assert session.result == {"topic": "larks"}
    assert session.done


def test_rows_written_inside_a_run_go_to_the_sessions_log():
    mine = hitl_nb.FeedbackLog()
    logs: list[hitl_nb.FeedbackLog] = []

    def node(state: S) -> dict[str, Any]:
        logs.append(run_log())
        return {"topic": interrupt("go?") and "go"}

    session = hitl_nb.Session(one_node(node), config(),
                              log=mine).invoke({})
    session.approve()
    assert logs == [mine, mine]
    assert run_log() is hitl_nb.log()  # outside a run: the kernel default


def breakpoint_graph(ran: list[int]) -> Any:
    def prepare(state: S) -> dict[str, Any]:
        return {"topic": "owls"}

    def publish(state: S) -> dict[str, Any]:
        ran.append(1)
        return {"sent": state["topic"]}

    builder = StateGraph(S)
    builder.add_node("prepare", prepare)
    builder.add_node("publish", publish)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "publish")
    return builder.compile(checkpointer=InMemorySaver(), interrupt_before=["publish"])


def test_a_static_breakpoint_approved_runs_the_node():
    ran: list[int] = []
    session = hitl_nb.Session(breakpoint_graph(ran), config()).invoke({})
    [request] = session.pending
    assert (request.kind, request.action, request.allowed) == ("breakpoint", "publish",
                                                               ("approve", "reject"))
    session.approve()
    assert (ran, session.status, session.result["sent"]) == ([1], "done", "owls")


def test_a_static_breakpoint_rejected_ends_the_run_for_good():
    ran: list[int] = []
    graph, cfg = breakpoint_graph(ran), config()
    session = hitl_nb.Session(graph, cfg).invoke({})
    session.reject("not today")
    assert (ran, session.status, session.pending) == ([], "stopped", [])
    assert "not today" in str(session.stopped)
    later = hitl_nb.Session(graph, cfg)  # another view, or after a restart
    assert (later.status, later.pending) == ("stopped", [])
    with pytest.raises(hitl_nb.Stopped):
        later.invoke(None)
    assert ran == []
    assert [r["decision"] for r in hitl_nb.log()] == ["reject"]
