"""Override mechanisms: emergency stop, stop, redirect, undo (manual override: `_validate`).

* **Emergency stop** (`emergency_stop()` / `resume_all()`): a kernel-wide kill switch.
  While it is engaged nothing resumes: sessions refuse every decision that would let a
  run continue, `guarded` tools and `check_stop()` raise `EmergencyStop` inside running
  graphs (any thread), and `hitl_nb.ask` raises it instead of returning an approval.
* **Stop** (`Session.stop`): end one paused run without resuming it. The pending requests,
  and those decided but not yet sent (their decision never reaches the agent), are logged
  as `stop`; the thread's tasks are cleared with `update_state(..., as_node=END)`
  on a checkpoint whose metadata carries a marker, so a persistent checkpointer remembers
  the stop across kernel restarts and later decisions are refused.
* **Redirect** (`Session.redirect`): instead of deciding, give the agent new instructions.
  The pending interrupt is never resumed (so the action cannot run, whatever the node's
  code does with decisions); the paused tasks are cleared and the run continues at the
  node that proposed the action with `Command(goto=..., update=...)`.
* **Undo** (`Session.undo`): revert the thread's last decision by forking from the
  checkpoint that held its interrupt (`update_state(..., as_node="__copy__")`, a copy
  without the pending writes, so the old answer cannot be replayed) and running again:
  the request is pending anew. The old branch stays in `get_state_history`; the log keeps
  the decision and gains an `undo` row. Side effects that ran are real: a compensation
  registered for the action (`compensate`) or the request (`register_undo`) runs once,
  the rest is listed in the `UndoReport` as not reverted.

The compensation registry is the seam for other modules: `register_undo(request_id, fn)`
(e.g. `notify(undo=fn)`) and `run_compensation(...)`.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, cast, overload

from ._review_base import StaleDecision
from ._reviewer import Reviewer, authorize, held_roles
from ._schema import Decision, ReviewRequest, canonical_json, utcnow
from ._validate import DecisionError, _rating, _text

if TYPE_CHECKING:
    from ._session import Session

STOP_KEY = "hitl_nb_stopped"
"""Checkpoint metadata key of the stop marker (JSON text)."""
REDIRECT_KEY = "hitl_nb_redirected"
NOT_RUN = "not executed: the reviewer changed direction (see the next message)"
"""The tool result a redirect gives each tool call it cancels."""

P = ParamSpec("P")
R = TypeVar("R")
Compensation = Callable[[dict[str, Any]], Any]


class Stopped(DecisionError):
    """Nothing resumed: the thread was stopped, or the emergency stop is engaged."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Halt:
    """The engaged emergency stop: why, who, when."""

    reason: str | None
    by: str | None
    at: datetime

    def __str__(self) -> str:
        by = f" by {self.by}" if self.by else ""
        why = f": {self.reason}" if self.reason else ""
        return f"emergency stop engaged at {self.at:%H:%M:%S %Z}{by}{why}"


class EmergencyStop(BaseException):
    """Raised inside a running graph while the emergency stop is engaged.

    A `BaseException`, like `asyncio.CancelledError`, so a tool's broad
    `except Exception` (or LangGraph's `ToolNode` error handling) cannot swallow it.
    The run halts with its checkpoint intact: `session.retry()` after `resume_all()`.
    """

    def __init__(self, halt: Halt) -> None:
        super().__init__(f"{halt}; nothing runs until hitl_nb.resume_all()")
        self.halt = halt


