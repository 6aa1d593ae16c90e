"""Is the agent's confidence calibrated against reviewers approving without edits?

The event scored is "approved as proposed": an approval, or an edit that changed nothing;
a real edit, a reject or a respond counts as the agent being wrong. Rows without a
confidence are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._frame import accepted_as_proposed
from ._common import as_list, keyed, reviewed, wilson_interval


def scored(df: pd.DataFrame, keys: Sequence[str] = ()) -> pd.DataFrame:
    """Reviewed rows with a confidence: `keys`, `confidence` and `approved` (1.0 when
    approved as proposed, else 0.0)."""
    rev = reviewed(df, [*keys, "confidence", "decision", "edited"])
    rev = rev[rev["confidence"].notna().to_numpy(dtype=bool)]
    approved = accepted_as_proposed(rev["decision"], rev["edited"])
    return rev.assign(approved=approved.to_numpy(dtype="float64")
                      ).drop(columns=[c for c in ("decision", "edited") if c not in keys])


def _bins(confidence: pd.Series, bins: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Equal-width bin of each confidence, by scikit-learn's `calibration_curve` rule: bin
    k holds (k/bins, (k+1)/bins], the first bin also 0 (so 0.5 is in the bin ending at
    0.5, and 1.0 in the last)."""
    if bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    inner_edges = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    out: np.ndarray[Any, np.dtype[np.int64]] = np.searchsorted(
        inner_edges, confidence.to_numpy(dtype="float64")).astype(np.int64)
    return out


def reliability(df: pd.DataFrame, bins: int = 10, *, by: str | Sequence[str] | None = None,
                level: float = 0.95) -> pd.DataFrame:
    """The reliability curve: per confidence bin (equal width; bin k is (k/bins,
    (k+1)/bins], the first also holds 0, as in scikit-learn's `calibration_curve`), `n`,
    mean `confidence`, `approve_rate` (approved without edit) and its Wilson interval.

    >>> reliability(df, bins=10)        # perfectly calibrated: approve_rate == confidence
    """
    keys = as_list(by)
    s = scored(keyed(df, keys), keys)
    s = s.assign(bin=_bins(s["confidence"], bins))
    out = s.groupby([*keys, "bin"], observed=True, dropna=False).agg(
        n=("approved", "size"), confidence=("confidence", "mean"),
        approved=("approved", "sum")).reset_index()
    out["bin_low"] = out["bin"] / bins
    out["bin_high"] = (out["bin"] + 1) / bins
    out["approve_rate"] = out["approved"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["approved"], out["n"], level)
    out["n"] = out["n"].astype("int64")
    return out[[*keys, "bin", "bin_low", "bin_high", "n", "confidence", "approve_rate",
                "ci_low", "ci_high"]]


