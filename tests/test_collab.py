"""Shared plans, human-led input and co-edited drafts on real LangGraph graphs.

Every decision goes through `Session.decide` (as the widget's would), is logged, and
resumes the graph; refused decisions resume and log nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import config
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from pydantic import BaseModel
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import Plan, Step, analysis

STEPS = [
    {"text": "Look up order 1042", "tool": "lookup_order", "args": {"order": 1042}},
    {"text": "Decide the remedy", "judgement": True},
    {"text": "Draft the reply", "coedit": True},
    {"text": "Note the case in the CRM", "tool": "crm_note"},
    "Phone the warehouse",
]
TOOLS = ["lookup_order"]


class State(TypedDict, total=False):
    out: Any
    draft: str
    note: str | None
    round: int
    seen: list[Any]
    outcome: str


def one_node(body: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("node", lambda state: {"out": body()})
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(checkpointer=InMemorySaver())


def plan_session() -> hitl_nb.Session:
    graph = one_node(lambda: hitl_nb.ask_plan(STEPS, goal="Ticket 88", tools=TOOLS).to_json())
    return hitl_nb.Session(graph, config()).invoke({})


# -- plans -----------------------------------------------------------------------------------
def test_the_agent_suggests_owners_from_its_declared_strengths():
    session = plan_session()
    [request] = session.pending
    assert request.collab["mode"] == "plan"
    assert request.level == "collaborate"
    shown = [(s["id"], s["owner"], s["suggested"], s["why"]) for s in request.args["steps"]]
    assert shown == [
        ("s1", "agent", "agent", "has the tool lookup_order"),
        ("s2", "human", "human", "a judgement call: yours to make"),
        ("s3", "agent", "agent", "writing a draft is quick for the agent; you co-edit it"),
        ("s4", "human", "human", "needs crm_note, which the agent does not have"),
        ("s5", "human", "human", "no tool covers it: it needs a person"),
    ]


def test_approving_returns_the_proposal_as_the_plan():
    session = plan_session()
    session.approve()
    plan = Plan.from_json(session.result["out"])
    assert plan.status == "approved"
    assert [(s.id, s.owner) for s in plan.steps] == [
        ("s1", "agent"), ("s2", "human"), ("s3", "agent"), ("s4", "human"), ("s5", "human")]
    assert list(hitl_nb.log().to_pandas().decision.astype(str)) == ["approve"]


def test_reordered_deleted_added_reworded_and_reassigned_plan_is_what_the_graph_gets():
    session = plan_session()
    proposed = Plan.from_request(session.pending[0])
    reviewed = (proposed.move("s3", 0).remove("s5").assign("s4", "agent")
                .add("Check stock of lids", owner="agent", after="s1")
                .edit("s2", text="Decide the remedy with the team lead", check=True))
    decision = session.edit(reviewed.as_args(), comment="tighter plan")
    plan = Plan.from_json(session.result["out"])
    assert plan.status == "approved"
    assert [(s.id, s.text, s.owner) for s in plan.steps] == [
        ("s3", "Draft the reply", "agent"),
        ("s1", "Look up order 1042", "agent"),
        ("h1", "Check stock of lids", "agent"),
        ("s2", "Decide the remedy with the team lead", "human"),
        ("s4", "Note the case in the CRM", "agent"),
    ]
    assert plan.step("s4").suggested == "human"  # the agent's suggestion stays on record
    assert plan.step("s2").check is True
    assert plan.step("h1").suggested is None
    assert plan.step("h1").tool is None
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.edited, row.comment) == ("edit", True, "tighter plan")
    assert row.final_args == decision.args == reviewed.as_args()
    assert len(row.patch) > 0


def test_rejecting_the_plan_says_why():
    session = plan_session()
    session.reject("wrong ticket")
    plan = Plan.from_json(session.result["out"])
    assert (plan.status, plan.message) == ("rejected", "wrong ticket")


def _reviewed() -> list[dict[str, Any]]:
    return [s.review_json() for s in Plan.propose(STEPS, goal="g", tools=TOOLS).steps]


def _set(index: int, **fields: Any) -> list[dict[str, Any]]:
    steps = _reviewed()
    steps[index] = {**steps[index], **fields}
    return steps


@pytest.mark.parametrize(("steps", "reason"), [
    (_reviewed()[:1] * 2, "the id 's1' is used twice"),
    (_set(0, tool="delete_account"), "tool is the agent's ('lookup_order')"),
    (_set(1, suggested="agent"), "suggested is the agent's ('human')"),
    (_set(1, why="easy"), "why is the agent's"),
    (_set(2, text="   "), "the text is blank"),
    (_set(1, args={"x": 1}), "args are for tool steps only"),
    ([*_reviewed(), {"id": "h1", "text": "mine", "owner": "agent", "suggested": None,
                     "why": None, "tool": "lookup_order", "args": {}, "judgement": False,
                     "check": False, "coedit": False}], "a step you add has no tool"),
    (_set(0, owner="robot"), "invalid edit of steps/0/owner"),
    (_set(0, id="no spaces allowed"), "invalid edit of steps/0/id"),
    (_set(0, extra=1), "Additional properties are not allowed ('extra'"),
    ([], "invalid edit of steps"),
    ("not a list", "invalid edit of steps"),
])
def test_malformed_or_forged_plans_are_refused_with_the_reason(steps, reason):
    session = plan_session()
    with pytest.raises(hitl_nb.DecisionError) as refused:
        session.edit({"steps": steps})
    assert reason in str(refused.value)
    assert len(hitl_nb.log()) == 0
    assert session.status == "pending"
    assert session.pending[0].collab["mode"] == "plan"
    session.approve()  # still decidable: nothing was applied
    assert session.status == "done"


def test_a_plan_review_takes_no_answer_in_place():
    session = plan_session()
    with pytest.raises(hitl_nb.DecisionError, match="respond is not allowed"):
        session.respond("do it your way")
    with pytest.raises(hitl_nb.DecisionError, match="input is for steps"):
        session.answer("x")
    with pytest.raises(hitl_nb.DecisionError, match="cannot be sent back for revision"):
        session.revise("shorter")
    assert len(hitl_nb.log()) == 0


def test_a_malformed_proposal_fails_in_the_node_that_asked():
    graph = one_node(lambda: hitl_nb.ask_plan([{"text": "a", "id": "x"}, {"text": "b", "id": "x"}]))
    with pytest.raises(ValueError, match="step id 'x' appears twice"):
        hitl_nb.Session(graph, config()).invoke({})


# -- human leads: ask_input ---------------------------------------------------------------------
OPTIONS = ["Outside the 30-day window", "The item was used", "No receipt"]


def input_session(**kwargs: Any) -> hitl_nb.Session:
    def body() -> dict[str, Any]:
        answer = hitl_nb.ask_input("Why do we decline the refund?", **kwargs)
        return {"value": answer.value, "option": answer.option, "as_is": answer.as_is,
                "declined": answer.declined, "message": answer.message}

    return hitl_nb.Session(one_node(body), config()).invoke({})


def test_taking_an_option_as_is_is_logged_with_what_was_offered():
    session = input_session(options=OPTIONS, evidence=["Delivered 2024-03-02"])
    [request] = session.pending
    assert (request.level, request.collab["mode"]) == ("human_leads", "input")
    assert request.collab["evidence"] == [{"text": "Delivered 2024-03-02", "source": None}]
    decision = session.answer(OPTIONS[1], option=1)
    assert (decision.action, decision.override) == ("respond", "input")
    assert session.result["out"] == {"value": "The item was used", "option": 1, "as_is": True,
                                     "declined": False, "message": "The item was used"}
    row = hitl_nb.log().to_pandas().iloc[0]
    assert row.decision == "input"
    assert row.proposed_args == {"options": OPTIONS}
    assert row.final_args == {"options": OPTIONS, "value": "The item was used", "option": 1}
    taken = analysis.options_taken(hitl_nb.log().to_pandas())
    assert taken[["offered", "option", "as_is"]].iloc[0].tolist() == [3, 1, True]
    assert taken.rejected.iloc[0] == [OPTIONS[0], OPTIONS[2]]


def test_an_edited_option_and_an_own_answer():
    session = input_session(options=OPTIONS)
    session.answer("The item was used twice", option=1)
    assert session.result["out"]["as_is"] is False
    own = input_session(options=OPTIONS)
    own.respond("We never decline: refund it")  # plain text from any card is an answer
    assert own.result["out"]["option"] is None
    assert own.result["out"]["value"] == "We never decline: refund it"
    taken = analysis.options_taken(hitl_nb.log().to_pandas())
    assert taken.option.isna().tolist() == [False, True]
    assert taken.as_is.tolist() == [False, False]


class Remedy(BaseModel):
    kind: str
    amount: float


def test_structured_answers_follow_the_schema():
    session = input_session(schema=Remedy, options=[{"kind": "refund", "amount": 80.0}])
    with pytest.raises(hitl_nb.DecisionError, match="invalid answer"):
        session.answer({"kind": "refund", "amount": "lots"})
    with pytest.raises(hitl_nb.DecisionError, match="this answer is structured"):
        session.respond("refund it")
    session.answer({"kind": "voucher", "amount": 90.0}, option=0)
    assert session.result["out"]["value"] == {"kind": "voucher", "amount": 90.0}
    assert len(hitl_nb.log()) == 1


@pytest.mark.parametrize(("args", "reason"), [
    ({"value": "x", "option": 3}, "index of one of the 3 options"),
    ({"value": "x", "option": True}, "index of one of the 3 options"),
    ({"value": "   "}, "the answer is blank"),
    ({"value": "x", "extra": 1}, "input needs args="),
    ({"option": 0}, "input needs args="),
    ({"value": "x", "owners": {}}, "owners belong to plan steps only"),
])
def test_bad_answers_are_refused(args, reason):
    session = input_session(options=OPTIONS)
    with pytest.raises(hitl_nb.DecisionError, match=re.escape(reason)):
        session.decide(None, "input", args=args)
    assert len(hitl_nb.log()) == 0
    assert session.status == "pending"


def test_declining_only_when_offered():
    session = input_session(options=OPTIONS)
    with pytest.raises(hitl_nb.DecisionError, match="reject is not allowed"):
        session.reject("not my call")
    may = input_session(options=OPTIONS, decline=True)
    may.reject("not my call")
    assert may.result["out"]["declined"] is True
    assert may.result["out"]["message"] == "not my call"


def test_options_that_do_not_fit_the_schema_fail_where_asked():
    with pytest.raises(hitl_nb.PayloadError, match="option 0 does not fit the answer schema"):
        input_session(schema=Remedy, options=["a refund"])


# -- co-editing: ask(..., level="collaborate", round=n) and a real graph cycle ------------------
def writer_graph(max_rounds: int = 3) -> Any:
    """write -> review -> (revise) -> write ... -> END: the agent appends each note to the
    text the reviewer sent back."""

    def write(state: State) -> dict[str, Any]:
        draft = state.get("draft") or "Hello Ada, we refunded order 1042 today."
        note = state.get("note")
        seen = [*state.get("seen", []), [draft, note]]
        return {"draft": f"{draft} ({note})" if note else draft,
                "round": state.get("round", 0) + 1, "seen": seen}

    def review(state: State) -> Any:
        decision = hitl_nb.ask(action="draft_reply", args={"to": "ada", "body": state["draft"]},
                               level="collaborate", round=state["round"], max_rounds=max_rounds)
        if decision.override == "revise":
            return Command(goto="write", update={"draft": decision.args["body"],
                                                 "note": decision.message})
        return {"out": decision.args["body"] if decision.approved else None,
                "outcome": decision.action}

    builder = StateGraph(State)
    builder.add_node("write", write)
    builder.add_node("review", review, destinations=("write", END))
    builder.add_edge(START, "write")
    builder.add_edge("write", "review")
    return builder.compile(checkpointer=InMemorySaver())


def test_revision_rounds_loop_back_to_the_agent_with_the_edits_and_the_note():
    session = hitl_nb.Session(writer_graph(), config()).invoke({})
    first = session.pending[0]
    assert first.collab == {"mode": "coedit", "field": "body", "round": 1, "max_rounds": 3}
    edited = {"to": "ada", "body": "Hi Ada, we refunded order 1042 today."}
    decision = session.revise("mention the voucher", args=edited)
    assert (decision.action, decision.override, decision.message) == (
        "reject", "revise", "mention the voucher")
    second = session.pending[0]
    assert second.collab["round"] == 2
    assert second.args["body"] == "Hi Ada, we refunded order 1042 today. (mention the voucher)"
    session.revise("sign it")
    session.approve()
    assert session.result["outcome"] == "approve"
    assert session.result["seen"] == [
        ["Hello Ada, we refunded order 1042 today.", None],
        ["Hi Ada, we refunded order 1042 today.", "mention the voucher"],
        ["Hi Ada, we refunded order 1042 today. (mention the voucher)", "sign it"]]
    df = hitl_nb.log().to_pandas()
    assert list(df.decision.astype(str)) == ["revise", "revise", "approve"]
    assert list(df.message.fillna("")) == ["mention the voucher", "sign it", ""]
    assert df.edited.tolist() == [True, False, False]
    assert df.patch.iloc[0] == [{"op": "replace", "path": "/body",
                                 "value": "Hi Ada, we refunded order 1042 today.",
                                 "text_diff": [["-", "Hello"], ["+", "Hi"],
                                               ["=", " Ada, we refunded order 1042 today."]]}]
    assert df.request_id.nunique() == 3  # one interrupt per round
    rounds = analysis.revision_rounds(df)
    assert rounds[["action_name", "rounds", "outcome", "accepted"]].values.tolist() == [
        ["draft_reply", 3, "approve", True]]


def test_the_last_round_cannot_be_sent_back_so_the_loop_ends():
    session = hitl_nb.Session(writer_graph(max_rounds=2), config()).invoke({})
    session.revise("shorter")
    assert session.pending[0].collab["round"] == 2
    with pytest.raises(hitl_nb.DecisionError, match="round 2 of 2 is the last"):
        session.revise("even shorter")
    assert [r["decision"] for r in hitl_nb.log()] == ["revise"]
    session.edit({"to": "ada", "body": "Refunded."})
    assert session.result["out"] == "Refunded."


def test_a_revision_needs_a_note_and_valid_edits():
    session = hitl_nb.Session(writer_graph(), config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="revise needs a note"):
        session.revise("  ")
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of body"):
        session.revise("shorter", args={"to": "ada", "body": 42})
    assert len(hitl_nb.log()) == 0


def test_a_revision_is_undone_like_any_decision():
    session = hitl_nb.Session(writer_graph(), config()).invoke({})
    asked = session.pending[0].request_id
    session.revise("shorter")
    report = session.undo()
    assert report.decisions == ("revise draft_reply",)
    assert session.pending[0].args["body"] == "Hello Ada, we refunded order 1042 today."
    assert session.pending[0].request_id != asked
    assert [r["decision"] for r in hitl_nb.log()] == ["revise", "undo"]


def test_ask_round_needs_a_text_argument():
    graph = one_node(lambda: hitl_nb.ask(action="x", args={"n": 1}, round=1))
    with pytest.raises(ValueError, match="co-edits a draft: give a text argument"):
        hitl_nb.Session(graph, config()).invoke({})


def test_plan_json_round_trips_and_rejects_unknown_fields():
    plan = Plan.propose(STEPS, goal="g", tools=TOOLS).assign("s5", "agent")
    assert Plan.from_json(plan.to_json()) == plan
    with pytest.raises(ValueError, match=r"unknown step field\(s\) \['colour'\]"):
        Step.from_json({"id": "s1", "text": "x", "colour": "red"})
    with pytest.raises(ValueError, match="owner must be one of"):
        Plan.from_json({"steps": [{"id": "s1", "text": "x", "owner": "robot"}]})


def test_resolve_fills_earlier_results_and_names_what_is_missing():
    plan = Plan.propose(["a", "b", "c"])
    done = plan.with_step(Step(id="s1", text="a", status="done", result={"total": 80}))
    assert done.resolve({"order": 1, "found": "${s1}"}) == {"order": 1, "found": {"total": 80}}
    with pytest.raises(LookupError, match="'b', which is not done"):
        done.resolve({"x": "${s2}"})
    with pytest.raises(LookupError, match="step s9, which was removed"):
        done.resolve({"x": "${s9}"})


def test_patches_of_reordered_lists_name_the_values_they_change():
    """A list edit shifts later indices: each operation's old value is read where the
    operations before it left the document (it used to raise on a reordered plan)."""
    import jsonpatch

    from hitl_nb._diff import changes, log_patch

    before = {"steps": [{"id": f"s{n}", "text": f"step {n}" * 8} for n in range(6)]}
    after = {"steps": [before["steps"][5], *before["steps"][1:4],
                       {"id": "h1", "text": "mine " * 10}]}
    assert jsonpatch.apply_patch(before, log_patch(before, after)) == after
    assert changes(before, after)  # no exception, and something changed
    shown = changes({"xs": ["a", "b", "c"]}, {"xs": ["c"]})
    assert {e.get("old") for e in shown if e["op"] == "remove"} <= {"a", "b", "c"}


def test_the_edit_distance_of_a_long_plan_is_the_exact_levenshtein_distance():
    from rapidfuzz.distance import Levenshtein

    from hitl_nb._schema import canonical_json

    session = plan_session()
    proposed = Plan.from_request(session.pending[0])
    reviewed = proposed.move("s5", 0).assign("s4", "agent")
    session.edit(reviewed.as_args())
    row = hitl_nb.log().to_pandas().iloc[0]
    assert row.edit_distance == Levenshtein.distance(canonical_json(proposed.as_args()),
                                                     canonical_json(reviewed.as_args()))
