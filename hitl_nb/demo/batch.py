"""Batch scenarios for the demo: a run over a dataset of refund requests that proposes one
action per row, reviewed in bulk.

Two graph shapes (both real LangGraph, no API key):

- `refund_queue_agent`: one node proposes an action for every request and asks once
  with `hitl_nb.ask_many` (one interrupt, thousands of actions: pauses and resumes in
  well under a second for 10,000 rows);
- `refund_fan_out_agent`: a `Send` per request, each branch asking with `hitl_nb.ask`
  (many interrupts on one thread; LangGraph's own cost grows with the square of the
  branches, so keep these to hundreds).
"""

from __future__ import annotations

import operator
import random
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from .._ask import ask, ask_many
from .support import SupportDesk

REASONS = ("arrived damaged", "arrived late", "wrong size", "never arrived", "changed mind",
           "charged twice")
WINDOW_DAYS = 30


def refund_requests(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """A synthetic dataset of `n` refund requests (deterministic for a seed).

    >>> refund_requests(2)[0]["order"]
    500000
    """
    rng = random.Random(seed)
    return [{"order": 500_000 + i, "customer": f"customer{i}@example.com",
             "amount": round(rng.lognormvariate(3.6, 0.8), 2),
             "days_since_delivery": rng.randint(0, 60), "reason": rng.choice(REASONS),
             "prior_refunds": rng.choices((0, 1, 2, 3, 4), (60, 20, 10, 6, 4))[0]}
            for i in range(n)]


def propose(row: dict[str, Any]) -> dict[str, Any]:
    """The agent's proposal for one request, as `hitl_nb.ask` keywords.

    Refund inside the window, deny outside it, escalate large or repeated claims; the
    confidence falls with the amount, the risk rises with it.
    """
    amount, days = row["amount"], row["days_since_delivery"]
    base = {"order": row["order"], "customer": row["customer"]}
    why = f"{row['reason']}, {days} days after delivery, {row['prior_refunds']} prior refunds"
    if row["reason"] == "charged twice":
        return {"action": "issue_refund", "args": {**base, "amount": amount},
                "confidence": 0.97, "risk": "low", "reason": f"duplicate charge: {why}",
                "level": "confirm"}
    if days > WINDOW_DAYS:
        return {"action": "deny_refund", "args": {**base, "note": "outside the 30-day window"},
                "confidence": 0.92 if days > WINDOW_DAYS + 5 else 0.7, "risk": "low",
                "reason": why, "level": "confirm"}
    if amount > 250 or row["prior_refunds"] >= 3:
        return {"action": "escalate", "args": {**base, "amount": amount, "team": "fraud"},
                "confidence": 0.6, "risk": "high", "reason": why, "level": "human_leads"}
    confidence = round(max(0.5, 0.97 - amount / 400 - 0.05 * row["prior_refunds"]), 2)
    risk = "low" if amount <= 50 else "medium" if amount <= 150 else "high"
    return {"action": "issue_refund", "args": {**base, "amount": amount},
            "confidence": confidence, "risk": risk, "reason": why,
            "level": "confirm" if risk != "high" else "collaborate"}


class QueueState(TypedDict, total=False):
    requests: list[dict[str, Any]]
    summary: dict[str, Any]


def _execute(desk: SupportDesk, outcomes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Run the approved actions on the desk; the summary the graph returns."""
    summary: dict[str, Any] = {"refunded": 0, "denied": 0, "escalated": 0, "not approved": 0,
                               "amount_refunded": 0.0}
    for action, args in outcomes:
        if action == "issue_refund":
            desk.run("issue_refund", {"order": args["order"], "amount": args["amount"],
                                      "note": "batch review"})
            summary["refunded"] += 1
            summary["amount_refunded"] = round(summary["amount_refunded"] + args["amount"], 2)
        elif action == "deny_refund":
            summary["denied"] += 1
        elif action == "escalate":
            summary["escalated"] += 1
        else:
            summary["not approved"] += 1
    return summary


def refund_queue_agent(desk: SupportDesk | None = None, *, checkpointer: Any = None) -> Any:
    """One node over the whole dataset: proposes, asks once (`ask_many`), then executes
    the approved (or edited) actions. Input: `{"requests": refund_requests(n)}`.

    >>> graph = refund_queue_agent(desk)
    >>> session = hitl_nb.Session(graph).invoke({"requests": refund_requests(10_000)})
    >>> hitl_nb.BatchReview(session)
    """
    desk = desk if desk is not None else SupportDesk()

    def triage(state: QueueState) -> QueueState:
        proposals = [propose(row) for row in state["requests"]]
        decisions = ask_many(proposals)
        # side effects only after the review: this node runs again from the top on resume
        return {"summary": _execute(desk, [
            (p["action"] if d.approved else "rejected", d.args)
            for p, d in zip(proposals, decisions, strict=True)])}

    builder = StateGraph(QueueState)
    builder.add_node("triage", triage)
    builder.add_edge(START, "triage")
    builder.add_edge("triage", END)
    return builder.compile(checkpointer=checkpointer or _memory())


class FanState(TypedDict, total=False):
    requests: list[dict[str, Any]]
    outcomes: Annotated[list[list[Any]], operator.add]


def refund_fan_out_agent(desk: SupportDesk | None = None, *, checkpointer: Any = None) -> Any:
    """A `Send` per request: every branch pauses on its own `hitl_nb.ask` at once, and a
    partial resume continues the decided branches only."""
    desk = desk if desk is not None else SupportDesk()

    def spread(state: FanState) -> list[Send]:
        return [Send("review_one", {"requests": [row]}) for row in state["requests"]]

    def review_one(state: FanState) -> dict[str, Any]:
        proposal = propose(state["requests"][0])
        decision = ask(**proposal)
        outcome = proposal["action"] if decision.approved else "rejected"
        _execute(desk, [(outcome, decision.args)])
        return {"outcomes": [[decision.args["order"], outcome]]}

    builder = StateGraph(FanState)
    builder.add_node("review_one", review_one)
    builder.add_conditional_edges(START, spread, ["review_one"])
    builder.add_edge("review_one", END)
    return builder.compile(checkpointer=checkpointer or _memory())


def _memory() -> Any:
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver()
