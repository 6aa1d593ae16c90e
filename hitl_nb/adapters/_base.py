"""`AdapterSession`: the review bookkeeping every framework adapter shares.

An adapter turns its framework's pause into `ReviewRequest`s (`_pause`) and a list of
decisions into the framework's resume call (`_resume`). Everything between is here and
is the same for every framework: find the pending request, validate with
`make_decision`, log with `FeedbackLog.record(framework=...)`, then resume once. The
session satisfies `ReviewSource`, so it displays as the one `ReviewWidget`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from .._log import FeedbackLog
from .._log import log as default_log
from .._schema import Action, Decision, ReviewRequest, Source
from .._session import SessionBusy, StaleDecision, Status, default_reviewer
from .._validate import DecisionError, make_decision

if TYPE_CHECKING:
    from ..widgets.review import ReviewWidget


class AdapterSession:
    """One run of another framework's agent under review (see `hitl_nb.adapters`).

    Subclasses set `framework` (the log's `framework` column) and implement `_resume`;
    they call `_pause`, `_finish` or `_fail` when their run stops.
    """

    framework: ClassVar[str] = ""
    partial_submit: ClassVar[bool] = False
    """Whether the framework can resume with some pending calls still undecided."""

    def __init__(self, *, log: FeedbackLog | None = None, reviewer: str | None = None,
                 thread_id: str | None = None) -> None:
        self.log = log if log is not None else default_log()
        self.reviewer = reviewer
        self.thread_id = thread_id or uuid.uuid4().hex
        self.run_id = uuid.uuid4().hex
        self.status: Status = "idle"
        self.result: Any = None
        self.error: BaseException | None = None
        self.problems: list[str] = []
        self.history: list[tuple[ReviewRequest, Decision]] = []
        self._pending: dict[str, ReviewRequest] = {}
        self._staged: dict[str, tuple[ReviewRequest, Decision]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._busy = False
        self._widget: ReviewWidget | None = None

    # -- reading -----------------------------------------------------------------
    @property
    def pending(self) -> list[ReviewRequest]:
        """Requests waiting for a decision, in the order the framework raised them."""
        return list(self._pending.values())

    @property
    def staged(self) -> list[str]:
        """Request ids decided (and logged) but not yet sent to the framework."""
        return list(self._staged)

    @property
    def done(self) -> bool:
        return self.status == "done"

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every change of status, pending, history or result."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- what subclasses call when their run stops -----------------------------------
    def _running(self) -> None:
        self.status = "running"
        self.error = None
        self._changed()

    def _pause(self, requests: list[ReviewRequest]) -> None:
        """The run stopped for these requests. A request still pending from the previous
        pause (same id, undecided) keeps its card and its `requested_at`; an id that was
        already decided gets a suffix, so an old decision can never answer a new call."""
        decided = {r.request_id for r, _ in self.history}
        pending: dict[str, ReviewRequest] = {}
        for request in requests:
            request_id, n = request.request_id, 1
            while request_id in decided or request_id in pending:
                n += 1
                request_id = f"{request.request_id}~{n}"
            old = self._pending.get(request_id)
            pending[request_id] = dataclasses.replace(
                request, request_id=request_id, thread_id=self.thread_id,
                requested_at=old.requested_at if old else request.requested_at)
        self._pending = pending
        self.status = "pending"
        self._changed()

    def _finish(self, result: Any) -> None:
        self._pending = {}
        self.result = result
        self.status = "done"
        self._changed()

    def _fail(self, exc: BaseException) -> None:
        self._pending = {}
        self.error = exc
        self.status = "error"
        self._changed()

    # -- what subclasses implement -------------------------------------------------
    def _resume(self, decided: list[tuple[ReviewRequest, Decision]]) -> None:
        """Hand the decisions to the framework and run on until it stops again."""
        raise NotImplementedError

    def _live(self, request: ReviewRequest) -> bool:
        """Whether the framework still waits for `request` (False: answered elsewhere)."""
        return True

    def _moved_on(self) -> None:
        """A pending request turned out not to be awaited: show where the run is now."""
        self._changed()

    # -- deciding ----------------------------------------------------------------
    def _request(self, request_id: str | None) -> ReviewRequest:
        if request_id is None:
            if len(self._pending) == 1:
                return next(iter(self._pending.values()))
            if not self._pending:
                raise StaleDecision(f"nothing is pending in this {self.framework} run "
                                    f"(status: {self.status}).")
            raise DecisionError(f"{len(self._pending)} requests are pending; pass request_id= "
                                f"one of {list(self._pending)}.")
        if request_id not in self._pending:
            raise StaleDecision(f"request {request_id!r} is not pending in this "
                                f"{self.framework} run: it was already decided or the run "
                                "moved on. Pending now: " + (", ".join(self._pending) or "nothing"))
        return self._pending[request_id]

    def decide(self, request_id: str | None, action: Action | str, *, args: Any = None,
               message: Any = None, rating: Any = None, comment: Any = None,
               reviewer: str | None = None, source: Source = "human") -> Decision:
        """Validate, log, then resume the framework once every pending call is decided.
        Raises `DecisionError` (nothing logged, nothing resumed) or re-raises what the
        framework raised after resuming (the decision stays logged)."""
        if self._busy:
            raise SessionBusy(f"a decision is already being applied to this {self.framework} "
                              "run; wait until it finishes.")
        self._busy = True
        try:
            request = self._request(request_id)
            if not self._live(request):
                del self._pending[request.request_id]
                self._moved_on()
                raise StaleDecision(f"request {request.request_id!r} is no longer awaited by "
                                    f"the {self.framework} run (cancelled or answered "
                                    "elsewhere); nothing resumed.")
            decision = make_decision(request, action, args=args, message=message,
                                     rating=rating, comment=comment,
                                     reviewer=reviewer or self.reviewer or default_reviewer(),
                                     source=source)
            self.log.record(request, decision, framework=self.framework, run_id=self.run_id)
            del self._pending[request.request_id]
            self.history.append((request, decision))
            self._staged[request.request_id] = (request, decision)
            if self._pending:
                # Several calls are open at once: resume once, when the last is decided
                # (or earlier through submit() where the framework allows it).
                self._changed()
            else:
                self._submit()
        finally:
            self._busy = False
        return decision

    def submit(self) -> AdapterSession:
        """Resume now with what is decided; the undecided calls pause the run again.
        Only for frameworks that allow it (`partial_submit`)."""
        if self._busy:
            raise SessionBusy(f"a decision is already being applied to this {self.framework} "
                              "run.")
        self._busy = True
        try:
            self._submit()
        finally:
            self._busy = False
        return self

    def _submit(self) -> None:
        if not self._staged:
            raise DecisionError("nothing to submit: decide a pending request first.")
        if self._pending and not self.partial_submit:
            raise DecisionError(f"{self.framework} resumes only with a decision for every "
                                "pending call; still undecided: " + ", ".join(self._pending))
        decided = list(self._staged.values())
        self._staged = {}
        self._resume(decided)

    def expire_overdue(self, now: datetime | None = None) -> list[ReviewRequest]:
        """Adapter requests carry no deadline, so nothing expires."""
        return []

    def approve(self, request_id: str | None = None, *, rating: float | None = None,
                comment: str | None = None, reviewer: str | None = None) -> Decision:
        """Approve the pending call as proposed."""
        return self.decide(request_id, "approve", rating=rating, comment=comment,
                           reviewer=reviewer)

    def edit(self, args: dict[str, Any], request_id: str | None = None, *,
             rating: float | None = None, comment: str | None = None,
             reviewer: str | None = None) -> Decision:
        """Approve with changed arguments (only where the framework can take them)."""
        return self.decide(request_id, "edit", args=args, rating=rating, comment=comment,
                           reviewer=reviewer)

    def reject(self, message: str | None = None, request_id: str | None = None, *,
               rating: float | None = None, comment: str | None = None,
               reviewer: str | None = None) -> Decision:
        """Refuse the call; `message` tells the agent why."""
        return self.decide(request_id, "reject", message=message, rating=rating,
                           comment=comment, reviewer=reviewer)

    def respond(self, text: str, request_id: str | None = None, *,
                rating: float | None = None, comment: str | None = None,
                reviewer: str | None = None) -> Decision:
        """Answer in place of the call (only where the framework takes an answer)."""
        return self.decide(request_id, "respond", message=text, rating=rating,
                           comment=comment, reviewer=reviewer)

    # -- display -----------------------------------------------------------------
    def widget(self) -> ReviewWidget:
        """The review widget for this run (one per session, shared by all views)."""
        if self._widget is None:
            from ..widgets.review import ReviewWidget

            self._widget = ReviewWidget(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} framework={self.framework} status={self.status} "
                f"pending={len(self._pending)} decided={len(self.history)}>")
