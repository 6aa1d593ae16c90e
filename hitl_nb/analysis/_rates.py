"""Approve / edit / reject / respond rates per group, with Wilson confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ._common import OUTCOMES, as_list, keyed, reviewed, wilson_interval


def rates(df: pd.DataFrame, by: str | Sequence[str] | None = "action_name", *,
          level: float = 0.95) -> pd.DataFrame:
    """One row per group and outcome: `count`, `n` (reviewed decisions in the group),
    `rate` = count / n and its Wilson interval `ci_low`..`ci_high`.

    Group by `action_name`, `gate`, `spectrum_level`, `reviewer`, or several columns.
    Missing group values (e.g. no gate) form their own group, `(none)`. By `gate`, a
    decision counts under each gate that fired ("threshold, confidence": under both), so
    a gate's `n` is every review it asked for, and the `n` of all gates can add up to
    more than the reviewed decisions. `by=None`: one set of rates over every decision.

    >>> rates(log.to_pandas(), "reviewer").query("decision == 'edit'")
    """
    keys = as_list(by)
    if not keys:  # one group of everything
        return rates(df.assign(_all="(all)"), "_all", level=level).drop(columns="_all")
    df = keyed(df, keys)
    rev = reviewed(df, [*keys, "decision"])
    counts = (rev.groupby([*keys, "decision"], observed=True, dropna=False).size()
              .unstack("decision", fill_value=0))
    counts.columns = counts.columns.astype(str)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    counts.columns.name = "decision"
    stacked: pd.Series = counts.stack()  # type: ignore[assignment]  # one column level
    long = stacked.rename("count").reset_index()
    long["n"] = long.groupby(keys, observed=True, dropna=False, sort=False)["count"].transform(
        "sum")
    long["decision"] = pd.Categorical(long["decision"], categories=list(OUTCOMES))
    long["count"] = long["count"].astype("int64")
    long["n"] = long["n"].astype("int64")
    long["rate"] = long["count"] / long["n"]
    long["ci_low"], long["ci_high"] = wilson_interval(long["count"], long["n"], level)
    return long.sort_values([*keys, "decision"], kind="stable").reset_index(drop=True)
