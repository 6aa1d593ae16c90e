"""Simulated reviewers and the learning experiment: does the agent need fewer corrections?

A `SimulatedReviewer` has fixed preferences and decides through the same
`Session.decide` path as a click (logged with `source="simulated"`). `run_experiment`
replays the support agent over N episodes with and without `Preferences` and returns
the per-episode edit and reject rates.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from langchain_core.messages import AIMessage, ToolMessage

from .._log import FeedbackLog
from .._preferences import Preferences
from .._schema import ReviewRequest
from .._session import Session
from .support import SupportDesk, support_agent


@dataclass(frozen=True, slots=True)
class SimulatedReviewer:
    """A support manager with fixed preferences.

    - refunds over `finance_over` are rejected (finance signs those off; None: never);
    - refunds over `manager_note_over` need a manager note in `note`;
    - replies are always signed `signature`;
    - accounts are never deleted by support.
    """

    name: str = "sim-manager"
    finance_over: float | None = 250.0
    manager_note_over: float = 100.0
    manager_note: str = " (manager note: approved by M. Ito)"
    signature: str = "\nSupport Team"

    def review(self, request: ReviewRequest) -> tuple[str, dict[str, Any] | None, str | None]:
        """(action, edited args or None, message) for one request."""
        if request.action == "delete_account":
            return "reject", None, "support does not delete accounts; the customer does"
        args = dict(request.args)
        amount = args.get("amount", 0)
        if (request.action == "issue_refund" and self.finance_over is not None
                and isinstance(amount, int | float) and amount > self.finance_over):
            return "reject", None, f"refunds over {self.finance_over:g} need finance sign-off"
        if (request.action == "issue_refund" and args.get("amount", 0) > self.manager_note_over
                and "manager note" not in str(args.get("note", ""))):
            args["note"] = f"{args.get('note', '')}{self.manager_note}"
        if request.action == "draft_reply" and not str(args.get("body", "")).endswith(
                self.signature):
            args["body"] = f"{args.get('body', '')}{self.signature}"
        if args != request.args:
            return "edit", args, None
        return "approve", None, None

    def decide(self, session: Session) -> None:
        """Decide everything pending on `session` until the run finishes."""
        while session.pending:
            request = session.pending[0]
            action, args, message = self.review(request)
            session.decide(request.request_id, action, args=args, message=message,
                           reviewer=self.name, source="simulated")


def random_desk(n_orders: int, rng: random.Random) -> SupportDesk:
    orders = {3000 + i: {"customer": f"customer{i}@example.com",
                         "total": round(rng.uniform(10, 300), 2), "status": "delivered"}
              for i in range(n_orders)}
    return SupportDesk(orders=orders)


Progress = bool | Callable[[Any], Any] | None


def _progress(steps: range, progress: Progress, desc: str) -> Iterable[int]:
    if progress is True:
        from tqdm.auto import tqdm

        return tqdm(steps, desc=desc, unit="episode", leave=False)  # type: ignore[no-any-return]
    if callable(progress):
        return progress(steps)  # type: ignore[no-any-return]
    return steps


def _declined(state: dict[str, Any], reviewer: SimulatedReviewer) -> tuple[int, int]:
    """(calls the agent withheld by a learned refusal, how many of those the reviewer
    would have accepted: refusals learned too broadly)."""
    messages = state.get("messages", []) if isinstance(state, dict) else []
    calls = {c["id"]: c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    withheld = [calls[m.tool_call_id] for m in messages if isinstance(m, ToolMessage)
                and str(m.content).startswith("rejected by learned preference")
                and m.tool_call_id in calls]
    wrong = sum(reviewer.review(ReviewRequest(request_id="check", interrupt_id="check",
                                              kind="ask", action=c["name"],
                                              args=c["args"]))[0] != "reject"
                for c in withheld)
    return len(withheld), wrong


def run_episodes(episodes: int, *, learning: bool, seed: int = 0,
                 reviewer: SimulatedReviewer | None = None, log: FeedbackLog | None = None,
                 progress: Progress = None) -> pd.DataFrame:
    """One refund request per episode, reviewed by `reviewer`; one row per episode.

    Rates are shares of the proposals the reviewer saw in the episode (0 when the agent
    put nothing to them); `corrections` = edits + rejects; `declined` counts proposals
    the agent withheld because of a learned refusal, `declined_wrongly` those the
    reviewer would not have rejected. `progress=True` shows a tqdm bar.
    """
    rng = random.Random(seed)
    reviewer = reviewer or SimulatedReviewer()
    log = log if log is not None else FeedbackLog()
    prefs = Preferences() if learning else None
    desk = random_desk(episodes, rng)
    graph = support_agent(desk, preferences=prefs)
    order_ids = list(desk.orders)
    rows = []
    steps = range(episodes)
    variant = "with learning" if learning else "without learning"
    for episode in _progress(steps, progress, variant):
        session = Session(graph, {"configurable": {"thread_id": uuid.uuid4().hex}}, log=log,
                          reviewer=reviewer.name, preferences=prefs)
        session.invoke({"messages": [("user", f"refund order {order_ids[episode]}")]})
        reviewer.decide(session)
        decided = [d.action for _, d in session.history]
        edits, rejects = decided.count("edit"), decided.count("reject")
        declined, wrongly = _declined(session.result, reviewer)
        seen = max(1, len(decided))
        rows.append({"episode": episode + 1, "variant": variant,
                     "decisions": len(decided), "edits": edits, "rejects": rejects,
                     "corrections": edits + rejects, "edit_rate": edits / seen,
                     "reject_rate": rejects / seen, "correction_rate": (edits + rejects) / seen,
                     "declined": declined, "declined_wrongly": wrongly,
                     "amount": desk.orders[order_ids[episode]]["total"]})
    return pd.DataFrame(rows)


def run_experiment(episodes: int = 40, *, seed: int = 0,
                   reviewer: SimulatedReviewer | None = None,
                   progress: Progress = None) -> pd.DataFrame:
    """Both variants on the same orders (same seed) and `reviewer`, stacked: the learning
    curves."""
    return pd.concat([run_episodes(episodes, learning=learning, seed=seed, reviewer=reviewer,
                                   progress=progress) for learning in (False, True)],
                     ignore_index=True)
