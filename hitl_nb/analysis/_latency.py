"""Time to decide, by action and spectrum level."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ._common import as_list, keyed, reviewed


def latency(df: pd.DataFrame,
            by: str | Sequence[str] = ("action_name", "spectrum_level")) -> pd.DataFrame:
    """Per group: `n`, `mean_s`, `median_s`, `p90_s`, `p99_s`, `max_s` of `latency_s`
    (reviewed decisions only: policy rows take no time of anyone's).

    >>> latency(df, "reviewer")
    """
    keys = as_list(by)
    rev = reviewed(keyed(df, keys), [*keys, "latency_s"])
    rev = rev[rev["latency_s"].notna().to_numpy(dtype=bool)]
    grouped = rev.groupby(keys, observed=True, dropna=False)["latency_s"]
    out = grouped.agg(n="size", mean_s="mean", median_s="median", max_s="max")
    out["p90_s"] = grouped.quantile(0.9)
    out["p99_s"] = grouped.quantile(0.99)
    out["n"] = out["n"].astype("int64")
    return out[["n", "mean_s", "median_s", "p90_s", "p99_s", "max_s"]].reset_index()
