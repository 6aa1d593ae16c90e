"""`%load_ext hitl_nb` in a real IPython shell: the last expression becomes the widget."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import send
from IPython.core.interactiveshell import InteractiveShell
from langgraph.pregel import Pregel

import hitl_nb

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch):
    ip = InteractiveShell.instance()
    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(ip.displayhook, "write_format_data",
                        lambda data, md=None: shown.append(data))
    ip.shown = shown  # type: ignore[attr-defined]
    ip.run_cell("%load_ext hitl_nb", store_history=False).raise_error()
    ip.run_cell("""
from hitl_nb.demo import SupportDesk, support_agent
desk = SupportDesk()
graph = support_agent(desk)
config = {"configurable": {"thread_id": "nb-1"}}
""").raise_error()
    yield ip
    ip.run_cell("%unload_ext hitl_nb").raise_error()
    InteractiveShell.clear_instance()


def test_last_expression_invoke_renders_the_review_widget(shell):
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, config)",
                   store_history=True).raise_error()
    [data] = shell.shown
    assert WIDGET in data
    session = hitl_nb.current()
    assert session.thread_id == "nb-1"
    assert [r.action for r in session.pending] == ["issue_refund"]
    # the widget resumes *that* graph and thread
    session.approve()
    assert shell.user_ns["desk"].count("issue_refund") == 1
    assert shell.user_ns["graph"].get_state(shell.user_ns["config"]).next == ("review",)


def test_stored_result_displayed_later_is_still_a_widget(shell):
    shell.run_cell("out = graph.invoke({'messages': [('user', 'delete account 7')]}, config)"
                   ).raise_error()
    shell.run_cell("out", store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    assert hitl_nb.current().pending[0].action == "delete_account"


def test_other_dicts_and_finished_runs_display_as_usual(shell):
    shell.run_cell("{'__interrupt__': 1, 'x': 2}", store_history=True).raise_error()
    shell.run_cell("graph.invoke({'messages': [('user', 'where is order 1043')]}, "
                   "{'configurable': {'thread_id': 'nb-2'}})", store_history=True).raise_error()
    assert [WIDGET in data for data in shell.shown] == [False, False]
    assert "text/plain" in shell.shown[-1]


def test_graph_output_v2_renders_too(shell):
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, config, "
                   "version='v2')", store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]


def test_unload_restores_invoke_and_display(shell):
    patched = Pregel.invoke
    shell.run_cell("%unload_ext hitl_nb").raise_error()
    assert Pregel.invoke is not patched
    assert Pregel.invoke.__qualname__ == "Pregel.invoke"
    assert not hasattr(Pregel.invoke, "__wrapped__")
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, "
                   "{'configurable': {'thread_id': 'nb-3'}})", store_history=True).raise_error()
    assert WIDGET not in shell.shown[-1]
    shell.run_cell("%load_ext hitl_nb").raise_error()  # the fixture unloads again


def test_loading_twice_wraps_once(shell):
    wrapped = Pregel.invoke
    shell.run_cell("%reload_ext hitl_nb").raise_error()
    shell.run_cell("%load_ext hitl_nb").raise_error()
    assert Pregel.invoke.__wrapped__.__qualname__ == "Pregel.invoke"  # type: ignore[attr-defined]
    assert wrapped.__wrapped__ is Pregel.invoke.__wrapped__  # type: ignore[attr-defined]


def test_a_big_queue_displays_as_a_batch_review(shell):
    from ipywidgets.widgets.widget import _instances

    shell.run_cell("""
import hitl_nb
from hitl_nb.demo import refund_queue_agent, refund_requests
queue = refund_queue_agent(desk)
queue.invoke({"requests": refund_requests(120)}, {"configurable": {"thread_id": "q"}})
""", store_history=True).raise_error()
    [data] = shell.shown
    widget = _instances[data[WIDGET]["model_id"]]
    assert isinstance(widget, hitl_nb.BatchReview)
    assert len(widget.rows) == 25
    assert widget.counts["pending"] == 120
    assert len(hitl_nb.current().pending) == 120
    review = hitl_nb.current().widget()  # the card view still works, capped
    assert len(review.requests) == 50
    assert review.pending_total == 120


def test_a_static_breakpoint_renders_and_approve_continues(shell):
    shell.run_cell("""
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict
class S(TypedDict, total=False):
    x: int
