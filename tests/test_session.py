"""The review loop through `Session` on the real demo graph (hitl_nb.ask payloads)."""

from __future__ import annotations

import pytest
from conftest import config
from graphs import ask_graph

import hitl_nb
from hitl_nb.demo import SupportDesk

REFUND = {"messages": [("user", "refund order 1042")]}


def test_pauses_at_refund_with_everything_the_widget_shows(graph):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    assert session.status == "pending"
    [request] = session.pending
    assert request.kind == "ask"
    assert request.action == "issue_refund"
    assert request.args == {"order": 1042, "amount": 80.0, "note": "customer request"}
    assert request.confidence == pytest.approx(0.82)
    assert (request.risk, request.level) == ("high", "confirm")
    assert request.allowed == ("approve", "edit", "reject", "respond")


def test_approve_runs_the_tool_once_and_logs_a_row(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config(), reviewer="ada").invoke(REFUND)
    decision = session.approve(rating=5, comment="fine")
    assert decision.action == "approve"
    assert desk.count("issue_refund") == 1
    assert desk.executed[1] == ("issue_refund",
                                {"order": 1042, "amount": 80.0, "note": "customer request"})
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.action_name, row.decision, row.reviewer) == ("issue_refund", "approve", "ada")
    assert (row.rating, row.comment, bool(row.edited)) == (5.0, "fine", False)
    assert row.thread_id == session.thread_id
    assert row.latency_s >= 0


