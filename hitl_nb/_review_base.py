"""What every reviewable run shares, whatever framework paused it.

`Session` (LangGraph) and `adapters.AdapterSession` (other frameworks) differ in how a
run pauses and resumes; finding the pending request, the one-decision-at-a-time guard,
listeners, the shortcut methods and the widget are the same and live here once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, cast

from ._schema import Action, Decision, ReviewRequest, Source
from ._validate import DecisionError

if TYPE_CHECKING:
    from ._reviewer import Reviewer
    from ._source import ReviewSource
    from .widgets.review import ReviewWidget


Status = Literal["idle", "running", "pending", "done", "error", "stopped", "halted"]


class StaleDecision(DecisionError):
    """The request is no longer pending (already decided, or the run moved on)."""


class SessionBusy(DecisionError):
    """A decision is being applied right now; the new one was not taken."""


class ReviewBase:
    """Pending requests and the decision shortcuts; subclasses implement `decide`.

    Subclasses call `_init_review()` in `__init__` and move `status` along.
    """

    status: Status
    run_id: str
    result: Any
    error: BaseException | None
    problems: list[str]
    history: list[tuple[ReviewRequest, Decision]]
    _pending: dict[str, ReviewRequest]
    _listeners: list[Callable[[], None]]
    _busy: bool
    _widget: ReviewWidget | None
    _staged: dict[str, Any]

    def _init_review(self) -> None:
        """The state every run starts in: a new run id, idle, nothing pending or decided."""
        self.run_id = uuid.uuid4().hex
        self.status = "idle"
        self.result = None
        self.error = None
        self.problems = []
        self.history = []
        self._pending = {}
        self._listeners = []
        self._busy = False
        self._widget = None

    @property
    def _where(self) -> str:
        """Where requests are pending, for messages ("on thread 't1'")."""
        raise NotImplementedError

    # -- reading -----------------------------------------------------------------
    @property
    def pending(self) -> list[ReviewRequest]:
        """Requests waiting for a decision, in the order the run raised them."""
        return list(self._pending.values())

    @property
    def done(self) -> bool:
        return self.status == "done"

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every change of status, pending, history or result."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _request(self, request_id: str | None) -> ReviewRequest:
        """The pending request `request_id` names (or the only one), else a clear error."""
        if request_id is None:
            if len(self._pending) == 1:
                return next(iter(self._pending.values()))
            if not self._pending:
                # e.g. decided, then the kernel restarted before the decision was sent
                waiting = (f" {len(self._staged)} decision(s) made earlier wait to be sent: "
                           "call submit() (the widget's Submit button)."
                           if self._staged else "")
                raise StaleDecision(f"nothing is pending {self._where} "
                                    f"(status: {self.status}).{waiting}")
            raise DecisionError(f"{len(self._pending)} requests are pending; pass request_id= "
                                f"one of {list(self._pending)}.")
        if request_id not in self._pending:
            raise StaleDecision(f"request {request_id!r} is not pending {self._where}: it was "
                                "already decided or the run moved on. Pending now: "
                                + (", ".join(self._pending) or "nothing"))
        return self._pending[request_id]

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One decision at a time: a second click while the first resumes is refused."""
        if self._busy:
            raise SessionBusy(f"a decision is already being applied {self._where}; "
                              "wait until it finishes.")
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    # -- deciding ----------------------------------------------------------------
    def decide(self, request_id: str | None, action: Action | str, *, args: Any = None,
               message: Any = None, rating: Any = None, comment: Any = None,
               reviewer: str | Reviewer | None = None, source: Source = "human") -> Decision:
        """Validate against what is pending, log, then resume the run."""
        raise NotImplementedError

    def approve(self, request_id: str | None = None, *, rating: float | None = None,
                comment: str | None = None,
                reviewer: str | Reviewer | None = None) -> Decision:
        """Approve the pending request as proposed."""
        return self.decide(request_id, "approve", rating=rating, comment=comment,
                           reviewer=reviewer)

    def edit(self, args: dict[str, Any], request_id: str | None = None, *,
             rating: float | None = None, comment: str | None = None,
             reviewer: str | Reviewer | None = None) -> Decision:
        """Approve with changed arguments (validated against the request's schema)."""
        return self.decide(request_id, "edit", args=args, rating=rating, comment=comment,
                           reviewer=reviewer)

    def reject(self, message: str | None = None, request_id: str | None = None, *,
               rating: float | None = None, comment: str | None = None,
               reviewer: str | Reviewer | None = None) -> Decision:
        """Refuse the action; `message` tells the agent why."""
        return self.decide(request_id, "reject", message=message, rating=rating,
                           comment=comment, reviewer=reviewer)

    def respond(self, text: str, request_id: str | None = None, *,
                rating: float | None = None, comment: str | None = None,
                reviewer: str | Reviewer | None = None) -> Decision:
        """Answer in place of the action (the agent receives `text`)."""
        return self.decide(request_id, "respond", message=text, rating=rating,
                           comment=comment, reviewer=reviewer)

    # -- display -----------------------------------------------------------------
    def widget(self) -> ReviewWidget:
        """The review widget of this run (one per run, shared by all views)."""
        if self._widget is None:
            from .widgets.review import ReviewWidget

            # subclasses complete the ReviewSource protocol (thread_id, history, ...)
            self._widget = ReviewWidget(cast("ReviewSource", self))
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget()._repr_mimebundle_(**kwargs)
