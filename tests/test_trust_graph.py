"""Earned autonomy on real LangGraph runs: a guarded tool goes from confirm to notify after
enough approvals and back after a rejection; the review widget shows the confidence's
track record and the trust level; the recovery demo follows the rule."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config, send
from pydantic import Field
from statsmodels.stats.proportion import proportion_confint

import hitl_nb
from hitl_nb import FeedbackLog, Trust
from hitl_nb.demo import ScriptedSupportModel, SupportDesk, gated_support_agent
from hitl_nb.demo.trust import call_tools, recovery_run, trust_policy

LEAD = hitl_nb.Reviewer("lea")


class SometimesUnsure(ScriptedSupportModel):
    """The scripted model, unsure (0.5) about calls for the orders in `unsure`."""

    unsure: set[int] = Field(default_factory=set)

    def _tools(self, calls: list[dict[str, Any]], confidence: float) -> Any:  # type: ignore[override]
        if any(c["name"] == "schedule_call" and c["args"]["order"] in self.unsure
               for c in calls):
            confidence = 0.5
        return ScriptedSupportModel._tools(calls, confidence)


@pytest.fixture
def desk() -> SupportDesk:
    return SupportDesk(orders={3000 + i: {"customer": f"c{i}@example.com", "total": 20.0,
                                          "status": "delivered"} for i in range(10)})


def call(graph: Any, order: int, log: FeedbackLog) -> hitl_nb.Session:
    session = hitl_nb.Session(graph, config(), log=log, reviewer=LEAD)
    return session.invoke({"messages": [("user", f"schedule a call about order {order}")]})


def test_guarded_tool_earns_notify_and_loses_it_on_a_rejection(desk: SupportDesk):
    log = FeedbackLog()
    # 2/2 approved: bound 2 / (2 + 1.645^2) = 0.425 < 0.5; 3/3: 3 / 5.706 = 0.526 >= 0.5
    trust = Trust(log, target=0.5, min_reviews=3, window=10, cooldown=3)
    graph = gated_support_agent(desk, policy=trust_policy(trust), tools=call_tools(desk),
                                log=log, model=SometimesUnsure(unsure={3004}))
    for n, order in enumerate((3000, 3001, 3002), start=1):
        session = call(graph, order, log)
        [request] = session.pending
        assert (request.action, request.level, request.gate) == ("schedule_call", "confirm",
                                                                 "trust")
        assert desk.count("schedule_call") == n - 1  # nothing runs before the approval
        if n == 1:  # the first one through the widget, as a click would
            widget = session.widget()
            card = widget.requests[0]
            send(widget, {"type": "decision", "request_id": card["request_id"],
                          "nonce": card["nonce"], "action": "approve", "args": None,
                          "message": None, "rating": None, "comment": None})
        else:
            session.approve()
        assert session.status == "done"
        # the approval that earned notify still resumed its own paused step: the tool ran
        # once, with the approved args, and nothing was logged as automatic
        assert desk.count("schedule_call") == n
    assert trust.level("schedule_call", agent="support") == "notify"
    assert [r["decision"] for r in log] == ["approve"] * 3

    session = call(graph, 3003, log)  # now it runs and is reported, nobody is asked
    assert (session.status, session.pending, desk.count("schedule_call")) == ("done", [], 4)
    auto = list(log)[-1]
    assert (auto["decision"], auto["source"], auto["spectrum_level"], auto["gate"],
            auto["agent"]) == ("auto", "policy", "notify", "trust", "support")
    assert auto["gate_reason"] == ("schedule_call by support: 3/3 approved as-is, lower "
                                   "bound 0.53 ≥ 0.5 → notify (trust)")
    assert hitl_nb.feed().items[-1].request.reason == auto["gate_reason"]

    # an unsure proposal stops for the confidence gate although trust says notify
    session = call(graph, 3004, log)
    [request] = session.pending
    assert (request.level, request.gate) == ("confirm", "trust, confidence")
    assert [g["level"] for g in request.gates] == ["notify", "confirm"]
    session.reject("wrong customer")
    assert desk.count("schedule_call") == 4
    assert trust.level("schedule_call", agent="support") == "confirm"
    assert trust.history().cause.tolist() == ["promoted", "demoted"]

    session = call(graph, 3005, log)  # back at confirm: asked again
    [request] = session.pending
    assert (request.level, request.gate) == ("confirm", "trust")
    assert request.gate_reason.startswith("schedule_call by support: rejected by lea at ")


def test_review_card_shows_the_track_record_and_trust_level(desk: SupportDesk):
    log = FeedbackLog()
    trust = Trust(log, target=0.5, min_reviews=3, window=10, cooldown=3)
    graph = gated_support_agent(desk, policy=trust_policy(trust), tools=call_tools(desk),
                                log=log, model=SometimesUnsure(unsure={3002}))
    first = call(graph, 3000, log)
    card = first.widget().requests[0]
    assert card["track_record"] is None  # no history yet: the widget shows nothing
    assert card["trust"] == {"level": "confirm", "reason": "schedule_call by support: no "
                             "reviews yet → confirm", "reviews": 0, "approved": 0,
                             "lower": None, "target": 0.5,
                             "progress": "Notify after at least 3 more reviews, if the "
                                         "approved-as-is rate's lower bound reaches 0.5."}
    first.approve()
    call(graph, 3001, log).reject("not this week")
    call(graph, 3002, log).approve()      # stated 0.5: another bin
    widget = call(graph, 3003, log).widget()
    card = widget.requests[0]
    # stated 0.9 -> bin (80, 90]% (scikit-learn's right-closed bins): one approved as is of
    # two; 95% Wilson CI from statsmodels
    low, high = proportion_confint(1, 2, alpha=0.05, method="wilson")
    assert card["track_record"]["text"] == (
        f"Agent says 90%. At 80-90% stated confidence, support's schedule_call proposals "
        f"were approved as-is 50% of the time (1 of 2; 95% CI {100 * low:.0f}-"
        f"{100 * high:.0f}%).")
    assert (card["track_record"]["n"], card["track_record"]["approved"]) == (2, 1)
    assert card["trust"]["level"] == "confirm"
    assert card["trust"]["reason"].startswith("schedule_call by support: rejected by lea at ")
    assert card["trust"]["reason"].endswith("cool-down: 1 of 3 reviews since, 1 approved "
                                            "as-is")
    assert card["trust"]["progress"] == ("Notify after at least 2 more reviews, if the "
                                         "approved-as-is rate's lower bound reaches 0.5.")


def test_recovery_demo_follows_the_rule():
    run = recovery_run(episodes=24, calls=4, drift=(9, 13), drift_rate=0.6, seed=0)
    calls = run.calls
    levels = calls["level"].tolist()
    # 20 clean approvals are needed first (min_reviews=20; 20/20 bound 0.881 >= 0.85)
    assert levels[:20] == ["confirm"] * 20
    assert calls["outcome"].iloc[:20].tolist() == ["approve"] * 20
    assert levels[20] == "notify"
    # the first bad call that ran at notify was undone, and the next call was asked
    first_bad = calls.index[calls["bad"]][0]
    assert (levels[first_bad], calls["outcome"][first_bad]) == ("notify", "auto+undo")
    assert levels[first_bad + 1] == "confirm"
    # re-earned exactly after 30 clean reviews following the last rejection (cool-down 30)
    last_reject = calls.index[calls["outcome"] == "reject"][-1]
    after = calls.iloc[last_reject + 1:]
    assert after["outcome"].iloc[:30].tolist() == ["approve"] * 30
    assert after["level"].iloc[:30].tolist() == ["confirm"] * 30
    assert set(after["level"].iloc[30:]) == {"notify"}
    # workload: nobody reviews while the level is notify, and every call is accounted for
    episodes = run.episodes
    quiet = episodes[(episodes["level"] == "notify") & (episodes["level_end"] == "notify")]
    assert len(quiet) > 0
    assert quiet["reviews"].eq(0).all()
    assert (episodes["reviews"] + episodes["auto"]).eq(4).all()
    assert run.trust.history().cause.tolist()[:2] == ["promoted", "demoted"]
    assert run.trust.history().cause.tolist()[-1] == "promoted"
    assert run.desk.count("schedule_call") - len(run.desk.calls) == episodes["undos"].sum()
