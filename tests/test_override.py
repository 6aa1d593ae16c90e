"""Stop, redirect, undo and manual override on real graphs (InMemorySaver and SqliteSaver)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import config
from graphs import by_item, fan_out_graph, plain_graph
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import _override
from hitl_nb._notify import notify
from hitl_nb._schema import Decision
from hitl_nb.demo import SupportDesk, support_agent

REFUND = {"messages": [("user", "refund order 1042")]}
PROPOSED = {"order": 1042, "amount": 80.0, "note": "customer request"}  # order 1042 totals 80


pytestmark = pytest.mark.usefixtures("clean_overrides")  # conftest: a clean kill switch


@pytest.fixture(params=["memory", "sqlite"])
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    conn = sqlite3.connect(tmp_path / "checkpoints.db", check_same_thread=False)
    yield SqliteSaver(conn)
    conn.close()


@pytest.fixture
def agent(desk: SupportDesk, saver: Any) -> Any:
    return support_agent(desk, checkpointer=saver)


def decisions() -> list[str]:
    return list(hitl_nb.log().to_pandas().decision.astype(str))


def checkpoint_ids(graph: Any, session: hitl_nb.Session) -> set[str]:
    return {s.config["configurable"]["checkpoint_id"]
            for s in graph.get_state_history(session.config)}


# -- stop -------------------------------------------------------------------------------
def test_stop_ends_the_paused_run_without_running_the_action(agent, desk: SupportDesk):
    session = hitl_nb.Session(agent, config(), reviewer="ada").invoke(REFUND)
    [request] = session.pending
    [decision] = session.stop("customer withdrew the request")
    assert decision.override == "stop"
    assert not decision.approved
    assert desk.count("issue_refund") == 0
    assert session.status == "stopped"
    assert session.pending == []
    snapshot = agent.get_state(session.config)
    assert snapshot.next == ()
    assert snapshot.interrupts == ()
    assert session.stopped is not None
    assert (session.stopped.reason, session.stopped.reviewer) == (
        "customer withdrew the request", "ada")
    assert session.stopped.request_ids == (request.request_id,)
    row = hitl_nb.log().to_pandas().iloc[-1]
    assert (row.decision, row.source, row.reviewer) == ("stop", "human", "ada")
    assert row.message == "customer withdrew the request"
    assert row.final_args == PROPOSED
    assert row.request_id == request.request_id
    # nothing continues the run, not even a raw LangGraph resume
    agent.invoke(None, session.config)
    assert desk.count("issue_refund") == 0


def test_decisions_on_a_stopped_thread_are_refused(agent, desk: SupportDesk):
    session = hitl_nb.Session(agent, config()).invoke(REFUND)
    request_id = session.pending[0].request_id
    session.stop("fraud suspected")
    attempts = [lambda: session.approve(request_id), lambda: session.reject("x", request_id),
                lambda: session.redirect("offer a voucher", request_id),
                lambda: session.override("done", request_id),
                lambda: session.invoke({"messages": [("user", "refund order 1043")]})]
    for attempt in attempts:
        with pytest.raises(hitl_nb.Stopped, match=r"was stopped by .*fraud suspected"):
            attempt()
    assert decisions() == ["stop"]
    assert desk.executed == [("lookup_order", {"order": 1042})]


def test_stop_survives_reopening_the_checkpointer(tmp_path: Path):
    path = tmp_path / "threads.db"
    cfg = config()
    conn = sqlite3.connect(path, check_same_thread=False)
    first_desk = SupportDesk()
    session = hitl_nb.Session(support_agent(first_desk, checkpointer=SqliteSaver(conn)), cfg)
    session.invoke(REFUND).stop("wrong customer")
    conn.close()
    # a new kernel: a new connection, graph, desk and session on the same thread
    conn = sqlite3.connect(path, check_same_thread=False)
    desk = SupportDesk()
    graph = support_agent(desk, checkpointer=SqliteSaver(conn))
    again = hitl_nb.Session.attach(graph, cfg)
    assert again.status == "stopped"
    assert again.stopped is not None
    assert again.stopped.reason == "wrong customer"
    assert again.pending == []
    with pytest.raises(hitl_nb.Stopped, match="wrong customer"):
        again.approve()
    graph.invoke(None, cfg)
    assert desk.executed == []
    conn.close()


def test_stop_twice_or_on_a_finished_run_is_refused(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.stop()
    with pytest.raises(hitl_nb.Stopped, match="already stopped"):
        session.stop()
    finished = hitl_nb.Session(graph, config()).invoke(
        {"messages": [("user", "where is order 1043")]})
    assert finished.done
    with pytest.raises(hitl_nb.StaleDecision, match="nothing to stop"):
        finished.stop()
    assert decisions() == ["stop"]


def test_stop_with_parallel_requests_logs_each_and_drops_staged_decisions():
    executed: list[str] = []
    session = hitl_nb.Session(fan_out_graph(executed), config()).invoke({"items": ["a", "b", "c"]})
    session.approve(by_item(session)["a"])  # staged, not yet sent
    stopped = session.stop("not today")
    assert len(stopped) == 3
    assert executed == []
    assert session.status == "stopped"
    assert decisions() == ["approve", "stop", "stop", "stop"]
    assert session.staged == []


# -- redirect ---------------------------------------------------------------------------
def test_redirect_leads_the_agent_to_a_different_tool(agent, desk: SupportDesk):
    session = hitl_nb.Session(agent, config()).invoke(REFUND)
    refund_call = agent.get_state(session.config).values["messages"][-1].tool_calls[0]
    decision = session.redirect("don't refund, offer a voucher instead", rating=4)
    assert decision.override == "redirect"
    [voucher] = session.pending
    # the voucher is worth the order total (80.00 for order 1042) since none was named
    assert (voucher.action, voucher.args) == (
        "issue_voucher", {"order": 1042, "amount": 80.0, "note": "instead of a refund"})
    messages = agent.get_state(session.config).values["messages"]
    cancelled = [m for m in messages if isinstance(m, ToolMessage)
                 and m.tool_call_id == refund_call["id"]]
    assert [(m.content, m.status) for m in cancelled] == [(_override.NOT_RUN, "error")]
    assert isinstance(messages[messages.index(cancelled[0]) + 1], HumanMessage)
    session.approve()
    [reply] = session.pending
    assert "voucher of 80.00 EUR" in reply.args["body"]
    session.approve()
    assert session.done
    assert session.result["messages"][-1].content == (
        "Voucher for order 1042 issued and reply drafted.")
    assert (desk.count("issue_refund"), desk.count("issue_voucher")) == (0, 1)
    df = hitl_nb.log().to_pandas()
    assert list(df.decision.astype(str)) == ["redirect", "approve", "approve"]
    assert df.iloc[0].message == "don't refund, offer a voucher instead"
    assert df.iloc[0].rating == 4.0
    assert df.iloc[0].action_name == "issue_refund"


def test_redirect_to_a_partial_refund_uses_the_new_amount(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.redirect("refund only 50 instead")
    [refund] = session.pending
    assert refund.args == {"order": 1042, "amount": 50.0, "note": "partial refund as instructed"}
    session.approve()
    assert desk.executed[-1] == ("issue_refund", refund.args)
    assert "refunded 50.00 EUR" in session.pending[0].args["body"]


class PlanState(TypedDict, total=False):
    instructions: str
    plan: str
    outcome: str


def planner_graph(executed: list[str]) -> Any:
    """The planner reads its instructions; the actor asks before acting."""

    def plan(state: PlanState) -> dict[str, Any]:
        wants_email = "email" in state.get("instructions", "")
        return {"plan": "send_email" if wants_email else "call_customer"}

    def act(state: PlanState) -> dict[str, Any]:
        decision = hitl_nb.ask(action=state["plan"], args={"to": "ada"})
        if decision.approved:
            executed.append(state["plan"])
        return {"outcome": decision.action}

    builder = StateGraph(PlanState)
    builder.add_node("plan", plan)
    builder.add_node("act", act)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_redirect_any_state_with_an_update_function():
    executed: list[str] = []
    graph = planner_graph(executed)
    session = hitl_nb.Session(graph, config()).invoke({"instructions": "reach the customer"})
    assert session.pending[0].action == "call_customer"
    # the default target is the node that ran before the pause: the planner
    session.redirect("send an email instead",
                     update=lambda values, text: {"instructions": text})
    assert session.pending[0].action == "send_email"
    session.approve()
    assert executed == ["send_email"]
    assert session.result["outcome"] == "approve"


def test_redirect_needs_a_place_for_the_instructions():
    session = hitl_nb.Session(plain_graph("Proceed?"), config()).invoke({})
    with pytest.raises(hitl_nb.DecisionError, match="no 'messages' list"):
        session.redirect("do something else")
    with pytest.raises(hitl_nb.DecisionError, match=r"goto='nowhere' is not a node"):
        session.redirect("do something else", goto="nowhere", update={"answer": "x"})
    with pytest.raises(hitl_nb.DecisionError, match="needs instructions"):
        session.redirect("   ", update={"answer": "x"})
    assert len(hitl_nb.log()) == 0
    session.approve()  # the request stayed pending and decidable
    assert session.result == {"answer": True}


# -- undo -------------------------------------------------------------------------------
def test_undo_forks_before_the_interrupt_and_a_different_decision_takes_effect(
        agent, desk: SupportDesk):
    hitl_nb.compensate("issue_refund", desk.reverse_refund)
    session = hitl_nb.Session(agent, config()).invoke(REFUND)
    [first] = session.pending
    session.approve()
    assert desk.count("issue_refund") == 1
    assert [r.action for r in session.pending] == ["draft_reply"]
    before = checkpoint_ids(agent, session)
    report = session.undo()
    assert report.decisions == ("approve issue_refund",)
    assert report.checkpoint_id == first.checkpoint_id
    assert len(report.compensated) == 1
    assert "refund of 80.00 on order 1042 reversed" in report.compensated[0]
    assert report.complete
    assert desk.executed[-1] == ("reverse_refund", PROPOSED)
    # pending again, as a new request on a new branch; the old branch is still there
    [again] = session.pending
    assert (again.action, again.args) == ("issue_refund", PROPOSED)
    assert again.request_id != first.request_id
    assert report.reopened == (again,)
    assert before < checkpoint_ids(agent, session)
    assert first.checkpoint_id in checkpoint_ids(agent, session)
    session.reject("refund already made by phone")
    assert desk.count("issue_refund") == 1  # the undo did not run it again
    assert "refund already made by phone" in session.result["messages"][-1].content
    assert decisions() == ["approve", "undo", "reject"]
    assert hitl_nb.log().verify().ok


def test_undo_never_replays_the_old_answer(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    old_interrupt = session.pending[0].interrupt_id
    session.approve()
    session.undo()
    # the undo only asks again: no approval was reused, nothing ran
    assert session.status == "pending"
    assert desk.count("issue_refund") == 1
    live = graph.get_state(session.config).interrupts
    assert [i.id for i in live] != [old_interrupt]
    assert live[0].value["args"] == PROPOSED
    session.edit({"order": 1042, "amount": 10.0, "note": "goodwill"})
    assert desk.executed[-1] == ("issue_refund", {"order": 1042, "amount": 10.0,
                                                  "note": "goodwill"})
    assert desk.count("issue_refund") == 2


def test_undo_says_plainly_what_could_not_be_reverted(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(
        {"messages": [("user", "delete account 7")]})
    session.approve()
    assert 7 not in desk.accounts
    report = session.undo()
    assert not report.complete
    [line] = report.not_reverted
    assert line.startswith('delete_account({"account": 7}) ran after approve')
    assert "its effect is real" in line
    assert "NOT reverted" in str(report)
    assert 7 not in desk.accounts
    assert [r.action for r in session.pending] == ["delete_account"]
    row = hitl_nb.log().to_pandas().iloc[-1]
    assert row.decision == "undo"
    assert "its effect is real" in row.message


def test_double_and_stale_undo_are_refused(graph, desk: SupportDesk):
    hitl_nb.compensate("issue_refund", desk.reverse_refund)
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    old = session.pending[0].request_id
    session.approve()
    session.undo()
    with pytest.raises(hitl_nb.StaleDecision, match="already undone"):
        session.undo()
    session.approve()
    with pytest.raises(hitl_nb.StaleDecision, match="not the last decision"):
        session.undo(old)
    assert decisions() == ["approve", "undo", "approve"]
    assert desk.count("reverse_refund") == 1


def test_each_execution_is_compensated_once(graph, desk: SupportDesk):
    hitl_nb.compensate("issue_refund", desk.reverse_refund)
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.approve()
    first = session.history[-1][0].request_id
    session.undo()
    session.approve()
    session.undo()
    assert (desk.count("issue_refund"), desk.count("reverse_refund")) == (2, 2)
    assert _override.run_compensation(first, "issue_refund", PROPOSED) == (
        "already", "its compensation already ran")
    assert desk.count("reverse_refund") == 2


def test_undo_of_a_reject_reopens_it_and_nothing_needs_reverting(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.reject("no")
    assert session.done
    report = session.undo()
    assert report.complete
    assert report.notes == ("issue_refund did not run (reject): nothing to revert",)
    assert session.status == "pending"
    assert session.result is None
    session.approve()
    assert desk.count("issue_refund") == 1


def test_undo_of_a_stop_reopens_the_thread(agent, desk: SupportDesk):
    session = hitl_nb.Session(agent, config()).invoke(REFUND)
    session.stop("by mistake")
    session.undo()
    assert session.status == "pending"
    assert session.stopped is None
    session.approve()
    assert desk.count("issue_refund") == 1
    assert decisions() == ["stop", "undo", "approve"]


def test_undo_of_a_redirect_brings_the_original_action_back(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.redirect("offer a voucher instead")
    assert session.pending[0].action == "issue_voucher"
    session.undo()
    [request] = session.pending
    assert (request.action, request.args) == ("issue_refund", PROPOSED)
    session.approve()
    assert (desk.count("issue_refund"), desk.count("issue_voucher")) == (1, 0)


def test_undo_of_a_staged_parallel_decision_takes_it_back_without_forking():
    executed: list[str] = []
    graph = fan_out_graph(executed)
    session = hitl_nb.Session(graph, config()).invoke({"items": ["a", "b", "c"]})
    ids = by_item(session)
    session.approve(ids["a"])
    history = checkpoint_ids(graph, session)
    report = session.undo()
    assert report.notes == ("publish did not run (approve, not sent yet): nothing to revert",)
    assert sorted(by_item(session)) == ["a", "b", "c"]
    assert by_item(session)["a"] == ids["a"]
    assert checkpoint_ids(graph, session) == history
    assert session.staged == []
    assert executed == []


def test_undo_after_a_batch_reopens_everything_sent_with_it():
    executed: list[str] = []
    reverted: list[str] = []
    hitl_nb.compensate("publish", lambda args: reverted.append(args["item"]))
    session = hitl_nb.Session(fan_out_graph(executed), config()).invoke({"items": ["a", "b", "c"]})
    ids = by_item(session)
    session.approve(ids["a"])
    session.approve(ids["b"])
    session.reject("no", ids["c"])
    assert sorted(executed) == ["a", "b"]
    report = session.undo()
    assert sorted(report.request_ids) == sorted(ids.values())
    assert sorted(reverted) == ["a", "b"]
    assert report.notes == ("publish did not run (reject): nothing to revert",)
    assert sorted(by_item(session)) == ["a", "b", "c"]
    assert decisions().count("undo") == 3


def test_undo_after_a_restart_works_from_the_log_and_the_checkpointer(tmp_path: Path):
    path = tmp_path / "threads.db"
    cfg = config()
    conn = sqlite3.connect(path, check_same_thread=False)
    desk = SupportDesk()
    session = hitl_nb.Session(support_agent(desk, checkpointer=SqliteSaver(conn)), cfg)
    session.invoke(REFUND).approve()
    conn.close()
    conn = sqlite3.connect(path, check_same_thread=False)
    fresh = hitl_nb.Session.attach(support_agent(desk, checkpointer=SqliteSaver(conn)), cfg)
    assert fresh.history == []
    report = fresh.undo()
    assert report.decisions == ("approve issue_refund",)
    assert [r.action for r in fresh.pending] == ["issue_refund"]
    conn.close()


def test_a_failing_compensation_is_reported_and_the_undo_still_happens(graph,
                                                                       desk: SupportDesk):
    def bank_down(args: dict[str, Any]) -> None:
        raise ConnectionError("bank API timeout")

    hitl_nb.compensate("issue_refund", bank_down)
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.approve()
    report = session.undo()
    assert report.failed == (  # the arguments as logged: canonical JSON, keys sorted
        'issue_refund({"amount": 80.0, "note": "customer request", "order": 1042}) ran '
        "after approve; its compensation raised ConnectionError: bank API timeout",)
    assert not report.complete
    assert [r.action for r in session.pending] == ["issue_refund"]


def test_actions_notified_after_the_decision_are_compensated_by_request(graph):
    undone: list[str] = []
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    session.approve()
    row = notify(action="send_sms", args={"to": "ada"}, thread_id=session.thread_id)
    _override.register_undo(row["request_id"], lambda: undone.append("sms recalled"))
    notify(action="update_crm", args={"order": 1042}, thread_id=session.thread_id)
    report = session.undo()
    assert undone == ["sms recalled"]
    assert [line.split("(")[0] for line in report.compensated] == ["send_sms"]
    assert [line.split("(")[0] for line in report.not_reverted] == ["update_crm",
                                                                   "issue_refund"]


def test_nothing_to_undo_on_a_fresh_thread(graph):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    with pytest.raises(hitl_nb.StaleDecision, match="nothing to undo"):
        session.undo()


# -- manual override --------------------------------------------------------------------
def test_manual_override_feeds_the_result_back_without_running_the_tool(agent,
                                                                       desk: SupportDesk):
    session = hitl_nb.Session(agent, config()).invoke(REFUND)
    by_hand = {"order": 1042, "amount": 60.0, "note": "bank transfer by hand"}
    decision = session.override("refunded 60.00 on order 1042 by bank transfer",
                                args=by_hand, comment="bank portal")
    assert (decision.action, decision.override, decision.args) == ("respond", "override",
                                                                   by_hand)
    assert desk.count("issue_refund") == 0
    messages = agent.get_state(session.config).values["messages"]
    results = [m.content for m in messages if isinstance(m, ToolMessage)
               and m.name == "issue_refund"]
    assert results == ["refunded 60.00 on order 1042 by bank transfer"]
    [reply] = session.pending
    assert "refunded 60.00 EUR" in reply.args["body"]
    row = hitl_nb.log().to_pandas().iloc[-1]
    assert (row.decision, bool(row.edited), row.comment) == ("override", True, "bank portal")
    assert row.final_args == by_hand
    assert row.message == "refunded 60.00 on order 1042 by bank transfer"


def test_override_of_a_plain_interrupt_resumes_with_the_result_value():
    session = hitl_nb.Session(plain_graph("Which customer?"), config()).invoke({})
    session.override({"name": "Ada Lovelace", "id": 7})
    assert session.result == {"answer": {"name": "Ada Lovelace", "id": 7}}
    assert hitl_nb.log().to_pandas().iloc[-1].message == '{"id":7,"name":"Ada Lovelace"}'


def test_override_is_refused_where_no_response_is_accepted_or_input_is_bad(graph):
    def node(state: PlanState) -> dict[str, Any]:
        return {"outcome": hitl_nb.ask(action="wire", args={"amount": 5},
                                       allowed=("approve", "reject")).action}

    builder = StateGraph(PlanState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    strict = hitl_nb.Session(builder.compile(checkpointer=InMemorySaver()), config())
    with pytest.raises(hitl_nb.DecisionError, match="does not accept a response"):
        strict.invoke({}).override("wired by hand")
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    with pytest.raises(hitl_nb.DecisionError, match="needs result="):
        session.override(None)
    with pytest.raises(hitl_nb.DecisionError, match="must be JSON-able"):
        session.override({"at": object()})
    with pytest.raises(hitl_nb.DecisionError, match="invalid edit of amount"):
        session.override("done", args={"order": 1042, "amount": "lots", "note": ""})
    assert len(hitl_nb.log()) == 0
    assert len(session.pending) == 1


def test_override_decision_round_trips_through_the_resume_value():
    decision = Decision(action="respond", message="done", override="override",
                        result={"ok": True})
    back = Decision.from_resume(decision.to_resume())
    assert (back.override, back.result) == ("override", {"ok": True})
    with pytest.raises(TypeError, match="unknown override"):
        Decision.from_resume({**decision.to_resume(), "override": "explode"})


def test_undo_after_the_run_broke_does_not_guess_whether_the_action_ran(desk: SupportDesk):
    real_run = desk.run

    def flaky(name: str, args: dict[str, Any]) -> str:
        if name == "issue_refund":
            raise ConnectionError("bank API timeout")
        return real_run(name, args)

    desk.run = flaky  # type: ignore[method-assign]
    reversed_: list[dict[str, Any]] = []
    hitl_nb.compensate("issue_refund", reversed_.append)
    session = hitl_nb.Session(support_agent(desk), config()).invoke(REFUND)
    with pytest.raises(ConnectionError):
        session.approve()
    report = session.undo()
    assert reversed_ == []  # never reverse a refund that may not have happened
    [line] = report.not_reverted
    assert "may have run: the run raised after the approve (ConnectionError)" in line
    assert session.status == "pending"
    assert session.error is None
    assert [r.action for r in session.pending] == ["issue_refund"]


def test_redirect_a_langchain_middleware_agent_back_to_its_model():
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    ran: list[str] = []

    @tool
    def wire_money(to: str) -> str:
        """Wire money."""
        ran.append(to)
        return "wired"

    class Fake(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Fake:
            return self

    seen: list[list[str]] = []
    replies = iter([AIMessage(content="", tool_calls=[
        {"name": "wire_money", "args": {"to": "acme"}, "id": "w1"},
        {"name": "wire_money", "args": {"to": "globex"}, "id": "w2"}]),
        AIMessage(content="OK, no transfers; I will email them instead.")])

    class Recording(Fake):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append([m.type for m in messages])
            return super()._generate(messages, *args, **kwargs)

    agent = create_agent(Recording(messages=replies), [wire_money],
                         middleware=[HumanInTheLoopMiddleware(interrupt_on={"wire_money": True})],
                         checkpointer=InMemorySaver())
    session = hitl_nb.Session(agent, config()).invoke({"messages": [("user", "pay both")]})
    assert len(session.pending) == 2
    session.redirect("don't wire anything, email them")
    assert ran == []
    assert session.done
    assert session.result["messages"][-1].content.startswith("OK, no transfers")
    # the model saw both calls answered as not executed, then the new instructions
    assert seen[-1] == ["human", "ai", "tool", "tool", "human"]
    assert decisions() == ["redirect", "redirect"]


def test_compensate_as_a_decorator_and_bad_names():
    @hitl_nb.compensate("issue_voucher")
    def revoke(args: dict[str, Any]) -> str:
        return f"revoked {args['amount']}"

    assert _override.run_compensation("r1", "issue_voucher", {"amount": 5}) == ("done",
                                                                                 "revoked 5")
    assert _override.run_compensation("r2", "unknown_tool", {}) == ("none", "")
    with pytest.raises(TypeError, match="non-empty string"):
        hitl_nb.compensate("", revoke)
