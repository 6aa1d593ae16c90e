"""Corrections kept in a LangGraph Store change what the agent proposes; pairs for training."""

from __future__ import annotations

import json

import pytest
from conftest import config

import hitl_nb
from hitl_nb._pairs import preference_pairs, write_preference_pairs
from hitl_nb._preferences import Preferences, Rule
from hitl_nb._schema import Decision, ReviewRequest
from hitl_nb.demo import SupportDesk, support_agent
from hitl_nb.demo.simulate import SimulatedReviewer, run_episodes, run_experiment


def review(action: str, proposed: dict, final: dict, decision: str = "edit",
           reviewer: str = "ann") -> tuple[ReviewRequest, Decision]:
    request = ReviewRequest(request_id="r", interrupt_id="r", kind="ask", action=action,
                            args=proposed, agent="support")
    return request, Decision(action=decision, args=final, reviewer=reviewer)  # type: ignore[arg-type]


def test_consistent_suffix_becomes_a_rule_and_is_applied():
    prefs = Preferences()
    for body in ("Hi A", "Hello B"):
        prefs.remember(*review("draft_reply", {"body": body}, {"body": body + "\n-- Team"}))
    [rule] = prefs.rules("draft_reply")
    assert (rule.field, rule.suffix, rule.when, rule.support) == ("body", "\n-- Team", None, 2)
    args, applied = prefs.apply("draft_reply", {"body": "Dear C"})
    assert args == {"body": "Dear C\n-- Team"}
    assert applied == [rule]
    # already shaped: nothing to do
    assert prefs.apply("draft_reply", {"body": "x\n-- Team"}) == ({"body": "x\n-- Team"}, [])


def test_one_off_edits_are_not_rules():
    prefs = Preferences()
    prefs.remember(*review("refund", {"amount": 80}, {"amount": 60}))
    assert prefs.rules("refund") == []


def test_threshold_is_learned_from_corrected_and_uncorrected_cases():
    prefs = Preferences()
    for amount in (150, 210):
        prefs.remember(*review("refund", {"amount": amount, "note": "n"},
                               {"amount": amount, "note": "n+mgr"}))
    for amount in (40, 90):
        prefs.remember(*review("refund", {"amount": amount, "note": "n"},
                               {"amount": amount, "note": "n"}, decision="approve"))
    [rule] = prefs.rules("refund")
    assert rule.when == ("amount", ">", 90.0)
    assert prefs.apply("refund", {"amount": 120, "note": "n"})[0]["note"] == "n+mgr"
    assert prefs.apply("refund", {"amount": 60, "note": "n"})[0]["note"] == "n"


def test_inconsistent_edits_are_dropped():
    prefs = Preferences()
    for amount in (150, 30):
        prefs.remember(*review("refund", {"amount": amount, "x": "a"}, {"amount": amount,
                                                                       "x": "b"}))
    for amount in (100, 20, 200):
        prefs.remember(*review("refund", {"amount": amount, "x": "a"},
                               {"amount": amount, "x": "a"}, decision="approve"))
    assert prefs.rules("refund") == []


def test_relevant_corrections_rank_by_similarity_and_render_a_prompt():
    prefs = Preferences()
    prefs.remember(*review("email", {"to": "ada@x.org", "subject": "refund"},
                           {"to": "ada@x.org", "subject": "Your refund"}))
    prefs.remember(*review("email", {"to": "bob@y.org", "subject": "invoice"},
                           {"to": "bob@y.org", "subject": "Invoice 7"}))
    prefs.remember(*review("email", {"to": "c@z.org", "subject": "hi"},
                           {"to": "c@z.org", "subject": "hi"}, decision="approve"))
    best = prefs.relevant("email", {"to": "ada@x.org", "subject": "refund"}, k=2)
    assert [c.final["subject"] for c in best] == ["Your refund", "Invoice 7"]
    assert best[0].similarity == 100
    assert "the reviewer changed it to" in prefs.as_prompt("email", {"to": "ada@x.org"})


