"""Known-answer tests for hitl_nb.analysis: small hand-checked tables (the arithmetic is in
the comments) and the reference functions of statsmodels / scikit-learn / numpy."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import matplotlib
import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from statsmodels.stats.proportion import proportion_confint

import hitl_nb
from hitl_nb import analysis
from hitl_nb._calibrate import confidence_history
from hitl_nb._schema import Decision, ReviewRequest, canonical_json

matplotlib.use("Agg")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Builder:
    """Records hand-made decisions through FeedbackLog.record (the real row path)."""

    def __init__(self) -> None:
        self.log = hitl_nb.FeedbackLog()
        self.count = 0

    def add(self, action: str = "refund", decision: str | None = "approve", *,
            args: dict | None = None, final: dict | None = None, confidence: float | None = None,
            reviewer: str = "ann", gate: str | None = None, level: str = "confirm",
            item: str | None = None, latency: float = 1.0, comment: str | None = None,
            source: str = "human") -> None:
        self.count += 1
        proposed = args if args is not None else {"n": self.count}
        request = ReviewRequest(request_id=item or f"r{self.count}", interrupt_id="i",
                                kind="ask", action=action, args=proposed,
                                confidence=confidence, gate=gate, level=level,  # type: ignore[arg-type]
                                requested_at=T0)
        if decision is None:
            self.log.record(request, None)
            return
        self.log.record(request, Decision(
            action=decision, args=final if final is not None else proposed,  # type: ignore[arg-type]
            reviewer=reviewer, comment=comment, source=source,  # type: ignore[arg-type]
            decided_at=T0 + timedelta(seconds=latency)))

    def df(self) -> pd.DataFrame:
        return self.log.to_pandas()


# -- Wilson ------------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 30), (1, 70), (8, 10), (37, 40), (5, 5),
                                      (123, 1000)])
def test_wilson_matches_statsmodels(k, n):
    low, high = analysis.wilson_interval(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


def test_wilson_hand_value_and_empty_groups():
    # 8 of 10, z = 1.96: centre (0.8 + 1.92/10) / 1.384 = 0.7168, half-width
    # 1.96 * sqrt(0.016 + 0.00096) / 1.384 = 0.2265 -> (0.4902, 0.9433)
    low, high = analysis.wilson_interval(np.array([8, 0]), np.array([10, 0]))
    assert low[0] == pytest.approx(0.4902, abs=1e-4)
    assert high[0] == pytest.approx(0.9433, abs=1e-4)
    assert np.isnan(low[1])
    assert np.isnan(high[1])
    with pytest.raises(ValueError, match="level must be in"):
        analysis.wilson_interval(1, 2, level=95)


# -- rates --------------------------------------------------------------------------------
def rates_log() -> pd.DataFrame:
    b = Builder()
    # refund: 3 approve, 1 edit, 1 respond (n = 5); email: 2 reject (n = 2)
    for d in ("approve", "approve", "approve"):
        b.add("refund", d, reviewer="ann", gate="threshold")
    b.add("refund", "edit", final={"n": -1}, reviewer="bob", gate="threshold")
    b.add("refund", "respond", reviewer="bob")
    b.add("email", "reject", reviewer="ann", level="collaborate")
    b.add("email", "reject", reviewer="ann", level="collaborate")
    b.add("lookup", None)                                   # policy `auto`: not a judgement
    return b.df()


def test_rates_count_the_reviewed_decisions_per_group():
    out = analysis.rates(rates_log(), "action_name")
    table = out.set_index(["action_name", "decision"])
    assert len(out) == 2 * 4                                # every outcome, even at zero
    assert table.loc[("refund", "approve"), "count"] == 3
    assert table.loc[("refund", "approve"), "n"] == 5
    assert table.loc[("refund", "approve"), "rate"] == pytest.approx(0.6)
    assert table.loc[("email", "reject"), "rate"] == 1.0
    assert table.loc[("email", "edit"), "count"] == 0
    assert "lookup" not in set(out.action_name.astype(str))
    for (_, row), (k, n) in zip(out.iterrows(), zip(out["count"], out["n"], strict=True),
                                strict=True):
        ref = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx(ref, abs=1e-12)


def test_rates_by_gate_keep_the_ungated_group_and_by_reviewer():
    by_gate = analysis.rates(rates_log(), "gate")
    assert (by_gate.gate == "(none)").sum() == 4            # respond + 2 email: no gate
    assert by_gate.gate.notna().all()
    ungated = by_gate[by_gate.gate == "(none)"].set_index("decision")
    assert ungated.loc["reject", "count"] == 2
    assert ungated.loc["reject", "n"] == 3
    by_reviewer = analysis.rates(rates_log(), ["reviewer", "spectrum_level"])
    bob = by_reviewer[(by_reviewer.reviewer == "bob") & (by_reviewer["count"] > 0)]
    assert sorted(bob.decision.astype(str)) == ["edit", "respond"]
    with pytest.raises(ValueError, match="no column"):
        analysis.rates(rates_log(), "nope")


# -- edits --------------------------------------------------------------------------------
def edits_log() -> pd.DataFrame:
    return edits_log_builder().df()


def edits_log_builder() -> Builder:
    b = Builder()
    b.add("reply", "edit", args={"body": "Hello", "amount": 10, "meta": {"a": 1}},
          final={"body": "Hello!!", "amount": 12, "meta": {"a": 2, "b": 3}})
    b.add("reply", "edit", args={"body": "Dear Ada", "to": "a@x", "amount": 1},
          final={"body": "Dear Ada Lovelace", "to": "ada@x", "amount": 1})
    b.add("reply", "approve", args={"body": "ok"})
    b.add("refund", "edit", args={"amount": 80}, final={"amount": 60})
    return b


def test_edit_sizes_by_hand():
    sizes = analysis.edit_sizes(edits_log()).set_index(["action_name", "patch_ops"])
    assert len(sizes) == 3                                  # the approval is not an edit
    # first edit: body, amount, meta/a, meta/b -> 4 patch ops in 3 top-level fields;
    # text: "Hello" -> "Hello!!" is 2 insertions
    first = sizes.loc[("reply", 4)]
    assert (first.fields, first.text_distance) == (3, 2.0)
    # second: body gains " Lovelace" (9), to "a@x" -> "ada@x" (2 insertions): 11
    second = sizes.loc[("reply", 2)]
    assert (second.fields, second.text_distance) == (2, 11.0)
    # a number only: no text distance; args distance = the log's JSON Levenshtein
    third = sizes.loc[("refund", 1)]
    assert third.fields == 1
    assert np.isnan(third.text_distance)
    assert third.args_distance == Levenshtein.distance(canonical_json({"amount": 80}),
                                                       canonical_json({"amount": 60})) == 1


def test_most_edited_fields_by_hand():
    fields = analysis.edited_fields(edits_log())
    reply = fields[fields.action_name == "reply"].set_index("field")
    # body changed in both reply edits, amount/meta/to in one each
    assert reply.loc["body", "edits"] == 2
    assert reply.loc["body", "share_of_edits"] == 1.0
    assert reply.loc["to", "share_of_edits"] == 0.5
    assert reply.index[0] == "body"                         # most edited first
    assert reply.loc["body", "text_distance_mean"] == (2 + 9) / 2
    assert np.isnan(reply.loc["amount", "text_distance_mean"])
    summary = analysis.edit_summary(edits_log()).set_index("action_name")
    assert summary.loc["reply", "reviewed"] == 3
    assert summary.loc["reply", "edits"] == 2
    assert summary.loc["reply", "edit_share"] == pytest.approx(2 / 3)
    assert summary.loc["reply", "patch_ops_mean"] == (4 + 2) / 2


# -- calibration ------------------------------------------------------------------------
def calibration_log(confidence, approved, action: str = "refund") -> Builder:
    b = Builder()
    for c, ok in zip(confidence, approved, strict=True):
        b.add(action, "approve" if ok else "edit", confidence=c,
              final=None if ok else {"changed": True})
    return b


def test_brier_and_ece_by_hand():
    conf = [0.95, 0.93, 0.85, 0.35, 0.25]
    ok = [1, 0, 1, 0, 1]
    b = calibration_log(conf, ok)
    b.add("refund", "approve", confidence=None)            # no confidence: not scored
    table = analysis.calibration(b.df()).set_index("action_name")
    # Brier: (0.05^2 + 0.93^2 + 0.15^2 + 0.35^2 + 0.75^2) / 5 = 1.5749 / 5
    assert table.loc["refund", "brier"] == pytest.approx(1.5749 / 5)
    assert table.loc["refund", "brier"] == pytest.approx(brier_score_loss(ok, conf))
    # ECE, 10 bins: bin 9 {0.95, 0.93}: conf 0.94, rate 0.5 -> 2 * 0.44; bin 8: |1 - 0.85|;
    # bin 3: |0 - 0.35|; bin 2: |1 - 0.25|  => (0.88 + 0.15 + 0.35 + 0.75) / 5 = 0.426
    assert table.loc["refund", "ece"] == pytest.approx(0.426)
    assert table.loc["refund", "n"] == 5
    assert table.loc["(all)", "brier"] == table.loc["refund", "brier"]


def test_reliability_curve_matches_scikit_learn():
    rng = np.random.default_rng(7)
    conf = rng.uniform(0, 1, 400)
    ok = (rng.uniform(0, 1, 400) < conf ** 1.5).astype(int)     # over-confident agent
    curve = analysis.reliability(calibration_log(conf, ok).df(), bins=10)
    prob_true, prob_pred = calibration_curve(ok, conf, n_bins=10, strategy="uniform")
    assert curve.approve_rate.to_numpy() == pytest.approx(prob_true)
    assert curve.confidence.to_numpy() == pytest.approx(prob_pred)
    assert curve.n.sum() == 400
    for row in curve.itertuples():
        k = round(row.approve_rate * row.n)
        assert (row.ci_low, row.ci_high) == pytest.approx(
            proportion_confint(k, row.n, method="wilson"), abs=1e-12)


def test_reliability_bins_confidences_on_bin_edges_as_scikit_learn_does():
    # values on edges: sklearn puts 0.5 in (0.4, 0.5], 0.1 in [0, 0.1], 1.0 in (0.9, 1.0]
    conf = np.array([0.0, 0.1, 0.5, 0.5, 0.7, 0.7, 0.9, 0.9, 0.9, 1.0, 0.33, 0.66])
    ok = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1])
    curve = analysis.reliability(calibration_log(conf, ok).df(), bins=10)
    prob_true, prob_pred = calibration_curve(ok, conf, n_bins=10, strategy="uniform")
    assert curve.approve_rate.to_numpy() == pytest.approx(prob_true)
    assert curve.confidence.to_numpy() == pytest.approx(prob_pred)
    # by hand: [0, .1] {0, .1}; (.3, .4] {.33}; (.4, .5] {.5, .5}; (.6, .7] {.66, .7, .7};
    # (.8, .9] {.9 x3}; (.9, 1] {1.0}
    assert list(curve.bin) == [0, 3, 4, 6, 8, 9]
    assert list(curve.n) == [2, 1, 2, 3, 3, 1]
    # ECE over the same bins, from sklearn's curve and the counts by hand
    counts = np.array([2, 1, 2, 3, 3, 1])
    ece = float(np.sum(counts * np.abs(prob_true - prob_pred)) / len(conf))
    table = analysis.calibration(calibration_log(conf, ok).df()).set_index("action_name")
    assert table.loc["refund", "ece"] == pytest.approx(ece)


def test_suggested_threshold_is_the_lowest_with_upper_error_bound_below_target():
    # 60 proposals at 0.95, all approved; 10 at 0.85 with 1 edit; 20 at 0.60 with 10 edits.
    conf = [0.95] * 60 + [0.85] * 10 + [0.60] * 20
    ok = [1] * 60 + [1] * 9 + [0] + [1] * 10 + [0] * 10
    b = calibration_log(conf, ok)
    for c in (0.9, 0.5):                                     # a second action: never safe
        for _ in range(30):
            b.add("delete", "reject", confidence=c)
    out = analysis.suggest_thresholds(b.df(), target=0.10, min_n=20).set_index("action_name")
    # >= 0.95: 0 of 60 wrong, upper bound 0.0602 <= 0.10 (ok); >= 0.85: 1 of 70, upper
    # 0.0770 (ok, lower threshold); >= 0.60: 11 of 90, upper > 0.10 (not ok)
    assert proportion_confint(11, 90, method="wilson")[1] > 0.10
    row = out.loc["refund"]
    assert row.threshold == 0.85
    assert (row.n, row.n_auto) == (90, 70)
    assert row.coverage == pytest.approx(70 / 90)
    assert row.error_rate == pytest.approx(1 / 70)
    assert row.error_upper == pytest.approx(proportion_confint(1, 70, method="wilson")[1])
    delete = out.loc["delete"]
    assert np.isnan(delete.threshold)
    assert delete.n_auto == 0
    assert delete.coverage == 0
    # stricter target: only 0.95 qualifies (0.0602 <= 0.07 < 0.0770)
    strict = analysis.suggest_thresholds(b.df(), target=0.07).set_index("action_name")
    assert strict.loc["refund", "threshold"] == 0.95
    with pytest.raises(ValueError, match="target is an error rate"):
        analysis.suggest_thresholds(b.df(), target=5)


# -- agreement --------------------------------------------------------------------------
def test_cohen_kappa_by_hand_for_two_reviewers():
    a = ["approve"] * 5 + ["edit"] * 3 + ["reject"] * 2
    b = ["approve"] * 4 + ["edit", "edit", "edit", "approve", "reject", "edit"]
    log = Builder()
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        log.add("refund", x, item=f"item{i}", reviewer="ann", final={"e": 1} if x == "edit"
                else None)
        log.add("refund", y, item=f"item{i}", reviewer="bob", final={"e": 1} if y == "edit"
                else None)
    log.add("refund", "approve", item="solo", reviewer="ann")   # one rater: not an item
    df = log.df()
    # observed 7/10; expected (5*5 + 3*4 + 2*1) / 100 = 0.39; kappa = 0.31 / 0.61
    [pair] = analysis.pairwise_kappa(df).itertuples()
    assert (pair.rater_a, pair.rater_b, pair.n_items) == ("ann", "bob", 10)
    assert pair.agreement == pytest.approx(0.7)
    assert pair.cohen_kappa == pytest.approx(0.31 / 0.61)
    summary = analysis.agreement(df).set_index("metric")
    assert summary.loc["cohen_kappa", "value"] == pytest.approx(0.31 / 0.61)
    assert summary.loc["percent_agreement", "n_items"] == 10


def many_raters(rows: list[list[int]], label_of: dict[int, str]) -> pd.DataFrame:
    """A log where reviewer r{j} labelled item i with rows[i][j] (None: not rated); the
    label goes in `comment` so more than four categories can be tested."""
    b = Builder()
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                b.add("x", "approve", item=f"u{i}", reviewer=f"r{j}", comment=label_of[value])
    return b.df()


def test_fleiss_kappa_on_the_textbook_table():
    # Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
              [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
              [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    rows = [list(itertools.chain.from_iterable([k] * c for k, c in enumerate(r))) for r in counts]
    df = many_raters(rows, {k: f"cat{k}" for k in range(5)})
    table = analysis.ratings(df, label="comment")
    kappa, items, raters = analysis.fleiss(table)
    # by the formula: P_i = (sum n_ij^2 - 14) / (14 * 13); p_j = column sums / 140
    n = np.array(counts)
    p_bar = ((n ** 2).sum(1) - 14).mean() / (14 * 13)
    pe = ((n.sum(0) / 140) ** 2).sum()
    assert kappa == pytest.approx((p_bar - pe) / (1 - pe))
    assert round(kappa, 3) == 0.210
    assert (items, raters) == (10, 14)


def test_krippendorff_alpha_on_the_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers,
    # 12 units, missing values; nominal alpha = 0.743 (unit 12 has one value: dropped)
    N = None
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
            [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]
    rows = [list(unit) for unit in zip(*data, strict=True)]
    df = many_raters(rows, {k: f"v{k}" for k in range(1, 6)})
    table = analysis.ratings(df, label="comment")
    assert table.shape == (11, 4)
    assert round(analysis.krippendorff_alpha(table), 3) == 0.743
    out = analysis.agreement(df, label="comment").set_index("metric")
    assert round(out.loc["krippendorff_alpha", "value"], 3) == 0.743


def test_agreement_without_shared_items_is_nan_not_an_error():
    df = rates_log()
    out = analysis.agreement(df)
    assert out.value.isna().all()
    assert (out.n_items == 0).all()
    assert analysis.pairwise_kappa(df).empty


# -- latency ------------------------------------------------------------------------------
def test_latency_quantiles_by_hand():
    b = Builder()
    for seconds in (1.0, 2.0, 10.0):
        b.add("refund", "approve", latency=seconds)
    b.add("reply", "edit", final={"x": 1}, latency=4.0, level="collaborate")
    b.add("lookup", None)                                   # policy row: no latency counted
    out = analysis.latency(b.df()).set_index("action_name")
    refund = out.loc["refund"]
    assert refund.n == 3
    assert refund.mean_s == pytest.approx(13 / 3)
    assert refund.median_s == 2.0
    assert refund.max_s == 10.0
    # linear interpolation: position 0.9 * 2 = 1.8 -> 2 + 0.8 * (10 - 2) = 8.4
    assert refund.p90_s == pytest.approx(8.4)
    assert refund.p99_s == pytest.approx(np.percentile([1, 2, 10], 99))
    assert out.loc["reply", "spectrum_level"] == "collaborate"
    assert "lookup" not in out.index


# -- report and plots ---------------------------------------------------------------------
def test_report_holds_every_table_and_renders():
    df = pd.concat([rates_log(), edits_log()], ignore_index=True)
    rep = analysis.report(df)
    tables = rep.tables()
    assert list(tables) == ["rates_by_action", "rates_by_gate", "rates_by_level",
                            "rates_by_reviewer", "edit_summary", "edited_fields", "reliability",
                            "calibration", "thresholds", "agreement", "pairwise_kappa",
                            "latency"]
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    pd.testing.assert_frame_equal(rep.rates_by_reviewer, analysis.rates(df, "reviewer"))
    pd.testing.assert_frame_equal(rep.edited_fields, analysis.edited_fields(df))
    html = rep._repr_html_()
    assert "<h4>thresholds</h4>" in html
    assert "== latency ==" in str(rep)


def test_report_escapes_user_text_in_html():
    b = Builder()
    b.add("refund", "approve", reviewer="<img src=x onerror=alert(1)>")
    html = analysis.report(b.df())._repr_html_()
    assert "<img" not in html
    assert "&lt;img" in html


def test_plots_return_axes_with_one_artist_per_value():
    import matplotlib.pyplot as plt

    table = analysis.rates(rates_log(), "action_name")
    ax = analysis.plot_rates(table)
    assert len(ax.patches) == len(table) == 8               # 2 actions x 4 outcomes
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted(round(r, 6) for r in table.rate)
    rng = np.random.default_rng(1)
    conf = rng.uniform(0, 1, 50)
    curve = analysis.reliability(calibration_log(conf, conf > 0.5).df())
    ax = analysis.plot_calibration(curve)
    assert ax.get_xlabel() == "agent confidence"
    assert len(ax.collections) >= 1
    assert ax.get_legend() is not None
    curves = pd.DataFrame({"episode": [1, 2, 1, 2], "variant": ["a", "a", "b", "b"],
                           "edit_rate": [1.0, 0.0, 1.0, 1.0], "reject_rate": [0.0] * 4})
    ax = analysis.plot_learning_curves(curves, window=1)
    assert len(ax.lines) == 4                               # 2 variants x 2 metrics
    assert list(ax.lines[0].get_ydata()) == [1.0, 0.0]
    one = analysis.plot_learning_curves(curves.query("variant == 'a'").drop(columns="variant"),
                                        ["edit_rate"], window=1)
    assert [line.get_label() for line in one.lines] == ["edit rate"]
    with pytest.raises(ValueError, match=r"needs the columns \['episode'\]"):
        analysis.plot_learning_curves(curves.drop(columns="episode"))
    plt.close("all")


# -- frames that are not FeedbackLog.to_pandas() ------------------------------------------
def hand_made_frame() -> pd.DataFrame:
    """Only the columns an analyst writes down: no source, patch, edit_distance, preview,
    gate, spectrum_level; decisions and actions as plain strings."""
    proposed = [{"amount": 10}, {"amount": 10}, {"amount": 500}, {"amount": 500},
                {"body": "Hello"}]
    final = [{"amount": 10}, {"amount": 8}, {"amount": 500}, {"amount": 500},
             {"body": "Hello there"}]
    asked = [T0 + timedelta(minutes=i) for i in range(5)]
    return pd.DataFrame({
        "decision_id": [f"d{i}" for i in range(5)],
        "request_id": ["r1", "r1", "r2", "r2", "r3"],
        "thread_id": ["t1", "t1", "t2", "t2", "t3"],
        "action_name": ["refund", "refund", "refund", "refund", "reply"],
        "proposed_args": proposed, "final_args": final,
        "decision": ["approve", "edit", "reject", "reject", "edit"],
        "edited": [False, True, False, False, True],
        "rating": [5.0, np.nan, 1.0, np.nan, 3.0],
        "comment": [None, "less", None, "no", None],
        "confidence": [0.9, 0.9, 0.2, 0.2, 0.6],
        "reviewer": ["ann", "bob", "ann", "bob", "ann"],
        "requested_at": asked,
        "decided_at": [t + timedelta(seconds=s) for t, s in zip(asked, [2, 4, 6, 8, 10],
                                                               strict=True)],
        "latency_s": [2.0, 4.0, 6.0, 8.0, 10.0],
    })


def test_every_analysis_reads_a_hand_made_minimal_frame(tmp_path):
    import matplotlib.pyplot as plt

    df = hand_made_frame()
    before = df.copy()
    by_reviewer = analysis.rates(df, "reviewer").set_index(["reviewer", "decision"])
    # ann: approve, reject, edit (3); bob: edit, reject (2)
    assert by_reviewer.loc[("ann", "edit"), ["count", "n"]].tolist() == [1, 3]
    assert by_reviewer.loc[("bob", "reject"), ["count", "n"]].tolist() == [1, 2]
    sizes = analysis.edit_sizes(df).set_index("decision_id")
    assert sizes.patch_ops.tolist() == [1, 1]
    assert sizes.loc["d1", "args_distance"] == Levenshtein.distance('{"amount":10}',
                                                                    '{"amount":8}')
    assert sizes.loc["d4", "text_distance"] == Levenshtein.distance("Hello", "Hello there")
    fields = analysis.edited_fields(df).set_index(["action_name", "field"])
    assert fields.loc[("refund", "amount"), "edits"] == 1
    # r1: approve vs edit, r2: reject vs reject -> half the shared items agree
    agree = analysis.agreement(df).set_index("metric")
    assert agree.loc["percent_agreement", "value"] == 0.5
    assert analysis.latency(df, "reviewer").set_index("reviewer").loc["bob", "mean_s"] == 6.0
    assert analysis.calibration(df, None)["n"].tolist() == [5]
    assert len(analysis.reliability(df)) == 3                 # 0.2, 0.6, 0.9
    assert len(analysis.suggest_thresholds(df, min_n=1)) == 2
    assert analysis.pairwise_kappa(df).n_items.tolist() == [2]
    report = analysis.report(df)
    assert report.rates_by_gate.n.unique().tolist() == [5]   # no gate column: one group
    str(report)
    report._repr_html_()
    analysis.plot_rates(by_reviewer.reset_index())
    analysis.plot_calibration(analysis.reliability(df))
    plt.close("all")
    dpo = analysis.preference_pairs(df, "dpo")
    assert dpo.chosen.tolist() == ['{"amount":8}', '{"body":"Hello there"}']
    assert dpo.prompt[0] == "Propose the JSON arguments for the tool call `refund`."
    assert len(analysis.preference_pairs(df, "kto")) == 5 + 2
    analysis.write_preference_pairs(df, tmp_path / "dpo.jsonl")
    pd.testing.assert_frame_equal(df, before)                 # the caller's frame is untouched


def test_edited_is_derived_from_the_arguments_and_source_defaults_to_human():
    df = hand_made_frame().drop(columns=["edited", "latency_s"])
    df.loc[0, "decision"] = "edit"            # an "edit" that changed nothing is no edit
    sizes = analysis.edit_sizes(df)
    assert sizes.decision_id.tolist() == ["d1", "d4"]
    assert analysis.latency(df, "reviewer").set_index("reviewer").loc["ann", "max_s"] == 10.0
    policy = hand_made_frame().assign(source=["policy"] + ["human"] * 4)
    assert analysis.rates(policy, "reviewer").query("reviewer == 'ann'").n.iloc[0] == 2


def test_a_frame_without_decision_or_arguments_says_what_is_missing():
    df = hand_made_frame()
    with pytest.raises(ValueError, match="needs a `decision` column"):
        analysis.rates(df.drop(columns="decision"))
    no_args = df.drop(columns=["proposed_args", "final_args"])
    assert analysis.rates(no_args, "reviewer").n.sum() == 5 * 4  # rates do not need them
    with pytest.raises(ValueError, match="measured from proposed_args and final_args"):
        analysis.edit_sizes(no_args)


def test_a_log_read_with_plain_read_parquet_analyses_like_the_log(tmp_path):
    b = edits_log_builder()
    path = tmp_path / "log.parquet"
    b.log.to_parquet(path)
    plain = pd.read_parquet(path)
    assert isinstance(plain.final_args[0], str)               # JSON text as stored
    typed = b.df()
    for name in ("edit_sizes", "field_edits"):
        pd.testing.assert_frame_equal(getattr(analysis, name)(plain),
                                      getattr(analysis, name)(typed),
                                      check_dtype=False, check_categorical=False)
    for fmt in ("dpo", "kto"):
        pd.testing.assert_frame_equal(analysis.preference_pairs(plain, fmt),
                                      analysis.preference_pairs(typed, fmt),
                                      check_dtype=False)
    chosen = analysis.preference_pairs(plain, "dpo").chosen
    assert all(isinstance(json.loads(c), dict) for c in chosen)   # not double-encoded


def test_a_log_saved_as_csv_analyses_like_the_log(tmp_path):
    b = edits_log_builder()
    typed = b.df()
    typed.to_csv(tmp_path / "log.csv", index=False)     # dicts written as their Python repr
    csv = pd.read_csv(tmp_path / "log.csv")
    assert csv.final_args[0].startswith("{'")
    for name in ("edit_sizes", "field_edits"):
        pd.testing.assert_frame_equal(getattr(analysis, name)(csv),
                                      getattr(analysis, name)(typed),
                                      check_dtype=False, check_categorical=False)
    pd.testing.assert_frame_equal(analysis.preference_pairs(csv, "kto"),
                                  analysis.preference_pairs(typed, "kto"), check_dtype=False)
    assert analysis.rates(csv)["count"].tolist() == analysis.rates(typed)["count"].tolist()
    csv.loc[1, "final_args"] = "{'amount': 8"                # cut off mid-cell
    with pytest.raises(ValueError, match=r"final_args in row 1 is neither JSON nor a Python "
                                         r"literal .* FeedbackLog.to_parquet"):
        analysis.edit_sizes(csv)


def test_rates_by_none_are_over_every_decision():
    df = pd.DataFrame({"decision": ["approve", "approve", "edit", "reject"]})
    overall = analysis.rates(df, None).set_index("decision")
    assert overall["count"].to_dict() == {"approve": 2, "edit": 1, "reject": 1, "respond": 0}
    assert overall["n"].unique().tolist() == [4]
    pd.testing.assert_frame_equal(analysis.rates(df, []), analysis.rates(df, None))


def test_a_frame_without_times_has_no_latencies_rather_than_an_error():
    df = hand_made_frame().drop(columns=["requested_at", "decided_at", "latency_s"])
    assert analysis.latency(df, "reviewer").empty
    assert analysis.latency(pd.DataFrame({"decision": ["approve"]})).empty
    report = analysis.report(df)
    assert report.latency.empty
    assert report.rates_by_action.n.unique().tolist() == [4, 1]   # refund, reply


def test_an_edit_that_changes_nothing_counts_as_approved_as_proposed_everywhere():
    b = Builder()
    b.add("email", "approve", args={"body": "Dear"}, confidence=0.9)
    b.add("email", "edit", args={"body": "Dear"}, final={"body": "Dear"}, confidence=0.9)
    b.add("email", "edit", args={"body": "Hi"}, final={"body": "Hello"}, confidence=0.9)
    b.add("email", "reject", args={"body": "Yo"}, confidence=0.9)
    df = b.df()
    # calibration scores 2 of 4 approved as proposed, as the KTO labels say
    [row] = analysis.reliability(df).itertuples()
    assert (row.n, row.approve_rate) == (4, 0.5)
    labels = analysis.preference_pairs(df, "kto").label.tolist()[:4]
    assert labels == [True, True, False, False]
    track = confidence_history(b.log).track("email", 0.9)       # the live trust card
    assert (track.n, track.approved) == (4, 2)


def test_an_export_without_pairs_is_refused_with_the_reason(tmp_path):
    b = Builder()
    b.add("refund", "approve")
    b.add("refund", "reject")
    with pytest.raises(ValueError, match=r"no edits in the log: DPO pairs come from edits"):
        b.log.to_preference_pairs("dpo", path=tmp_path / "dpo.jsonl")
    assert not (tmp_path / "dpo.jsonl").exists()
    assert b.log.to_preference_pairs("dpo").empty            # the frame may stay empty
    assert len(b.log.to_preference_pairs("kto", path=tmp_path / "kto.parquet")) == 2
    only_policy = Builder()
    only_policy.add("refund", None)
    for fmt in ("dpo", "kto"):
        with pytest.raises(ValueError, match=r"no reviewed decisions in the log"):
            analysis.write_preference_pairs(only_policy.df(), tmp_path / "x.parquet", fmt)
    with pytest.raises(ValueError, match="cannot load an empty file"):
        analysis.write_pairs(analysis.preference_pairs(only_policy.df()), tmp_path / "y.jsonl")


# -- two logs stacked with pd.concat (repeated index labels) ------------------------------
def collab_rows() -> pd.DataFrame:
    """A co-edited draft (revise, then approve) and a human-led answer, by hand."""
    return pd.DataFrame({
        "request_id": ["c1", "c2", "c3"], "thread_id": ["t9"] * 3,
        "action_name": ["draft", "draft", "input"], "reviewer": ["ann"] * 3,
        "decision": ["revise", "approve", "input"],
        "proposed_args": [{"body": "Hi"}, {"body": "Hi!"}, {"options": ["a", "b"]}],
        "final_args": [{"body": "Hi!"}, {"body": "Hi!"},
                       {"options": ["a", "b"], "value": "b", "option": 1}]})


STACKABLE = ["rates", "edit_sizes", "field_edits", "edit_summary", "edited_fields",
             "calibration", "reliability", "scored", "suggest_thresholds", "agreement",
             "pairwise_kappa", "ratings", "latency", "workload", "revision_rounds",
             "options_taken", "preference_pairs"]


def stacked_pairs() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Pairs of frames of one shape: two logs' `to_pandas()`, and two hand-made frames."""
    conf = [0.95, 0.93, 0.85, 0.35, 0.25]
    scored = calibration_log(conf, [1, 0, 1, 0, 1]).df()
    logs = (pd.concat([rates_log(), edits_log()], ignore_index=True), scored)
    return [logs, (hand_made_frame().drop(columns=["edited", "latency_s"]), collab_rows())]


