"""Earned autonomy: the promotion / demotion rule on hand-built logs, with the Wilson
bounds computed by hand and cross-checked with statsmodels; strictest wins; cool-down."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import pytest
from statsmodels.stats.proportion import proportion_confint

import hitl_nb
from hitl_nb import (
    ConfidenceBelow,
    Critical,
    FeedbackLog,
    Policy,
    RequiresRole,
    Trust,
    TrustGate,
    TwoPersonRule,
)
from hitl_nb._schema import Decision, ReviewRequest

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
Z = NormalDist().inv_cdf(0.95)  # one-sided 95%: 1.6448...


def wilson_lower_by_hand(k: int, n: int, z: float = Z) -> float:
    """The Wilson score interval's lower end, written out (not the code under test)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half


class Book:
    """Writes realistic decision rows into a log, one minute apart."""

    def __init__(self, log: FeedbackLog, action: str = "schedule_call",
                 agent: str | None = "support") -> None:
        self.log, self.action, self.agent, self.i = log, action, agent, 0

    def add(self, decision: str, *, request_id: str | None = None, source: str = "simulated",
            at: datetime | None = None, reviewer: str = "ada", agent: Any = "default",
            action: str | None = None) -> dict[str, Any]:
        self.i += 1
        rid = request_id or f"r{self.i}"
        when = at or T0 + timedelta(minutes=self.i)
        request = ReviewRequest(request_id=rid, interrupt_id=rid, kind="ask",
                                action=action or self.action, args={"n": self.i},
                                confidence=0.9, agent=self.agent if agent == "default" else agent,
                                thread_id=f"t{self.i}", requested_at=when - timedelta(seconds=5))
        args = {"n": -self.i} if decision == "edit" else request.args
        reviewer_action = decision if decision in ("approve", "edit", "respond") else "reject"
        row = Decision(action=reviewer_action, args=args, reviewer=reviewer, source=source,  # type: ignore[arg-type]
                       request_id=rid, decided_at=when)
        outcome = None if decision in ("approve", "edit", "respond", "reject") else decision
        return self.log.record(request, row, outcome=outcome)

    def many(self, decision: str, count: int) -> None:
        for _ in range(count):
            self.add(decision)


@pytest.fixture
def log() -> FeedbackLog:
    return FeedbackLog()


@pytest.fixture
def book(log: FeedbackLog) -> Book:
    return Book(log)


def status(trust: Trust) -> hitl_nb.TrustStatus:
    return trust.status("schedule_call", agent="support")


# -- the bound ---------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "n", "by_hand"), [
    (20, 20, 20 / (20 + Z * Z)),   # k == n: the bound is n / (n + z^2)
    (47, 50, 0.85906),             # worked on paper: centre 0.91741, half-width 0.05836
    (19, 20, 0.80397),             # worked on paper: centre 0.89637, half-width 0.09240
])
def test_lower_bound_matches_hand_computation_and_statsmodels(k, n, by_hand):
    trust = Trust()
    assert trust.lower_bound(k, n) == pytest.approx(by_hand, abs=5e-5)
    assert trust.lower_bound(k, n) == pytest.approx(wilson_lower_by_hand(k, n), abs=1e-12)
    # one-sided 95% = the lower end of the two-sided 90% interval
    low, _ = proportion_confint(k, n, alpha=0.10, method="wilson")
    assert trust.lower_bound(k, n) == pytest.approx(low, abs=1e-12)


def test_every_bound_in_the_window_agrees_with_statsmodels():
    trust = Trust(window=30, min_reviews=10, cooldown=10, confidence=0.9)
    for n in range(1, 31):
        for k in range(1, n):
            low, _ = proportion_confint(k, n, alpha=0.2, method="wilson")
            assert trust.lower_bound(k, n) == pytest.approx(low, abs=1e-12), (k, n)


# -- promotion ---------------------------------------------------------------------------
def test_starts_at_confirm_and_is_promoted_after_min_reviews(log, book):
    trust = Trust(log)
    assert status(trust).reason == "schedule_call by support: no reviews yet → confirm"
    book.many("approve", 19)
    # 19/19 has a bound of 19 / (19 + z^2) = 0.875 >= 0.85, but 20 reviews are required
    assert 19 / (19 + Z * Z) > 0.85
    assert status(trust).level == "confirm"
    assert status(trust).reason == ("schedule_call by support: 19/19 approved as-is, 20 "
                                    "reviews needed → confirm")
    book.add("approve")
    now = status(trust)
    assert now.level == "notify"
    assert now.reason == ("schedule_call by support: 20/20 approved as-is, lower bound 0.88 ≥ "
                          "0.85 → notify")
    [change] = trust.history().itertuples()
    assert (change.from_level, change.to_level, change.cause, change.reviews,
            change.approved) == ("confirm", "notify", "promoted", 20, 20)
    assert change.decision_id == list(log)[-1]["decision_id"]


