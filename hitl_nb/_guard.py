"""One line of oversight: a policy wrapped around a function, a LangChain tool or a
`ToolNode`, and the same policy as `HumanInTheLoopMiddleware(interrupt_on=...)` config.

Per call, the policy's verdict decides: autonomy runs the action; notify runs it and
then records it with `hitl_nb._notify.notify` (decision "auto" in the log); confirm and
above pause with `hitl_nb.ask(...)` (level, gates, roles and approvals from the verdict)
and run the action with the decided, possibly edited, arguments, or hand the rejection
back to the agent.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._ask import ask
from ._log import FeedbackLog
from ._notify import notify
from ._policy import register_policy
from ._schema import Action, Decision, utcnow

if TYPE_CHECKING:
    from ._policy import Policy, Verdict

Source = float | str | Callable[[str, dict[str, Any]], Any] | None
"""`confidence=` / `risk=`: a fixed value, or ``(action, args) -> value``."""
OnReject = Callable[[Decision], Any]


def default_on_reject(decision: Decision) -> str:
    """What the agent receives instead of the result when a reviewer says no."""
    if decision.action == "respond":
        return decision.message or ""
    return f"rejected by reviewer: {decision.message or 'no reason given'}"


def confidence_of(messages: Any) -> float | None:
    """The confidence the latest AI message reports (`response_metadata["confidence"]`
    or `additional_kwargs["confidence"]`), if it is a number in [0, 1]."""
    if not isinstance(messages, list | tuple):
        return None
    for message in reversed(messages):
        if getattr(message, "type", None) != "ai":
            continue
        for where in ("response_metadata", "additional_kwargs"):
            value = (getattr(message, where, None) or {}).get("confidence")
            if isinstance(value, int | float) and not isinstance(value, bool) \
                    and 0 <= value <= 1:
                return float(value)
        return None
    return None


def _resolve(source: Source, action: str, args: dict[str, Any]) -> Any:
    return source(action, args) if callable(source) else source


def _thread_id() -> str | None:
    """The LangGraph thread the call runs in, when it runs inside a graph."""
    from langgraph.config import get_config

    try:
        return str(get_config()["configurable"]["thread_id"])
    except (RuntimeError, KeyError):
        return None


class _Gated:
    """Shared behaviour of every wrapper: evaluate, then run / notify / ask."""

    def __init__(self, policy: Policy, *, confidence: Source = None, risk: Source = None,
                 log: FeedbackLog | None = None, on_reject: OnReject | None = None,
                 agent: str | None = None, args_schema: Any = None,
                 allowed: Sequence[Action] | None = None,
                 timeout: timedelta | None = None) -> None:
        self.policy = policy
        self.timeout = timeout
        self.confidence = confidence
        self.risk = risk
        self.log = log
        self.on_reject = on_reject or default_on_reject
        self.agent = agent
        self.args_schema = args_schema
        self.allowed = allowed

    def verdict(self, action: str, args: dict[str, Any],
                confidence: float | None = None) -> Verdict:
        given = _resolve(self.confidence, action, args)
        return self.policy.evaluate(action, args,
                                    confidence=given if given is not None else confidence,
                                    risk=_resolve(self.risk, action, args), agent=self.agent)

    def ask(self, verdict: Verdict, args_schema: Any = None) -> Decision:
        """Ask about `verdict`; an edit whose arguments need a role the editor lacks, or
        more approvers, is asked about again (so an edit cannot slip past a gate)."""
        extra: dict[str, Any] = {"agent": self.agent,
                                 "args_schema": self.args_schema or args_schema}
        if self.allowed is not None:
            extra["allowed"] = self.allowed
        if self.timeout is not None:  # on resume the node re-runs; this deadline is unused
            extra["deadline"] = utcnow() + self.timeout
        decision = ask(**verdict.ask_kwargs(**extra))
        while decision.action == "edit":
            again = self.verdict(verdict.action, decision.args, verdict.confidence)
            held = set((decision.role or "").split(","))
            if not again.needs_review or (set(again.required_roles) <= held and
                                          again.approvals_needed <= verdict.approvals_needed):
                break
            verdict = again
            decision = ask(**verdict.ask_kwargs(
                **extra, reason=f"edited by {decision.reviewer}; the edited arguments need "
                                "another review"))
        return decision

    def notify(self, verdict: Verdict, args: dict[str, Any], result: Any) -> None:
        # Undo in the feed runs the compensation registered with hitl_nb.compensate(...)
        notify(action=verdict.action, args=args, result=result,
               reason=verdict.explanation, level="notify", log=self.log,
               thread_id=_thread_id(), agent=self.agent, gate=verdict.gate,
               gate_reason=verdict.explanation if verdict.fired else None,
               confidence=verdict.confidence,
               risk=None if verdict.risk is None else str(verdict.risk))

    def plan(self, action: str, args: dict[str, Any], args_schema: Any = None) -> _Plan:
        """Evaluate, and ask when the verdict needs a human: whether to run, with which
        arguments (the decided ones), or what to return instead."""
        verdict = self.verdict(action, args)
        if not verdict.needs_review:
            return _Plan(verdict, args)
        decision = self.ask(verdict, args_schema)
        if not decision.approved:
            return _Plan(verdict, None, self.on_reject(decision))
        return _Plan(verdict, decision.args)

    def after(self, plan: _Plan, result: Any) -> Any:
        """Tell about a notify-level action once it really ran (with its real result)."""
        if plan.verdict.level == "notify":
            assert plan.args is not None
            self.notify(plan.verdict, plan.args, result)
        return result

    def call(self, action: str, args: dict[str, Any], run: Callable[[dict[str, Any]], Any],
             args_schema: Any = None) -> Any:
        plan = self.plan(action, args, args_schema)
        if plan.args is None:
            return plan.rejected
        return self.after(plan, run(plan.args))

    async def acall(self, action: str, args: dict[str, Any],
                    run: Callable[[dict[str, Any]], Awaitable[Any]],
                    args_schema: Any = None) -> Any:
        """`call` for async actions: the same plan, then the action is awaited."""
        plan = self.plan(action, args, args_schema)
        if plan.args is None:
            return plan.rejected
        return self.after(plan, await run(plan.args))


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a verdict (and the reviewer, when asked) allows: run with `args`, or, when
    `args` is None, hand `rejected` back to the agent instead of a result."""

    verdict: Verdict
    args: dict[str, Any] | None
    rejected: Any = None


