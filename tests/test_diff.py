"""Edit diffs shown in the widget and argument schemas from pydantic models and tools."""

from __future__ import annotations

import re

import pytest
from conftest import config
from graphs import ask_graph
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from rapidfuzz.distance import Levenshtein

import hitl_nb
from hitl_nb._diff import changes, json_schema_of, text_diff


def test_field_changes_carry_old_and_new_values():
    assert changes({"amount": 80.0, "note": "x"}, {"amount": 60.0, "note": "x"}) == [
        {"op": "replace", "path": "/amount", "old": 80.0, "new": 60.0}]
    added = changes({"a": 1}, {"a": 1, "b": [2]})
    assert added == [{"op": "add", "path": "/b", "new": [2]}]


def test_long_text_gets_a_word_diff_that_rebuilds_both_sides():
    before = "Hello Ada, we refunded 80 EUR for your order. Best regards, Support"
    after = "Hello Ada, we refunded 60 EUR for your order today. Best regards, Support Team"
    [change] = changes({"body": before}, {"body": after})
    segments = change["text_diff"]
    assert "".join(t for tag, t in segments if tag != "+") == before
    assert "".join(t for tag, t in segments if tag != "-") == after
    assert ("-", "80") in segments
    assert ("+", "60") in segments
    assert text_diff("same", "same") == [("=", "same")]


class Refund(BaseModel):
    order: int
    amount: float = Field(ge=0, le=500, description="EUR")
    channel: str = Field(json_schema_extra={"enum": ["card", "bank"]})


@tool
def refund_tool(order: int, amount: float) -> str:
    """Refund an order."""
    return "ok"


def test_schema_from_pydantic_and_from_a_langchain_tool():
    schema = json_schema_of(Refund)
    assert schema["properties"]["amount"]["maximum"] == 500
    tool_schema = json_schema_of(refund_tool)
    assert set(tool_schema["properties"]) == {"order", "amount"}
    with pytest.raises(TypeError, match="args_schema must be"):
        json_schema_of(42)


def test_pydantic_schema_validates_edits_end_to_end():
    graph = ask_graph(action="refund", args={"order": 1, "amount": 80.0, "channel": "card"},
                      args_schema=Refund)
    session = hitl_nb.Session(graph, config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of amount: 900"):
        session.edit({"order": 1, "amount": 900, "channel": "card"})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of channel"):
        session.edit({"order": 1, "amount": 50, "channel": "cash"})
    session.edit({"order": 1, "amount": 50, "channel": "bank"})
    assert session.result == {"done": {"order": 1, "amount": 50, "channel": "bank"}}
    widget = session.widget()
    assert widget.history[0]["changes"] == [
        {"op": "replace", "path": "/amount", "old": 80.0, "new": 50},
        {"op": "replace", "path": "/channel", "old": "card", "new": "bank"}]
    # the distance between the canonical JSON of both: "80.0" -> "50" is 3 character
    # edits, "card" -> "bank" 3 more
    before = '{"amount":80.0,"channel":"card","order":1}'
    after = '{"amount":50,"channel":"bank","order":1}'
    expected = Levenshtein.distance(before, after)
    assert expected == 6
    assert widget.history[0]["edit_distance"] == expected
    assert hitl_nb.log().to_pandas().edit_distance.tolist() == [expected]


def test_a_proposal_that_breaks_its_schema_names_the_field_the_edit_must_fix():
    graph = ask_graph(action="refund", args={"amount": 500, "note": "x"},
                      args_schema={"type": "object", "properties": {
                          "amount": {"type": "number", "maximum": 100},
                          "note": {"type": "string"}}})
    session = hitl_nb.Session(graph, config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match=re.escape(
            "invalid edit of amount: 500 is greater than the maximum of 100 (the agent's "
            "proposed value, left as it was: the edit must fix it too)")):
        session.edit({"note": "y"})
    with pytest.raises(hitl_nb.DecisionError) as refused:
        session.edit({"amount": 200})
    assert "proposed value" not in str(refused.value)  # the reviewer's own value
    session.edit({"amount": 90, "note": "y"})
    assert session.result == {"done": {"amount": 90, "note": "y"}}
