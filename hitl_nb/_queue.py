"""The review queue behind `BatchReview`: every request of many sessions, filtered,
sorted and paged on the Python side so only the visible page reaches the browser.

Sessions stay the single source of truth: `Queue.sync(session)` folds what a session
now has pending, decided or staged into the items; decisions themselves always go
through `Session.decide` / `Session.decide_many`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from ._schema import Decision, ReviewRequest, bounded_number, canonical_json

if TYPE_CHECKING:
    from ._session import Session

Status = Literal["pending", "decided", "all"]
SortKey = Literal["queue", "action", "risk", "confidence", "thread", "status"]
STATUSES: tuple[Status, ...] = get_args(Status)
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)
RISK_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
"""Known risk labels sort by severity; other labels after them, alphabetically."""
MAX_TEXT = 200
PAGE_SIZES = (10, 25, 50, 100)


class QueryError(ValueError):
    """A filter, sort or page the queue cannot apply; the message names the fix."""


class NoRisk(enum.Enum):
    """The type of `NO_RISK` (an enum member: a typed, picklable singleton)."""

    NO_RISK = "no risk"

    def __repr__(self) -> str:
        return "NO_RISK"


NO_RISK = NoRisk.NO_RISK
"""The risk filter for items that carry no risk label: `batch.query(risk=NO_RISK)`.
`risk=None` means any risk, as None does for every filter field, so the two cannot be
mixed up; on the wire it is `{"no_risk": true}`, which no label can equal."""
NO_RISK_JSON = {"no_risk": True}
RiskFilter = str | NoRisk | None


def _confidence(value: Any, name: str) -> float | None:
    return bounded_number(None if value == "" else value, name, 0, 1, QueryError)


def _label(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise QueryError(f"{name} must be text of at most {MAX_TEXT} characters.")
    return value


def _risk(value: Any) -> RiskFilter:
    if value is NO_RISK or value == NO_RISK_JSON:
        return NO_RISK
    if value == "":  # "" was once both "any" and "none": say which
        raise QueryError("risk \"\" is ambiguous: pass None for any risk, or NO_RISK "
                         "(hitl_nb.BatchReview.NO_RISK) for items without a risk label.")
    if isinstance(value, dict):
        raise QueryError(f"risk must be a label, None (any) or {NO_RISK_JSON} (no risk "
                         f"label), got {value!r:.60}.")
    return _label(value, "risk")


@dataclass(frozen=True, kw_only=True, slots=True)
class Filter:
    """Which items a view shows: exact action and risk (`NO_RISK`: items without a
    risk label), a confidence range, a case-insensitive text search (action, arguments,
    reason, preview, thread) and a status (pending, decided or all). None: no filter
    (for `status`: the default, pending).

    >>> Filter(action="issue_refund", min_confidence=0.8).describe()
    'action = issue_refund · confidence ≥ 0.8 · pending'
    >>> Filter(risk=NO_RISK).describe()
    'no risk label · pending'
    """

    action: str | None = None
    risk: RiskFilter = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    text: str = ""
    status: Status = "pending"

    @classmethod
    def from_json(cls, value: Any) -> Filter:
        """Validate what the front end (or a caller) sent; raises `QueryError`."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise QueryError(f"filter must be an object, got {type(value).__name__}.")
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise QueryError(f"unknown filter fields {sorted(unknown)}; use "
                             f"{[f.name for f in fields(cls)]}.")
        status = value.get("status")
        if status is None:  # cleared: back to the default view, as for every filter
            status = "pending"
        if status not in STATUSES:
            raise QueryError(f"status must be one of {list(STATUSES)}, got {status!r:.40}.")
        text = value.get("text") or ""
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise QueryError(f"text must be at most {MAX_TEXT} characters of text.")
        low = _confidence(value.get("min_confidence"), "min_confidence")
        high = _confidence(value.get("max_confidence"), "max_confidence")
        if low is not None and high is not None and low > high:
            raise QueryError(f"min_confidence {low} is above max_confidence {high}.")
        return cls(action=_label(value.get("action"), "action"),
                   risk=_risk(value.get("risk")), min_confidence=low,
                   max_confidence=high, text=text.strip(), status=cast(Status, status))

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.risk is NO_RISK:
            out["risk"] = dict(NO_RISK_JSON)
        return out

    def describe(self) -> str:
        """The filter in words, as the approve-all confirmation states it."""
        parts = []
        if self.action is not None:
            parts.append(f"action = {self.action}")
        if self.risk is NO_RISK:
            parts.append("no risk label")
        elif self.risk is not None:
            parts.append(f"risk = {self.risk}")
        if self.min_confidence is not None:
            parts.append(f"confidence ≥ {self.min_confidence:g}")
        if self.max_confidence is not None:
            parts.append(f"confidence ≤ {self.max_confidence:g}")
        if self.text:
            parts.append(f"text contains {self.text!r}")
        parts.append(self.status if self.status != "all" else "any status")
        return " · ".join(parts)

    def matches(self, item: Item) -> bool:
        request = item.request
        if self.status == "pending" and not item.pending:
            return False
        if self.status == "decided" and item.pending:
            return False
        if self.action is not None and request.action != self.action:
            return False
        if self.risk is NO_RISK:
            if request.risk:  # "" counts as no label, as in the facets
                return False
        elif self.risk is not None and request.risk != self.risk:
            return False
        conf = request.confidence
        if self.min_confidence is not None and (conf is None or conf < self.min_confidence):
            return False
        if self.max_confidence is not None and (conf is None or conf > self.max_confidence):
            return False
        return not self.text or self.text.lower() in item.text