@dataclass(frozen=True, kw_only=True, slots=True)
class StopRecord:
    """Why and when a thread was stopped; stored as JSON in the checkpoint metadata."""

    reason: str | None
    reviewer: str | None
    stopped_at: datetime
    request_ids: tuple[str, ...] = ()
    checkpoint_id: str | None = None

    def to_json(self) -> str:
        return canonical_json({"reason": self.reason, "reviewer": self.reviewer,
                               "stopped_at": self.stopped_at.isoformat(),
                               "request_ids": list(self.request_ids),
                               "checkpoint_id": self.checkpoint_id})

    @classmethod
    def from_json(cls, text: str) -> StopRecord:
        value = json.loads(text)
        return cls(reason=value.get("reason"), reviewer=value.get("reviewer"),
                   stopped_at=datetime.fromisoformat(value["stopped_at"]),
                   request_ids=tuple(value.get("request_ids") or ()),
                   checkpoint_id=value.get("checkpoint_id"))

    def __str__(self) -> str:
        by = f" by {self.reviewer}" if self.reviewer else ""
        why = f": {self.reason}" if self.reason else ""
        return f"stopped{by} at {self.stopped_at:%Y-%m-%d %H:%M:%S %Z}{why}"


@dataclass(frozen=True, kw_only=True, slots=True)
class UndoReport:
    """What `Session.undo()` did, in plain words (`str(report)`).

    `compensated`: side effects reverted by their registered compensation;
    `not_reverted`: side effects that ran and stay real; `failed`: compensations that
    raised; `notes`: decisions whose action never ran; `reopened`: the requests pending
    again on the new branch (forked from `checkpoint_id`).
    """

    thread_id: str
    request_ids: tuple[str, ...]
    decisions: tuple[str, ...]
    checkpoint_id: str | None
    compensated: tuple[str, ...] = ()
    not_reverted: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    reopened: tuple[ReviewRequest, ...] = ()

    @property
    def complete(self) -> bool:
        """True when no side effect of the undone decisions is left in place."""
        return not self.not_reverted and not self.failed

    def __str__(self) -> str:
        lines = [f"Undid {', '.join(self.decisions)} on thread {self.thread_id}."]
        lines += [f"  reverted: {c}" for c in self.compensated]
        lines += [f"  NOT reverted: {c}" for c in self.not_reverted]
        lines += [f"  compensation FAILED: {c}" for c in self.failed]
        lines += [f"  {n}" for n in self.notes]
        if self.reopened:
            lines.append("  pending again: " + ", ".join(r.action for r in self.reopened))
        return "\n".join(lines)


# -- per-session override state (kept here so `Session` stays small) -----------------
@dataclass
class _State:
    stop: StopRecord | None = None
    undone: set[int] = field(default_factory=set)  # positions in session.history
    notice: str = ""
    notice_at: int = -1  # len(session.history) when the notice was written


_states: weakref.WeakKeyDictionary[Session, _State] = weakref.WeakKeyDictionary()
_sessions: weakref.WeakSet[Session] = weakref.WeakSet()


def state(session: Session) -> _State:
    found = _states.get(session)
    if found is None:
        found = _states[session] = _State()
    return found


def track(session: Session) -> None:
    """Remember a live session, so the kill switch can tell its widget and retry it."""
    _sessions.add(session)


def notice(session: Session) -> str:
    """The last override message for the widget, while no decision came after it."""
    st = state(session)
    return st.notice if st.notice_at == len(session.history) else ""


# -- the kill switch ---------------------------------------------------------------------
_lock = threading.Lock()
_halt: Halt | None = None


def halted() -> Halt | None:
    """The engaged emergency stop, or None."""
    return _halt


def emergency_stop(reason: str | None = None, *, by: str | None = None) -> Halt:
    """Engage the kernel-wide kill switch; returns it (the first one if already engaged).

    From now on, until `resume_all()`: no session resumes a graph (decisions are
    refused with `Stopped`, nothing is logged), `guarded` tools and `check_stop()` raise
    `EmergencyStop` in running graphs, and widgets show the stop. `session.stop()` and
    `session.undo()` stay allowed, to end runs and revert what they did.

    >>> hitl_nb.emergency_stop("refunds look wrong")
    """
    global _halt
    from ._session import default_reviewer

    reason = _text(reason, "reason")
    with _lock:
        if _halt is None:
            _halt = Halt(reason=reason, by=by or default_reviewer(), at=utcnow())
        halt = _halt
    _tell_sessions()
    return halt


