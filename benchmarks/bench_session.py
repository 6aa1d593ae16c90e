"""Overhead of reviewing through hitl_nb vs. a raw LangGraph interrupt/resume loop.

Same graph (one node calling `hitl_nb.ask` N times in a loop of steps), same in-memory
checkpointer; the baseline resumes with `Command(resume=...)` directly, hitl_nb goes
through `Session.approve` (validation, hash-chained log row, refresh) and, third, through
the widget's message handler (as a click would). Prints per-decision times and ratios.

    python benchmarks/bench_session.py [--decisions 300]
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb._schema import Decision


class S(TypedDict, total=False):
    step: int
    total: int


def build(total: int) -> Any:
    def work(state: S) -> S:
        decision = hitl_nb.ask(action="step", args={"n": state["step"]}, confidence=0.9)
        return {"step": state["step"] + 1 if decision.approved else state["step"]}

    def route(state: S) -> str:
        return "work" if state["step"] < state["total"] else END

    builder = StateGraph(S)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", route, ["work", END])
    return builder.compile(checkpointer=InMemorySaver())


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 10**6}


def raw_loop(n: int) -> float:
    graph = build(n)
    cfg = config()
    start = time.perf_counter()
    out = graph.invoke({"step": 0, "total": n}, cfg)
    while "__interrupt__" in out:
        [intr] = out["__interrupt__"]
        out = graph.invoke(Command(resume={intr.id: Decision(action="approve").to_resume()}),
                           cfg)
    return time.perf_counter() - start


def session_loop(n: int) -> float:
    graph = build(n)
    start = time.perf_counter()
    session = hitl_nb.Session(graph, config(), log=hitl_nb.FeedbackLog())
    session.invoke({"step": 0, "total": n})
    while session.pending:
        session.approve()
    return time.perf_counter() - start


def widget_loop(n: int) -> float:
    graph = build(n)
    start = time.perf_counter()
    session = hitl_nb.Session(graph, config(), log=hitl_nb.FeedbackLog())
    widget = session.invoke({"step": 0, "total": n}).widget()
    while widget.requests:
        request = widget.requests[0]
        widget._handle_msg({"content": {"data": {"method": "custom", "content": {
            "type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": "approve"}}}, "buffers": []})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=300)
    n = parser.parse_args().decisions
    raw_loop(5), session_loop(5), widget_loop(5)  # warm imports and caches
    raw = min(raw_loop(n) for _ in range(3))
    for name, fn in (("Session.approve", session_loop), ("widget click path", widget_loop)):
        t = min(fn(n) for _ in range(3))
        print(f"{name:>20}: {t / n * 1e3:7.3f} ms/decision   raw LangGraph loop: "
              f"{raw / n * 1e3:7.3f} ms/decision   ratio {t / raw:5.2f}x")


if __name__ == "__main__":
    main()
