"""Realistic large feedback logs: several biased reviewers on the support agent's proposals.

How this relates to real sessions. The proposals are captured from the real support agent
(`support_agent` run through `Session`s on a small desk: real graph, real `interrupt`,
real `ReviewRequest`s with the agent's arguments, confidence, risk and level). Running the
graph once per item would cost ~50 ms each, so the generator then varies the captured
requests (new request id, order, amount and reply text; the agent's confidence jittered
per proposal, as an LLM's self-report varies between calls). Every decision is built by
`make_decision` (the validation a click goes through) and appended with
`FeedbackLog.record` (same row, diff and hash chain), with `source="simulated"`. What is
skipped is only the resume: no graph runs on after a decision. Items in the `overlap`
share are decided by three reviewers each (the rows share a `request_id`, as requests
needing several approvals do), which is what the agreement metrics read.

>>> log = generate_log(10_000, seed=0)            # ~10k reviewer decisions, a few seconds
>>> log.to_pandas().groupby("reviewer").size()
"""

from __future__ import annotations

import itertools
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from .._log import FeedbackLog
from .._schema import Decision, ReviewRequest
from .._session import Session
from .._validate import make_decision
from .simulate import SimulatedReviewer
from .support import SupportDesk, support_agent

HOUSE = SimulatedReviewer(name="house-rules")
"""The shared policy every reviewer starts from: refunds over 250 rejected (finance),
a manager note on refunds over 100, replies signed "Support Team", accounts never
deleted by support."""

