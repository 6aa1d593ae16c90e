"""Confirmation workflows in real JupyterLab: an edit's diff, parallel interrupts with one
left pending, the batch widget over 10,000 items (and its "no risk" filter and row diffs),
and Undo in the notification feed."""

from __future__ import annotations

import re

from conftest import open_notebook
from playwright.sync_api import Page, expect
from test_review_lab import REFUND, SETUP

FAN_OUT = """%load_ext hitl_nb
import operator
from typing import Annotated
from typing_extensions import TypedDict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
import hitl_nb

class Fan(TypedDict, total=False):
    items: list[str]
    done: Annotated[list[str], operator.add]

def spread(state):
    return [Send("publish", {"items": [item]}) for item in state["items"]]

def publish(state):
    item = state["items"][0]
    decision = hitl_nb.ask(action=f"publish_{item}", args={"item": item})
    return {"done": [f"{item}:{decision.action}"]}

builder = StateGraph(Fan)
builder.add_node("publish", publish)
builder.add_conditional_edges(START, spread, ["publish"])
builder.add_edge("publish", END)
fan = builder.compile(checkpointer=InMemorySaver())
config = {"configurable": {"thread_id": "fan"}}"""

BATCH = """import hitl_nb
from hitl_nb.demo import SupportDesk, propose, refund_queue_agent, refund_requests
requests = refund_requests(10_000)
expected = sum(1 for r in requests if (p := propose(r))["action"] == "issue_refund"
               and p["risk"] == "low" and p["confidence"] >= 0.9)
queue = hitl_nb.Session(refund_queue_agent(SupportDesk()), {"configurable": {"thread_id": "q"}})
queue.invoke({"requests": requests})
batch = hitl_nb.BatchReview(queue, page_size=25)
batch"""


def test_edit_of_a_long_text_shows_its_word_diff(page: Page, lab):
    nb = open_notebook(page, lab, "diff.ipynb", [SETUP, REFUND])
    nb.run_all()
    widget = nb.widget()
    widget.get_by_test_id("hitl-approve").click()  # the refund; the reply draft follows
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    body = widget.get_by_label("body")
    text = body.input_value()
    assert "3-5 days" in text
    body.fill(text.replace("3-5 days", "two working days") + "\nSupport Team")
    widget.get_by_test_id("hitl-edit").click()
    decided = widget.locator("[data-testid=hitl-decided][data-decision=edit]")
    expect(decided).to_have_count(1)
    diff = decided.get_by_test_id("hitl-changes")
    expect(diff.locator("del", has_text="3-5")).to_be_visible()
    expect(diff.locator("ins", has_text="two working")).to_be_visible()
    expect(diff.locator("ins", has_text="Support Team")).to_be_visible()
    out = nb.run_cell_code(
        "row = hitl_nb.log().to_pandas().iloc[-1]\n"
        "print(row.decision, row.edited, [t for tag, t in row.patch[0]['text_diff'] "
        "if tag == '-'], int(row.edit_distance))")
    decision, edited, removed, distance = out.split(" ", 3)
    assert (decision, edited, removed) == ("edit", "True", "['3-5']")
    # the card shows the distance the log stored
    expect(decided.get_by_test_id("hitl-edit-distance")).to_have_text(
        f"edit distance: {distance} characters")
    assert page.log.errors == []


def test_parallel_interrupts_decide_two_one_stays_pending(page: Page, lab):
    nb = open_notebook(page, lab, "parallel.ipynb", [
        FAN_OUT, "fan.invoke({'items': ['alpha', 'beta', 'gamma']}, config)"])
    nb.run_all()
    widget = nb.widget()
    cards = widget.get_by_test_id("hitl-request")
    expect(cards).to_have_count(3)
    widget.get_by_role("button", name="Approve publish_alpha").click()
    expect(cards).to_have_count(2)
    widget.get_by_role("button", name="Reject publish_beta").click()
    expect(cards).to_have_count(1)
    submit = widget.get_by_test_id("hitl-submit")
    expect(submit).to_have_text("Submit 2 decided now")
    submit.click()
    # alpha and beta resumed with one Command; gamma is still pending and still shown
    expect(widget.locator("[data-testid=hitl-decided] >> text=waiting to be submitted")) \
        .to_have_count(0)
    expect(cards).to_have_count(1)
    expect(cards.get_by_test_id("hitl-action")).to_have_text("publish_gamma")
    expect(widget.get_by_test_id("hitl-status")).to_have_text("pending")
    out = nb.run_cell_code("print(sorted(fan.get_state(config).values['done']), "
                           "[i.value['action'] for i in fan.get_state(config).interrupts])")
    assert out == "['alpha:approve', 'beta:reject'] ['publish_gamma']"