@pytest.mark.parametrize("name", STACKABLE)
def test_every_analysis_reads_two_logs_stacked_with_concat(name):
    fn = getattr(analysis, name)
    for first, second in stacked_pairs():
        stacked = pd.concat([first, second])                 # index labels repeat
        assert not stacked.index.is_unique
        renumbered = pd.concat([first, second], ignore_index=True)
        pd.testing.assert_frame_equal(fn(stacked), fn(renumbered))


def test_stacked_logs_count_every_row_of_both():
    first, second = edits_log(), rates_log()
    stacked = pd.concat([first, second])
    # 3 edits in edits_log (the approval is not one), 1 in rates_log (bob's refund)
    assert len(analysis.edit_sizes(stacked)) == 3 + 1
    summary = analysis.edit_summary(stacked).set_index("action_name")
    # refund: 1 reviewed in edits_log + 5 in rates_log; edits 1 + 1
    assert summary.loc["refund", ["reviewed", "edits"]].tolist() == [6, 2]
    assert len(analysis.preference_pairs(stacked, "dpo")) == 4
    rep = analysis.report(pd.concat([first, second, first]))
    assert rep.edit_summary.set_index("action_name").loc["reply", "edits"] == 2 + 2
    assert rep.rates_by_action.set_index(["action_name", "decision"]).loc[
        ("refund", "approve"), ["count", "n"]].tolist() == [3, 1 + 5 + 1]
    hand = pd.concat([hand_made_frame(), hand_made_frame()])
    assert analysis.edit_sizes(hand).decision_id.tolist() == ["d1", "d4", "d1", "d4"]