def test_promotion_waits_for_the_bound_when_reviews_were_corrected(log, book):
    trust = Trust(log)
    book.many("edit", 3)
    # the first n at which 3 corrections among n still give a bound >= 0.85 (statsmodels)
    first = next(n for n in range(4, 51)
                 if proportion_confint(n - 3, n, alpha=0.1, method="wilson")[0] >= 0.85)
    for n in range(4, 51):
        book.add("approve")
        assert status(trust).level == ("notify" if n >= first else "confirm"), n
    # worked on paper: 44/47 -> centre 0.91243, half-width 0.06178, bound 0.8507 >= 0.85;
    # 43/46 -> centre 0.91063, half-width 0.06301, bound 0.8476 < 0.85
    assert first == 47
    assert status(trust).reason == ("schedule_call by support: 47/50 approved as-is, lower "
                                    "bound 0.86 ≥ 0.85 → notify")
    [change] = trust.history().itertuples()
    assert (change.reviews, change.approved) == (47, 44)


def test_old_corrections_leave_the_window(log, book):
    trust = Trust(log, window=20, min_reviews=20, cooldown=20)
    book.add("edit")
    book.many("approve", 19)
    assert status(trust).level == "confirm"  # 19/20: bound 0.804 < 0.85
    book.add("approve")                      # the edit drops out: 20/20
    assert (status(trust).level, status(trust).reviews, status(trust).approved) == (
        "notify", 20, 20)


def test_a_record_that_falls_below_the_bar_drops_a_rung_without_cooldown(log, book):
    trust = Trust(log, window=20, min_reviews=20, cooldown=20)
    book.many("approve", 20)
    assert status(trust).level == "notify"
    book.add("edit")                         # 19/20 in the window: 0.804 < 0.85
    assert status(trust).level == "confirm"
    assert trust.history().cause.tolist() == ["promoted", "lowered"]
    assert trust.history().reason.iloc[-1] == ("schedule_call by support: 19/20 approved "
                                               "as-is, lower bound 0.80 < 0.85 → confirm")
    book.many("approve", 19)                 # the edit is still one of the last 20
    assert status(trust).level == "confirm"
    book.add("approve")                      # now it drops out: 20/20, and no cool-down
    assert status(trust).level == "notify"


def test_autonomy_rung(log, book):
    trust = Trust(log, autonomy_target=0.9, autonomy_min_reviews=40)
    book.many("approve", 39)
    assert status(trust).level == "notify"
    book.add("approve")                      # 40/40: 40 / (40 + z^2) = 0.937 >= 0.9
    assert status(trust).level == "autonomy"
    assert trust.history().to_level.tolist() == ["notify", "autonomy"]


# -- demotion, recovery ------------------------------------------------------------------
def test_a_rejection_demotes_at_once_and_trust_is_re_earned_after_the_cooldown(log, book):
    trust = Trust(log, cooldown=30)
    book.many("approve", 25)
    assert status(trust).level == "notify"
    book.add("reject", reviewer="lea")
    now = status(trust)
    assert (now.level, now.reviews, now.needed, now.cooling_down) == ("confirm", 0, 30, True)
    assert now.reason.startswith("schedule_call by support: rejected by lea at ")
    assert now.reason.endswith("→ confirm; cool-down: 0 of 30 reviews since, 0 approved as-is")
    assert trust.history().reason.iloc[-1] == (
        "schedule_call by support: rejected by lea (record was 25/26 approved as-is) → "
        "confirm")
    book.many("approve", 29)
    # 29/29 clears the bar (bound 0.915, >= 20 reviews) but the cool-down needs 30
    assert 29 / (29 + Z * Z) > 0.85
    assert status(trust).level == "confirm"
    book.add("approve")
    assert status(trust).level == "notify"
    assert trust.history().cause.tolist() == ["promoted", "demoted", "promoted"]