def test_batch_widget_with_10000_items(page: Page, lab):
    nb = open_notebook(page, lab, "batch.ipynb", [BATCH])
    nb.run_all()
    root = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid=hitl-batch]")
    root.wait_for(timeout=120_000)
    rows = root.get_by_test_id("hitl-batch-row")
    expect(rows).to_have_count(25)  # one page in the DOM, not 10,000 rows
    expect(root.get_by_test_id("hitl-batch-summary")).to_contain_text("10,000 pending")
    expect(root.get_by_test_id("hitl-batch-page")).to_contain_text("Page 1 of 400")
    first_page = rows.first.get_attribute("data-row-id")
    root.get_by_test_id("hitl-batch-next").click()
    expect(root.get_by_test_id("hitl-batch-page")).to_contain_text("Page 2 of 400")
    expect(rows.first).not_to_have_attribute("data-row-id", str(first_page))
    expect(rows).to_have_count(25)

    root.get_by_test_id("hitl-batch-action").select_option(value="=issue_refund")
    root.get_by_test_id("hitl-batch-risk").select_option(value="=low")
    root.get_by_test_id("hitl-batch-min").fill("0.9")
    root.get_by_test_id("hitl-batch-min").press("Enter")
    root.get_by_test_id("hitl-batch-min").blur()
    expected = int(nb.run_cell_code("print(expected)"))
    expect(root.get_by_test_id("hitl-batch-page")).to_contain_text(f"of {expected:,}")
    expect(root.get_by_test_id("hitl-batch-page")).to_contain_text("Page 1 of")
    assert rows.count() == 25
    for status in rows.evaluate_all("rows => rows.map(r => r.dataset.status)"):
        assert status == "pending"

    root.get_by_test_id("hitl-batch-approve-matching").click()
    confirm = root.get_by_test_id("hitl-batch-confirm-text")
    expect(confirm).to_contain_text(f"Approve {expected:,} pending actions matching "
                                    "action = issue_refund · risk = low · confidence ≥ 0.9")
    root.get_by_test_id("hitl-batch-confirm-yes").click()
    expect(root.get_by_test_id("hitl-batch-notice")).to_have_text(
        f"approve: {expected} decided")
    expect(root.get_by_test_id("hitl-batch-summary")).to_contain_text(
        f"{10_000 - expected:,} pending")
    out = nb.run_cell_code(
        "df = hitl_nb.log().to_pandas()\n"
        "print(len(df), set(df.decision), set(df.action_name), df.request_id.nunique())")
    assert out == f"{expected} {{'approve'}} {{'issue_refund'}} {expected}"
    assert page.log.errors == []
    assert page.log.dialogs == []


def ask_many_batch(items: str, thread: str, page_size: int = 25) -> str:
    """Notebook code: a one-node graph asking about `items` (Python source for the list
    `hitl_nb.ask_many` takes), paused in a Session and shown as the BatchReview `batch`."""
    return f"""from typing_extensions import TypedDict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph

class Q(TypedDict, total=False):
    out: list

items = {items}

def review(state):
    return {{"out": [d.action for d in hitl_nb.ask_many(items)]}}

builder = StateGraph(Q)
builder.add_node("review", review)
builder.add_edge(START, "review")
queue = hitl_nb.Session(builder.compile(checkpointer=InMemorySaver()),
                        {{"configurable": {{"thread_id": "{thread}"}}}}).invoke({{}})
batch = hitl_nb.BatchReview(queue, page_size={page_size})
batch"""


UNLABELLED = "%load_ext hitl_nb\nimport hitl_nb\n" + ask_many_batch(
    """[{"action": "issue_refund", "args": {"order": i, "amount": 10.0 * i},
          "risk": None if i % 3 == 0 else "low", "confidence": 0.5} for i in range(12)]""",
    "unlabelled")


