"""Corrections kept in a LangGraph Store change what the agent proposes; pairs for training."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import config

import hitl_nb
from hitl_nb import _preferences
from hitl_nb._pairs import preference_pairs
from hitl_nb._preferences import Preferences, Rule
from hitl_nb._schema import Decision, ReviewRequest
from hitl_nb.demo import SupportDesk, support_agent
from hitl_nb.demo.generate import generate_log
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
    reviewer = SimulatedReviewer(finance_over=None)  # order 2001 (420) gets the note, not a no
    for _ in range(2):
        session = hitl_nb.Session(graph, config(), preferences=prefs)
        session.invoke({"messages": [("user", "refund order 2001")]})
        reviewer.decide(session)
    session = hitl_nb.Session(graph, config(), preferences=prefs)
    session.invoke({"messages": [("user", "refund order 2001")]})
    [request] = session.pending
    assert request.args["note"].endswith(reviewer.manager_note)
    assert "learned:" in request.reason


def test_consistent_rejections_become_a_refusal_from_the_mildest_rejected_value():
    prefs = Preferences()
    for amount in (300, 270):
        prefs.remember(*review("refund", {"amount": amount}, {"amount": amount}, "reject"))
    for amount in (40, 120):
        prefs.remember(*review("refund", {"amount": amount}, {"amount": amount}, "approve"))
    [refusal] = prefs.refusals("refund")
    # the accepted 120 and the rejected 270 are separated by "amount > 120"; the refusal
    # starts at 270 (the mildest rejection), so 200 still goes to the reviewer
    assert refusal.when == (("amount", ">=", 270.0),)
    assert prefs.refusal("refund", {"amount": 280}) == refusal
    assert prefs.refusal("refund", {"amount": 200}) is None
    assert str(refusal) == ("refund: reviewers reject it when amount >= 270: "
                            "'reviewers rejected it' (seen 2x)")


def test_refusal_without_accepted_cases_stays_inside_the_rejected_box():
    prefs = Preferences()
    for order, amount in ((7, 300.0), (9, 280.0)):
        prefs.remember(*review("refund", {"order": order, "amount": amount},
                               {"order": order, "amount": amount}, "reject"))
    [refusal] = prefs.refusals("refund")
    assert refusal.when == (("amount", ">=", 280.0), ("order", ">=", 7.0))
    assert prefs.refusal("refund", {"order": 8, "amount": 100.0}) is None
    # a single rejection is not a pattern
    one = Preferences()
    one.remember(*review("refund", {"amount": 300}, {"amount": 300}, "reject"))
    assert one.refusals("refund") == []


def test_demo_agent_withholds_what_reviewers_always_reject():
    prefs = Preferences()
    graph = support_agent(SupportDesk(), preferences=prefs)
    reviewer = SimulatedReviewer()          # rejects refunds over 250: order 2001 is 420
    for _ in range(2):
        session = hitl_nb.Session(graph, config(), preferences=prefs)
        session.invoke({"messages": [("user", "refund order 2001")]})
        reviewer.decide(session)
        assert [d.action for _, d in session.history] == ["reject"]
    session = hitl_nb.Session(graph, config(), preferences=prefs)
    session.invoke({"messages": [("user", "refund order 2001")]})
    assert session.pending == []
    assert session.done
    assert "need finance sign-off" in session.result["messages"][-1].content
    # a small refund is still proposed
    session = hitl_nb.Session(graph, config(), preferences=prefs)
    session.invoke({"messages": [("user", "refund order 1042")]})
    assert [r.action for r in session.pending] == ["issue_refund"]


def test_learning_lowers_the_correction_rate():
    episodes = 40
    curves = run_experiment(episodes, seed=0)
    without = curves[curves.variant == "without learning"].reset_index(drop=True)
    learning = curves[curves.variant == "with learning"].reset_index(drop=True)
    assert len(without) == len(learning) == episodes
    assert (without.amount == learning.amount).all()          # same orders, same seed
    # Why these thresholds. Without learning every episode needs a correction: a refund
    # over 250 is rejected (1 of 1 decisions), otherwise the reply is edited for the
    # signature (>= 1 of 2). So each episode's rate is >= 0.5, first to last.
    assert (without.correction_rate >= 0.5).all()
    # With learning, the signature rule needs 2 edits (min_support), the manager-note
    # and finance rules 2 cases each above their amount: a handful of the first episodes.
    # After that only a refund in a not-yet-seen amount range can need a correction, so
    # the last ten episodes average at most 0.1 (one corrected decision), the first ten
    # strictly more, and the refusals withhold nothing the reviewer would have accepted.
    first, last = learning.iloc[:10], learning.iloc[-10:]
    assert last.correction_rate.mean() <= 0.1
    assert first.correction_rate.mean() > last.correction_rate.mean()
    assert last.correction_rate.mean() < without.iloc[-10:].correction_rate.mean() - 0.4
    assert learning.rejects.sum() < without.rejects.sum()
    assert learning.declined.sum() > 0
    assert learning.declined_wrongly.sum() == 0
    # rates are the counts over what the reviewer saw (recomputed here)
    seen = learning.decisions.clip(lower=1)
    assert ((learning.edits + learning.rejects) / seen == learning.correction_rate).all()


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


def test_pairs_load_with_hugging_face_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")          # local files only, no hub
    import datasets  # the test extra installs it; missing means a broken set-up: fail

    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    log = generate_log(300, seed=4)
    request = ReviewRequest(request_id="u", interrupt_id="u", kind="ask", action="draft_reply",
                            args={"body": "Grüße, 東京"}, agent="support")
    log.record(request, Decision(action="edit", args={"body": "Grüße aus 東京 ✓"},
                                 reviewer="zoë"))
    # expected counts straight from the stored rows, not from the frame under test
    reviewed = [r for r in log if r["source"] != "policy"
                and r["decision"] in ("approve", "edit", "reject", "respond")]
    edits = [r for r in reviewed if r["final_args"] != r["proposed_args"]]
    approvals = [r for r in reviewed if r["decision"] == "approve"]
    assert len(edits) > 50
    assert len(reviewed) > len(edits)

    for fmt in ("dpo", "kto"):
        for suffix in ("jsonl", "parquet"):
            pairs = log.to_preference_pairs(fmt, path=tmp_path / f"{fmt}.{suffix}")
            assert len(pairs) == (len(edits) if fmt == "dpo" else len(reviewed) + len(edits))

    for kind in ("json", "parquet"):
        suffix = "jsonl" if kind == "json" else "parquet"
        ds = datasets.load_dataset(kind, data_files=str(tmp_path / f"dpo.{suffix}"),
                                   split="train")
        assert ds.column_names == ["prompt", "chosen", "rejected", "request_id"]
        assert ds.num_rows == len(edits)
        assert {ds.features[c].dtype for c in ("prompt", "chosen", "rejected")} == {"string"}
        last = ds[ds.num_rows - 1]
        assert json.loads(last["chosen"]) == {"body": "Grüße aus 東京 ✓"}
        assert json.loads(last["rejected"]) == {"body": "Grüße, 東京"}
        kt = datasets.load_dataset(kind, data_files=str(tmp_path / f"kto.{suffix}"),
                                   split="train")
        assert kt.column_names == ["prompt", "completion", "label", "request_id"]
        assert kt.features["label"].dtype == "bool"
        assert kt.num_rows == len(reviewed) + len(edits)
        assert sum(kt["label"]) == len(approvals) + len(edits)
    with pytest.raises(ValueError, match=r"\.jsonl or \.parquet"):
        log.to_preference_pairs(path=tmp_path / "x.csv")
    with pytest.raises(ValueError, match="format must be"):
        log.to_preference_pairs("ppo")  # type: ignore[arg-type]


# -- decisions without args, conflicting habits, reviewers, reading the whole store ------
def request_for(action: str, args: dict, agent: str = "support") -> ReviewRequest:
    return ReviewRequest(request_id=uuid.uuid4().hex, interrupt_id="i", kind="ask",
                         action=action, args=args, agent=agent)


def test_a_decision_without_args_is_remembered_as_made_on_the_proposal():
    prefs = Preferences()
    proposed = {"to": "boss@x", "subject": "Party"}
    prefs.remember(request_for("email", proposed), Decision(action="reject", message="no"))
    prefs.remember(request_for("email", proposed), Decision(action="approve"))
    rejected, approved = prefs.corrections("email")
    assert (rejected.final, rejected.edited) == (proposed, False)
    assert (approved.final, approved.edited) == (proposed, False)
    assert "changed it to" not in prefs.as_prompt("email", proposed)
    # an edit without args still means what it says: every field removed
    prefs.remember(request_for("email", proposed), Decision(action="edit"))
    assert prefs.corrections("email")[-1].final == {}


def test_a_changed_habit_replaces_the_old_one():
    # one reviewer signs "-- Team" twice, then "Best, Support" three times
    prefs = Preferences()
    for sign_off in ["\n-- Team"] * 2 + ["\nBest, Support"] * 3:
        prefs.remember(request_for("draft_reply", {"body": "hello"}),
                       Decision(action="edit", args={"body": "hello" + sign_off},
                                reviewer="ann"))
    assert [(r.field, r.suffix, r.support) for r in prefs.rules("draft_reply")] == [
        ("body", "\nBest, Support", 3)]
    assert prefs.apply("draft_reply", {"body": "hi"})[0] == {"body": "hi\nBest, Support"}
    # a value set to "high" twice, then to "low" three times
    values = Preferences()
    for value in ["high"] * 2 + ["low"] * 3:
        values.remember(request_for("ticket", {"body": "b", "priority": "normal"}),
                        Decision(action="edit", args={"body": "b", "priority": value},
                                 reviewer="ann"))
    assert values.apply("ticket", {"body": "b", "priority": "normal"})[0] == {
        "body": "b", "priority": "low"}
    # and back again: "high" three more times after that wins once more (seen 3x: the
    # current habit; the two "high" edits before the "low" ones are not part of it)
    for _ in range(3):
        values.remember(request_for("ticket", {"body": "b", "priority": "normal"}),
                        Decision(action="edit", args={"body": "b", "priority": "high"},
                                 reviewer="ann"))
    [rule] = values.rules("ticket")
    assert (rule.value, rule.support) == ("high", 3)


def test_a_reviewer_who_alternates_teaches_nothing():
    prefs = Preferences()
    for value in ["high", "low"] * 3:
        prefs.remember(request_for("ticket", {"priority": "normal"}),
                       Decision(action="edit", args={"priority": value}, reviewer="ann"))
    assert prefs.rules("ticket") == []


def test_rules_of_different_reviewers_are_not_stacked():
    prefs = Preferences()
    for who in ("ann", "ann", "bob", "bob"):
        prefs.remember(request_for("draft_reply", {"body": "b"}),
                       Decision(action="edit", args={"body": f"b\n-- {who}"}, reviewer=who))
    # they disagree: no rule without a reviewer; each one's own with reviewer=
    assert prefs.rules("draft_reply") == []
    assert prefs.apply("draft_reply", {"body": "x"}) == ({"body": "x"}, [])
    assert prefs.apply("draft_reply", {"body": "x"}, reviewer="bob")[0] == {
        "body": "x\n-- bob"}
    assert prefs.apply("draft_reply", {"body": "x"}, reviewer="ann")[0] == {
        "body": "x\n-- ann"}
    # a reviewer with a consistent rule of their own blocks a different one even when
    # the other reviewer made it often enough to outvote them (8 of 10 edits)
    for _ in range(6):
        prefs.remember(request_for("draft_reply", {"body": "b"}),
                       Decision(action="edit", args={"body": "b\n-- ann"}, reviewer="ann"))
    assert prefs.rules("draft_reply") == []
    # what every reviewer does is learned from all of them
    agreed = Preferences()
    for who in ("ann", "bob", "cy"):
        agreed.remember(request_for("refund", {"note": "n"}),
                        Decision(action="edit", args={"note": "n (checked)"}, reviewer=who))
    [rule] = agreed.rules("refund")
    assert (rule.suffix, rule.support) == (" (checked)", 3)


def test_every_stored_review_is_read_newest_last_without_a_cap():
    prefs = Preferences()
    # more than one page of old approvals, then a new habit
    old = 2_500
    for _ in range(old):
        prefs.remember(request_for("reply", {"body": "x"}),
                       Decision(action="approve", reviewer="ann"))
    for i in range(3):
        prefs.remember(request_for("reply", {"body": f"hi {i}"}),
                       Decision(action="edit", args={"body": f"hi {i}\n-- Ann"},
                                reviewer="ann"))
    history = prefs.corrections("reply")
    assert len(history) == old + 3
    assert [c.final["body"] for c in history[-3:]] == [f"hi {i}\n-- Ann" for i in range(3)]
    assert [c.final["body"] for c in prefs.corrections("reply", limit=2)] == [
        "hi 1\n-- Ann", "hi 2\n-- Ann"]
    [rule] = prefs.rules("reply")
    assert (rule.suffix, rule.support, rule.when) == ("\n-- Ann", 3, None)


def test_more_than_a_page_of_namespaces_is_read():
    prefs = Preferences()
    agents = 1_050  # list_namespaces returns 100 by default; we read page by page
    for n in range(agents):
        prefs.remember(request_for("reply", {"body": "x"}, agent=f"agent-{n}"),
                       Decision(action="approve", reviewer="ann"))
    assert len(prefs.corrections("reply")) == agents
    assert len(prefs.corrections("reply", reviewer="ann")) == agents


def test_order_is_when_decided_not_when_stored():
    prefs = Preferences()
    later = datetime(2025, 3, 1, tzinfo=UTC)
    earlier = datetime(2025, 2, 1, tzinfo=UTC)
    prefs.remember(request_for("reply", {"body": "b"}),
                   Decision(action="edit", args={"body": "late"}, decided_at=later))
    prefs.remember(request_for("reply", {"body": "b"}),
                   Decision(action="edit", args={"body": "early"}, decided_at=earlier))
    assert [c.final["body"] for c in prefs.corrections("reply")] == ["early", "late"]


def test_low_ratings_and_comments_are_feedback_for_the_prompt():
    prefs = Preferences()
    prefs.remember(request_for("reply", {"body": "Yo dude"}),
                   Decision(action="approve", rating=1, comment="far too informal",
                            reviewer="ann"))
    prefs.remember(request_for("reply", {"body": "Yo there"}),
                   Decision(action="approve", rating=2, reviewer="ann"))
    prefs.remember(request_for("reply", {"body": "Yo pal"}),
                   Decision(action="approve", rating=3, reviewer="ann"))       # fine
    prefs.remember(request_for("reply", {"body": "Yo all"}),
                   Decision(action="approve", reviewer="ann"))                 # silent
    prefs.remember(request_for("reply", {"body": "Yo folks"}),
                   Decision(action="approve", comment="good", reviewer="ann"))
    found = prefs.relevant("reply", {"body": "Yo mate"}, k=10)
    assert sorted(c.proposed["body"] for c in found) == ["Yo dude", "Yo folks", "Yo there"]
    stored = prefs.corrections("reply")[0]
    assert (stored.rating, stored.comment) == (1, "far too informal")
    prompt = prefs.as_prompt("reply", {"body": "Yo dude"})
    assert ('- You proposed {"body":"Yo dude"}; the reviewer chose approve '
            "(rated 1/5; comment: far too informal)") in prompt.splitlines()


def test_a_persistent_store_is_read_page_by_page(tmp_path, monkeypatch):
    from langgraph.store.sqlite import SqliteStore

    monkeypatch.setattr(_preferences, "_PAGE", 4)   # pages of 4: 23 items need 6 of them
    with SqliteStore.from_conn_string(str(tmp_path / "store.db")) as store:
        store.setup()
        prefs = Preferences(store)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for i in range(23):
            prefs.remember(request_for("reply", {"n": i}),
                           Decision(action="approve", reviewer="ann",
                                    decided_at=start + timedelta(minutes=i)))
        assert [c.proposed["n"] for c in prefs.corrections("reply")] == list(range(23))
        assert [c.proposed["n"] for c in prefs.corrections("reply", limit=5)] == [
            18, 19, 20, 21, 22]


# -- names with periods: namespace labels --------------------------------------------------
@pytest.mark.parametrize("name", ["alice.smith@example.com", "support.v2", "50%", "a%2Eb",
                                  "nul\x00byte", "..", "_x", "plain"])
def test_a_label_is_storable_and_gives_its_name_back(name):
    label = _preferences.label(name)
    assert "." not in label
    assert "\x00" not in label
    assert label
    assert _preferences.name_of(label) == name


def test_labels_by_hand():
    assert _preferences.label("alice.smith@example.com") == "alice%2Esmith@example%2Ecom"
    assert _preferences.label("a%2Eb") == "a%252Eb"           # not the label of "a.b"
    assert _preferences.label("plain-name_1") == "plain-name_1"   # as stored before
    assert _preferences.label(None) == _preferences.label("") == "_"
    assert _preferences.name_of("_") is None


def test_names_with_periods_are_remembered_and_read_back_by_agent_and_reviewer():
    prefs = Preferences()
    request = request_for("reply", {"sig": "-- Team"}, agent="support.v2")
    for who, sig in [("alice.smith@example.com", "Best"), ("a%2Esmith@example.com", "Cheers"),
                     ("alice", "Hi")]:
        prefs.remember(request, Decision(action="edit", args={"sig": sig}, reviewer=who))
    assert ("hitl_nb", "corrections", "support%2Ev2", "alice%2Esmith@example%2Ecom") in \
        prefs.store.list_namespaces(limit=10)
    by_alice = prefs.corrections("reply", agent="support.v2",
                                 reviewer="alice.smith@example.com")
    assert [(c.reviewer, c.final) for c in by_alice] == [("alice.smith@example.com",
                                                          {"sig": "Best"})]
    assert [c.final for c in prefs.corrections(reviewer="a%2Esmith@example.com")] == [
        {"sig": "Cheers"}]
    assert len(prefs.corrections("reply", agent="support.v2")) == 3
    assert prefs.corrections("reply", agent="support") == []


def test_namespaces_stored_before_labels_were_encoded_are_still_read():
    prefs = Preferences()
    old = {"action": "reply", "proposed": {"sig": "x"}, "final": {"sig": "y"},
           "decision": "edit", "reviewer": "50%off", "text": "reply {}"}
    # written the old way: the raw names as labels (a "%" was allowed, a "." was not)
    prefs.store.put(("hitl_nb", "corrections", "support", "50%off"), "k1", old)
    prefs.store.put(("hitl_nb", "corrections", "support", "a%2Eb"), "k2",
                    {**old, "reviewer": "a%2Eb", "final": {"sig": "z"}})
    prefs.remember(request_for("reply", {"sig": "x"}),
                   Decision(action="edit", args={"sig": "w"}, reviewer="50%off"))
    prefs.remember(request_for("reply", {"sig": "x"}),
                   Decision(action="edit", args={"sig": "v"}, reviewer="a.b"))
    assert sorted(c.final["sig"] for c in prefs.corrections(reviewer="50%off")) == ["w", "y"]
    assert [c.final["sig"] for c in prefs.corrections(reviewer="a%2Eb")] == ["z"]
    # "a%2Eb" is also the label of "a.b": the stored reviewer tells them apart
    assert [c.final["sig"] for c in prefs.corrections(reviewer="a.b")] == ["v"]
    assert len(prefs.corrections("reply", agent="support")) == 4


def test_a_session_whose_reviewer_has_a_period_remembers_and_finishes():
    prefs = Preferences()
    desk = SupportDesk()
    graph = support_agent(desk, preferences=prefs)
    session = hitl_nb.Session(graph, config(), reviewer=hitl_nb.Reviewer("bob.jones@corp.com"),
                              preferences=prefs, log=hitl_nb.FeedbackLog())
    session.invoke({"messages": [("user", "refund order 1042")]})
    while session.pending:
        session.approve()
    assert session.status == "done"
    remembered = prefs.corrections(reviewer="bob.jones@corp.com")
    assert remembered
    assert {c.reviewer for c in remembered} == {"bob.jones@corp.com"}


def test_the_learning_experiment_with_a_reviewer_named_with_a_period():
    # ann signs "-- Ann" and wants a manager note over 50; finance never rejects. Every
    # episode has a reply she edits for her signature: without learning each needs a
    # correction; with learning, the rules stand after 2 edits each (min_support).
    ann = SimulatedReviewer(name="ann.lee", manager_note_over=50, signature="\n-- Ann",
                            finance_over=None)
    curves = run_experiment(10, seed=9, reviewer=ann)
    without = curves[curves.variant == "without learning"]
    learning = curves[curves.variant == "with learning"]
    assert (without.corrections >= 1).all()
    assert learning.corrections.iloc[-6:].sum() == 0
    log = hitl_nb.FeedbackLog()
    plain = run_episodes(10, learning=True, seed=9, log=log,
                         reviewer=SimulatedReviewer(name="ann", manager_note_over=50,
                                                    signature="\n-- Ann", finance_over=None))
    assert plain.corrections.tolist() == learning.corrections.tolist()   # a name is a name
    dotted_log = hitl_nb.FeedbackLog()
    run_episodes(2, learning=True, seed=9, reviewer=ann, log=dotted_log)
    assert set(dotted_log.to_pandas().reviewer) == {"ann.lee"}
