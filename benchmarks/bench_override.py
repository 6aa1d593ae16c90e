"""Cost of the override mechanisms vs. doing the same with raw LangGraph calls.

Same graph (the demo support agent, paused at the refund), same in-memory checkpointer:

* undo: `Session.undo()` (log scan, compensation lookup, undo row, fork, rerun, refresh)
  vs. raw `update_state(checkpoint, None, as_node="__copy__")` + `invoke(None)`;
  measured with the feedback log empty and holding N rows of other threads, since undo
  reads the thread's rows from the log;
* stop: `Session.stop()` vs. raw `update_state(head, None, as_node=END)`;
* redirect: `Session.redirect()` vs. raw `update_state(END)` + `invoke(Command(goto, update))`;
* the kill switch check: a `@guarded` call vs. a plain call.

    python benchmarks/bench_override.py [--reps 30] [--rows 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.constants import END
from langgraph.types import Command

import hitl_nb
from hitl_nb._schema import Decision, ReviewRequest
from hitl_nb.demo import SupportDesk, support_agent

REFUND = {"messages": [("user", "refund order 1042")]}


def cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def timed(setup: Callable[[], Callable[[], Any]], reps: int) -> float:
    """Median seconds of the returned action; setup is not timed."""
    times = []
    for _ in range(reps):
        action = setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def padded_log(rows: int) -> hitl_nb.FeedbackLog:
    log = hitl_nb.FeedbackLog()
    for i in range(rows):
        request = ReviewRequest(request_id=f"r{i}", interrupt_id=f"r{i}", kind="ask",
                                action="step", args={"n": i}, thread_id=f"other-{i % 50}")
        log.record(request, Decision(action="approve", args={"n": i}))
    return log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    graph = support_agent(SupportDesk())

    def raw_undo() -> Callable[[], Any]:
        c = cfg()
        graph.invoke(REFUND, c)
        before = graph.get_state(c)
        approve = Decision(action="approve", args=before.interrupts[0].value["args"])
        graph.invoke(Command(resume=approve.to_resume()), c)

        def act() -> None:
            graph.update_state(before.config, None, as_node="__copy__")
            graph.invoke(None, c)
            graph.get_state(c)
        return act

    def session_undo(log: hitl_nb.FeedbackLog) -> Callable[[], Callable[[], Any]]:
        def setup() -> Callable[[], Any]:
            session = hitl_nb.Session(graph, cfg(), log=log).invoke(REFUND)
            session.approve()
            return session.undo
        return setup

    def raw_stop() -> Callable[[], Any]:
        c = cfg()
        graph.invoke(REFUND, c)
        return lambda: graph.update_state(graph.get_state(c).config, None, as_node=END)

    def session_stop() -> Callable[[], Any]:
        return hitl_nb.Session(graph, cfg(), log=hitl_nb.FeedbackLog()).invoke(REFUND).stop

    text = "don't refund, offer a voucher instead"

    def raw_redirect() -> Callable[[], Any]:
        c = cfg()
        graph.invoke(REFUND, c)

        def act() -> None:
            snap = graph.get_state(c)
            graph.update_state(snap.config, None, as_node=END)
            graph.invoke(Command(goto="agent", update={"messages": [HumanMessage(text)]}), c)
            graph.get_state(c)
        return act

    def session_redirect() -> Callable[[], Any]:
        session = hitl_nb.Session(graph, cfg(), log=hitl_nb.FeedbackLog()).invoke(REFUND)
        return lambda: session.redirect(text)

    for warm in (raw_undo, session_undo(hitl_nb.FeedbackLog()), raw_stop, session_stop,
                 raw_redirect, session_redirect):
        warm()()
    reps = args.reps
    # The big log stays alive for every measurement, so all run on the same heap (a
    # larger heap slows Python's garbage collector for everyone, baseline included).
    big = padded_log(args.rows)
    raw = timed(raw_undo, reps)
    for label, log in (("empty log", hitl_nb.FeedbackLog()),
                       (f"log of {args.rows} rows", big)):
        t = timed(session_undo(log), reps)
        print(f"undo ({label:>18}): {t * 1e3:7.2f} ms   raw fork: {raw * 1e3:7.2f} ms   "
              f"ratio {t / raw:5.2f}x")
    for name, ours, base in (("stop", session_stop, raw_stop),
                             ("redirect", session_redirect, raw_redirect)):
        t, b = timed(ours, reps), timed(base, reps)
        print(f"{name:>27}: {t * 1e3:7.2f} ms   raw LangGraph: {b * 1e3:7.2f} ms   "
              f"ratio {t / b:5.2f}x")

    def plain(x: int) -> int:
        return x + 1

    guarded = hitl_nb.guarded(plain)
    calls = 200_000
    start = time.perf_counter()
    for i in range(calls):
        plain(i)
    base = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(calls):
        guarded(i)
    t = time.perf_counter() - start
    print(f"{'guarded call':>27}: {t / calls * 1e9:7.0f} ns   plain call: "
          f"{base / calls * 1e9:7.0f} ns   ratio {t / base:5.2f}x")


if __name__ == "__main__":
    main()
