"""Reviewer agreement on items decided by several reviewers.

An item is one proposal (by default its `request_id`); each reviewer's first decision
on it is their label. Cohen's kappa (scikit-learn) for every pair of reviewers, Fleiss'
kappa (statsmodels) over items with the same number of raters, Krippendorff's alpha
(`krippendorff`, nominal) over all items with two or more raters (missing ratings allowed).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ._common import OUTCOMES, reviewed, with_columns


def ratings(df: pd.DataFrame, *, item: str = "request_id", rater: str = "reviewer",
            label: str = "decision") -> pd.DataFrame:
    """Items x raters table of labels (NaN: not rated), only items with >= 2 raters."""
    df = with_columns(df, [item, rater, label])
    rev = reviewed(df, [item, rater, label]).dropna()
    # most items are seen once: drop those first (one hash pass), then work on the rest
    rev = rev[rev[item].duplicated(keep=False).to_numpy(dtype=bool)]
    rev = rev.assign(**{label: rev[label].astype(object), rater: rev[rater].astype(object)})
    first = rev.drop_duplicates([item, rater], keep="first")
    counts = first.groupby(item, observed=True)[rater].transform("size")
    shared = first[(counts >= 2).to_numpy(dtype=bool)]
    table = shared.pivot(index=item, columns=rater, values=label)
    table.columns = table.columns.astype(object)
    return table


def _codes(table: pd.DataFrame) -> tuple[np.ndarray[Any, Any], list[Any]]:
    values = table.to_numpy(dtype=object)
    present = pd.notna(values)
    known = [o for o in OUTCOMES if (values[present] == o).any()]
    extra = sorted({str(v) for v in values[present]} - set(known))
    labels: list[Any] = known + extra
    codes = np.full(values.shape, np.nan)
    for i, lab in enumerate(labels):
        codes[values == lab] = i
    return codes, labels


def pairwise_kappa(df: pd.DataFrame, **kwargs: str) -> pd.DataFrame:
    """Cohen's kappa (`sklearn.metrics.cohen_kappa_score`) for each pair of raters on
    the items both rated: `rater_a`, `rater_b`, `n_items`, `agreement` (observed share
    of equal labels), `cohen_kappa` (NaN when undefined, e.g. one label only)."""
    return pairwise_of(ratings(df, **kwargs))


def pairwise_of(table: pd.DataFrame) -> pd.DataFrame:
    """`pairwise_kappa` from a `ratings(...)` table."""
    from sklearn.metrics import cohen_kappa_score

    codes, _ = _codes(table)
    rows = []
    for (i, a), (j, b) in combinations(enumerate(table.columns), 2):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        x, y = codes[both, i], codes[both, j]
        n = int(both.sum())
        kappa = np.nan
        if n and len(np.union1d(x, y)) > 1:
            kappa = float(cohen_kappa_score(x, y))
        rows.append({"rater_a": a, "rater_b": b, "n_items": n,
                     "agreement": float((x == y).mean()) if n else np.nan,
                     "cohen_kappa": kappa})
    return pd.DataFrame(rows, columns=["rater_a", "rater_b", "n_items", "agreement",
                                       "cohen_kappa"])


def fleiss(table: pd.DataFrame) -> tuple[float, int, int]:
    """Fleiss' kappa (statsmodels) over the items rated by the most common number of
    raters (it needs the same count per item); returns (kappa, items, raters per item)."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    codes, labels = _codes(table)
    per_item = (~np.isnan(codes)).sum(axis=1)
    if not len(per_item):
        return np.nan, 0, 0
    m = int(np.bincount(per_item).argmax())
    use = codes[per_item == m]
    counts = np.stack([(use == k).sum(axis=1) for k in range(len(labels))], axis=1)
    if len(labels) < 2 or len(use) < 2:
        return np.nan, len(use), m
    return float(fleiss_kappa(counts, method="fleiss")), len(use), m


def krippendorff_alpha(table: pd.DataFrame) -> float:
    """Krippendorff's alpha, nominal, raters x items with missing ratings (`krippendorff`)."""
    import krippendorff

    codes, labels = _codes(table)
    if len(labels) < 2 or codes.shape[0] < 1:
        return np.nan
    return float(krippendorff.alpha(reliability_data=codes.T,
                                    level_of_measurement="nominal"))


def agreement(df: pd.DataFrame, **kwargs: str) -> pd.DataFrame:
    """Agreement summary: one row per `metric` with `value`, `n_items`, `n_raters`.

    Metrics: `percent_agreement` (mean over rater pairs, weighted by shared items),
    `cohen_kappa` (mean over rater pairs, weighted by shared items; with exactly two
    raters it is their kappa), `fleiss_kappa`, `krippendorff_alpha`.

    >>> agreement(df)                 # items = request_id, raters = reviewer
    """
    return agreement_of(ratings(df, **kwargs))


def agreement_of(table: pd.DataFrame) -> pd.DataFrame:
    """`agreement` from a `ratings(...)` table."""
    pairs = pairwise_of(table)
    n_items, n_raters = table.shape
    rated = pairs[pairs["n_items"] > 0]
    kappas = rated.dropna(subset=["cohen_kappa"])
    weighted_agreement = (np.average(rated["agreement"], weights=rated["n_items"])
                          if len(rated) else np.nan)
    weighted_kappa = (np.average(kappas["cohen_kappa"], weights=kappas["n_items"])
                      if len(kappas) else np.nan)
    fk, fk_items, fk_raters = fleiss(table)
    return pd.DataFrame([
        {"metric": "percent_agreement", "value": float(weighted_agreement),
         "n_items": n_items, "n_raters": n_raters},
        {"metric": "cohen_kappa", "value": float(weighted_kappa), "n_items": n_items,
         "n_raters": n_raters},
        {"metric": "fleiss_kappa", "value": fk, "n_items": fk_items, "n_raters": fk_raters},
        {"metric": "krippendorff_alpha", "value": krippendorff_alpha(table),
         "n_items": n_items, "n_raters": n_raters},
    ])