ran = []
b = StateGraph(S)
b.add_node("prepare", lambda s: {"x": 1})
b.add_node("danger", lambda s: ran.append(s["x"]) or {"x": 2})
b.add_edge(START, "prepare"); b.add_edge("prepare", "danger")
g = b.compile(checkpointer=InMemorySaver(), interrupt_before=["danger"])
""").raise_error()
    shell.run_cell("g.invoke({}, {'configurable': {'thread_id': 'bp'}})",
                   store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    [request] = hitl_nb.current().pending
    assert (request.kind, request.action) == ("breakpoint", "danger")
    hitl_nb.current().approve()
    assert shell.user_ns["ran"] == [1]
    assert hitl_nb.current().result == {"x": 2}


def test_a_thread_given_with_with_config_is_the_one_resumed(shell):
    shell.run_cell("bound = graph.with_config(configurable={'thread_id': 'wc'})").raise_error()
    shell.run_cell("bound.invoke({'messages': [('user', 'refund order 1042')]})",
                   store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    session = hitl_nb.current()
    assert session.thread_id == "wc"
    session.approve()
    assert shell.user_ns["desk"].count("issue_refund") == 1


def test_context_and_async_runs_are_resumed_as_they_were_started(shell):
    shell.run_cell("""
import asyncio, dataclasses, hitl_nb
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict
@dataclasses.dataclass
class Ctx:
    user: str
class S(TypedDict, total=False):
    sent: str
async def greet(state: S, runtime: Runtime[Ctx]):
    d = hitl_nb.ask(action="send", args={"text": f"hi {runtime.context.user}"})
    await asyncio.sleep(0)
    return {"sent": d.args["text"] + " from " + runtime.context.user}
b = StateGraph(S, context_schema=Ctx)
b.add_node("greet", greet); b.add_edge(START, "greet")
g = b.compile(checkpointer=InMemorySaver())
""").raise_error()
    shell.run_cell("await g.ainvoke({}, {'configurable': {'thread_id': 'ctx'}}, "
                   "context=Ctx('ann'))", store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    session = hitl_nb.current()
    widget = session.widget()
    [card] = widget.requests
    send(widget, {"type": "decision", "request_id": card["request_id"],
                  "nonce": card["nonce"], "action": "edit", "args": {"text": "hello ann"}})
    assert session.error is None
    assert session.result == {"sent": "hello ann from ann"}


MIDDLEWARE_AGENT = """
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langgraph.checkpoint.memory import InMemorySaver
from hitl_nb import Policy, Threshold
from hitl_nb.demo import ScriptedSupportModel, support_tools
tools = support_tools(desk)
policy = Policy([Threshold("amount", ">", 50, actions=["issue_refund"], roles=["finance"])])
agent = create_agent(ScriptedSupportModel(), tools, checkpointer=InMemorySaver(), middleware=[
    HumanInTheLoopMiddleware(interrupt_on=policy.interrupt_on(tools), interrupt_mode=MODE)])
"""


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_middleware_agent_shown_by_the_display_hook_enforces_the_policy_roles(shell, mode):
    """No Session(policy=...) anywhere: the policy given to interrupt_on gates the card."""
    shell.run_cell(MIDDLEWARE_AGENT.replace("MODE", repr(mode))).raise_error()
    shell.run_cell("agent.invoke({'messages': [('user', 'refund order 1042')]}, config)",
                   store_history=True).raise_error()
    [data] = shell.shown
    assert WIDGET in data
    session = hitl_nb.current()
    [request] = session.pending
    assert (request.action, request.required_roles) == ("issue_refund", ("finance",))
    ivan = hitl_nb.Reviewer("ivan", ("support",))
    assert set(session.blocked(reviewer=ivan)) >= {"approve", "edit", "reject"}
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance and ivan lacks"):
        session.approve(reviewer=ivan)
    desk = shell.user_ns["desk"]
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 0
    session.approve(reviewer=hitl_nb.Reviewer("fiona", ("finance",)))
    assert desk.count("issue_refund") == 1
    assert session.status == "done"


def test_a_config_dict_reused_for_the_next_thread_keeps_the_first_result_on_its_thread(shell):
    shell.run_cell("first = graph.invoke({'messages': [('user', 'refund order 1042')]}, config)\n"
                   "config['configurable']['thread_id'] = 'nb-next'\n"
                   "second = graph.invoke({'messages': [('user', 'delete account 7')]}, config)"
                   ).raise_error()
    shell.run_cell("first", store_history=True).raise_error()
    session = hitl_nb.current()
    assert (session.thread_id, session.pending[0].action) == ("nb-1", "issue_refund")
    session.approve()
    assert shell.user_ns["desk"].count("issue_refund") == 1
    assert shell.user_ns["desk"].count("delete_account") == 0


BREAKPOINT_GRAPH = """
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict
class S(TypedDict, total=False):
    x: int
