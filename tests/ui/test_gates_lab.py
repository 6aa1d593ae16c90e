"""Gates and roles in real JupyterLab: why it stopped, who may approve, and a reviewer
without the role who sees a disabled Approve (and whose forged approve is refused)."""

from __future__ import annotations

import json

from conftest import ARTIFACTS, open_notebook
from playwright.sync_api import Page, expect
from test_hostile import send_forged

SETUP = """%load_ext hitl_nb
import hitl_nb
from hitl_nb.demo import SupportDesk, gated_support_agent
desk = SupportDesk()
graph = gated_support_agent(desk)
hitl_nb.reviewer("ivan", roles=["support"])"""
REFUND = """graph.invoke({"messages": [("user", "refund order 1042")]},
             {"configurable": {"thread_id": "gates"}})"""


def test_gate_reasons_roles_and_a_refused_forged_approve(page: Page, lab):
    nb = open_notebook(page, lab, "gates.ipynb", [SETUP, REFUND])
    nb.run_all()
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    expect(card.get_by_test_id("hitl-gates")).to_have_text(
        "amount 80.0 > 50 (threshold:refund_amount)")
    expect(card.get_by_test_id("hitl-who")).to_have_text("Who may approve: role finance")
    expect(widget.get_by_test_id("hitl-reviewer")).to_have_text(
        "Reviewing as ivan (support)")
    approve = card.get_by_test_id("hitl-approve")
    expect(approve).to_be_disabled()
    expect(approve).to_have_attribute("title", "ivan may not decide 'issue_refund': it needs "
                                      "role finance and ivan lacks finance. Ask a reviewer "
                                      "who holds it, or set hitl_nb.reviewer(name, "
                                      "roles=[...]).")
    expect(card.get_by_test_id("hitl-edit")).to_be_disabled()
    expect(card.get_by_test_id("hitl-blocked")).to_contain_text("needs role finance")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "gates_widget.png"))

    # the page forges the approve the disabled button would have sent
    request = json.loads(nb.run_cell_code(
        "import json; print(json.dumps(hitl_nb.current().widget().requests[0]))"))
    send_forged(nb, {"type": "decision", "request_id": request["request_id"],
                     "nonce": request["nonce"], "action": "approve"})
    expect(card.get_by_role("alert")).to_contain_text("ivan lacks finance")
    assert nb.run_cell_code("print(desk.count('issue_refund'), len(hitl_nb.log()))") == "0 0"

    # someone with the role takes over in the same kernel: the card updates in place
    nb.run_cell_code('hitl_nb.reviewer("fiona", roles=["finance"])')
    expect(widget.get_by_test_id("hitl-reviewer")).to_have_text(
        "Reviewing as fiona (finance)")
    expect(approve).to_be_enabled()
    approve.click()
    expect(widget.locator("[data-testid=hitl-decided][data-decision=approve]")).to_have_count(1)
    out = nb.run_cell_code(
        "r = hitl_nb.log().to_pandas().iloc[0]\n"
        "print(desk.count('issue_refund'), r.decision, r.reviewer, r.role)")
    assert out == "1 approve fiona finance"
    assert page.log.errors == []