def guard(policy: Policy, target: Any, *, confidence: Source = None, risk: Source = None,
          log: FeedbackLog | None = None, on_reject: OnReject | None = None,
          agent: str | None = None, args_schema: Any = None,
          allowed: Sequence[Action] | None = None, timeout: timedelta | None = None) -> Any:
    """Put `policy` in front of `target`: a function, a LangChain tool or a `ToolNode`.

    >>> @policy.guard
    ... def issue_refund(order: int, amount: float) -> str:
    ...     "Refund `amount` on `order`."       # a ToolNode needs a description
    >>> tools = policy.guard(ToolNode([lookup_order, issue_refund]))   # a graph node

    `confidence` / `risk`: a value or ``(action, args) -> value`` (a `ToolNode` reads
    the confidence from the AI message's ``response_metadata["confidence"]`` unless
    given). `on_reject(decision)` returns what the agent gets instead of the result
    (default: "rejected by reviewer: <message>"; a respond returns its text). `log`:
    where notify-level actions are recorded (default: the run's log). `timeout`: a
    review not decided in time resolves to the session's `on_timeout` (reject unless
    set; never approve when the verdict needs a role or several approvers), logged as
    "timeout". `allowed`, `agent`, `args_schema`: passed to `ask`.

    An `async def` or async tool gets an async wrapper (await it: the action is awaited
    before a notify-level call is logged with its result); a guarded `ToolNode` runs its
    tools with `ainvoke` when the graph runs with `ainvoke`, so async tools work there.

    A guarded function or tool pauses inside the node that calls it, so LangGraph's rule
    applies: the node runs again on resume. With several tool calls per message, guard
    the `ToolNode`: it asks about every gated call first and runs the tools once, after
    all are decided.
    """
    gated = _Gated(policy, confidence=confidence, risk=risk, log=log, on_reject=on_reject,
                   agent=agent, args_schema=args_schema, allowed=allowed, timeout=timeout)
    from langchain_core.tools import BaseTool

    if _is_tool_node(target):
        return _guard_tool_node(gated, target)
    if isinstance(target, BaseTool):
        return _guard_tool(gated, target)
    if callable(target):
        return _guard_function(gated, target)
    raise TypeError(f"policy.guard wraps a function, a LangChain tool or a ToolNode, got "
                    f"{target!r:.80}")