def resume_all(*, retry: bool = True) -> list[Session]:
    """Release the kill switch; runs it halted mid-way are retried from their last
    checkpoint (unless `retry=False`). Returns those sessions. Paused runs stay paused
    until someone decides.

    >>> hitl_nb.resume_all()
    """
    global _halt
    with _lock:
        _halt = None
    halted_runs = [s for s in list(_sessions) if s.status == "halted"]
    _tell_sessions()
    if retry:
        for session in halted_runs:
            try:
                session.retry()
            except Exception:  # kept in session.error, shown by its widget
                continue
    return halted_runs


def _tell_sessions() -> None:
    for session in list(_sessions):
        session._changed()


def check_stop() -> None:
    """Raise `EmergencyStop` if the kill switch is engaged; call it in long-running nodes.

    >>> for order in orders:
    ...     hitl_nb.check_stop()
    ...     refund(order)
    """
    halt = _halt
    if halt is not None:
        raise EmergencyStop(halt)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Make a tool refuse to run while the emergency stop is engaged (sync or async).

    >>> @hitl_nb.guarded
    ... def issue_refund(order: int, amount: float) -> str: ...
    """
    if inspect.iscoroutinefunction(fn):
        async_fn = cast(Callable[..., Any], fn)

        @functools.wraps(fn)
        async def guard_async(*args: Any, **kwargs: Any) -> Any:
            check_stop()
            return await async_fn(*args, **kwargs)

        return cast(Callable[P, R], guard_async)

    @functools.wraps(fn)
    def guard(*args: P.args, **kwargs: P.kwargs) -> R:
        check_stop()
        return fn(*args, **kwargs)

    return guard


def ensure_may_decide(session: Session) -> None:
    """Raise `Stopped` when nothing may resume on this session's thread."""
    halt = _halt
    if halt is not None:
        raise Stopped(f"{halt}. Nothing resumes until hitl_nb.resume_all(); "
                      "session.stop() ends this run, session.undo() reverts its last decision.")
    record = state(session).stop
    if record is not None:
        raise Stopped(f"thread {session.thread_id!r} was {record}; nothing resumes on it. "
                      "session.undo() reopens it, or start a new thread_id.")


def on_refresh(session: Session, snapshot: Any) -> bool:
    """Read the stop marker of the thread's head checkpoint; True if it is stopped."""
    marker = (snapshot.metadata or {}).get(STOP_KEY)
    st = state(session)
    st.stop = StopRecord.from_json(marker) if isinstance(marker, str) and not snapshot.next \
        else None
    return st.stop is not None


# -- compensations -----------------------------------------------------------------------
_by_action: dict[str, Compensation] = {}
_by_request: dict[str, Callable[[], Any]] = {}
_compensated: set[str] = set()


@overload
def compensate(action: str, fn: Compensation) -> Compensation: ...
@overload
def compensate(action: str, fn: None = None) -> Callable[[Compensation], Compensation]: ...


def compensate(action: str, fn: Compensation | None = None) -> Any:
    """Register how to revert `action` when a decision that let it run is undone.

    `fn(args)` receives the arguments the action ran with; it runs at most once per
    executed request, and what it returns is shown in the `UndoReport`. Registering
    again for the same action replaces the earlier one. Also a decorator.

    >>> hitl_nb.compensate("issue_refund", lambda args: bank.reverse(args["order"]))
    >>> @hitl_nb.compensate("issue_voucher")
    ... def revoke(args): ...
    """
    if not isinstance(action, str) or not action:
        raise TypeError("compensate() needs the action (tool) name as a non-empty string.")
    if fn is None:
        def register(f: Compensation) -> Compensation:
            _by_action[action] = f
            return f
        return register
    _by_action[action] = fn
    return fn


