"""notebooks/01_confirmation_workflows.ipynb says what it shows: typed `ask` editors with a
refused edit, and a LangChain agent with several tool calls in one message (one card per
call, one resume) whose notify-level call is logged and fed through the policy's
middleware. The notebook runs once per session (tests/_notebooks.py)."""

from __future__ import annotations

from _notebooks import executed, printed

NOTEBOOK = "01_confirmation_workflows.ipynb"


def lines() -> list[str]:
    return printed(executed(NOTEBOOK)).splitlines()


def test_typed_ask_shows_its_editors_and_refuses_an_invalid_edit():
    out = lines()
    assert ("editors: {'order': 'integer', 'amount': 'number', 'channel': ['card', 'bank'], "
            "'expires': 'string', 'note': 'string'}") in out
    assert "refused: invalid edit of amount: 250.0 is greater than the maximum of 100" in out
    assert ("voucher issued: {'order': 1042, 'amount': 60.0, 'channel': 'bank', "
            "'expires': '2026-06-30', 'note': 'late delivery'}") in out


def test_langchain_agent_one_card_per_call_one_resume_and_the_notify_call_fed():
    out = lines()
    assert "cards: [('refund', 1042, 'confirm'), ('refund', 1043, 'confirm')]" in out
    assert "after the first card: pending | refunds so far: []" in out  # waits for both
    assert "agent: Ticket 88 tagged; both refunds handled." in out
    assert "refunds: [(1042, 80.0), (1043, 100.0)] | labels: {88: 'refund'}" in out
    assert "feed: tag_ticket notify -> ticket 88 tagged refund" in out
    assert "labels after undo: {}" in out