def test_a_rejection_at_confirm_restarts_the_record(log, book):
    trust = Trust(log)
    book.many("approve", 15)
    book.add("reject")
    assert trust.history().cause.tolist() == ["reset"]
    book.many("approve", 29)
    assert status(trust).level == "confirm"  # the cool-down applies here too
    book.add("approve")
    assert status(trust).level == "notify"


def test_cooldown_time(log, book):
    trust = Trust(log, cooldown=20, cooldown_time=timedelta(hours=2))
    book.many("approve", 20)
    book.add("reject", at=T0 + timedelta(hours=1))
    for minute in range(1, 21):  # 20 clean reviews within the next 20 minutes
        book.add("approve", at=T0 + timedelta(hours=1, minutes=minute))
    assert status(trust).level == "confirm"
    assert status(trust).reason.endswith("cool-down time not over → confirm")
    book.add("approve", at=T0 + timedelta(hours=3, minutes=1))
    assert status(trust).level == "notify"


def test_undo_of_an_action_that_ran_demotes(log, book):
    trust = Trust(log)
    book.many("approve", 20)
    book.add("approve", request_id="ran")
    assert status(trust).level == "notify"
    book.add("undo", request_id="ran", reviewer="lea")
    assert status(trust).level == "confirm"
    assert trust.history().reason.iloc[-1].startswith("schedule_call by support: undone by lea")


def test_undo_of_an_automatic_run_demotes(log, book):
    trust = Trust(log)
    book.many("approve", 20)
    book.add("auto", request_id="auto:1", source="policy")
    assert status(trust).auto_runs == 1
    book.add("undo", request_id="auto:1")
    assert status(trust).level == "confirm"


def test_undo_of_a_rejection_is_the_reviewer_changing_their_mind(log, book):
    trust = Trust(log)
    book.add("reject", request_id="x")
    book.many("approve", 30)
    assert status(trust).level == "notify"
    before = len(trust.history())
    book.add("undo", request_id="x")        # takes back the reject: not the agent's fault
    assert status(trust).level == "notify"
    assert len(trust.history()) == before
    assert (status(trust).reviews, status(trust).approved) == (30, 30)


def test_reported_incident_demotes_and_is_logged(log, book):
    trust = Trust(log)
    book.many("approve", 20)
    row = trust.report_incident("schedule_call", agent="support", reviewer="lea",
                                reason="a customer was called at 3 am")
    assert (row["decision"], row["source"], row["reviewer"], row["action_name"]) == (
        "incident", "human", "lea", "schedule_call")
    assert status(trust).level == "confirm"
    assert trust.history().reason.iloc[-1] == (
        "schedule_call by support: incident reported by lea: a customer was called at 3 am "
        "(record was 20/20 approved as-is) → confirm")
    assert log.verify()
    assert log.to_pandas().decision.iloc[-1] == "incident"
    with pytest.raises(ValueError, match="reason="):
        trust.report_incident("schedule_call", reason=" ")


def test_demote_on_is_configurable(log, book):
    trust = Trust(log, demote_on=("reject", "undo", "incident", "edit"))
    book.many("approve", 20)
    book.add("edit")
    assert status(trust).level == "confirm"
    assert trust.history().cause.tolist() == ["promoted", "demoted"]


def test_only_reviewers_count_and_agents_are_separate(log, book):
    trust = Trust(log)
    book.many("approve", 20)
    for _ in range(5):
        book.add("timeout", source="policy")
        book.add("auto", source="policy")
    assert status(trust).reviews == 20
    assert status(trust).auto_runs == 5
    assert trust.level("schedule_call", agent="other") == "confirm"
    assert trust.level("schedule_call") == "confirm"  # no agent is its own record
    table = trust.to_pandas()
    assert table[["agent", "action", "level", "reviews"]].values.tolist() == [
        ["support", "schedule_call", "notify", 20]]


# -- in a policy: strictest wins ---------------------------------------------------------
def trusted(log: FeedbackLog, book: Book) -> Trust:
    trust = Trust(log)
    book.many("approve", 20)
    assert status(trust).level == "notify"
    return trust


def test_trust_gate_relaxes_to_notify_with_the_reason(log, book):
    policy = Policy([TrustGate(trusted(log, book), actions=["schedule_call"])])
    verdict = policy.evaluate("schedule_call", {"order": 1}, agent="support")
    assert (verdict.level, verdict.needs_review, verdict.gate) == ("notify", False, "trust")
    assert verdict.explanation == ("schedule_call by support: 20/20 approved as-is, lower "
                                   "bound 0.88 ≥ 0.85 → notify (trust)")
    assert verdict.fired[0].values["reviews"] == 20
    untrusted = policy.evaluate("schedule_call", {"order": 1}, agent="newcomer")
    assert (untrusted.level, untrusted.needs_review) == ("confirm", True)
    assert policy.evaluate("lookup_order", {"order": 1}).level == "autonomy"