GATES: dict[str, tuple[str, str]] = {
    "delete_account": ("critical", "irreversible action"),
    "draft_reply": ("customer_text", "customer-facing text"),
    "issue_refund": ("threshold", "refund amount above 50"),
}
"""Which gate stopped each action (a stand-in for the policy module's gates); refunds at
or below 50 are stopped by the `confidence` gate instead."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewerProfile:
    """A simulated reviewer: the house rules, bent by one bias.

    `lenience`: chance of approving as is what the rules would correct. `strict_over`:
    refunds above it are rejected (finance sign-off). `strictness`: chance of rejecting
    a proposal the rules accept. `tweaks_text`: rewords every reply. `noise`: chance of
    a random decision instead (poor agreement). `median_s`: typical time to decide.
    `weight`: how often this reviewer is assigned an item.
    """

    name: str
    lenience: float = 0.0
    strict_over: float | None = None
    strictness: float = 0.0
    tweaks_text: bool = False
    noise: float = 0.0
    respond_to_deletes: float = 0.3
    median_s: float = 15.0
    weight: float = 1.0
    role: str = "support"

    def review(self, request: ReviewRequest, rng: np.random.Generator
               ) -> tuple[str, dict[str, Any] | None, str | None]:
        """(action, edited args or None, message) for one request."""
        action, args, message = HOUSE.review(request)
        if rng.random() < self.noise:
            return _random_decision(request, rng)
        amount = request.args.get("amount")
        if (self.strict_over is not None and request.action == "issue_refund"
                and isinstance(amount, int | float) and amount > self.strict_over):
            return "reject", None, f"refunds over {self.strict_over:g} need finance sign-off"
        if request.action == "delete_account" and rng.random() < self.respond_to_deletes:
            return "respond", None, "Tell the customer: Settings > Privacy > Delete account."
        if self.tweaks_text and request.action == "draft_reply":
            body = str((args or request.args).get("body", ""))
            body = body.replace("Best regards", "Kind regards").replace(
                "It will reach your account in 3-5 days.",
                "You should see it within 3-5 business days.")
            return "edit", {**request.args, **(args or {}), "body": body}, None
        if action == "edit" and rng.random() < self.lenience:
            return "approve", None, None
        if action == "approve" and rng.random() < self.strictness:
            return "reject", None, "please check the order history first"
        return action, args, message


def _random_decision(request: ReviewRequest, rng: np.random.Generator
                     ) -> tuple[str, dict[str, Any] | None, str | None]:
    pick = int(rng.integers(4))
    if pick == 0:
        return "approve", None, None
    if pick == 1:
        return "reject", None, "not convinced"
    if pick == 2:
        return "respond", None, "ask the customer for a photo first"
    text = next((k for k, v in request.args.items() if isinstance(v, str)), None)
    if text is None:
        return "approve", None, None
    return "edit", {**request.args, text: f"{request.args[text]} (checked)"}, None


REVIEWERS: tuple[ReviewerProfile, ...] = (
    ReviewerProfile(name="careful-cat", median_s=20.0, weight=1.0),
    ReviewerProfile(name="lenient-lee", lenience=0.7, median_s=6.0, weight=1.0),
    ReviewerProfile(name="strict-sam", strict_over=150.0, strictness=0.15, median_s=30.0,
                    weight=0.8),
    ReviewerProfile(name="editor-eve", tweaks_text=True, median_s=45.0, weight=0.8),
    ReviewerProfile(name="random-rob", noise=0.6, median_s=4.0, weight=0.4),
)
"""Five reviewers with different biases; random-rob agrees poorly with everyone."""


def capture_proposals(amounts: Sequence[float] = (35.0, 80.0, 160.0, 420.0)
                      ) -> list[ReviewRequest]:
    """Run the real support agent on a small desk and keep every review request it
    raises: refunds and replies for orders of `amounts`, and an account deletion."""
    orders = {5000 + i: {"customer": f"customer{i}@example.com", "total": amount,
                         "status": "delivered"} for i, amount in enumerate(amounts)}
    graph = support_agent(SupportDesk(orders=orders))
    captured: list[ReviewRequest] = []
    asks = [f"refund order {order}" for order in orders] + ["delete account 7"]
    for text in asks:
        session = Session(graph, log=FeedbackLog(), reviewer="capture")
        session.invoke({"messages": [("user", text)]})
        while session.pending:
            request = session.pending[0]
            captured.append(request)
            if request.action == "delete_account":
                session.reject("captured", request.request_id)
            else:
                session.approve(request.request_id)
    return captured


def _variant(template: ReviewRequest, rng: np.random.Generator, when: datetime
             ) -> ReviewRequest:
    """A new proposal of the same kind: new order, amount, text and confidence."""
    args = dict(template.args)
    confidence = float(template.confidence if template.confidence is not None else 0.5)
    amount = round(float(np.exp(rng.normal(4.3, 0.8))), 2)  # median ~74, long right tail
    order = int(rng.integers(10_000, 99_999))
    gate, gate_reason = GATES.get(template.action, ("confirm", "review required"))
    if template.action == "issue_refund":
        args.update(order=order, amount=amount)
        # the scripted model's own rule: sure of small refunds, unsure of large ones
        confidence = 0.82 if amount <= 100 else 0.55
        if amount <= 50:
            gate, gate_reason = "confidence", "confidence below 0.9"
    elif template.action == "draft_reply":
        body = str(args.get("body", ""))
        old = template.args.get("body", "")
        body = _reword(str(old), amount, order) if old else body
        args.update(to=f"customer{order}@example.com", body=body)
    elif template.action == "delete_account":
        args.update(account=int(rng.integers(1, 9_999)))
    confidence = float(np.clip(confidence + rng.normal(0, 0.12), 0.01, 0.99))
    request_id = _new_id(rng)
    return replace(template, request_id=request_id, interrupt_id=request_id, args=args,
                   preview=args.get("body") if template.action == "draft_reply" else None,
                   confidence=round(confidence, 3), gate=gate, gate_reason=gate_reason,
                   thread_id=f"gen-{request_id[:12]}", requested_at=when)


def _new_id(rng: np.random.Generator) -> str:
    """A uuid-shaped id from the seeded generator (same seed, same log)."""
    return uuid.UUID(bytes=rng.bytes(16), version=4).hex


def _reword(body: str, amount: float, order: int) -> str:
    import re

    body = re.sub(r"refunded [\d.]+ EUR", f"refunded {amount:.2f} EUR", body)
    return re.sub(r"order \d+", f"order {order}", body)


_LEVEL_SLOWDOWN = {"autonomy": 0.5, "notify": 0.5, "confirm": 1.0, "collaborate": 1.6,
                   "human_leads": 2.2}


def generate_log(n_decisions: int = 10_000, *, reviewers: Sequence[ReviewerProfile] = REVIEWERS,
                 overlap: float = 0.15, raters_per_shared_item: int = 3, seed: int = 0,
                 mix: dict[str, float] | None = None, start: datetime | None = None,
                 log: FeedbackLog | None = None, progress: bool = False) -> FeedbackLog:
    """A log of at least `n_decisions` simulated reviewer decisions (plus the policy's
    `auto` rows for the read-only lookups before refunds).

    `mix`: share of each action among proposals (default 45% refunds, 40% replies, 15%
    deletions). `overlap`: share of items decided by `raters_per_shared_item` reviewers.
    """
    if not reviewers:
        raise ValueError("pass at least one ReviewerProfile in reviewers=")
    if not 0 <= overlap <= 1:
        raise ValueError(f"overlap is a share of items in [0, 1], got {overlap!r}")
    rng = np.random.default_rng(seed)
    log = log if log is not None else FeedbackLog()
    templates = {r.action: r for r in capture_proposals()}
    lookup = next(iter(_lookups(templates)), None)
    mix = mix or {"issue_refund": 0.45, "draft_reply": 0.40, "delete_account": 0.15}
    actions = [a for a in mix if a in templates]
    if not actions:
        raise ValueError(f"mix names no action the support agent proposes: {sorted(mix)}; "
                         f"use some of {sorted(templates)}")
    action_cdf = list(itertools.accumulate(float(mix[a]) for a in actions))
    reviewer_cdf = list(itertools.accumulate(float(r.weight) for r in reviewers))
    weights = np.array([r.weight for r in reviewers], dtype=float)
    weights /= weights.sum()
    k_shared = min(raters_per_shared_item, len(reviewers))
    clock = start or datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_decisions, desc="simulated reviews", unit="decision")
    made = 0
    while made < n_decisions:
        clock += timedelta(seconds=float(rng.exponential(90.0)))
        action = actions[bisect_right(action_cdf, rng.random() * action_cdf[-1])]
        request = _variant(templates[action], rng, clock)
        if action == "issue_refund" and lookup is not None:
            lookup_id = f"auto:{_new_id(rng)}"
            log.record(replace(lookup, request_id=lookup_id, interrupt_id=lookup_id,
                               requested_at=clock, args={"order": request.args["order"]}))
        shared = rng.random() < overlap
        # (rng.choice is ~30x slower than a bisect on the cumulative weights)
        chosen = (rng.choice(len(reviewers), size=k_shared, replace=False, p=weights)
                  if shared else [bisect_right(reviewer_cdf, rng.random() * reviewer_cdf[-1])])
        for index in chosen:
            profile = reviewers[int(index)]
            verdict, args, message = profile.review(request, rng)
            decision = make_decision(request, verdict, args=args, message=message,
                                     rating=_rating(verdict, rng), reviewer=profile.name,
                                     role=profile.role, source="simulated")
            log.record(request, _at(decision, request, profile, rng),
                       run_id=f"sim-{profile.name}")
            made += 1
        if bar is not None:
            bar.update(len(chosen))
    if bar is not None:
        bar.close()
    return log


def _lookups(templates: dict[str, ReviewRequest]) -> list[ReviewRequest]:
    """The read-only lookup the agent runs before a refund, as a request the policy lets
    through at the autonomy level (logged as `auto`)."""
    refund = templates.get("issue_refund")
    if refund is None:
        return []
    return [replace(refund, request_id="auto:lookup", action="lookup_order",
                    level="autonomy", risk="low", gate=None, gate_reason=None,
                    confidence=0.95, preview=None, reason="read-only lookup")]


def _rating(verdict: str, rng: np.random.Generator) -> float | None:
    if rng.random() > 0.3:  # most decisions carry no rating
        return None
    centre = {"approve": 4.5, "edit": 3.2, "reject": 1.8, "respond": 2.5}[verdict]
    return float(np.clip(round(rng.normal(centre, 0.6)), 1, 5))


def _at(decision: Decision, request: ReviewRequest, profile: ReviewerProfile,
        rng: np.random.Generator) -> Decision:
    """The decision stamped with a plausible time to decide (lognormal around the
    reviewer's median; slower at higher levels and for edits)."""
    slow = _LEVEL_SLOWDOWN.get(request.level, 1.0) * (1.5 if decision.action == "edit" else 1.0)
    seconds = float(profile.median_s * slow * np.exp(rng.normal(0, 0.6)))
    return replace(decision, decided_at=request.requested_at + timedelta(seconds=seconds))