def test_batch_no_risk_filter_and_a_row_edit_diff(page: Page, lab):
    unlabelled = [i for i in range(12) if i % 3 == 0]  # as UNLABELLED builds them
    nb = open_notebook(page, lab, "unlabelled.ipynb", [UNLABELLED])
    nb.run_all()
    root = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid=hitl-batch]")
    root.wait_for(timeout=90_000)
    rows = root.get_by_test_id("hitl-batch-row")
    expect(rows).to_have_count(12)
    risk = root.get_by_test_id("hitl-batch-risk")
    labels = risk.locator("option").evaluate_all("os => os.map(o => o.textContent)")
    assert labels == ["any risk", "low (8)", f"(none) ({len(unlabelled)})"]
    risk.select_option(label=f"(none) ({len(unlabelled)})")
    expect(rows).to_have_count(len(unlabelled))
    expect(root.get_by_test_id("hitl-batch-summary")).to_contain_text(
        f"{len(unlabelled)} match no risk label")
    assert [int(i) for i in rows.evaluate_all("rs => rs.map(r => r.dataset.rowId)")] == unlabelled

    # edit one row: the decided row lists what changed, field by field
    row = root.locator("[data-testid=hitl-batch-row][data-row-id='3']")
    row.get_by_test_id("hitl-batch-edit").click()
    root.get_by_test_id("hitl-batch-editor").locator("[data-field=amount]").fill("5")
    root.get_by_test_id("hitl-batch-save").click()
    expect(rows).to_have_count(len(unlabelled) - 1)
    root.get_by_test_id("hitl-batch-status").select_option("all")
    change = row.get_by_test_id("hitl-changes").locator("li[data-path='/amount']")
    expect(change.locator("del")).to_have_text("30")
    expect(change.locator("ins")).to_have_text("5")
    expect(row.get_by_test_id("hitl-changes").locator("li")).to_have_count(1)
    expect(row.get_by_test_id("hitl-edit-distance")).to_have_text(re.compile(
        r"^edit distance: [1-9]\d* characters?$"))
    root.get_by_test_id("hitl-batch-status").select_option("pending")

    # approve all matching: exactly the unlabelled ones still pending
    left = len(unlabelled) - 1
    root.get_by_test_id("hitl-batch-approve-matching").click()
    expect(root.get_by_test_id("hitl-batch-confirm-text")).to_contain_text(
        f"Approve {left} pending actions matching no risk label · pending")
    root.get_by_test_id("hitl-batch-confirm-yes").click()
    expect(root.get_by_test_id("hitl-batch-notice")).to_have_text(f"approve: {left} decided")
    out = nb.run_cell_code("print(sorted((r['proposed_args']['order'], r['decision'], r['risk']) "
                           "for r in hitl_nb.log()))")
    assert out == str(sorted((i, "edit" if i == 3 else "approve", None) for i in unlabelled))
    assert page.log.errors == []
    assert page.log.dialogs == []


def test_feed_undo_in_the_browser(page: Page, lab):
    nb = open_notebook(page, lab, "feed.ipynb", [
        SETUP, "hitl_nb.feed()",
        "graph.invoke({'messages': [('user', 'schedule a call about order 1043')]}, "
        "{'configurable': {'thread_id': 'call'}})['messages'][-1].content"])
    nb.run_all()
    feed = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid=hitl-feed]")
    feed.wait_for(timeout=90_000)
    item = feed.get_by_test_id("hitl-feed-item")
    expect(item).to_have_count(1, timeout=60_000)  # arrives while the graph runs
    expect(item.get_by_test_id("hitl-feed-action")).to_have_text("schedule_call")
    expect(item.get_by_test_id("hitl-level")).to_have_text("Notify")
    expect(item.get_by_test_id("hitl-feed-result")).to_contain_text("call 1 scheduled")
    undo = item.get_by_test_id("hitl-feed-undo")
    expect(undo).to_contain_text("Undo (")
    undo.dblclick()  # a double click undoes once
    expect(item).to_have_attribute("data-state", "undone")
    out = nb.run_cell_code("print(desk.calls, desk.count('cancel_call'), "
                           "[r['decision'] for r in hitl_nb.log()])")
    assert out == "{} 1 ['auto', 'undo']"
