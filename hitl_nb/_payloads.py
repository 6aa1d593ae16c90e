"""Translate interrupt payloads into review requests, and decisions back into resume values.

Three payload families are understood without any change to the user's graph:

* `hitl_nb.ask(...)` requests (marked with `ASK_MARKER`), resumed with `Decision.to_resume()`;
* plain `interrupt(value)` with a str or a JSON-able dict, resumed by the convention in
  `plain_resume_value` (overridable with `Session(resume_as=...)`);
* LangChain's `HumanInTheLoopMiddleware`, batched (`action_requests`/`review_configs`,
  resumed with `{"decisions": [...]}`) and per-call (`type == "tool_approval"`, resumed
  with one decision dict).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import jsonschema

from ._schema import (
    ACTIONS,
    ASK_MARKER,
    LEVELS,
    Action,
    Decision,
    Level,
    ReviewRequest,
    bounded_number,
)

PLAIN_REASON_KEYS = ("question", "reason", "message", "description", "instruction", "task",
                     "prompt")
"""Keys of a plain dict payload shown as the question rather than edited as arguments."""

PLAIN_ACTION_KEYS = ("action", "tool", "name")


class PayloadError(ValueError):
    """An interrupt value the review widget cannot render; the message names the fix."""


def _require_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadError(
            f"{what} is not JSON-able ({exc}). Interrupt payloads are stored in the "
            "checkpoint and shown in the browser: pass str, numbers, bools, None, lists "
            "and dicts only (convert dates, models and DataFrames first)."
        ) from exc


def _confidence(value: Any) -> float | None:
    return bounded_number(value, "confidence", 0, 1, PayloadError,
                          "; scale percentages by 1/100")


def _allowed(value: Any, where: str) -> tuple[Action, ...]:
    if type(value) in (list, tuple) and value and all(v in ACTIONS for v in value):
        return tuple(dict.fromkeys(value))  # the common case, without ABC checks
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise PayloadError(f"{where}: allowed decisions must be a non-empty list drawn from "
                           f"{list(ACTIONS)}, got {value!r}.")
    unknown = [v for v in value if v not in ACTIONS]
    if unknown:
        raise PayloadError(f"{where}: unknown decision type(s) {unknown}; "
                           f"use any of {list(ACTIONS)}.")
    return tuple(dict.fromkeys(cast(Sequence[Action], value)))


def _level(value: Any) -> Level:
    if value is None:
        return "confirm"
    if value not in LEVELS:
        raise PayloadError(f"level must be one of {list(LEVELS)}, got {value!r}.")
    return cast(Level, value)


def _args(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise PayloadError(f"{where}: args must be a dict with str keys, got {value!r:.120}.")
    return value


def _aware_deadline(value: Any) -> datetime | None:
    """`ask(deadline=)` as stored: an ISO time with a time zone (it is compared with the
    clock in UTC; a naive time could not be)."""
    if not value:
        return None
    try:
        deadline = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise PayloadError(f"hitl_nb.ask() deadline= must be a datetime, got {value!r:.80}."
                           ) from exc
    if deadline.tzinfo is None:
        raise PayloadError(f"hitl_nb.ask() deadline= needs a time zone, e.g. "
                           f"datetime.now(UTC) + timedelta(minutes=30); got {value!r}.")
    return deadline


def _opt_str(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise PayloadError(f"{field} must be a string, got {type(value).__name__}: {value!r:.80}.")


def _gates(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
            isinstance(g, dict) and isinstance(g.get("gate"), str)
            and isinstance(g.get("reason"), str) for g in value):
        raise PayloadError(f"gates must be a list of {{'gate': str, 'reason': str, ...}} "
                           f"(Verdict.gates gives one), got {value!r:.120}.")
    return tuple(value)


def _roles(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple) \
            or not all(isinstance(r, str) and r for r in value):
        raise PayloadError(f"required_roles must be a list of role names, got {value!r:.80}.")
    return tuple(dict.fromkeys(value))


def _approvals(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PayloadError(f"approvals_needed must be a whole number >= 1, got {value!r}.")
    return value


def requests_from_value(value: Any, interrupt_id: str, *,
                        response_schema: Any = None, **context: Any) -> list[ReviewRequest]:
    """The review requests one interrupt value asks for (several for a batched middleware
    payload). `context` fills thread_id / checkpoint_id. Raises `PayloadError`."""
    if isinstance(value, dict) and value.get(ASK_MARKER) == 1:
        if "batch" in value:
            return _from_ask_batch(value, interrupt_id, context)
        return [_from_ask(value, interrupt_id, context)]
    if isinstance(value, dict) and "action_requests" in value:
        return _from_middleware(value, interrupt_id, context)
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        return [_from_tool_approval(value, interrupt_id, response_schema, context)]
    if isinstance(response_schema, dict) and response_schema:
        return [_from_typed(value, interrupt_id, response_schema, context)]
    return [_from_plain(value, interrupt_id, context)]


def _from_ask_batch(value: dict[str, Any], interrupt_id: str,
                    context: dict[str, Any]) -> list[ReviewRequest]:
    _require_json(value, "The hitl_nb.ask_many() payload")  # once, not per item
    items = value.get("batch")
    if not isinstance(items, list) or not items:
        raise PayloadError("hitl_nb.ask_many() needs a non-empty list of actions.")
    return [_from_ask(item, interrupt_id, context, index=index, batch=value)
            for index, item in enumerate(items)]


def _from_ask(value: dict[str, Any], interrupt_id: str, context: dict[str, Any], *,
              index: int | None = None, batch: dict[str, Any] | None = None) -> ReviewRequest:
    if batch is None:
        _require_json(value, "The hitl_nb.ask() payload")
    elif not isinstance(value, dict):
        raise PayloadError(f"hitl_nb.ask_many() item {index} must be a dict, got {value!r:.80}.")
    action = value.get("action")
    if not isinstance(action, str) or not action:
        raise PayloadError(f"hitl_nb.ask() needs action= a non-empty string, got {action!r}.")
    deadline = value.get("deadline")
    requested = value.get("requested_at")
    if isinstance(requested, str):  # the pause time ask() stored beats the checkpoint's
        context = {**context, "requested_at": datetime.fromisoformat(requested)}
    args = _args(value.get("args"), "hitl_nb.ask()")
    return ReviewRequest(
        request_id=interrupt_id if index is None else f"{interrupt_id}:{index}",
        interrupt_id=interrupt_id, index=index or 0, kind="ask", action=action, args=args,
        collab=_collab(value.get("collab"), args),
        preview=_opt_str(value.get("preview"), "preview"),
        reason=_opt_str(value.get("reason"), "reason"),
        confidence=_confidence(value.get("confidence")),
        risk=None if value.get("risk") is None else str(value["risk"]),
        level=_level(value.get("level")),
        gate=_opt_str(value.get("gate"), "gate"),
        gate_reason=_opt_str(value.get("gate_reason"), "gate_reason"),
        gates=_gates(value.get("gates")),
        allowed=_allowed(value.get("allowed", ACTIONS), "hitl_nb.ask()"),
        args_schema=value.get("args_schema"),
        required_roles=_roles(value.get("required_roles")),
        approvals_needed=_approvals(value.get("approvals_needed")),
        deadline=_aware_deadline(deadline),
        agent=_opt_str(value.get("agent"), "agent"),
        raw=value if batch is None else batch, **context,
    )


def _collab(value: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """A plan, plan step, human-led input or co-edited draft (`hitl_nb._plan`)."""
    if value is None:
        return None
    from ._plan import check_collab

    try:
        return check_collab(value, args)
    except (ValueError, KeyError) as exc:
        raise PayloadError(f"hitl_nb collaboration payload: {exc}") from exc


def _from_middleware(value: dict[str, Any], interrupt_id: str,
                     context: dict[str, Any]) -> list[ReviewRequest]:
    _require_json(value, "The HumanInTheLoopMiddleware payload")
    actions = value.get("action_requests")
    configs = value.get("review_configs") or []
    if not isinstance(actions, list) or not actions or not isinstance(configs, list):
        raise PayloadError("HumanInTheLoopMiddleware payload needs a non-empty "
                           "'action_requests' list and a 'review_configs' list.")
    by_name = {c.get("action_name"): c for c in configs if isinstance(c, dict)}
    requests = []
    for index, item in enumerate(actions):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise PayloadError(f"action_requests[{index}] needs a 'name' string, "
                               f"got {item!r:.120}.")
        config = by_name.get(item["name"]) or (configs[index] if index < len(configs) else {})
        allowed = config.get("allowed_decisions", ["approve", "edit", "reject"])
        requests.append(ReviewRequest(
            request_id=f"{interrupt_id}:{index}", interrupt_id=interrupt_id, index=index,
            kind="middleware", action=item["name"],
            args=_args(item.get("args"), f"action_requests[{index}]"),
            reason=_opt_str(item.get("description"), "description"),
            allowed=_allowed(allowed, f"review_configs for {item['name']!r}"),
            args_schema=config.get("args_schema"), raw=value, **context,
        ))
    return requests


def _tool_approval_schema(response_schema: Any) -> tuple[tuple[Action, ...], dict[str, Any] | None]:
    """Allowed decisions and the edit-args schema from a per-call `response_schema`."""
    if not isinstance(response_schema, dict):
        return ACTIONS, None
    defs = response_schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref", "")
        return cast(dict[str, Any], defs.get(ref.rsplit("/", 1)[-1], node)) if ref else node

    branches = response_schema.get("oneOf") or response_schema.get("anyOf") or [response_schema]
    allowed: list[Action] = []
    args_schema = None
    for branch in map(resolve, branches):
        kind = branch.get("properties", {}).get("type", {}).get("const")
        if kind in ACTIONS:
            allowed.append(kind)
        if kind == "edit":
            edited = resolve(branch["properties"].get("edited_action", {}))
            args_schema = resolve(edited.get("properties", {}).get("args", {})) or None
    return (tuple(allowed) or ACTIONS), args_schema


def _from_tool_approval(value: dict[str, Any], interrupt_id: str, response_schema: Any,
                        context: dict[str, Any]) -> ReviewRequest:
    _require_json(value, "The tool_approval payload")
    allowed, args_schema = _tool_approval_schema(response_schema)
    return ReviewRequest(
        request_id=interrupt_id, interrupt_id=interrupt_id, kind="tool_approval",
        action=str(value.get("name", "tool")),
        args=_args(value.get("args"), "tool_approval"),
        reason=_opt_str(value.get("description"), "description"),
        allowed=allowed, args_schema=args_schema, raw=value, **context,
    )


def _from_plain(value: Any, interrupt_id: str, context: dict[str, Any]) -> ReviewRequest:
    common = dict(request_id=interrupt_id, interrupt_id=interrupt_id, kind="plain", raw=value)
    try:
        _require_json(value, f"The interrupt() value of type {type(value).__name__}")
    except PayloadError as exc:
        # Still reviewable as text (approve / reject / respond); only editing needs JSON.
        return ReviewRequest(**common, action="review",
                             preview=json.dumps(value, indent=2, default=str),
                             reason=f"Shown as text, editing disabled: {exc}",
                             allowed=("approve", "reject", "respond"), **context)
    if isinstance(value, str):
        return ReviewRequest(**common, action="question", reason=value,
                             allowed=("approve", "reject", "respond"), **context)
    if not isinstance(value, dict):
        return ReviewRequest(**common, action="review",
                             preview=json.dumps(value, indent=2),
                             allowed=("approve", "reject", "respond"), **context)
    action = next((value[k] for k in PLAIN_ACTION_KEYS if isinstance(value.get(k), str)), None)
    reason = next((value[k] for k in PLAIN_REASON_KEYS if isinstance(value.get(k), str)), None)
    confidence = _plain_confidence(value.get("confidence"))
    if isinstance(value.get("args"), dict):
        args = value["args"]
    else:
        # Keys read as metadata are not edited; a value that does not fit its meaning
        # (e.g. "confidence": 80) is just another field of the user's own payload.
        meta = {*PLAIN_ACTION_KEYS, *PLAIN_REASON_KEYS, "risk",
                *(["confidence"] if confidence is not None else [])}
        args = {k: v for k, v in value.items()
                if k not in meta or not isinstance(v, str | int | float)}
    return ReviewRequest(
        **common, action=action or "review", args=args, reason=reason, confidence=confidence,
        risk=str(value["risk"]) if isinstance(value.get("risk"), str | int | float) else None,
        allowed=ACTIONS if args else ("approve", "reject", "respond"), **context,
    )


def _plain_confidence(value: Any) -> float | None:
    """A plain payload's "confidence", when it is one: a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return None
    return float(value)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """A local `$ref` (`#/$defs/Name`, as pydantic writes them) replaced by its target."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _is_object(response_schema: dict[str, Any]) -> bool:
    schema = _resolve(response_schema, response_schema)
    return schema.get("type") == "object" or "properties" in schema


TYPED_VALUE = "value"
"""The one field edited when a `response_schema` asks for a scalar or a list."""


def _from_typed(value: Any, interrupt_id: str, response_schema: dict[str, Any],
                context: dict[str, Any]) -> ReviewRequest:
    """`interrupt(value, response_schema=...)`: the reviewer fills in the typed answer.

    The answer is the resume value, so only decisions that can produce a value of that
    schema are offered: an object or a scalar is edited (approved as proposed when the
    payload already holds a valid answer), a boolean is approve / reject, free text is
    respond."""
    _require_json(value, f"The interrupt() value of type {type(value).__name__}")
    base = _from_plain(value, interrupt_id, context)
    schema = _resolve(response_schema, response_schema)
    common = dict(request_id=interrupt_id, interrupt_id=interrupt_id, kind="plain", raw=value,
                  action=base.action, reason=base.reason, preview=base.preview,
                  confidence=base.confidence, risk=base.risk, response_schema=response_schema,
                  **context)
    kind = schema.get("type")
    if kind == "boolean" and "enum" not in schema:
        return ReviewRequest(**common, allowed=("approve", "reject"))
    if kind == "string" and "enum" not in schema:
        return ReviewRequest(**common, allowed=("respond",))
    source = value.get("args") if isinstance(value, dict) and isinstance(value.get("args"),
                                                                          dict) else value
    if _is_object(response_schema):
        props = schema.get("properties") or {}
        # every field gets an editor: its default, else empty for the reviewer to fill in
        args = {k: v.get("default") if isinstance(v, dict) else None for k, v in props.items()}
        if isinstance(source, dict):
            args.update({k: v for k, v in source.items() if k in props})
        args_schema = response_schema
    else:
        proposed = source if not isinstance(source, dict | str) else schema.get("default")
        args = {TYPED_VALUE: proposed}
        args_schema = {"type": "object", "properties": {TYPED_VALUE: response_schema},
                       "required": [TYPED_VALUE], "additionalProperties": False,
                       **({"$defs": response_schema["$defs"]} if "$defs" in response_schema
                          else {})}
    valid = jsonschema.Draft202012Validator(args_schema).is_valid(args)
    return ReviewRequest(**common, args=args, args_schema=args_schema,
                         allowed=("approve", "edit") if valid else ("edit",))


def plain_resume_value(request: ReviewRequest, decision: Decision) -> Any:
    """The documented convention for plain `interrupt(value)` payloads.

    approve -> True, reject -> False, respond -> the response text, edit -> the payload
    dict with the edited arguments in place (under "args" when the payload had one),
    a manual override -> the result the human obtained (any JSON value).
    With a `response_schema` the resume value is the typed answer itself: the (edited)
    object, the edited scalar, True / False, or the response text.
    """
    if request.response_schema is not None and decision.action in ("approve", "edit") \
            and request.args_schema is not None:
        return (decision.args if _is_object(request.response_schema)
                else decision.args[TYPED_VALUE])
    if decision.action == "approve":
        return True
    if decision.action == "reject":
        return False
    if decision.override == "override":
        return decision.result
    if decision.action == "respond":
        return decision.message
    raw = request.raw if isinstance(request.raw, dict) else {}
    if isinstance(raw.get("args"), dict):
        return {**raw, "args": decision.args}
    return {**raw, **decision.args}


def batch_resume_value(decisions: Sequence[Decision]) -> dict[str, Any]:
    """What `hitl_nb.ask_many` receives back: one decision per action, in order."""
    return {ASK_MARKER: 1, "decisions": [d.to_resume() for d in decisions]}


def middleware_decision(request: ReviewRequest, decision: Decision) -> dict[str, Any]:
    """One LangChain HITL decision (`ApproveDecision`, `EditDecision`, ...)."""
    if decision.action == "approve":
        return {"type": "approve"}
    if decision.action == "edit":
        return {"type": "edit", "edited_action": {"name": request.action, "args": decision.args}}
    if decision.action == "respond":
        return {"type": "respond", "message": decision.message or ""}
    out: dict[str, Any] = {"type": "reject"}
    if decision.message:
        out["message"] = decision.message
    return out
