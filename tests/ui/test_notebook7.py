"""The same review loop in Notebook 7 (the classic-notebook successor)."""

from __future__ import annotations

from conftest import open_notebook
from playwright.sync_api import Page, expect
from test_review_lab import REFUND, SETUP


def test_quickstart_in_notebook7(page: Page, nb7):
    nb = open_notebook(page, nb7, "nb7.ipynb", [SETUP, REFUND])
    # Notebook 7.6 itself logs one settings error while starting, with or without
    # hitl_nb loaded: what matters is that the widget adds none.
    startup_errors = list(page.log.errors)
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    expect(widget.get_by_test_id("hitl-confidence")).to_be_visible()
    widget.get_by_label("amount").fill("65")
    widget.get_by_test_id("hitl-edit").click()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    widget.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("Refund for order 1042 done")
    out = nb.run_cell_code("print(desk.executed[1], list(hitl_nb.log().to_pandas().decision))")
    assert out == ("('issue_refund', {'order': 1042, 'amount': 65, 'note': 'customer request'})"
                   " ['edit', 'approve']")
    assert page.log.errors == startup_errors


def test_readme_screenshot_of_a_pending_review(page: Page, lab):
    from conftest import ARTIFACTS

    nb = open_notebook(page, lab, "screenshot.ipynb", [
        SETUP, "graph.invoke({'messages': [('user', 'refund order 2001')]}, config)"])
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    widget.get_by_label("note").fill("customer request (manager note: approved by M. Ito)")
    widget.get_by_test_id("hitl-rating").fill("4")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "review_widget.png"))
    assert (ARTIFACTS / "review_widget.png").stat().st_size > 10_000