def compensation_for(action: str) -> Compensation | None:
    """The compensation registered for `action` with `compensate`, if any."""
    return _by_action.get(action)


def forget_compensation(action: str, restore: Compensation | None = None) -> None:
    """Remove the compensation of `action` (or put `restore` back in its place)."""
    if restore is None:
        _by_action.pop(action, None)
    else:
        _by_action[action] = restore


def register_undo(request_id: str, fn: Callable[[], Any]) -> None:
    """Register how to revert the one action logged under `request_id` (e.g. by `notify`)."""
    _by_request[request_id] = fn


CompensationOutcome = Literal["done", "failed", "none", "already"]


def run_compensation(request_id: str, action: str,
                     args: dict[str, Any]) -> tuple[CompensationOutcome, str]:
    """Run the compensation for one executed action, at most once per request id."""
    by_request = _by_request.get(request_id)
    by_action = _by_action.get(action)
    if by_request is None and by_action is None:
        return "none", ""
    if request_id in _compensated:
        return "already", "its compensation already ran"
    _compensated.add(request_id)  # before running: once, even if it raises
    try:
        out = by_request() if by_request is not None else by_action(dict(args))  # type: ignore[misc]
    except Exception as exc:
        return "failed", f"{type(exc).__name__}: {exc}"
    return "done", "" if out is None else f"{out}"[:300]


def reset() -> None:
    """Forget registrations and release the kill switch (tests, fresh demos)."""
    global _halt
    _by_action.clear()
    _by_request.clear()
    _compensated.clear()
    with _lock:
        _halt = None


# -- helpers shared by stop / redirect / undo ------------------------------------------
def _reviewer(session: Session, reviewer: str | None,
              requests: Sequence[ReviewRequest] = ()) -> Reviewer:
    """Who acts, checked like a reject of each of `requests`: taking a decision out of the
    hands of the reviewers a request needs (redirect, undo) needs their roles too."""
    who = session.who(reviewer)
    for request in requests:
        authorize(request, who, "reject", None)
    return who


def _live_snapshot(session: Session) -> Any:
    """The head checkpoint, after checking that what we show as pending still is."""

    snap = session.graph.get_state(session.config)
    live = {i.id for i in snap.interrupts}
    gone = [r for r in session.pending if r.kind != "breakpoint" and r.interrupt_id not in live]
    if gone:
        session.refresh()
        raise StaleDecision(f"request {gone[0].request_id!r} was already answered elsewhere "
                            f"on thread {session.thread_id!r}; nothing changed.")
    return snap


def _open_requests(session: Session) -> list[ReviewRequest]:
    """Pending plus decided-but-not-sent requests: all of them end with a stop/redirect."""
    staged = [session._seen[rid] for rid in session._staged if rid in session._seen]
    return [*session.pending, *staged]


def _close(session: Session, requests: list[ReviewRequest],
           decisions: list[Decision]) -> None:
    for request, decision in zip(requests, decisions, strict=True):
        session._pending.pop(request.request_id, None)
        session._staged.pop(request.request_id, None)
        session._seen.pop(request.request_id, None)
        session.history.append((request, decision))


def _in_progress(session: Session, what: str) -> DecisionError:
    return DecisionError(f"the run on thread {session.thread_id!r} is in progress; {what} "
                         "acts on a paused run. To halt a running graph use "
                         "hitl_nb.emergency_stop().")


def end_run(session: Session, config: dict[str, Any], record: StopRecord) -> None:
    """Mark the thread stopped at checkpoint `config`, for good (also after a restart)."""
    # as_node=END with no values clears the paused tasks: nothing is resumed, ever.
    session.graph.update_state({**config, "metadata": {STOP_KEY: record.to_json()}},
                               None, as_node="__end__")


