"""What an edit changed: field-level JSON patch, word-level text diffs, edit distance, schemas."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator
from typing import Any

import jsonpatch
import jsonpointer
from rapidfuzz.distance import Levenshtein

from ._schema import canonical_json

LONG_TEXT = 40
"""Strings at least this long get a word-level diff instead of old -> new."""


def text_diff(before: str, after: str) -> list[tuple[str, str]]:
    """Word-level diff as (tag, text) segments: tag is "=", "-" or "+"."""
    a, b = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("+", "".join(b[j1:j2])))
    return segments


def _stepwise(before: Any, after: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each operation of the patch from `before` to `after`, with the document it applies
    to: a patch's paths refer to the document as the operations before it left it (a list
    edit shifts the indices after it), not to `before`."""
    ops = jsonpatch.make_patch(before, after).patch
    if all(op["op"] == "replace" for op in ops):  # the common case: nothing shifts
        for op in ops:
            yield op, before
        return
    current = copy.deepcopy(before)
    for op in ops:
        yield op, current
        current = jsonpatch.apply_patch(current, [op], in_place=True)


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per JSON-patch operation, with the old value and, for long text, a diff.

    >>> changes({"amount": 80.0}, {"amount": 60.0})
    [{'op': 'replace', 'path': '/amount', 'old': 80.0, 'new': 60.0}]
    """
    out = []
    for op, current in _stepwise(before, after):
        entry: dict[str, Any] = {"op": op["op"], "path": op["path"]}
        if op["op"] in ("replace", "remove"):
            entry["old"] = jsonpointer.resolve_pointer(current, op["path"])
        if "value" in op:
            entry["new"] = op["value"]
        old, new = entry.get("old"), entry.get("new")
        if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) >= LONG_TEXT:
            entry["text_diff"] = text_diff(old, new)
        out.append(entry)
    return out


def args_distance(proposed: Any, final: Any) -> float:
    """`edit_distance`: Levenshtein distance between the canonical JSON of two arguments."""
    # score_hint: exact all the same, ~50x faster when a long argument (a 500-step plan)
    # changed a little; edits that rewrite everything cost ~1.5x (benchmarks/bench_collab.py)
    return float(Levenshtein.distance(canonical_json(proposed), canonical_json(final),
                                      score_hint=64))


def log_patch(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The RFC 6902 patch from `before` to `after`, each `replace` of long text carrying
    its word diff as an extra `text_diff` member (patch appliers ignore extra members).

    >>> log_patch({"n": 1}, {"n": 2})
    [{'op': 'replace', 'path': '/n', 'value': 2}]
    """
    out = []
    for op, current in _stepwise(before, after):
        if op["op"] == "replace" and isinstance(op.get("value"), str):
            old = jsonpointer.resolve_pointer(current, op["path"])
            if isinstance(old, str) and max(len(old), len(op["value"])) >= LONG_TEXT:
                op = {**op, "text_diff": [list(seg) for seg in text_diff(old, op["value"])]}
        out.append(op)
    return out


def json_schema_of(schema: Any) -> dict[str, Any] | None:
    """A JSON schema from what an agent author has at hand: a JSON-schema dict, a
    pydantic model class, or a LangChain tool (its call schema)."""
    if schema is None or isinstance(schema, dict):
        return schema
    for attr in ("tool_call_schema", "args_schema"):  # LangChain BaseTool
        inner = getattr(schema, attr, None)
        if inner is not None and inner is not schema:
            return json_schema_of(inner)
    model_json_schema = getattr(schema, "model_json_schema", None)
    if callable(model_json_schema):  # pydantic v2 model class
        result = model_json_schema()
        if isinstance(result, dict):
            return result
    raise TypeError(f"args_schema must be a JSON-schema dict, a pydantic model or a LangChain "
                    f"tool, got {schema!r:.80}")


def editor_schema(schema: dict[str, Any], *, depth: int = 4) -> dict[str, Any]:
    """The schema the widget picks editors from: local `$ref`s (pydantic's `$defs`) inlined
    and `Optional[X]` (`anyOf: [X, null]`) read as X, so a nested model gets a JSON editor,
    an Enum a menu and an optional number a number field. Validation keeps the original.

    >>> editor_schema({"properties": {"n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}})
    {'properties': {'n': {'type': 'integer', 'nullable': True}}}
    """
    root = schema

    def simplify(node: Any, left: int) -> Any:
        if not isinstance(node, dict) or left <= 0:
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            try:
                target = jsonpointer.resolve_pointer(root, ref[1:])
            except jsonpointer.JsonPointerException:
                return node
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list):
                real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                if len(real) == 1 and len(options) == 2:
                    rest = {k: v for k, v in node.items() if k != key}
                    node = {**simplify(real[0], left - 1), **rest, "nullable": True}
        out = {k: v for k, v in node.items() if k != "$defs"}
        if isinstance(out.get("properties"), dict):
            out["properties"] = {k: simplify(v, left - 1) for k, v in out["properties"].items()}
        if isinstance(out.get("items"), dict):
            out["items"] = simplify(out["items"], left - 1)
        return out

    result = simplify(schema, depth)
    return result if isinstance(result, dict) else schema