def test_edit_runs_the_tool_with_edited_arguments(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.edit({"order": 1042, "amount": 50.0, "note": "partial refund"})
    assert desk.executed[-1] == ("issue_refund",
                                 {"order": 1042, "amount": 50.0, "note": "partial refund"})
    # the agent carries on with the edited amount: the drafted reply says 50.00
    [draft] = session.pending
    assert "50.00" in draft.args["body"]
    row = hitl_nb.log().to_pandas().iloc[0]
    assert row.decision == "edit"
    assert bool(row.edited) is True
    assert row.final_args["amount"] == 50.0
    assert {op["path"] for op in row.patch} == {"/amount", "/note"}
    assert row.edit_distance > 0


def test_reject_skips_the_tool_and_tells_the_agent(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.reject("refunds need a manager")
    assert desk.count("issue_refund") == 0
    assert session.done
    assert "refunds need a manager" in session.result["messages"][-1].content
    assert hitl_nb.log().to_pandas().iloc[0].message == "refunds need a manager"


def test_respond_answers_in_place_of_the_tool(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.respond("refund already issued by phone")
    assert desk.count("issue_refund") == 0
    messages = graph.get_state(session.config).values["messages"]
    answers = [m.content for m in messages if m.type == "tool" and m.name == "issue_refund"]
    assert answers == ["refund already issued by phone"]
    assert [r.action for r in session.pending] == ["draft_reply"]


def test_whole_run_to_the_final_result(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.approve()
    assert [r.action for r in session.pending] == ["draft_reply"]
    session.approve()
    assert session.done
    assert session.result["messages"][-1].content.startswith("Refund for order 1042 done")
    assert [name for name, _ in desk.executed] == ["lookup_order", "issue_refund", "draft_reply"]
    assert len(hitl_nb.log()) == 2
    assert hitl_nb.log().verify().ok


@pytest.mark.parametrize(
    ("args", "field"),
    [({"order": 1042, "amount": "eighty", "note": "x"}, "amount"),
     ({"note": ["x"]}, "note"),
     ({"order": 1042, "amount": 1.0, "note": "x", "extra": 1}, "arguments")],
)
def test_invalid_edit_is_refused_and_nothing_resumes(graph, desk: SupportDesk, args, field):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    with pytest.raises(hitl_nb.DecisionError, match=f"invalid edit of {field}"):
        session.edit(args)
    assert desk.count("issue_refund") == 0
    assert len(session.pending) == 1
    assert len(hitl_nb.log()) == 0


def test_an_edit_names_only_the_fields_it_changes(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    decision = session.edit({"amount": 60.0})
    expected = {"order": 1042, "amount": 60.0, "note": "customer request"}
    assert decision.args == expected
    assert desk.executed[1] == ("issue_refund", expected)
    row = hitl_nb.log().to_pandas().iloc[0]
    assert row.final_args == expected
    assert row.patch == [{"op": "replace", "path": "/amount", "value": 60.0}]


def test_approve_cannot_smuggle_changed_arguments(graph):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    with pytest.raises(hitl_nb.DecisionError, match="use edit"):
        session.decide(None, "approve", args={"order": 1, "amount": 1.0, "note": ""})


def test_second_decision_on_the_same_request_is_stale(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    first = session.pending[0].request_id
    session.approve(first)
    with pytest.raises(hitl_nb.StaleDecision, match="not pending"):
        session.approve(first)
    assert desk.count("issue_refund") == 1
    assert len(hitl_nb.log()) == 1


def test_decision_from_a_second_session_on_the_same_thread_is_refused(graph, desk: SupportDesk):
    cfg = config()
    one = hitl_nb.Session(graph, cfg).invoke(REFUND)
    two = hitl_nb.Session.attach(graph, cfg)
    assert [r.request_id for r in two.pending] == [r.request_id for r in one.pending]
    one.approve()
    with pytest.raises(hitl_nb.StaleDecision, match="already answered elsewhere"):
        two.approve(one.history[0][0].request_id)
    assert desk.count("issue_refund") == 1
    assert [r.action for r in two.pending] == ["draft_reply"]


def test_graph_error_after_resume_is_kept_with_the_decision(desk: SupportDesk):
    from hitl_nb.demo import support_agent

    real_run = desk.run

    def broken_refund(name, args):
        if name == "issue_refund":
            raise RuntimeError("payment service down")
        return real_run(name, args)

    desk.run = broken_refund  # type: ignore[method-assign]
    session = hitl_nb.Session(support_agent(desk), config()).invoke(REFUND)
    with pytest.raises(RuntimeError, match="payment service down"):
        session.approve()
    assert session.status == "error"
    assert "payment service down" in str(session.error)
    assert hitl_nb.log().to_pandas().decision.tolist() == ["approve"]


def test_rating_and_action_are_validated(graph):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    with pytest.raises(hitl_nb.DecisionError, match="rating"):
        session.approve(rating=9)
    with pytest.raises(hitl_nb.DecisionError, match="unknown action"):
        session.decide(None, "explode")  # type: ignore[arg-type]
    with pytest.raises(hitl_nb.DecisionError, match="non-empty message"):
        session.respond("   ")


def test_allowed_restricts_decisions():
    graph = ask_graph(keep=lambda d: d.action, action="send_email", args={"to": "x@y.z"},
                      allowed=("approve", "reject"))
    session = hitl_nb.Session(graph, config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="edit is not allowed"):
        session.edit({"to": "a@b.c"})
    session.reject()
    assert session.result == {"done": "reject"}


def test_ask_rejects_bad_arguments_in_the_node():
    with pytest.raises(hitl_nb.PayloadError, match="confidence must be between 0 and 1"):
        hitl_nb.ask(action="x", confidence=1.5)
    with pytest.raises(hitl_nb.PayloadError, match="not JSON-able"):
        hitl_nb.ask(action="x", args={"when": object()})
    with pytest.raises(hitl_nb.PayloadError, match="unknown decision type"):
        hitl_nb.ask(action="x", allowed=("approve", "maybe"))  # type: ignore[arg-type]
    with pytest.raises(hitl_nb.PayloadError, match=r"args must be a dict .* got list"):
        hitl_nb.ask(action="x", args=[1, 2])  # type: ignore[arg-type]


def test_ask_takes_one_allowed_decision_as_a_string():
    from hitl_nb._ask import ask_payload

    assert ask_payload(action="x", allowed="approve")["allowed"] == ["approve"]


def test_ask_outside_a_graph_says_where_to_call_it():
    with pytest.raises(RuntimeError, match=r"call it inside a node of a graph compiled with a "
                                           r"checkpointer"):
        hitl_nb.ask(action="x")
    with pytest.raises(RuntimeError, match=r"hitl_nb.ask_many\(\) pauses a LangGraph run"):
        hitl_nb.ask_many([{"action": "x"}])


def test_decision_resume_round_trip():
    decision = hitl_nb.Decision(action="edit", args={"a": 1}, message="m", rating=3.0,
                                reviewer="r")
    assert hitl_nb.Decision.from_resume(decision.to_resume()) == decision
    assert hitl_nb.Decision.from_resume(decision) is decision
    with pytest.raises(TypeError, match="did not produce"):
        hitl_nb.Decision.from_resume(42)
    with pytest.raises(TypeError, match="did not produce"):
        hitl_nb.Decision.from_resume({"verdict": "yes"})
    with pytest.raises(TypeError, match="unknown decision action 'maybe'"):
        hitl_nb.Decision.from_resume({"__hitl_nb__": 1, "action": "maybe"})


@pytest.mark.parametrize(("value", "action", "args", "message"), [
    (True, "approve", {}, None),
    (False, "reject", {}, None),
    ("reject", "reject", {}, None),
    ("use the other card", "respond", {}, "use the other card"),
    ({"action": "edit", "args": {"a": 2}}, "edit", {"a": 2}, None),
    ({"type": "edit", "edited_action": {"name": "pay", "args": {"a": 3}}}, "edit", {"a": 3},
     None),
    ({"type": "reject", "message": "too much"}, "reject", {}, "too much"),
])
def test_a_decision_resumed_by_hand_in_a_short_form(value, action, args, message):
    decision = hitl_nb.Decision.from_resume(value)
    assert (decision.action, decision.args, decision.message) == (action, args, message)
