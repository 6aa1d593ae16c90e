"""Simulated reviewers and the learning experiment: does the agent need fewer corrections?

A `SimulatedReviewer` has fixed preferences and decides through the same
`Session.decide` path as a click (logged with `source="simulated"`). `run_experiment`
replays the support agent over N episodes with and without `Preferences` and returns
the per-episode edit and reject rates.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._log import FeedbackLog
from .._preferences import Preferences
from .._schema import ReviewRequest
from .._session import Session
from .support import SupportDesk, support_agent


@dataclass(frozen=True, slots=True)
class SimulatedReviewer:
    """A support manager with fixed preferences.

    - refunds over `manager_note_over` need a manager note in `note`;
    - replies are always signed `signature`;
    - accounts are never deleted by support.
    """

    name: str = "sim-manager"
    manager_note_over: float = 100.0
    manager_note: str = " (manager note: approved by M. Ito)"
    signature: str = "\nSupport Team"

    def review(self, request: ReviewRequest) -> tuple[str, dict[str, Any] | None, str | None]:
        """(action, edited args or None, message) for one request."""
        if request.action == "delete_account":
            return "reject", None, "support does not delete accounts; the customer does"
        args = dict(request.args)
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


def run_episodes(episodes: int, *, learning: bool, seed: int = 0,
                 reviewer: SimulatedReviewer | None = None, log: FeedbackLog | None = None,
                 progress: Callable[[Any], Any] | None = None) -> pd.DataFrame:
    """One refund request per episode, reviewed by `reviewer`; one row per episode."""
    rng = random.Random(seed)
    reviewer = reviewer or SimulatedReviewer()
    log = log if log is not None else FeedbackLog()
    prefs = Preferences() if learning else None
    desk = random_desk(episodes, rng)
    graph = support_agent(desk, preferences=prefs)
    order_ids = list(desk.orders)
    rows = []
    steps = range(episodes)
    for episode in progress(steps) if progress else steps:
        session = Session(graph, {"configurable": {"thread_id": uuid.uuid4().hex}}, log=log,
                          reviewer=reviewer.name, preferences=prefs)
        session.invoke({"messages": [("user", f"refund order {order_ids[episode]}")]})
        reviewer.decide(session)
        decided = [d.action for _, d in session.history]
        rows.append({"episode": episode + 1,
                     "variant": "with learning" if learning else "without learning",
                     "decisions": len(decided),
                     "edits": decided.count("edit"), "rejects": decided.count("reject"),
                     "edit_rate": decided.count("edit") / max(1, len(decided)),
                     "reject_rate": decided.count("reject") / max(1, len(decided)),
                     "amount": desk.orders[order_ids[episode]]["total"]})
    return pd.DataFrame(rows)


def run_experiment(episodes: int = 40, *, seed: int = 0,
                   progress: Callable[[Any], Any] | None = None) -> pd.DataFrame:
    """Both variants on the same orders (same seed), stacked: the learning curves."""
    return pd.concat([run_episodes(episodes, learning=False, seed=seed, progress=progress),
                      run_episodes(episodes, learning=True, seed=seed, progress=progress)],
                     ignore_index=True)
