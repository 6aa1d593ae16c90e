"""Collaborative execution in real JupyterLab: review a plan with the keyboard (move a step,
reassign one), start it, do a human step with one of the agent's options, let a checked
agent step go ahead, co-edit the reply (live diff, revise with a note, accept), and give a
handed-over step's result. The kernel then says what really ran and what was logged."""

from __future__ import annotations

from conftest import open_notebook
from playwright.sync_api import Page, expect

SETUP = """%load_ext hitl_nb
import hitl_nb
from hitl_nb.demo import CaseDesk, collab_agent
from hitl_nb.demo.collab import TICKET
desk = CaseDesk()
run = hitl_nb.Session(collab_agent(desk), {"configurable": {"thread_id": "case-ui"}})
run.invoke({"goal": TICKET})
run"""


def test_plan_review_by_keyboard_then_shared_execution(page: Page, lab):
    nb = open_notebook(page, lab, "collab.ipynb", [SETUP])
    nb.run_all()
    plan = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid=hitl-plan]")
    plan.wait_for(timeout=90_000)
    review = nb.widget()
    expect(review.get_by_test_id("hitl-delegated")).to_contain_text("decide it in the plan view")
    rows = plan.get_by_test_id("hitl-plan-step")
    expect(rows).to_have_count(6)
    expect(rows.nth(5).get_by_test_id("hitl-step-suggested")).to_contain_text(
        "needs crm_note, which the agent does not have")

    # Keyboard only: move step 2 (the policy) up, give step 6 (the CRM note) to the agent.
    plan.get_by_role("button", name="Move step 2 up").focus()
    page.keyboard.press("Enter")
    expect(rows.first).to_have_attribute("data-step-id", "s2")
    expect(plan.get_by_role("button", name="Move step 1 up")).to_be_focused()
    owner = plan.get_by_role("combobox", name="Who does step 6")
    owner.focus()
    page.keyboard.press("ArrowUp")  # "You (human)" -> "Agent"
    expect(owner).to_have_value("agent")
    expect(rows.nth(5).get_by_test_id("hitl-step-suggested")).to_contain_text(
        "you changed this")
    expect(plan.get_by_test_id("hitl-plan-summary")).to_contain_text("1 reassigned")
    start = plan.get_by_role("button", name="Start with my edited plan")
    start.focus()
    page.keyboard.press("Enter")

    # The agent ran its two steps (policy first now); step 3 is mine, with options.
    panel = plan.get_by_test_id("hitl-step-panel")
    expect(panel).to_have_attribute("data-step-id", "s3")
    expect(panel.get_by_test_id("hitl-evidence")).to_contain_text("Policy 4.2")
    panel.get_by_role("button", name="Use option 3").click()
    expect(panel.get_by_test_id("hitl-answer")).to_have_value(
        "Voucher of 90.00 EUR (order total plus 10 EUR goodwill)")
    expect(panel.get_by_test_id("hitl-chosen")).to_have_text("Starting from option 3")
    panel.get_by_role("button", name="Submit your result for step 3").click()

    # Step 4 moves money: checked before the agent runs it.
    expect(panel).to_have_attribute("data-step-id", "s4")
    panel.get_by_role("button", name="Let the agent do this step").click()

    # The reply: co-edited on the review card, with a live word diff.
    card = review.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-coedit-round")).to_contain_text("round 1 of at most 4")
    text = card.get_by_label("text", exact=True)
    text.fill(text.input_value().replace("Hello,", "Hello Ada,"))
    expect(card.get_by_test_id("hitl-coedit-diff").locator("ins")).to_have_text("Hello Ada,")
    card.get_by_role("button", name="Ask the agent to revise draft with the note").click()
    expect(card.get_by_test_id("hitl-error")).to_contain_text("Write a note first")
    card.get_by_label("Note for the agent").fill("more formal")
    card.get_by_role("button", name="Ask the agent to revise draft with the note").click()
    expect(card.get_by_test_id("hitl-coedit-round")).to_contain_text("round 2 of at most 4")
    expect(card.get_by_test_id("hitl-coedit-previous").locator("ins")).to_have_text("Kind")
    card.get_by_test_id("hitl-approve").click()

    # The agent had no CRM tool: the step came back to me with a suggestion.
    expect(panel).to_have_attribute("data-step-id", "s6")
    expect(panel.get_by_test_id("hitl-step-title")).to_contain_text("I have no tool 'crm_note'")
    panel.get_by_role("button", name="Use option 1").click()
    panel.get_by_role("button", name="Submit your result for step 6").click()
    expect(plan.get_by_test_id("hitl-plan-status")).to_have_text("done")
    expect(plan.locator("[data-testid=hitl-plan-step][data-status=done]")).to_have_count(6)

    out = nb.run_cell_code(
        "print([n for n, _ in desk.executed]);"
        "print([(r['action_name'], r['decision']) for r in hitl_nb.log()]);"
        "print([s['done_by'] for s in run.result['plan']['steps']])")
    executed, logged, done_by = out.splitlines()
    assert executed == "['search_policy', 'lookup_order', 'issue_voucher']"
    assert logged == ("[('plan', 'edit'), ('search_policy', 'auto'), ('lookup_order', 'auto'), "
                      "('step', 'input'), ('step', 'approve'), ('issue_remedy', 'auto'), "
                      "('draft', 'revise'), ('draft', 'approve'), ('step', 'input')]")
    assert done_by == "['agent', 'agent', 'human', 'agent', 'both', 'human']"
    assert page.log.errors == []  # type: ignore[attr-defined]
