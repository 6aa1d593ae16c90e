"""An approval is bound to the hash of the exact arguments it approved: a resume whose
arguments differ from the logged row resumes nothing (`ArgsMismatch`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from conftest import config
from graphs import by_item, fan_out_graph
from logrows import sql

import hitl_nb
from hitl_nb._log import chain_row
from hitl_nb._log_binding import binding_problem
from hitl_nb._schema import Decision, args_hash
from hitl_nb.demo import SupportDesk

REFUND = {"messages": [("user", "refund order 1042")]}
PROPOSED = {"order": 1042, "amount": 80.0, "note": "customer request"}


class TamperAfterLogging(hitl_nb.Session):
    """Swaps the decision's arguments between `log.record` and the resume, as a bug or an
    attacker in the kernel could."""

    active = True

    def _apply(self, request: Any, decision: Decision) -> None:
        if self.active:
            object.__setattr__(decision, "args", {**decision.args, "amount": 8000.0})
        super()._apply(request, decision)


def test_decision_changed_after_logging_resumes_nothing(tmp_path, graph, desk: SupportDesk):
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    session = tamper = TamperAfterLogging(graph, config(), log=log)
    [request] = session.invoke(REFUND).pending
    with pytest.raises(hitl_nb.ArgsMismatch, match=rf"nothing was resumed: request "
                       rf"'{request.request_id}': its arguments .*8000\.0"):
        session.approve()
    assert desk.count("issue_refund") == 0
    assert [i.id for i in graph.get_state(session.config).interrupts] == [request.interrupt_id]
    assert session.pending == [request]
    assert session.staged == []
    [logged] = log.rows_for(request.request_id)  # the evidence stays
    assert logged["args_hash"] == args_hash(PROPOSED)

    tamper.active = False
    session.approve()
    assert desk.executed[1] == ("issue_refund", PROPOSED)
    assert desk.count("issue_refund") == 1
    assert [r["decision"] for r in log.rows_for(request.request_id)] == ["approve", "approve"]
    assert log.verify().ok


# -- several requests staged, one of them tampered before the single resume -------------------
@pytest.fixture
def executed() -> list[str]:
    return []


@pytest.fixture
def fan(tmp_path, executed) -> hitl_nb.Session:
    return hitl_nb.Session(fan_out_graph(executed), config(),
                           log=hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
                           ).invoke({"items": ["alpha", "beta", "gamma"]})


def test_staged_decision_changed_before_the_resume_resumes_nothing(fan, executed):
    rid = by_item(fan)
    staged = fan.approve(rid["alpha"])
    fan._staged[rid["alpha"]] = dataclasses.replace(staged, args={"item": "EVIL"})
    fan.approve(rid["beta"])
    with pytest.raises(hitl_nb.ArgsMismatch, match=rf"request '{rid['alpha']}'"):
        fan.approve(rid["gamma"])
    assert executed == []
    assert len(fan.graph.get_state(fan.config).interrupts) == 3
    assert list(by_item(fan)) == ["alpha"]
    assert sorted(fan.staged) == sorted([rid["beta"], rid["gamma"]])

    fan.approve(rid["alpha"])
    assert sorted(executed) == ["alpha", "beta", "gamma"]
    assert fan.done


def test_changing_a_returned_decision_changes_neither_the_request_nor_the_log(fan, executed):
    rid = by_item(fan)
    decision = fan.approve(rid["alpha"])
    decision.args["item"] = "EVIL"  # code in the kernel keeps and changes what it got back
    fan.approve(rid["beta"])
    with pytest.raises(hitl_nb.ArgsMismatch, match=rf"request '{rid['alpha']}'"):
        fan.approve(rid["gamma"])
    assert [r.args for r in fan.pending] == [{"item": "alpha"}]  # shown again as proposed
    fan.approve(rid["alpha"])
    assert sorted(executed) == ["alpha", "beta", "gamma"]
    proposed = [row["proposed_args"] for row in fan.log]
    assert {"item": "EVIL"} not in proposed
    assert sorted(p["item"] for p in proposed) == ["alpha", "alpha", "beta", "gamma"]


def rewrite_last_row(path, request_id: str, **changes: Any) -> None:
    """Edit the newest row and re-hash it so it matches its own entry_hash."""
    with hitl_nb.FeedbackLog(path) as log:
        row = log.rows_for(request_id)[-1]
        seq = len(log)
    new, body = chain_row(row["prev_hash"], {**row, **changes})
    sql(path, "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = ?", body,
        new["entry_hash"], seq)


def test_logged_row_changed_before_the_resume_resumes_nothing(fan, executed):
    rid = by_item(fan)
    fan.approve(rid["alpha"])
    fan.approve(rid["beta"])
    evil = {"item": "EVIL"}
    rewrite_last_row(fan.log.path, rid["beta"], final_args=evil, args_hash=args_hash(evil))
    with pytest.raises(hitl_nb.ArgsMismatch, match=rf"request '{rid['beta']}': its arguments"):
        fan.approve(rid["gamma"])
    assert executed == []
    assert list(by_item(fan)) == ["beta"]


def test_logged_row_edited_in_place_resumes_nothing(fan, executed):
    rid = by_item(fan)
    fan.approve(rid["alpha"])
    fan.approve(rid["beta"])
    sql(fan.log.path, "UPDATE entries SET body = replace(body, '\"beta\"', '\"EVIL\"') "
                      "WHERE seq = 2")
    with pytest.raises(hitl_nb.ArgsMismatch, match=r"cannot be trusted.*does not match its "
                                                   r"entry_hash"):
        fan.approve(rid["gamma"])
    assert executed == []


def test_binding_problem_needs_a_logged_row(tmp_path):
    log = hitl_nb.FeedbackLog(tmp_path / "audit.sqlite")
    decision = Decision(action="approve", args={"amount": 1})
    assert binding_problem(log, "r1", decision) == "no logged decision backs it"
    request = hitl_nb.ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask",
                                    action="pay", args={"amount": 1})
    log.record(request, decision)
    assert binding_problem(log, "r1", decision) is None
    changed = dataclasses.replace(decision, args={"amount": 2})
    problem = binding_problem(log, "r1", changed) or ""
    assert f"hash to {args_hash({'amount': 2})[:12]}" in problem
    assert f"approved {args_hash({'amount': 1})[:12]}" in problem