# -- missing group keys and tied confidences ------------------------------------------------
def brute_threshold(conf: np.ndarray, wrong: np.ndarray, target: float, min_n: int
                    ) -> tuple[float, int, float] | None:
    """The rule of suggest_thresholds, one threshold at a time: t admits conf >= t."""
    for t in sorted(set(conf.tolist())):
        admitted = conf >= t
        n, k = int(admitted.sum()), int(wrong[admitted].sum())
        upper = 1.0 if k == n else proportion_confint(k, n, method="wilson")[1]
        if n >= min_n and upper <= target:
            return t, n, k / n
    return None


def test_a_threshold_admits_every_tied_row_also_without_a_gate():
    # 20 approvals and 10 edits, all at 0.95: auto-approving at 0.95 lets 10 of 30 through
    dec = ["approve"] * 20 + ["edit"] * 10
    df = pd.DataFrame({"decision": dec * 2, "confidence": [0.95] * 60,
                       "gate": [None] * 30 + ["g"] * 30})
    strict = analysis.suggest_thresholds(df, target=0.2, by="gate", min_n=5)
    assert strict.gate.tolist() == ["(none)", "g"]
    assert strict.threshold.isna().all()                      # 1/3 > 0.2: never safe
    assert strict.n_auto.tolist() == [0, 0]
    loose = analysis.suggest_thresholds(df, target=0.6, by="gate", min_n=5)
    upper = proportion_confint(10, 30, method="wilson")[1]   # 0.512 <= 0.6
    assert loose.threshold.tolist() == [0.95, 0.95]
    assert loose.n_auto.tolist() == [30, 30]
    assert loose.error_rate.tolist() == pytest.approx([1 / 3, 1 / 3])
    assert loose.error_upper.tolist() == pytest.approx([upper, upper], abs=1e-12)


