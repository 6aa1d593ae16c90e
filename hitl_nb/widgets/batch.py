"""Batch review of large queues: a server-side paged table of pending requests.

Only the visible page's rows are synced to the browser. The front end (`batch.js`)
sends:

- `{"type": "query", "query": {...}, "seq": n}`: filter / sort / page (validated,
  idempotent; `seq` comes back in `view` so the page knows its query was applied);
- `{"type": "decide", "token", "action": "approve" | "reject", "ids": [...], "message"}`;
- `{"type": "edit", "token", "id", "args"}`;
- `{"type": "prepare_matching", "token"}`, then `{"type": "confirm_matching", "token",
  "count"}` (the count the confirmation showed), or `{"type": "cancel_matching"}`.

`token` is issued afresh for every state of the table (any decision, any new view), so
a message built on an old state (double click, replay, a stale tab) changes nothing.
Every decision goes through `Session.decide_many` / `Session.decide`: validated by the
same rules as a single click and logged one row per item.
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .._diff import args_distance, changes, editor_schema
from .._queue import NO_RISK, Filter, Item, Query, QueryError, Queue
from .._tokens import same_token
from .._validate import MAX_TEXT, DecisionError, schema_for
from . import _assets

if TYPE_CHECKING:
    from .._session import Session

MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "query": frozenset({"type", "query", "seq"}),
    "decide": frozenset({"type", "token", "action", "ids", "message"}),
    "edit": frozenset({"type", "token", "id", "args"}),
    "prepare_matching": frozenset({"type", "token"}),
    "confirm_matching": frozenset({"type", "token", "count"}),
    "cancel_matching": frozenset({"type"}),
}
BULK_ACTIONS = ("approve", "reject")
MAX_IDS = 10_000
"""Most rows one "decide" message may name (use approve-all-matching beyond)."""
FREEZE_OVER = 100
"""Bulk actions over this many sessions keep the garbage collector off the old heap."""
ROW_TEXT = 400
"""Longest reason / preview text sent per row (the full text is in the log)."""
MAX_UNKNOWN_SHOWN = 10
"""Unknown thread ids named in `from_threads`' error (the rest are counted)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BulkResult:
    """What a bulk action did: how many were decided, and why others were not."""

    action: str
    decided: int
    refused: dict[int, str]

    def __str__(self) -> str:
        done = f"{self.action}: {self.decided} decided"
        return done + (f", {len(self.refused)} refused" if self.refused else "")


@dataclass(frozen=True, slots=True)
class _Pending:
    """An approve-all-matching awaiting confirmation, bound to the exact set it counted."""

    token: str
    filter: Filter
    keys: tuple[int, ...]


def _never_ran(session: Session) -> bool:
    """True when the graph's checkpointer holds no checkpoint for the session's thread
    (asked only of sessions with nothing pending: a pause needs a checkpoint)."""
    return session.graph.get_state(session.config).created_at is None


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= ROW_TEXT:
        return text
    return text[:ROW_TEXT] + "…"


