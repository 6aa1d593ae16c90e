"""`hitl_nb.ask`: the one call an agent author makes inside a node to ask for review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from langgraph.config import get_config
from langgraph.types import interrupt

from ._diff import json_schema_of
from ._override import check_stop
from ._payloads import PayloadError, requests_from_value
from ._schema import ACTIONS, ASK_MARKER, Action, Decision, Level, utcnow


def ask_payload(*, action: str, args: dict[str, Any] | None = None, preview: str | None = None,
                reason: str | None = None, confidence: float | None = None,
                risk: str | None = None, allowed: Action | Sequence[Action] = ACTIONS,
                level: Level | None = None, gate: str | None = None,
                gate_reason: str | None = None, gates: Sequence[dict[str, Any]] = (),
                args_schema: Any = None, required_roles: Sequence[str] = (),
                approvals_needed: int = 1, deadline: datetime | None = None,
                agent: str | None = None, round: int | None = None,
                max_rounds: int | None = None, collab: dict[str, Any] | None = None,
                check: bool = True) -> dict[str, Any]:
    """The interrupt value `ask` sends, checked now so a bad call fails in the node
    that made it (with a `PayloadError` naming the fix) rather than in the widget.
    (`check=False`: the caller checks, e.g. `ask_many` checks its whole batch once.)"""
    if args is not None and not isinstance(args, Mapping):
        raise PayloadError(f"args must be a dict of the action's arguments (name: value), "
                           f"got {type(args).__name__}.")
    if round is not None:  # a draft co-edited in rounds (`hitl_nb._collab`)
        from ._collab import coedit_block

        collab = coedit_block(args or {}, round, max_rounds)
    payload = {
        ASK_MARKER: 1, "action": action, "args": dict(args or {}), "preview": preview,
        "reason": reason, "confidence": confidence, "risk": risk,
        "allowed": [allowed] if isinstance(allowed, str) else list(allowed),
        "level": level or "confirm", "gate": gate, "gate_reason": gate_reason,
        "gates": [dict(g) for g in gates],
        "args_schema": json_schema_of(args_schema), "required_roles": list(required_roles),
        "approvals_needed": approvals_needed,
        "deadline": deadline.isoformat() if deadline else None, "agent": agent,
        # Stored in the checkpoint with the pause, so latency after a restart still
        # counts from the original request (the node re-runs on resume; this is unused).
        "requested_at": utcnow().isoformat(),
        **({"collab": collab} if collab is not None else {}),
    }
    if check:
        requests_from_value(payload, "check")
    return payload


def _require_node(name: str) -> None:
    """`interrupt` outside a graph fails with a message about runnable contexts; say what
    to do instead."""
    try:
        get_config()
    except RuntimeError as exc:
        raise RuntimeError(f"hitl_nb.{name}() pauses a LangGraph run, so call it inside a "
                           "node of a graph compiled with a checkpointer, e.g. "
                           "builder.compile(checkpointer=InMemorySaver()).") from exc


def ask(*, action: str, args: dict[str, Any] | None = None, preview: str | None = None,
        reason: str | None = None, confidence: float | None = None, risk: str | None = None,
        allowed: Action | Sequence[Action] = ACTIONS, **more: Any) -> Decision:
    """Pause the graph for a human decision about `action`; returns the `Decision`.

    Call it inside a LangGraph node (the graph needs a checkpointer). On resume the
    node runs again from its first line, so put side effects after `ask`.

    >>> decision = ask(action="issue_refund", args={"order": 1042, "amount": 80.0},
    ...                confidence=0.62, risk="high", reason="amount above 50")
    >>> if decision.action == "reject": ...

    Extra keywords: `level`, `gate`, `gate_reason`, `gates` (the fired gates, as a
    policy `Verdict` gives them), `args_schema` (what edited args must satisfy: a
    JSON-schema dict, a pydantic model or a LangChain tool; it also picks the editors the
    widget shows), `required_roles`, `approvals_needed`, `deadline`, `agent`. From a
    policy: ``ask(**policy.evaluate(action, args).ask_kwargs())``.

    Co-editing (`level="collaborate"`): `round=n` (with `max_rounds=`, default 5) lets
    the reviewer send the draft (the longest text argument) back with a note; the
    decision then has `override == "revise"` (it travels as a `reject`, so a draft is
    never used by mistake), `args` the reviewer's edits and `message` the note: loop
    back to the node that drafts, and ask again with `round=n + 1`.

    While the emergency stop is engaged an approval is not returned: `EmergencyStop`
    is raised instead, so the action cannot run.
    """
    payload = ask_payload(action=action, args=args, preview=preview, reason=reason,
                          confidence=confidence, risk=risk, allowed=allowed, **more)
    _require_node("ask")
    decision = Decision.from_resume(interrupt(payload)).resolved(payload["args"])
    if decision.approved:
        check_stop()
    return decision


def ask_many(actions: Sequence[Mapping[str, Any]]) -> list[Decision]:
    """Pause once for a human decision about each of many proposed actions (a run over a
    dataset); returns one `Decision` per action, in order.

    Each item takes the keywords of `ask` (`action`, `args`, `confidence`, `risk`,
    `reason`, `level`, ...). The graph resumes when every action is decided, e.g. in a
    `hitl_nb.BatchReview` (filter, approve all matching, reject the rest).

    >>> decisions = ask_many([{"action": "issue_refund", "args": {"order": n},
    ...                        "confidence": 0.9, "risk": "low"} for n in orders])
    >>> approved = [d.args for d in decisions if d.approved]
    """
    if isinstance(actions, Mapping) or not isinstance(actions, Sequence) or not actions:
        raise PayloadError("hitl_nb.ask_many() needs a non-empty list of dicts, each with "
                           "the keywords of hitl_nb.ask(), e.g. [{'action': 'refund', "
                           "'args': {...}}].")
    batch = []
    for index, item in enumerate(actions):
        if not isinstance(item, Mapping):
            raise PayloadError(f"hitl_nb.ask_many() item {index} must be a dict, "
                               f"got {item!r:.80}.")
        try:
            batch.append(ask_payload(**item, check=False))
        except TypeError as exc:  # an unknown keyword
            raise PayloadError(f"hitl_nb.ask_many() item {index}: {exc}; use the keywords "
                               "of hitl_nb.ask().") from exc
    payload: dict[str, Any] = {ASK_MARKER: 1, "batch": batch}
    requests_from_value(payload, "check")
    _require_node("ask_many")
    value = interrupt(payload)
    decisions = value.get("decisions") if isinstance(value, dict) else None
    if not isinstance(decisions, list) or len(decisions) != len(batch):
        raise TypeError(f"hitl_nb.ask_many() expects {len(batch)} decisions back, got "
                        f"{value!r:.200}; resume through a hitl_nb Session or BatchReview.")
    return [Decision.from_resume(d).resolved(item["args"])
            for d, item in zip(decisions, batch, strict=True)]
