"""Shared pieces: the frame every function reads (`log_frame`: any log-shaped DataFrame,
what it lacks derived in one place), which rows count as reviewed, the group keys
(`keyed`), the Wilson interval."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from .._frame import OUTCOMES, log_frame, reviewed

__all__ = ["GATE_SEPARATOR", "NONE", "OUTCOMES", "as_list", "keyed", "log_frame", "reviewed",
           "wilson_interval", "with_columns", "z_value"]

NONE = "(none)"
"""The group of rows without a value for a text key (no gate, no reviewer, ...)."""

GATE_SEPARATOR = ", "
"""How the log's `gate` column joins the gates that fired (`Verdict.gate`)."""


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence `level` (0.95 -> 1.95996...)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level!r}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(successes: Any, n: Any, level: float = 0.95
                    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Wilson score interval for `successes` out of `n` (arrays; NaN where n == 0).

    >>> low, high = wilson_interval(8, 10)     # (0.4902, 0.9433)
    """
    k = np.asarray(successes, dtype="float64")
    m = np.asarray(n, dtype="float64")
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denom = 1 + z * z / m
        center = (p + z * z / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
        # exact ends at k == 0 and k == n (the formula gives them up to rounding)
        low = np.where(k == 0, 0.0, np.clip(center - half, 0.0, 1.0))
        high = np.where(k == m, 1.0, np.clip(center + half, 0.0, 1.0))
        low = np.where(m > 0, low, np.nan)
        high = np.where(m > 0, high, np.nan)
    return low, high


def as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def with_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`log_frame(df, columns)`, checked to have `columns` (a ValueError names the
    missing ones)."""
    df = log_frame(df, columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"no column {missing} in the frame; columns are {list(df.columns)}")
    return df


def keyed(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """`with_columns(df, keys)` ready to group by `keys`:

    - by `gate`, a row counts under each gate that fired ("threshold, confidence" is a
      row of `threshold` and a row of `confidence`), so a gate's group holds every
      request it stopped;
    - a missing value of a text or category key is `NONE`, its own group that sorts,
      merges and prints like any other (a numeric or time key keeps NaN / NaT: a label
      would not sort among its values).
    """
    df = with_columns(df, keys)
    if "gate" in keys:
        df = _per_gate(df)
    labelled = {k: _labelled(df[k]) for k in keys
                if _is_text(df[k]) and df[k].isna().to_numpy(dtype=bool).any()}
    return df.assign(**labelled) if labelled else df


def _per_gate(df: pd.DataFrame) -> pd.DataFrame:
    gates = df["gate"]
    if isinstance(gates.dtype, pd.StringDtype):  # the log's dtype: one vectorised pass
        combined = gates.str.contains(GATE_SEPARATOR, regex=False).fillna(False)
    else:
        combined = pd.Series([isinstance(g, str) and GATE_SEPARATOR in g for g in gates])
    if not combined.to_numpy(dtype=bool).any():  # the common case: no copy
        return df
    split = gates.astype(object).map(
        lambda g: g.split(GATE_SEPARATOR) if isinstance(g, str) else g)
    return df.assign(gate=split).explode("gate", ignore_index=True)


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype
                                                | pd.CategoricalDtype)


def _labelled(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype) and NONE not in values.cat.categories:
        values = values.cat.add_categories([NONE])
    return values.fillna(NONE)
