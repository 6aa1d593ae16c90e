"""`ReviewSource`: what the review widget needs from whatever paused.

A LangGraph `Session` is one; each adapter session for another framework
(`hitl_nb.adapters.*`) is another. The widget, `hitl_nb.current()` and the methods
people call headless (`approve`, `edit`, `reject`, `respond`) see only this surface,
so every framework shares one widget, one validation path (`make_decision`) and one
feedback log (`FeedbackLog.record`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ._schema import Action, Decision, ReviewRequest, Source

if TYPE_CHECKING:
    from .widgets.review import ReviewWidget


class ReviewSource(Protocol):
    """A paused run under review.

    >>> source: ReviewSource = hitl_nb.Session(graph, config).invoke(inputs)
    >>> source.pending[0].action, source.status
    ('issue_refund', 'pending')
    >>> source.approve()        # validated, logged, then the run resumes
    """

    @property
    def thread_id(self) -> str:
        """Identifies the run in the log (a LangGraph thread, or one adapter run)."""
        ...

    @property
    def status(self) -> str:
        """One of idle, running, pending, done, error, stopped."""
        ...

    @property
    def result(self) -> Any:
        """The run's final output once `status == "done"`."""
        ...

    @property
    def error(self) -> BaseException | None:
        """What the run raised, if it did."""
        ...

    @property
    def problems(self) -> list[str]:
        """Pauses that cannot be shown as a request (the text names the fix)."""
        ...

    @property
    def history(self) -> list[tuple[ReviewRequest, Decision]]:
        """Every decided request with its decision, oldest first."""
        ...

    @property
    def pending(self) -> list[ReviewRequest]:
        """Requests waiting for a decision."""
        ...

    @property
    def staged(self) -> list[str]:
        """Request ids decided (and logged) but not yet sent to the run."""
        ...

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every change of status, pending, history or result."""
        ...

    def decide(self, request_id: str | None, action: Action | str, *, args: Any = None,
               message: Any = None, rating: Any = None, comment: Any = None,
               reviewer: str | None = None, source: Source = "human") -> Decision:
        """Validate against what is pending, log, then resume the run."""
        ...

    def submit(self) -> object:
        """Resume now with what is decided while other requests stay open."""
        ...

    def expire_overdue(self, now: datetime | None = None) -> list[ReviewRequest]:
        """Apply the default to every pending request whose deadline passed."""
        ...

    def approve(self, request_id: str | None = None, *, rating: float | None = None,
                comment: str | None = None, reviewer: str | None = None) -> Decision: ...

    def edit(self, args: dict[str, Any], request_id: str | None = None, *,
             rating: float | None = None, comment: str | None = None,
             reviewer: str | None = None) -> Decision: ...

    def reject(self, message: str | None = None, request_id: str | None = None, *,
               rating: float | None = None, comment: str | None = None,
               reviewer: str | None = None) -> Decision: ...

    def respond(self, text: str, request_id: str | None = None, *,
                rating: float | None = None, comment: str | None = None,
                reviewer: str | None = None) -> Decision: ...

    def widget(self) -> ReviewWidget:
        """The one review widget of this source."""
        ...
