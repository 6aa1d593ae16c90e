"""Stop, Redirect, Undo and Done-by-hand from the widget: validated like decisions."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send

import hitl_nb
from hitl_nb.demo import SupportDesk

REFUND = {"messages": [("user", "refund order 1042")]}


pytestmark = pytest.mark.usefixtures("clean_overrides")  # conftest: a clean kill switch


@pytest.fixture
def widget(graph) -> hitl_nb.ReviewWidget:
    return hitl_nb.Session(graph, config()).invoke(REFUND).widget()


def stop_msg(widget: hitl_nb.ReviewWidget, **fields: Any) -> dict[str, Any]:
    return {"type": "stop", "token": widget.stop_token, "reason": None, **fields}


def undo_msg(widget: hitl_nb.ReviewWidget, **fields: Any) -> dict[str, Any]:
    return {"type": "undo", "request_id": widget.undo_request_id, "token": widget.undo_token,
            **fields}


def redirect_msg(widget: hitl_nb.ReviewWidget, text: str, **fields: Any) -> dict[str, Any]:
    request = widget.requests[0]
    return {"type": "redirect", "request_id": request["request_id"],
            "nonce": request["nonce"], "instructions": text, **fields}


def approve_msg(widget: hitl_nb.ReviewWidget) -> dict[str, Any]:
    request = widget.requests[0]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": "approve", "args": None, "message": None, "rating": None,
            "comment": None}


def decisions() -> list[str]:
    return list(hitl_nb.log().to_pandas().decision.astype(str))


def test_stop_click_ends_the_run_and_a_replay_changes_nothing(widget, desk: SupportDesk):
    assert len(widget.stop_token) == 32
    message = stop_msg(widget, reason="customer called back")
    send(widget, message)
    assert widget.status == "stopped"
    assert widget.stopped.endswith("customer called back")
    assert (widget.stop_token, widget.requests) == ("", [])
    assert widget.history[-1]["override"] == "stop"
    send(widget, message)
    assert "stale or forged stop" in widget.override_errors["stop"]
    assert decisions() == ["stop"]
    assert desk.count("issue_refund") == 0


@pytest.mark.parametrize("tamper", [{"token": "0" * 32}, {"token": None}, {"extra": 1},
                                    {"reason": 5}])
def test_forged_or_malformed_stops_change_nothing(widget, tamper):
    send(widget, stop_msg(widget, **tamper))
    assert widget.status == "pending"
    assert len(widget.requests) == 1
    assert len(hitl_nb.log()) == 0
    assert widget.override_errors["stop"]


def test_redirect_click_changes_course_and_spends_the_nonce(widget, desk: SupportDesk):
    message = redirect_msg(widget, "don't refund, offer a voucher instead")
    send(widget, message)
    assert [r["action"] for r in widget.requests] == ["issue_voucher"]
    assert widget.history[-1]["override"] == "redirect"
    send(widget, message)
    assert "stale, forged or malformed" in widget.refusals[-1]
    assert decisions() == ["redirect"]
    assert desk.count("issue_refund") == 0


@pytest.mark.parametrize(("tamper", "reason"), [
    ({"nonce": "0" * 32}, "stale, forged or malformed"),
    ({"request_id": "forged"}, "stale, forged or malformed"),
    ({"goto": "tools"}, "stale, forged or malformed"),
    ({"instructions": "   "}, "needs instructions"),
    ({"instructions": ["a"]}, "instructions must be text"),
])
def test_bad_redirects_are_refused_on_the_card(widget, tamper, reason):
    request_id = widget.requests[0]["request_id"]
    send(widget, {**redirect_msg(widget, "offer a voucher"), **tamper})
    assert reason in widget.refusals[-1]
    assert len(hitl_nb.log()) == 0
    assert [r["request_id"] for r in widget.requests] == [request_id]
    send(widget, approve_msg(widget))  # the card is still live with its nonce
    assert decisions() == ["approve"]


def test_undo_click_reopens_the_request_and_shows_the_report(widget, desk: SupportDesk):
    hitl_nb.compensate("issue_refund", desk.reverse_refund)
    assert widget.undo_token == ""
    send(widget, approve_msg(widget))
    refund_id = widget.history[-1]["request"]["request_id"]
    assert widget.undo_request_id == refund_id
    message = undo_msg(widget)
    send(widget, message)
    assert [r["action"] for r in widget.requests] == ["issue_refund"]
    assert widget.history[-1]["undone"] is True
    assert widget.undo_token == ""  # the undone card cannot be undone twice
    assert "refund of 80.00 on order 1042 reversed" in widget.notice
    send(widget, message)
    assert "stale or forged undo" in widget.override_errors["undo"]
    assert decisions() == ["approve", "undo"]
    assert desk.count("reverse_refund") == 1
    # decide differently; the notice goes away with the next decision
    request = widget.requests[0]
    send(widget, {**approve_msg(widget), "action": "reject", "message": "not this time",
                  "request_id": request["request_id"], "nonce": request["nonce"]})
    assert widget.notice == ""
    assert decisions() == ["approve", "undo", "reject"]
    assert desk.count("issue_refund") == 1


def test_undo_for_an_older_card_is_stale(widget):
    send(widget, approve_msg(widget))
    old = undo_msg(widget)
    send(widget, approve_msg(widget))  # the draft reply: now the last decision
    send(widget, old)
    assert "stale or forged undo" in widget.override_errors["undo"]
    send(widget, {**undo_msg(widget), "request_id": old["request_id"]})
    assert "stale or forged undo" in widget.override_errors["undo"]
    assert decisions() == ["approve", "approve"]
    send(widget, undo_msg(widget))
    assert decisions() == ["approve", "approve", "undo"]


def test_refused_undo_shows_why(widget, monkeypatch: pytest.MonkeyPatch):
    send(widget, approve_msg(widget))
    monkeypatch.setattr(widget.session, "status", "running")
    send(widget, undo_msg(widget))
    assert "in progress" in widget.override_errors["undo"]


def test_done_by_hand_click_is_a_manual_override(widget, desk: SupportDesk):
    by_hand = {"order": 1042, "amount": 80.0, "note": "paid in cash at the counter"}
    send(widget, {**approve_msg(widget), "action": "override", "args": by_hand,
                  "message": "refunded 80.00 in cash"})
    assert desk.count("issue_refund") == 0
    assert widget.history[-1]["override"] == "override"
    assert widget.history[-1]["edited"] is True
    row = hitl_nb.log().to_pandas().iloc[-1]
    assert (row.decision, row.message) == ("override", "refunded 80.00 in cash")


def test_emergency_stop_refusals_appear_on_the_card(widget, desk: SupportDesk):
    hitl_nb.emergency_stop("audit")
    send(widget, approve_msg(widget))
    request_id = widget.requests[0]["request_id"]
    assert "emergency stop engaged" in widget.errors[request_id]
    send(widget, redirect_msg(widget, "offer a voucher"))
    assert "emergency stop engaged" in widget.errors[request_id]
    assert len(hitl_nb.log()) == 0
    send(widget, stop_msg(widget))
    assert widget.status == "stopped"
    assert desk.count("issue_refund") == 0