def test_suggested_thresholds_match_brute_force_with_missing_keys_and_ties():
    rng = np.random.default_rng(3)
    n = 600
    conf = rng.choice([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], n)   # many ties
    wrong = rng.uniform(0, 1, n) > conf ** 0.3
    gate = rng.choice(np.array(["a", "b", None], dtype=object), n)
    df = pd.DataFrame({"decision": np.where(wrong, "edit", "approve"), "confidence": conf,
                       "gate": gate})
    for target in (0.05, 0.1, 0.2):
        out = analysis.suggest_thresholds(df, target=target, by="gate", min_n=10)
        assert out.gate.tolist() == ["(none)", "a", "b"]
        for row in out.itertuples():
            mine = np.array([g is None for g in gate]) if row.gate == "(none)" else gate == row.gate
            expected = brute_threshold(conf[mine], wrong[mine], target, 10)
            assert row.n == mine.sum()
            if expected is None:
                assert np.isnan(row.threshold)
                assert row.n_auto == 0
            else:
                assert (row.threshold, row.n_auto) == expected[:2]
                assert row.error_rate == pytest.approx(expected[2])


def test_a_key_missing_everywhere_is_one_group():
    df = pd.DataFrame({"decision": ["approve"] * 30 + ["edit"] + ["approve"] * 9,
                       "confidence": [0.95] * 31 + [0.5] * 9, "gate": [None] * 40})
    out = analysis.suggest_thresholds(df, target=0.3, by="gate", min_n=5)
    # >= 0.5 admits all 40 with 1 edit: upper bound below 0.3, the lowest threshold
    assert proportion_confint(1, 40, method="wilson")[1] < 0.3
    assert out[["gate", "n", "threshold", "n_auto"]].values.tolist() == [
        ["(none)", 40, 0.5, 40]]
    assert analysis.calibration(df, by="gate").gate.tolist() == ["(none)", "(all)"]
    assert analysis.rates(df, "gate").gate.unique().tolist() == ["(none)"]
    assert analysis.latency(df.assign(latency_s=1.0), "gate").gate.tolist() == ["(none)"]