@dataclass(frozen=True, kw_only=True, slots=True)
class Query:
    """A view: filter, sort key and direction, page number (from 0) and page size."""

    filter: Filter = field(default_factory=Filter)
    sort: SortKey = "queue"
    descending: bool = False
    page: int = 0
    page_size: int = 25

    @classmethod
    def from_json(cls, value: Any) -> Query:
        if not isinstance(value, dict):
            raise QueryError(f"query must be an object, got {type(value).__name__}.")
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise QueryError(f"unknown query fields {sorted(unknown)}.")
        sort = value.get("sort", "queue")
        if sort not in SORT_KEYS:
            raise QueryError(f"sort must be one of {list(SORT_KEYS)}, got {sort!r:.40}.")
        descending = value.get("descending", False)
        page, size = value.get("page", 0), value.get("page_size", 25)
        if not isinstance(descending, bool):
            raise QueryError("descending must be true or false.")
        if isinstance(page, bool) or not isinstance(page, int) or page < 0:
            raise QueryError(f"page must be a whole number from 0, got {page!r:.40}.")
        if not isinstance(size, int) or isinstance(size, bool) or size not in PAGE_SIZES:
            raise QueryError(f"page_size must be one of {list(PAGE_SIZES)}, got {size!r:.40}.")
        return cls(filter=Filter.from_json(value.get("filter")), sort=cast(SortKey, sort),
                   descending=descending, page=page, page_size=size)

    def to_json(self) -> dict[str, Any]:
        return {"filter": self.filter.to_json(), "sort": self.sort,
                "descending": self.descending, "page": self.page, "page_size": self.page_size}


@dataclass(slots=True, eq=False)
class Item:
    """One request in the queue; `key` is its stable row id in the widget."""

    key: int
    session: Session
    request: ReviewRequest
    decision: Decision | None = None
    staged: bool = False
    gone: bool = False
    """No longer pending, but not decided here (answered elsewhere, or the run moved on)."""
    _text: str | None = None

    @property
    def text(self) -> str:
        """Lower-cased search text, built on the first text search (not for every row)."""
        if self._text is None:
            self._text = _search_text(self.request, self.session.thread_id)
        return self._text

    @property
    def pending(self) -> bool:
        return self.decision is None and not self.gone

    @property
    def status(self) -> str:
        if self.decision is not None:
            return self.decision.action
        return "gone" if self.gone else "pending"


def _search_text(request: ReviewRequest, thread: str) -> str:
    return " ".join(str(part) for part in (
        request.action, canonical_json(request.args), request.reason or "",
        request.preview or "", thread) if part).lower()


