"""Small graphs the tests share: one `hitl_nb.ask`, one plain `interrupt(payload)`, a
`Send` fan-out.

Not in conftest: tests/ui has a conftest module too, and LangGraph resolves a state's
annotations in the module named "conftest", which may then be the other one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict

import hitl_nb


class AskState(TypedDict, total=False):
    done: Any


def ask_graph(keep: Callable[[hitl_nb.Decision], Any] = lambda d: d.args, **ask: Any) -> Any:
    """One node that calls `hitl_nb.ask(**ask)` and stores `keep(decision)` in `done`."""

    def node(state: AskState) -> dict[str, Any]:
        return {"done": keep(hitl_nb.ask(**ask))}

    builder = StateGraph(AskState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


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
