"""The inline review widget: one card per pending request, decided cards, the result.

The front end (`review.js`) sends `{"type": "decision", "request_id", "nonce",
"action", "args", "message", "rating", "comment"}`. Each pending request carries a
fresh nonce; a message is applied only if its request is pending and its nonce is the
one issued for it and not yet used, so double clicks, replays and forged ids resume
nothing. Refusals are shown on the card (`errors`) and kept in `refusals`.

Override controls send `{"type": "stop", "token", "reason"}` (token issued per paused
state), `{"type": "redirect", "request_id", "nonce", "instructions"}` (the card's nonce)
and `{"type": "undo", "request_id", "token"}` (for the last decided card only); after a
step raised, `{"type": "retry", "token"}` runs it again with what was decided
(`Session.retry`). Each token is spent once, and refusals appear beside the control
(`override_errors`).

Co-editing (`hitl_nb._collab`): a card of a draft also sends `{"type": "diff",
"request_id", "nonce", "text"}` while the reviewer types; it changes nothing (the nonce is
not spent) and the word diff comes back in `diffs`. Its decisions may be `revise`.
"""

from __future__ import annotations

import json
import secrets
import traceback
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .. import _override, _reviewer
from .._calibrate import track_records
from .._collab import coedit_card, coedit_diff
from .._diff import args_distance, changes, editor_schema
from .._schema import Decision, ReviewRequest
from .._session import Session
from .._tokens import same_token
from .._trust import trust_note
from .._validate import DecisionError, schema_for
from . import _assets

if TYPE_CHECKING:
    from .._source import ReviewSource

DECISION_KEYS = frozenset({"type", "request_id", "nonce", "action", "args", "message",
                           "rating", "comment"})
SUBMIT_KEYS = frozenset({"type", "token"})
STOP_KEYS = frozenset({"type", "token", "reason"})
UNDO_KEYS = frozenset({"type", "request_id", "token"})
RETRY_KEYS = frozenset({"type", "token"})
REDIRECT_KEYS = frozenset({"type", "request_id", "nonce", "instructions"})
DIFF_KEYS = frozenset({"type", "request_id", "nonce", "text"})
HISTORY_SHOWN = 25
"""Decided cards kept in the widget; older ones are counted, and all are in the log."""
PENDING_SHOWN = 50
"""Pending cards shown at once; a bigger queue is for `hitl_nb.BatchReview` (paged)."""


def _decided_json(request: ReviewRequest, decision: Decision, staged: bool,
                  undone: bool = False) -> dict[str, Any]:
    edited = decision.args != request.args
    return {"request": request.to_json(), "action": decision.action, "args": decision.args,
            "staged": staged, "override": decision.override, "undone": undone,
            "edited": edited, "changes": changes(request.args, decision.args) if edited else [],
            "edit_distance": args_distance(request.args, decision.args) if edited else None,
            "message": decision.message,
            "rating": decision.rating, "comment": decision.comment,
            "reviewer": decision.reviewer, "decided_at": decision.decided_at.isoformat()}


def _token_matches(content: dict[str, Any], keys: frozenset[str], issued: str) -> bool:
    """The message has only `keys` and carries the one-time token issued (none: refused)."""
    token = content.get("token")
    return not set(content) - keys and same_token(token, issued)


def _readable(value: Any) -> Any:
    """Chat messages as one line each ("ai -> issue_refund({...})"), the rest as is."""
    if hasattr(value, "type") and hasattr(value, "content"):
        calls = getattr(value, "tool_calls", None) or []
        said = " ".join(f"-> {c['name']}({json.dumps(c['args'], default=str)})" for c in calls)
        return f"{value.type}: {value.content}{' ' if value.content and said else ''}{said}"
    return repr(value)