def reject_breakpoint(session: Session, request: ReviewRequest, decision: Decision) -> None:
    """A rejected static breakpoint ends the run like `stop`: the node never runs."""
    config = {"configurable": {**session.config["configurable"], "checkpoint_ns": "",
                               "checkpoint_id": request.checkpoint_id}}
    end_run(session, config, StopRecord(
        reason=decision.message or f"rejected before {request.action}",
        reviewer=decision.reviewer, stopped_at=decision.decided_at,
        request_ids=(request.request_id,), checkpoint_id=request.checkpoint_id))


# -- stop ---------------------------------------------------------------------------------
def stop(session: Session, reason: str | None = None, *,
         reviewer: str | None = None) -> list[Decision]:
    """End the paused run without resuming it (see `Session.stop`)."""

    with session._exclusive():
        record = state(session).stop
        if record is not None:
            raise Stopped(f"thread {session.thread_id!r} is already {record}.")
        if session.status == "running":
            raise _in_progress(session, "stop()")
        if session.status in ("idle", "done"):
            raise StaleDecision(f"nothing to stop on thread {session.thread_id!r}: the run "
                                f"is {'finished' if session.status == 'done' else 'not started'}.")
        reason = _text(reason, "reason")
        snap = _live_snapshot(session)
        checkpoint_id = snap.config["configurable"].get("checkpoint_id")
        requests = _open_requests(session)
        if not requests:  # a run that raised or was halted: log the stop of its next step
            requests = [ReviewRequest(
                request_id=f"stop:{checkpoint_id}", interrupt_id="", kind="breakpoint",
                action=", ".join(snap.next) or "run", reason="run ended after it raised",
                allowed=("reject",), thread_id=session.thread_id,
                checkpoint_id=checkpoint_id)]
        who = _reviewer(session, reviewer)  # anyone may stop: stopping runs nothing
        decisions = [Decision(action="reject", args=r.args, message=reason, reviewer=who.name,
                              role=held_roles(who), request_id=r.request_id, override="stop")
                     for r in requests]
        for request, decision in zip(requests, decisions, strict=True):
            session.log.record(request, decision, outcome="stop", run_id=session.run_id)
        record = StopRecord(reason=reason, reviewer=who.name,
                            stopped_at=decisions[0].decided_at,
                            request_ids=tuple(r.request_id for r in requests),
                            checkpoint_id=checkpoint_id)
        end_run(session, snap.config, record)
        _close(session, requests, decisions)
        session.error = None
        session.refresh()
    return decisions


# -- redirect -----------------------------------------------------------------------------
Update = dict[str, Any] | Callable[[dict[str, Any], str], dict[str, Any]]


def default_goto(graph: Any, snapshot: Any) -> str:
    """The node that proposed the paused action: the one that ran before the pause, else
    the paused node itself."""
    nodes = [n for n in graph.nodes if not n.startswith("__")]
    if snapshot.parent_config:
        before = [n for n in graph.get_state(snapshot.parent_config).next if n in nodes]
        if len(set(before)) == 1:
            return str(before[0])
    paused = [n for n in snapshot.next if n in nodes]
    if len(set(paused)) == 1:
        return str(paused[0])
    raise DecisionError("cannot tell which node should receive the new instructions; pass "
                        f"goto= one of {nodes}.")


