"""Answer an AutoGen AgentChat `UserProxyAgent` from the review widget
(`pip install "hitl_nb[autogen]"`).

AutoGen asks a human through the proxy's input function and waits for its return value
in the middle of the run. Here that function is `human_input`: it parks the run on a
future and returns at once to the notebook, which shows the question (the last message
before the proxy's turn) as a card. A click completes the future with the text AutoGen
expects, and the same run goes on from where it waited; nothing is replayed.

    Approve -> `approve_text` ("APPROVE"), Reject -> `reject_text` ("REJECT", or
    "REJECT: <message>"), Respond -> your text as is. There are no arguments to edit.

The team runs on hitl_nb's own event loop in a background thread (the kernel's loop is
busy running the cell): the kernel waits while the agents compute, as it does for a
LangGraph `invoke`, and never while a person decides.

>>> from autogen_agentchat.agents import UserProxyAgent
>>> from hitl_nb.adapters import autogen
>>> user = UserProxyAgent("user", input_func=autogen.human_input)
>>> team = RoundRobinGroupChat([assistant, user], termination_condition=...)
>>> session = autogen.review(team, task="refund order 1042")   # -> review widget
>>> session.respond("only 60, the rest is store credit")       # or click Respond
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Sequence
from typing import Any

from .._log import FeedbackLog
from .._schema import Action, Decision, ReviewRequest
from . import _loop
from ._base import AdapterSession
from ._require import missing_extra

try:
    from autogen_agentchat.agents import UserProxyAgent
    from autogen_agentchat.base import TaskResult
    from autogen_agentchat.messages import BaseChatMessage, UserInputRequestedEvent
    from autogen_core import CancellationToken
except ImportError as exc:  # pragma: no cover - exercised with the package hidden
    raise missing_extra("autogen-agentchat", "autogen") from exc

ALLOWED: tuple[Action, ...] = ("approve", "reject", "respond")
"""The proxy returns text: approve and reject as fixed words, respond as typed."""

_active: contextvars.ContextVar[AutoGenSession] = contextvars.ContextVar("hitl_nb_autogen")
_parked: set[AutoGenSession] = set()
"""Runs in progress. A run waiting for an answer is referenced only by its own future;
without this, dropping the session would let the garbage collector close the run's
coroutines mid-await from whatever thread it happens to run in."""


async def human_input(prompt: str, cancellation_token: CancellationToken | None = None) -> str:
    """The `input_func` for `UserProxyAgent`: ask through the review widget.

    Works inside `hitl_nb.adapters.autogen.review(...)`, whose run it belongs to.
    """
    session = _active.get(None)
    if session is None:
        raise RuntimeError("hitl_nb.adapters.autogen.human_input asks through a review widget "
                           "and works only in a run started with "
                           "hitl_nb.adapters.autogen.review(team, task=...).")
    return await session._ask(prompt, cancellation_token)


def _answer(future: asyncio.Future[str], text: str) -> None:
    if not future.done():  # a cancelled question takes no answer
        future.set_result(text)


class AutoGenSession(AdapterSession):
    """One `team.run_stream(task=...)`, paused whenever a `UserProxyAgent` asks.

    `run_result` is AutoGen's `TaskResult` once the run ends; `result` is the text of
    its last message; `messages` are the messages and events so far.
    """

    framework = "autogen"

    def __init__(self, team: Any, *, log: FeedbackLog | None = None,
                 reviewer: str | None = None, thread_id: str | None = None,
                 approve_text: str = "APPROVE", reject_text: str = "REJECT") -> None:
        super().__init__(log=log, reviewer=reviewer, thread_id=thread_id)
        self.team = team
        self.approve_text = approve_text
        self.reject_text = reject_text
        self.run_result: TaskResult | None = None
        self.messages: list[Any] = []
        # Shared with the loop thread; guarded by _cv. The loop thread only records what
        # happened; this (the notebook's) thread turns it into cards and widget updates.
        self._cv = threading.Condition()
        self._asks: dict[str, tuple[str, asyncio.Future[str]]] = {}
        self._announced: set[str] = set()
        self._shown: set[str] = set()
        self._driver: concurrent.futures.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._token = CancellationToken()

    # -- the loop thread -------------------------------------------------------------
    async def _drive(self, task: Any) -> None:
        _active.set(self)  # the team's runtime tasks copy this context: human_input finds us
        self._task = asyncio.current_task()
        async for item in self.team.run_stream(task=task, cancellation_token=self._token):
            with self._cv:
                if isinstance(item, TaskResult):
                    self.run_result = item
                elif isinstance(item, UserInputRequestedEvent):
                    self._announced.add(item.request_id)
                else:
                    self.messages.append(item)
                self._cv.notify_all()

    async def _ask(self, prompt: str, cancellation_token: CancellationToken | None) -> str:
        request_id = UserProxyAgent.InputRequestContext.request_id()
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if cancellation_token is not None:
            cancellation_token.link_future(answer)
        with self._cv:
            self._asks[request_id] = (prompt, answer)
            self._cv.notify_all()
        try:
            return await answer
        finally:
            with self._cv:
                self._asks.pop(request_id, None)

    def _notify(self, _: object = None) -> None:
        with self._cv:
            self._cv.notify_all()

    def _ended(self, _: object = None) -> None:
        _parked.discard(self)
        self._notify()

    async def _cancel(self) -> None:
        # AutoGen's own way to stop a run: the token reaches every agent's handler,
        # including the open question's future (linked in _ask).
        self._token.cancel()
        if self._task is not None:
            await asyncio.wait({self._task})

    # -- the notebook's thread -----------------------------------------------------------
    def run(self, task: str | BaseChatMessage | Sequence[BaseChatMessage] | None = None,
            ) -> AutoGenSession:
        """Start `team.run_stream(task=task)`; returns when a proxy asks or the run ends."""
        if self._driver is not None:
            raise RuntimeError("this session already ran its team; call review() again for "
                               "a new task.")
        self._running()
        _parked.add(self)
        self._driver = _loop.submit(self._drive(task))
        self._driver.add_done_callback(self._ended)
        self._wait()
        return self

    def close(self) -> None:
        """Cancel the team's run; an open question gets no answer (status "stopped").

        Call it for a run you abandon: a run waiting for an answer stays parked on
        hitl_nb's loop until answered or closed.
        """
        if self._driver is None or self._driver.done():
            return
        _loop.run(self._cancel())
        self._pending = {}
        self.status = "stopped"
        self._changed()

    def _ready(self) -> list[str]:
        """Questions both asked (the future exists) and announced in the stream (so every
        message before the question has been recorded), not yet shown as a card."""
        return [rid for rid in self._asks if rid in self._announced and rid not in self._shown]

    def _wait(self, *, raise_error: bool = True) -> None:
        """Wait while the agents compute, until a proxy asks or the run ends."""
        assert self._driver is not None
        driver = self._driver
        with self._cv:
            self._cv.wait_for(lambda: bool(self._ready()) or driver.done())
            ready = self._ready()
            asks = {rid: self._asks[rid][0] for rid in ready}
            said = [m for m in self.messages if isinstance(m, BaseChatMessage)]
        if asks:
            self._shown.update(asks)
            last = said[-1] if said else None
            self._pause([ReviewRequest(
                request_id=rid, interrupt_id=rid, kind="plain", action="reply",
                preview=last.to_text() if last else None, reason=prompt.strip() or None,
                gate="UserProxyAgent", gate_reason="the team handed the turn to a human",
                allowed=ALLOWED, agent=last.source if last else None)
                for rid, prompt in asks.items()])
            return
        if driver.cancelled():
            self._pending = {}
            self.status = "stopped"
            self._changed()
            return
        error = driver.exception()
        if error is not None:
            self._fail(error)
            if raise_error:
                raise error
            return
        said = [m for m in (self.run_result.messages if self.run_result else [])
                if isinstance(m, BaseChatMessage)]
        self._finish(said[-1].to_text() if said else None)

    def _live(self, request: ReviewRequest) -> bool:
        with self._cv:
            ask = self._asks.get(request.request_id)
            return ask is not None and not ask[1].done()

    def _moved_on(self) -> None:
        assert self._driver is not None
        if self._driver.done():
            self._wait(raise_error=False)  # how it ended: done, error (in .error), stopped
        else:
            # A cancelled input function does not end an AutoGen run by itself; do not
            # wait for it here. close() stops it.
            self._running()

    def _text(self, decision: Decision) -> str:
        if decision.action == "approve":
            return self.approve_text
        if decision.action == "respond":
            return decision.message or ""
        return f"{self.reject_text}: {decision.message}" if decision.message else self.reject_text

    def _resume(self, decided: list[tuple[ReviewRequest, Decision]]) -> None:
        for request, decision in decided:
            with self._cv:
                ask = self._asks.get(request.request_id)
            if ask is not None:  # else cancelled meanwhile: _wait() reports how the run ended
                _loop.loop().call_soon_threadsafe(_answer, ask[1], self._text(decision))
        self._running()
        self._wait()


def review(team: Any, task: str | BaseChatMessage | Sequence[BaseChatMessage] | None = None,
           *, log: FeedbackLog | None = None, reviewer: str | None = None,
           thread_id: str | None = None, approve_text: str = "APPROVE",
           reject_text: str = "REJECT") -> AutoGenSession:
    """Like `await team.run(task=task)`, with every `UserProxyAgent` that uses
    `input_func=human_input` answered from the review widget.

    `team` is any AgentChat team or agent with `run_stream` (e.g. `RoundRobinGroupChat`,
    `SelectorGroupChat`, `Swarm`). Returns the session, which displays as the widget.
    """
    return AutoGenSession(team, log=log, reviewer=reviewer, thread_id=thread_id,
                          approve_text=approve_text, reject_text=reject_text).run(task)