def _is_tool_node(target: Any) -> bool:
    from langgraph.prebuilt import ToolNode

    return isinstance(target, ToolNode)


def _guard_function(gated: _Gated, fn: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(fn)
    if any(p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY)
           for p in signature.parameters.values()):
        raise TypeError(f"policy.guard needs {fn.__name__}() to take its arguments by "
                        "keyword (no *args or positional-only parameters): the reviewer "
                        "sees and edits them by name.")
    var_keyword = next((p.name for p in signature.parameters.values()
                        if p.kind is p.VAR_KEYWORD), "")

    def named(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = dict(signature.bind(*args, **kwargs).arguments)
        extra = bound.pop(var_keyword, {})  # **kwargs: shown as named arguments too
        return {**bound, **extra}

    if inspect.iscoroutinefunction(fn):  # awaited, so notify logs what it returned
        @functools.wraps(fn)
        async def aguarded(*args: Any, **kwargs: Any) -> Any:
            return await gated.acall(fn.__name__, named(args, kwargs),
                                     lambda final: fn(**final))

        aguarded.policy = gated.policy  # type: ignore[attr-defined]
        return aguarded

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return gated.call(fn.__name__, named(args, kwargs), lambda final: fn(**final))

    guarded.policy = gated.policy  # type: ignore[attr-defined]
    return guarded


def _guard_tool(gated: _Gated, tool: Any) -> Any:
    from langchain_core.tools import StructuredTool, Tool

    shown = set(_fields(tool.tool_call_schema))
    if shown != set(_fields(tool.args_schema)):
        raise TypeError(f"tool {tool.name!r} has injected arguments (state, runtime, tool "
                        "call id); guard the ToolNode that runs it instead: "
                        "policy.guard(ToolNode([...])).")

    def run(**kwargs: Any) -> Any:
        return gated.call(tool.name, kwargs, tool.invoke, args_schema=tool)

    async def arun(**kwargs: Any) -> Any:
        return await gated.acall(tool.name, kwargs, tool.ainvoke, args_schema=tool)

    # `@tool async def` has no sync body: then neither has the guarded tool, so a sync
    # call fails before a reviewer is asked about something that cannot run.
    async_only = isinstance(tool, StructuredTool | Tool) and tool.func is None
    return StructuredTool.from_function(func=None if async_only else run, coroutine=arun,
                                        name=tool.name, description=tool.description,
                                        args_schema=tool.args_schema,
                                        return_direct=tool.return_direct)


def _fields(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        return list(schema.get("properties", {}))
    return list(getattr(schema, "model_fields", {}) or {})


@dataclass(slots=True)
class _ToolCalls:
    """One pass of a guarded `ToolNode` over the latest AI message: every call in order
    (edited arguments in place), the ones to run, the reviewers' answers in place of a
    result, and the notify-level ones to tell about once they ran."""

    ai: Any
    calls: list[Any]
    run: list[Any]
    answers: dict[str | None, Any]
    notices: list[tuple[str | None, Verdict]]


def _review_tool_calls(gated: _Gated, node: Any, messages: Sequence[Any]) -> _ToolCalls:
    from langchain_core.messages import AIMessage, ToolMessage

    ai = next(m for m in reversed(messages) if isinstance(m, AIMessage))
    confidence = confidence_of(messages)
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    review = _ToolCalls(ai=ai, calls=[], run=[], answers={}, notices=[])
    for call in ai.tool_calls:
        if call["id"] in answered:  # answered by a reviewer on an earlier pass
            review.calls.append(call)
            continue
        verdict = gated.verdict(call["name"], call["args"], confidence)
        if verdict.needs_review:
            decision = gated.ask(verdict, node.tools_by_name.get(call["name"]))
            if not decision.approved:
                review.calls.append(call)
                review.answers[call["id"]] = ToolMessage(
                    content=str(gated.on_reject(decision)), tool_call_id=call["id"],
                    name=call["name"],
                    status="success" if decision.action == "respond" else "error")
                continue
            call = {**call, "args": decision.args}
        elif verdict.level == "notify":
            review.notices.append((call["id"], verdict))
        review.calls.append(call)
        review.run.append(call)
    return review


def _tool_node_update(gated: _Gated, key: str, review: _ToolCalls, result: Any) -> Any:
    """The node's update once the approved calls ran: the revised AI message and one
    answer per call, in order; notify-level calls are told about with their results."""
    outputs = result.get(key, []) if isinstance(result, dict) else []
    by_id = {getattr(m, "tool_call_id", None): m for m in outputs}
    for call_id, verdict in review.notices:
        done = next(c for c in review.run if c["id"] == call_id)
        output = by_id.get(call_id)
        gated.notify(verdict, done["args"], getattr(output, "content", output))
    ordered = [review.answers.get(c["id"]) or by_id.get(c["id"]) for c in review.calls]
    # Same id: add_messages replaces the AI message, so the history shows the calls
    # that ran (edited args). Without an id it would be appended as a duplicate.
    kept = [review.ai.model_copy(update={"tool_calls": review.calls})] if review.ai.id else []
    update = {key: [*kept, *(m for m in ordered if m is not None)]}
    if isinstance(result, list):  # tools returned Commands: pass them on
        return [update, *result]
    return update


def _guard_tool_node(gated: _Gated, node: Any) -> Any:
    """A graph node that reviews every gated call of the latest AI message, then runs
    the approved ones (edited arguments in place) through `node` in one go: with
    `node.invoke` when the graph runs with `invoke`, `node.ainvoke` under `ainvoke`
    (async tools have no sync body)."""
    from langchain_core.runnables import RunnableConfig, RunnableLambda

    key = getattr(node, "_messages_key", "messages")

    def review(state: Any) -> tuple[_ToolCalls, Any]:
        """The calls' review, and the input that runs the approved ones (None: none)."""
        messages = state[key] if isinstance(state, dict) else getattr(state, key)
        calls = _review_tool_calls(gated, node, messages)
        if not calls.run:
            return calls, None
        sub = calls.ai.model_copy(update={"tool_calls": calls.run})
        return calls, ({**state, key: [*messages, sub]} if isinstance(state, dict)
                       else {key: [*messages, sub]})

    def guarded_tools(state: Any, config: RunnableConfig) -> Any:
        calls, tool_input = review(state)
        result = {key: []} if tool_input is None else node.invoke(tool_input, config)
        return _tool_node_update(gated, key, calls, result)

    async def aguarded_tools(state: Any, config: RunnableConfig) -> Any:
        calls, tool_input = review(state)
        result = {key: []} if tool_input is None else await node.ainvoke(tool_input, config)
        return _tool_node_update(gated, key, calls, result)

    return RunnableLambda(guarded_tools, afunc=aguarded_tools,
                          name=getattr(node, "name", None) or "tools")


def interrupt_on(policy: Policy, tools: Iterable[Any], *, confidence: Source = None,
                 risk: Source = None,
                 allowed: Sequence[Action] = ("approve", "edit", "reject")) -> dict[str, Any]:
    """`HumanInTheLoopMiddleware(interrupt_on=policy.interrupt_on(tools))`.

    Every tool gets a `when` predicate (interrupt only when the policy's verdict needs a
    human) and a `description` naming the gates that fired. The policy is registered for
    these tool names (`hitl_nb._policy.register_policy`): a `Session` without `policy=`
    (the display hook, `hitl_nb.inbox`) enforces its required roles and approvals on the
    middleware's requests too.
    """
    configs: dict[str, Any] = {}
    gated = _Gated(policy, confidence=confidence, risk=risk)

    def verdict_for(call: Any, state: Any) -> Verdict:
        messages = state.get("messages") if isinstance(state, dict) else None
        return gated.verdict(call["name"], dict(call.get("args") or {}),
                             confidence_of(messages))

    for tool in tools:
        name = tool if isinstance(tool, str) else getattr(tool, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"interrupt_on takes tool names or tools, got {tool!r:.80}")
        configs[name] = {
            "allowed_decisions": list(allowed),
            "description": lambda call, state, runtime:
                f"Policy says {verdict_for(call, state)}",
            "when": lambda request: verdict_for(request.tool_call, request.state).needs_review,
        }
    register_policy(policy, configs)
    return configs
