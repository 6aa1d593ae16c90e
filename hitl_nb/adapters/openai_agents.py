"""Review tool calls of an OpenAI Agents SDK agent (`pip install "hitl_nb[openai-agents]"`).

A tool declared with `@function_tool(needs_approval=True)` (or a callable deciding per
call) stops the run; `result.interruptions` lists the `ToolApprovalItem`s. `review`
shows each as a card; a decision goes back as the SDK expects it:
`state = result.to_state(); state.approve(item)` or
`state.reject(item, rejection_message=...)`, then `Runner.run(agent, state)`.

The SDK approves or rejects a call as the model made it: it has no way to change the
arguments, so the card offers Approve and Reject only (no Edit, no Respond).

>>> from hitl_nb.adapters import openai_agents
>>> session = openai_agents.review(agent, "refund order 1042")   # -> review widget
>>> session.approve()              # or click Approve; the run goes on
>>> session.result                 # result.final_output
"""

from __future__ import annotations

import json
from typing import Any

from .._log import FeedbackLog
from .._schema import Action, Decision, ReviewRequest
from . import _loop
from ._base import AdapterSession
from ._require import missing_extra

try:
    from agents import Agent, Runner, RunResult, RunState, ToolApprovalItem
except ImportError as exc:  # pragma: no cover - exercised with the package hidden
    raise missing_extra("openai-agents", "openai-agents") from exc

ALLOWED: tuple[Action, ...] = ("approve", "reject")
"""What the SDK can do with a pending call (`RunState.approve` / `RunState.reject`)."""


def _args(item: ToolApprovalItem) -> tuple[dict[str, Any], str | None]:
    """The call's arguments as a dict, or ({}, the raw text) when they are not a JSON object."""
    raw = item.arguments
    if raw is None:
        return {}, None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}, raw
    return (parsed, None) if isinstance(parsed, dict) else ({}, raw)


def _description(item: ToolApprovalItem) -> str | None:
    for tool in getattr(item.agent, "tools", ()):
        if getattr(tool, "name", None) == item.name:
            text = getattr(tool, "description", None)
            return text if isinstance(text, str) and text else None
    return None


class OpenAIAgentsSession(AdapterSession):
    """One `Runner.run` of an OpenAI Agents SDK agent, paused at its approvals.

    `run_result` is the SDK's latest `RunResult`; `result` is its `final_output`.
    """

    framework = "openai_agents"
    partial_submit = True  # undecided items simply interrupt the next run again

    def __init__(self, agent: Agent[Any], *, log: FeedbackLog | None = None,
                 reviewer: str | None = None, thread_id: str | None = None,
                 **run_kwargs: Any) -> None:
        super().__init__(log=log, reviewer=reviewer, thread_id=thread_id)
        self.agent = agent
        self.run_kwargs = run_kwargs
        self.run_result: RunResult | None = None
        self._items: dict[str, ToolApprovalItem] = {}

    def run(self, input: str | list[Any] | RunState[Any]) -> OpenAIAgentsSession:
        """`Runner.run(agent, input, **run_kwargs)`; returns at the first pause or the end."""
        self._running()
        try:
            result = _loop.run(Runner.run(self.agent, input, **self.run_kwargs))
        except Exception as exc:
            self._fail(exc)
            raise
        self.run_result = result
        if not result.interruptions:
            self._items = {}
            self._finish(result.final_output)
            return self
        requests = []
        for item in result.interruptions:
            args, text = _args(item)
            requests.append(ReviewRequest(
                request_id=item.call_id or item.name or "tool", interrupt_id=item.call_id or "",
                kind="tool_approval", action=item.name or "tool", args=args, preview=text,
                reason=_description(item), gate="needs_approval",
                gate_reason=f"{item.name} is declared with needs_approval",
                allowed=ALLOWED, agent=getattr(item.agent, "name", None), raw=item))
        self._pause(requests)
        # _pause may rename a reused call id: map the final ids to the SDK's items
        self._items = {r.request_id: r.raw for r in self.pending}
        return self

    def _resume(self, decided: list[tuple[ReviewRequest, Decision]]) -> None:
        assert self.run_result is not None
        state = self.run_result.to_state()
        for request, decision in decided:
            item = self._items.pop(request.request_id)
            if decision.action == "approve":
                state.approve(item)
            else:
                state.reject(item, rejection_message=decision.message)
        self.run(state)


def review(agent: Agent[Any], input: str | list[Any], *, log: FeedbackLog | None = None,
           reviewer: str | None = None, thread_id: str | None = None,
           **run_kwargs: Any) -> OpenAIAgentsSession:
    """Like `Runner.run(agent, input, **run_kwargs)`, with every approval reviewed inline.

    Returns the session, which displays as the review widget. `run_kwargs` go to each
    `Runner.run` call (e.g. `run_config=RunConfig(...)`, `max_turns=...`).
    """
    return OpenAIAgentsSession(agent, log=log, reviewer=reviewer, thread_id=thread_id,
                               **run_kwargs).run(input)
