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
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from .._log import FeedbackLog
from .._log import log as default_log
from .._review_base import ReviewBase, StaleDecision
from .._reviewer import Reviewer, as_reviewer
from .._schema import Action, Decision, ReviewRequest, Source
from .._session import default_reviewer
from .._validate import DecisionError, make_decision

if TYPE_CHECKING:
    pass


class AdapterSession(ReviewBase):
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
        self._init_review()
        self._staged: dict[str, tuple[ReviewRequest, Decision]] = {}

    # -- reading -----------------------------------------------------------------
    @property
    def staged(self) -> list[str]:
        """Request ids decided (and logged) but not yet sent to the framework."""
        return list(self._staged)

    @property
    def _where(self) -> str:
        return f"in this {self.framework} run"

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
    def decide(self, request_id: str | None, action: Action | str, *, args: Any = None,
               message: Any = None, rating: Any = None, comment: Any = None,
               reviewer: str | Reviewer | None = None, source: Source = "human") -> Decision:
        """Validate, log, then resume the framework once every pending call is decided.
        Raises `DecisionError` (nothing logged, nothing resumed) or re-raises what the
        framework raised after resuming (the decision stays logged)."""
        with self._exclusive():
            request = self._request(request_id)
            if not self._live(request):
                del self._pending[request.request_id]
                self._moved_on()
                raise StaleDecision(f"request {request.request_id!r} is no longer awaited by "
                                    f"the {self.framework} run (cancelled or answered "
                                    "elsewhere); nothing resumed.")
            who = as_reviewer(reviewer)
            decision = make_decision(request, action, args=args, message=message,
                                     rating=rating, comment=comment,
                                     reviewer=who.name if who else (self.reviewer
                                                                    or default_reviewer()),
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
        return decision

    def submit(self) -> AdapterSession:
        """Resume now with what is decided; the undecided calls pause the run again.
        Only for frameworks that allow it (`partial_submit`)."""
        with self._exclusive():
            self._submit()
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

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} framework={self.framework} status={self.status} "
                f"pending={len(self._pending)} decided={len(self.history)}>")
