"""Trust calibration, run end to end: an agent earns notify level, drifts, loses it, and
earns it back.

The support agent schedules customer calls (a low-risk action that can be undone: the call
is cancelled). A `TrustGate` asks a (simulated) reviewer to confirm each call until the
agent's record clears the bar; then calls run at the notify level and show up in the
notification feed. Mid-way the agent's behaviour degrades (scripted: some calls land at
3 am); the reviewer undoes those from the feed, the undo demotes the action to confirm,
the reviewer rejects bad proposals while the drift lasts, and after it ends the agent
re-earns notify through the cool-down.

Every run is a real LangGraph graph (`gated_support_agent` with a guarded `ToolNode`)
driven through `Session`; every decision goes through `Session.decide` or `Feed.undo`
with `source="simulated"`.

>>> run = recovery_run(episodes=40)
>>> run.episodes[["episode", "level", "reviews", "undos"]]
>>> run.trust.history()
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool, tool
from pydantic import PrivateAttr

from .._log import FeedbackLog
from .._notify import Feed
from .._notify import feed as default_feed
from .._override import compensate, compensation_for, forget_compensation
from .._policy import ConfidenceBelow, Policy
from .._schema import ReviewRequest
from .._session import Session
from .._trust import Trust, TrustGate
from .gated import gated_support_agent, support_tools
from .simulate import Progress, SimulatedReviewer, _progress, random_desk
from .support import ScriptedSupportModel, SupportDesk

BAD_TIME = "Sunday 03:00"
"""When a drifting agent schedules a call."""


class DriftingSupportModel(ScriptedSupportModel):
    """The scripted support model, with a share `drift` of its calls scheduled at 3 am.

    Set `drift` between runs (0: behaves; 0.6: six calls in ten at a bad time). Its stated
    confidence does not change when it drifts: an overconfident agent, which a confidence
    gate cannot catch but a track record does.
    """

    drift: float = 0.0
    seed: int = 0
    _rng: random.Random = PrivateAttr(default_factory=random.Random)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._rng = random.Random(self.seed)

    def next_message(self, messages: Any) -> AIMessage:
        message = super().next_message(messages)
        calls = []
        for call in message.tool_calls:
            if call["name"] == "schedule_call" and self._rng.random() < self.drift:
                call = {**call, "args": {**call["args"], "when": BAD_TIME}}
            calls.append(call)
        return message.model_copy(update={"tool_calls": calls}) if calls else message


def call_tools(desk: SupportDesk) -> list[BaseTool]:
    """`lookup_order` and `schedule_call` as LangChain tools on `desk`."""

    @tool
    def schedule_call(order: int, customer: str, when: str) -> str:
        """Schedule a call with the customer about an order."""
        return desk.run("schedule_call", {"order": order, "customer": customer, "when": when})

    lookup = next(t for t in support_tools(desk) if t.name == "lookup_order")
    return [lookup, schedule_call]


def cancel_call(desk: SupportDesk) -> Callable[[dict[str, Any]], str]:
    """The compensation of `schedule_call` on `desk`: cancel the call made with `args`."""

    def cancel(args: dict[str, Any]) -> str:
        found = [cid for cid, made in desk.calls.items() if made == args]
        if not found:
            return "no such call (already cancelled)"
        return desk.cancel_call(found[-1])

    return cancel


def trust_policy(trust: Trust) -> Policy:
    """Calls are confirmed until trust is earned; anything the agent is unsure of stops."""
    return Policy([TrustGate(trust, actions=["schedule_call"]), ConfidenceBelow(0.6)])


def _hour(when: Any) -> int | None:
    found = re.search(r"\b(\d{1,2}):\d\d\b", str(when))
    return int(found.group(1)) if found else None


@dataclass(frozen=True, slots=True)
class CallReviewer:
    """A support lead who wants calls in business hours (`hours`, local time).

    At confirm they reject calls outside them and approve the rest; at notify they read
    the feed and undo the calls outside them (`audit`). Other actions: `SimulatedReviewer`.
    """

    name: str = "sim-lead"
    hours: tuple[int, int] = (8, 18)

    def acceptable(self, args: dict[str, Any]) -> bool:
        hour = _hour(args.get("when"))
        return hour is not None and self.hours[0] <= hour < self.hours[1]

    def review(self, request: ReviewRequest) -> tuple[str, dict[str, Any] | None, str | None]:
        if request.action != "schedule_call":
            return SimulatedReviewer(name=self.name).review(request)
        if self.acceptable(request.args):
            return "approve", None, None
        return "reject", None, (f"calls only between {self.hours[0]}:00 and "
                                f"{self.hours[1]}:00, not {request.args.get('when')}")

    def decide(self, session: Session) -> int:
        """Decide everything pending on `session`; returns how many decisions it took."""
        made = 0
        while session.pending:
            request = session.pending[0]
            action, args, message = self.review(request)
            session.decide(request.request_id, action, args=args, message=message,
                           reviewer=self.name, source="simulated")
            made += 1
        return made

    def audit(self, feed: Feed, start: int = 0) -> int:
        """Undo the unacceptable calls in `feed.items[start:]`; returns how many."""
        undone = 0
        for item in feed.items[start:]:
            if item.request.action == "schedule_call" and item.can_undo() \
                    and not self.acceptable(item.request.args):
                feed.undo(item.id, reviewer=self.name, source="simulated")
                undone += 1
        return undone


@dataclass(frozen=True, slots=True)
class RecoveryRun:
    """What `recovery_run` did: one row per episode, one per call (`level` when it was
    proposed, `outcome`: approve, reject, auto or auto+undo; `bad`: at a bad time), and
    the objects behind them."""

    episodes: pd.DataFrame
    calls: pd.DataFrame
    trust: Trust
    log: FeedbackLog
    desk: SupportDesk
    feed: Feed


def recovery_run(episodes: int = 40, *, calls: int = 4, drift: tuple[int, int] = (15, 25),
                 drift_rate: float = 0.6, seed: int = 0, trust: Trust | None = None,
                 log: FeedbackLog | None = None, feed: Feed | None = None,
                 reviewer: CallReviewer | None = None, progress: Progress = None
                 ) -> RecoveryRun:
    """Run `episodes` shifts of `calls` call requests each; the agent drifts during
    episodes ``drift[0] <= episode < drift[1]`` (1-based) with `drift_rate`.

    Columns: `episode`, `phase` (before / drifting / after), `level` (of
    `schedule_call` when the episode started), `level_end`, `reviews` (decisions the
    reviewer made: the human workload), `approved`, `rejected`, `auto` (calls that ran at
    notify), `undos` (from the feed), `bad_calls` (proposed at a bad time), `bad_ran`
    (bad calls that ran, before an undo).

    `log`: a new in-memory log unless given (the trust reads it); `feed`: the kernel's
    feed (guarded notify-level tools report there). While it runs, the call compensation
    for this run's desk is registered (`hitl_nb.compensate("schedule_call", ...)`), so
    the feed offers Undo; the earlier registration is restored afterwards.
    """
    if not 0 <= drift_rate <= 1:
        raise ValueError(f"drift_rate is a share of calls in [0, 1], got {drift_rate!r}")
    rng = random.Random(seed)
    log = log if log is not None else FeedbackLog()
    trust = trust if trust is not None else Trust(log)
    feed = feed if feed is not None else default_feed()
    reviewer = reviewer or CallReviewer()
    desk = random_desk(episodes * calls, rng)
    earlier = compensation_for("schedule_call")
    compensate("schedule_call", cancel_call(desk))
    try:
        rows, per_call = _episodes(episodes, calls, drift, drift_rate, seed, trust, log, feed,
                                   reviewer, desk, progress)
    finally:
        forget_compensation("schedule_call", earlier)
    return RecoveryRun(episodes=pd.DataFrame(rows), calls=pd.DataFrame(per_call), trust=trust,
                       log=log, desk=desk, feed=feed)


def _episodes(episodes: int, calls: int, drift: tuple[int, int], drift_rate: float, seed: int,
              trust: Trust, log: FeedbackLog, feed: Feed, reviewer: CallReviewer,
              desk: SupportDesk, progress: Progress
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    model = DriftingSupportModel(seed=seed)
    graph = gated_support_agent(desk, policy=trust_policy(trust), model=model,
                                tools=call_tools(desk), log=log)
    orders = iter(desk.orders)
    rows: list[dict[str, Any]] = []
    per_call: list[dict[str, Any]] = []
    for episode in _progress(range(1, episodes + 1), progress, "episodes"):
        drifting = drift[0] <= episode < drift[1]
        model.drift = drift_rate if drifting else 0.0
        level = trust.level("schedule_call", agent="support")
        made_before = len(log)
        bad = 0
        for _ in range(calls):
            session = Session(graph, {"configurable": {"thread_id": uuid.uuid4().hex}},
                              log=log, reviewer=reviewer.name)
            reported, logged = len(feed.items), len(log)
            asked_at = trust.level("schedule_call", agent="support")
            session.invoke({"messages": [("user", f"schedule a call about order "
                                                  f"{next(orders)}")]})
            reviewer.decide(session)
            proposed = _proposed_when(session.result)
            wrong = proposed is not None and not reviewer.acceptable({"when": proposed})
            bad += wrong
            reviewer.audit(feed, reported)  # what ran without asking: undo the bad ones
            outcome = [r["decision"] for r in log.rows_since(logged)
                       if r["action_name"] == "schedule_call"]
            per_call.append({"call": len(per_call) + 1, "episode": episode,
                             "level": asked_at, "outcome": "+".join(outcome), "bad": wrong})
        new = list(log.rows_since(made_before))
        decided = [r["decision"] for r in new if r["source"] == "simulated"]
        rows.append({
            "episode": episode,
            "phase": "drifting" if drifting else ("before" if episode < drift[0] else "after"),
            "level": level, "level_end": trust.level("schedule_call", agent="support"),
            "reviews": sum(d in ("approve", "edit", "reject", "respond") for d in decided),
            "approved": decided.count("approve"), "rejected": decided.count("reject"),
            "auto": sum(r["decision"] == "auto" and r["action_name"] == "schedule_call"
                        for r in new),
            "undos": decided.count("undo"), "bad_calls": bad})
    return rows, per_call


def _proposed_when(values: Any) -> str | None:
    """The `when` of the schedule_call the agent proposed in a finished run."""
    messages: list[BaseMessage] = values.get("messages", []) if isinstance(values, dict) else []
    for message in messages:
        for call in getattr(message, "tool_calls", None) or []:
            if call["name"] == "schedule_call":
                return str(call["args"].get("when"))
    return None
