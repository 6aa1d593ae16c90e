"""The notify level: an action runs without stopping and the human is told afterwards.

`notify(...)` is the one entry point the policy layer (and agent authors) call after an
action ran at the `notify` (or `autonomy`) level: it logs the action with
`source="policy"` and `decision="auto"` so analysis sees every automatic action next to
the reviewed ones, and adds it to the notification `Feed` (`hitl_nb.feed()` displays
it). When the action registered a compensating action (`undo=`), the feed offers Undo
for `undo_window` seconds; an undo runs the compensator once and is logged with
`decision="undo"`. `@notifies(undo=...)` marks a tool as notify level in one line.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from . import _override
from ._log import FeedbackLog, run_log
from ._schema import LEVELS, Decision, Level, ReviewRequest, Source, bounded_number, utcnow
from ._validate import DecisionError

if TYPE_CHECKING:
    from .widgets.feed import FeedWidget

F = TypeVar("F", bound=Callable[..., Any])
UndoState = Literal["done", "undoing", "undone", "undo_failed"]
UNDO_WINDOW = 300.0
"""Seconds an undo stays possible when neither `notify` nor the feed says otherwise."""
RESULT_TEXT = 2_000
"""Longest result text kept (in the feed and in the log's `message`)."""


class UndoError(DecisionError):
    """An undo that was refused (no compensator, window closed, already undone, or the
    compensator raised); the message says why."""


def _result_text(result: Any) -> str | None:
    if result is None:
        return None
    text = result if isinstance(result, str) else json.dumps(result, default=str,
                                                               ensure_ascii=False)
    return text if len(text) <= RESULT_TEXT else text[:RESULT_TEXT] + "…"


@dataclass(slots=True, eq=False)
class Notification:
    """One action the agent took without stopping, as the feed shows it."""

    request: ReviewRequest
    result: Any
    log: FeedbackLog
    undo: Callable[[], Any] | None = None
    undo_until: datetime | None = None
    nonce: str = field(default_factory=lambda: secrets.token_hex(16))
    state: UndoState = "done"
    undo_error: str | None = None
    undone_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.request.request_id

    @property
    def at(self) -> datetime:
        return self.request.requested_at

    def can_undo(self, now: datetime | None = None) -> bool:
        return (self.undo is not None and self.state == "done" and self.undo_until is not None
                and (now or utcnow()) <= self.undo_until)

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        request = self.request
        return {
            "id": self.id, "at": self.at.isoformat(), "action": request.action,
            "args": request.args, "result": _result_text(self.result), "level": request.level,
            "reason": request.reason, "risk": request.risk, "thread_id": request.thread_id,
            "agent": request.agent, "state": self.state, "undo_error": self.undo_error,
            "has_undo": self.undo is not None,
            "undo_until": self.undo_until.isoformat() if self.undo_until else None,
            "undone_at": self.undone_at.isoformat() if self.undone_at else None,
            "nonce": self.nonce if self.can_undo(now) else None,
        }


class Feed:
    """What the agent did without asking, newest last, with undo where registered.

    >>> feed = hitl_nb.feed()              # the kernel's feed; displays as its widget
    >>> hitl_nb.notify(action="send_invite", args={"to": "ada@example.com"},
    ...                result={"id": 7}, undo=lambda: calendar.cancel(7))
    >>> feed.undo(feed.items[-1].id)       # or click Undo in the widget
    """

    def __init__(self, *, undo_window: float = UNDO_WINDOW) -> None:
        self.undo_window = _window(undo_window)
        self.items: list[Notification] = []
        self._by_id: dict[str, Notification] = {}
        self._listeners: list[Callable[[], None]] = []
        self._widget: FeedWidget | None = None

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def add(self, request: ReviewRequest, result: Any, *, log: FeedbackLog,
            undo: Callable[[], Any] | None = None,
            undo_window: float | None = None) -> Notification:
        window = self.undo_window if undo_window is None else _window(undo_window)
        item = Notification(request=request, result=result, log=log, undo=undo,
                            undo_until=(request.requested_at + timedelta(seconds=window)
                                        if undo is not None else None))
        self.items.append(item)
        self._by_id[item.id] = item
        self._changed()
        return item

    def get(self, notification_id: Any) -> Notification:
        try:
            return self._by_id[notification_id]
        except (KeyError, TypeError):
            raise UndoError(f"no notification {notification_id!r:.80} in this feed.") from None

    def undo(self, notification_id: str, *, reviewer: str | None = None,
             now: datetime | None = None, source: Source = "human") -> Any:
        """Run the action's compensator once (within its window) and log `undo`;
        returns what the compensator returned. Raises `UndoError` saying why not.
        (`source="simulated"`: a simulated reviewer undid it.)"""
        from ._session import default_reviewer

        now = now or utcnow()
        item = self.check_undo(notification_id, now)
        assert item.undo is not None
        item.state = "undoing"  # before running: a second click now is refused
        self._changed()
        who = reviewer or default_reviewer()
        try:
            out = item.undo()
        except Exception as exc:
            item.state, item.undo_error = "undo_failed", f"{type(exc).__name__}: {exc}"
            self._log_undo(item, who, now, f"undo failed: {item.undo_error}", source)
            self._changed()
            raise UndoError(f"the compensator of {item.request.action} raised "
                            f"{item.undo_error}; logged, and not retried.") from exc
        item.state, item.undone_at = "undone", now
        self._log_undo(item, who, now, _result_text(out) or "undone", source)
        self._changed()
        return out

    def check_undo(self, notification_id: str, now: datetime | None = None) -> Notification:
        """The notification if it can be undone now, else `UndoError` saying why."""
        item = self.get(notification_id)
        now = now or utcnow()
        if item.undo is None:
            raise UndoError(f"{item.request.action} registered no compensating action; "
                            "undo it by hand (pass undo= to notify() to offer undo).")
        if item.state == "undone":
            raise UndoError(f"{item.request.action} was already undone at "
                            f"{item.undone_at:%H:%M:%S}; nothing ran twice.")
        if item.state == "undoing":
            raise UndoError(f"the undo of {item.request.action} is running; wait for it.")
        if item.state == "undo_failed":
            raise UndoError(f"the undo of {item.request.action} already ran and failed "
                            f"({item.undo_error}); it is not run twice: check by hand.")
        assert item.undo_until is not None
        if now > item.undo_until:
            late = (now - item.undo_until).total_seconds()
            raise UndoError(f"the undo window of {item.request.action} closed {late:.0f} s "
                            f"ago (at {item.undo_until:%H:%M:%S}); nothing ran.")
        return item

    @staticmethod
    def _log_undo(item: Notification, reviewer: str, now: datetime, message: str,
                  source: Source = "human") -> None:
        # Stored as the reviewer withdrawing the action; the row's decision is "undo".
        decision = Decision(action="reject", args=item.request.args, message=message,
                            reviewer=reviewer, source=source, request_id=item.id,
                            decided_at=now)
        item.log.record(item.request, decision, outcome="undo")

    def widget(self) -> FeedWidget:
        """The feed widget (one per feed, shared by all views)."""
        if self._widget is None:
            from .widgets.feed import FeedWidget

            self._widget = FeedWidget(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<hitl_nb.Feed {len(self.items)} notifications, undo window {self.undo_window:g} s>"


_feed: Feed | None = None


def _default_feed() -> Feed:
    global _feed
    if _feed is None:
        _feed = Feed()
    return _feed


def feed(*, undo_window: float | None = None) -> Feed:
    """The kernel's notification feed (displays as a live widget); `undo_window` sets
    the default seconds an undo stays possible for notifications added from now on.

    >>> hitl_nb.feed(undo_window=60)      # last expression: the live feed widget
    """
    current = _default_feed()
    if undo_window is not None:
        current.undo_window = _window(undo_window)
    return current


def _window(undo_window: Any) -> float:
    """`undo_window` as seconds, else an error saying what it must be."""
    if isinstance(undo_window, bool) or not isinstance(undo_window, int | float) \
            or not math.isfinite(undo_window) or undo_window < 0:
        raise ValueError(f"undo_window is in seconds and must be a number >= 0, "
                         f"got {undo_window!r:.40}.")
    return float(undo_window)


def _check_options(level: Any, undo: Any, undo_window: Any) -> None:
    """What `notify` and `notifies` take besides the action, checked when given (for
    `notifies`: when decorating), so a typo fails at once rather than in the feed or on
    the first click on Undo."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r:.40}.")
    if undo is not None and not callable(undo):
        raise TypeError(f"undo must be a function (the compensating action), got "
                        f"{type(undo).__name__}.")
    if undo_window is not None:
        _window(undo_window)


def _running_thread_id() -> str | None:
    """The thread id of the LangGraph run calling us, if any."""
    try:
        from langgraph.config import get_config

        thread = get_config().get("configurable", {}).get("thread_id")
    except (ImportError, RuntimeError):
        return None
    return None if thread is None else str(thread)


def notify(*, action: str, args: dict[str, Any] | None = None, result: Any = None,
           reason: str | None = None, level: Level = "notify",
           undo: Callable[[], Any] | None = None, log: FeedbackLog | None = None,
           thread_id: str | None = None, agent: str | None = None,
           undo_window: float | None = None, feed: Feed | None = None,
           risk: str | None = None, confidence: float | None = None,
           gate: str | None = None, gate_reason: str | None = None) -> dict[str, Any]:
    """Record that `action` ran without review; returns the stored log row.

    The row has `source="policy"`, `decision="auto"` and the result text in `message`;
    the action also appears in `feed` (default: `hitl_nb.feed()`), with Undo for
    `undo_window` seconds when `undo` (a no-argument compensator) is given, or else when
    a compensation is registered for `action` with `hitl_nb.compensate` (one registry for
    undoing reviewed and automatic actions alike). Call it where the action really ran:
    a node re-runs from its first line after an interrupt. `log`: default `run_log()`,
    the log of the Session driving the graph (`hitl_nb.log()` outside a run).

    >>> hitl_nb.notify(action="create_draft", args={"to": "ada@example.com"},
    ...                result="draft 12 saved", undo=lambda: drafts.delete(12))
    """
    _check_options(level, undo, undo_window)
    if args is not None and not isinstance(args, Mapping):
        raise TypeError(f"args must be a dict of the action's arguments, got "
                        f"{type(args).__name__}.")
    confidence = bounded_number(confidence, "confidence", 0, 1)
    request = ReviewRequest(request_id=f"auto:{uuid.uuid4().hex}", interrupt_id="", kind="ask",
                            action=action, args=dict(args or {}), reason=reason, level=level,
                            thread_id=thread_id or _running_thread_id(), agent=agent, risk=risk,
                            confidence=confidence, gate=gate, gate_reason=gate_reason)
    target = log if log is not None else run_log()  # inside a Session's run: its log
    decision = Decision(action="approve", args=request.args, message=_result_text(result),
                        source="policy", request_id=request.request_id,
                        decided_at=request.requested_at)
    row = target.record(request, decision, outcome="auto")
    if undo is None and (compensation := _override.compensation_for(action)) is not None:
        undo = functools.partial(compensation, dict(request.args))
    (feed if feed is not None else _default_feed()).add(
        request, result, log=target, undo=undo, undo_window=undo_window)
    return row


def notifies(*, undo: Callable[[Any, dict[str, Any]], Any] | None = None,
             action: str | None = None, level: Level = "notify", reason: str | None = None,
             undo_window: float | None = None, feed: Feed | None = None,
             log: FeedbackLog | None = None, risk: str | None = None) -> Callable[[F], F]:
    """Mark a function (a tool) as notify level: every call runs, then is logged and shown
    in the feed. `undo(result, args)` is its compensating action, offered as Undo.

    >>> @hitl_nb.notifies(undo=lambda result, args: calendar.cancel(result["id"]))
    ... def send_invite(to: str, when: str) -> dict:
    ...     return calendar.invite(to, when)

    Works under LangChain's `@tool` too (put `@tool` on top: the signature is kept),
    and on `async def` (the wrapper is async too: it awaits the action, then notifies).
    """

    _check_options(level, undo, undo_window)

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        def called(a: tuple[Any, ...], kw: dict[str, Any]) -> dict[str, Any]:
            bound = signature.bind(*a, **kw)
            bound.apply_defaults()
            return dict(bound.arguments)

        def record(args: dict[str, Any], result: Any) -> Any:
            compensate = None if undo is None else functools.partial(undo, result, args)
            notify(action=action or fn.__name__, args=args, result=result, reason=reason,
                   level=level, undo=compensate, undo_window=undo_window, feed=feed, log=log,
                   risk=risk)
            return result

        if inspect.iscoroutinefunction(fn):  # awaited: the action runs, then is told about
            @functools.wraps(fn)
            async def arun(*a: Any, **kw: Any) -> Any:
                args = called(a, kw)
                return record(args, await fn(*a, **kw))  # raised: nothing to notify

            arun.__hitl_level__ = level  # type: ignore[attr-defined]
            return arun  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*a: Any, **kw: Any) -> Any:
            args = called(a, kw)
            return record(args, fn(*a, **kw))  # raised: nothing happened, nothing to notify

        run.__hitl_level__ = level  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap
