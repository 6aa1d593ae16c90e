"""The wire and storage contract: review requests, decisions and their literals.

Everything that crosses a boundary (graph -> widget, widget -> graph, graph -> log)
is one of the frozen types below, so there is one place to read what a field means.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, get_args

Action = Literal["approve", "edit", "reject", "respond"]
"""What a reviewer can do with one request."""

Level = Literal["autonomy", "notify", "confirm", "collaborate", "human_leads"]
"""The HITL spectrum, from full autonomy to the human leading."""

PayloadKind = Literal["ask", "plain", "middleware", "tool_approval", "breakpoint"]
"""Where a request came from: `hitl_nb.ask`, a plain `interrupt(value)`, LangChain's
HumanInTheLoopMiddleware (batched or per-call) or a static breakpoint."""

Source = Literal["human", "simulated", "policy"]
"""Who produced a decision."""

Override = Literal["stop", "redirect", "override", "undo", "revise", "input"]
"""A decision that is not one of the agent's options. Overrides (`hitl_nb._override`): the
run was stopped, sent in a new direction, the action was done by hand, or a decision
undone. Collaboration (`hitl_nb._collab`): a draft sent back for revision with a note
(travels as a `reject`, so it never goes ahead), or content the human produced (travels as
a `respond`)."""

ACTIONS: tuple[Action, ...] = get_args(Action)
LEVELS: tuple[Level, ...] = get_args(Level)

ASK_MARKER = "__hitl_nb__"
"""Key that marks a `hitl_nb.ask` payload and its resume value (a format version)."""


def bounded_number(value: Any, name: str, low: float, high: float,
                   error: type[Exception] = ValueError, hint: str = "") -> float | None:
    """`value` as a float in [low, high] (None stays None), else `error` naming the rule.

    Shared by every place that takes a confidence or a rating from outside, so a bool,
    NaN or "0.8" is refused the same way everywhere."""
    if value is None:
        return None
    # an int is always finite (and math.isfinite overflows on one past 1e308)
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise error(f"{name} must be a number between {low:g} and {high:g}, got {value!r:.40}.")
    if not low <= value <= high:
        raise error(f"{name} must be between {low:g} and {high:g}, got {value!r}{hint}.")
    return float(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime: the log subtracts and orders times, and a naive one could be
    any time zone (`datetime.now()` is local time), so guessing UTC could be hours off."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {moment.isoformat()}; "
                         f"pass e.g. datetime.now(UTC) or datetime(..., tzinfo=UTC).")


def canonical_json(value: Any) -> str:
    """Stable JSON for hashing: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def args_hash(args: Any) -> str:
    """The hash an approval is bound to: SHA-256 of the canonical JSON of the args."""
    return hashlib.sha256(canonical_json(args).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewRequest:
    """One thing a human is asked to decide.

    `request_id` is unique per pending item: the LangGraph interrupt id, suffixed
    with `:<index>` when one interrupt carries several actions (the batched
    LangChain middleware, `hitl_nb.ask_many`). `response_schema` is LangGraph's
    `Interrupt.response_schema` of a plain interrupt: the resume value must match it.
    `gates` lists the policy gates that fired (`Fired.to_json()`:
    gate, level, reason, values, roles, approvals); `required_roles` must all be held by
    every approver, and `approvals_needed` distinct reviewers must approve.
    `collab` says how the human works with the agent on it (`hitl_nb._collab`): a plan
    to review, a plan step to do or check, content to write with the agent's options,
    or a draft to co-edit in rounds.
    """

    request_id: str
    interrupt_id: str
    kind: PayloadKind
    action: str
    args: dict[str, Any] = field(default_factory=dict)
    preview: str | None = None
    reason: str | None = None
    confidence: float | None = None
    risk: str | None = None
    level: Level = "confirm"
    gate: str | None = None
    gate_reason: str | None = None
    gates: tuple[dict[str, Any], ...] = ()
    allowed: tuple[Action, ...] = ACTIONS
    args_schema: dict[str, Any] | None = None
    required_roles: tuple[str, ...] = ()
    approvals_needed: int = 1
    deadline: datetime | None = None
    thread_id: str | None = None
    checkpoint_id: str | None = None
    agent: str | None = None
    index: int = 0
    response_schema: dict[str, Any] | None = None
    collab: dict[str, Any] | None = None
    raw: Any = field(default=None, repr=False, compare=False)
    requested_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        require_aware(self.requested_at, "ReviewRequest.requested_at")

    def to_json(self) -> dict[str, Any]:
        """The JSON the widget front end receives (no raw payload, ISO times)."""
        # Not dataclasses.asdict: it deep-copies `raw`, which the browser never sees.
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "raw"}
        out["allowed"] = list(self.allowed)
        out["gates"] = list(self.gates)
        out["required_roles"] = list(self.required_roles)
        out["requested_at"] = self.requested_at.isoformat()
        out["deadline"] = self.deadline.isoformat() if self.deadline else None
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """What a reviewer decided about one request.

    `args` are the final arguments: the edited ones after an edit, else the
    proposed ones. A decision other than an edit may leave `args` empty to mean "as
    proposed": `resolved` fills them in, and the log, `Preferences` and `hitl_nb.ask`
    read it that way (`Decision(action="approve")` approves the proposal unchanged).
    `message` is the text of a reject or a respond. `decided_at` must be timezone-aware.

    `override` marks the override mechanisms. A manual override (the human performed the
    action themselves) reaches the agent as a `respond` whose `message` is the result's
    text, so agent code that knows only the four actions never runs the tool;
    `result` holds the JSON value the human obtained and `args` the values they used.
    """

    action: Action
    args: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    rating: float | None = None
    comment: str | None = None
    reviewer: str | None = None
    role: str | None = None
    source: Source = "human"
    request_id: str | None = None
    decided_at: datetime = field(default_factory=utcnow)
    override: Override | None = None
    result: Any = None

    def __post_init__(self) -> None:
        require_aware(self.decided_at, "Decision.decided_at")

    def resolved(self, proposed: dict[str, Any]) -> Decision:
        """This decision with its `args` filled in from the `proposed` ones when it carries
        none and is not an edit (an edit to `{}` removes every field; anything else
        without arguments is about the proposal as it was)."""
        if self.args or self.action == "edit":
            return self
        return replace(self, args=dict(proposed))

    @property
    def approved(self) -> bool:
        """True when the action may go ahead (approved as proposed or as edited)."""
        return self.action in ("approve", "edit")

    def to_resume(self) -> dict[str, Any]:
        """The JSON-able value `hitl_nb.ask` receives back through `Command(resume=)`."""
        return {
            ASK_MARKER: 1,
            "action": self.action,
            "args": self.args,
            "message": self.message,
            "rating": self.rating,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "role": self.role,
            "source": self.source,
            "request_id": self.request_id,
            "decided_at": self.decided_at.isoformat(),
            "override": self.override,
            "result": self.result,
        }

    @classmethod
    def from_resume(cls, value: Any) -> Decision:
        """Inverse of `to_resume`; raises `TypeError` naming what is wrong.

        Resuming by hand (`graph.invoke(Command(resume=...), config)`) also takes a
        `Decision`, an action name (`"approve"`), `True` / `False` (approve / reject),
        other text (a respond with that message), `{"action": ..., "args": ...,
        "message": ...}`, or a LangChain HITL decision (`{"type": "edit",
        "edited_action": {"args": ...}}`)."""
        if isinstance(value, Decision):
            return value
        value = _shorthand(value)
        if not isinstance(value, dict) or value.get(ASK_MARKER) != 1:
            raise TypeError(
                "hitl_nb.ask() was resumed with a value it did not produce: "
                f"{value!r:.200}. Resume through a hitl_nb Session (or its widget), or "
                "pass Decision(...).to_resume() to Command(resume=...)."
            )
        action = value.get("action")
        if action not in ACTIONS:
            raise TypeError(f"unknown decision action {action!r}; expected one of {ACTIONS}")
        if value.get("override") not in (None, *get_args(Override)):
            raise TypeError(f"unknown override {value.get('override')!r}")
        decided = value.get("decided_at")
        return cls(
            action=action,
            args=dict(value.get("args") or {}),
            message=value.get("message"),
            rating=value.get("rating"),
            comment=value.get("comment"),
            reviewer=value.get("reviewer"),
            role=value.get("role"),
            source=value.get("source") or "human",
            request_id=value.get("request_id"),
            decided_at=datetime.fromisoformat(decided) if decided else utcnow(),
            override=value.get("override"),
            result=value.get("result"),
        )


def _shorthand(value: Any) -> Any:
    """The `to_resume` form of a decision written by hand, else `value` unchanged."""
    if isinstance(value, bool):
        return {ASK_MARKER: 1, "action": "approve" if value else "reject"}
    if isinstance(value, str) and value:
        if value in ACTIONS:
            return {ASK_MARKER: 1, "action": value}
        return {ASK_MARKER: 1, "action": "respond", "message": value}
    if not isinstance(value, dict) or ASK_MARKER in value:
        return value
    if value.get("action") in ACTIONS:
        return {ASK_MARKER: 1, **value}
    kind = value.get("type")  # LangChain's HumanInTheLoopMiddleware decision
    if kind in ACTIONS:
        edited = value.get("edited_action")
        args = edited.get("args") if isinstance(edited, dict) else None
        return {ASK_MARKER: 1, "action": kind, "message": value.get("message"),
                **({"args": args} if isinstance(args, dict) else {})}
    return value
