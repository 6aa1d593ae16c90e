"""`hitl_nb.inbox(graph)`: every thread with a pending review, e.g. after a kernel restart.

Threads are discovered from the graph's checkpointer (with `SqliteSaver` the reviews
survive a restart; `InMemorySaver` only lists this kernel's threads). Each thread with
something pending becomes a `Session` attached to it, so deciding resumes that thread
exactly as a click on its original widget would. Approvals already given (two-person
rule) are read back from the feedback log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._deadline import OnTimeout, check_on_timeout
from ._log import FeedbackLog, LogIntegrityError
from ._reviewer import Reviewer
from ._schema import ReviewRequest, utcnow
from ._session import Session, set_current

if TYPE_CHECKING:
    import pandas as pd

    from ._policy import Policy

SUMMARY_COLUMNS = ("thread_id", "request_id", "state", "action", "level", "gate",
                   "gate_reason", "required_roles", "approvals", "requested_at", "waiting_s",
                   "todo")


def thread_ids(checkpointer: Any) -> list[str]:
    """Every thread id the checkpointer holds (any checkpoint namespace)."""
    if checkpointer is None:
        raise ValueError("this graph has no checkpointer, so nothing can be pending: compile "
                         "it with checkpointer=SqliteSaver(...) (survives a restart) or "
                         "InMemorySaver().")
    from langgraph.checkpoint.sqlite import SqliteSaver

    if isinstance(checkpointer, SqliteSaver):
        # One indexed query instead of loading every checkpoint of every thread.
        with checkpointer.cursor(transaction=False) as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id")
            return [str(row[0]) for row in cur.fetchall()]
    storage = getattr(checkpointer, "storage", None)
    if isinstance(storage, dict):  # InMemorySaver: thread_id -> namespaces
        return [str(t) for t in storage]
    seen: dict[str, None] = {}
    for item in checkpointer.list(None):
        seen.setdefault(str(item.config["configurable"]["thread_id"]), None)
    return list(seen)


class Inbox:
    """Sessions with pending reviews, oldest request first.

    >>> box = hitl_nb.inbox(graph)        # displays one review widget per thread
    >>> box.to_pandas()                   # one row per pending request
    >>> box["thread-7"].approve()         # or click in its widget

    `problems`: threads that could not be opened, and why (an unreadable stored request).
    """

    def __init__(self, sessions: list[Session], problems: list[str] | None = None) -> None:
        self.sessions = sessions
        self.problems: list[str] = problems or []
        self._widget: Any = None

    def __len__(self) -> int:
        return len(self.sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(self.sessions)

    def __getitem__(self, thread_id: str) -> Session:
        for session in self.sessions:
            if session.thread_id == thread_id:
                return session
        raise KeyError(f"no pending review on thread {thread_id!r}; pending threads: "
                       f"{[s.thread_id for s in self.sessions]}")

    @property
    def pending(self) -> int:
        """Requests still waiting, over all threads."""
        return sum(len(s.pending) for s in self.sessions)

    def to_pandas(self) -> pd.DataFrame:
        """One row per request waiting for a person: what, why, who may approve, waiting
        since when. `state` is `pending` (decide it), `staged` (decided and logged, not yet
        sent: `submit()`) or `error` (the run raised after a decision: `retry()`); `todo`
        says what to do."""
        import pandas as pd

        now = utcnow()
        rows = []

        def row(session: Session, request: ReviewRequest, state: str, todo: str,
                approvals: str | None) -> dict[str, Any]:
            return {
                "thread_id": session.thread_id, "request_id": request.request_id,
                "state": state, "action": request.action, "level": request.level,
                "gate": request.gate, "gate_reason": request.gate_reason,
                "required_roles": ", ".join(request.required_roles) or None,
                "approvals": approvals, "requested_at": request.requested_at,
                "waiting_s": (now - request.requested_at).total_seconds(), "todo": todo}

        for session in self.sessions:
            for request in session.pending:
                rows.append(row(session, request, "pending", "decide",
                                str(session.approvals(request.request_id))))
            decided = {r.request_id: (r, d) for r, d in session.history}
            for request_id in session.staged:
                request, decision = decided[request_id]
                rows.append(row(session, request, "staged",
                                f"{decision.action} logged, not sent: submit()", None))
            if session.status == "error":
                error = f"the run raised ({session.error!s:.200}): retry()"
                if session.history:
                    rows.append(row(session, session.history[-1][0], "error", error, None))
                else:  # a restarted kernel: the failed step is known, the request is not
                    rows.append({"thread_id": session.thread_id, "state": "error",
                                 "todo": error})
        df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
        df["requested_at"] = pd.to_datetime(df["requested_at"], utc=True)
        df["waiting_s"] = df["waiting_s"].astype("float64")
        return df

    def widget(self) -> Any:
        """A column with a heading and each thread's review widget."""
        if self._widget is None:
            import ipywidgets

            count = self.pending
            heading = (f"{count} pending review{'s' if count != 1 else ''} in "
                       f"{len(self.sessions)} thread{'s' if len(self.sessions) != 1 else ''}"
                       if self.sessions else "No pending reviews")
            problems = [ipywidgets.Label(problem) for problem in self.problems]
            self._widget = ipywidgets.VBox(
                [ipywidgets.Label(heading), *problems, *(s.widget() for s in self.sessions)])
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.sessions:
            set_current(self.sessions[0])  # hitl_nb.current(): the oldest pending review
        return self.widget()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        threads = ", ".join(s.thread_id for s in self.sessions)
        count = len(self.problems)
        unread = (f"; {count} thread{'s' if count != 1 else ''} unreadable (.problems)"
                  if count else "")
        return (f"<hitl_nb.Inbox {self.pending} pending in {len(self.sessions)} threads: "
                f"{threads}{unread}>")


