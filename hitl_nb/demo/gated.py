"""The support agent with declarative gates instead of a fixed rule table.

Same scripted model and back office as `support_agent`, but the tools are LangChain
tools run by a `ToolNode` that a `Policy` guards in one line:
``builder.add_node("tools", policy.guard(ToolNode(tools)))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from .._log import FeedbackLog
from .._policy import ConfidenceBelow, Critical, Policy, RequiresRole, Threshold, TwoPersonRule
from .support import ScriptedSupportModel, SupportDesk


def support_tools(desk: SupportDesk) -> list[BaseTool]:
    """The desk's actions as LangChain tools (each call lands in `desk.executed`)."""

    @tool
    def lookup_order(order: int) -> str:
        """Look up an order by number."""
        return desk.run("lookup_order", {"order": order})

    @tool
    def issue_refund(order: int, amount: float, note: str) -> str:
        """Refund `amount` on `order`."""
        return desk.run("issue_refund", {"order": order, "amount": amount, "note": note})

    @tool
    def draft_reply(to: str, body: str) -> str:
        """Save a reply to the customer as a draft."""
        return desk.run("draft_reply", {"to": to, "body": body})

    @tool
    def delete_account(account: int) -> str:
        """Delete a customer account (irreversible)."""
        return desk.run("delete_account", {"account": account})

    return [lookup_order, issue_refund, draft_reply, delete_account]


def large_refund(action: str, args: dict[str, Any]) -> bool:
    """Refunds over 300 need two people."""
    return float(args.get("amount", 0)) > 300


def support_policy() -> Policy:
    """The demo's gates, one of each kind.

    lookups run on their own; drafted replies run and are reported (notify); refunds
    over 50 need a `finance` reviewer, over 300 two of them; deleting an account is
    for a `security` reviewer to lead; anything the agent is unsure of (< 0.6) stops.
    """
    return Policy([
        Critical(actions=["draft_reply"], level="notify", name="customer_text",
                 description="customer-facing text, saved as a draft"),
        Threshold("amount", ">", 50, actions=["issue_refund"], name="refund_amount",
                  roles=["finance"]),
        TwoPersonRule(actions=["issue_refund"], when=large_refund),
        ConfidenceBelow(0.6),
        Critical(actions=["delete_account"], level="human_leads"),
        RequiresRole("security", actions=["delete_account"]),
    ])


def gated_support_agent(desk: SupportDesk | None = None, *, policy: Policy | None = None,
                        checkpointer: Any = None, model: BaseChatModel | None = None,
                        tools: Sequence[BaseTool] | None = None,
                        log: FeedbackLog | None = None) -> Any:
    """Compile the gated support agent (an `InMemorySaver` unless a checkpointer is given).

    >>> graph = gated_support_agent(SupportDesk())
    >>> hitl_nb.Session(graph).invoke({"messages": [("user", "refund order 1042")]})

    `tools`: the tools its `ToolNode` runs (default `support_tools(desk)`); `log`: where
    notify-level actions are recorded (default: the kernel's log).
    """
    if checkpointer is None:
        from langgraph.checkpoint.memory import InMemorySaver

        checkpointer = InMemorySaver()
    desk = desk if desk is not None else SupportDesk()
    llm = model or ScriptedSupportModel()
    policy = policy if policy is not None else support_policy()

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    toolbox = list(tools) if tools is not None else support_tools(desk)
    builder.add_node("tools", policy.guard(ToolNode(toolbox), agent="support", log=log))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)