def default_update(graph: Any, values: Any, instructions: str) -> dict[str, Any]:
    """For a `messages` state: a tool result for each unanswered tool call of the last AI
    message (so the history stays valid for tool-calling APIs), then the instructions as
    the user's next message."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        raise DecisionError("this graph's state has no 'messages' list for the new "
                            "instructions; pass update={...} (the state update the agent "
                            "reads) or update=lambda values, instructions: {...}.")
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    last_ai = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    calls = [c for c in (last_ai.tool_calls if last_ai else [])
             if c.get("id") and c["id"] not in answered]
    new: list[Any] = [ToolMessage(content=NOT_RUN, tool_call_id=c["id"], name=c["name"],
                                  status="error") for c in calls]
    new.append(HumanMessage(content=instructions))
    # A channel without a reducer is replaced by an update, so send the whole list.
    if type(graph.channels.get("messages")).__name__ == "LastValue":
        return {"messages": [*messages, *new]}
    return {"messages": new}


def redirect(session: Session, instructions: str, *, request_id: str | None = None,
             goto: str | None = None, update: Update | None = None, rating: Any = None,
             comment: Any = None, reviewer: str | None = None) -> Decision:
    """Change course instead of deciding (see `Session.redirect`)."""
    from langgraph.types import Command

    with session._exclusive():
        ensure_may_decide(session)
        text = _text(instructions, "instructions")
        if not (text or "").strip():
            raise DecisionError("redirect needs instructions: the new direction the agent "
                                "receives instead of the pending action.")
        assert text is not None
        # A redirect changes course for the whole run: with several requests open, every
        # one is set aside; the first carries the rating and comment unless one is named.
        several = request_id is None and len(session._pending) > 1
        request = session.pending[0] if several else session._request(request_id)
        snap = _live_snapshot(session)
        target = goto if goto is not None else default_goto(session.graph, snap)
        if target not in session.graph.nodes or target.startswith("__"):
            nodes = [n for n in session.graph.nodes if not n.startswith("__")]
            raise DecisionError(f"goto={target!r} is not a node of this graph; use one of "
                                f"{nodes}.")
        if update is None:
            values = default_update(session.graph, snap.values, text)
        else:
            values = update(dict(snap.values), text) if callable(update) else update
        if not isinstance(values, dict):
            raise DecisionError(f"update must give a dict (a state update), got "
                                f"{type(values).__name__}.")
        others = [r for r in _open_requests(session) if r.request_id != request.request_id]
        requests = [request, *others]
        who = _reviewer(session, reviewer, requests)
        chosen = Decision(action="reject", args=request.args, message=text,
                          rating=_rating(rating), comment=_text(comment, "comment"),
                          reviewer=who.name, role=held_roles(who),
                          request_id=request.request_id, override="redirect")
        decisions = [chosen, *(Decision(action="reject", args=r.args, message=text,
                                        reviewer=who.name, role=held_roles(who),
                                        request_id=r.request_id, override="redirect")
                               for r in others)]
        for req, decision in zip(requests, decisions, strict=True):
            session.log.record(req, decision, outcome="redirect", run_id=session.run_id)
        _close(session, requests, decisions)
        marker = canonical_json({"request_id": request.request_id, "goto": target,
                                 "reviewer": who.name})
        session.graph.update_state({**snap.config, "metadata": {REDIRECT_KEY: marker}},
                                   None, as_node="__end__")
        session.result = None
        session._run(Command(update=values, goto=target))
    return chosen


# -- undo ---------------------------------------------------------------------------------
UNDOABLE = ("approve", "edit", "reject", "respond", "timeout", "stop", "redirect", "override",
            "revise", "input")


def _undo_target(newest_first: Iterator[dict[str, Any]],
                 thread_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows the undo reverts (the last decision and any sent with it in one step,
    newest first) and the automatic actions logged after them. Reads the thread's rows
    newest first and stops as soon as it has them, so the cost does not grow with the log."""

    later_auto: list[dict[str, Any]] = []
    last = next(newest_first, None)
    while last is not None and last["decision"] == "auto":
        later_auto.append(last)
        last = next(newest_first, None)
    if last is None:
        raise StaleDecision(f"nothing to undo: no decision on thread {thread_id!r} in this "
                            "feedback log.")
    if last["decision"] == "undo":
        raise StaleDecision(f"the last decision on thread {thread_id!r} ({last['action_name']}) "
                            "was already undone; decide the reopened request, then undo that.")
    if last["decision"] not in UNDOABLE:
        raise StaleDecision(f"the last entry on thread {thread_id!r} is a "
                            f"{last['decision']!r}, which cannot be undone.")
    group = [last]
    for row in newest_first:
        if row["decision"] == "auto":
            continue
        if row["decision"] not in UNDOABLE or row["checkpoint_id"] != last["checkpoint_id"]:
            break
        group.append(row)
    return group, later_auto


