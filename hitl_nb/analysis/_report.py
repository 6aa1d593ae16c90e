"""Every analysis in one call."""

from __future__ import annotations

from dataclasses import dataclass, fields
from html import escape

import pandas as pd

from ._agreement import agreement_of, pairwise_of, ratings
from ._calibration import calibration, reliability, suggest_thresholds
from ._common import log_frame, reviewed
from ._edits import edit_summary, edited_fields
from ._latency import latency
from ._rates import rates

USED = ("decision_id", "request_id", "action_name", "spectrum_level", "gate", "reviewer",
        "source", "decision", "confidence", "edited", "patch", "proposed_args", "final_args",
        "edit_distance", "latency_s")


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """The tables of `report(df)`, each a DataFrame (see the function of the same name)."""

    rates_by_action: pd.DataFrame
    rates_by_gate: pd.DataFrame
    rates_by_level: pd.DataFrame
    rates_by_reviewer: pd.DataFrame
    edit_summary: pd.DataFrame
    edited_fields: pd.DataFrame
    reliability: pd.DataFrame
    calibration: pd.DataFrame
    thresholds: pd.DataFrame
    agreement: pd.DataFrame
    pairwise_kappa: pd.DataFrame
    latency: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table, in reading order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def _repr_html_(self) -> str:
        # to_html escapes cell text: reviewer names and fields are user content
        return "".join(f"<h4>{escape(name)}</h4>{table.to_html(index=False, max_rows=20)}"
                       for name, table in self.tables().items())

    def __str__(self) -> str:
        return "\n\n".join(f"== {name} ==\n{table.to_string(index=False, max_rows=20)}"
                           for name, table in self.tables().items())


def report(df: pd.DataFrame, *, target: float = 0.05, bins: int = 10,
           level: float = 0.95) -> Report:
    """Rates with Wilson intervals (by action, gate, level, reviewer), edit sizes and most
    edited fields, reliability curve, Brier/ECE, suggested auto-approve thresholds at
    error `target`, reviewer agreement and latency, from one `to_pandas()` frame.

    >>> r = report(hitl_nb.log().to_pandas())
    >>> r.thresholds
    """
    # one pass to the reviewed rows and the columns the tables read
    df = log_frame(df, USED)
    df = reviewed(df, [c for c in USED if c in df.columns])
    table = ratings(df)
    return Report(
        rates_by_action=rates(df, "action_name", level=level),
        rates_by_gate=rates(df, "gate", level=level),
        rates_by_level=rates(df, "spectrum_level", level=level),
        rates_by_reviewer=rates(df, "reviewer", level=level),
        edit_summary=edit_summary(df, "action_name"),
        edited_fields=edited_fields(df, "action_name"),
        reliability=reliability(df, bins, level=level),
        calibration=calibration(df, "action_name", bins),
        thresholds=suggest_thresholds(df, target, "action_name", level=level),
        agreement=agreement_of(table),
        pairwise_kappa=pairwise_of(table),
        latency=latency(df, ["action_name", "spectrum_level"]),
    )
