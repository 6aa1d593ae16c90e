"""Recovering runs in real JupyterLab: Retry after a step raised, a decision staged before a
"restart" sent with the rest, and a typed answer whose required fields start empty."""

from __future__ import annotations

from conftest import open_notebook
from playwright.sync_api import Page, expect
from test_confirm_lab import FAN_OUT  # two `publish` branches, each `hitl_nb.ask`s

FLAKY = """%load_ext hitl_nb
import hitl_nb
from typing_extensions import TypedDict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph

fail = True      # the payment gateway is down until a cell sets this to False
attempts = 0     # approvals that reached the gateway while it was down
charged = []     # what actually went through

class Charge(TypedDict, total=False):
    done: str

def charge(state):
    global attempts
    decision = hitl_nb.ask(action="charge_card", args={"amount": 5})
    if decision.approved and fail:
        attempts += 1
        raise RuntimeError(f"payment gateway down (attempt {attempts})")
    charged.append(decision.action)
    return {"done": decision.action}

builder = StateGraph(Charge)
builder.add_node("charge", charge)
builder.add_edge(START, "charge")
graph = builder.compile(checkpointer=InMemorySaver())
config = {"configurable": {"thread_id": "flaky"}}"""

RETRY = "Retry the failed step with what was already decided"


def test_retry_after_the_step_raised_runs_it_once_with_the_decision_given(page: Page, lab):
    nb = open_notebook(page, lab, "retry.ipynb", [FLAKY, "graph.invoke({}, config)"])
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_role("button", name=RETRY)).to_have_count(0)  # nothing failed yet
    widget.get_by_role("button", name="Approve charge_card").click()
    error = widget.get_by_test_id("hitl-graph-error")
    expect(error).to_contain_text("payment gateway down (attempt 1)")
    expect(widget.get_by_test_id("hitl-status")).to_have_text("error")
    expect(widget.get_by_test_id("hitl-request")).to_have_count(0)  # nothing to decide again
    # Still down: Retry from the keyboard raises again; the new error and a new Retry show.
    widget.get_by_role("button", name=RETRY).focus()
    page.keyboard.press("Enter")
    expect(error).to_contain_text("payment gateway down (attempt 2)")
    retry = widget.get_by_role("button", name=RETRY)
    expect(retry).to_be_enabled()
    nb.run_cell_code("fail = False")
    retry.click()
    expect(widget.get_by_test_id("hitl-status")).to_have_text("done")
    expect(widget.get_by_test_id("hitl-result")).to_contain_text('"done": "approve"')
    expect(widget.get_by_test_id("hitl-graph-error")).to_have_count(0)
    expect(widget.get_by_role("button", name=RETRY)).to_have_count(0)
    out = nb.run_cell_code(
        "df = hitl_nb.log().to_pandas()\n"
        "print(charged, attempts, len(df), list(df.decision))")
    assert out == "['approve'] 2 1 ['approve']"
    assert page.log.errors == []  # type: ignore[attr-defined]


BEFORE_RESTART = """first = hitl_nb.Session(fan, config)
first.invoke({"items": ["alpha", "beta"]})
first.approve(next(r.request_id for r in first.pending if r.args["item"] == "alpha"))
del first   # the kernel "restarts": the approval is logged, not yet sent"""


def test_a_decision_staged_before_a_restart_is_shown_and_sent_with_the_rest(page: Page, lab):
    nb = open_notebook(page, lab, "staged.ipynb", [
        FAN_OUT, BEFORE_RESTART, "hitl_nb.Session(fan, config)   # the restarted view"])
    nb.run_all()
    widget = nb.widget()
    staged = widget.locator("[data-testid=hitl-decided][data-decision=approve]")
    expect(staged).to_have_count(1)
    expect(staged).to_contain_text("Approved publish_alpha · waiting to be submitted")
    pending = widget.get_by_test_id("hitl-request")
    expect(pending).to_have_count(1)
    expect(pending.get_by_test_id("hitl-action")).to_have_text("publish_beta")
    # nothing was sent before the click: no branch has finished
    assert nb.run_cell_code("print(fan.get_state(config).values['done'])") == "[]"
    pending.get_by_role("button", name="Approve publish_beta").click()
    expect(widget.get_by_test_id("hitl-status")).to_have_text("done")
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("alpha:approve")
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("beta:approve")
    out = nb.run_cell_code(  # `done` adds up: a branch that ran twice would be there twice
        "df = hitl_nb.log().to_pandas()\n"
        "print(sorted(fan.get_state(config).values['done']), list(df.decision))")
    assert out == "['alpha:approve', 'beta:approve'] ['approve', 'approve']"
    assert page.log.errors == []  # type: ignore[attr-defined]


TYPED = """%load_ext hitl_nb
import hitl_nb
from pydantic import BaseModel, Field
from typing_extensions import TypedDict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

class Refund(BaseModel):
    order: int
    amount: float = Field(ge=0)
    reason: str

class S(TypedDict, total=False):
    answer: Refund

def fill_in(state):
    return {"answer": interrupt("Fill in the refund", response_schema=Refund)}

builder = StateGraph(S)
builder.add_node("fill_in", fill_in)
builder.add_edge(START, "fill_in")
typed = builder.compile(checkpointer=InMemorySaver())
config = {"configurable": {"thread_id": "typed"}}"""


def test_a_typed_answer_with_required_fields_is_filled_in_and_checked(page: Page, lab):
    nb = open_notebook(page, lab, "typed.ipynb", [TYPED, "typed.invoke({}, config)"])
    nb.run_all()
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-reason")).to_have_text("Fill in the refund")
    fields = card.get_by_test_id("hitl-args").locator("[data-field]")
    expect(fields).to_have_count(3)
    assert [f.get_attribute("data-field") for f in fields.all()] == ["order", "amount", "reason"]
    expect(card.get_by_test_id("hitl-approve")).to_have_count(0)  # empty is not an answer
    for name in ("order", "amount", "reason"):
        expect(card.get_by_label(name, exact=True)).to_have_value("")
    card.get_by_label("order", exact=True).fill("1042")
    card.get_by_label("reason", exact=True).fill("arrived damaged")
    card.get_by_role("button", name="Edit question").click()
    expect(card.get_by_test_id("hitl-error")).to_contain_text("invalid edit of amount")
    expect(card.get_by_label("amount", exact=True)).to_have_attribute("aria-invalid", "true")
    out = nb.run_cell_code(
        "print(hitl_nb.current().status, len(hitl_nb.log()), "
        "'answer' in typed.get_state(config).values)")
    assert out == "pending 0 False"  # nothing resumed, nothing logged
    card = widget.get_by_test_id("hitl-request")  # redrawn with what was typed
    expect(card.get_by_label("order", exact=True)).to_have_value("1042")
    card.get_by_label("amount", exact=True).fill("55.5")
    card.get_by_role("button", name="Edit question").click()
    expect(widget.get_by_test_id("hitl-status")).to_have_text("done")
    out = nb.run_cell_code(
        "answer = typed.get_state(config).values['answer']\n"
        "print(type(answer).__name__, repr(answer))")
    assert out == "Refund Refund(order=1042, amount=55.5, reason='arrived damaged')"
    assert page.log.errors == []  # type: ignore[attr-defined]