def test_calibration_by_gate_scores_the_ungated_group():
    # per group: 0.9 approve, 0.9 edit, 0.2 reject, 0.2 reject
    # ECE: bin (0.8, 0.9]: 2 * |0.5 - 0.9| = 0.8; bin (0.1, 0.2]: 2 * |0 - 0.2| = 0.4 -> 1.2 / 4
    # Brier: (0.1^2 + 0.9^2 + 0.2^2 + 0.2^2) / 4 = 0.9 / 4
    df = pd.DataFrame({"decision": ["approve", "edit", "reject", "reject"] * 2,
                       "confidence": [0.9, 0.9, 0.2, 0.2] * 2,
                       "gate": [None] * 4 + ["g"] * 4})
    table = analysis.calibration(df, by="gate").set_index("gate")
    assert table.index.tolist() == ["(none)", "g", "(all)"]
    assert table.ece.tolist() == pytest.approx([0.3, 0.3, 0.3])
    assert table.brier.tolist() == pytest.approx([0.225] * 3)
    assert table.n.tolist() == [4, 4, 8]
    curve = analysis.reliability(df, by="gate")
    assert curve.gate.tolist() == ["(none)", "(none)", "g", "g"]


def test_a_numeric_key_keeps_nan_as_its_group_with_every_score():
    df = pd.DataFrame({"decision": ["approve", "edit", "reject", "reject"] * 2,
                       "confidence": [0.9, 0.9, 0.2, 0.2] * 2,
                       "rating": [np.nan] * 4 + [4.0] * 4})
    table = analysis.calibration(df, by="rating")
    assert table.ece.tolist() == pytest.approx([0.3, 0.3, 0.3])   # as by hand above
    assert table.rating.tolist()[0] == 4.0
    assert np.isnan(table.rating.tolist()[1])
    thresholds = analysis.suggest_thresholds(df, target=0.95, by="rating", min_n=1)
    # per group, >= 0.2 admits all 4 with 3 wrong, >= 0.9 admits 2 with 1 wrong
    assert proportion_confint(3, 4, method="wilson")[1] > 0.95
    assert proportion_confint(1, 2, method="wilson")[1] <= 0.95
    assert thresholds.n.tolist() == [4, 4]
    assert thresholds.threshold.tolist() == [0.9, 0.9]
    assert thresholds.n_auto.tolist() == [2, 2]


