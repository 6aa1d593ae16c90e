"""`%load_ext hitl_nb` in a real IPython shell: the last expression becomes the widget."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from langgraph.pregel import Pregel

import hitl_nb

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch):
    ip = InteractiveShell.instance()
    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(ip.displayhook, "write_format_data",
                        lambda data, md=None: shown.append(data))
    ip.shown = shown  # type: ignore[attr-defined]
    ip.run_cell("%load_ext hitl_nb", store_history=False).raise_error()
    ip.run_cell("""
from hitl_nb.demo import SupportDesk, support_agent
desk = SupportDesk()
graph = support_agent(desk)
config = {"configurable": {"thread_id": "nb-1"}}
""").raise_error()
    yield ip
    ip.run_cell("%unload_ext hitl_nb").raise_error()
    InteractiveShell.clear_instance()


def test_last_expression_invoke_renders_the_review_widget(shell):
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, config)",
                   store_history=True).raise_error()
    [data] = shell.shown
    assert WIDGET in data
    session = hitl_nb.current()
    assert session.thread_id == "nb-1"
    assert [r.action for r in session.pending] == ["issue_refund"]
    # the widget resumes *that* graph and thread
    session.approve()
    assert shell.user_ns["desk"].count("issue_refund") == 1
    assert shell.user_ns["graph"].get_state(shell.user_ns["config"]).next == ("review",)


def test_stored_result_displayed_later_is_still_a_widget(shell):
    shell.run_cell("out = graph.invoke({'messages': [('user', 'delete account 7')]}, config)"
                   ).raise_error()
    shell.run_cell("out", store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]
    assert hitl_nb.current().pending[0].action == "delete_account"


def test_other_dicts_and_finished_runs_display_as_usual(shell):
    shell.run_cell("{'__interrupt__': 1, 'x': 2}", store_history=True).raise_error()
    shell.run_cell("graph.invoke({'messages': [('user', 'where is order 1043')]}, "
                   "{'configurable': {'thread_id': 'nb-2'}})", store_history=True).raise_error()
    assert [WIDGET in data for data in shell.shown] == [False, False]
    assert "text/plain" in shell.shown[-1]


def test_graph_output_v2_renders_too(shell):
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, config, "
                   "version='v2')", store_history=True).raise_error()
    assert WIDGET in shell.shown[-1]


def test_unload_restores_invoke_and_display(shell):
    patched = Pregel.invoke
    shell.run_cell("%unload_ext hitl_nb").raise_error()
    assert Pregel.invoke is not patched
    assert Pregel.invoke.__qualname__ == "Pregel.invoke"
    assert not hasattr(Pregel.invoke, "__wrapped__")
    shell.run_cell("graph.invoke({'messages': [('user', 'refund order 1042')]}, "
                   "{'configurable': {'thread_id': 'nb-3'}})", store_history=True).raise_error()
    assert WIDGET not in shell.shown[-1]
    shell.run_cell("%load_ext hitl_nb").raise_error()  # the fixture unloads again


def test_loading_twice_wraps_once(shell):
    wrapped = Pregel.invoke
    shell.run_cell("%reload_ext hitl_nb").raise_error()
    shell.run_cell("%load_ext hitl_nb").raise_error()
    assert Pregel.invoke.__wrapped__.__qualname__ == "Pregel.invoke"  # type: ignore[attr-defined]
    assert wrapped.__wrapped__ is Pregel.invoke.__wrapped__  # type: ignore[attr-defined]


def test_a_big_queue_displays_as_a_batch_review(shell):
    from ipywidgets.widgets.widget import _instances

    shell.run_cell("""
import hitl_nb
from hitl_nb.demo import refund_queue_agent, refund_requests
queue = refund_queue_agent(desk)
queue.invoke({"requests": refund_requests(120)}, {"configurable": {"thread_id": "q"}})
""", store_history=True).raise_error()
    [data] = shell.shown
    widget = _instances[data[WIDGET]["model_id"]]
    assert isinstance(widget, hitl_nb.BatchReview)
    assert len(widget.rows) == 25
    assert widget.counts["pending"] == 120
    assert len(hitl_nb.current().pending) == 120
    review = hitl_nb.current().widget()  # the card view still works, capped
    assert len(review.requests) == 50
    assert review.pending_total == 120
