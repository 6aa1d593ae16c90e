"""A support agent that plans with you and shares the work, with no API key.

`collab_agent()` is a `hitl_nb.plan_graph`: the agent proposes a plan for a ticket, you
review it, then the steps run, each done by whoever owns it. The agent's side is ordinary
LLM-agent code: it builds a prompt, calls a LangChain chat model, parses the JSON reply,
and runs tools on the `CaseDesk`. Only the model is scripted (`ScriptedCollabModel`,
a pure function of the prompt), so a real chat model drops in with `model=`.

What the agent does: plan (tools it has -> its steps; judgement calls and tools it lacks ->
yours), run tools (on earlier results: `"${s3}"` in a step's args), hand a step over when
it cannot do it (`NeedsHuman`), offer options with evidence for your steps, draft the
customer reply and revise it on your notes, starting from your edits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from .._plan import Plan, Step
from .._plan_graph import NeedsHuman, PlanState, plan_graph
from .support import SupportDesk

TICKET = ("Ticket 88 from ada@example.com: order 1042 arrived damaged (the lid is cracked). "
          "She asks for a refund.")
"""The demo's default goal."""

TOOLS = ("lookup_order", "search_policy", "issue_remedy")
"""What the agent can call (the CRM is not among them: that step is yours)."""

POLICIES = {
    "damaged": "Policy 4.2: items that arrive damaged get a full refund, or a partial refund "
               "of up to 50% if the customer keeps the item, or a voucher of the order total "
               "plus 10 EUR goodwill.",
    "late": "Policy 3.1: deliveries more than 5 days late get free shipping refunded.",
    "return": "Policy 5.0: unused items may be returned within 30 days for a full refund.",
}

PLANNER = """ROLE: planner
You plan how to resolve a customer-support ticket together with a human colleague.
Return JSON: {"steps": [{"text": str, "tool": str|null, "args": {}, "judgement": bool,
"coedit": bool, "check": bool}]}. Use only these tools: %s. Mark decisions that need
human judgement with "judgement": true, drafts of customer-facing text with "coedit": true,
and actions that move money with "check": true. Refer to an earlier step's result in args
as "${<step id>}" (steps are s1, s2, ... in order)."""

EXECUTOR = """ROLE: executor
A step of the plan has no tool. Pick one of these tools and its args to do it: %s.
Return JSON {"tool": str, "args": {}} or {"cannot": "why not"}."""

WRITER = """ROLE: writer
Write the customer reply for this ticket from the facts gathered so far. If a previous
draft and a note are given, revise that draft (it holds the human's edits: keep them) as
the note says. Return only the reply text."""

ASSISTANT = """ROLE: assistant
A human colleague is doing this step. Offer up to three suggested results and the
evidence behind them. Return JSON {"options": [str], "evidence": [{"text": str,
"source": str}]}."""


@dataclass
class CaseDesk(SupportDesk):
    """The support back office plus a policy knowledge base and remedies."""

    policies: dict[str, str] = field(default_factory=lambda: dict(POLICIES))

    def run(self, name: str, args: dict[str, Any]) -> str:
        if name == "search_policy":
            self.executed.append((name, dict(args)))
            query = str(args.get("query", "")).lower()
            hits = [text for key, text in self.policies.items() if key in query]
            return " ".join(hits) or f"no policy matches {args.get('query')!r}"
        if name == "issue_remedy":
            return self.remedy(int(args["order"]), str(args.get("remedy", "")))
        return super().run(name, args)

    def remedy(self, order: int, decided: str) -> str:
        """Carry out the remedy decided in words ("Full refund of 80.00 EUR", "Voucher
        of 90 EUR", ...); what cannot be read is handed back to the human."""
        text = decided.lower()
        amount = re.search(r"(\d+(?:\.\d+)?)\s*(?:eur|€)", text)
        if "voucher" in text and amount:
            return self.run("issue_voucher", {"order": order, "amount": float(amount[1]),
                                                 "note": "remedy for a damaged item"})
        if "refund" in text and amount:
            return self.run("issue_refund", {"order": order, "amount": float(amount[1]),
                                                "note": "remedy for a damaged item"})
        raise NeedsHuman(f"I cannot tell which remedy was decided from {decided!r:.120}: "
                         "carry it out yourself, or say 'refund of N EUR' / 'voucher of N EUR'")


def _facts(plan: Plan) -> dict[str, Any]:
    return {s.id: {"step": s.text, "result": s.result} for s in plan.steps if s.status == "done"}


def _json(message: BaseMessage) -> Any:
    text = str(message.content)
    found = re.search(r"\{.*\}", text, re.S)  # LLMs wrap JSON in prose or fences
    if found is None:
        raise ValueError(f"the model did not answer with JSON: {text[:200]!r}")
    return json.loads(found.group(0))


