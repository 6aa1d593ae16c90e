"""A node that consults `Preferences` before it asks runs again on resume: it must see
what it saw when it asked, or LangGraph hands one call's answer to another call."""

from __future__ import annotations

from conftest import config
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

import hitl_nb
from hitl_nb import Decision, Preferences, ReviewRequest
from hitl_nb.demo import SupportDesk, support_agent

BIG = {"order": 1, "amount": 400.0, "note": "x"}
SMALL = {"order": 2, "amount": 20.0, "note": "y"}


def test_a_decision_is_learned_after_the_node_it_answers_ran_again():
    prefs = Preferences()
    # one earlier rejection of a big refund: one more makes a learned refusal
    prefs.remember(ReviewRequest(request_id="old", interrupt_id="old", kind="ask",
                                 action="issue_refund", args=BIG, agent="support"),
                   Decision(action="reject", message="too big", reviewer="ann"))
    assert prefs.refusal("issue_refund", BIG) is None
    two_calls = AIMessage(content="", tool_calls=[
        {"name": "issue_refund", "args": BIG, "id": "A"},
        {"name": "issue_refund", "args": SMALL, "id": "B"}])
    model = FakeMessagesListChatModel(responses=[two_calls, AIMessage(content="done")])
    desk = SupportDesk(orders={1: {"customer": "a@x", "total": 400.0, "status": "delivered"},
                               2: {"customer": "b@x", "total": 20.0, "status": "delivered"}})
    graph = support_agent(desk, model=model, preferences=prefs)
    session = hitl_nb.Session(graph, config(), preferences=prefs, reviewer="ann")
    session.invoke({"messages": [("user", "refund both")]})
    assert [r.args for r in session.pending] == [BIG]

    session.reject("too big")
    # B is asked about in its own right, not answered with A's rejection
    assert [r.args for r in session.pending] == [SMALL]
    assert prefs.refusal("issue_refund", BIG) is not None  # learned, once A's node ran
    session.approve()
    assert desk.count("issue_refund") == 1
    assert [(r["final_args"], r["decision"]) for r in hitl_nb.log()] == [
        (BIG, "reject"), (SMALL, "approve")]
