"""Reviewer identity, role-based approval enforced in Python (even when the front end is
bypassed), and the two-person rule, on the gated support agent."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send

import hitl_nb
from hitl_nb import Reviewer
from hitl_nb._reviewer import approvals
from hitl_nb._schema import Decision, ReviewRequest
from hitl_nb.demo import SupportDesk, gated_support_agent

REFUND_80 = {"messages": [("user", "refund order 1042")]}   # finance
REFUND_420 = {"messages": [("user", "refund order 2001")]}  # finance, two people


@pytest.fixture(autouse=True)
def no_kernel_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    from hitl_nb import _reviewer

    monkeypatch.setattr(_reviewer, "_current", None)
    monkeypatch.setattr(_reviewer, "_saved", [])
    monkeypatch.delenv("HITL_NB_REVIEWER_ROLES", raising=False)


@pytest.fixture
def gated(desk: SupportDesk) -> Any:
    return gated_support_agent(desk)


def message(widget: hitl_nb.ReviewWidget, action: str, **fields: Any) -> dict[str, Any]:
    request = widget.requests[0]
    return {"type": "decision", "request_id": request["request_id"],
            "nonce": request["nonce"], "action": action, "args": None, "message": None,
            "rating": None, "comment": None, **fields}


def test_reviewer_sets_who_decides_and_restores_as_a_context_manager():
    assert hitl_nb.reviewer() == Reviewer("tester")  # $HITL_NB_REVIEWER, no roles
    alice = hitl_nb.reviewer("alice", roles=["finance", "ops"])
    assert hitl_nb.reviewer() is alice
    assert alice.roles == ("finance", "ops")
    assert str(alice) == "alice (finance, ops)"
    with hitl_nb.reviewer("bob", roles=["security"]) as bob:
        assert hitl_nb.reviewer() is bob
    assert hitl_nb.reviewer() is alice
    with pytest.raises(ValueError, match="non-empty"):
        hitl_nb.reviewer(" ")


def test_roles_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HITL_NB_REVIEWER_ROLES", "finance, ops,")
    assert hitl_nb.reviewer() == Reviewer("tester", ("finance", "ops"))


def test_reviewer_without_the_role_is_refused_and_nothing_happens(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    hitl_nb.reviewer("ivan", roles=["support"])
    for act in (session.approve, session.reject):
        with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance and ivan lacks"):
            act()
    with pytest.raises(hitl_nb.NotAuthorized):
        session.edit({"order": 1042, "amount": 1.0, "note": ""})
    with pytest.raises(hitl_nb.NotAuthorized):  # "done by hand" needs the role too
        session.decide(None, "override", result="refunded by bank transfer")
    assert isinstance(hitl_nb.NotAuthorized("x"), hitl_nb.DecisionError)
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 0
    assert len(session.pending) == 1
    assert set(session.blocked()) == {"approve", "edit", "reject", "respond", "override"}


def test_the_kernel_reviewer_session_and_call_override_in_that_order(gated, desk):
    hitl_nb.reviewer("ivan", roles=["support"])
    # Session(reviewer=...) beats the kernel's reviewer ...
    session = hitl_nb.Session(gated, config(),
                              reviewer=Reviewer("fiona", ("finance", "ops"))).invoke(REFUND_80)
    assert session.blocked() == {}
    # ... and a reviewer passed to the call beats both
    with pytest.raises(hitl_nb.NotAuthorized, match="carl"):
        session.approve(reviewer="carl")
    session.approve()
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.reviewer, row.role) == ("approve", "fiona", "finance,ops")
    assert desk.count("issue_refund") == 1


def test_role_refusal_bypassing_the_ui(gated, desk):
    """A forged approve sent straight to the widget's comm is refused in Python."""
    session = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    hitl_nb.reviewer("ivan", roles=["support"])
    widget = session.widget()
    card = widget.requests[0]
    assert widget.reviewer == {"name": "ivan", "roles": ["support"]}
    assert "needs role finance" in card["blocked"]["approve"]
    forged = message(widget, "approve")
    send(widget, forged)
    assert "needs role finance and ivan lacks finance" in widget.refusals[-1]
    assert "needs role finance" in widget.errors[forged["request_id"]]
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 0
    # the card stays live: once someone with the role reviews, the same token works
    hitl_nb.reviewer("fiona", roles=["finance"])
    assert widget.reviewer == {"name": "fiona", "roles": ["finance"]}
    assert widget.requests[0]["blocked"] == {}
    send(widget, forged)
    assert desk.count("issue_refund") == 1
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.reviewer, row.role) == ("approve", "fiona", "finance")