def test_corrections_are_namespaced_per_agent_and_reviewer():
    prefs = Preferences()
    prefs.remember(*review("a", {"x": 1}, {"x": 2}, reviewer="ann"))
    prefs.remember(*review("a", {"x": 1}, {"x": 3}, reviewer="bob"))
    assert [c.final for c in prefs.corrections("a", agent="support", reviewer="bob")] == [
        {"x": 3}]
    assert len(prefs.corrections("a")) == 2
    assert ("hitl_nb", "corrections", "support", "ann") in prefs.store.list_namespaces()


def test_session_remembers_and_the_demo_agent_applies_across_threads():
    prefs = Preferences()
    desk = SupportDesk()
    graph = support_agent(desk, preferences=prefs)
    reviewer = SimulatedReviewer()
    for _ in range(2):
        session = hitl_nb.Session(graph, config(), preferences=prefs)
        session.invoke({"messages": [("user", "refund order 2001")]})
        reviewer.decide(session)
    session = hitl_nb.Session(graph, config(), preferences=prefs)
    session.invoke({"messages": [("user", "refund order 2001")]})
    [request] = session.pending
    assert request.args["note"].endswith(reviewer.manager_note)
    assert "learned:" in request.reason


def test_learning_lowers_the_edit_rate():
    curves = run_experiment(24, seed=3)
    without = curves[curves.variant == "without learning"]
    learning = curves[curves.variant == "with learning"]
    assert len(without) == len(learning) == 24
    assert (without.amount.values == learning.amount.values).all()
    assert without.edit_rate.mean() > 0.5
    # after the first episodes, learning removes (nearly) all corrections
    assert learning.edit_rate.iloc[6:].mean() < 0.1
    assert learning.edit_rate.iloc[6:].mean() < without.edit_rate.iloc[6:].mean()


def test_simulated_decisions_are_logged_as_simulated():
    log = hitl_nb.FeedbackLog()
    run_episodes(3, learning=False, log=log)
    df = log.to_pandas()
    assert set(df.source.astype(str)) == {"simulated"}
    assert set(df.reviewer) == {"sim-manager"}


def test_rule_str_is_readable():
    rule = Rule(action="refund", field="note", suffix="!", when=("amount", ">", 100.0),
                support=3)
    assert str(rule) == "refund: append '!' to note when amount > 100 (seen 3x)"


# -- preference pairs ------------------------------------------------------------------
@pytest.fixture
def reviewed_log() -> hitl_nb.FeedbackLog:
    log = hitl_nb.FeedbackLog()
    run_episodes(6, learning=False, log=log, seed=1)
    return log


def test_dpo_pairs_are_the_edits(reviewed_log):
    df = reviewed_log.to_pandas()
    pairs = preference_pairs(df, "dpo")
    edits = df[df.edited]
    assert len(pairs) == len(edits) > 0
    first = edits.iloc[0]
    assert json.loads(pairs.chosen[0]) == first.final_args
    assert json.loads(pairs.rejected[0]) == first.proposed_args
    assert pairs.prompt[0].startswith(f"Propose the JSON arguments for the tool call "
                                      f"`{first.action_name}`")


def test_kto_rows_label_as_is_approvals_and_corrections(reviewed_log):
    df = reviewed_log.to_pandas()
    kto = preference_pairs(df, "kto")
    assert len(kto) == len(df) + int(df.edited.sum())
    assert kto.label.sum() == (df.decision == "approve").sum() + df.edited.sum()


def test_pairs_load_with_hugging_face_datasets(reviewed_log, tmp_path):
    import datasets  # the test extra installs it; missing means a broken set-up: fail
    df = reviewed_log.to_pandas()
    dpo = write_preference_pairs(df, tmp_path / "dpo.jsonl", "dpo")
    kto = write_preference_pairs(df, tmp_path / "kto.parquet", "kto")
    ds = datasets.load_dataset("json", data_files=str(dpo), split="train")
    assert ds.column_names[:3] == ["prompt", "chosen", "rejected"]
    assert ds.num_rows == int(df.edited.sum())
    kt = datasets.load_dataset("parquet", data_files=str(kto), split="train")
    assert kt.features["label"].dtype == "bool"
    with pytest.raises(ValueError, match=r"\.jsonl or \.parquet"):
        write_preference_pairs(df, tmp_path / "x.csv")