def _sort_key(name: SortKey) -> Any:
    if name == "action":
        return lambda item: item.request.action
    if name == "risk":
        return lambda item: (RISK_ORDER.get(item.request.risk or "", len(RISK_ORDER)),
                             item.request.risk or "")
    if name == "confidence":  # unknown confidence sorts as lowest
        return lambda item: -1.0 if item.request.confidence is None else item.request.confidence
    if name == "thread":
        return lambda item: item.session.thread_id
    if name == "status":
        return lambda item: item.status
    return lambda item: item.key


class Queue:
    """Items of many sessions with cached filtering and sorting.

    >>> queue = Queue([session_a, session_b])
    >>> queue.page(Query(filter=Filter(risk="low"), sort="confidence"))
    """

    def __init__(self, sessions: Iterable[Session]) -> None:
        self.items: list[Item] = []
        self.sessions: list[Session] = []
        self._by_session: dict[int, dict[str, Item]] = {}
        self._history_seen: dict[int, int] = {}
        self.version = 0
        self._selected: tuple[Any, list[Item]] | None = None
        self._ordered: tuple[Any, list[Item]] | None = None
        for session in sessions:
            if id(session) in self._by_session:
                continue
            self.sessions.append(session)
            self._by_session[id(session)] = {}
            self._history_seen[id(session)] = len(session.history)
            self.sync(session)

    def sync(self, session: Session) -> None:
        """Fold the session's current state into its items (new requests get new rows)."""
        known = self._by_session[id(session)]
        seen = self._history_seen[id(session)]
        for request, decision in session.history[seen:]:
            item = known.get(request.request_id)
            if item is not None and item.decision is None:
                item.decision, item.gone = decision, False
        self._history_seen[id(session)] = len(session.history)
        staged = set(session.staged)
        pending = {r.request_id: r for r in session.pending}
        for request_id, item in known.items():
            item.staged = request_id in staged
            if item.decision is None:
                item.gone = request_id not in pending
        for request_id, request in pending.items():
            if request_id not in known:
                item = Item(key=len(self.items), session=session, request=request)
                known[request_id] = item
                self.items.append(item)
        self.version += 1

    def select(self, flt: Filter) -> list[Item]:
        """Items matching `flt`, in queue order (cached until the queue changes)."""
        if self._selected is None or self._selected[0] != (flt, self.version):
            self._selected = ((flt, self.version), [i for i in self.items if flt.matches(i)])
        return self._selected[1]

    def ordered(self, query: Query) -> list[Item]:
        key = (query.filter, query.sort, query.descending, self.version)
        if self._ordered is None or self._ordered[0] != key:
            chosen = self.select(query.filter)
            if query.sort != "queue" or query.descending:
                chosen = sorted(chosen, key=_sort_key(query.sort), reverse=query.descending)
            self._ordered = (key, chosen)
        return self._ordered[1]

    def page(self, query: Query) -> list[Item]:
        start = query.page * query.page_size
        return self.ordered(query)[start:start + query.page_size]

    def facets(self) -> dict[str, list[list[Any]]]:
        """Pending counts per action and per risk, for the filter menus; items without a
        risk label count under None (the menu's "(none)", filtered with `NO_RISK`)."""
        actions: dict[str, int] = {}
        risks: dict[str | None, int] = {}
        for item in self.items:
            if item.pending:
                actions[item.request.action] = actions.get(item.request.action, 0) + 1
                risk = item.request.risk or None
                risks[risk] = risks.get(risk, 0) + 1
        return {"actions": [[k, v] for k, v in sorted(actions.items())],
                "risks": [[k, v] for k, v in sorted(risks.items(), key=_facet_order)]}


def _facet_order(entry: tuple[str | None, int]) -> tuple[int, str]:
    """Known labels by severity, then other labels, then no label."""
    name = entry[0]
    if name is None:
        return (len(RISK_ORDER) + 1, "")
    return (RISK_ORDER.get(name, len(RISK_ORDER)), name)