def _pretty(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, default=_readable, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class ReviewWidget(anywidget.AnyWidget):
    """Review a paused run inline; the buttons call the same `Session.decide`.

    >>> session = hitl_nb.Session(graph, config)
    >>> session.invoke(inputs)        # last expression: renders this widget
    """

    _esm = _assets.esm("review.js")
    _css = _assets.css("review.css")

    thread_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("idle").tag(sync=True)
    requests: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    history: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    errors: traitlets.Dict[str, str] = traitlets.Dict({}).tag(sync=True)
    problems: traitlets.List[str] = traitlets.List([]).tag(sync=True)
    result = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    submit_token = traitlets.Unicode("").tag(sync=True)
    history_total = traitlets.Int(0).tag(sync=True)
    pending_total = traitlets.Int(0).tag(sync=True)
    reviewer: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)
    # overrides: kill switch banner, stopped banner, one-time tokens, last undo report
    emergency = traitlets.Unicode("").tag(sync=True)
    stopped = traitlets.Unicode("").tag(sync=True)
    stop_token = traitlets.Unicode("").tag(sync=True)
    undo_token = traitlets.Unicode("").tag(sync=True)
    undo_request_id = traitlets.Unicode("").tag(sync=True)
    retry_token = traitlets.Unicode("").tag(sync=True)
    """Offered while the run's step raised (status "error"): Retry sends it once."""
    notice = traitlets.Unicode("").tag(sync=True)
    override_errors: traitlets.Dict[str, str] = traitlets.Dict({}).tag(sync=True)
    overrides = traitlets.Bool(False).tag(sync=True)
    """Stop, Undo, Redirect, Done by hand and Retry: LangGraph sessions only (adapters lack
    them)."""
    diffs: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)
    """Co-editing: request id -> word diff of the reviewer's text against the draft."""
    delegated: traitlets.List[str] = traitlets.List([]).tag(sync=True)
    """Collab modes shown by a plan view beside this widget (`hitl_nb.widgets.plan`)."""

    def __init__(self, session: ReviewSource, **kwargs: Any) -> None:
        super().__init__(thread_id=session.thread_id, **kwargs)
        self.session = session
        self.refusals: list[str] = []
        self._nonces: dict[str, str] = {}
        self._decided_cache: dict[tuple[str, bool, bool], dict[str, Any]] = {}
        self._tracks: dict[str, dict[str, Any] | None] = {}
        self._retry_for: BaseException | None = None  # the error retry_token was issued for
        self.on_msg(self._on_message)
        session.subscribe(self._sync)
        _reviewer.subscribe(self._sync)  # hitl_nb.reviewer(...) changes who may click
        self._sync()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from .._session import set_current

        set_current(self.session)
        return super()._repr_mimebundle_(**kwargs)

    def _sync(self) -> None:
        """Mirror the session into synced state; new requests get new nonces."""
        session = self.session
        all_pending = session.pending
        pending = all_pending[:PENDING_SHOWN]
        self._nonces = {r.request_id: self._nonces.get(r.request_id) or secrets.token_hex(16)
                        for r in pending}
        self.errors = {k: v for k, v in self.errors.items() if k in self._nonces}
        if self.diffs:
            self.diffs = {k: v for k, v in self.diffs.items() if k in self._nonces}
        with self.hold_sync():
            self._tracks = track_records(session, pending)  # all cards in one pass
            self.requests = [self._request_json(r) for r in pending]
            who = session.who() if isinstance(session, Session) \
                else _reviewer.current_reviewer()
            self.reviewer = {"name": who.name, "roles": list(who.roles)}
            staged = set(session.staged)
            # Long sessions: show the latest cards only, so a click costs the same
            # at the 500th decision as at the first (all are in the log).
            self.history_total = len(session.history)
            self.pending_total = len(all_pending)
            undone = _override.state(session).undone if isinstance(session, Session) else set()
            first = max(0, len(session.history) - HISTORY_SHOWN)
            self.history = [self._decided(r, d, r.request_id in staged, first + i in undone)
                            for i, (r, d) in enumerate(session.history[first:])]
            # Offer "submit now" only when it can resume something: a batched call
            # goes back whole, so a part of it just waits for the rest.
            submittable = (session._submittable() if isinstance(session, Session)
                           else bool(staged))
            # (staged with nothing pending: decided elsewhere or before a restart, not sent)
            self.submit_token = secrets.token_hex(16) if staged and submittable else ""
            self.problems = list(session.problems)
            self.status = session.status
            self.result = _pretty(session.result) if session.status == "done" else ""
            self.error = ("".join(traceback.format_exception_only(session.error)).strip()
                          if session.error else "")
            self._sync_overrides()

    def _request_json(self, request: ReviewRequest) -> dict[str, Any]:
        """A pending card: the request, its nonce, and who may decide it (approvals so
        far, decisions the current reviewer may not take and why)."""
        session = self.session
        out = {**request.to_json(), "nonce": self._nonces[request.request_id],
               "args_schema": editor_schema(schema_for(request)), "blocked": {},
               # confidence communication: what this confidence has meant (from the log)
               # and the trust level that set this request's level, with its reason
               "track_record": self._tracks.get(request.request_id),
               "trust": trust_note(request.gates)}
        if not isinstance(session, Session):  # adapters: no roles or approvers to check
            return out
        out["blocked"] = session.blocked(request.request_id)
        out.update(coedit_card(session, request))
        if request.approvals_needed > 1:
            state = session.approvals(request.request_id)
            out["approvals"] = {"needed": state.needed, "by": list(state.by),
                                "text": str(state)}
        return out

    def _decided(self, request: ReviewRequest, decision: Decision,
                 staged: bool, undone: bool = False) -> dict[str, Any]:
        """Decided cards never change (but for `staged`, `undone`): build each JSON once."""
        key = (request.request_id, staged, undone)
        if key not in self._decided_cache:
            self._decided_cache[key] = _decided_json(request, decision, staged, undone)
        return self._decided_cache[key]

    def _sync_overrides(self) -> None:
        """Banners and fresh one-time tokens for Stop and Undo (any change spends them)."""
        session = self.session
        halt = _override.halted()
        self.emergency = str(halt) if halt else ""
        self.overrides = isinstance(session, Session)
        if not isinstance(session, Session):
            self.stop_token = self.undo_token = self.undo_request_id = self.notice = ""
            self.retry_token = ""
            return
        record = session.stopped
        self.emergency = str(halt) if halt else ""
        self.stopped = str(record) if record and session.status == "stopped" else ""
        self.stop_token = (secrets.token_hex(16)
                           if session.status in ("pending", "error", "halted") and not record
                           else "")
        last = len(session.history) - 1
        undoable = (last >= 0 and last not in _override.state(session).undone
                    and session.status != "running")
        self.undo_request_id = session.history[last][0].request_id if undoable else ""
        self.undo_token = secrets.token_hex(16) if undoable else ""
        self.notice = _override.notice(session)
        self.retry_token = self._fresh_retry_token(session)
        self.override_errors = {}

    def _fresh_retry_token(self, session: Session) -> str:
        """One token per failure: kept while the same error shows (a redraw does not
        spend it), new for a new error or once the last one was spent."""
        if session.status != "error" or session.error is None:
            self._retry_for = None  # let the old error (and its traceback's frames) go
            return ""
        if session.error is self._retry_for and self.retry_token:
            return self.retry_token
        self._retry_for = session.error
        return secrets.token_hex(16)

    def _refuse(self, request_id: Any, reason: str) -> None:
        self.refusals.append(reason)
        key = request_id if isinstance(request_id, str) and request_id in self._nonces else ""
        self.errors = {**self.errors, key: reason}

    def _on_submit(self, content: dict[str, Any]) -> None:
        if not _token_matches(content, SUBMIT_KEYS, self.submit_token):
            self._refuse(None, "refused: stale or forged submit; nothing resumed.")
            return
        self.submit_token = ""
        try:
            self.session.submit()
        except DecisionError as exc:
            self._refuse(None, str(exc))
        except (Exception, _override.EmergencyStop):  # the graph's own error: see `error`
            self._sync()

    def _on_stop(self, session: Session, content: dict[str, Any]) -> None:
        if not _token_matches(content, STOP_KEYS, self.stop_token):
            self._refuse_override("stop", "refused: stale or forged stop; nothing changed.")
            return
        self.stop_token = ""  # spent: a second click is a replay
        try:
            session.stop(content.get("reason"))
        except DecisionError as exc:
            self._sync()
            self._refuse_override("stop", str(exc))

    def _on_undo(self, session: Session, content: dict[str, Any]) -> None:
        request_id = content.get("request_id")
        if not _token_matches(content, UNDO_KEYS, self.undo_token) \
                or request_id != self.undo_request_id:
            self._refuse_override("undo", "refused: stale or forged undo (not the last "
                                          "decision, or already undone); nothing changed.")
            return
        self.undo_token = ""
        try:
            session.undo(str(request_id))
        except DecisionError as exc:
            self._sync()
            self._refuse_override("undo", str(exc))
        except (Exception, _override.EmergencyStop):  # the graph's own error: see `error`
            self._sync()

    def _on_retry(self, session: Session, content: dict[str, Any]) -> None:
        """Run the failed step again with what was decided; one token, one run."""
        if session.status != "error":
            self._refuse_override("retry", f"refused: nothing to retry, the run is "
                                           f"{session.status} (Retry is for a step that "
                                           "raised); nothing ran.")
            return
        if not _token_matches(content, RETRY_KEYS, self.retry_token):
            self._refuse_override("retry", "refused: stale or forged retry; nothing ran.")
            return
        self.retry_token = ""  # spent before anything runs: a second click is a replay
        try:
            session.retry()
        except DecisionError as exc:
            self._sync()
            self._refuse_override("retry", str(exc))
        except (Exception, _override.EmergencyStop):  # raised again: the new error shows
            self._sync()

    def _on_redirect(self, session: Session, content: dict[str, Any]) -> None:
        request_id = content.get("request_id")
        expected = self._nonces.get(request_id) if isinstance(request_id, str) else None
        if set(content) - REDIRECT_KEYS or expected is None or not isinstance(request_id, str) \
                or not same_token(content.get("nonce"), expected):
            self._refuse(request_id, f"refused: redirect for request {request_id!r} is stale, "
                                     "forged or malformed; nothing changed.")
            return
        del self._nonces[request_id]  # spent before anything runs
        try:
            session.redirect(content.get("instructions", ""), request_id)
        except DecisionError as exc:
            if any(r.request_id == request_id for r in self.session.pending):
                self._nonces[request_id] = expected  # nothing changed: the card stays live
            self._refuse(request_id, str(exc))
        except (Exception, _override.EmergencyStop):
            self._sync()

    def _on_diff(self, content: dict[str, Any]) -> None:
        """Co-editing: the word diff of the reviewer's text so far (decides nothing)."""
        request_id = content.get("request_id")
        expected = self._nonces.get(request_id) if isinstance(request_id, str) else None
        if set(content) - DIFF_KEYS or expected is None \
                or not same_token(content.get("nonce"), expected):
            self._refuse(request_id, "refused: diff for a request that is not pending here "
                                     "(stale or forged).")
            return
        request = next((r for r in self.session.pending if r.request_id == request_id), None)
        if request is None:
            return  # decided meanwhile: the next sync drops the card
        try:
            self.diffs = {**self.diffs, str(request_id): coedit_diff(request,
                                                                     content.get("text"))}
        except DecisionError as exc:
            self._refuse(request_id, str(exc))

    def _refuse_override(self, control: str, reason: str) -> None:
        self.refusals.append(reason)
        self.override_errors = {**self.override_errors, control: reason}

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "submit":
            self._on_submit(content)
            return
        kind = content.get("type") if isinstance(content, dict) else None
        handler = {"stop": self._on_stop, "undo": self._on_undo, "retry": self._on_retry,
                   "redirect": self._on_redirect}.get(str(kind))
        if handler is not None:
            if isinstance(self.session, Session):
                handler(self.session, content)
            else:
                self._refuse_override(str(kind), f"refused: {kind} is not available for this "
                                                 "run (LangGraph sessions only); nothing changed.")
            return
        if kind == "diff":
            self._on_diff(content)
            return
        if content == {"type": "tick"}:  # a deadline passed in the browser: check ours
            self.session.expire_overdue()
            return
        if not isinstance(content, dict) or content.get("type") != "decision":
            self._refuse(None, f"ignored a message that is not a decision: {content!r:.100}")
            return
        request_id = content.get("request_id")
        unknown = set(content) - DECISION_KEYS
        if unknown:
            self._refuse(request_id, f"refused: unexpected fields {sorted(unknown)}.")
            return
        expected = self._nonces.get(request_id) if isinstance(request_id, str) else None
        if expected is None or not isinstance(request_id, str):
            self._refuse(request_id, f"refused: request {request_id!r} is not pending here "
                                     "(already decided, stale or unknown); nothing resumed.")
            return
        if not same_token(content.get("nonce"), expected):
            self._refuse(request_id, "refused: this decision's token does not match the "
                                     "pending request (replayed or forged); nothing resumed.")
            return
        # Spend the nonce before resuming: a second message for it is a replay.
        del self._nonces[request_id]
        try:
            self.session.decide(request_id, str(content.get("action")), args=content.get("args"),
                                message=content.get("message"), rating=content.get("rating"),
                                comment=content.get("comment"))
        except DecisionError as exc:
            if any(r.request_id == request_id for r in self.session.pending):
                self._nonces[request_id] = expected  # nothing was applied: card stays live
            self._refuse(request_id, str(exc))
        except (Exception, _override.EmergencyStop) as exc:  # the graph's own: see `error`
            if self.session.error is None and isinstance(exc, Exception):  # raised before
                # the graph ran: an input nothing above caught; say so, keep the card live
                if any(r.request_id == request_id for r in self.session.pending):
                    self._nonces[request_id] = expected
                self._refuse(request_id, f"refused: {type(exc).__name__}: {exc!s:.300}")
            self._sync()
        else:
            self.errors = {}