b = StateGraph(S)
b.add_node("prepare", lambda s: {"x": 1})
b.add_node("danger", lambda s: {"x": 2})
b.add_edge(START, "prepare"); b.add_edge("prepare", "danger")
"""


def test_a_static_breakpoint_in_a_v2_result_renders_too(shell):
    shell.run_cell(BREAKPOINT_GRAPH + "from langgraph.checkpoint.memory import InMemorySaver\n"
                   "g = b.compile(checkpointer=InMemorySaver(), interrupt_before=['danger'])"
                   ).raise_error()
    shell.run_cell("g.invoke({}, {'configurable': {'thread_id': 'bp2'}}, version='v2')",
                   store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    assert hitl_nb.current().pending[0].kind == "breakpoint"


def test_a_breakpoint_graph_without_checkpointer_still_just_runs(shell):
    shell.run_cell(BREAKPOINT_GRAPH + "g = b.compile(interrupt_after=['prepare'])").raise_error()
    shell.run_cell("g.invoke({}, {'configurable': {'thread_id': 'none'}})",
                   store_history=True).raise_error()  # raised "No checkpointer set" before
    assert shell.shown[-1] == {"text/plain": "{'x': 1}"}  # stopped after prepare, as LangGraph does


def test_a_result_shown_after_its_deadline_applies_the_default_with_the_run_context(shell):
    shell.run_cell("""
import dataclasses
from datetime import UTC, datetime
import hitl_nb
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict
@dataclasses.dataclass
class Ctx:
    user: str
class S(TypedDict, total=False):
    said: str
def node(state: S, runtime: Runtime[Ctx]):
    d = hitl_nb.ask(action="send", args={"to": runtime.context.user},
                    deadline=datetime(2000, 1, 1, tzinfo=UTC))
    return {"said": f"{d.action} for {runtime.context.user}"}
b = StateGraph(S, context_schema=Ctx)
b.add_node("node", node); b.add_edge(START, "node")
g = b.compile(checkpointer=InMemorySaver())
late = g.invoke({}, {'configurable': {'thread_id': 'late'}}, context=Ctx('ann'))
""").raise_error()
    shell.run_cell("late", store_history=True).raise_error()  # the deadline passed long ago
    session = hitl_nb.current()
    assert session.error is None
    assert session.result == {"said": "reject for ann"}  # the default, with the context


def test_a_dict_that_is_not_ours_keeps_its_own_rich_display(shell):
    shell.run_cell("""
class Table(dict):
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": "<b>table</b>"}
Table(a=1)
""", store_history=True).raise_error()
    assert shell.shown[-1]["text/html"] == "<b>table</b>"


def test_unload_leaves_a_printer_registered_after_load(shell):
    shell.run_cell("""
mime = get_ipython().display_formatter.mimebundle_formatter
mine = lambda obj: {"text/plain": "mine"}
mime.for_type(dict, mine)
""").raise_error()
    shell.run_cell("%unload_ext hitl_nb").raise_error()
    formatter = shell.display_formatter.mimebundle_formatter
    assert formatter.type_printers[dict] is shell.user_ns["mine"]
    formatter.pop(dict)
    shell.run_cell("%load_ext hitl_nb").raise_error()  # the fixture unloads again