def inbox(graph: Any, *, log: FeedbackLog | None = None,
          reviewer: str | Reviewer | None = None, policy: Policy | None = None,
          on_timeout: OnTimeout = "reject", threads: list[str] | None = None) -> Inbox:
    """Every thread of `graph` with a pending review, as an `Inbox` (displays as the
    review widgets; `.to_pandas()` summarises).

    >>> graph = build_graph(checkpointer=SqliteSaver(sqlite3.connect("runs.sqlite",
    ...                                                check_same_thread=False)))
    >>> hitl_nb.inbox(graph, log=hitl_nb.FeedbackLog("decisions.sqlite"))

    A thread whose step raised after a decision is listed too (its widget shows the
    error and Retry), and so is one with a decision logged but not yet sent (Submit).
    `threads` limits the search to those ids; the other keywords go to each `Session`.
    Requests whose deadline passed meanwhile get their default on the way (logged).
    A thread whose stored request cannot be read back is left out and named in
    `Inbox.problems` (and in the widget); the other threads are listed as usual.
    """
    check_on_timeout(on_timeout)  # also when no thread is pending: a typo fails now
    ids = threads if threads is not None else thread_ids(getattr(graph, "checkpointer", None))
    sessions, problems = [], []
    for thread_id in ids:
        try:
            session = Session.attach(graph, {"configurable": {"thread_id": thread_id}},
                                     log=log, reviewer=reviewer, policy=policy,
                                     on_timeout=on_timeout)
        except LogIntegrityError as exc:  # one bad stored row must not hide other threads
            problems.append(f"thread {thread_id!r} cannot be opened: {exc}")
            continue
        # waiting for a person: a decision, a submit of one decided elsewhere, or a retry
        if session.pending or session.problems or session.staged or session.status == "error":
            sessions.append(session)
    sessions.sort(key=lambda s: min((r.requested_at for r in s.pending), default=utcnow()))
    return Inbox(sessions, problems)