def calibration(df: pd.DataFrame, by: str | Sequence[str] | None = "action_name",
                bins: int = 10) -> pd.DataFrame:
    """Per group and overall (`(all)`): `n`, mean `confidence`, `approve_rate`,
    `brier` = mean((confidence - approved)^2) and `ece` = sum over bins of
    n_bin / n * |approve_rate_bin - confidence_bin| over the bins of `reliability`.
    The overall row counts each decision once, also when it counts under several gates
    (`by="gate"`)."""
    keys = as_list(by)
    overall = _scores(scored(df).assign(_all="(all)"), ["_all"], bins).drop(columns="_all")
    for k in keys:
        overall[k] = "(all)"
    frames = [overall]
    if keys:
        grouped = _scores(scored(keyed(df, keys), keys), keys, bins)
        frames.insert(0, grouped.astype(dict.fromkeys(keys, object)))
    out = pd.concat(frames, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    return out[[*keys, "n", "confidence", "approve_rate", "brier", "ece"]]


def _scores(s: pd.DataFrame, keys: list[str], bins: int) -> pd.DataFrame:
    """`calibration`'s columns per group of `keys` of scored rows `s`."""
    s = s.assign(bin=_bins(s["confidence"], bins), sq=(s["confidence"] - s["approved"]) ** 2)
    per_bin = s.groupby([*keys, "bin"], observed=True, dropna=False).agg(
        n=("approved", "size"), conf=("confidence", "sum"), hit=("approved", "sum"))
    gap = (per_bin["hit"] - per_bin["conf"]).abs()  # n_bin * |rate_bin - conf_bin|
    totals = s.groupby(keys, observed=True, dropna=False).agg(
        n=("approved", "size"), confidence=("confidence", "mean"),
        approve_rate=("approved", "mean"), brier=("sq", "mean"))
    # dropna=False: a numeric key's NaN group gets its ECE too
    totals["ece"] = gap.groupby(level=list(range(len(keys))), dropna=False).sum() / totals["n"]
    return totals.reset_index()


def suggest_thresholds(df: pd.DataFrame, target: float = 0.05,
                       by: str | Sequence[str] = "action_name", *, level: float = 0.95,
                       min_n: int = 20) -> pd.DataFrame:
    """A suggested auto-approve threshold per group, with its estimated error rate.

    Rule: auto-approving every proposal with confidence >= t would have let through the
    ones reviewers edited, rejected or answered instead (the errors). For each distinct
    confidence t, count n(t) proposals at or above it and e(t) errors among them. The
    suggestion is the **lowest** t (most automation) with n(t) >= `min_n` whose upper
    Wilson bound of e(t)/n(t) at `level` is <= `target`, so the error rate among
    auto-approved proposals is below `target` with that confidence (optimistic by the
    number of thresholds tried; re-check on fresh data). No such t: `threshold` is NaN.

    Columns: `n` (scored decisions in the group), `threshold`, `n_auto`, `coverage`
    (share auto-approved), `error_rate`, `error_upper`, `target`.
    """
    if not 0 < target < 1:
        raise ValueError(f"target is an error rate in (0, 1), e.g. 0.05; got {target!r}")
    keys = as_list(by)
    s = scored(keyed(df, keys), keys)
    if not keys:
        s = s.assign(_all="(all)")
        keys_used = ["_all"]
    else:
        keys_used = keys
    s = s.assign(wrong=1.0 - s["approved"]).sort_values(
        [*keys_used, "confidence"], ascending=[True] * len(keys_used) + [False], kind="stable")
    grouped = s.groupby(keys_used, observed=True, dropna=False, sort=False)
    s = s.assign(n_auto=grouped.cumcount() + 1, errors=grouped["wrong"].cumsum())
    # A threshold admits every row with that confidence: the candidate at t is the last
    # row of its run of ties, whose running counts hold all of them (grouping, not
    # comparing neighbours: NaN keys never compare equal).
    cand = s.groupby([*keys_used, "confidence"], observed=True, dropna=False,
                     sort=False).tail(1).copy()
    cand["error_rate"] = cand["errors"] / cand["n_auto"]
    _, cand["error_upper"] = wilson_interval(cand["errors"], cand["n_auto"], level)
    ok = cand[(cand["error_upper"] <= target).to_numpy(dtype=bool)
              & (cand["n_auto"] >= min_n).to_numpy(dtype=bool)]
    best = ok.loc[ok.groupby(keys_used, observed=True, dropna=False)["n_auto"].idxmax()]
    totals = s.groupby(keys_used, observed=True, dropna=False).size().rename("n").reset_index()
    out = totals.merge(best[[*keys_used, "confidence", "n_auto", "error_rate", "error_upper"]]
                       .rename(columns={"confidence": "threshold"}), on=keys_used, how="left")
    out["n_auto"] = out["n_auto"].fillna(0).astype("int64")
    out["coverage"] = out["n_auto"] / out["n"]
    out["target"] = target
    out["n"] = out["n"].astype("int64")
    if not keys:
        out = out.drop(columns="_all")
    return out[[*keys, "n", "threshold", "n_auto", "coverage", "error_rate", "error_upper",
                "target"]]