class BatchReview(anywidget.AnyWidget):
    """Review thousands of proposed actions: filter, sort, page, select, approve or
    reject in bulk, edit one row. Every item is logged individually.

    >>> batch = hitl_nb.BatchReview(session)                       # one thread, many
    >>> batch = hitl_nb.BatchReview.from_threads(graph, thread_ids)  # many threads
    >>> batch.query(action="issue_refund", risk="low")
    >>> batch.approve_matching(expected=batch.matching_approvable)
    >>> batch.query(risk=hitl_nb.BatchReview.NO_RISK)              # items without a risk
    """

    NO_RISK = NO_RISK
    """The risk filter for items without a risk label (`risk=None` means any risk)."""

    _esm = _assets.esm("batch.js")
    _css = _assets.css("batch.css")

    rows: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    view: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)
    counts: traitlets.Dict[str, int] = traitlets.Dict({}).tag(sync=True)
    facets: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)
    token = traitlets.Unicode("").tag(sync=True)
    confirm: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)
    errors: traitlets.Dict[str, str] = traitlets.Dict({}).tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)

    def __init__(self, sessions: Session | Iterable[Session], *, page_size: int = 25,
                 reviewer: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from .._session import Session

        chosen = [sessions] if isinstance(sessions, Session) else list(sessions)
        if not chosen:
            raise ValueError("BatchReview needs at least one Session (or use "
                             "BatchReview.from_threads(graph, thread_ids)).")
        self.reviewer = reviewer
        self.refusals: list[str] = []
        self.results: list[BulkResult] = []
        self._queue = Queue(chosen)
        self._query = Query.from_json({"page_size": page_size})
        self._confirm: _Pending | None = None
        self._deferred: set[int] | None = None
        self._seq = 0
        self._facets_version = -1
        self.on_msg(self._on_message)
        for session in self._queue.sessions:
            session.subscribe(self._listener(session))
        self._render()

    @classmethod
    def from_threads(cls, graph: Any, thread_ids: Iterable[str], *, page_size: int = 25,
                     reviewer: str | None = None, **session_kwargs: Any) -> BatchReview:
        """One `Session.attach` per thread (each with its own pending review). Raises
        `ValueError` naming the ids the graph's checkpointer has no thread for (a typo,
        or another checkpointer), rather than counting threads that never ran."""
        from .._session import Session

        sessions = [Session.attach(graph, {"configurable": {"thread_id": t}}, **session_kwargs)
                    for t in thread_ids]
        unknown = [s.thread_id for s in sessions if not s.pending and _never_ran(s)]
        if unknown:
            shown = ", ".join(map(repr, unknown[:MAX_UNKNOWN_SHOWN]))
            more = len(unknown) - MAX_UNKNOWN_SHOWN
            raise ValueError(
                f"no thread {shown}{f' (and {more} more)' if more > 0 else ''} in this "
                "graph's checkpointer: pass the ids of threads that ran on it "
                "(hitl_nb.inbox(graph) lists those with a pending review).")
        return cls(sessions, page_size=page_size, reviewer=reviewer)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from .._session import set_current

        if len(self._queue.sessions) == 1:  # hitl_nb.current() works as for a review widget
            set_current(self._queue.sessions[0])
        return super()._repr_mimebundle_(**kwargs)

    # -- reading -----------------------------------------------------------------
    @property
    def sessions(self) -> list[Session]:
        return list(self._queue.sessions)

    @property
    def items(self) -> list[Item]:
        """Every item ever queued (pending and decided), in queue order."""
        return list(self._queue.items)

    @property
    def matching(self) -> list[Item]:
        """Items matching the current filter, in the current sort order."""
        return list(self._queue.ordered(self._query))

    def view_query(self) -> dict[str, Any]:
        """The current view as the front end sends it in a `query` message."""
        return self._query.to_json()

    @property
    def matching_approvable(self) -> int:
        """How many pending items match the filter and allow approve."""
        return len(self._approvable(self._query.filter))

    def _approvable(self, flt: Filter) -> list[Item]:
        pending = flt if flt.status == "pending" else replace(flt, status="pending")
        return [i for i in self._queue.select(pending) if "approve" in i.request.allowed]

    # -- syncing -----------------------------------------------------------------
    def _listener(self, session: Session) -> Callable[[], None]:
        def changed() -> None:
            if self._deferred is not None:  # inside a bulk action: sync once at the end
                self._deferred.add(id(session))
                return
            self._queue.sync(session)
            self._render()

        return changed

    def _render(self) -> None:
        """Mirror the current view into synced state; a new token for the new state."""
        queue, query = self._queue, self._query
        ordered = queue.ordered(query)
        last = max(0, (len(ordered) - 1) // query.page_size)
        if query.page > last:
            self._query = query = Query(filter=query.filter, sort=query.sort,
                                        descending=query.descending, page=last,
                                        page_size=query.page_size)
        rows = [self._row(item) for item in queue.page(query)]
        pending = sum(1 for i in queue.items if i.pending)
        with self.hold_sync():
            if self._facets_version != queue.version:
                self.facets = queue.facets()
                self._facets_version = queue.version
            self.rows = rows
            self.view = {**query.to_json(), "pages": last + 1, "seq": self._seq,
                         "described": query.filter.describe()}
            self.counts = {"total": len(queue.items), "pending": pending,
                           "decided": len(queue.items) - pending, "matching": len(ordered),
                           "approvable": len(self._approvable(query.filter)),
                           "threads": len(queue.sessions)}
            self.token = secrets.token_hex(16)

    def _row(self, item: Item) -> dict[str, Any]:
        request = item.request
        row: dict[str, Any] = {
            "id": item.key, "thread": item.session.thread_id, "action": request.action,
            "args": request.args, "risk": request.risk, "confidence": request.confidence,
            "level": request.level, "reason": _short(request.reason),
            "preview": _short(request.preview), "status": item.status, "staged": item.staged,
            "allowed": list(request.allowed), "final_args": None, "changes": [],
        }
        if item.decision is not None and item.decision.args != request.args:
            row["final_args"] = item.decision.args
            row["changes"] = changes(request.args, item.decision.args)
            row["edit_distance"] = args_distance(request.args, item.decision.args)
        if item.pending and "edit" in request.allowed:
            row["args_schema"] = editor_schema(schema_for(request))
        return row

    # -- deciding (the Python API; messages call the same methods) -----------------
    def query(self, *, page: int | None = None, page_size: int | None = None,
              sort: str | None = None, descending: bool | None = None,
              **filters: Any) -> BatchReview:
        """Change the view: `action`, `risk`, `min_confidence`, `max_confidence`, `text`,
        `status` filter (a new filter starts at page 0), `sort`, `descending`, `page`.
        A filter passed as None is cleared (`status=None`: back to the default,
        pending); one not passed is kept. `risk=NO_RISK`
        (`BatchReview.NO_RISK`) keeps the items without a risk label."""
        current = self._query.to_json()
        if filters:
            current["filter"] = {**current["filter"], **filters}
            current["page"] = 0
        for name, value in (("page", page), ("page_size", page_size), ("sort", sort),
                            ("descending", descending)):
            if value is not None:
                current[name] = value
        self._set_query(Query.from_json(current))
        return self

    def _set_query(self, query: Query) -> None:
        if query.filter != self._query.filter and self._confirm is not None:
            self._drop_confirm()
        self._query = query
        self._render()

    def approve(self, ids: Sequence[int]) -> BulkResult:
        """Approve these rows (by `id`, as shown in `rows`), each logged on its own."""
        return self._bulk("approve", ids)

    def reject(self, ids: Sequence[int], message: str | None = None) -> BulkResult:
        """Reject these rows; `message` tells the agent why (one per row in the log)."""
        return self._bulk("reject", ids, message=message)

    def edit(self, id: int, args: dict[str, Any]) -> None:
        """Approve one row with changed arguments (validated against its schema)."""
        item = self._item(id)
        try:
            item.session.decide(item.request.request_id, "edit", args=args,
                                reviewer=self.reviewer)
            if item.session.staged and item.session._submittable():
                item.session.submit()  # resume now; the session's other requests wait
        finally:
            self._queue.sync(item.session)
            self._render()

    def approve_matching(self, expected: int) -> BulkResult:
        """Approve every pending item matching the current filter, if their number is
        `expected` (the count you confirmed); otherwise nothing is approved."""
        items = self._approvable(self._query.filter)
        if len(items) != expected:
            raise DecisionError(f"{len(items)} pending items match "
                                f"{self._query.filter.describe()!r}, not {expected}; "
                                "nothing approved. Check the filter and confirm again.")
        return self._bulk("approve", [i.key for i in items])

    def _item(self, key: Any) -> Item:
        if isinstance(key, bool) or not isinstance(key, int) or \
                not 0 <= key < len(self._queue.items):
            raise DecisionError(f"row {key!r:.40} is not in this queue.")
        return self._queue.items[key]

    def _bulk(self, action: str, ids: Sequence[int], *, message: str | None = None) -> BulkResult:
        if action not in BULK_ACTIONS:
            raise DecisionError(f"bulk action must be one of {list(BULK_ACTIONS)}, "
                                f"got {action!r:.40}.")
        items = [self._item(k) for k in dict.fromkeys(ids)]
        not_pending = [i for i in items if not i.pending]
        if not_pending:
            raise DecisionError(f"row {not_pending[0].key} is not pending "
                                f"({not_pending[0].status}); nothing decided.")
        by_session: dict[int, list[Item]] = {}
        for item in items:
            by_session.setdefault(id(item.session), []).append(item)
        refused: dict[int, str] = {}
        decided = 0
        self._deferred = set()
        # Thousands of resumes allocate a lot, and each full collection would rescan the
        # whole long-lived heap (every session, every checkpoint): park it meanwhile.
        freeze = len(by_session) >= FREEZE_OVER and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            for group in by_session.values():
                count, reasons = self._decide_group(group, action, message)
                decided += count
                refused.update(reasons)
        finally:
            if freeze:
                gc.unfreeze()
            dirty, self._deferred = self._deferred, None
            for session in self._queue.sessions:
                if id(session) in dirty or id(session) in by_session:
                    self._queue.sync(session)
            result = BulkResult(action=action, decided=decided, refused=refused)
            self.results.append(result)
            with self.hold_sync():
                self.errors = {str(k): v for k, v in list(refused.items())[:100]}
                self.notice = str(result) + (f" (first: {next(iter(refused.values()))})"
                                             if refused else "")
                self._render()
        return result

    def _decide_group(self, group: list[Item], action: str,
                      message: str | None) -> tuple[int, dict[int, str]]:
        """Decide one session's rows with one `decide_many`. When it refuses, refuse just
        the rows that cannot be decided, each with its own reason, and decide the rest."""
        session = group[0].session
        ids = [i.request.request_id for i in group]
        try:
            session.decide_many(ids, action, message=message, reviewer=self.reviewer)
        except DecisionError as exc:
            reasons = session.refusals(ids, action, message=message,
                                       reviewer=self.reviewer) if len(group) > 1 else {}
            rest = [i for i in group if i.request.request_id not in reasons]
            if not reasons or not rest:  # one reason for all (e.g. the run was stopped)
                return 0, {i.key: reasons.get(i.request.request_id, str(exc)) for i in group}
            decided, refused = self._decide_group(rest, action, message)
            return decided, {**refused, **{i.key: reasons[i.request.request_id]
                                           for i in group if i.request.request_id in reasons}}
        except Exception as exc:  # the graph raised after resuming: decided, logged
            return len(group), {i.key: f"decided, but the graph raised: {exc!r:.200}"
                                for i in group}
        return len(group), {}

    def _drop_confirm(self) -> None:
        self._confirm = None
        self.confirm = {}

    # -- front-end messages -------------------------------------------------------
    def _refuse(self, reason: str, row: Any = None) -> None:
        self.refusals.append(reason)
        with self.hold_sync():
            if isinstance(row, int) and not isinstance(row, bool):
                self.errors = {**self.errors, str(row): reason}
            self.notice = reason

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str) or kind not in MESSAGE_KEYS:
            self._refuse(f"ignored an unknown message: {content!r:.100}")
            return
        unknown = set(content) - MESSAGE_KEYS[kind]
        if unknown:
            self._refuse(f"refused: unexpected fields {sorted(unknown)}; nothing changed.")
            return
        if kind == "query":
            seq = content.get("seq", 0)
            self._seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
            try:
                self._set_query(Query.from_json(content.get("query")))
            except QueryError as exc:
                self._refuse(f"refused query: {exc}")
                self._render()  # echo `seq`: the page drops the query it was waiting for
            return
        if kind == "cancel_matching":
            self._drop_confirm()
            return
        if kind == "confirm_matching":
            self._on_confirm(content)
            return
        token = content.get("token")
        if not same_token(token, self.token):
            self._refuse("refused: this message was built on an older state of the table "
                         "(double click, replay or stale view); nothing changed.")
            return
        self.token = secrets.token_hex(16)  # spent: the same message twice is a replay
        try:
            if kind == "prepare_matching":
                self._on_prepare()
            elif kind == "decide":
                self._on_decide(content)
            else:
                self.errors = {k: v for k, v in self.errors.items()
                               if k != str(content.get("id"))}
                self.edit(self._item(content.get("id")).key, content.get("args"))
                self.notice = f"row {content.get('id')}: edited"
        except DecisionError as exc:
            self._refuse(str(exc), content.get("id"))
            self._render()
        except Exception as exc:  # the graph raised after resuming: decided and logged
            self.notice = f"decided, but the graph raised: {exc!r:.300}"
            self._render()

    def _on_decide(self, content: dict[str, Any]) -> None:
        action, ids, message = content.get("action"), content.get("ids"), content.get("message")
        if action not in BULK_ACTIONS:
            raise DecisionError(f"refused: bulk action must be one of {list(BULK_ACTIONS)}.")
        if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS or not all(
                isinstance(k, int) and not isinstance(k, bool) for k in ids):
            raise DecisionError(f"refused: ids must be a non-empty list of at most {MAX_IDS} "
                                "row ids; nothing decided.")
        if message is not None and (not isinstance(message, str) or len(message) > MAX_TEXT):
            raise DecisionError(f"refused: message must be text of at most {MAX_TEXT} "
                                "characters.")
        self._bulk(action, ids, message=message or None)

    def _on_prepare(self) -> None:
        flt = self._query.filter
        keys = tuple(i.key for i in self._approvable(flt))
        if not keys:
            raise DecisionError(f"no pending item that can be approved matches "
                                f"{flt.describe()!r}.")
        pending = _Pending(token=secrets.token_hex(16), filter=flt, keys=keys)
        self._confirm = pending
        matching = len([i for i in self._queue.select(flt) if i.pending])
        self.confirm = {"token": pending.token, "count": len(keys), "action": "approve",
                        "described": flt.describe(), "skipped": matching - len(keys)}

    def _on_confirm(self, content: dict[str, Any]) -> None:
        pending, token, count = self._confirm, content.get("token"), content.get("count")
        if pending is None or not same_token(token, pending.token):
            self._refuse("refused: no approve-all confirmation is open with this token "
                         "(already used, cancelled or forged); nothing approved.")
            return
        self._drop_confirm()  # one confirmation, one use
        now = tuple(i.key for i in self._approvable(pending.filter))
        if isinstance(count, bool) or not isinstance(count, int) or count != len(pending.keys):
            self._refuse(f"refused: the confirmation was for {len(pending.keys)} items, the "
                         f"message says {count!r:.20}; nothing approved.")
            return
        if pending.filter != self._query.filter or now != pending.keys:
            self._refuse(f"refused: the matching set changed since you confirmed "
                         f"({len(pending.keys)} then, {len(now)} now); nothing approved. "
                         "Review the filter and confirm again.")
            self._render()
            return
        self._bulk("approve", list(now))
