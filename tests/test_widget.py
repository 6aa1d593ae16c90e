"""The review widget's Python side, driven by front-end messages through its comm handler."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send
from graphs import plain_graph

import hitl_nb
from hitl_nb.demo import SupportDesk

REFUND = {"messages": [("user", "refund order 1042")]}


def decision(widget: hitl_nb.ReviewWidget, action: str, index: int = 0, **fields: Any) -> dict:
    request = widget.requests[index]
    return {"type": "decision", "request_id": request["request_id"],
            "nonce": request["nonce"], "action": action, "args": None, "message": None,
            "rating": None, "comment": None, **fields}


@pytest.fixture
def widget(graph) -> hitl_nb.ReviewWidget:
    return hitl_nb.Session(graph, config()).invoke(REFUND).widget()


def test_state_mirrors_the_pending_request(widget):
    [request] = widget.requests
    assert request["action"] == "issue_refund"
    assert request["confidence"] == pytest.approx(0.82)
    assert request["args_schema"]["properties"]["amount"] == {"type": "number"}
    assert len(request["nonce"]) == 32
    assert widget.status == "pending"
    assert widget.history == []


def test_click_approve_resumes_and_moves_the_card_to_history(widget, desk: SupportDesk):
    send(widget, decision(widget, "approve", rating=4, comment="ok"))
    assert desk.count("issue_refund") == 1
    assert widget.history[0]["action"] == "approve"
    assert widget.history[0]["request"]["action"] == "issue_refund"
    assert [r["action"] for r in widget.requests] == ["draft_reply"]
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.rating, row.comment) == (4.0, "ok")


def test_final_result_appears_in_the_same_widget(widget):
    send(widget, decision(widget, "approve"))
    send(widget, decision(widget, "approve"))
    assert widget.status == "done"
    assert widget.requests == []
    assert "Refund for order 1042 done" in widget.result
    assert [h["action"] for h in widget.history] == ["approve", "approve"]


def test_double_click_resumes_once(widget, desk: SupportDesk):
    message = decision(widget, "approve")
    send(widget, message)
    send(widget, message)
    assert desk.count("issue_refund") == 1
    assert len(hitl_nb.log()) == 1
    assert "not pending here" in widget.refusals[-1]


def test_invalid_edit_shows_an_error_on_the_card_and_keeps_it_live(widget, desk: SupportDesk):
    message = decision(widget, "edit", args={"order": 1042, "amount": "lots", "note": ""})
    send(widget, message)
    request_id = message["request_id"]
    assert "invalid edit of amount" in widget.errors[request_id]
    assert desk.count("issue_refund") == 0
    # the same card can still be decided with its nonce
    send(widget, {**message, "args": {"order": 1042, "amount": 10, "note": ""}})
    assert desk.executed[-1] == ("issue_refund", {"order": 1042, "amount": 10, "note": ""})


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [({"request_id": "forged-id"}, "not pending here"),
     ({"nonce": "0" * 32}, "does not match"),
     ({"nonce": "é" * 32}, "does not match"),  # compare_digest raises on non-ASCII text
     ({"rating": 10**400}, "between 1 and 5"),  # math.isfinite overflows on it
     ({"action": "edit", "args": {"amount": float("inf")}}, "amount: not a finite number"),
     ({"action": "edit", "args": {"note": [{"x": float("nan")}]}}, "note/0/x: not a finite"),
     ({"action": "explode"}, "unknown action"),
     ({"action": "approve", "args": {"order": 1, "amount": 999.0, "note": "x"}}, "use edit"),
     ({"sneaky": True}, "unexpected fields"),
     ({"type": "something"}, "not a decision")],
)
def test_forged_messages_resume_nothing(widget, desk: SupportDesk, tamper, reason):
    send(widget, {**decision(widget, "approve"), **tamper})
    assert reason in widget.refusals[-1]
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 0
    assert len(widget.requests) == 1


def test_non_dict_message_is_refused(widget):
    send(widget, ["approve"])
    assert "not a decision" in widget.refusals[-1]


def test_stale_nonce_after_the_run_moved_on(widget, desk: SupportDesk):
    old = decision(widget, "approve")
    send(widget, old)
    send(widget, {**old, "request_id": widget.requests[0]["request_id"]})
    assert "does not match" in widget.refusals[-1]
    assert desk.count("draft_reply") == 0


def test_graph_error_is_shown_in_the_widget(desk: SupportDesk):
    from hitl_nb.demo import support_agent

    real_run = desk.run

    def failing(name, args):
        if name == "issue_refund":
            raise ConnectionError("bank API timeout")
        return real_run(name, args)

    desk.run = failing  # type: ignore[method-assign]
    widget = hitl_nb.Session(support_agent(desk), config()).invoke(REFUND).widget()
    send(widget, decision(widget, "approve"))
    assert widget.status == "error"
    assert "ConnectionError: bank API timeout" in widget.error
    assert hitl_nb.log().to_pandas().decision.tolist() == ["approve"]


def test_problem_payload_is_listed_for_the_front_end():
    payload = {"__hitl_nb__": 1, "action": "", "args": {}}
    widget = hitl_nb.Session(plain_graph(payload), config()).invoke({}).widget()
    assert widget.requests == []
    assert "needs action=" in widget.problems[0]


def test_displaying_the_widget_sets_current(widget):
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert hitl_nb.current() is widget.session


def test_respond_from_the_front_end(graph, desk: SupportDesk):
    widget = hitl_nb.Session(plain_graph("Your name?"), config()).invoke({}).widget()
    send(widget, decision(widget, "respond", message="Grace"))
    assert widget.session.result == {"answer": "Grace"}


def test_an_unexpected_error_before_the_graph_runs_is_shown_and_the_card_stays_live(
        widget, desk: SupportDesk, monkeypatch):
    def broken(*args, **kwargs):
        raise OverflowError("a check that crashed")

    message = decision(widget, "approve")
    with monkeypatch.context() as patch:
        patch.setattr(hitl_nb.Session, "decide", broken)
        send(widget, message)
    assert widget.refusals[-1] == "refused: OverflowError: a check that crashed"
    assert widget.errors[message["request_id"]] == widget.refusals[-1]
    assert len(hitl_nb.log()) == 0
    send(widget, message)  # the same card, its nonce still good
    assert desk.count("issue_refund") == 1