def test_a_missing_category_value_is_its_own_labelled_group():
    b = Builder()
    b.add("refund", "approve")
    b.add("refund", "edit", final={"n": 0})
    df = b.df()
    assert isinstance(df.risk.dtype, pd.CategoricalDtype)
    assert df.risk.isna().all()
    table = analysis.rates(df, "risk").set_index(["risk", "decision"])
    assert table.loc[("(none)", "edit"), ["count", "n"]].tolist() == [1, 2]
    summary = analysis.edit_summary(df, "risk").set_index("risk")
    assert summary.loc["(none)", ["reviewed", "edits"]].tolist() == [2, 1]


def test_rates_by_gate_count_a_row_under_each_gate_that_fired():
    b = Builder()
    b.add("refund", "approve", gate="threshold, confidence", confidence=0.9)
    b.add("refund", "reject", gate="threshold, confidence", confidence=0.4)
    b.add("refund", "edit", final={"n": 0}, gate="threshold", confidence=0.8)
    b.add("refund", "approve", gate="confidence", confidence=0.3)
    b.add("refund", "approve", confidence=0.7)
    df = b.df()
    table = analysis.rates(df, "gate").set_index(["gate", "decision"])
    # threshold stopped rows 1, 2, 3: approve, reject, edit; confidence rows 1, 2, 4
    assert table.loc["threshold", "count"].tolist() == [1, 1, 1, 0]
    assert table.loc["confidence", "count"].tolist() == [2, 0, 1, 0]
    assert table.loc["(none)", "count"].tolist() == [1, 0, 0, 0]
    assert table.loc[("threshold", "approve"), "n"] == 3
    assert table.loc[("confidence", "approve"), "n"] == 3
    assert sorted(set(table.index.get_level_values("gate"))) == [
        "(none)", "confidence", "threshold"]
    # the overall calibration row counts each decision once
    cal = analysis.calibration(df, by="gate").set_index("gate")
    assert cal.loc["(all)", "n"] == 5
    assert cal.loc["confidence", "n"] == 3
    assert analysis.edit_summary(df, "gate").set_index("gate").loc["threshold", "edits"] == 1
    assert analysis.report(df).rates_by_gate.equals(analysis.rates(df, "gate"))


