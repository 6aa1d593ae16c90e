"""The large-log generator: real request/decision/log code paths, visible reviewer biases."""

from __future__ import annotations

import pandas as pd
import pytest

from hitl_nb import analysis
from hitl_nb.demo.generate import REVIEWERS, ReviewerProfile, capture_proposals, generate_log


@pytest.fixture(scope="module")
def generated() -> tuple[object, pd.DataFrame]:
    log = generate_log(3000, seed=1)
    return log, log.to_pandas()


def test_size_chain_and_sources(generated):
    log, df = generated
    reviewed = df[df.source != "policy"]
    # items are drawn until 3000 decisions are made; a shared item adds up to 3 at once
    assert 3000 <= len(reviewed) < 3003
    assert set(reviewed.source.astype(str)) == {"simulated"}
    assert set(reviewed.reviewer) == {r.name for r in REVIEWERS}
    auto = df[df.source == "policy"]
    assert set(auto.decision.astype(str)) == {"auto"}
    assert set(auto.action_name.astype(str)) == {"lookup_order"}
    # one read-only lookup before each refund proposal
    assert len(auto) == reviewed[reviewed.action_name == "issue_refund"].request_id.nunique()
    assert log.verify().ok
    assert (reviewed.latency_s > 0).all()
    assert df.requested_at.is_monotonic_increasing


def test_shared_items_have_three_distinct_reviewers(generated):
    _, df = generated
    raters = df[df.source != "policy"].groupby("request_id").reviewer.agg(["size", "nunique"])
    shared = raters[raters["size"] > 1]
    assert set(shared["size"]) == {3}
    assert (shared["nunique"] == 3).all()
    assert 0.08 < len(shared) / len(raters) < 0.25            # overlap=0.15 of items


def test_reviewer_biases_show_in_the_log(generated):
    _, df = generated
    rev = df[df.source != "policy"]
    replies = rev[rev.action_name == "draft_reply"]
    eve = replies[replies.reviewer == "editor-eve"]
    assert len(eve) > 50
    assert (eve.decision == "edit").all()
    big = rev[(rev.action_name == "issue_refund") & (rev.reviewer == "strict-sam")]
    big = big[big.proposed_args.map(lambda a: a["amount"] > 150)]
    assert len(big) > 10
    assert (big.decision == "reject").all()
    approve = (rev.assign(ok=rev.decision == "approve").groupby("reviewer").ok.mean())
    assert approve["lenient-lee"] > approve["careful-cat"] + 0.2
    kappa = analysis.pairwise_kappa(df)
    per_rater = pd.concat([kappa.rename(columns={"rater_a": "r"})[["r", "cohen_kappa"]],
                           kappa.rename(columns={"rater_b": "r"})[["r", "cohen_kappa"]]])
    mean = per_rater.groupby("r").cohen_kappa.mean()
    assert mean.idxmin() == "random-rob"                      # agrees poorly with everyone


def test_proposals_come_from_the_real_agent_and_seeds_repeat():
    captured = capture_proposals()
    assert {r.action for r in captured} == {"issue_refund", "draft_reply", "delete_account"}
    assert all(r.thread_id and r.checkpoint_id for r in captured)   # from real threads
    a = generate_log(200, seed=5).to_pandas()
    b = generate_log(200, seed=5).to_pandas()
    cols = ["request_id", "reviewer", "decision", "confidence", "latency_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert (a.final_args == b.final_args).all()


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="ReviewerProfile"):
        generate_log(10, reviewers=())
    with pytest.raises(ValueError, match="use some of"):
        generate_log(10, mix={"launch_rocket": 1.0})
    with pytest.raises(ValueError, match="overlap"):
        generate_log(10, overlap=2)
    solo = generate_log(50, reviewers=[ReviewerProfile(name="only")], seed=2).to_pandas()
    assert set(solo[solo.source != "policy"].reviewer) == {"only"}
