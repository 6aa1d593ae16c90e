"""Earned autonomy: an agent's track record per action, read from the feedback log, sets
how much oversight its next proposal of that action gets.

The record of one (agent, action) is the reviewers' verdicts on its proposals, newest
`window` of them: *approved as is* counts as clean; an edit, a reject, a response instead,
a redirect, a stop, an action done by hand or a request to revise a draft counts
against. Only rows a person decided
count (`source` human or simulated); the policy's own `auto` and `timeout` rows do not.

The rule, one rung at a time (start -> notify [-> autonomy]):

* **Promote** when the record holds at least `min_reviews` reviews and the one-sided
  lower confidence bound (Wilson, at `confidence`) of the clean-approval rate reaches
  `target`: "we are 95% sure at least 85% of these proposals are approved as is".
* **Demote immediately** to the starting level on a reject, on an undo of an action that
  ran, or on a reported incident (`demote_on`). The record restarts from zero there, and
  the **cool-down**: promotion again needs at least `cooldown` reviews after the demotion
  (and, with `cooldown_time`, that much time): trust is re-earned, not restored.
* A record that no longer clears the bar (say, many edits while reviews still come in
  through other gates) drops a rung without the cool-down.

The level is a pure function of the log, so anyone holding the verified log can recompute
it; `Trust.history()` lists every change with the numbers behind it. `TrustGate` puts the
level into a `Policy`: it only ever asks for a level, and the strictest gate wins, so a
trusted action still stops for `Critical`, `RequiresRole` or `TwoPersonRule` gates.

>>> trust = hitl_nb.Trust(target=0.85, min_reviews=20)
>>> policy = hitl_nb.Policy([hitl_nb.TrustGate(trust, actions=["schedule_call"]),
...                          hitl_nb.Critical(actions=["delete_account"])])
>>> print(trust.status("schedule_call", agent="support"))
schedule_call by support: 47/50 approved as-is, lower bound 0.86 ≥ 0.85 → notify
>>> trust.history()          # every promotion and demotion, with its reason
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from ._log import FeedbackLog
from ._log import log as default_log
from ._policy import REVIEW_LEVELS, Fired, Gate, Proposal
from ._schema import Decision, Level, ReviewRequest

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = logging.getLogger("hitl_nb.trust")

CLEAN = "approve"
"""The decision that counts as clean: approved exactly as proposed."""
AGAINST = ("edit", "reject", "respond", "redirect", "stop", "override", "revise")
"""Reviewer decisions that count against the record (the action was not right as is)."""
DEMOTE_ON: tuple[str, ...] = ("reject", "undo", "incident")
"""Decisions that demote at once and restart the record (by default)."""
RAN = ("approve", "edit", "auto")
"""An undo of one of these reverted an action that ran: the agent's failure. An undo of a
reject, stop or redirect is the reviewer changing their mind and does not count."""
GREGORIAN_TO_UNIX = 0x01B21DD213814000
"""100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01."""

Key = tuple[str | None, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class TrustChange:
    """One change of an (agent, action)'s trust level, and the row that caused it.

    `cause` is ``promoted``, ``demoted`` (a demoting decision), ``lowered`` (the record
    fell below the bar) or ``reset`` (a demoting decision while already at the starting
    level: the level stays, the record restarts)."""

    at: str
    agent: str | None
    action: str
    from_level: Level
    to_level: Level
    cause: str
    reviews: int
    approved: int
    lower: float | None
    decision: str
    reviewer: str | None
    decision_id: str | None
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, kw_only=True, slots=True)
class TrustStatus:
    """Where one (agent, action) stands now, and why (`str(status)` is the reason).

    `reviews` / `approved`: the record (at most `window` reviews, since the last
    demotion); `lower`: the one-sided lower bound of the clean-approval rate (None
    without reviews); `target`: the bar of the next level (of this one at the top);
    `needed`: reviews still missing before the next rung can be
    reached (0 when only the rate is missing); `held`: True when the level is the one in
    force when the asking graph step started, because decisions came in since (see
    `Trust.status`)."""

    agent: str | None
    action: str
    level: Level
    reviews: int
    approved: int
    lower: float | None
    target: float
    needed: int
    next_level: Level | None
    cooling_down: bool
    auto_runs: int
    last_change: TrustChange | None
    held: bool
    reason: str

    @property
    def rate(self) -> float | None:
        """Share of the record approved as is (None without reviews)."""
        return self.approved / self.reviews if self.reviews else None

    def __str__(self) -> str:
        return self.reason

    def to_json(self) -> dict[str, Any]:
        """What a `TrustGate` firing carries (request payload, widget, log reason)."""
        return {"trust_level": self.level, "agent": self.agent, "action": self.action,
                "reviews": self.reviews, "approved": self.approved,
                "lower": None if self.lower is None else round(self.lower, 4),
                "target": self.target, "needed": self.needed, "next_level": self.next_level,
                "cooling_down": self.cooling_down, "held": self.held}


@dataclass(slots=True)
class _Record:
    """The running state of one (agent, action); updated row by row."""

    window: deque[int]
    clean: int = 0
    since_reset: int = 0
    rung: int = 0
    demotion: TrustChange | None = None
    demoted_at: datetime | None = None
    auto_runs: int = 0
    last_change: TrustChange | None = None
    last_at: str | None = None
    changes: list[TrustChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Rung:
    level: Level
    target: float
    min_reviews: int


def _fmt(lower: float, target: float) -> str:
    """The bound with enough digits that it never reads as equal to the target when it
    is not (0.8496 is "0.850 < 0.85", not "0.85 < 0.85")."""
    for digits in (2, 3, 4):
        shown = f"{lower:.{digits}f}"
        if shown != f"{target:.{digits}f}" or lower == target:
            return shown
    return f"{lower:.6f}"


def step_started() -> datetime | None:
    """When the LangGraph step calling us started: the time in its checkpoint id (a
    UUIDv6, as LangGraph makes them). A paused step that resumes runs again from its first
    line with the same checkpoint, so the same time. None outside a graph."""
    try:
        from langgraph.config import get_config

        conf = get_config().get("configurable", {})
    except (ImportError, RuntimeError):
        return None
    checkpoint = (conf.get("checkpoint_map") or {}).get("")
    try:
        stamp = uuid.UUID(str(checkpoint))
    except ValueError:
        return None
    if stamp.version != 6:
        return None
    high = stamp.int >> 64
    ticks = ((high >> 32) << 28) | (((high >> 16) & 0xFFFF) << 12) | (high & 0x0FFF)
    return datetime.fromtimestamp((ticks - GREGORIAN_TO_UNIX) / 1e7, UTC)


class Trust:
    """Earned autonomy per (agent, action), read incrementally from a feedback log.

    >>> trust = hitl_nb.Trust()                              # the kernel's log
    >>> trust = hitl_nb.Trust(log, target=0.9, min_reviews=30, cooldown=50)
    >>> trust.level("schedule_call", agent="support")        # 'confirm' until earned
    >>> Policy([TrustGate(trust, actions=["schedule_call"]), ConfidenceBelow(0.6)])

    `start`: the level while trust is not earned (confirm). `target`, `min_reviews`:
    the bar for notify; `autonomy_target` (with `autonomy_min_reviews`) adds a rung above
    it. `confidence`: of the one-sided lower Wilson bound (0.95: the lower end of the
    two-sided 90% interval). `window`: how many recent reviews the record keeps.
    `cooldown` / `cooldown_time`: what a demotion costs (reviews after it; time after
    it). `demote_on`: decisions that demote at once. `sources`: whose decisions count.

    Reading is incremental: the first question reads the log once, later ones only the
    rows appended since (see `benchmarks/bench_trust.py`).
    """

    def __init__(self, log: FeedbackLog | None = None, *, start: Level = "confirm",
                 target: float = 0.85, min_reviews: int = 20, window: int = 50,
                 confidence: float = 0.95, cooldown: int = 30,
                 cooldown_time: timedelta | None = None,
                 autonomy_target: float | None = None, autonomy_min_reviews: int | None = None,
                 demote_on: Sequence[str] = DEMOTE_ON,
                 sources: Sequence[str] = ("human", "simulated")) -> None:
        if log is not None and not isinstance(log, FeedbackLog):
            raise TypeError(f"log must be a hitl_nb.FeedbackLog (or None: the kernel's log), "
                            f"got {type(log).__name__}")
        if start not in REVIEW_LEVELS:
            raise ValueError(f"start is the level before trust is earned and must be one of "
                             f"{list(REVIEW_LEVELS)}, got {start!r}")
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f"window must be a whole number of reviews >= 1, got {window!r}")
        for name, value in (("target", target), ("confidence", confidence)):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 < value < 1:
                raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
        if confidence <= 0.5:
            raise ValueError(f"confidence is one-sided, e.g. 0.95; got {confidence!r}")
        rungs = [_Rung(start, 0.0, 0), _Rung("notify", float(target),
                                              self._count(min_reviews, "min_reviews", window))]
        if autonomy_target is not None:
            if isinstance(autonomy_target, bool) or not isinstance(autonomy_target, int | float) \
                    or not target <= autonomy_target < 1:
                raise ValueError(f"autonomy_target must be in [target, 1), got "
                                 f"{autonomy_target!r}")
            rungs.append(_Rung("autonomy", float(autonomy_target), self._count(
                autonomy_min_reviews if autonomy_min_reviews is not None else window,
                "autonomy_min_reviews", window)))
        elif autonomy_min_reviews is not None:
            raise ValueError("autonomy_min_reviews needs autonomy_target as well")
        unknown = sorted(set(demote_on) - {*AGAINST, "undo", "incident"})
        if unknown:
            raise ValueError(f"demote_on takes reviewer decisions, 'undo' and 'incident'; "
                             f"unknown {unknown}")
        if cooldown_time is not None and not isinstance(cooldown_time, timedelta):
            raise TypeError(f"cooldown_time must be a datetime.timedelta, got "
                            f"{type(cooldown_time).__name__}")
        self.log = log
        self.start: Level = start
        self.target = float(target)
        self.min_reviews = rungs[1].min_reviews
        self.window = window
        self.confidence = float(confidence)
        self.cooldown = self._count(cooldown, "cooldown", window, minimum=0)
        self.cooldown_time = cooldown_time
        self.demote_on = tuple(demote_on)
        self.sources = tuple(sources)
        self._rungs = tuple(rungs)
        self._lower = self._bounds()
        self._lock = threading.RLock()
        self._reset_state(None)

    @staticmethod
    def _count(value: Any, name: str, window: int, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
        if value > window:
            raise ValueError(f"{name}={value} can never be reached: the record keeps the last "
                             f"window={window} reviews. Raise window= or lower {name}.")
        return value

    def _bounds(self) -> np.ndarray[Any, Any]:
        """Lower bounds for every (approved, reviews) the window allows, computed once
        (`analysis.wilson_interval`), so each row costs a table lookup."""
        import numpy as np

        from .analysis._common import wilson_interval

        n = np.arange(self.window + 1)
        k_grid, n_grid = np.meshgrid(n, n, indexing="ij")
        low, _ = wilson_interval(k_grid, n_grid, level=2 * self.confidence - 1)
        out: np.ndarray[Any, Any] = np.where(k_grid <= n_grid, low, np.nan)
        return out

    def lower_bound(self, approved: int, reviews: int) -> float:
        """The one-sided lower bound the rule uses for `approved` of `reviews`.

        >>> round(Trust().lower_bound(47, 50), 3)
        0.859
        """
        if not 0 <= approved <= reviews <= self.window:
            raise ValueError(f"need 0 <= approved <= reviews <= window ({self.window}), got "
                             f"{approved}/{reviews}")
        return float(self._lower[approved, reviews])

    def _reset_state(self, source: FeedbackLog | None) -> None:
        self._source = source
        self._seen = 0
        self._records: dict[Key, _Record] = {}
        self._changes: list[TrustChange] = []

    # -- reading the log --------------------------------------------------------------
    def refresh(self) -> Trust:
        """Read the rows appended since the last question (done by every question)."""
        with self._lock:
            log = self.log if self.log is not None else default_log()
            if log is not self._source:  # hitl_nb.use_log(...) chose another log
                self._reset_state(log)
            for row in log.rows_since(self._seen):
                self._seen += 1
                self._apply(row, log)
        return self

    def _record(self, key: Key) -> _Record:
        found = self._records.get(key)
        if found is None:
            found = self._records[key] = _Record(window=deque(maxlen=self.window))
        return found

    def _apply(self, row: dict[str, Any], log: FeedbackLog) -> None:
        decision = row.get("decision")
        key: Key = (row.get("agent"), str(row.get("action_name")))
        if row.get("source") not in self.sources:
            if decision == "auto" and key in self._records:
                self._records[key].auto_runs += 1
            return
        if decision == "undo" and not self._undid_a_run(row, log):
            return  # the reviewer took back their own reject / stop: not the agent's doing
        rec = self._record(key)
        if decision in (CLEAN, *AGAINST, "undo"):
            outcome = int(decision == CLEAN)
            if len(rec.window) == rec.window.maxlen:
                rec.clean -= rec.window[0]
            rec.window.append(outcome)
            rec.clean += outcome
            rec.since_reset += 1
        elif decision != "incident":
            return
        rec.last_at = row.get("decided_at")
        if decision in self.demote_on:
            self._demote(key, rec, row)
            return
        rung = self._rung_for(rec, row.get("decided_at"))
        if rung != rec.rung:
            cause = "promoted" if rung > rec.rung else "lowered"
            self._change(key, rec, rung, cause, row)

    def _undid_a_run(self, row: dict[str, Any], log: FeedbackLog) -> bool:
        """True when the undo reverted an action that ran (its last earlier decision on
        the same request was an approve, an edit or an automatic run)."""
        rows = log.rows_for(str(row.get("request_id")))
        mine = next((i for i, r in enumerate(rows)
                     if r.get("entry_hash") == row.get("entry_hash")), len(rows))
        before = [r for r in rows[:mine] if r.get("decision") != "undo"]
        return bool(before) and before[-1].get("decision") in RAN

    def _rung_for(self, rec: _Record, at: str | None) -> int:
        """The highest rung whose bar the record clears now."""
        n, k = len(rec.window), rec.clean
        best = 0
        for index, rung in enumerate(self._rungs[1:], start=1):
            if n < rung.min_reviews or self._lower[k, n] < rung.target:
                break
            if self._cooling(rec, at):
                break
            best = index
        return best

    def _cooling(self, rec: _Record, at: str | None) -> bool:
        if rec.demotion is None:
            return False
        if rec.since_reset < self.cooldown:
            return True
        if self.cooldown_time is not None and rec.demoted_at is not None and at:
            return datetime.fromisoformat(at) - rec.demoted_at < self.cooldown_time
        return False

    def _demote(self, key: Key, rec: _Record, row: dict[str, Any]) -> None:
        # the change shows the record as it stood (with this decision), then it restarts
        rec.demotion = self._change(key, rec, 0, "demoted" if rec.rung else "reset", row)
        rec.window.clear()
        rec.clean = 0
        rec.since_reset = 0
        at = row.get("decided_at")
        rec.demoted_at = datetime.fromisoformat(at) if isinstance(at, str) else None

    def _change(self, key: Key, rec: _Record, rung: int, cause: str,
                row: dict[str, Any]) -> TrustChange:
        before = self._rungs[rec.rung].level
        after = self._rungs[rung].level
        # the bar that was cleared (promoted) or lost (lowered)
        bar = self._rungs[rung if cause == "promoted" else min(rung + 1, rec.rung)]
        rec.rung = rung
        rec.auto_runs = 0
        n, k = len(rec.window), rec.clean
        lower = float(self._lower[k, n]) if n else None
        decision = str(row.get("decision"))
        who = row.get("reviewer")
        subject = _subject(key)
        event = _demoting_event(decision, who, row.get("message"))
        if cause == "demoted":
            reason = f"{subject}: {event} (record was {k}/{n} approved as-is) → {after}"
        elif cause == "reset":
            reason = (f"{subject}: {event} (record was {k}/{n} approved as-is); stays "
                      f"{after}, record restarts")
        else:
            sign = "≥" if cause == "promoted" else "<"
            reason = (f"{subject}: {k}/{n} approved as-is, lower bound "
                      f"{_fmt(lower or 0.0, bar.target)} {sign} {bar.target:g} → {after}")
        change = TrustChange(at=str(row.get("decided_at")), agent=key[0], action=key[1],
                             from_level=before, to_level=after, cause=cause, reviews=n,
                             approved=k, lower=lower, decision=decision, reviewer=who,
                             decision_id=row.get("decision_id"), reason=reason)
        rec.last_change = change
        rec.changes.append(change)
        self._changes.append(change)
        logger.info("trust %s: %s", cause, reason)
        return change

    # -- questions ---------------------------------------------------------------------
    def status(self, action: str, *, agent: str | None = None,
               as_of: datetime | None = None) -> TrustStatus:
        """Where (agent, action) stands now, with the reason in words.

        `as_of`: the level in force at that time instead (`TrustGate` passes the start
        of the LangGraph step asking). LangGraph runs a paused step again from its first
        line when it resumes, and the step's gates must then decide exactly as they did
        when it paused, or a resume value would go to the wrong question. So a step sees
        the trust earned before it started: the approval that earns notify counts from
        the next step on.
        """
        with self._lock:
            self.refresh()
            key: Key = (agent, action)
            rec = self._records.get(key)
            if rec is None:
                return self._status(key, _Record(window=deque(maxlen=self.window)))
            if as_of is not None and rec.last_at is not None \
                    and datetime.fromisoformat(rec.last_at) > as_of:
                return self._status(key, rec, True, self._as_of(rec, as_of))
            return self._status(key, rec)

    def _as_of(self, rec: _Record, when: datetime) -> TrustChange | None:
        """The last change made at or before `when` (None: none yet, the start level)."""
        for change in reversed(rec.changes):
            if datetime.fromisoformat(change.at) <= when:
                return change
        return None

    def _status(self, key: Key, rec: _Record, held: bool = False,
                then: TrustChange | None = None) -> TrustStatus:
        """`held`: report the level of `then` (the last change before the asking step
        started; None: the starting level) instead of the current one."""
        n, k = len(rec.window), rec.clean
        lower = float(self._lower[k, n]) if n else None
        rung = rec.rung
        if held:
            level_then = then.to_level if then is not None else self.start
            rung = next(i for i, r in enumerate(self._rungs) if r.level == level_then)
            held = rung != rec.rung
        level = self._rungs[rung].level
        nxt = self._rungs[rung + 1] if rung + 1 < len(self._rungs) else None
        cooling = rec.demotion is not None and rec.since_reset < self.cooldown
        needed = 0
        if nxt is not None:
            needed = max(nxt.min_reviews - n, (self.cooldown - rec.since_reset) if cooling else 0)
        subject = _subject(key)
        approved = f"{k}/{n} approved as-is"
        if held:
            reason = (f"{subject}: {level} when this step started (now "
                      f"{self._rungs[rec.rung].level}: decisions since apply from the next "
                      f"step) → {level}")
        elif rung > 0:
            rung_target = self._rungs[rung].target
            reason = (f"{subject}: {approved}, lower bound {_fmt(lower or 0.0, rung_target)} "
                      f"≥ {rung_target:g} → {level}")
            if rec.auto_runs:
                reason += f"; {rec.auto_runs} run{'s' if rec.auto_runs != 1 else ''} at " \
                          f"{level} since"
        elif rec.demotion is not None and (cooling or self._cooling(rec, None)):
            last = rec.demotion
            what = _demoting_event(last.decision, last.reviewer, None)
            reason = (f"{subject}: {what} at {last.at[:16].replace('T', ' ')} → {level}; "
                      f"cool-down: {rec.since_reset} of {self.cooldown} reviews since, "
                      f"{k} approved as-is")
        elif n == 0:
            reason = f"{subject}: no reviews yet → {level}"
        elif nxt is not None and n < nxt.min_reviews:
            reason = f"{subject}: {approved}, {nxt.min_reviews} reviews needed → {level}"
        elif nxt is not None and lower is not None and lower < nxt.target:
            reason = (f"{subject}: {approved}, lower bound {_fmt(lower, nxt.target)} < "
                      f"{nxt.target:g} → {level}")
        else:  # cooldown_time not over yet
            reason = f"{subject}: {approved}, cool-down time not over → {level}"
        return TrustStatus(agent=key[0], action=key[1], level=level, reviews=n, approved=k,
                           lower=lower, target=(nxt or self._rungs[rung]).target,
                           needed=max(0, needed),
                           next_level=nxt.level if nxt else None, cooling_down=cooling,
                           auto_runs=rec.auto_runs, last_change=rec.last_change, held=held,
                           reason=reason)

    def level(self, action: str, *, agent: str | None = None) -> Level:
        """The level (agent, action) has earned now."""
        return self.status(action, agent=agent).level

    def explain(self, action: str, *, agent: str | None = None) -> str:
        """`str(self.status(...))`: the level and why, in one line."""
        return self.status(action, agent=agent).reason

    def history(self) -> pd.DataFrame:
        """Every level change (and record restart), oldest first: `at`, `agent`,
        `action`, `from_level`, `to_level`, `cause`, `reviews`, `approved`, `lower`,
        `decision`, `reviewer`, `decision_id`, `reason`."""
        import pandas as pd

        from ._schema import LEVELS

        with self._lock:
            self.refresh()
            rows = [{name: getattr(c, name) for name in TrustChange.__slots__}
                    for c in self._changes]
        columns = list(TrustChange.__slots__)
        frame = pd.DataFrame.from_records(rows, columns=columns)
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        for col in ("from_level", "to_level"):
            frame[col] = pd.Categorical(frame[col], categories=list(LEVELS), ordered=True)
        for col in ("reviews", "approved"):
            frame[col] = frame[col].astype("int64")
        frame["lower"] = frame["lower"].astype("float64")
        return frame

    def to_pandas(self) -> pd.DataFrame:
        """The current status of every (agent, action) in the log, one row each."""
        import pandas as pd

        with self._lock:
            self.refresh()
            statuses = [self._status(key, rec) for key, rec in self._records.items()]
        return pd.DataFrame([{
            "agent": s.agent, "action": s.action, "level": s.level, "reviews": s.reviews,
            "approved": s.approved, "rate": s.rate, "lower": s.lower, "target": s.target,
            "needed": s.needed, "cooling_down": s.cooling_down, "auto_runs": s.auto_runs,
            "reason": s.reason} for s in statuses],
            columns=["agent", "action", "level", "reviews", "approved", "rate", "lower",
                     "target", "needed", "cooling_down", "auto_runs", "reason"])

    def report_incident(self, action: str, *, reason: str, agent: str | None = None,
                        args: dict[str, Any] | None = None, reviewer: str | None = None,
                        thread_id: str | None = None) -> dict[str, Any]:
        """Log that `action` went wrong after the fact (a complaint, a bad result found
        later): a row with decision ``incident``, which demotes (agent, action) at once.
        Returns the stored row.

        >>> trust.report_incident("schedule_call", agent="support",
        ...                       reason="customer called at 3 am")
        """
        from ._reviewer import current_reviewer

        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("report_incident needs reason=: what went wrong, in words")
        target = self.log if self.log is not None else default_log()
        request_id = f"incident:{uuid.uuid4().hex}"
        request = ReviewRequest(request_id=request_id, interrupt_id="", kind="ask",
                                action=action, args=dict(args or {}), reason=reason,
                                level=self.level(action, agent=agent), agent=agent,
                                thread_id=thread_id)
        who = reviewer or current_reviewer().name
        decision = Decision(action="reject", args=request.args, message=reason, reviewer=who,
                            source="human", request_id=request_id)
        return target.record(request, decision, outcome="incident")

    def gate(self, actions: Iterable[str] | None = None, **options: Any) -> TrustGate:
        """A `TrustGate` reading this record: ``Policy([trust.gate(["schedule_call"])])``."""
        return TrustGate(self, actions=None if actions is None else list(actions), **options)

    def describe(self) -> str:
        """The rule in one line."""
        bars = " → ".join(f"{r.level} (lower bound ≥ {r.target:g} over ≥ {r.min_reviews})"
                          for r in self._rungs[1:])
        cool = f"{self.cooldown} reviews" + (f" and {self.cooldown_time}"
                                             if self.cooldown_time else "")
        return (f"{self.start} → {bars}; one-sided {self.confidence:.0%} Wilson bound over "
                f"the last {self.window} reviews; {', '.join(self.demote_on)} demote, "
                f"cool-down {cool}")

    def __repr__(self) -> str:
        with self._lock:
            tracked = len(self._records)
        return f"<hitl_nb.Trust {self.describe()}; {tracked} (agent, action) tracked>"


def _subject(key: Key) -> str:
    agent, action = key
    return f"{action} by {agent}" if agent else action


def _demoting_event(decision: str, who: Any, message: Any) -> str:
    by = f" by {who}" if who else ""
    if decision == "incident":
        text = f": {str(message)[:80]}" if message else ""
        return f"incident reported{by}{text}"
    verb = {"reject": "rejected", "undo": "undone", "stop": "stopped", "edit": "edited",
            "redirect": "redirected", "respond": "answered instead",
            "override": "done by hand"}.get(decision, decision)
    return f"{verb}{by}"


@dataclass(frozen=True, slots=True, repr=False)
class TrustGate(Gate):
    """Asks for the level the agent has earned for the action (`Trust`): the starting
    level until the record clears the bar, then notify (or autonomy). It fires every
    time, so the verdict always says why (``schedule_call by support: 47/50 approved
    as-is, lower bound 0.86 ≥ 0.85 → notify (trust)``).

    >>> trust = hitl_nb.Trust()
    >>> Policy([TrustGate(trust, actions=["schedule_call", "draft_reply"]),
    ...         RequiresRole("finance", actions=["issue_refund"])])

    It never relaxes another gate: the strictest level wins, so keep the policy's default
    at autonomy and let this gate ask for confirm until trust is earned. Roles and the
    two-person rule belong to their own gates beside it.
    """

    trust: Trust
    _: KW_ONLY
    kind: ClassVar[str] = "trust"

    def __post_init__(self) -> None:
        if not isinstance(self.trust, Trust):
            raise TypeError(f"TrustGate needs a hitl_nb.Trust, got {self.trust!r:.80}")
        if self.roles or self.approvals != 1:
            raise ValueError("TrustGate cannot require roles or approvers (trust would drop "
                             "them when it relaxes); put RequiresRole / TwoPersonRule beside "
                             "it: the strictest gate wins.")
        if self.level not in ("confirm", self.trust.start):
            raise ValueError(f"a TrustGate starts at its Trust's level ({self.trust.start}); "
                             f"set it with Trust(start={self.level!r}).")
        object.__setattr__(self, "level", self.trust.start)
        Gate.__post_init__(self)

    def check(self, proposal: Proposal) -> Fired | None:
        if not self.applies(proposal):
            return None
        status = self.trust.status(proposal.action, agent=proposal.agent, as_of=step_started())
        return Fired(gate=self.id, level=status.level, reason=status.reason,
                     values=status.to_json())

    def describe(self) -> str:
        top = self.trust._rungs[-1].level
        return f"{self.id}: earned{self._scope()} -> {self.level} .. {top}"


def trust_note(gates: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The trust gate's firing among a request's `gates`, if any: the level, its reason
    and what it takes to move (`progress`), which the review widget shows next to the
    confidence."""
    for fired in gates:
        gate = str(fired.get("gate", ""))
        if gate == TrustGate.kind or gate.startswith(f"{TrustGate.kind}:"):
            values = fired.get("values") or {}
            return {"level": fired.get("level"), "reason": fired.get("reason"),
                    "progress": _progress(str(fired.get("level")), values),
                    **{k: v for k, v in values.items()
                       if k in ("reviews", "approved", "lower", "target")}}
    return None


def _progress(level: str, values: dict[str, Any]) -> str:
    """What it takes to move from `level`, in words (for people deciding)."""
    nxt, needed, target = values.get("next_level"), values.get("needed", 0), values.get("target")
    if values.get("held"):
        return "More was earned since this step started; it applies from the next proposal."
    if level in REVIEW_LEVELS:
        if nxt is None:
            return ""
        if needed:
            return (f"{str(nxt).capitalize()} after at least {needed} more "
                    f"review{'s' if needed != 1 else ''}, if the approved-as-is rate's lower "
                    f"bound reaches {target:g}.")
        lower = values.get("lower")
        now = f" (now {lower:.2f} over {values.get('reviews')} reviews)" if lower is not None \
            else ""
        return f"{str(nxt).capitalize()} when the lower bound reaches {target:g}{now}."
    return ("Earned; a reject, an undo or an incident sends it back to review. This request "
            "stopped for another gate.")