def test_plots_take_the_log_frame_itself_or_say_what_to_pass():
    import matplotlib.pyplot as plt

    df = rates_log()
    ax = analysis.plot_rates(df, by="reviewer")
    table = analysis.rates(df, "reviewer")                  # ann, bob x 4 outcomes
    assert sorted(round(p.get_height(), 6) for p in ax.patches) == sorted(
        round(r, 6) for r in table.rate)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ann", "bob"]
    rng = np.random.default_rng(1)
    conf = rng.uniform(0, 1, 50)
    log = calibration_log(conf, conf > 0.5).df()
    ax = analysis.plot_calibration(log, bins=5)
    curve = analysis.reliability(log, 5)
    [points] = ax.collections[-1:]                           # the marker scatter
    assert points.get_offsets()[:, 0].tolist() == pytest.approx(curve.confidence.tolist())
    empty = analysis.plot_rates(df.iloc[:0])
    assert len(empty.patches) == 0
    with pytest.raises(ValueError, match=r"pass a feedback log frame .* or a rates\(df\) "
                                         r"table.*\['ci_low', 'ci_high'\]"):
        analysis.plot_rates(table.drop(columns=["ci_low", "ci_high"]))
    with pytest.raises(ValueError, match=r"or a reliability\(df\) table"):
        analysis.plot_calibration(pd.DataFrame({"x": [1.0]}))
    plt.close("all")


