"""Review tool calls of a Pydantic AI agent (`pip install "hitl_nb[pydantic-ai]"`).

A tool registered with `requires_approval=True` ends the run with a
`DeferredToolRequests` output; `review` shows each call in `.approvals` as a card. The
decisions go back as one `DeferredToolResults(approvals={tool_call_id: ...})` with the
run's message history: Approve -> `ToolApproved()`, Edit ->
`ToolApproved(override_args=...)` (checked first against the tool's JSON schema),
Reject -> `ToolDenied(message)`. Pydantic AI needs a result for every deferred call,
so the run resumes once all cards are decided.

>>> from hitl_nb.adapters import pydantic_ai
>>> session = pydantic_ai.review(agent, "refund order 1042")   # -> review widget
>>> session.edit({"order": 1042, "amount": 60.0})              # or click Edit
>>> session.result                                              # result.output
"""

from __future__ import annotations

from typing import Any

from .._log import FeedbackLog
from .._schema import Action, Decision, ReviewRequest
from . import _loop
from ._base import AdapterSession
from ._require import missing_extra

try:
    from pydantic_ai import (
        Agent,
        DeferredToolRequests,
        DeferredToolResults,
        ToolApproved,
        ToolDenied,
    )
    from pydantic_ai.messages import ModelMessage, ToolCallPart
    from pydantic_ai.toolsets import FunctionToolset
except ImportError as exc:  # pragma: no cover - exercised with the package hidden
    raise missing_extra("pydantic-ai-slim", "pydantic-ai") from exc

ALLOWED: tuple[Action, ...] = ("approve", "edit", "reject")
"""`ToolApproved()`, `ToolApproved(override_args=...)`, `ToolDenied(message)`."""


def _schema(agent: Agent[Any, Any], tool_name: str) -> dict[str, Any] | None:
    """The tool's JSON schema, so an edit is validated before the tool sees it."""
    for toolset in agent.toolsets:
        if isinstance(toolset, FunctionToolset) and tool_name in toolset.tools:
            return dict(toolset.tools[tool_name].tool_def.parameters_json_schema)
    return None


def _with_deferred(output_type: Any) -> Any:
    """The agent's output type plus `DeferredToolRequests`, which approvals need."""
    types = list(output_type) if isinstance(output_type, list | tuple) else [output_type]
    return types if DeferredToolRequests in types else [*types, DeferredToolRequests]


class PydanticAISession(AdapterSession):
    """One Pydantic AI agent run, paused at its deferred approvals.

    `run_result` is the latest `AgentRunResult`; `result` is its `output`.
    """

    framework = "pydantic_ai"

    def __init__(self, agent: Agent[Any, Any], *, log: FeedbackLog | None = None,
                 reviewer: str | None = None, thread_id: str | None = None,
                 **run_kwargs: Any) -> None:
        super().__init__(log=log, reviewer=reviewer, thread_id=thread_id)
        self.agent = agent
        run_kwargs.setdefault("output_type", _with_deferred(agent.output_type))
        self.run_kwargs = run_kwargs
        self.run_result: Any = None

    def run(self, user_prompt: str | None = None, *,
            message_history: list[ModelMessage] | None = None,
            deferred_tool_results: DeferredToolResults | None = None) -> PydanticAISession:
        """`agent.run(user_prompt, **run_kwargs)`; returns at the first pause or the end."""
        self._running()
        try:
            result = _loop.run(self.agent.run(user_prompt, message_history=message_history,
                                              deferred_tool_results=deferred_tool_results,
                                              **self.run_kwargs))
        except Exception as exc:
            self._fail(exc)
            raise
        self.run_result = result
        output = result.output
        if not isinstance(output, DeferredToolRequests):
            self._finish(output)
            return self
        self.problems = [
            f"{call.tool_name} ({call.tool_call_id}) waits for an external result, not a "
            "review: resume it yourself with DeferredToolResults(calls=...)."
            for call in output.calls]
        self._pause([self._card(call) for call in output.approvals])
        return self

    def _card(self, call: ToolCallPart) -> ReviewRequest:
        return ReviewRequest(
            request_id=call.tool_call_id, interrupt_id=call.tool_call_id, kind="tool_approval",
            action=call.tool_name, args=call.args_as_dict(), gate="requires_approval",
            gate_reason=f"{call.tool_name} is registered with requires_approval=True",
            allowed=ALLOWED, args_schema=_schema(self.agent, call.tool_name),
            agent=self.agent.name, raw=call)

    def _resume(self, decided: list[tuple[ReviewRequest, Decision]]) -> None:
        approvals: dict[str, bool | ToolApproved | ToolDenied] = {}
        for request, decision in decided:
            call_id = request.raw.tool_call_id
            if decision.action == "approve":
                approvals[call_id] = ToolApproved()
            elif decision.action == "edit":
                approvals[call_id] = ToolApproved(override_args=decision.args)
            else:
                approvals[call_id] = (ToolDenied(decision.message) if decision.message
                                      else ToolDenied())
        results = DeferredToolResults(
            approvals=approvals,
            answered_by={r.raw.tool_call_id: d.reviewer for r, d in decided if d.reviewer})
        self.run(message_history=self.run_result.all_messages(),
                 deferred_tool_results=results)


def review(agent: Agent[Any, Any], user_prompt: str | None = None, *,
           log: FeedbackLog | None = None, reviewer: str | None = None,
           thread_id: str | None = None, **run_kwargs: Any) -> PydanticAISession:
    """Like `agent.run(user_prompt, **run_kwargs)`, with every approval reviewed inline.

    Returns the session, which displays as the review widget. `DeferredToolRequests` is
    added to the output type unless you pass `output_type=` yourself.
    """
    return PydanticAISession(agent, log=log, reviewer=reviewer, thread_id=thread_id,
                             **run_kwargs).run(user_prompt)
