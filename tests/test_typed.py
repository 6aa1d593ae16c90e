"""Typed previews: LangGraph `Interrupt.response_schema`, nested objects, optional fields and
enums from pydantic, and long-text diffs stored in the feedback log."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import jsonpatch
import pytest
from conftest import config, send
from graphs import plain_graph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb.demo import SupportDesk


class Channel(StrEnum):
    card = "card"
    bank = "bank"


class Address(BaseModel):
    street: str
    zip: str = Field(pattern=r"^\d{5}$")


class RefundAnswer(BaseModel):
    amount: float = Field(ge=0, le=500)
    channel: Channel = Channel.card
    address: Address
    note: str | None = None


class S(TypedDict, total=False):
    answer: Any


def typed_graph(payload: Any, schema: Any) -> Any:
    def node(state: S) -> S:
        return {"answer": interrupt(payload, response_schema=schema)}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


PROPOSED = {"question": "How much should we refund?", "amount": 80.0,
            "address": {"street": "1 Main St", "zip": "10115"}}


def test_response_schema_object_is_edited_and_resumed_as_the_answer():
    session = hitl_nb.Session(typed_graph(PROPOSED, RefundAnswer), config()).invoke({})
    [request] = session.pending
    assert request.reason == "How much should we refund?"
    assert request.args == {"amount": 80.0, "channel": "card",
                            "address": {"street": "1 Main St", "zip": "10115"}, "note": None}
    assert request.allowed == ("approve", "edit")  # the proposal already is a valid answer
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of amount"):
        session.edit({**request.args, "amount": 900})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of address/zip"):
        session.edit({**request.args, "address": {"street": "x", "zip": "12"}})
    session.edit({**request.args, "amount": 60.0, "channel": "bank"})
    answer = session.result["answer"]
    assert isinstance(answer, RefundAnswer)  # LangGraph validated our resume value
    assert (answer.amount, answer.channel) == (60.0, Channel.bank)


def test_response_schema_without_a_valid_proposal_offers_edit_only():
    session = hitl_nb.Session(typed_graph("Fill in the refund", RefundAnswer), config())
    session.invoke({})
    [request] = session.pending
    assert request.allowed == ("edit",)
    # every field has an editor: the schema's defaults, empty where there is none
    assert request.args == {"amount": None, "channel": "card", "address": None, "note": None}
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of address: None is not of type"):
        session.edit({"channel": "card"})
    with pytest.raises(hitl_nb.DecisionError, match="approve is not allowed"):
        session.approve()
    session.edit({"amount": 5, "channel": "card", "address": {"street": "s", "zip": "12345"},
                  "note": None})
    assert session.result["answer"].amount == 5


@pytest.mark.parametrize(("schema", "allowed", "method", "arg", "expected"), [
    ({"type": "integer", "minimum": 1}, ("edit",), "edit", {"value": 3}, 3),
    ({"type": "boolean"}, ("approve", "reject"), "reject", None, False),
    ({"type": "boolean"}, ("approve", "reject"), "approve", None, True),
    ({"type": "string"}, ("respond",), "respond", "Ada", "Ada"),
    ({"type": "string", "enum": ["a", "b"]}, ("edit",), "edit", {"value": "b"}, "b"),
])
def test_scalar_response_schemas(schema, allowed, method, arg, expected):
    session = hitl_nb.Session(typed_graph("Answer please", schema), config()).invoke({})
    [request] = session.pending
    assert request.allowed == allowed
    getattr(session, method)(*([] if arg is None else [arg]))
    assert session.result["answer"] == expected


def test_scalar_edit_is_validated_against_the_response_schema():
    session = hitl_nb.Session(typed_graph("How many?", {"type": "integer", "minimum": 1}),
                              config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of value"):
        session.edit({"value": 0})


def test_widget_gets_editor_schemas_for_nested_models_enums_and_optionals():
    session = hitl_nb.Session(typed_graph(PROPOSED, RefundAnswer), config()).invoke({})
    [request] = session.widget().requests
    props = request["args_schema"]["properties"]
    assert props["channel"]["enum"] == ["card", "bank"]  # $ref to the Enum, inlined
    assert props["address"]["type"] == "object"  # nested model: a JSON editor
    assert props["address"]["properties"]["zip"]["pattern"] == r"^\d{5}$"
    assert props["note"]["type"] == "string"  # Optional[str]: a text field that may be empty
    assert props["note"]["nullable"] is True


def test_nested_edit_through_the_widget_shows_the_field_and_reason():
    session = hitl_nb.Session(typed_graph(PROPOSED, RefundAnswer), config()).invoke({})
    widget = session.widget()
    [request] = widget.requests
    bad = {**request["args"], "address": {"street": "1 Main St", "zip": "1"}}
    send(widget, {"type": "decision", "request_id": request["request_id"],
                  "nonce": request["nonce"], "action": "edit", "args": bad})
    assert widget.errors[request["request_id"]].startswith("invalid edit of address/zip")
    good = {**request["args"], "address": {"street": "1 Main St", "zip": "10117"}}
    send(widget, {"type": "decision", "request_id": request["request_id"],
                  "nonce": request["nonce"], "action": "edit", "args": good})
    assert widget.history[0]["changes"] == [
        {"op": "replace", "path": "/address/zip", "old": "10115", "new": "10117"}]
    [row] = list(hitl_nb.log())
    assert row["patch"] == [{"op": "replace", "path": "/address/zip", "value": "10117"}]


def test_long_text_edit_stores_its_word_diff_in_the_log(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(
        {"messages": [("user", "refund order 1042")]})
    session.approve()
    [draft] = session.pending
    body = draft.args["body"]
    edited = body.replace("3-5 days", "2 working days") + "\nSupport Team"
    session.edit({**draft.args, "body": edited})
    row = hitl_nb.log().to_pandas().iloc[-1]
    [op] = row.patch
    assert (op["op"], op["path"], op["value"]) == ("replace", "/body", edited)
    segments = op["text_diff"]
    assert "".join(t for tag, t in segments if tag != "+") == body
    assert "".join(t for tag, t in segments if tag != "-") == edited
    assert ["-", "3-5"] in segments
    assert row.edited
    assert row.edit_distance > 0
    # still a valid RFC 6902 patch: applying it gives the final arguments
    assert jsonpatch.apply_patch(row.proposed_args, row.patch) == row.final_args


def test_log_with_text_diffs_round_trips_through_parquet(tmp_path, graph):
    from hitl_nb._log import read_parquet

    session = hitl_nb.Session(graph, config()).invoke(
        {"messages": [("user", "refund order 1042")]})
    session.approve()
    session.edit({**session.pending[0].args, "body": "A completely different reply text."})
    hitl_nb.log().to_parquet(str(tmp_path / "log.parquet"))
    back = read_parquet(str(tmp_path / "log.parquet"))
    assert back.patch.iloc[-1] == hitl_nb.log().to_pandas().patch.iloc[-1]


def test_ask_many_rejects_bad_input_in_the_node():
    with pytest.raises(hitl_nb.PayloadError, match="non-empty list"):
        hitl_nb.ask_many([])
    with pytest.raises(hitl_nb.PayloadError, match="item 1 must be a dict"):
        hitl_nb.ask_many([{"action": "a"}, "b"])  # type: ignore[list-item]
    with pytest.raises(hitl_nb.PayloadError, match=r"item 0: .*unexpected keyword"):
        hitl_nb.ask_many([{"action": "a", "colour": "red"}])
    with pytest.raises(hitl_nb.PayloadError, match="confidence must be between 0 and 1"):
        hitl_nb.ask_many([{"action": "a"}, {"action": "b", "confidence": 3}])


def test_an_edit_may_not_add_a_field_the_agents_schema_does_not_name():
    class Refund(BaseModel):
        order: int
        amount: float

    graph = plain_graph({"__hitl_nb__": 1, "action": "refund", "args": {"order": 1, "amount": 5.0},
                         "args_schema": Refund.model_json_schema()})
    session = hitl_nb.Session(graph, config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="'amout' was unexpected"):
        session.edit({"amout": 3.0})
    session.edit({"amount": 3.0})
    assert hitl_nb.Decision.from_resume(session.result["answer"]).args == {"order": 1,
                                                                          "amount": 3.0}
