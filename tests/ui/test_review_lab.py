"""The review widget in real JupyterLab: what a person sees, clicks and types."""

from __future__ import annotations

import re

from _jupyter import NotebookPage
from conftest import open_notebook
from playwright.sync_api import Page, expect

SETUP = """%load_ext hitl_nb
import hitl_nb
from hitl_nb.demo import SupportDesk, support_agent
desk = SupportDesk()
graph = support_agent(desk)
config = {"configurable": {"thread_id": "ui"}}"""
REFUND = """graph.invoke({"messages": [("user", "refund order 1042")]}, config)"""


def refund_notebook(page: Page, lab, name: str) -> NotebookPage:
    nb = open_notebook(page, lab, name, [SETUP, REFUND])
    nb.run_all()
    return nb


def test_quickstart_approve(page: Page, lab):
    nb = refund_notebook(page, lab, "approve.ipynb")
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    expect(card.get_by_test_id("hitl-level")).to_have_text("Confirm")
    expect(card.get_by_test_id("hitl-risk")).to_have_text("risk: high")
    expect(card.get_by_test_id("hitl-confidence")).to_have_attribute("aria-valuenow", "82")
    expect(card.get_by_label("amount")).to_have_value("80")
    card.get_by_test_id("hitl-approve").click()
    # the refund ran; the agent moved on to the draft, shown in the same widget
    expect(widget.locator("[data-testid=hitl-decided][data-decision=approve]")).to_have_count(1)
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    widget.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("Refund for order 1042 done")
    expect(widget.get_by_test_id("hitl-status")).to_have_text("done")
    out = nb.run_cell_code(
        "df = hitl_nb.log().to_pandas()\n"
        "print(desk.count('issue_refund'), len(df), list(df.decision), list(df.reviewer))")
    assert out == "1 2 ['approve', 'approve'] ['browser-tester', 'browser-tester']"
    assert page.log.errors == []
    assert page.log.dialogs == []


def test_edit_with_a_valid_and_an_invalid_value(page: Page, lab):
    nb = refund_notebook(page, lab, "edit.ipynb")
    widget = nb.widget()
    amount = widget.get_by_label("amount")
    note = widget.get_by_label("note")
    amount.fill("")  # a number field left empty is null: not a number
    widget.get_by_test_id("hitl-edit").click()
    expect(widget.get_by_test_id("hitl-error")).to_contain_text("invalid edit of amount")
    expect(widget.get_by_label("amount")).to_have_attribute("aria-invalid", "true")
    assert nb.run_cell_code("print(desk.count('issue_refund'))") == "0"
    widget.get_by_label("amount").fill("55.5")
    note.fill("partial refund")
    widget.get_by_test_id("hitl-edit").click()
    decided = widget.locator("[data-testid=hitl-decided][data-decision=edit]")
    expect(decided).to_have_count(1)
    expect(decided.get_by_test_id("hitl-changes")).to_contain_text("amount: 80→ 55.5".replace(
        "→", " →"))
    out = nb.run_cell_code("print(desk.executed[-1])")
    assert out == "('issue_refund', {'order': 1042, 'amount': 55.5, 'note': 'partial refund'})"


def test_reject_with_message_and_feedback(page: Page, lab):
    nb = refund_notebook(page, lab, "reject.ipynb")
    widget = nb.widget()
    widget.get_by_test_id("hitl-message").fill("needs a manager")
    widget.get_by_test_id("hitl-rating").fill("2")
    widget.get_by_test_id("hitl-comment").fill("too eager")
    widget.get_by_test_id("hitl-reject").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("needs a manager")
    out = nb.run_cell_code(
        "r = hitl_nb.log().to_pandas().iloc[-1]\n"
        "print(r.decision, r.message, r.rating, r.comment, desk.count('issue_refund'))")
    assert out == "reject needs a manager 2.0 too eager 0"


def test_respond_with_text(page: Page, lab):
    nb = open_notebook(page, lab, "respond.ipynb", [
        "%load_ext hitl_nb\nimport hitl_nb\nfrom langgraph.types import interrupt\n"
        "from langgraph.graph import StateGraph, START\n"
        "from langgraph.checkpoint.memory import InMemorySaver\n"
        "from typing_extensions import TypedDict\n"
        "class S(TypedDict, total=False):\n    name: str\n"
        "def ask_name(s):\n    return {'name': interrupt('Which customer?')}\n"
        "b = StateGraph(S); b.add_node('ask_name', ask_name); b.add_edge(START, 'ask_name')\n"
        "g = b.compile(checkpointer=InMemorySaver())",
        "g.invoke({}, {'configurable': {'thread_id': 'r'}})"])
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_test_id("hitl-reason")).to_have_text("Which customer?")
    expect(widget.get_by_test_id("hitl-edit")).to_have_count(0)
    widget.get_by_test_id("hitl-respond").click()  # empty: refused in the browser
    expect(widget.get_by_test_id("hitl-error")).to_contain_text("Write the response")
    widget.get_by_test_id("hitl-message").fill("Ada Lovelace")
    widget.get_by_test_id("hitl-respond").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text('"name": "Ada Lovelace"')


def test_double_click_resumes_once(page: Page, lab):
    nb = refund_notebook(page, lab, "double.ipynb")
    widget = nb.widget()
    approve = widget.get_by_test_id("hitl-approve")
    approve.dblclick()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    out = nb.run_cell_code("print(desk.count('issue_refund'), len(hitl_nb.log()))")
    assert out == "1 1"


def test_keyboard_only(page: Page, lab):
    nb = refund_notebook(page, lab, "keyboard.ipynb")
    widget = nb.widget()
    buttons = widget.get_by_role("button")
    names = [b.get_attribute("aria-label") for b in buttons.all()]
    assert names == ["Approve issue_refund", "Edit issue_refund", "Reject issue_refund",
                     "Respond issue_refund", "Done by hand: issue_refund",
                     "Redirect instead of issue_refund", "Stop this run without resuming it"]
    widget.get_by_label("amount").focus()
    widget.get_by_label("amount").fill("70")
    # Tab through note, message, rating, comment to the buttons; Enter on Edit
    focused = ""
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        if focused == "Edit issue_refund":
            break
    assert focused == "Edit issue_refund"
    page.keyboard.press("Enter")
    expect(widget.locator("[data-testid=hitl-decided][data-decision=edit]")).to_have_count(1)
    assert re.search(r"'amount': 70", nb.run_cell_code("print(desk.executed[-1])"))
