"""`Session`: one LangGraph graph + thread under human review.

The widget and the methods (`approve`, `edit`, ...) share one path, `decide`:
validate against what is pending *in the graph*, log durably, then resume with the
value shape the interrupting code expects. Nothing here waits for a human: a decision
arrives (from a click or a call), is applied, and the method returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from . import _deadline, _override
from ._collab import CollabDecisions
from ._diff import json_schema_of
from ._log import FeedbackLog, LogIntegrityError, decision_from_row, logging_to
from ._log import log as default_log
from ._log_binding import ArgsMismatch, binding_problem
from ._payloads import (
    PayloadError,
    batch_resume_value,
    middleware_decision,
    plain_resume_value,
    requests_from_value,
)
from ._policy import registered_policy
from ._review_base import StaleDecision
from ._reviewer import (
    APPROVING,
    Approvals,
    NotAuthorized,
    Reviewer,
    approvals,
    as_reviewer,
    authorize,
    current_reviewer,
    held_roles,
    refusal,
)
from ._schema import Action, Decision, ReviewRequest, Source, utcnow
from ._validate import DecisionError, make_decision

if TYPE_CHECKING:
    from ._policy import Policy
    from ._preferences import Preferences
    from ._source import ReviewSource

ResumeAs = Callable[[ReviewRequest, Decision], Any]

RUN_OPTIONS = ("context", "durability", "interrupt_before", "interrupt_after", "output_keys")
"""Keywords of `graph.invoke` a Session keeps for every later resume of the run (a
`context=` the nodes read must be there again when a click resumes them)."""


def _own_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """A copy the caller cannot change under us: notebooks reuse one `config` dict and
    switch its thread_id for the next run, which must not move this session."""
    if config is None:
        return {"configurable": {"thread_id": uuid.uuid4().hex}}
    own = {**config, "configurable": dict(config.get("configurable") or {})}
    if not own["configurable"].get("thread_id"):
        raise ValueError("config needs configurable.thread_id, e.g. "
                         "{'configurable': {'thread_id': 'review-1'}}")
    return own


def tool_schemas(graph: Any) -> dict[str, dict[str, Any]]:
    """The argument schema of every tool the graph's `ToolNode`s run, by tool name.

    LangChain's batched HITL middleware sends only the proposed arguments; the tool
    knows their types, enums and bounds, which pick the editors and check an edit.
    """
    found: dict[str, dict[str, Any]] = {}
    for node in getattr(graph, "nodes", {}).values():
        for name, tool in (getattr(node.bound, "tools_by_name", None) or {}).items():
            try:
                schema = json_schema_of(tool)
            except TypeError:  # not a LangChain tool after all: edits keep their shape
                continue
            if schema is not None:
                found[name] = schema
    return found


def _has_checkpointer(graph: Any, config: dict[str, Any]) -> bool:
    return getattr(graph, "checkpointer", None) not in (None, False) \
        or "__pregel_checkpointer" in config["configurable"]


def _run_options(options: dict[str, Any]) -> dict[str, Any]:
    """The keywords of `graph.invoke` a Session keeps for every resume, else a TypeError."""
    unknown = sorted(set(options) - set(RUN_OPTIONS))
    if unknown:
        raise TypeError(f"Session.invoke() got {unknown}; it keeps only {list(RUN_OPTIONS)} "
                        "for every resume (stream with graph.stream(...) yourself).")
    return dict(options)


def _as_sent(request: ReviewRequest, decision: Decision, args: dict[str, Any]) -> Decision:
    """An approval with the arguments approvers agreed on: `approve` when they are the
    proposal, else an `edit` to them."""
    return replace(decision, args=args,
                   action="approve" if args == request.args else "edit")


def default_reviewer() -> str:
    """Name of the kernel's reviewer: `hitl_nb.reviewer(...)`, else `$HITL_NB_REVIEWER`
    or the OS user."""
    return current_reviewer().name


class RunFailed(RuntimeError):
    """A step of the run raised; read from the checkpoint (e.g. by a new view of the run, or
    after a restart). What was decided waits there: `session.retry()` resumes with it."""


def settled_by(request: ReviewRequest, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The logged row that already settled `request`, if any: its decision, or under a
    multi-approver rule a non-approval or the approval that completed the count."""
    if request.approvals_needed <= 1:
        return rows[0] if rows else None
    for position, row in enumerate(rows):
        if row.get("decision") not in APPROVING \
                or approvals(request, rows[:position + 1]).complete:
            return row
    return None


