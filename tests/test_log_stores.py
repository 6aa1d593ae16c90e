"""In memory and in SQLite alike: a logged row is a copy of what was hashed, never an object
a caller still holds, and `verify(anchor=...)` takes a `Verification` or its head."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import config
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from logrows import decision_rows
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import Critical, Decision, Policy, ReviewRequest
from hitl_nb._log import ANCHOR_MISSING, build_row


@pytest.fixture(params=["memory", "sqlite"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> hitl_nb.FeedbackLog:
    if request.param == "memory":
        return hitl_nb.FeedbackLog()
    return hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")


def ask(args: dict[str, Any]) -> ReviewRequest:
    return ReviewRequest(request_id="q", interrupt_id="q", kind="ask", action="ship", args=args)


# -- rows are copies ------------------------------------------------------------------------------
class Order(TypedDict, total=False):
    out: Any


def shipping_graph() -> Any:
    """A guarded tool that normalises its input in place, as tools do."""
    policy = Policy([Critical(actions=["ship"])])

    @policy.guard
    def ship(order: dict[str, Any]) -> str:
        order["items"].append("gift")
        order["status"] = "shipped"
        return "ok"

    def node(state: Order) -> dict[str, Any]:
        return {"out": ship(order={"items": ["a"], "status": "new"})}

    builder = StateGraph(Order)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize(("how", "decided"), [
    ("approve", {"order": {"items": ["a"], "status": "new"}}),
    ("edit", {"order": {"items": ["b"], "status": "new"}}),
])
def test_a_tool_editing_its_arguments_in_place_leaves_the_logged_row_as_decided(log, how,
                                                                               decided):
    session = hitl_nb.Session(shipping_graph(), config(), log=log).invoke({})
    if how == "approve":
        session.approve()
    else:
        session.edit(copy.deepcopy(decided))
    assert session.done
    [row] = list(log)
    assert row["final_args"] == decided
    assert row["proposed_args"] == {"order": {"items": ["a"], "status": "new"}}
    assert log.verify().ok


def test_changing_what_was_passed_in_or_handed_out_changes_nothing_logged(log):
    args = {"items": [1, 2], "meta": {"k": "v"}}
    expected = {"items": [1, 2], "meta": {"k": "v"}}
    returned = log.record(ask(args), Decision(action="approve"))
    args["items"].append(3)                                 # the caller's own objects
    args["meta"]["k"] = "changed"
    returned["final_args"]["items"].append(4)               # the row record() returned
    next(iter(log))["final_args"]["items"].append(5)        # a row read back
    log.rows_for("q")[0]["proposed_args"]["meta"]["k"] = "x"
    next(log.rows_since(0))["final_args"]["meta"]["k"] = "y"
    log.to_pandas().final_args[0]["items"].append(6)
    [row] = list(log)
    assert (row["proposed_args"], row["final_args"]) == (expected, expected)
    assert log.rows_for("q")[0]["final_args"] == expected
    assert log.verify().ok


def test_a_stored_request_is_a_copy_too(log):
    args = {"items": [1, 2]}
    log.record_request(ask(args))
    args["items"].append(3)
    log.requests()[0].args["items"].append(4)
    assert [r.args for r in log.requests()] == [{"items": [1, 2]}]


def test_rows_hold_what_was_hashed_in_memory_and_on_disk(tmp_path):
    """Values JSON has no type for are logged as their JSON (text, lists) in both stores."""
    row = build_row(ask({"when": date(2025, 1, 2), "ids": (1, 2)}), Decision(action="approve"))
    memory, disk = hitl_nb.FeedbackLog(), hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    memory.append(row)
    disk.append(row)
    assert next(iter(memory))["final_args"] == {"when": "2025-01-02", "ids": [1, 2]}
    assert list(memory) == list(disk)
    assert memory.verify() == disk.verify()


# -- anchors -------------------------------------------------------------------------------------
def test_an_anchor_is_a_verification_or_its_head(log):
    log.extend(decision_rows(3))
    saved = log.verify()
    log.extend(decision_rows(2, prefix="later"))
    assert log.verify(anchor=saved).ok
    assert log.verify(anchor=saved.head).ok

    other = hitl_nb.FeedbackLog()
    other.extend(decision_rows(1, prefix="other"))
    foreign = other.verify()
    for anchor in (foreign, foreign.head):
        result = log.verify(anchor=anchor)
        assert (result.ok, result.entries, result.first_bad) == (False, 5, 5)
        assert result.problem == ANCHOR_MISSING.format(anchor=foreign.head)


def test_a_failed_verification_or_another_value_is_no_anchor(log):
    log.extend(decision_rows(2))
    failed = hitl_nb.Verification(False, 1, 1, "d-1", "entry_hash does not match", "ab" * 32)
    with pytest.raises(ValueError, match="anchor is a failed verification"):
        log.verify(anchor=failed)
    with pytest.raises(TypeError, match=r"entry_hash string or a Verification.*got bytes"):
        log.verify(anchor=log.verify().head.encode())  # type: ignore[arg-type]