@dataclass
class CollabAgent:
    """The agent's side of `plan_graph`: prompts in, JSON out, tools on the desk."""

    model: BaseChatModel
    desk: CaseDesk
    tools: Sequence[str] = TOOLS

    def ask_model(self, system: str, payload: dict[str, Any]) -> BaseMessage:
        return self.model.invoke([SystemMessage(content=system),
                                  HumanMessage(content=json.dumps(payload, ensure_ascii=False))])

    def propose(self, state: PlanState) -> list[dict[str, Any]]:
        reply = _json(self.ask_model(PLANNER % ", ".join(self.tools),
                                     {"ticket": state.get("goal", ""),
                                      "context": state.get("context", {})}))
        return list(reply["steps"])

    def do(self, step: Step, plan: Plan) -> Any:
        if step.coedit:
            return str(self.ask_model(WRITER, {
                "ticket": plan.goal, "task": step.text, "facts": _facts(plan),
                "previous_draft": step.result, "note": step.note}).content)
        tool, args = step.tool, step.args
        if tool is None:  # a step you added and gave to the agent: it picks a tool
            choice = _json(self.ask_model(EXECUTOR % ", ".join(self.tools),
                                          {"step": step.text, "facts": _facts(plan)}))
            if "cannot" in choice:
                raise NeedsHuman(str(choice["cannot"]))
            tool, args = str(choice["tool"]), dict(choice.get("args", {}))
        if tool not in self.tools:
            raise NeedsHuman(f"I have no tool {tool!r}")
        return self.desk.run(tool, plan.resolve(args))

    def assist(self, step: Step, plan: Plan) -> dict[str, Any]:
        reply = _json(self.ask_model(ASSISTANT, {"ticket": plan.goal, "step": step.text,
                                                 "facts": _facts(plan)}))
        return {"options": list(reply.get("options", [])),
                "evidence": list(reply.get("evidence", []))}


def collab_agent(desk: CaseDesk | None = None, *, model: BaseChatModel | None = None,
                 checkpointer: Any = None, max_rounds: int = 4) -> Any:
    """Compile the demo: a `plan_graph` driven by `CollabAgent` on `desk`.

    >>> graph = collab_agent(CaseDesk())
    >>> session = hitl_nb.Session(graph, config).invoke({"goal": TICKET})   # plan review
    """
    agent = CollabAgent(model=model or ScriptedCollabModel(), desk=desk or CaseDesk())
    return plan_graph(agent.propose, agent.do, assist=agent.assist, tools=agent.tools,
                      checkpointer=checkpointer, max_rounds=max_rounds, agent="support")


# -- the scripted model ---------------------------------------------------------------------
class ScriptedCollabModel(BaseChatModel):
    """A chat model whose reply is a pure function of the prompt: plans for support
    tickets, picks tools, drafts and revises replies, suggests options with evidence.

    It reads the role from the system prompt (`ROLE: planner|executor|writer|assistant`)
    and the JSON the agent put in the human message. Revisions follow notes such as
    "shorter", "more formal", "warmer", "mention <x>", "remove <x>", "sign as <name>".
    """

    @property
    def _llm_type(self) -> str:
        return "scripted-collab"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        system = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
        role = re.match(r"ROLE: (\w+)", system)
        payload = json.loads(str(messages[-1].content))
        reply = {"planner": _plan_reply, "executor": _executor_reply, "writer": _write,
                 "assistant": _assist_reply}[role[1] if role else "planner"](payload)
        text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _order(text: str) -> int:
    found = re.search(r"order (\d+)", text)
    return int(found[1]) if found else 0


def _plan_reply(payload: dict[str, Any]) -> dict[str, Any]:
    ticket = str(payload.get("ticket", ""))
    order = _order(ticket)
    issue = next((k for k in POLICIES if k in ticket.lower()), "damaged")
    return {"steps": [
        {"text": f"Look up order {order}", "tool": "lookup_order", "args": {"order": order}},
        {"text": f"Find the policy for {issue} items", "tool": "search_policy",
         "args": {"query": f"{issue} item"}},
        {"text": "Decide the remedy: full refund, partial refund or voucher",
         "judgement": True},
        {"text": "Carry out the remedy decided", "tool": "issue_remedy",
         "args": {"order": order, "remedy": "${s3}"}, "check": True},
        {"text": "Draft the reply to the customer", "coedit": True},
        {"text": "Note the case in the CRM", "tool": "crm_note", "args": {"order": order}},
    ]}


