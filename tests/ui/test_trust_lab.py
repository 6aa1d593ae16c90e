"""Confidence communication in real JupyterLab: the card shows what the agent's stated
confidence has meant for this action and the earned trust level with its reason; a card
without history shows neither; approving by click counts towards trust."""

from __future__ import annotations

from conftest import ARTIFACTS, open_notebook
from playwright.sync_api import Page, expect
from statsmodels.stats.proportion import proportion_confint

SETUP = """%load_ext hitl_nb
import hitl_nb
from hitl_nb import FeedbackLog, Trust
from hitl_nb.demo import SupportDesk, gated_support_agent, support_agent
from hitl_nb.demo.trust import call_tools, trust_policy
desk = SupportDesk(orders={3000 + i: {"customer": f"c{i}@example.com", "total": 20.0,
                                      "status": "delivered"} for i in range(10)})
log = FeedbackLog()
trust = Trust(log, target=0.5, min_reviews=3, window=10, cooldown=3)
graph = gated_support_agent(desk, policy=trust_policy(trust), tools=call_tools(desk), log=log)
def call(order):
    return hitl_nb.Session(graph, log=log, reviewer="lea").invoke(
        {"messages": [("user", f"schedule a call about order {order}")]})
call(3000).approve()
call(3001).approve()
call(3002).reject("not on a Sunday")"""
CARD = "call(3003)"
NO_HISTORY = """hitl_nb.Session(support_agent(SupportDesk()), log=FeedbackLog()).invoke(
    {"messages": [("user", "refund order 1042")]})"""


def test_card_shows_confidence_history_and_trust_level(page: Page, lab):
    nb = open_notebook(page, lab, "trust.ipynb", [SETUP, CARD, NO_HISTORY])
    nb.run_all()
    widget = nb.widget(0)
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-action")).to_have_text("schedule_call")
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    expect(card.get_by_test_id("hitl-track-record")).to_have_text(
        f"Agent says 90%. At 80-90% stated confidence, support's schedule_call proposals were "
        f"approved as-is 67% of the time (2 of 3; 95% CI {100 * low:.0f}-{100 * high:.0f}%).")
    trust_line = card.get_by_test_id("hitl-trust")
    expect(trust_line).to_have_attribute("data-level", "confirm")
    expect(trust_line).to_have_text("Trust: Confirm. Notify after at least 3 more reviews, if "
                                    "the approved-as-is rate's lower bound reaches 0.5.")
    # why: the trust gate's reason, in the list of gates that stopped the action
    reason = card.get_by_test_id("hitl-gates").locator("[data-gate=trust]")
    expect(reason).to_contain_text("schedule_call by support: rejected by lea at ")
    expect(reason).to_contain_text("→ confirm; cool-down: 0 of 3 reviews since, 0 approved "
                                   "as-is (trust)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "trust_card.png"))

    # a card with no history for its confidence shows neither line
    other = nb.widget(1)
    expect(other.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    expect(other.get_by_test_id("hitl-confidence")).to_have_count(1)
    expect(other.get_by_test_id("hitl-track-record")).to_have_count(0)
    expect(other.get_by_test_id("hitl-trust")).to_have_count(0)

    # the click is a review like any other: it counts towards the record
    card.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-status")).to_have_text("done")
    out = nb.run_cell_code("s = trust.status('schedule_call', agent='support')\n"
                           "print(s.level, s.reviews, s.approved, desk.count('schedule_call'))")
    assert out == "confirm 1 1 3"
    assert page.log.errors == []  # type: ignore[attr-defined]
