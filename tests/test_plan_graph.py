"""`plan_graph`: mixed execution of a reviewed plan, on InMemorySaver and SqliteSaver.

The tiny agent below records every step it is asked to do, so "the agent did not run it"
and "it ran with the human's result" are checked on what really happened.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import config
from langgraph.checkpoint.sqlite import SqliteSaver

import hitl_nb
from hitl_nb import NeedsHuman, Plan, Step, analysis
from hitl_nb.demo import CaseDesk, collab_agent
from hitl_nb.demo.collab import TICKET, revise

HERE = Path(__file__).parent


class Agent:
    """Does tool steps by echoing their args, drafts by appending notes, hands over
    steps it has no tool for."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.done: list[tuple[str, dict[str, Any], Any, str | None]] = []

    def propose(self, state: Any) -> list[Any]:
        return self.steps

    def do(self, step: Step, plan: Plan) -> Any:
        self.done.append((step.id, step.args, step.result, step.note))
        if step.coedit:
            return f"{step.result} + {step.note}" if step.note else "draft 1"
        if step.tool is None:
            raise NeedsHuman(f"no tool for '{step.text}'")
        return f"{step.tool}({json.dumps(step.args, sort_keys=True)})"

    def assist(self, step: Step, plan: Plan) -> dict[str, Any]:
        return {"options": [f"idea for {step.id}"], "evidence": [f"evidence for {step.id}"]}

    def graph(self, **kwargs: Any) -> Any:
        return hitl_nb.plan_graph(self.propose, self.do, assist=self.assist,
                                  tools=["lookup", "refund"], **kwargs)

    def ran(self) -> list[str]:
        return [sid for sid, *_ in self.done]


PLAN = [
    {"text": "Look up the order", "tool": "lookup", "args": {"order": 1042}},
    {"text": "Decide the amount", "judgement": True},
    {"text": "Refund it", "tool": "refund", "args": {"amount": "${s2}"}, "check": True},
    {"text": "Tell the customer", "tool": "lookup", "args": {"order": 1042}},
]


def start(agent: Agent, **kwargs: Any) -> hitl_nb.Session:
    return hitl_nb.Session(agent.graph(**kwargs), config()).invoke({"goal": "refund 1042"})


def step_of(session: hitl_nb.Session) -> tuple[str, str]:
    [request] = session.pending
    return request.collab["step"], request.collab["plan"]["steps"][
        [s["id"] for s in request.collab["plan"]["steps"]].index(request.collab["step"])]["owner"]


def final(session: hitl_nb.Session) -> Plan:
    assert session.status == "done"
    return Plan.from_json(session.result["plan"])


def test_human_steps_pause_and_their_results_flow_into_later_agent_steps():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()  # the plan as proposed
    assert agent.ran() == ["s1"]  # the agent's step ran, then the human's step paused
    assert step_of(session) == ("s2", "human")
    request = session.pending[0]
    assert request.level == "human_leads"
    assert request.args["options"] == ["idea for s2"]
    assert request.collab["evidence"] == [{"text": "evidence for s2", "source": None}]
    assert request.collab["plan"]["steps"][0]["result"] == 'lookup({"order": 1042})'
    session.answer("60 EUR")
    assert step_of(session) == ("s3", "agent")  # a checked agent step: pause before it
    assert session.pending[0].preview == 'refund({"amount": "60 EUR"})'
    assert agent.ran() == ["s1"]
    session.approve()
    plan = final(session)
    assert agent.ran() == ["s1", "s3", "s4"]
    assert agent.done[1][1] == {"amount": "60 EUR"}  # the human's result, resolved
    assert [(s.id, s.status, s.done_by) for s in plan.steps] == [
        ("s1", "done", "agent"), ("s2", "done", "human"), ("s3", "done", "agent"),
        ("s4", "done", "agent")]
    assert session.result["result"]["s2"] == "60 EUR"
    df = hitl_nb.log().to_pandas()
    assert list(zip(df.action_name.astype(str), df.decision.astype(str), strict=True)) == [
        ("plan", "approve"), ("lookup", "auto"), ("step", "input"), ("step", "approve"),
        ("refund", "auto"), ("lookup", "auto")]
    work = analysis.workload(df)
    assert work.loc[session.thread_id].to_dict() == {
        "planned_steps": 4, "agent": 3, "human": 1, "both": 0, "skipped": 0,
        "reassigned_at_review": 0, "taken_over": 0, "handed_back": 0}