def _newest_first(log: Any, thread_id: str) -> Iterator[dict[str, Any]]:
    return (row for row in reversed(list(log)) if row.get("thread_id") == thread_id)


def _request_from_row(session: Session, row: dict[str, Any]) -> ReviewRequest:
    """The request a logged row decided: as this session saw it, else as the log stored
    it when first shown (with its roles and approvers), else rebuilt from the row."""
    for request, _ in reversed(session.history):
        if request.request_id == row["request_id"]:
            return request
    for request in session.log.requests(thread_id=row["thread_id"]):
        if request.request_id == row["request_id"]:
            return request
    return ReviewRequest(
        request_id=row["request_id"], interrupt_id="", kind="ask", action=row["action_name"],
        args=row["proposed_args"] or {}, preview=row.get("preview"), reason=None,
        confidence=row.get("confidence"), risk=row.get("risk"),
        level=row.get("spectrum_level") or "confirm", gate=row.get("gate"),
        gate_reason=row.get("gate_reason"), thread_id=row["thread_id"],
        checkpoint_id=row["checkpoint_id"], agent=row.get("agent"),
        requested_at=datetime.fromisoformat(row["requested_at"]))


def _ran(session: Session, row: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether the decided action ran (True / False / None: cannot tell) and, if not
    known, why."""
    decision = row["decision"]
    if decision in ("approve", "edit"):
        if row["request_id"] in session._staged:
            return False, ""
        if session.status in ("error", "halted"):
            # The run broke after this decision: maybe before the action, maybe after.
            broke = ("raised" if session.status == "error"
                     else "was halted by the emergency stop")
            return None, (f"the run {broke} after the {decision} "
                          f"({type(session.error).__name__ if session.error else 'no detail'})")
        return True, ""
    if decision == "timeout":
        for request, dec in reversed(session.history):
            if request.request_id == row["request_id"]:
                return dec.approved, ""
        return None, "the log does not say which default the timeout applied"
    return False, ""


def _call(row: dict[str, Any]) -> str:
    args = json.dumps(row["final_args"], ensure_ascii=False, default=str)
    return f"{row['action_name']}({args[:200]})"


def undo(session: Session, request_id: str | None = None, *, comment: Any = None,
         reviewer: str | None = None) -> UndoReport:
    """Revert the thread's last decision (see `Session.undo`)."""

    with session._exclusive():
        if session.status == "running":
            raise _in_progress(session, "undo()")
        comment = _text(comment, "comment")
        group, later_auto = _undo_target(_newest_first(session.log, session.thread_id),
                                         session.thread_id)
        last = group[0]
        if request_id is not None and request_id != last["request_id"]:
            raise StaleDecision(
                f"request {request_id!r} is not the last decision on thread "
                f"{session.thread_id!r} (that is {last['action_name']}, "
                f"{last['request_id']!r}); undo reverts the last decision only.")
        if last["request_id"] in session._staged:
            group = [last]  # decided here but not sent: take it back, nothing ran
        effective = list({r["request_id"]: r for r in reversed(group)}.values())[::-1]
        compensated: list[str] = []
        not_reverted: list[str] = []
        failed: list[str] = []
        notes: list[str] = []
        per_request: dict[str, list[str]] = {r["request_id"]: [] for r in effective}

        def note(row: dict[str, Any], kind: list[str], line: str) -> None:
            kind.append(line)
            per_request.setdefault(row["request_id"], []).append(line)

        def settle(row: dict[str, Any], what: str) -> None:
            outcome, detail = run_compensation(row["request_id"], row["action_name"],
                                               row["final_args"] or {})
            line = f"{_call(row)} {what}"
            if outcome == "done":
                note(row, compensated, f"{line}; compensated" + (f": {detail}" if detail else ""))
            elif outcome == "failed":
                note(row, failed, f"{line}; its compensation raised {detail}")
            elif outcome == "already":
                note(row, notes, f"{line}; {detail}")
            else:
                note(row, not_reverted,
                     f"{line} and has no compensation: its effect is real. Revert it "
                     f"yourself, or register one: hitl_nb.compensate({row['action_name']!r}, fn)")

        # Only a reviewer who could have decided these may take the decision back.
        who = _reviewer(session, reviewer, [_request_from_row(session, r) for r in effective])
        staged_only = last["request_id"] in session._staged
        base = {"configurable": {"thread_id": session.thread_id, "checkpoint_ns": "",
                                 "checkpoint_id": last["checkpoint_id"]}}
        if not staged_only and (not last["checkpoint_id"]
                                or not session.graph.get_state(base).metadata):
            raise DecisionError(
                f"checkpoint {last['checkpoint_id']!r} of the last decision is not in this "
                "graph's checkpointer; undo needs the checkpointer the run used.")
        # Side effects: newest first, like unwinding a saga.
        for row in later_auto:
            settle(row, "ran automatically after the undone decision")
        for row in effective:
            ran, unknown = _ran(session, row)
            if row["decision"] == "override":
                note(row, not_reverted,
                     f"{_call(row)} was done by hand (result: {row['message']}); hitl_nb did "
                     "not run it and cannot revert it: undo it yourself if needed")
            elif ran:
                settle(row, f"ran after {row['decision']}")
            elif ran is None:
                note(row, not_reverted, f"{_call(row)} may have run: {unknown}, so it was not "
                                        "compensated; check it yourself")
            else:
                note(row, notes, f"{row['action_name']} did not run ({row['decision']}"
                                 f"{', not sent yet' if staged_only else ''}): nothing to revert")
        for row in effective:
            request = _request_from_row(session, row)
            record = Decision(action="reject", args=row["final_args"] or {},
                              message=f"undid {row['decision']}: "
                                      + "; ".join(per_request[row["request_id"]]),
                              comment=comment, reviewer=who.name, role=held_roles(who),
                              request_id=row["request_id"], override="undo")
            session.log.record(request, record, outcome="undo", run_id=session.run_id)
        ids = {r["request_id"] for r in effective}
        st = state(session)
        for position in range(len(session.history) - 1, -1, -1):
            if session.history[position][0].request_id in ids:
                st.undone.add(position)
                if staged_only:
                    break
        if staged_only:
            request = session._seen[last["request_id"]]
            del session._staged[last["request_id"]]
            session._pending[request.request_id] = request
            session.refresh()
        else:
            # A copy of the checkpoint that held the interrupt, without its pending writes:
            # the old resume value cannot be replayed, the request is asked again.
            session.graph.update_state(base, None, as_node="__copy__")
            for rid in [*session._staged, *ids]:
                session._seen.pop(rid, None)
            session._staged.clear()
            session._pending = {}
            st.stop = None
            session.result = None
            session.error = None
            if last["request_id"].startswith("breakpoint:"):
                session.refresh()  # the copy is paused before the node, as the original was
            else:
                try:
                    session._run(None)  # the paused node runs again: its interrupt fires anew
                except EmergencyStop:
                    notes.append("the paused step halted on the emergency stop before asking "
                                 "again: session.retry() after hitl_nb.resume_all()")
        report = UndoReport(
            thread_id=session.thread_id, request_ids=tuple(r["request_id"] for r in effective),
            decisions=tuple(f"{r['decision']} {r['action_name']}" for r in effective),
            checkpoint_id=last["checkpoint_id"], compensated=tuple(compensated),
            not_reverted=tuple(not_reverted), failed=tuple(failed), notes=tuple(notes),
            reopened=tuple(session.pending))
        st.notice, st.notice_at = str(report), len(session.history)
        session._changed()
    return report