def test_widget_messages_cannot_name_a_reviewer(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    widget = session.widget()
    send(widget, message(widget, "approve", reviewer="cfo"))
    assert "unexpected fields ['reviewer']" in widget.refusals[-1]
    assert desk.count("issue_refund") == 0


def test_two_person_rule(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    [request] = session.pending
    assert (request.required_roles, request.approvals_needed) == (("finance",), 2)
    alice = Reviewer("alice", ("finance",))
    first = session.approve(reviewer=alice)
    assert first.action == "approve"
    assert desk.count("issue_refund") == 0  # one approval is not enough
    assert [r.request_id for r in session.pending] == [request.request_id]
    assert str(session.approvals()) == "1 of 2 approvals (alice)"
    assert hitl_nb.log().to_pandas().decision.tolist() == ["approve"]
    # the same reviewer cannot approve twice; someone without the role cannot either
    with pytest.raises(hitl_nb.NotAuthorized, match="alice already approved"):
        session.approve(reviewer=alice)
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance"):
        session.approve(reviewer="bob")
    assert len(hitl_nb.log()) == 1
    session.approve(reviewer=Reviewer("bob", ("finance",)))
    assert desk.count("issue_refund") == 1
    assert desk.executed[1][1]["amount"] == 420.0
    df = hitl_nb.log().to_pandas()
    refunds = df[df.action_name == "issue_refund"]
    assert refunds.reviewer.tolist() == ["alice", "bob"]
    assert refunds.decision.tolist() == ["approve", "approve"]
    assert refunds.request_id.nunique() == 1
    assert refunds.args_hash.nunique() == 1  # both bound to the same arguments


def test_reviewer_names_are_trimmed_and_blank_names_refused():
    assert Reviewer("  alice\t").name == "alice"
    assert hitl_nb.reviewer(" bob ", roles=["finance"]) == Reviewer("bob", ("finance",))
    for blank in ("", "   ", "\n"):
        with pytest.raises(ValueError, match="reviewer name must be a non-empty string"):
            Reviewer(blank)


@pytest.mark.parametrize("again", ["alice ", "Alice", " ALICE\t"])
def test_the_same_person_spelled_differently_is_not_a_second_approver(gated, desk, again):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    session.approve(reviewer=Reviewer("alice", ("finance",)))
    with pytest.raises(hitl_nb.NotAuthorized, match="already approved"):
        session.approve(reviewer=Reviewer(again, ("finance",)))
    with pytest.raises(hitl_nb.NotAuthorized, match="already approved"):
        session.decide_many([session.pending[0].request_id], "approve",
                            reviewer=Reviewer(again, ("finance",)))
    assert desk.count("issue_refund") == 0
    assert len(hitl_nb.log()) == 1
    assert str(session.approvals()) == "1 of 2 approvals (alice)"
    session.approve(reviewer=Reviewer("bob", ("finance",)))
    assert desk.count("issue_refund") == 1


def test_approvals_logged_under_variant_spellings_count_once():
    """Rows written before names were trimmed (or by another tool) still name one person."""
    request = ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask", action="wire",
                            args={"amount": 900}, approvals_needed=2)
    log = hitl_nb.FeedbackLog()
    for name in ("alice ", "Alice"):
        log.record(request, Decision(action="approve", args=request.args, reviewer=name,
                                     request_id="r1"))
    state = approvals(request, log.rows_for("r1"))
    assert (state.by, state.complete) == (("alice",), False)


def test_two_person_rule_in_the_widget(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    widget = session.widget()
    hitl_nb.reviewer("alice", roles=["finance"])
    send(widget, message(widget, "approve"))
    card = widget.requests[0]
    assert card["approvals"] == {"needed": 2, "by": ["alice"], "text": "1 of 2 approvals (alice)"}
    assert "alice already approved" in card["blocked"]["approve"]
    assert "reject" not in card["blocked"]  # she may still stop it
    send(widget, message(widget, "approve"))  # forged second approval by alice
    assert "alice already approved" in widget.refusals[-1]
    assert desk.count("issue_refund") == 0
    hitl_nb.reviewer("bob", roles=["finance"])
    assert widget.requests[0]["blocked"] == {}
    send(widget, message(widget, "approve"))
    assert desk.count("issue_refund") == 1
    assert [h["reviewer"] for h in widget.history] == ["bob"]


def test_an_edit_restarts_the_count_for_the_edited_arguments(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    alice, bob = Reviewer("alice", ("finance",)), Reviewer("bob", ("finance",))
    session.approve(reviewer=alice)
    edited = {"order": 2001, "amount": 350.0, "note": "minus shipping"}
    session.edit(edited, reviewer=bob)
    assert desk.count("issue_refund") == 0
    assert session.pending[0].args == edited  # what the next approver approves
    assert str(session.approvals()) == "1 of 2 approvals (bob)"
    with pytest.raises(hitl_nb.NotAuthorized, match="bob already approved"):
        session.approve(reviewer=bob)
    session.approve(reviewer=alice)
    assert desk.executed[1] == ("issue_refund", edited)
    assert hitl_nb.log().to_pandas().decision.tolist()[:3] == ["approve", "edit", "approve"]


def test_a_reject_by_an_authorised_reviewer_ends_it(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    session.approve(reviewer=Reviewer("alice", ("finance",)))
    with pytest.raises(hitl_nb.NotAuthorized):
        session.reject("no", reviewer="mallory")
    session.reject("duplicate of 2000", reviewer=Reviewer("bob", ("finance",)))
    assert session.status == "done"
    assert desk.count("issue_refund") == 0
    assert hitl_nb.log().to_pandas().decision.tolist() == ["approve", "reject"]


def test_an_edit_cannot_slip_past_a_gate(gated, desk):
    """Raising a refund from 80 to 500 needs two approvers: the graph asks again."""
    session = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    fiona = Reviewer("fiona", ("finance",))
    session.edit({"order": 1042, "amount": 500.0, "note": "goodwill"}, reviewer=fiona)
    assert desk.count("issue_refund") == 0
    [again] = session.pending
    assert again.args["amount"] == 500.0
    assert again.approvals_needed == 2
    assert again.reason == "edited by fiona; the edited arguments need another review"
    session.approve(reviewer=fiona)
    assert desk.count("issue_refund") == 0
    session.approve(reviewer=Reviewer("gus", ("finance",)))
    assert desk.executed[1] == ("issue_refund", {"order": 1042, "amount": 500.0,
                                                 "note": "goodwill"})


def test_bulk_decisions_obey_roles_and_the_two_person_rule(gated, desk):
    """`decide_many` (the batch widget's path) checks what `decide` checks."""
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    [request] = session.pending
    hitl_nb.reviewer("ivan", roles=["support"])
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance"):
        session.decide_many([request.request_id], "approve")
    assert len(hitl_nb.log()) == 0
    hitl_nb.reviewer("fiona", roles=["finance"])
    session.decide_many([request.request_id], "approve")
    assert [r.request_id for r in session.pending] == [request.request_id]  # 1 of 2
    assert desk.count("issue_refund") == 0
    with pytest.raises(hitl_nb.NotAuthorized):  # the same approver twice
        session.decide_many([request.request_id], "approve")
    hitl_nb.reviewer("gus", roles=["finance"])
    session.decide_many([request.request_id], "approve")
    assert desk.count("issue_refund") == 1
    df = hitl_nb.log().to_pandas()
    refunds = df[df.action_name == "issue_refund"]
    assert refunds.reviewer.tolist() == ["fiona", "gus"]
    assert refunds.role.tolist() == ["finance", "finance"]


def test_bulk_decisions_refused_during_an_emergency_stop(graph, desk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND_80)
    hitl_nb.emergency_stop("drill")
    try:
        with pytest.raises(hitl_nb.Stopped):
            session.decide_many([r.request_id for r in session.pending], "approve")
    finally:
        hitl_nb.resume_all()
    assert len(hitl_nb.log()) == 0
    assert desk.count("issue_refund") == 0


def test_redirect_and_undo_need_the_roles_a_reject_needs_and_stop_does_not(gated, desk):
    fiona, sam = Reviewer("fiona", ("finance",)), Reviewer("sam", ("support",))
    session = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    with pytest.raises(hitl_nb.NotAuthorized, match="sam may not decide 'issue_refund'"):
        session.redirect("offer a voucher instead", reviewer="sam")
    assert len(hitl_nb.log()) == 0
    session.approve(reviewer=fiona)
    assert desk.count("issue_refund") == 1
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance"):
        session.undo(reviewer=sam)  # sam could not have approved it: he cannot take it back
    assert "undo" not in [r["decision"] for r in hitl_nb.log()]
    assert desk.count("issue_refund") == 1

    paused = hitl_nb.Session(gated, config()).invoke(REFUND_80)
    with hitl_nb.reviewer("sam", roles=["support"]):
        paused.stop("customer called back")  # anyone may stop: stopping runs nothing
    last = hitl_nb.log().to_pandas().iloc[-1]
    assert (last.decision, last.reviewer, last.role) == ("stop", "sam", "support")


def test_an_approval_after_an_edit_logs_the_agents_proposal_as_proposed(gated, desk):
    session = hitl_nb.Session(gated, config()).invoke(REFUND_420)
    proposed = dict(session.pending[0].args)
    edited = {**proposed, "amount": 400.0}
    session.edit(edited, reviewer=Reviewer("bob", ("finance",)))
    session.approve(reviewer=Reviewer("alice", ("finance",)))
    assert desk.executed[1] == ("issue_refund", edited)
    rows = hitl_nb.log().to_pandas()
    assert rows.decision.tolist()[:2] == ["edit", "approve"]
    assert rows.proposed_args.tolist()[:2] == [proposed, proposed]
    assert rows.final_args.tolist()[:2] == [edited, edited]
    assert rows.edited.tolist()[:2] == [True, True]