def test_take_over_an_agent_step_and_the_agent_never_runs_it():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    session.answer("60 EUR")
    assert step_of(session) == ("s3", "agent")
    session.reassign({"s3": "human"})  # take over
    assert step_of(session) == ("s3", "human")
    assert "taken over by tester" in session.pending[0].reason
    session.answer("refunded 60 EUR by bank transfer")
    plan = final(session)
    assert "s3" not in agent.ran()
    assert (plan.step("s3").done_by, plan.step("s3").result) == (
        "human", "refunded 60 EUR by bank transfer")
    work = analysis.workload(hitl_nb.log().to_pandas()).iloc[0]
    assert (work.agent, work.human, work.taken_over, work.handed_back) == (2, 2, 1, 0)


def test_hand_a_human_step_back_and_the_agent_does_it():
    steps = [PLAN[0], {"text": "Check the courier", "tool": "lookup", "args": {"order": 7},
                       "suggested": "human", "why": "you know the courier"}]
    agent = Agent(steps)
    session = start(agent)
    session.approve()
    assert step_of(session) == ("s2", "human")
    session.reassign({"s2": "agent"})  # hand back
    plan = final(session)
    assert agent.ran() == ["s1", "s2"]
    assert (plan.step("s2").owner, plan.step("s2").done_by) == ("agent", "agent")
    assert plan.step("s2").note == "handed back to the agent by tester"
    assert analysis.workload(hitl_nb.log().to_pandas()).iloc[0].handed_back == 1


def test_reassigning_later_steps_keeps_the_current_one_paused():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    first = session.pending[0].request_id
    session.reassign({"s4": "human"})
    assert step_of(session) == ("s2", "human")  # asked again, same step
    assert session.pending[0].request_id != first
    assert session.pending[0].args["owners"] == {"s2": "human", "s3": "agent", "s4": "human"}
    session.answer("60 EUR", owners={"s3": "human"})  # a result and one more take-over
    assert step_of(session) == ("s3", "human")
    session.answer("done by phone")
    assert step_of(session) == ("s4", "human")
    session.answer("told her")
    assert agent.ran() == ["s1"]


def test_a_step_the_agent_cannot_do_goes_to_the_human_with_the_reason():
    agent = Agent([PLAN[0], {"text": "Phone the warehouse", "owner": "agent"}])
    session = start(agent)
    session.approve()
    assert step_of(session) == ("s2", "human")
    assert "the agent handed it over: no tool for 'Phone the warehouse'" in \
        session.pending[0].reason
    session.answer("they ship tomorrow")
    assert final(session).step("s2").done_by == "human"


def test_a_reference_to_a_skipped_step_is_handed_to_the_human():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    session.reject("no refund after all")  # skip s2
    assert step_of(session) == ("s3", "agent")  # checked first
    assert session.pending[0].preview == 'refund({"amount": "${s2}"})'
    session.approve()
    assert step_of(session) == ("s3", "human")
    assert "needs the result of 'Decide the amount', which is skipped" in \
        session.pending[0].reason
    session.reject()  # skip s3 too
    plan = final(session)
    assert [s.status for s in plan.steps] == ["done", "skipped", "skipped", "done"]
    assert plan.step("s2").note == "no refund after all"
    assert analysis.workload(hitl_nb.log().to_pandas()).iloc[0].skipped == 2


def test_done_by_hand_at_a_checked_step():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    session.answer("60 EUR")
    session.override({"refunded": 60}, comment="did it in the bank app")
    plan = final(session)
    assert "s3" not in agent.ran()
    assert (plan.step("s3").done_by, plan.step("s3").result) == ("human", {"refunded": 60})
    assert [r["decision"] for r in hitl_nb.log()][3] == "override"


