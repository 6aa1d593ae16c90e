"""Override controls in real JupyterLab: Undo then decide differently; Stop; Redirect."""

from __future__ import annotations

from conftest import open_notebook
from playwright.sync_api import Page, expect

SETUP = """%load_ext hitl_nb
import hitl_nb
from hitl_nb.demo import SupportDesk, support_agent
desk = SupportDesk()
hitl_nb.compensate("issue_refund", desk.reverse_refund)
graph = support_agent(desk)"""


def refund(thread: str) -> str:
    return ('graph.invoke({"messages": [("user", "refund order 1042")]}, '
            f'{{"configurable": {{"thread_id": "{thread}"}}}})')


def test_undo_then_decide_differently(page: Page, lab):
    nb = open_notebook(page, lab, "undo.ipynb", [SETUP, refund("undo")])
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_test_id("hitl-undo")).to_have_count(0)  # nothing decided yet
    widget.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    undo = widget.get_by_role("button", name="Undo: Approved issue_refund")
    expect(undo).to_have_count(1)
    undo.click()
    expect(widget.get_by_test_id("hitl-notice")).to_contain_text(
        "refund of 80.00 on order 1042 reversed")
    expect(widget.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    undone = widget.locator("[data-testid=hitl-decided][data-undone=true]")
    expect(undone).to_contain_text("Undone: Approved issue_refund")
    expect(widget.get_by_test_id("hitl-undo")).to_have_count(0)  # no double undo
    widget.get_by_test_id("hitl-message").fill("refund already made by phone")
    widget.get_by_test_id("hitl-reject").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("refund already made by phone")
    out = nb.run_cell_code(
        "print(desk.count('issue_refund'), desk.count('reverse_refund'),"
        " list(hitl_nb.log().to_pandas().decision.astype(str)))")
    assert out == "1 1 ['approve', 'undo', 'reject']"
    assert page.log.errors == []  # type: ignore[attr-defined]


def test_stop_shows_the_stopped_state(page: Page, lab):
    nb = open_notebook(page, lab, "stop.ipynb", [SETUP, refund("stop")])
    nb.run_all()
    widget = nb.widget()
    widget.get_by_label("Reason for stopping the run (optional)").fill("customer withdrew")
    widget.get_by_role("button", name="Stop this run without resuming it").click()
    expect(widget.get_by_test_id("hitl-status")).to_have_text("stopped")
    expect(widget.get_by_test_id("hitl-stopped")).to_contain_text("customer withdrew")
    expect(widget.get_by_test_id("hitl-request")).to_have_count(0)
    expect(widget.get_by_test_id("hitl-stop")).to_have_count(0)
    stopped = widget.locator("[data-testid=hitl-decided][data-decision=stop]")
    expect(stopped).to_contain_text("Stopped issue_refund")
    out = nb.run_cell_code(
        "s = hitl_nb.current()\n"
        "try:\n    s.approve()\nexcept hitl_nb.Stopped as exc:\n    print('refused:', exc)\n"
        "print(desk.count('issue_refund'), list(hitl_nb.log().to_pandas().decision.astype(str)))")
    assert out.startswith("refused: thread 'stop' was stopped by browser-tester")
    assert out.endswith("0 ['stop']")


def test_redirect_from_the_card(page: Page, lab):
    nb = open_notebook(page, lab, "redirect.ipynb", [SETUP, refund("redirect")])
    nb.run_all()
    widget = nb.widget()
    widget.get_by_role("button", name="Redirect instead of issue_refund").click()
    expect(widget.get_by_test_id("hitl-error")).to_contain_text("Write the new instructions")
    widget.get_by_label("Change course").fill("don't refund, offer a voucher instead")
    widget.get_by_role("button", name="Redirect instead of issue_refund").click()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("issue_voucher")
    expect(widget.get_by_label("amount")).to_have_value("80")
    redirected = widget.locator("[data-testid=hitl-decided][data-decision=redirect]")
    expect(redirected).to_contain_text("Instructions: don't refund, offer a voucher instead")
    assert nb.run_cell_code("print(desk.count('issue_refund'))") == "0"
