"""Hostile agent output is shown as text, and forged front-end messages resume nothing."""

from __future__ import annotations

import json

import pytest
from _jupyter import NotebookPage
from conftest import open_notebook
from playwright.sync_api import Page, expect
from xss_payloads import PAYLOADS

# Tags the review widget itself creates; anything else inside it came from agent text.
OWN_TAGS = {"div", "span", "p", "section", "pre", "fieldset", "legend", "label", "input",
            "textarea", "select", "option", "button", "ul", "li", "del", "ins"}

HOSTILE_AGENT = f"""%load_ext hitl_nb
import json, hitl_nb
from typing_extensions import TypedDict
from langgraph.graph import StateGraph, START
from langgraph.checkpoint.memory import InMemorySaver
PAYLOADS = json.loads({json.dumps(json.dumps(PAYLOADS))})
ran = []
class S(TypedDict, total=False):
    out: dict
def node(state):
    decision = hitl_nb.ask(action=PAYLOADS[0], reason="\\n".join(PAYLOADS),
                           preview="\\n".join(reversed(PAYLOADS)),
                           args={{f"arg{{i}} {{p[:30]}}": p for i, p in enumerate(PAYLOADS)}},
                           risk=PAYLOADS[1], confidence=0.5)
    ran.append(decision.action)
    return {{"out": decision.args}}
b = StateGraph(S); b.add_node("node", node); b.add_edge(START, "node")
graph = b.compile(checkpointer=InMemorySaver())"""


@pytest.mark.parametrize("server", ["lab", "nb7"])
def test_fifty_xss_payloads_render_as_text(page: Page, server: str, request):
    """In JupyterLab and in Notebook 7: each host sanitises its own output differently, so
    the widget's own text-only rendering is what has to hold in both."""
    assert len(PAYLOADS) >= 50
    page.add_init_script("window.__pwned = undefined;")
    nb = open_notebook(page, request.getfixturevalue(server), "hostile.ipynb", [
        HOSTILE_AGENT, "graph.invoke({}, {'configurable': {'thread_id': 'x'}})"])
    nb.run_all()
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card).to_be_visible()
    text_of = "el => el.textContent"
    assert card.get_by_test_id("hitl-action").evaluate(text_of) == PAYLOADS[0]
    assert card.get_by_test_id("hitl-reason").evaluate(text_of) == "\n".join(PAYLOADS)
    assert card.get_by_test_id("hitl-preview").evaluate(text_of) == "\n".join(
        reversed(PAYLOADS))
    values = card.locator("[data-field]").evaluate_all("els => els.map(e => e.value)")
    assert values == PAYLOADS
    # hover and focus everything, then decide with an edit so the payloads also pass
    # through the decided card, the diff and the final result
    for element in card.locator("[data-field]").all()[:10]:
        element.hover()
        element.focus()
    card.locator("[data-field]").first.fill(PAYLOADS[2] + " edited")
    card.get_by_test_id("hitl-edit").click()
    expect(widget.get_by_test_id("hitl-result")).to_be_visible()
    tags = set(widget.evaluate("el => [...el.querySelectorAll('*')].map(e => e.localName)"))
    assert tags <= OWN_TAGS
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => window.parent.__pwned") is None
    assert page.log.dialogs == []
    assert nb.run_cell_code("print(ran)") == "['edit']"


def send_forged(nb: NotebookPage, content: dict) -> None:
    """Send a widget message straight on the kernel channel, as a tampered page could."""
    nb.page.evaluate("""([content]) => {
      const panel = window.jupyterapp.shell.currentWidget;
      const kernel = panel.sessionContext.session.kernel;
      const out = panel.content.widgets[1].model.outputs.get(0).data;
      const commId = out["application/vnd.jupyter.widget-view+json"].model_id;
      kernel.sendShellMessage({
        header: {msg_id: crypto.randomUUID(), msg_type: "comm_msg", username: "",
                 session: kernel.clientId, date: new Date().toISOString(), version: "5.3"},
        parent_header: {}, metadata: {}, channel: "shell", buffers: [],
        content: {comm_id: commId, data: {method: "custom", content}},
      }, false, true);
    }""", [content])


def test_forged_messages_resume_nothing(page: Page, lab):
    nb = open_notebook(page, lab, "forged.ipynb", [
        "%load_ext hitl_nb\nimport hitl_nb\nfrom hitl_nb.demo import SupportDesk, support_agent\n"
        "desk = SupportDesk(); graph = support_agent(desk)",
        "graph.invoke({'messages': [('user', 'refund order 1042')]}, "
        "{'configurable': {'thread_id': 'f'}})"])
    nb.run_all()
    widget = nb.widget()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    request = json.loads(nb.run_cell_code(
        "import json; print(json.dumps(hitl_nb.current().widget().requests[0]))"))
    rid, nonce = request["request_id"], request["nonce"]
    good = {"type": "decision", "request_id": rid, "nonce": nonce, "action": "approve"}
    forged = [
        ({**good, "request_id": "not-a-request"}, "not pending here"),
        ({**good, "nonce": "f" * 32}, "does not match"),
        ({**good, "action": "launch_missiles"}, "unknown action"),
        ({**good, "action": "edit", "args": {"order": 1042, "amount": 1e9, "note": "x",
                                             "iban": "XX00"}}, "invalid edit"),
        ({**good, "action": "edit", "args": {"order": "1042; DROP TABLE", "amount": 1,
                                             "note": ""}}, "invalid edit of order"),
        ({**good, "action": "approve", "args": {"order": 1, "amount": 999, "note": ""}},
         "use edit"),
        ({**good, "rating": 99}, "rating must be between 1 and 5"),
        ({**good, "admin": True}, "unexpected fields"),
        ({"type": "submit", "token": "guess"}, "stale or forged submit"),
        ({"type": "explode"}, "not a decision"),
    ]
    for content, reason in forged:
        send_forged(nb, content)
        expect(widget.get_by_role("alert").filter(has_text=reason)).to_have_count(1)
    assert nb.run_cell_code("print(desk.count('issue_refund'), len(hitl_nb.log()))") == "0 0"
    # a genuine click still works; replaying it afterwards (stale id + spent nonce) does not
    widget.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-action")).to_have_text("draft_reply")
    send_forged(nb, good)
    expect(widget.get_by_role("alert").filter(has_text="not pending here")).to_have_count(1)
    refusals = nb.run_cell_code("print(len(hitl_nb.current().widget().refusals))")
    assert refusals == str(len(forged) + 1)
    assert nb.run_cell_code("print(desk.count('issue_refund'), len(hitl_nb.log()))") == "1 1"