@pytest.mark.parametrize(("other", "level", "roles", "approvals"), [
    (Critical(actions=["schedule_call"], level="human_leads"), "human_leads", (), 1),
    (RequiresRole("lead", actions=["schedule_call"]), "confirm", ("lead",), 1),
    (TwoPersonRule(actions=["schedule_call"]), "confirm", (), 2),
    (ConfidenceBelow(0.95), "confirm", (), 1),
])
def test_strictest_wins_over_earned_trust(log, book, other, level, roles, approvals):
    trust = trusted(log, book)
    verdict = Policy([TrustGate(trust), other]).evaluate(
        "schedule_call", {"order": 1}, confidence=0.9, agent="support")
    assert (verdict.level, verdict.required_roles, verdict.approvals_needed) == (
        level, roles, approvals)
    assert verdict.fired[0].gate == "trust"
    assert verdict.fired[0].level == "notify"  # trust asked for notify; the other gate won


def test_trust_gate_cannot_carry_roles_or_another_start():
    trust = Trust()
    with pytest.raises(ValueError, match="RequiresRole"):
        TrustGate(trust, roles=["lead"])
    with pytest.raises(ValueError, match=r"Trust\(start='collaborate'\)"):
        TrustGate(trust, level="collaborate")
    assert TrustGate(Trust(start="collaborate")).level == "collaborate"
    with pytest.raises(TypeError, match=r"hitl_nb\.Trust"):
        TrustGate("trust")  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_reviews": 60}, "can never be reached"),
    ({"cooldown": 51}, "can never be reached"),
    ({"target": 1.2}, "between 0 and 1"),
    ({"confidence": 0.4}, "one-sided"),
    ({"start": "notify"}, "before trust is earned"),
    ({"demote_on": ["approve"]}, "unknown"),
    ({"autonomy_min_reviews": 30}, "autonomy_target"),
])
def test_bad_settings_name_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Trust(**kwargs)


# -- reading the log ---------------------------------------------------------------------
def test_reads_only_new_rows_and_follows_the_kernel_log(fresh_default_log):
    trust = Trust()  # the kernel's log
    Book(fresh_default_log).many("approve", 20)
    assert status(trust).level == "notify"
    assert trust._seen == 20
    hitl_nb.use_log(FeedbackLog())
    try:
        assert status(trust).level == "confirm"  # a different log: a different record
    finally:
        hitl_nb.use_log(fresh_default_log)
    assert status(trust).level == "notify"


def test_sqlite_log_is_read_incrementally(tmp_path):
    path = tmp_path / "audit.sqlite"
    writer = FeedbackLog(path)
    reader = Trust(FeedbackLog(path))
    Book(writer).many("approve", 10)
    assert status(reader).reviews == 10
    Book(writer).many("approve", 10)  # another process could have written these
    assert (status(reader).reviews, status(reader).level) == (20, "notify")
    assert [r["decision_id"] for r in writer.rows_since(18)] == [
        r["decision_id"] for r in list(writer)[18:]]


def test_as_of_reports_the_level_in_force_at_that_time(log, book):
    trust = Trust(log)
    book.many("approve", 20)  # promoted at T0 + 20 min
    then = trust.status("schedule_call", agent="support", as_of=T0 + timedelta(minutes=10))
    assert (then.level, then.held) == ("confirm", True)
    assert then.reason == ("schedule_call by support: confirm when this step started (now "
                           "notify: decisions since apply from the next step) → confirm")
    later = trust.status("schedule_call", agent="support", as_of=T0 + timedelta(hours=1))
    assert (later.level, later.held) == ("notify", False)


def test_a_request_to_revise_a_draft_counts_against_like_an_edit(log, book):
    """3 revise rounds weigh like 3 edits: promotion needs the same 47 reviews (see above)."""
    trust = Trust(log)
    book.many("revise", 3)
    book.many("approve", 43)
    assert status(trust).level == "confirm"  # 43/46: bound 0.8476 < 0.85
    book.add("approve")
    assert status(trust).level == "notify"   # 44/47: bound 0.8507 >= 0.85