def test_an_edit_that_changes_nothing_is_an_approval_as_is_for_kto_and_no_dpo_pair():
    b = Builder()
    b.add("email", "approve", args={"body": "Dear"})
    b.add("email", "edit", args={"body": "Dear"}, final={"body": "Dear"})   # nothing changed
    b.add("email", "edit", args={"body": "Hi"}, final={"body": "Hello"})
    b.add("email", "reject", args={"body": "Yo"})
    df = b.df()
    kto = analysis.preference_pairs(df, "kto")
    # 4 proposals (approve, unchanged edit: as is; changed edit, reject: not), 1 correction
    assert list(zip(kto.completion, kto.label, strict=True)) == [
        ('{"body":"Dear"}', True), ('{"body":"Dear"}', True), ('{"body":"Hi"}', False),
        ('{"body":"Yo"}', False), ('{"body":"Hello"}', True)]
    dpo = analysis.preference_pairs(df, "dpo")
    assert dpo[["chosen", "rejected"]].values.tolist() == [['{"body":"Hello"}', '{"body":"Hi"}']]
    hand = hand_made_frame().drop(columns="edited")          # edited derived, not given
    hand.loc[0, "decision"] = "edit"                         # d0: final == proposed
    assert analysis.preference_pairs(hand, "kto").label.tolist()[:5] == [
        True, False, False, False, False]