def _executor_reply(payload: dict[str, Any]) -> dict[str, Any]:
    step = str(payload.get("step", "")).lower()
    if ("look up" in step or "check" in step) and _order(step):
        return {"tool": "lookup_order", "args": {"order": _order(step)}}
    if "policy" in step:
        return {"tool": "search_policy", "args": {"query": step}}
    return {"cannot": f"none of my tools can '{payload.get('step')}'"}


def _fact(payload: dict[str, Any], tool_word: str) -> str:
    for fact in payload.get("facts", {}).values():
        if tool_word in str(fact.get("step", "")).lower():
            return str(fact.get("result") or "")
    return ""


def _assist_reply(payload: dict[str, Any]) -> dict[str, Any]:
    step = str(payload.get("step", "")).lower()
    order_fact = _fact(payload, "look up")
    policy_fact = _fact(payload, "policy")
    total = re.search(r"'total': ([\d.]+)", order_fact)
    amount = float(total[1]) if total else 0.0
    evidence = [{"text": t, "source": s} for t, s in ((order_fact, "lookup_order"),
                                                      (policy_fact, "search_policy")) if t]
    if "remedy" in step:
        return {"options": [f"Full refund of {amount:.2f} EUR",
                            f"Partial refund of {amount / 2:.2f} EUR; the customer keeps "
                            "the item",
                            f"Voucher of {amount + 10:.2f} EUR (order total plus 10 EUR "
                            "goodwill)"],
                "evidence": evidence}
    if "crm" in step or "note" in step:
        remedy = _fact(payload, "remedy")
        ticket = re.search(r"Ticket (\d+)", str(payload.get("ticket")))
        return {"options": [f"Case {ticket[1] if ticket else '?'}: item damaged; "
                            f"{remedy or 'remedy pending'}; reply sent."],
                "evidence": evidence}
    return {"options": [], "evidence": evidence}


def _write(payload: dict[str, Any]) -> str:
    previous, note = payload.get("previous_draft"), payload.get("note")
    if isinstance(previous, str) and previous.strip():
        return revise(previous, str(note or ""))
    order = _order(str(payload.get("ticket", "")))
    return (f"Hello,\n\nthank you for telling us that order {order} arrived damaged. "
            f"We are sorry about that. {_remedy_sentence(payload)} "
            "You do not need to send the item back.\n\nBest regards,\nSupport Team")


def _remedy_sentence(payload: dict[str, Any]) -> str:
    """What was done about it, from the tool results (else from the decision)."""
    results = " ".join(str(f.get("result")) for f in payload.get("facts", {}).values())
    if m := re.search(r"refunded ([\d.]+)", results):
        return f"We have refunded {m[1]} EUR to your original payment method."
    if m := re.search(r"voucher of ([\d.]+) EUR issued", results):
        return f"We have issued you a voucher of {m[1]} EUR."
    decided = _fact(payload, "decide")
    return f"We will arrange: {decided}." if decided else "We are arranging a remedy."


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def revise(draft: str, note: str) -> str:
    """Apply a reviewer's note to a draft, the way the scripted writer understands notes."""
    text, lower = draft, note.lower()
    if "formal" in lower:
        text = text.replace("Hello,", "Dear customer,").replace("Best regards", "Kind regards")
    if "warm" in lower or "friendl" in lower:
        text = text.replace("We are sorry about that.",
                            "We are truly sorry, we know how annoying that is.")
    for m in re.finditer(r"(?:remove|drop|don't mention|do not mention) ([^,.;]+)", lower):
        gone = m[1].strip()
        paragraphs = text.split("\n\n")
        text = "\n\n".join(" ".join(s for s in _sentences(p) if gone not in s.lower())
                           for p in paragraphs)
    if "short" in lower or "concise" in lower:  # keep the first sentence and the facts
        paragraphs = text.split("\n\n")
        text = "\n\n".join(" ".join(s for i, s in enumerate(_sentences(p))
                                      if i == 0 or re.search(r"\d", s)) for p in paragraphs)
    for m in re.finditer(r"(?:mention|add|include) (?:that )?([^,.;]+)", lower):
        addition = m[1].strip()
        sentence = addition[:1].upper() + addition[1:] + "."
        paragraphs = text.split("\n\n")
        body = 1 if len(paragraphs) > 2 else len(paragraphs) - 1
        paragraphs[body] = paragraphs[body].rstrip() + " " + sentence
        text = "\n\n".join(paragraphs)
    signed = re.search(r"sign (?:as|with) ([^,.;]+)", note, re.I)
    if signed is not None:
        name = signed[1].strip()
        text = re.sub(r"(regards,\n).*$", lambda x: x[1] + name, text, flags=re.S)
    return text
