"""One line of oversight on real graphs: a guarded ToolNode, function and LangChain tool,
and the same policy driving LangChain's HumanInTheLoopMiddleware."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import ConfidenceBelow, Policy, Threshold, _policy
from hitl_nb.demo import ScriptedSupportModel, SupportDesk, gated_support_agent, support_tools

FINANCE = hitl_nb.Reviewer("fiona", roles=("finance",))


def ask(graph: Any, text: str) -> hitl_nb.Session:
    return hitl_nb.Session(graph, config()).invoke({"messages": [("user", text)]})


def tool_messages(session: hitl_nb.Session, name: str) -> list[ToolMessage]:
    messages = session.graph.get_state(session.config).values["messages"]
    return [m for m in messages if isinstance(m, ToolMessage) and m.name == name]


def test_autonomy_runs_without_an_interrupt(desk: SupportDesk):
    session = ask(gated_support_agent(desk), "where is order 1043")
    assert session.status == "done"
    assert session.history == []
    assert desk.executed == [("lookup_order", {"order": 1043})]
    assert len(hitl_nb.log()) == 0  # autonomy: nothing to report


def test_notify_runs_and_logs_auto(desk: SupportDesk):
    # refund 1043 is 25.0 (under 50): runs on its own; the drafted reply is notify
    session = ask(gated_support_agent(desk), "refund order 1043")
    assert session.status == "done"
    assert session.history == []
    assert [name for name, _ in desk.executed] == ["lookup_order", "issue_refund",
                                                   "draft_reply"]
    [row] = hitl_nb.log().to_pandas().itertuples()
    assert (row.action_name, row.decision, row.source, row.spectrum_level) == (
        "draft_reply", "auto", "policy", "notify")
    assert row.thread_id == session.thread_id
    assert row.final_args == desk.executed[2][1]


def test_confirm_interrupts_with_the_gates_that_fired(desk: SupportDesk):
    session = ask(gated_support_agent(desk), "refund order 1042")
    [request] = session.pending
    assert desk.count("issue_refund") == 0
    assert (request.action, request.level, request.gate) == (
        "issue_refund", "confirm", "threshold:refund_amount")
    assert request.gate_reason == "amount 80.0 > 50 (threshold:refund_amount)"
    assert request.required_roles == ("finance",)
    assert request.args_schema is not None
    assert request.args_schema["properties"]["amount"]["type"] == "number"  # the tool's schema


def test_edit_runs_the_tool_once_with_the_edited_args(desk: SupportDesk):
    session = ask(gated_support_agent(desk), "refund order 1042")
    session.edit({"order": 1042, "amount": 60.0, "note": "partial"}, reviewer=FINANCE)
    assert desk.executed[1] == ("issue_refund", {"order": 1042, "amount": 60.0,
                                                 "note": "partial"})
    assert desk.count("issue_refund") == 1
    assert session.status == "done"
    # the AI message in the history shows the call that ran, not the proposal
    ai_calls = [c for m in session.graph.get_state(session.config).values["messages"]
                if m.type == "ai" for c in m.tool_calls if c["name"] == "issue_refund"]
    assert [c["args"]["amount"] for c in ai_calls] == [60.0]
    assert list(hitl_nb.log().to_pandas().decision) == ["edit", "auto"]


def test_reject_returns_the_message_to_the_agent(desk: SupportDesk):
    session = ask(gated_support_agent(desk), "refund order 1042")
    session.reject("refunds over 50 need the receipt", reviewer=FINANCE)
    assert desk.count("issue_refund") == 0
    [answer] = tool_messages(session, "issue_refund")
    assert answer.content == "rejected by reviewer: refunds over 50 need the receipt"
    assert answer.status == "error"
    assert "refunds over 50 need the receipt" in session.result["messages"][-1].content


def test_respond_answers_in_place_of_the_tool(desk: SupportDesk):
    session = ask(gated_support_agent(desk), "refund order 1042")
    session.respond("refunded by phone already", reviewer=FINANCE)
    assert desk.count("issue_refund") == 0
    [answer] = tool_messages(session, "issue_refund")
    assert (answer.content, answer.status) == ("refunded by phone already", "success")


class Transfer(TypedDict, total=False):
    amount: float
    result: str


def transfer_graph(policy: Policy, ledger: list[tuple[str, float]]) -> Any:
    @policy.guard(confidence=0.9)
    def transfer(account: str, amount: float) -> str:
        ledger.append((account, amount))
        return f"sent {amount} to {account}"

    def node(state: Transfer) -> Transfer:
        return {"result": transfer("ACME", amount=state["amount"])}

    builder = StateGraph(Transfer)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


def test_guarded_function_inside_a_node():
    ledger: list[tuple[str, float]] = []
    policy = Policy([Threshold("amount", ">", 100), ConfidenceBelow(0.95, level="notify")])
    graph = transfer_graph(policy, ledger)
    small = hitl_nb.Session(graph, config()).invoke({"amount": 10.0})
    assert small.result == {"amount": 10.0, "result": "sent 10.0 to ACME"}
    assert hitl_nb.log().to_pandas().decision.tolist() == ["auto"]  # 0.9 < 0.95: notify
    big = hitl_nb.Session(graph, config()).invoke({"amount": 500.0})
    [request] = big.pending
    assert request.args == {"account": "ACME", "amount": 500.0}
    assert request.gate_reason == ("amount 500.0 > 100 (threshold:amount); "
                                   "confidence 0.9 < 0.95 (confidence)")
    assert ledger == [("ACME", 10.0)]
    big.edit({"account": "ACME", "amount": 99.0})
    assert ledger == [("ACME", 10.0), ("ACME", 99.0)]
    assert big.result["result"] == "sent 99.0 to ACME"
    refused = hitl_nb.Session(graph, config()).invoke({"amount": 700.0})
    refused.reject("not this month")
    assert refused.result["result"] == "rejected by reviewer: not this month"
    assert len(ledger) == 2


def test_guard_needs_keyword_arguments():
    policy = Policy()
    with pytest.raises(TypeError, match="by keyword"):
        policy.guard(lambda *amounts: sum(amounts))


def test_guarded_langchain_tool_in_a_plain_tool_node(desk: SupportDesk):
    tools = {t.name: t for t in support_tools(desk)}
    policy = Policy([Threshold("amount", ">", 50, roles=["finance"])])
    guarded = policy.guard(tools["issue_refund"])
    assert (guarded.name, guarded.description) == ("issue_refund", "Refund `amount` on `order`.")
    model = ScriptedSupportModel()
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("tools", ToolNode([tools["lookup_order"], guarded, tools["draft_reply"]]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    session = ask(builder.compile(checkpointer=InMemorySaver()), "refund order 1042")
    [request] = session.pending
    assert (request.action, request.required_roles) == ("issue_refund", ("finance",))
    with pytest.raises(hitl_nb.NotAuthorized):
        session.approve()
    session.approve(reviewer=FINANCE)
    assert desk.count("issue_refund") == 1
    assert session.status == "done"


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_policy_as_middleware_config(desk: SupportDesk, mode: str):
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    tools = support_tools(desk)
    policy = Policy([Threshold("amount", ">", 50, actions=["issue_refund"],
                               name="refund_amount", roles=["finance"])])
    middleware = HumanInTheLoopMiddleware(interrupt_on=policy.interrupt_on(tools),
                                          interrupt_mode=mode)
    agent = create_agent(ScriptedSupportModel(), tools, middleware=[middleware],
                         checkpointer=InMemorySaver())
    # a small refund: the `when` predicate lets it through without a pause
    small = hitl_nb.Session(agent, config(), policy=policy).invoke(
        {"messages": [("user", "refund order 1043")]})
    assert small.status == "done"
    assert desk.count("issue_refund") == 1
    session = hitl_nb.Session(agent, config(), policy=policy).invoke(
        {"messages": [("user", "refund order 1042")]})
    [request] = session.pending
    assert request.kind == ("middleware" if mode == "batched" else "tool_approval")
    assert request.reason == ("Policy says confirm: amount 80.0 > 50 "
                              "(threshold:refund_amount) [needs role finance]")
    assert (request.gate, request.required_roles) == ("threshold:refund_amount", ("finance",))
    assert request.confidence == pytest.approx(0.82)  # from the AI message's metadata
    with pytest.raises(hitl_nb.NotAuthorized, match="needs role finance"):
        session.edit({"order": 1042, "amount": 55.0, "note": "x"})
    assert desk.count("issue_refund") == 1
    session.edit({"order": 1042, "amount": 55.0, "note": "x"}, reviewer=FINANCE)
    assert desk.executed[-2] == ("issue_refund", {"order": 1042, "amount": 55.0, "note": "x"})
    assert desk.count("issue_refund") == 2
    assert session.status == "done"
    row = hitl_nb.log().to_pandas().iloc[-1]
    assert (row.decision, row.reviewer, row.role) == ("edit", "fiona", "finance")


def test_interrupt_on_registers_its_policy_per_tool_and_the_latest_wins(desk: SupportDesk):
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    tools = support_tools(desk)
    finance = Policy([Threshold("amount", ">", 50, actions=["issue_refund"], roles=["finance"])])
    audit = Policy([Threshold("amount", ">", 50, actions=["issue_refund"], roles=["audit"])])
    interrupt_on = finance.interrupt_on(tools)
    agent = create_agent(ScriptedSupportModel(), tools, checkpointer=InMemorySaver(),
                         middleware=[HumanInTheLoopMiddleware(interrupt_on=interrupt_on)])
    refund = {"messages": [("user", "refund order 1042")]}
    assert ask(agent, "refund order 1042").pending[0].required_roles == ("finance",)
    audit.interrupt_on(["issue_refund"])  # registered again: the latest wins
    assert ask(agent, "refund order 1042").pending[0].required_roles == ("audit",)
    # a session's own policy= comes first
    own = hitl_nb.Session(agent, config(), policy=finance).invoke(refund)
    assert own.pending[0].required_roles == ("finance",)
    # every tool handed to interrupt_on is registered; re-registering moved only one
    assert _policy.registered_policy("draft_reply") is finance
    assert _policy.registered_policy("no_such_tool") is None


def test_a_timeout_resolves_to_the_default_and_nothing_runs():
    from datetime import timedelta

    ledger: list[tuple[str, float]] = []
    policy = Policy([Threshold("amount", ">", 100)])

    @policy.guard(timeout=timedelta(minutes=30))
    def transfer(account: str, amount: float) -> str:
        ledger.append((account, amount))
        return "sent"

    builder = StateGraph(Transfer)
    builder.add_node("node", lambda state: {"result": transfer("ACME", state["amount"])})
    builder.add_edge(START, "node")
    session = hitl_nb.Session(builder.compile(checkpointer=InMemorySaver()), config())
    [request] = session.invoke({"amount": 500.0}).pending
    assert request.deadline is not None
    waited = request.deadline - request.requested_at
    assert timedelta(minutes=29) < waited <= timedelta(minutes=30)
    assert session.expire_overdue(now=request.deadline - timedelta(seconds=1)) == []
    assert session.expire_overdue(now=request.deadline) == [request]
    assert session.result["result"].startswith("rejected by reviewer: no decision before")
    assert ledger == []
    row = hitl_nb.log().to_pandas().iloc[0]
    assert (row.decision, row.source) == ("timeout", "policy")