@pytest.mark.parametrize(("owners", "reason"), [
    ({"s1": "human"}, "steps ['s1'] are not still to do"),
    ({"s3": "robot"}, "owners must be 'agent' or 'human'"),
])
def test_reassigning_what_cannot_be_reassigned_is_refused(owners, reason):
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    with pytest.raises(hitl_nb.DecisionError, match=__import__("re").escape(reason)):
        session.reassign(owners)
    assert len(hitl_nb.log()) == 2  # plan approve, s1 auto


def test_step_messages_are_checked_against_the_step():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    request = session.pending[0]
    with pytest.raises(hitl_nb.DecisionError, match="approve is not allowed"):
        session.approve()  # a human step has no proposal to approve
    with pytest.raises(hitl_nb.DecisionError, match="nothing was reassigned"):
        session.edit(dict(request.args))
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of step"):
        session.edit({**request.args, "step": "s4"})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of options"):
        session.edit({**request.args, "options": ["mine"]})
    with pytest.raises(hitl_nb.DecisionError, match="keep its owner"):
        session.answer("60", owners={"s2": "agent"})
    assert len(hitl_nb.log()) == 2
    assert session.pending[0].request_id == request.request_id


def test_a_coedited_step_is_a_real_cycle_and_ends_as_both():
    agent = Agent([{"text": "Draft the reply", "coedit": True}])
    session = start(agent, max_rounds=3)
    session.approve()
    [draft] = session.pending
    assert (draft.action, draft.collab["round"], draft.args["text"]) == ("draft", 1, "draft 1")
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of step"):
        session.revise("shorter", args={"step": "s2", "text": "my draft"})
    session.revise("shorter", args={"step": "s1", "text": "my draft"})
    assert session.pending[0].args["text"] == "my draft + shorter"
    session.approve()
    plan = final(session)
    assert agent.done == [("s1", {}, None, None), ("s1", {}, "my draft", "shorter")]
    assert (plan.step("s1").done_by, plan.step("s1").round) == ("both", 2)
    visited = [s.next for s in reversed(list(session.graph.get_state_history(session.config)))]
    order = [n[0] for n in visited if n]
    assert order[order.index("work"):] == ["work", "coedit", "work", "coedit", "finish"]
    rounds = analysis.revision_rounds(hitl_nb.log().to_pandas())
    assert rounds[["step", "rounds", "outcome"]].values.tolist() == [["s1", 2, "approve"]]


def test_turning_a_draft_down_makes_it_the_humans_with_the_draft_as_an_option():
    agent = Agent([{"text": "Draft the reply", "coedit": True}])
    session = start(agent)
    session.approve()
    session.reject("I write this one")
    assert step_of(session) == ("s1", "human")
    assert session.pending[0].args["options"] == ["draft 1", "idea for s1"]
    session.answer("Dear Ada, ...", option=0)
    assert final(session).step("s1").done_by == "human"


def test_undo_an_answered_step_asks_it_again():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    session.answer("60 EUR")
    report = session.undo()
    assert report.decisions == ("input step",)
    assert step_of(session) == ("s2", "human")
    session.answer("40 EUR")
    session.approve()
    assert final(session).step("s3").result == 'refund({"amount": "40 EUR"})'


def test_a_step_answered_in_another_session_is_stale_here():
    agent = Agent(PLAN)
    session = start(agent)
    session.approve()
    other = hitl_nb.Session.attach(session.graph, session.config)
    other.answer("60 EUR")
    with pytest.raises(hitl_nb.StaleDecision, match="already answered elsewhere"):
        session.answer("70 EUR")
    assert [r["decision"] for r in hitl_nb.log()].count("input") == 1


def test_emergency_stop_halts_agent_steps():
    agent = Agent(PLAN)
    session = start(agent)
    hitl_nb.emergency_stop("wrong customer")
    try:
        with pytest.raises(hitl_nb.Stopped):
            session.approve()
    finally:
        hitl_nb.resume_all()
    assert agent.ran() == []