class _Settled(Exception):
    """Raised inside the log's write transaction: the request was settled meanwhile."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row


class Session(CollabDecisions):  # a ReviewBase, plus answer / revise / reassign
    """Drive one graph and thread; review what it pauses for.

    >>> session = Session(graph, {"configurable": {"thread_id": "t1"}})
    >>> session.invoke({"messages": [("user", "refund order 1042")]})  # the review widget
    >>> session.approve(rating=5)                          # or click Approve
    >>> session.result

    `reviewer` overrides the kernel's `hitl_nb.reviewer(...)` for this session (a name,
    or `Reviewer(name, roles)`). `policy` gates requests that carry no gate of their own
    (LangChain middleware, plain interrupts): level, reason, roles and approvals.

    On a thread that already ran, the session starts from its checkpoint: `pending`
    lists what it is paused for. A config pinned to a `checkpoint_id` (time travel) is
    read and resumed from that checkpoint once; afterwards the session follows the
    thread's newest checkpoint, so a request is never answered twice on a fork.
    Graphs with `async` nodes: `await session.ainvoke(inputs)`; clicks and the decision
    methods then resume the graph with `ainvoke` too.
    """

    def __init__(self, graph: Any, config: dict[str, Any] | None = None, *,
                 log: FeedbackLog | None = None, reviewer: str | Reviewer | None = None,
                 resume_as: ResumeAs | None = None,
                 preferences: Preferences | None = None,
                 on_timeout: _deadline.OnTimeout = "reject", policy: Policy | None = None,
                 run_options: dict[str, Any] | None = None, asynchronous: bool = False) -> None:
        self.graph = graph
        self.config: dict[str, Any] = _own_config(config)
        # How the thread's run was started, for resuming a run this session did not start
        # (`attach`, the display hook): `invoke` / `ainvoke` set them for their own run.
        self.run_options: dict[str, Any] = _run_options(run_options or {})
        self.asynchronous = asynchronous
        self.log = log if log is not None else default_log()
        self.reviewer = as_reviewer(reviewer)
        self.policy = policy
        self.resume_as = resume_as
        self.preferences = preferences
        self.on_timeout = _deadline.check_on_timeout(on_timeout)
        self._init_review()
        self._seen: dict[str, ReviewRequest] = {}
        self._staged: dict[str, Decision] = {}
        self._to_learn: list[tuple[ReviewRequest, Decision]] = []
        self._tool_schemas: dict[str, dict[str, Any]] | None = None
        # request id -> logged rows that no longer settle it (refused by the args binding)
        self._superseded: dict[str, int] = {}
        _override.track(self)
        if config is not None and _has_checkpointer(graph, self.config):
            snap = graph.get_state(self.config)
            if snap.created_at is not None:  # the thread ran before: start where it is
                self.refresh(snap)

    # -- reading -----------------------------------------------------------------
    @property
    def thread_id(self) -> str:
        return str(self.config["configurable"]["thread_id"])

    @property
    def _where(self) -> str:
        return f"on thread {self.thread_id!r}"

    def refresh(self, snap: Any = None) -> Session:
        """Re-read what is pending from the graph's checkpoint (e.g. after a restart)."""
        snap = snap if snap is not None else self.graph.get_state(self.config)
        checkpoint_id = snap.config.get("configurable", {}).get("checkpoint_id")
        # When the paused step started: the request time of payloads that carry none
        # (after a restart, latency still counts from the pause, not from now).
        paused = {"requested_at": datetime.fromisoformat(snap.created_at)} \
            if snap.created_at else {}
        pending: dict[str, ReviewRequest] = {}
        self.problems = []
        failed = [t for t in snap.tasks if getattr(t, "error", None)]
        if failed:
            # A step raised, perhaps after a decision was sent: that answer waits in the
            # checkpoint for `retry()`. Nothing here is decidable (again) meanwhile.
            self._pending = {}
            self.status = "error"
            if self.error is None:
                self.error = RunFailed("; ".join(f"step {t.name!r} raised {t.error}"
                                                 for t in failed)
                                       + ". Fix the cause, then session.retry() resumes "
                                         "the run with what was decided.")
            self._changed()
            return self
        for intr in snap.interrupts:
            try:
                found = requests_from_value(
                    intr.value, intr.id, response_schema=getattr(intr, "response_schema", None),
                    thread_id=self.thread_id, checkpoint_id=checkpoint_id, **paused)
            except PayloadError as exc:
                self.problems.append(str(exc))
                continue
            for request in found:
                if request.request_id in self._staged:
                    continue
                first_sight = request.request_id not in self._seen
                seen = self._remember(request, snap.values)
                # decided elsewhere (another view, or before a restart) but not yet sent
                if first_sight and self._adopt(seen, self._settled_by(
                        seen, self.log.rows_for(seen.request_id))):
                    continue
                pending[request.request_id] = self._presented(seen)
        if not snap.interrupts and snap.next:
            request = ReviewRequest(
                request_id=f"breakpoint:{checkpoint_id}", interrupt_id="", kind="breakpoint",
                action=", ".join(snap.next), reason=f"Paused before {', '.join(snap.next)}",
                allowed=("approve", "reject"), thread_id=self.thread_id,
                checkpoint_id=checkpoint_id)
            pending[request.request_id] = self._remember(request)
        self._pending = pending
        if pending or self.problems or self._staged:  # staged: decided, to be submitted
            self.status = "pending"
        elif _override.on_refresh(self, snap):  # a stop marker, also after a restart
            self.status = "stopped"
        elif self.status != "stopped":
            self.status = "done"
            if self.result is None:
                self.result = snap.values
        self._changed()
        # Past its deadline a request is no longer decidable: apply its default now.
        # Not from within a decision (`_busy`: it checks deadlines itself) nor an async
        # run on hitl_nb's loop, which cannot resume itself (`ainvoke` does it after).
        from .adapters import _loop

        if not _loop.inside():
            self.expire_overdue()
        return self

    def _gated(self, request: ReviewRequest, values: Any) -> ReviewRequest:
        """Fill level, gates, roles and approvals from `policy` for a request that came
        without them (middleware and plain payloads; `ask` payloads carry their own)."""
        # no policy= given: the one `policy.interrupt_on(tools)` registered for this tool
        policy = self.policy or registered_policy(request.action)
        if policy is None or request.kind in ("ask", "breakpoint"):
            return request
        from ._guard import confidence_of

        confidence = request.confidence
        if confidence is None and isinstance(values, dict):
            confidence = confidence_of(values.get("messages"))
        verdict = policy.evaluate(request.action, request.args, confidence=confidence,
                                  risk=request.risk, agent=request.agent)
        return replace(request, confidence=confidence, level=verdict.level,
                       gate=verdict.gate, gate_reason=verdict.explanation if verdict.fired
                       else None, gates=tuple(verdict.gates),
                       required_roles=verdict.required_roles,
                       approvals_needed=verdict.approvals_needed)

    def _settled_by(self, request: ReviewRequest,
                    rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        return settled_by(request, rows[self._superseded.get(request.request_id, 0):])

    def _adopt(self, request: ReviewRequest, row: dict[str, Any] | None) -> bool:
        """Take over the decision `row` logged for `request` (by another view or kernel)
        as staged here, so it is sent with the rest of its run; False if there is none."""
        decision = decision_from_row(row) if row is not None else None
        if decision is None:
            return False
        if decision.approved:  # what all approvers approved, as an edit when it differs
            decision = _as_sent(request, decision, decision.args)
        self._pending.pop(request.request_id, None)
        self._staged[request.request_id] = decision
        self.history.append((request, decision))
        return True

    def _log(self, original: ReviewRequest, decision: Decision,
             outcome: str | None = None) -> None:
        """Log `decision` unless the request was settled meanwhile (by another view or
        kernel: checked in the log's own write transaction); then adopt that decision
        and raise `StaleDecision`."""
        def check(rows: list[dict[str, Any]]) -> None:
            row = self._settled_by(original, rows)
            if row is not None:
                raise _Settled(row)

        try:
            self.log.record(original, decision, outcome=outcome, run_id=self.run_id,
                            check=check)
        except _Settled as settled:
            row = settled.row
            self._adopt(original, row)
            self._changed()
            raise StaleDecision(
                f"request {original.request_id!r} was already decided elsewhere "
                f"({row['decision']} by {row.get('reviewer') or 'someone'} at "
                f"{row['decided_at']}); nothing new was logged. That decision is sent with "
                "the rest of the run.") from None

    def _check_edit(self, request: ReviewRequest, who: Reviewer, args: Any) -> None:
        """An edit must not slip past the policy: edited arguments that need a role the
        reviewer lacks, or more approvers than this request has, are refused. (Requests
        from `policy.guard` are re-checked inside the graph instead.)"""
        policy = self.policy or registered_policy(request.action)
        if policy is None or request.kind in ("ask", "breakpoint") \
                or not isinstance(args, dict):
            return
        verdict = policy.evaluate(request.action, args, confidence=request.confidence,
                                  risk=request.risk, agent=request.agent)
        if not who.holds(verdict.required_roles):
            raise NotAuthorized(f"the edited arguments need role "
                                f"{' + '.join(verdict.required_roles)} ({verdict.explanation}); "
                                f"{who.name} holds {', '.join(who.roles) or 'no role'}.")
        if verdict.approvals_needed > request.approvals_needed:
            raise NotAuthorized(f"the edited arguments need {verdict.approvals_needed} "
                                f"approvers ({verdict.explanation}); this request has "
                                f"{request.approvals_needed}. Reject it with a message so the "
                                "agent proposes again, or edit within the limit.")

    def approvals(self, request_id: str | None = None) -> Approvals:
        """Who approved a pending request so far and how many must (two-person rule),
        read from the feedback log, so approvals survive a restart with a persistent log.

        >>> print(session.approvals())
        1 of 2 approvals (alice)
        """
        request = self._request(request_id)
        return self._approvals(self._seen.get(request.request_id, request))

    def _approvals(self, request: ReviewRequest) -> Approvals:
        if request.approvals_needed <= 1:
            return Approvals(needed=1, args=request.args)
        return approvals(request, self.log.rows_for(request.request_id))

    def _presented(self, request: ReviewRequest) -> ReviewRequest:
        """The request as reviewers see it now: after an edit under a multi-approver rule,
        the edited arguments are what the next approver approves."""
        if request.approvals_needed <= 1:
            return request
        state = self._approvals(request)
        return request if state.args == request.args else replace(request, args=state.args)

    def who(self, reviewer: str | Reviewer | None = None) -> Reviewer:
        """The reviewer a decision is attributed to: `reviewer`, else the session's,
        else the kernel's (`hitl_nb.reviewer(...)`)."""
        return as_reviewer(reviewer) or self.reviewer or current_reviewer()

    def blocked(self, request_id: str | None = None,
                reviewer: str | Reviewer | None = None) -> dict[str, str]:
        """Decisions the reviewer may not take on a pending request, with the reason
        (what the widget disables). `decide` refuses exactly these."""
        request = self._request(request_id)
        original = self._seen.get(request.request_id, request)
        state = self._approvals(original) if original.approvals_needed > 1 else None
        who = self.who(reviewer)
        # "override" (done by hand) travels as a respond: refused like one
        actions = [*request.allowed, *(["override"] if "respond" in request.allowed else [])]
        return {action: reason for action in actions
                if (reason := refusal(request, who, action, state)) is not None}

    def _remember(self, request: ReviewRequest, values: Any = None) -> ReviewRequest:
        """First sight of a request: gate it (`policy`) and store it durably (a restart
        keeps its requested_at)."""
        if request.request_id not in self._seen:
            if request.kind == "middleware" and request.args_schema is None:
                if self._tool_schemas is None:
                    self._tool_schemas = tool_schemas(self.graph)
                request = replace(request, args_schema=self._tool_schemas.get(request.action))
            self._seen[request.request_id] = self.log.record_request(
                self._gated(request, values))
        return self._seen[request.request_id]

    # -- running -----------------------------------------------------------------
    def invoke(self, inputs: Any = None, **options: Any) -> Session:
        """Start (or continue) the run; returns the session, which displays as its widget.

        `options` are `graph.invoke` keywords kept for every resume of this run:
        `context`, `durability`, `interrupt_before`, `interrupt_after`, `output_keys`.
        """
        _override.ensure_may_decide(self)
        self._set_options(options)
        self._run(inputs)
        return self

    async def ainvoke(self, inputs: Any = None, **options: Any) -> Session:
        """`invoke` for graphs with `async` nodes: this run and every resume of it (from a
        click or a decision method) use `graph.ainvoke`, on hitl_nb's own event loop."""
        from .adapters import _loop

        _override.ensure_may_decide(self)
        self._set_options(options)
        self.asynchronous = True
        await asyncio.wrap_future(_loop.submit(self._arun(inputs)))
        self.expire_overdue()  # paused on a request already past its deadline
        return self

    def retry(self) -> Session:
        """Run the thread again from its last checkpoint (after the graph raised): the
        failed step runs with what was already decided; nothing is decided again.
        Raises `StaleDecision` when the run has not raised (nothing ran), or re-raises
        what the graph raises again (then kept in `error`)."""
        _override.ensure_may_decide(self)
        with self._exclusive():
            if self.status not in ("error", "halted"):  # halted: by the emergency stop
                raise StaleDecision(f"nothing to retry {self._where}: the run is "
                                    f"{self.status}, not failed; nothing ran.")
            self.error = None
            self._run(None)
        self.expire_overdue()  # paused again on a request already past its deadline
        return self

    def _set_options(self, options: dict[str, Any]) -> None:
        options = _run_options(options)
        if not _has_checkpointer(self.graph, self.config):
            raise ValueError("this graph has no checkpointer, so a paused run cannot be "
                             "resumed: compile it with one, e.g. builder.compile("
                             "checkpointer=InMemorySaver()) (SqliteSaver to survive restarts).")
        self.run_options = options

    def _run(self, graph_input: Any) -> None:
        if self.asynchronous:  # resumed from a click or a method: wait while it computes
            from .adapters import _loop

            _loop.run(self._arun(graph_input))
            return
        self._started()
        try:
            with logging_to(self.log):
                out = self.graph.invoke(graph_input, self.config, **self.run_options)
        except (Exception, _override.EmergencyStop) as exc:
            self._failed(exc)
            raise
        self._finished(out)

    async def _arun(self, graph_input: Any) -> None:
        self._started()
        try:
            with logging_to(self.log):
                out = await self.graph.ainvoke(graph_input, self.config, **self.run_options)
        except (Exception, _override.EmergencyStop) as exc:
            self._failed(exc)
            raise
        self._finished(out)

    def _started(self) -> None:
        self.status = "running"
        self.error = None
        self._changed()

    def _failed(self, exc: BaseException) -> None:
        self.status = "halted" if isinstance(exc, _override.EmergencyStop) else "error"
        self.error = exc
        self._changed()

    def _finished(self, out: Any) -> None:
        # A pinned checkpoint is where this run started; from now on follow the thread,
        # or the next decision would answer the same request again on a new fork.
        self.config["configurable"].pop("checkpoint_id", None)
        # Learned only now: the resumed node ran again with what it knew when it asked.
        if self.preferences is not None:
            for request, decision in self._to_learn:
                self.preferences.remember(request, decision)
        self._to_learn.clear()
        self.result = None if isinstance(out, dict) and "__interrupt__" in out else out
        self.refresh()

    # -- deciding ----------------------------------------------------------------
    def decide(self, request_id: str | None, action: Action | str, *, args: Any = None,
               message: Any = None, rating: Any = None, comment: Any = None,
               reviewer: str | Reviewer | None = None, source: Source = "human",
               result: Any = None) -> Decision:
        """Validate, authorize, log, then resume. Raises `DecisionError` (nothing
        resumed; `NotAuthorized` when the reviewer lacks a required role or already
        approved) or re-raises what the graph raised after resuming (the decision stays
        logged). Under a multi-approver rule an approval short of the count is logged
        and the request stays pending. `action="override"` with `result=` is a manual
        override (see `override`)."""
        with self._exclusive():
            _override.ensure_may_decide(self)
            if self.status == "error" and not self._pending:
                raise StaleDecision(f"the run on thread {self.thread_id!r} raised "
                                    f"({self.error}); nothing is pending. Fix the cause and "
                                    "call session.retry(): it resumes with what was decided.")
            request = self._request(request_id)
            if self._expire([request]):
                raise StaleDecision(f"request {request.request_id!r} expired at "
                                    f"{request.deadline:%Y-%m-%d %H:%M:%S %Z}; its timeout "
                                    f"default was applied and logged.")
            self._check_still_pending(request)
            original = self._seen.get(request.request_id, request)
            state = self._approvals(original) if original.approvals_needed > 1 else None
            who = self.who(reviewer)
            authorize(request, who, action, state, args)
            if action == "edit" and args is not None:
                self._check_edit(original, who, args)
            decision = make_decision(request, action, args=args, message=message,
                                     rating=rating, comment=comment, reviewer=who.name,
                                     role=held_roles(who), source=source, result=result)
            # Logged against the agent's proposal: under a multi-approver rule the card
            # may show an earlier approver's edit, which is not what the agent proposed.
            self._log(original, decision, outcome=decision.override)
            sent = self._approved_by_all(original, decision, state)
            if sent is None:
                self._pending[request.request_id] = self._presented(original)
                self._changed()
                return decision
            decision = sent
            self._to_learn.append((original, decision))
            del self._pending[request.request_id]
            self.history.append((original, decision))
            self._apply(original, decision)
        return decision

    def _approved_by_all(self, original: ReviewRequest, decision: Decision,
                         state: Approvals | None) -> Decision | None:
        """What the graph gets for a logged `decision`; None while a multi-approver rule
        still waits for approvals (`state`: the count before this one was logged)."""
        if state is None or not decision.approved:
            return decision
        state = self._approvals(original)
        if not state.complete:
            return None
        # what all approvers approved, as an edit of the proposal when that differs (so a
        # middleware runs the approved args, not its own)
        return _as_sent(original, decision, state.args)

    def _check_still_pending(self, *requests: ReviewRequest) -> None:
        """Another session (or widget) on the same thread may have answered first.
        One read of the graph's state however many requests are checked."""
        asked = [r for r in requests if r.kind != "breakpoint"]
        if not asked:
            return
        live = {i.id for i in self.graph.get_state(self.config).interrupts}
        gone = [r.request_id for r in asked if r.interrupt_id not in live]
        if gone:
            self.refresh()
            raise StaleDecision(f"request {gone[0]!r} was already answered "
                                f"elsewhere on thread {self.thread_id!r}; nothing resumed.")

    def decide_many(self, request_ids: Sequence[str], action: Action | str, *,
                    message: Any = None, reviewer: str | Reviewer | None = None,
                    source: Source = "human") -> list[Decision]:
        """Decide several pending requests the same way (bulk approve or reject).

        All are validated before any is logged; the graph is read once to check they
        are still pending; each gets its own log row; then one `Command` resumes every
        interrupt whose actions are all decided, and the rest stay pending.

        >>> session.decide_many([r.request_id for r in session.pending[:100]], "approve")
        """
        with self._exclusive():
            _override.ensure_may_decide(self)
            requests = [self._request(rid) for rid in dict.fromkeys(request_ids)]
            if not requests:
                return []
            if expired := self._expire(requests):
                raise StaleDecision(f"{len(expired)} of these requests expired; their "
                                    f"timeout default was applied and logged.")
            originals, states, decisions = self._checked_bulk(
                requests, action, message, self.who(reviewer), source)
            self._check_still_pending(*requests)
            with self.log.batch():  # one transaction (one fsync) for the whole bulk
                self._log_many(originals, decisions, states)
            if requests[0].kind == "breakpoint":  # a breakpoint is alone: no interrupts
                self._apply(requests[0], decisions[0])
            elif self._submittable():
                self._submit()
            else:
                self._changed()  # a batched interrupt still waits for its other actions
        return decisions

    def _checked_bulk(self, requests: list[ReviewRequest], action: Action | str, message: Any,
                      who: Reviewer, source: Source,
                      ) -> tuple[list[ReviewRequest], list[Approvals | None], list[Decision]]:
        """The same rules as `decide`, for every request, before anything is logged."""
        originals = [self._seen.get(r.request_id, r) for r in requests]
        states = [self._approvals(o) if o.approvals_needed > 1 else None for o in originals]
        for request, state in zip(requests, states, strict=True):
            authorize(request, who, action, state)
        decisions = [make_decision(r, action, message=message, reviewer=who.name,
                                   role=held_roles(who), source=source) for r in requests]
        return originals, states, decisions

    def refusals(self, request_ids: Sequence[str], action: Action | str, *,
                 message: Any = None, reviewer: str | Reviewer | None = None) -> dict[str, str]:
        """Why `decide_many` would refuse each of these requests, by request id (empty:
        it would take them all). A batch uses it to refuse only the rows that cannot be
        decided, each with its own reason.

        >>> session.refusals([r.request_id for r in session.pending], "approve")
        {}
        """
        who = self.who(reviewer)
        reasons: dict[str, str] = {}
        for request_id in dict.fromkeys(request_ids):
            try:
                self._checked_bulk([self._request(request_id)], action, message, who, "human")
            except DecisionError as exc:
                reasons[request_id] = str(exc)
        return reasons

    def _log_many(self, originals: list[ReviewRequest], decisions: list[Decision],
                  states: list[Approvals | None]) -> None:
        """Log and stage each of a bulk decision; a request another view or kernel decided
        meanwhile keeps that decision (adopted, in `decisions` too)."""
        for index, (original, decision, state) in enumerate(
                zip(originals, decisions, states, strict=True)):
            try:
                self._log(original, decision)
            except StaleDecision:
                decisions[index] = self._staged.get(original.request_id, decision)
                continue
            sent = self._approved_by_all(original, decision, state)
            if sent is None:
                continue  # one of several approvals: the request stays pending
            decision = sent
            self._to_learn.append((original, decision))
            del self._pending[original.request_id]
            self.history.append((original, decision))
            if original.kind != "breakpoint":
                self._staged[original.request_id] = decision

    def _submittable(self) -> bool:
        """True when some interrupt has every one of its actions decided."""
        waiting = {r.interrupt_id for r in self._pending.values()}
        return any(self._seen[rid].interrupt_id not in waiting for rid in self._staged)

    def _apply(self, request: ReviewRequest, decision: Decision) -> None:
        if request.kind == "breakpoint":
            if decision.action == "approve":
                self._run(None)
            else:
                _override.reject_breakpoint(self, request, decision)
                self.refresh()
            return
        self._staged[request.request_id] = decision
        if self._pending:
            # Several requests are open (parallel branches, a batched middleware call):
            # wait for the rest, so one Command resumes them all and no paused node runs
            # again just to pause once more. `submit()` resumes what is decided now.
            self._changed()
            return
        self._submit()

    def expire_overdue(self, now: datetime | None = None) -> list[ReviewRequest]:
        """Resolve every pending request whose deadline has passed with `on_timeout`
        (reject unless configured; never approve when a role or several approvers are
        needed), logged with decision "timeout"; returns them."""
        if self._busy or _override.halted():
            return []
        self._busy = True
        try:
            return self._expire(list(self._pending.values()), now)
        finally:
            self._busy = False

    def _expire(self, requests: list[ReviewRequest],
                now: datetime | None = None) -> list[ReviewRequest]:
        now = now or utcnow()
        overdue = [r for r in requests if r.deadline is not None and r.deadline <= now]
        for request in overdue:
            decision = _deadline.timeout_decision(request, self.on_timeout)
            try:
                self._log(self._seen.get(request.request_id, request), decision,
                          outcome="timeout")
            except StaleDecision:
                continue  # a person decided it elsewhere in time: that decision stands
            del self._pending[request.request_id]
            self.history.append((request, decision))
            self._staged[request.request_id] = decision
        if overdue:
            if self._pending:
                self._changed()
            else:
                self._submit()
        return overdue

    @property
    def staged(self) -> list[str]:
        """Request ids decided (and logged) but not yet sent to the graph."""
        return list(self._staged)

    def submit(self) -> Session:
        """Resume now with every interrupt whose requests are all decided; the others
        stay pending. Needed only while several requests are open at once."""
        _override.ensure_may_decide(self)
        with self._exclusive():
            # Another view may have sent these already (decisions are shared via the log).
            live = {i.id for i in self.graph.get_state(self.config).interrupts}
            gone = [rid for rid in self._staged if self._seen[rid].interrupt_id not in live]
            if gone:
                for rid in gone:
                    del self._staged[rid]
                self.refresh()
                raise StaleDecision(f"{len(gone)} decided request(s) were already sent "
                                    f"on thread {self.thread_id!r}; nothing resumed twice.")
            self._submit()
        return self

    def _check_bound(self) -> None:
        """Refuse to resume a staged decision whose args differ from its logged args_hash."""
        bad = {rid: problem for rid, decision in self._staged.items()
               if (problem := binding_problem(self.log, rid, decision))}
        if bad:
            for rid in bad:  # decide it again; the logged row stays as evidence
                del self._staged[rid]
                self._pending[rid] = self._presented(self._seen[rid])
                # a row failing its own hash: deciding again raises that, naming it
                with contextlib.suppress(LogIntegrityError):
                    self._superseded[rid] = len(self.log.rows_for(rid))
            self._changed()
            raise ArgsMismatch("nothing was resumed: " + "; ".join(
                f"request {rid!r}: {problem}" for rid, problem in bad.items())
                + ". Decide these requests again.")

    def _submit(self) -> None:
        self._check_bound()
        resume: dict[str, Any] = {}
        # Group once: thousands of interrupts (a Send fan-out) must not cost n * n.
        groups: dict[str, list[ReviewRequest]] = {}
        for seen in self._seen.values():
            groups.setdefault(seen.interrupt_id, []).append(seen)
        for interrupt_id in {self._seen[rid].interrupt_id for rid in self._staged}:
            # all actions of one interrupt (a batched middleware call) go back together
            requests = sorted(groups[interrupt_id], key=lambda r: r.index)
            if all(r.request_id in self._staged for r in requests):
                resume[interrupt_id] = self._resume_value(requests, self._staged)
                for r in requests:
                    del self._staged[r.request_id]
                    del self._seen[r.request_id]
        if not resume:
            raise DecisionError("nothing to submit: decide every action of at least one "
                                "pending interrupt first (a batched middleware call needs a "
                                "decision for each of its actions).")
        self._run(Command(resume=resume))

    def _resume_value(self, requests: list[ReviewRequest], decided: dict[str, Decision]) -> Any:
        first = requests[0]
        if first.kind == "middleware":
            return {"decisions": [middleware_decision(r, decided[r.request_id])
                                  for r in requests]}
        if first.kind == "ask" and isinstance(first.raw, dict) and "batch" in first.raw:
            return batch_resume_value([decided[r.request_id] for r in requests])
        decision = decided[first.request_id]
        if first.kind == "tool_approval":
            return middleware_decision(first, decision)
        if first.kind == "plain":
            return (self.resume_as or plain_resume_value)(first, decision)
        return decision.to_resume()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from .widgets.plan import view  # a plan view joins the widget for shared plans

        return view(self)._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (f"<hitl_nb.Session thread={self.thread_id!r} status={self.status} "
                f"pending={len(self._pending)} decided={len(self.history)}>")

    @classmethod
    def attach(cls, graph: Any, config: dict[str, Any], **kwargs: Any) -> Session:
        """A session on a thread that already ran (paused or finished); requests whose
        deadline passed meanwhile get their default now (resumed with `run_options=`, what
        `invoke` was given, e.g. `context=`; `asynchronous=True`: with `ainvoke`)."""
        session = cls(graph, config, **kwargs)
        if session.status == "idle":  # nothing ran on this thread yet
            session.refresh()
        session.expire_overdue()
        return session

    # -- overrides (the logic lives in `_override`) ---------------------------------------
    @property
    def stopped(self) -> _override.StopRecord | None:
        """Why and when this thread was stopped (read from its checkpoint), or None."""
        return _override.state(self).stop

    def stop(self, reason: str | None = None, *,
             reviewer: str | None = None) -> list[Decision]:
        """End the paused run without resuming it: nothing pending runs, each pending
        request is logged as `stop`, and the thread stays stopped (the mark is in its
        checkpoint, so it survives a restart with a persistent checkpointer): later
        decisions raise `Stopped`. `undo()` reopens it.

        >>> session.stop("customer withdrew the request")
        """
        return _override.stop(self, reason, reviewer=reviewer)

    def redirect(self, instructions: str, request_id: str | None = None, *,
                 goto: str | None = None, update: _override.Update | None = None,
                 rating: float | None = None, comment: str | None = None,
                 reviewer: str | None = None) -> Decision:
        """Change course instead of deciding: the pending action is not run (its interrupt
        is never resumed) and the agent continues with `instructions`, logged as
        `redirect`. By default the run goes back to the node that proposed the action
        (`goto=`) with, for a `messages` state, a "not executed" result for each open tool
        call and the instructions as the next user message (`update=` a dict or
        `fn(values, instructions)` for other states). Every open request of the run is
        set aside (each logged); `request_id=` names the one the rating belongs to.

        >>> session.redirect("don't refund, offer a voucher instead")
        """
        return _override.redirect(self, instructions, request_id=request_id, goto=goto,
                                  update=update, rating=rating, comment=comment,
                                  reviewer=reviewer)

    def override(self, result: Any, request_id: str | None = None, *,
                 args: dict[str, Any] | None = None, rating: float | None = None,
                 comment: str | None = None, reviewer: str | None = None) -> Decision:
        """Manual override: you performed the action yourself. The agent does not run it
        and receives `result` (any JSON value) as its result; `args` are the values you
        used (checked like an edit). Logged as `override`. Needs a request that accepts a
        response (`hitl_nb.ask` by default, plain interrupts).

        >>> session.override("refunded 60.00 by bank transfer",
        ...                  args={"order": 1042, "amount": 60.0, "note": "by hand"})
        """
        return self.decide(request_id, "override", args=args, result=result, rating=rating,
                           comment=comment, reviewer=reviewer)

    def undo(self, request_id: str | None = None, *, comment: str | None = None,
             reviewer: str | None = None) -> _override.UndoReport:
        """Revert the thread's last decision: fork from the checkpoint before its interrupt
        so the request is pending again (the old branch stays in the history; the log keeps
        the decision and adds an `undo` row). Side effects that ran stay real unless a
        compensation was registered (`hitl_nb.compensate`); the report says which.
        `request_id=` refuses if that is no longer the last decision; an undone decision
        cannot be undone twice.

        >>> print(session.undo())
        """
        return _override.undo(self, request_id, comment=comment, reviewer=reviewer)


_current: ReviewSource | None = None


def set_current(session: ReviewSource) -> None:
    global _current
    _current = session


def current() -> ReviewSource:
    """The session behind the most recently displayed review widget (a LangGraph
    `Session`, or an adapter session from `hitl_nb.adapters`)."""
    if _current is None:
        raise LookupError("no review widget has been displayed yet in this kernel; run a "
                          "paused graph with %load_ext hitl_nb, or display Session(...).widget().")
    return _current
