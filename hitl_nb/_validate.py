"""Check a proposed decision against the request it answers, before anything resumes."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import jsonschema

from ._schema import ACTIONS, Decision, ReviewRequest, Source, bounded_number, canonical_json

MAX_TEXT = 20_000
"""Longest message or comment accepted (keeps the log and the checkpoint small)."""


class DecisionError(ValueError):
    """A decision that cannot be applied; nothing was resumed. The message says why."""


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
    (list, "array"), (dict, "object"),
)


def infer_schema(args: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema that keeps each proposed argument's type (ints may become floats).

    Used when the agent gave no schema: an edit may change values, not the shape.
    """
    props: dict[str, Any] = {}
    for key, value in args.items():
        kind = next((name for py, name in _JSON_TYPES if isinstance(value, py)), None)
        if kind == "integer" or kind == "number":
            props[key] = {"type": "number"}
        elif kind is not None:
            props[key] = {"type": kind}
        else:
            props[key] = {}
    return {"type": "object", "properties": props, "required": list(args),
            "additionalProperties": False}


def schema_for(request: ReviewRequest) -> dict[str, Any]:
    """What edited arguments must satisfy: the request's schema, else the proposed
    arguments' types. Fields the schema does not name are refused unless it allows them
    (pydantic and LangChain tool schemas leave `additionalProperties` out, yet an unknown
    field would crash the node or be silently dropped by the tool)."""
    schema = request.args_schema
    if not schema:
        return infer_schema(request.args)
    if "properties" in schema and "additionalProperties" not in schema:
        return {**schema, "additionalProperties": False}
    return schema


def check_args(request: ReviewRequest, args: Any) -> dict[str, Any]:
    """Edited arguments, validated; raises `DecisionError` naming the field and the rule.

    An edit names the fields it changes: fields it leaves out keep their proposed values
    (`edit({"amount": 60})`), so the result is always a complete set of arguments.
    """
    if not isinstance(args, dict):
        raise DecisionError(f"edited arguments must be an object, got {type(args).__name__}.")
    for name, value in args.items():
        if (bad := _non_finite(value, (str(name),))) is not None:
            raise DecisionError(f"invalid edit of {'/'.join(bad)}: not a finite number "
                                "(NaN and infinity are not JSON; type a number).")
    merged: dict[str, Any] = {**request.args, **args}
    validator = jsonschema.Draft202012Validator(schema_for(request))
    errors = sorted(validator.iter_errors(merged), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "arguments"
        field = first.path[0] if first.path else None
        untouched = field in request.args and merged[field] == request.args[field]
        hint = (" (the agent's proposed value, left as it was: the edit must fix it too)"
                if untouched else "")
        raise DecisionError(f"invalid edit of {where}: {first.message}{hint}")
    return merged


def _non_finite(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """Where in an edited value a NaN or infinity sits, if anywhere."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if (where := _non_finite(item, (*path, str(key)))) is not None:
            return where
    return None


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DecisionError(f"{name} must be text, got {type(value).__name__}.")
    if len(value) > MAX_TEXT:
        raise DecisionError(f"{name} is {len(value)} characters; the limit is {MAX_TEXT}.")
    return value


def _rating(value: Any) -> float | None:
    return bounded_number(value, "rating", 1, 5, DecisionError)


def make_decision(request: ReviewRequest, action: Any, *, args: Any = None,
                  message: Any = None, rating: Any = None, comment: Any = None,
                  reviewer: str | None = None, role: str | None = None,
                  source: Source = "human", result: Any = None) -> Decision:
    """Build the `Decision` for `request`, or raise `DecisionError` saying what to fix.

    `action="override"` is a manual override (see `manual_override`). Requests with a
    `collab` block (plans, plan steps, human-led input, co-edited drafts) also take
    `"input"` and `"revise"`, and have rules of their own (`hitl_nb._collab`).
    """
    if request.collab is not None or action in ("revise", "input"):
        from ._collab import collab_decision

        return collab_decision(request, action, args=args, message=message, rating=rating,
                               comment=comment, reviewer=reviewer, role=role, source=source,
                               result=result)
    if action == "override":
        return manual_override(request, args=args, message=message, result=result,
                               rating=rating, comment=comment, reviewer=reviewer, role=role,
                               source=source)
    if action not in ACTIONS:
        raise DecisionError(f"unknown action {action!r}; use one of {list(ACTIONS)}.")
    if action not in request.allowed:
        raise DecisionError(f"{action} is not allowed for {request.action!r}; "
                            f"allowed: {', '.join(request.allowed)}.")
    message = _text(message, "message")
    if action == "edit":
        final = check_args(request, request.args if args is None else args)
    else:
        if args is not None and args != request.args:
            raise DecisionError(f"{action} carries the proposed arguments unchanged; "
                                "use edit to change them.")
        final = request.args
    if action == "respond" and not (message or "").strip():
        raise DecisionError("respond needs a non-empty message: the text the agent receives.")
    # A copy: code that changes the returned decision's args must not change the request
    # (what is shown again, and logged as the agent's proposal).
    return Decision(action=action, args=copy.deepcopy(final), message=message,
                    rating=_rating(rating), comment=_text(comment, "comment"),
                    reviewer=reviewer, role=role, source=source,
                    request_id=request.request_id)


def manual_override(request: ReviewRequest, *, args: Any = None, message: Any = None,
                    result: Any = None, rating: Any = None, comment: Any = None,
                    reviewer: str | None = None, role: str | None = None,
                    source: Source = "human") -> Decision:
    """The human performed the action themselves: the agent does not run it and receives
    `result` (any JSON value; `message` text from the widget) as the action's result.

    It travels as a `respond`, so it needs a request that accepts one; `args` are the
    values the human used (checked like an edit), the proposed ones when omitted.

    >>> manual_override(request, result="refunded 60.00 by bank transfer",
    ...                 args={"order": 1042, "amount": 60.0, "note": "by hand"})
    """
    if "respond" not in request.allowed:
        raise DecisionError(
            f"a manual override reaches the agent as the result of {request.action!r}, "
            "in place of running it, and this request does not accept a response "
            f"(allowed: {', '.join(request.allowed)}). Reject it and act yourself instead.")
    if result is None:
        result = message
    elif message is not None and message != result:
        raise DecisionError("give the override's result once: result= (any JSON value) "
                            "or message= (text), not both.")
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DecisionError(f"the override's result must be JSON-able ({exc}): it is stored "
                            "in the checkpoint and the log.") from exc
    text = _text(result if isinstance(result, str) else canonical_json(result), "result")
    if result is None or not (text or "").strip():
        raise DecisionError("override needs result=: what performing the action yourself "
                            "returned (the agent receives it as the action's result).")
    final = request.args if args is None else check_args(request, args)
    return Decision(action="respond", args=final, message=text, rating=_rating(rating),
                    comment=_text(comment, "comment"), reviewer=reviewer, role=role,
                    source=source, request_id=request.request_id, override="override",
                    result=result)
