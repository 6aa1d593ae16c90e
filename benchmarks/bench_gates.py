"""Cost of the gates layer, each next to a baseline measured in the same run.

1. `Policy.evaluate` with the demo's six gates vs. a hand-written if-chain doing the
   same checks (what the declarative layer costs per proposed action).
2. A guarded `ToolNode` vs. the plain `ToolNode` on a run whose calls are all autonomy
   (what one line of oversight costs when it does not stop anything).
3. `hitl_nb.inbox(graph)` over N threads paused in a SQLite checkpointer (restart
   recovery) vs. the loop one would write by hand: list every checkpoint for thread ids,
   then `graph.get_state` per thread; and thread discovery alone (one SQL query vs.
   `checkpointer.list(None)`).

    python benchmarks/bench_gates.py [--threads 300]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import hitl_nb
from hitl_nb._inbox import thread_ids
from hitl_nb.demo import ScriptedSupportModel, SupportDesk, gated_support_agent
from hitl_nb.demo.gated import support_policy, support_tools


def best(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


PROPOSALS = [("lookup_order", {"order": 1043}, 0.97, None),
             ("issue_refund", {"order": 1042, "amount": 80.0, "note": "x"}, 0.82, None),
             ("issue_refund", {"order": 2001, "amount": 420.0, "note": "x"}, 0.55, None),
             ("draft_reply", {"to": "a@b.c", "body": "hi"}, 0.7, None),
             ("delete_account", {"account": 7}, 0.4, None)]
LEVEL = {"autonomy": 0, "notify": 1, "confirm": 2, "collaborate": 3, "human_leads": 4}


def by_hand(action: str, args: dict[str, Any], confidence: float) -> tuple[str, list[str]]:
    """The same six gates as `support_policy()`, written as plain ifs."""
    level, roles, reasons = "autonomy", [], []
    if action == "draft_reply":
        level = "notify"
        reasons.append("customer-facing text, saved as a draft")
    if action == "issue_refund" and args["amount"] > 50:
        level = max(level, "confirm", key=LEVEL.__getitem__)
        roles.append("finance")
        reasons.append(f"amount {args['amount']!r} > 50")
    if action == "issue_refund" and args["amount"] > 300:
        reasons.append(f"{action} needs 2 different approvers")
    if confidence < 0.6:
        level = max(level, "confirm", key=LEVEL.__getitem__)
        reasons.append(f"confidence {confidence:g} < 0.6")
    if action == "delete_account":
        level = "human_leads"
        roles.append("security")
        reasons.append(f"{action} is a critical action")
    return level, roles


def bench_evaluate(rounds: int = 4000) -> None:
    policy = support_policy()

    def declarative() -> None:
        for _ in range(rounds):
            for action, args, confidence, risk in PROPOSALS:
                policy.evaluate(action, args, confidence=confidence, risk=risk)

    def manual() -> None:
        for _ in range(rounds):
            for action, args, confidence, _risk in PROPOSALS:
                by_hand(action, args, confidence)

    n = rounds * len(PROPOSALS)
    ours, base = best(declarative), best(manual)
    print(f"{'Policy.evaluate':>28}: {ours / n * 1e6:8.2f} us/proposal   hand-written ifs: "
          f"{base / n * 1e6:6.2f} us/proposal   ratio {ours / base:5.1f}x")


def tools_graph(guarded: bool) -> Any:
    desk = SupportDesk()
    model = ScriptedSupportModel()
    node = ToolNode(support_tools(desk))
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("tools", support_policy().guard(node) if guarded else node)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver())


def bench_guarded_tool_node(runs: int = 60) -> None:
    graphs = {name: tools_graph(name == "guarded") for name in ("guarded", "plain")}

    def run(graph: Any) -> Callable[[], None]:
        def go() -> None:
            for _ in range(runs):
                graph.invoke({"messages": [("user", "where is order 1043")]},
                             {"configurable": {"thread_id": uuid.uuid4().hex}})
        return go

    ours, base = best(run(graphs["guarded"]), 3), best(run(graphs["plain"]), 3)
    print(f"{'guarded ToolNode (autonomy)':>28}: {ours / runs * 1e3:8.2f} ms/run      "
          f"plain ToolNode:   {base / runs * 1e3:6.2f} ms/run      ratio {ours / base:5.2f}x")


def bench_inbox(threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.sqlite"
        saver = SqliteSaver(sqlite3.connect(db, check_same_thread=False))
        graph = gated_support_agent(SupportDesk(), checkpointer=saver)
        texts = ["refund order 1042", "where is order 1043", "delete account 7"]
        for i in range(threads):
            graph.invoke({"messages": [("user", texts[i % 3])]},
                         {"configurable": {"thread_id": f"t{i}"}})
        # a fresh connection and graph: what a restarted kernel sees
        fresh = gated_support_agent(SupportDesk(), checkpointer=SqliteSaver(
            sqlite3.connect(db, check_same_thread=False)))
        log = hitl_nb.FeedbackLog()
        found: list[int] = []

        def ours() -> None:
            found.append(hitl_nb.inbox(fresh, log=log).pending)

        def by_hand() -> None:
            ids = {c.config["configurable"]["thread_id"] for c in fresh.checkpointer.list(None)}
            found.append(sum(len(fresh.get_state({"configurable": {"thread_id": t}}).interrupts)
                             for t in ids))

        t_ours, t_base = best(ours, 3), best(by_hand, 3)
        assert len(set(found)) == 1, f"inbox and the hand loop disagree: {set(found)}"
        print(f"{'inbox(graph), ' + str(threads) + ' threads':>28}: {t_ours * 1e3:8.1f} ms "
              f"({found[0]} pending)   list()+get_state loop: {t_base * 1e3:6.1f} ms   "
              f"ratio {t_ours / t_base:5.2f}x")
        d_ours = best(lambda: thread_ids(fresh.checkpointer))
        d_base = best(lambda: {c.config["configurable"]["thread_id"]
                               for c in fresh.checkpointer.list(None)})
        print(f"{'thread discovery (SQL)':>28}: {d_ours * 1e3:8.2f} ms                  "
              f"checkpointer.list(None): {d_base * 1e3:6.1f} ms   ratio {d_ours / d_base:5.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=300)
    threads = parser.parse_args().threads
    bench_evaluate()
    bench_guarded_tool_node()
    bench_inbox(threads)


if __name__ == "__main__":
    main()
