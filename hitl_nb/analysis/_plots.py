"""Charts (matplotlib) for the analysis tables; each returns the Axes it drew on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._calibration import reliability
from ._common import OUTCOMES
from ._rates import rates

RATES_COLUMNS = ("count", "rate", "ci_low", "ci_high")
"""Columns only a `rates(...)` table has (a log frame has none of them)."""

CURVE_COLUMNS = ("bin", "bin_low", "bin_high", "approve_rate", "ci_low", "ci_high")
"""Columns only a `reliability(...)` table has."""


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _table(data: pd.DataFrame, own: Sequence[str], made_by: str) -> pd.DataFrame | None:
    """`data` when it is the `made_by(...)` table (has the columns `own`), None when it is a
    feedback log frame (has none of them, and `decision`); else a ValueError saying what
    to pass."""
    present = [c for c in own if c in data.columns]
    if len(present) == len(own):
        return data
    if not present and "decision" in data.columns:
        return None
    missing = [c for c in own if c not in data.columns]
    raise ValueError(f"pass a feedback log frame (FeedbackLog.to_pandas()) or a "
                     f"{made_by}(df) table; this frame has neither a `decision` column nor "
                     f"the table's {missing} (columns: {list(data.columns)})")


def plot_rates(data: pd.DataFrame, *, by: str | Sequence[str] = "action_name",
               outcomes: Sequence[str] = OUTCOMES, ax: Any = None) -> Any:
    """Grouped bars of a `rates(...)` table with Wilson-interval error bars; given the
    feedback log frame itself, of `rates(data, by)`.

    >>> plot_rates(rates(df, "reviewer"))       # or plot_rates(df, by="reviewer")
    """
    table = _table(data, RATES_COLUMNS, "rates")
    if table is None:
        table = rates(data, by)
    keys = [c for c in table.columns
            if c not in ("decision", "count", "n", "rate", "ci_low", "ci_high")]
    ax = _axes(ax, (8, 3.5))
    groups = table[keys].astype(str).agg(" / ".join, axis=1) if keys else pd.Series(
        "all", index=table.index)
    order = list(dict.fromkeys(groups))
    x = np.arange(len(order))
    width = 0.8 / max(1, len(outcomes))
    for i, outcome in enumerate(outcomes):
        part = table[(table["decision"].astype(str) == outcome).to_numpy(dtype=bool)]
        where = groups[part.index].map({g: k for k, g in enumerate(order)}).to_numpy()
        rate = part["rate"].to_numpy(dtype=float)
        err = np.vstack([rate - part["ci_low"].to_numpy(dtype=float),
                         part["ci_high"].to_numpy(dtype=float) - rate])
        ax.bar(where + (i - (len(outcomes) - 1) / 2) * width, rate, width, yerr=err,
               capsize=2, label=outcome)
    ax.set_xticks(x, order, rotation=20, ha="right")
    ax.set(ylabel="rate (95% Wilson CI)", ylim=(0, 1), title=f"Decisions by {' / '.join(keys)}")
    ax.legend(ncols=len(outcomes), fontsize="small")
    return ax


def plot_calibration(data: pd.DataFrame, *, by: str | Sequence[str] | None = None,
                     bins: int = 10, ax: Any = None) -> Any:
    """A `reliability(...)` table: approve rate (Wilson CI) vs mean confidence per bin,
    marker area by count, the diagonal for perfect calibration; one line per group when
    the table was grouped (`by=`). Given the feedback log frame itself, of
    `reliability(data, bins, by=by)`.

    >>> plot_calibration(reliability(df, by="action_name"))   # or plot_calibration(df)
    """
    table = _table(data, CURVE_COLUMNS, "reliability")
    if table is None:
        table = reliability(data, bins, by=by)
    ax = _axes(ax, (4.5, 4.5))
    keys = [c for c in table.columns if c not in ("bin", "bin_low", "bin_high", "n",
                                                   "confidence", "approve_rate", "ci_low",
                                                   "ci_high")]
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    parts = table.groupby(keys, observed=True, dropna=False) if keys else [("all", table)]
    scale = 300 / max(1, int(table["n"].max()) if len(table) else 1)
    for name, part in parts:
        conf = part["confidence"].to_numpy(dtype=float)
        rate = part["approve_rate"].to_numpy(dtype=float)
        err = np.vstack([rate - part["ci_low"].to_numpy(dtype=float),
                         part["ci_high"].to_numpy(dtype=float) - rate])
        label = " / ".join(map(str, name)) if isinstance(name, tuple) else str(name)
        line = ax.errorbar(conf, rate, yerr=err, marker="", capsize=2, label=label)
        ax.scatter(conf, rate, s=np.maximum(10, part["n"].to_numpy() * scale),
                   color=line[0].get_color(), alpha=0.7)
    ax.set(xlabel="agent confidence", ylabel="approved without edit", xlim=(0, 1),
           ylim=(0, 1), title="Reliability")
    ax.legend(fontsize="small")
    return ax


def plot_learning_curves(curves: pd.DataFrame,
                         metrics: Sequence[str] = ("edit_rate", "reject_rate"), *,
                         window: int = 5, ax: Any = None) -> Any:
    """Per-episode rates of `run_experiment(...)` (columns `episode`, `variant`, metrics),
    smoothed with a rolling mean over `window` episodes; one line per variant and metric
    (a frame without `variant` is one variant)."""
    missing = [c for c in ("episode", *metrics) if c not in curves.columns]
    if missing:
        raise ValueError(f"plot_learning_curves needs the columns {missing}; it plots "
                         f"run_experiment(...) output, got columns {list(curves.columns)}.")
    if "variant" not in curves.columns:
        curves = curves.assign(variant="")
    ax = _axes(ax, (7, 3.2))
    styles = ["-", "--", ":", "-."]
    for (variant, part), color in zip(curves.groupby("variant", sort=True),
                                      ["tab:red", "tab:blue", "tab:green", "tab:purple"],
                                      strict=False):
        for metric, style in zip(metrics, styles, strict=False):
            label = ", ".join(filter(None, [metric.replace("_", " "), str(variant)]))
            ax.plot(part["episode"], part[metric].rolling(window, min_periods=1).mean(),
                    ls=style, color=color, label=label)
    ax.set(xlabel="episode", ylabel=f"rate (rolling {window})", ylim=(-0.05, 1.05),
           title="Corrections needed per episode")
    ax.legend(fontsize="small")
    return ax
