"""A customer-support agent that needs no API key.

Real LangGraph nodes (agent -> review -> tools -> agent) and a real chat-model
interface; only the model's choices are scripted, from the conversation it is given,
so interrupts, resumes, edits and rejections go through the same code paths as with
an LLM. The `SupportDesk` is the fake back office whose `executed` ledger lets tests
check that a tool ran exactly once, with which arguments.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import END, START, MessagesState, StateGraph

from .._ask import ask
from .._notify import notify
from .._override import check_stop
from .._preferences import Preferences
from .._schema import Level


def _default_orders() -> dict[int, dict[str, Any]]:
    return {
        1042: {"customer": "ada@example.com", "total": 80.0, "status": "delivered"},
        1043: {"customer": "alan@example.com", "total": 25.0, "status": "shipped"},
        2001: {"customer": "grace@example.com", "total": 420.0, "status": "delivered"},
    }


@dataclass
class SupportDesk:
    """The agent's back office: orders, accounts and a ledger of executed actions."""

    orders: dict[int, dict[str, Any]] = field(default_factory=_default_orders)
    accounts: dict[int, str] = field(default_factory=lambda: {7: "ada@example.com",
                                                              8: "alan@example.com"})
    executed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Scheduled customer calls (a notify-level action: it runs, then can be undone)."""

    def run(self, name: str, args: dict[str, Any]) -> str:
        """Execute tool `name` (recorded in `executed`); returns what the agent sees.

        Refuses (raises `hitl_nb.EmergencyStop`) while the emergency stop is engaged."""
        check_stop()
        self.executed.append((name, dict(args)))
        if name == "lookup_order":
            order = self.orders.get(int(args["order"]))
            return f"order {args['order']}: {order}" if order else f"no order {args['order']}"
        if name == "issue_refund":
            return f"refunded {float(args['amount']):.2f} on order {args['order']}"
        if name == "issue_voucher":
            return f"voucher of {float(args['amount']):.2f} EUR issued for order {args['order']}"
        if name == "draft_reply":
            return f"reply to {args['to']} saved as draft"
        if name == "delete_account":
            self.accounts.pop(int(args["account"]), None)
            return f"account {args['account']} deleted"
        if name == "schedule_call":
            call_id = max(self.calls, default=0) + 1
            self.calls[call_id] = dict(args)
            return f"call {call_id} scheduled with {args['customer']} for {args['when']}"
        raise ValueError(f"unknown tool {name!r}")

    def cancel_call(self, call_id: int) -> str:
        """The compensating action of `schedule_call`."""
        self.executed.append(("cancel_call", {"call": call_id}))
        del self.calls[call_id]
        return f"call {call_id} cancelled"

    def compensator(self, name: str, result: str) -> Callable[[], Any] | None:
        """The undo of a tool run that returned `result`, if the tool has one."""
        found = re.match(r"call (\d+) scheduled", result) if name == "schedule_call" else None
        if found is None:
            return None
        call_id = int(found.group(1))
        return lambda: self.cancel_call(call_id)

    def count(self, name: str) -> int:
        return sum(1 for done, _ in self.executed if done == name)

    # Compensations, for `hitl_nb.compensate(...)`: what undo can take back. Deleting an
    # account has none on purpose: some side effects cannot be reverted.
    def reverse_refund(self, args: dict[str, Any]) -> str:
        self.executed.append(("reverse_refund", dict(args)))
        return f"refund of {float(args['amount']):.2f} on order {args['order']} reversed"

    def revoke_voucher(self, args: dict[str, Any]) -> str:
        self.executed.append(("revoke_voucher", dict(args)))
        return f"voucher of {float(args['amount']):.2f} for order {args['order']} revoked"


@dataclass(frozen=True, slots=True)
class ToolRule:
    """How much oversight a tool gets in the demo (the policy module generalises this)."""

    level: Level
    risk: str
    reason: str


RULES: dict[str, ToolRule] = {
    "lookup_order": ToolRule("autonomy", "low", "read-only lookup"),
    "draft_reply": ToolRule("collaborate", "medium", "customer-facing text: review the wording"),
    "issue_refund": ToolRule("confirm", "high", "moves money"),
    "issue_voucher": ToolRule("confirm", "medium", "gives store credit"),
    "delete_account": ToolRule("human_leads", "critical", "irreversible"),
    "schedule_call": ToolRule("notify", "low", "a call can be cancelled: runs, then tells you"),
}


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "tool_call"}


class ScriptedSupportModel(BaseChatModel):
    """A chat model whose next message is a pure function of the conversation.

    It reads the latest user request ("refund order 1042", "delete account 7",
    "where is order 1043") and the tool results since, and answers with the next
    tool call, or a final message. Confidence is put in `response_metadata`.

    Like an LLM it follows a change of course given as a later user message, taking the
    order from earlier in the conversation: "don't refund, offer a voucher instead"
    (`issue_voucher`, amount in the text or the order total), "refund only 50 instead",
    "cancel" / "stop" / "do nothing".
    """

    @property
    def _llm_type(self) -> str:
        return "scripted-support"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedSupportModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        message = self.next_message(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def next_message(self, messages: Sequence[BaseMessage]) -> AIMessage:
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        request = str(messages[start].content).lower() if start >= 0 else ""
        results = [m for m in messages[start + 1:] if isinstance(m, ToolMessage)]
        if any(str(r.content).startswith(("rejected", "Rejected")) for r in results):
            return AIMessage(content="Understood: I did not go ahead. "
                             + str(results[-1].content))
        done = {r.name for r in results}
        if "voucher" in request:
            return self._voucher(request, messages, results)
        if m := re.search(r"refund (?:only|just) (\d+(?:\.\d+)?)", request):
            return self._partial_refund(float(m.group(1)), request, messages, results)
        if _CANCEL.search(request):
            return AIMessage(content="Understood: I stopped there and did nothing more.")
        if m := re.search(r"refund order (\d+)", request):
            order = int(m.group(1))
            if "lookup_order" not in done:
                return self._tools([_call("lookup_order", order=order)], 0.95)
            total = _total(results)
            if "issue_refund" not in done:
                return self._tools([_call("issue_refund", order=order, amount=total,
                                          note="customer request")],
                                   0.82 if total <= 100 else 0.55)
            if "draft_reply" not in done:
                refunded = _refunded(results, total)
                body = (f"Hello,\n\nwe have refunded {refunded:.2f} EUR for order {order}. "
                        "It will reach your account in 3-5 days.\n\nBest regards")
                return self._tools([_call("draft_reply", to=_customer(results), body=body)],
                                   0.7)
            return AIMessage(content=f"Refund for order {order} done and reply drafted.")
        if m := re.search(r"schedule a call about order (\d+)", request):
            order = int(m.group(1))
            if "lookup_order" not in done:
                return self._tools([_call("lookup_order", order=order)], 0.95)
            if "schedule_call" not in done:
                return self._tools([_call("schedule_call", order=order,
                                          customer=_customer(results),
                                          when="tomorrow 10:00")], 0.9)
            return AIMessage(content=str(results[-1].content).capitalize() + ".")
        if m := re.search(r"delete account (\d+)", request):
            if "delete_account" not in done:
                return self._tools([_call("delete_account", account=int(m.group(1)))], 0.4)
            return AIMessage(content=f"Account {m.group(1)} deleted.")
        if m := re.search(r"order (\d+)", request):
            if "lookup_order" not in done:
                return self._tools([_call("lookup_order", order=int(m.group(1)))], 0.97)
            return AIMessage(content=str(results[-1].content))
        return AIMessage(content="I can look up, refund and answer about orders, and delete "
                                 "accounts. Try 'refund order 1042'.")

    def _voucher(self, request: str, messages: Sequence[BaseMessage],
                 results: list[ToolMessage]) -> AIMessage:
        order = _order(request, messages)
        if order is None:
            return AIMessage(content="Which order should the voucher be for?")
        seen = [m for m in messages if isinstance(m, ToolMessage)]
        if not any(m.name == "lookup_order" for m in seen):
            return self._tools([_call("lookup_order", order=order)], 0.95)
        stated = re.search(r"(\d+(?:\.\d+)?) ?(?:eur|euro|€)", request)
        amount = float(stated.group(1)) if stated else _total(seen)
        done = {r.name for r in results}
        if "issue_voucher" not in done:
            return self._tools([_call("issue_voucher", order=order, amount=amount,
                                      note="instead of a refund")], 0.75)
        if "draft_reply" not in done:
            body = (f"Hello,\n\ninstead of a refund we have issued you a voucher of "
                    f"{amount:.2f} EUR for order {order}.\n\nBest regards")
            return self._tools([_call("draft_reply", to=_customer(seen), body=body)], 0.7)
        return AIMessage(content=f"Voucher for order {order} issued and reply drafted.")

    def _partial_refund(self, amount: float, request: str, messages: Sequence[BaseMessage],
                        results: list[ToolMessage]) -> AIMessage:
        order = _order(request, messages)
        if order is None:
            return AIMessage(content="Which order should I refund?")
        seen = [m for m in messages if isinstance(m, ToolMessage)]
        done = {r.name for r in results}
        if "issue_refund" not in done:
            return self._tools([_call("issue_refund", order=order, amount=amount,
                                      note="partial refund as instructed")], 0.8)
        if "draft_reply" not in done:
            body = (f"Hello,\n\nwe have refunded {_refunded(results, amount):.2f} EUR for "
                    f"order {order}.\n\nBest regards")
            return self._tools([_call("draft_reply", to=_customer(seen), body=body)], 0.7)
        return AIMessage(content=f"Refund for order {order} done and reply drafted.")

    @staticmethod
    def _tools(calls: list[dict[str, Any]], confidence: float) -> AIMessage:
        return AIMessage(content="", tool_calls=calls,
                         response_metadata={"confidence": confidence})


_CANCEL = re.compile(r"\b(cancel|stop|never mind|do nothing|leave it)\b")


def _order(request: str, messages: Sequence[BaseMessage]) -> int | None:
    """The order the request is about: named in it, else the latest one in the talk."""
    if m := re.search(r"order (\d+)", request):
        return int(m.group(1))
    for message in reversed(messages):
        said = str(message.content).lower() if isinstance(message, HumanMessage) else ""
        if m := re.search(r"order (\d+)", said):
            return int(m.group(1))
        for call in getattr(message, "tool_calls", None) or []:
            if isinstance(call["args"].get("order"), int):
                return int(call["args"]["order"])
    return None


def _total(results: list[ToolMessage]) -> float:
    found = re.search(r"'total': ([\d.]+)", " ".join(str(r.content) for r in results))
    return float(found.group(1)) if found else 0.0


def _refunded(results: list[ToolMessage], default: float) -> float:
    found = re.search(r"refunded ([\d.]+)", " ".join(str(r.content) for r in results))
    return float(found.group(1)) if found else default


def _customer(results: list[ToolMessage]) -> str:
    found = re.search(r"'customer': '([^']+)'", " ".join(str(r.content) for r in results))
    return found.group(1) if found else "customer@example.com"


def apply_preferences(message: AIMessage, rules: dict[str, ToolRule],
                      preferences: Preferences) -> dict[str, Any]:
    """What was learned, applied to the proposed calls: a learned refusal answers a call
    before anyone is asked, learned rules reshape its arguments (noted in the message's
    `response_metadata["learned"]` for the reviewer to see).

    A node of its own, before the one that asks: LangGraph runs the asking node again on
    every resume and hands out answers by the order of its `interrupt` calls, so that
    node must ask the same questions each time, whatever was learned meanwhile.
    """
    kept: list[Any] = []
    refused: list[ToolMessage] = []
    learned: dict[str, str] = {}
    for call in message.tool_calls:
        rule = rules.get(call["name"], ToolRule("confirm", "unknown", "unknown tool"))
        if rule.level in ("autonomy", "notify"):
            kept.append(call)
            continue
        refusal = preferences.refusal(call["name"], call["args"])
        if refusal is not None:  # reviewers always turn this down: tell the model why
            kept.append(call)
            refused.append(ToolMessage(content=f"rejected by learned preference: {refusal}",
                                       tool_call_id=call["id"], name=call["name"],
                                       status="error"))
            continue
        args, rules_applied = preferences.apply(call["name"], call["args"])
        if rules_applied:
            learned[str(call["id"])] = "; ".join(str(r) for r in rules_applied)
        kept.append({**call, "args": args})
    metadata = {**message.response_metadata, "learned": learned}
    revised = message.model_copy(update={"tool_calls": kept, "response_metadata": metadata})
    return {"messages": [revised, *refused]}


def review_tool_calls(message: AIMessage, rules: dict[str, ToolRule] = RULES,
                      answered: Collection[str] = ()) -> dict[str, Any]:
    """Ask a human about each gated tool call; returns the state update.

    Every call stays on the AI message (edited ones with the reviewer's args), as a
    real tool-calling API requires; a rejected or answered call gets its ToolMessage
    here, and the tools node runs only the calls that have none. Calls in `answered`
    (refused by a learned preference) are not asked about.
    """
    confidence = message.response_metadata.get("confidence")
    learned = message.response_metadata.get("learned", {})
    kept: list[Any] = []
    answers: list[ToolMessage] = []
    for call in message.tool_calls:
        rule = rules.get(call["name"], ToolRule("confirm", "unknown", "unknown tool"))
        if rule.level in ("autonomy", "notify") or call["id"] in answered:
            kept.append(call)
            continue
        args, reason = call["args"], rule.reason
        if call["id"] in learned:
            reason += "; learned: " + learned[call["id"]]
        preview = args.get("body") if call["name"] == "draft_reply" else None
        decision = ask(action=call["name"], args=args, confidence=confidence,
                       risk=rule.risk, reason=reason, level=rule.level, preview=preview,
                       agent="support")
        kept.append({**call, "args": decision.args})
        if decision.action == "reject":
            answers.append(ToolMessage(
                content=f"rejected by reviewer: {decision.message or 'no reason given'}",
                tool_call_id=call["id"], name=call["name"], status="error"))
        elif decision.action == "respond":
            answers.append(ToolMessage(content=decision.message or "", tool_call_id=call["id"],
                                       name=call["name"]))
    revised = message.model_copy(update={"tool_calls": kept})
    return {"messages": [revised, *answers]}


def _last_ai(messages: list[Any]) -> tuple[AIMessage, set[str]]:
    """The newest AI message and the ids of its calls already answered after it."""
    index = max(i for i, m in enumerate(messages) if isinstance(m, AIMessage))
    answered = {m.tool_call_id for m in messages[index + 1:] if isinstance(m, ToolMessage)}
    return messages[index], answered


def support_agent(desk: SupportDesk | None = None, *, checkpointer: Any = None,
                  model: BaseChatModel | None = None, rules: dict[str, ToolRule] = RULES,
                  preferences: Preferences | None = None) -> Any:
    """Compile the support agent graph. Without a checkpointer an `InMemorySaver` is used.

    >>> desk = SupportDesk()
    >>> graph = support_agent(desk)
    >>> graph.invoke({"messages": [("user", "refund order 1042")]},
    ...              {"configurable": {"thread_id": "t1"}})   # pauses at issue_refund
    """
    if checkpointer is None:
        from langgraph.checkpoint.memory import InMemorySaver

        checkpointer = InMemorySaver()
    desk = desk if desk is not None else SupportDesk()
    llm = model or ScriptedSupportModel()

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    def learn(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert preferences is not None
        assert isinstance(last, AIMessage)
        return apply_preferences(last, rules, preferences)

    def review(state: MessagesState) -> dict[str, Any]:
        last, answered = _last_ai(state["messages"])
        return review_tool_calls(last, rules, answered)

    def tools(state: MessagesState) -> dict[str, Any]:
        ai = next(m for m in reversed(state["messages"]) if isinstance(m, AIMessage))
        answered = {m.tool_call_id for m in state["messages"] if isinstance(m, ToolMessage)}
        out = []
        for c in ai.tool_calls:
            if c["id"] in answered:
                continue
            result = desk.run(c["name"], c["args"])
            rule = rules.get(c["name"])
            if rule is not None and rule.level == "notify":  # ran without stopping: tell
                notify(action=c["name"], args=c["args"], result=result, reason=rule.reason,
                       risk=rule.risk, agent="support",
                       undo=desk.compensator(c["name"], result))
            out.append(ToolMessage(content=result, tool_call_id=c["id"], name=c["name"]))
        return {"messages": out}

    first = "review" if preferences is None else "learn"

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return first if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    if preferences is not None:
        builder.add_node("learn", learn)
        builder.add_edge("learn", "review")
    builder.add_node("review", review)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, [first, END])
    builder.add_edge("review", "tools")
    builder.add_edge("tools", "agent")
    store = preferences.store if preferences is not None else None
    return builder.compile(checkpointer=checkpointer, store=store)
