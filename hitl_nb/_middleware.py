"""The notify level under LangChain's `create_agent`, in one line next to the HITL middleware.

`HumanInTheLoopMiddleware(interrupt_on=policy.interrupt_on(tools))` stops exactly the
calls the policy sends to a human; the calls it lets through run silently. Add
`policy.notify_middleware()` and the notify-level ones among them are recorded the way a
guarded `ToolNode` records them (`_Gated.notify`: a row with source "policy" and decision
"auto" in the run's log, an item in `hitl_nb.feed()` with Undo when a compensation is
registered); autonomy-level calls run without a row, as under `policy.guard`.

    agent = create_agent(model, tools, checkpointer=InMemorySaver(), middleware=[
        HumanInTheLoopMiddleware(interrupt_on=policy.interrupt_on(tools)),
        policy.notify_middleware(),
    ])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware import AgentMiddleware, ToolCallRequest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.types import Command

from ._guard import _Gated, confidence_of

if TYPE_CHECKING:
    from ._policy import Verdict

Result = ToolMessage | Command[Any]


def _messages(state: Any) -> list[Any]:
    messages = state.get("messages") if isinstance(state, dict) else \
        getattr(state, "messages", None)
    return list(messages) if isinstance(messages, list | tuple) else []


def _proposed_call(request: ToolCallRequest) -> tuple[str, dict[str, Any]]:
    """The call as the model proposed it (the AI message keeps it, also after a reviewer
    edited it): the policy's `when` predicate judged these arguments, so judging them
    again tells which calls a human already decided, wherever this middleware is listed."""
    call_id = request.tool_call.get("id")
    for message in reversed(_messages(request.state)):
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call.get("id") == call_id:
                    return call["name"], dict(call.get("args") or {})
    return request.tool_call["name"], dict(request.tool_call.get("args") or {})


def _tool_message(result: Result, call_id: str | None) -> ToolMessage | None:
    if isinstance(result, ToolMessage):
        return result
    update = result.update if isinstance(result, Command) else None
    messages = update.get("messages") if isinstance(update, dict) else None
    return next((m for m in messages or [] if isinstance(m, ToolMessage)
                 and m.tool_call_id == call_id), None)


class PolicyNotifyMiddleware(AgentMiddleware[Any, Any, Any]):
    """Records the notify-level tool calls of a `create_agent` agent (see the module
    docstring); made by `Policy.notify_middleware`."""

    def __init__(self, gated: _Gated) -> None:
        super().__init__()
        self.gated = gated

    def _notify_level(self, request: ToolCallRequest) -> Verdict | None:
        name, args = _proposed_call(request)
        verdict = self.gated.verdict(name, args, confidence_of(_messages(request.state)))
        return verdict if verdict.level == "notify" else None

    def _record(self, verdict: Verdict, request: ToolCallRequest, result: Result) -> None:
        message = _tool_message(result, request.tool_call.get("id"))
        if message is not None and message.status == "error":
            return  # the tool failed: nothing happened, nothing to tell or undo
        self.gated.notify(verdict, dict(request.tool_call.get("args") or {}),
                          message.content if message is not None else None)

    def wrap_tool_call(self, request: ToolCallRequest,
                       handler: Callable[[ToolCallRequest], Result]) -> Result:
        verdict = self._notify_level(request)
        result = handler(request)
        if verdict is not None:
            self._record(verdict, request, result)
        return result

    async def awrap_tool_call(self, request: ToolCallRequest,
                              handler: Callable[[ToolCallRequest], Awaitable[Result]]
                              ) -> Result:
        verdict = self._notify_level(request)
        result = await handler(request)
        if verdict is not None:
            self._record(verdict, request, result)
        return result