# -- persistence: SqliteSaver, also across a kernel restart ------------------------------------
def test_a_paused_plan_step_survives_a_new_connection(tmp_path):
    db = tmp_path / "threads.db"
    agent = Agent(PLAN)
    conn = sqlite3.connect(db, check_same_thread=False)
    session = hitl_nb.Session(agent.graph(checkpointer=SqliteSaver(conn)),
                              {"configurable": {"thread_id": "p1"}}).invoke({"goal": "g"})
    session.edit(Plan.from_request(session.pending[0]).assign("s3", "human").as_args())
    conn.close()
    again = Agent(PLAN)
    conn = sqlite3.connect(db, check_same_thread=False)
    resumed = hitl_nb.Session.attach(again.graph(checkpointer=SqliteSaver(conn)),
                                     {"configurable": {"thread_id": "p1"}})
    assert step_of(resumed) == ("s2", "human")
    resumed.answer("60 EUR")
    assert step_of(resumed) == ("s3", "human")
    resumed.answer("paid")
    plan = final(resumed)
    assert again.ran() == ["s4"]  # s1 ran before the "restart", s3 was the human's
    assert [s.done_by for s in plan.steps] == ["agent", "human", "human", "agent"]
    conn.close()


def test_the_demo_agent_resumes_in_another_process(tmp_path):
    """One process runs the demo to the plan review and exits; this one approves the plan
    and does the human step from the checkpoint file."""
    db, ledger = tmp_path / "threads.db", tmp_path / "ledger.jsonl"
    script = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import _collab_restart as r; "
              f"r.start({str(db)!r}, {str(ledger)!r})")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    sys.path.insert(0, str(HERE))
    import _collab_restart

    graph = _collab_restart.build(db, ledger)
    session = hitl_nb.Session.attach(graph, {"configurable": {"thread_id": "case-88"}})
    assert session.pending[0].collab["mode"] == "plan"
    session.approve()
    assert step_of(session) == ("s3", "human")
    assert [name for name, _ in _collab_restart.ledger(ledger)] == ["lookup_order",
                                                                     "search_policy"]
    options = session.pending[0].args["options"]
    session.answer(options[2], option=2)
    session.approve()  # the checked remedy step
    assert [name for name, _ in _collab_restart.ledger(ledger)][-1] == "issue_voucher"


# -- the demo agent -------------------------------------------------------------------------------
def test_the_demo_plans_runs_tools_offers_options_drafts_and_revises():
    desk = CaseDesk()
    session = hitl_nb.Session(collab_agent(desk), config()).invoke({"goal": TICKET})
    proposed = Plan.from_request(session.pending[0])
    assert [(s.tool, s.owner) for s in proposed.steps] == [
        ("lookup_order", "agent"), ("search_policy", "agent"), (None, "human"),
        ("issue_remedy", "agent"), (None, "agent"), ("crm_note", "human")]
    session.edit(proposed.assign("s6", "agent").as_args())  # the agent lacks crm_note
    [decide] = session.pending
    assert decide.args["options"] == [
        "Full refund of 80.00 EUR", "Partial refund of 40.00 EUR; the customer keeps the item",
        "Voucher of 90.00 EUR (order total plus 10 EUR goodwill)"]
    assert [e["source"] for e in decide.collab["evidence"]] == ["lookup_order", "search_policy"]
    session.answer("Partial refund of 35 EUR; the customer keeps the item", option=1)
    assert "issue_remedy" in session.pending[0].preview
    session.approve()
    assert desk.executed[-1] == ("issue_refund", {"order": 1042, "amount": 35.0,
                                                  "note": "remedy for a damaged item"})
    draft = session.pending[0]
    assert "We have refunded 35.00 EUR" in draft.args["text"]
    mine = draft.args["text"].replace("Hello,", "Hello Ada,")
    session.revise("shorter, sign as Grace", args={"step": "s5", "text": mine})
    revised = session.pending[0].args["text"]
    assert revised == revise(mine, "shorter, sign as Grace")
    assert revised.startswith("Hello Ada,")
    assert revised.endswith("Grace")
    session.approve()
    [crm] = session.pending  # the agent could not do it: back to the human
    assert "I have no tool 'crm_note'" in crm.reason
    session.answer(crm.args["options"][0], option=0)
    plan = final(session)
    assert [s.done_by for s in plan.steps] == ["agent", "agent", "human", "agent", "both",
                                               "human"]
    work = analysis.workload(hitl_nb.log().to_pandas()).iloc[0]
    assert (work.agent, work.human, work.both, work.reassigned_at_review) == (3, 2, 1, 1)
