"""The plan view and the co-editing card, driven by front-end messages through the comm
handler (as `tests/test_widget.py` does): every message is checked against what is
pending (request id, one-time nonce, action, schema) before anything resumes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send

import hitl_nb
from hitl_nb import Plan, PlanWidget
from hitl_nb.demo import CaseDesk, collab_agent
from hitl_nb.demo.collab import TICKET
from hitl_nb.widgets.plan import PlanView, view


def run(desk: CaseDesk | None = None) -> hitl_nb.Session:
    return hitl_nb.Session(collab_agent(desk or CaseDesk()), config()).invoke({"goal": TICKET})


def message(widget: Any, action: str, **fields: Any) -> dict[str, Any]:
    [request] = [r for r in widget.requests if r.get("collab")]
    return {"type": "decision", "request_id": request["request_id"], "nonce": request["nonce"],
            "action": action, "args": None, "message": None, "rating": None, "comment": None,
            **fields}


def steps_of(widget: PlanWidget) -> list[dict[str, Any]]:
    return [dict(s) for s in widget.requests[0]["args"]["steps"]]


def test_the_plan_view_shows_the_plan_under_review():
    session = run()
    widget = PlanWidget(session)
    assert widget.plan["status"] == "proposed"
    assert [s["id"] for s in widget.plan["steps"]] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    [request] = widget.requests
    assert request["collab"]["mode"] == "plan"
    assert len(request["nonce"]) == 32


def test_a_reordered_and_reassigned_plan_from_the_front_end_is_applied():
    desk = CaseDesk()
    session = run(desk)
    widget = PlanWidget(session)
    steps = steps_of(widget)
    steps[5] = {**steps[5], "owner": "agent"}      # give the CRM note to the agent
    steps[0], steps[1] = steps[1], steps[0]        # policy before lookup
    steps.insert(2, {"id": "h1", "text": "Ask the customer for a photo", "owner": "human",
                     "suggested": None, "why": None, "tool": None, "args": {},
                     "judgement": False, "check": False, "coedit": False})
    send(widget, message(widget, "edit", args={"steps": steps}))
    assert widget.refusals == []
    # the agent ran s2 and s1 (in the new order), then paused on the human's new step
    assert [name for name, _ in desk.executed] == ["search_policy", "lookup_order"]
    assert widget.requests[0]["collab"]["step"] == "h1"
    assert [s["id"] for s in widget.plan["steps"]] == ["s2", "s1", "h1", "s3", "s4", "s5",
                                                       "s6"]
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.final_args["steps"]) == ("edit", steps)


@pytest.mark.parametrize(("tamper", "reason"), [
    ({"nonce": "0" * 32}, "does not match"),
    ({"request_id": "forged"}, "not pending here"),
    ({"extra": 1}, "unexpected fields ['extra']"),
    ({"action": "respond", "message": "hi"}, "respond is not allowed"),
    ({"action": "input", "args": {"value": "x"}}, "input is for steps"),
    ({"action": "edit", "args": {"steps": [{"id": "s1"}]}}, "invalid edit of steps/0"),
    ({"action": "edit", "args": {"steps": "all of them"}}, "invalid edit of steps"),
])
def test_forged_or_malformed_plan_messages_change_nothing(tamper, reason):
    desk = CaseDesk()
    session = run(desk)
    widget = PlanWidget(session)
    sent = message(widget, "approve")
    send(widget, {**sent, **tamper})
    assert reason in widget.refusals[-1]
    assert len(hitl_nb.log()) == 0
    assert desk.executed == []
    refused = len(widget.refusals)
    send(widget, sent)  # the genuine message still works: the card stayed live
    assert len(widget.refusals) == refused
    assert next(iter(hitl_nb.log()))["decision"] == "approve"
    assert desk.executed[:1] == [("lookup_order", {"order": 1042})]


def test_a_replayed_plan_decision_resumes_once():
    desk = CaseDesk()
    session = run(desk)
    widget = PlanWidget(session)
    sent = message(widget, "approve")
    send(widget, sent)
    send(widget, sent)
    assert "not pending here" in widget.refusals[-1]
    assert [r["decision"] for r in hitl_nb.log()] == ["approve", "auto", "auto"]


def test_a_step_is_done_and_reassigned_from_the_front_end():
    desk = CaseDesk()
    session = run(desk)
    widget = PlanWidget(session)
    send(widget, message(widget, "approve"))
    [step] = widget.requests
    assert step["collab"]["mode"] == "step"
    assert step["level"] == "human_leads"
    assert widget.plan["steps"][0]["status"] == "done"
    owners = {**step["args"]["owners"], "s4": "human"}       # take over the remedy
    send(widget, message(widget, "input", args={"value": "Voucher of 90 EUR", "option": 2,
                                                "owners": owners}))
    assert widget.refusals == []
    [now] = widget.requests
    assert (now["collab"]["step"], now["level"]) == ("s4", "human_leads")
    send(widget, message(widget, "edit", args={**now["args"], "owners": {
        **now["args"]["owners"], "s4": "agent"}}))          # ...and hand it back
    assert desk.executed[-1] == ("issue_voucher", {"order": 1042, "amount": 90.0,
                                                   "note": "remedy for a damaged item"})
    assert widget.requests[0]["action"] == "draft"          # the draft is on the review card


@pytest.mark.parametrize(("args", "reason"), [
    ({"value": "x", "option": 9}, "index of one of the 3 options"),
    ({"value": ""}, "the answer is blank"),
    ({"value": "x", "owners": {"s3": "agent"}}, "invalid edit of owners"),
    ({"value": "x", "owners": {"s3": "human", "s4": "agent", "s5": "agent", "s6": "robot"}},
     "invalid edit of owners/s6"),
])
def test_bad_step_answers_from_the_front_end_are_refused(args, reason):
    session = run()
    widget = PlanWidget(session)
    send(widget, message(widget, "approve"))
    before = len(hitl_nb.log())
    send(widget, message(widget, "input", args=args))
    assert reason in widget.refusals[-1]
    assert len(hitl_nb.log()) == before
    assert widget.requests[0]["collab"]["step"] == "s3"


def test_a_session_displays_as_the_plan_view_beside_the_review_widget():
    session = run()
    shown = view(session)
    assert isinstance(shown, PlanView)
    plan, review = shown.children
    assert isinstance(plan, PlanWidget)
    assert review is session.widget()
    assert review.delegated == ["plan", "step", "input"]
    assert view(session) is shown
    bundle = session._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert hitl_nb.current() is session
    plain = hitl_nb.Session(collab_agent(CaseDesk()), config())
    assert view(plain) is plain.widget()  # nothing collaborative pending


def test_plan_widget_needs_a_langgraph_session():
    with pytest.raises(TypeError, match=r"needs a hitl_nb\.Session"):
        PlanWidget(object())  # type: ignore[arg-type]


# -- co-editing on the review card ---------------------------------------------------------------
def at_draft() -> tuple[hitl_nb.Session, hitl_nb.ReviewWidget]:
    session = run()
    session.approve()
    session.answer("Voucher of 90 EUR", option=2)
    session.approve()
    assert session.pending[0].action == "draft"
    return session, session.widget()


def test_the_draft_card_co_edits_with_a_live_word_diff():
    _session, widget = at_draft()
    [card] = widget.requests
    assert card["coedit"] == {"field": "text", "round": 1, "max_rounds": 4, "can_revise": True}
    draft = card["args"]["text"]
    mine = draft.replace("Hello,", "Hello Ada,")
    logged = len(hitl_nb.log())
    send(widget, {"type": "diff", "request_id": card["request_id"], "nonce": card["nonce"],
                  "text": mine})
    rest = draft[len("Hello,"):]
    assert widget.diffs[card["request_id"]] == [["-", "Hello,"], ["+", "Hello Ada,"],
                                                ["=", rest]]
    assert len(hitl_nb.log()) == logged  # a diff decides nothing
    send(widget, {"type": "diff", "request_id": card["request_id"], "nonce": "f" * 32,
                  "text": "x"})
    assert "not pending here" in widget.refusals[-1]


def test_revise_from_the_card_loops_back_and_shows_what_the_agent_changed():
    _session, widget = at_draft()
    [card] = widget.requests
    mine = card["args"]["text"].replace("Hello,", "Hello Ada,")
    send(widget, {"type": "decision", "request_id": card["request_id"], "nonce": card["nonce"],
                  "action": "revise", "args": {"step": "s5", "text": mine},
                  "message": "more formal", "rating": None, "comment": None})
    assert widget.refusals == []
    [again] = widget.requests
    assert again["coedit"]["round"] == 2
    previous = again["coedit"]["previous"]
    assert (previous["text"], previous["note"]) == (mine, "more formal")
    # "more formal" turns "Best regards" into "Kind regards"; the greeting is already Ada's
    assert [seg for seg in previous["diff"] if seg[0] != "="] == [["-", "Best"], ["+", "Kind"]]
    assert widget.history[-1]["action"] == "reject"
    assert widget.history[-1]["override"] == "revise"


def test_a_draft_without_rounds_offers_no_revision():
    _session, widget = at_draft()
    send(widget, {"type": "decision", "request_id": widget.requests[0]["request_id"],
                  "nonce": widget.requests[0]["nonce"], "action": "revise",
                  "args": None, "message": "", "rating": None, "comment": None})
    assert "revise needs a note" in widget.refusals[-1]
    demo = hitl_nb.demo.support_agent(hitl_nb.demo.SupportDesk())
    plain = hitl_nb.Session(demo, config()).invoke({"messages": [("user", "refund order 1042")]})
    plain.approve()
    [reply] = plain.widget().requests
    assert reply["action"] == "draft_reply"
    assert reply["coedit"] == {"field": "body", "round": None, "max_rounds": None,
                               "can_revise": False}
    with pytest.raises(hitl_nb.DecisionError, match="did not offer rounds"):
        plain.revise("shorter")


def test_a_long_plan_round_trips_through_the_widget():
    """(500 steps, timed: benchmarks/bench_collab.py)"""
    steps = [{"text": f"step {n}", "tool": "lookup_order", "args": {"order": n}}
             for n in range(150)]
    graph = hitl_nb.plan_graph(lambda state: steps, lambda step, plan: step.args["order"],
                               tools=["lookup_order"])
    session = hitl_nb.Session(graph, config()).invoke({"goal": "big"})
    widget = PlanWidget(session)
    edited = list(reversed(steps_of(widget)))
    edited[0] = {**edited[0], "owner": "human"}
    send(widget, message(widget, "edit", args={"steps": edited}))
    assert widget.refusals == []
    assert widget.requests[0]["collab"]["step"] == "s150"
    session.answer("done by me")
    plan = Plan.from_json(session.result["plan"])
    assert [s.id for s in plan.steps][:3] == ["s150", "s149", "s148"]
    assert plan.steps[0].done_by == "human"
    assert plan.steps[1].result == 148
