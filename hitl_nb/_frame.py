"""Any DataFrame shaped like a feedback log, made ready for `hitl_nb.analysis` and pairs.

`FeedbackLog.to_pandas()` and `hitl_nb.read_parquet` give the full typed frame; analysts
also bring frames built by hand, exported by older versions, or read with plain
`pd.read_parquet` (JSON columns as text). `log_frame` is the one place that turns any of
these into what the analysis reads, so no analysis function checks or derives on its own.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._diff import args_distance, log_patch
from ._log import COLUMNS, FLOAT_COLUMNS, JSON_COLUMNS
from ._schema import ACTIONS

OUTCOMES: tuple[str, ...] = ACTIONS
"""The reviewer outcomes analysed: approve, edit, reject, respond (policy `auto` and
`timeout` rows are nobody's judgement and are left out)."""

ARGS = ("proposed_args", "final_args")
DERIVED = ("source", "edited", "patch", "edit_distance", "latency_s")
"""Columns `log_frame` computes when a frame lacks them (the rest are filled as missing)."""


def log_frame(df: pd.DataFrame, columns: Sequence[str] = ()) -> pd.DataFrame:
    """`df` ready for the analysis, with the log columns in `columns`; a `to_pandas()`
    frame comes back as it is (no copy).

    What a frame lacks is derived the way `FeedbackLog.record` derives it:

    - JSON text in `proposed_args` / `final_args` / `patch` (a `to_parquet` export read
      with plain `pd.read_parquet`) is decoded;
    - `source` missing: every row is a reviewer's decision (`human`);
    - `edited`, `patch`, `edit_distance` missing: from `proposed_args` and `final_args`
      (without them `edited` is `decision == "edit"` and edit sizes stay unknown);
    - `latency_s` missing: `decided_at - requested_at`;
    - any other log column in `columns` that is missing (`gate`, `spectrum_level`,
      `preview`, ...): missing values, so grouping by it gives one group;
    - an index with repeated labels (`pd.concat([df1, df2])` of two logs): renumbered
      0..n-1, since the analysis aligns columns by index label.

    Only `decision` is required.

    >>> log_frame(pd.read_parquet("log.parquet")).final_args[0]     # a dict again
    """
    if "decision" not in df.columns:
        raise ValueError("a feedback log frame needs a `decision` column (approve / edit / "
                         "reject / respond ...); use FeedbackLog.to_pandas() or "
                         "hitl_nb.read_parquet(path).")
    if not df.index.is_unique:
        df = df.reset_index(drop=True)
    wanted = columns
    added: dict[str, Any] = {col: _decoded(df[col]) for col in JSON_COLUMNS
                             if col in df.columns and _is_json_text(df[col])}
    present = {**{c: df[c] for c in df.columns}, **added}
    for name in DERIVED:
        if name not in present and (value := _derive(name, present)) is not None:
            added[name] = present[name] = value
    for name in wanted:
        if name in COLUMNS and name not in present and name not in (*ARGS, "patch",
                                                                    "edit_distance"):
            added[name] = present[name] = pd.Series(
                np.nan, index=df.index, dtype="float64" if name in FLOAT_COLUMNS else object)
    return df.assign(**added) if added else df


def reviewed(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows a reviewer (human or simulated) decided: `decision` in `OUTCOMES`, `source` not
    `policy`; only `columns` if given (copying a few columns of a million rows beats
    copying all). Any log-shaped frame (`log_frame`)."""
    df = log_frame(df, columns or ())
    missing = [c for c in (columns or ()) if c not in df.columns]
    if missing:
        hint = (" (edits are measured from proposed_args and final_args)"
                if {"patch", "edit_distance", *ARGS} & set(missing) else "")
        raise ValueError(f"no column {missing} in the frame{hint}; columns are "
                         f"{list(df.columns)}")
    mask = (df["decision"].isin(OUTCOMES) & (df["source"] != "policy")).to_numpy(dtype=bool)
    if mask.all():
        return df if columns is None else df[list(dict.fromkeys(columns))]
    return df.loc[mask, list(dict.fromkeys(columns)) if columns is not None else df.columns]


def accepted_row(decision: Any, edited: Any) -> bool:
    """`accepted_as_proposed` for one log row (the live trust card reads rows)."""
    return decision == "approve" or (decision == "edit" and not edited)


def accepted_as_proposed(decision: pd.Series, edited: pd.Series) -> pd.Series:
    """True where the reviewer took the proposal as it was: an approval, or an edit that
    changed nothing. One rule for calibration, thresholds, the trust card and KTO labels."""
    decision = decision.astype(str)
    return (decision == "approve") | ((decision == "edit") & ~edited.astype(bool))


def _is_json_text(values: pd.Series) -> bool:
    """The column holds JSON text (judged by its first value that is not missing)."""
    if values.dtype != object:  # pandas' string dtype: text
        return pd.api.types.is_string_dtype(values.dtype)
    # the first few values settle it without a pass over a million rows
    for value in values.iloc[:64]:
        if isinstance(value, str | dict | list):
            return isinstance(value, str)
    first = values.first_valid_index()
    return first is not None and isinstance(values[first], str)


def _decoded(values: pd.Series) -> pd.Series:
    return pd.Series([_parsed(v, values.name, i) if isinstance(v, str) else v
                      for i, v in values.items()], index=values.index, dtype=object)


def _parsed(text: str, column: Any, row: Any) -> Any:
    """One cell of text: JSON (a parquet export), else a Python literal (`df.to_csv` writes
    dicts as their repr; `literal_eval` reads literals only, never runs code)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(
            f"{column} in row {row!r} is neither JSON nor a Python literal ({text!r:.60}): "
            f"{exc}. Save logs with FeedbackLog.to_parquet and read them with "
            "hitl_nb.read_parquet, or write CSV with the argument columns as JSON text "
            "(df[col].map(json.dumps)).") from None


def _derive(name: str, columns: dict[str, pd.Series]) -> pd.Series | None:
    """Column `name` computed from the others, or None when they are missing too."""
    index = columns["decision"].index
    has_args = all(c in columns for c in ARGS)
    if name == "source":
        return pd.Series("human", index=index, dtype=object)
    if name == "edited":
        if has_args:
            return pd.Series([p != f for p, f in zip(columns["proposed_args"],
                                                     columns["final_args"], strict=True)],
                             index=index, dtype=bool)
        return (columns["decision"].astype(object) == "edit").astype(bool)
    if not has_args and name in ("patch", "edit_distance"):
        return None
    if name in ("patch", "edit_distance"):
        pairs = zip(columns["proposed_args"], columns["final_args"], columns["edited"],
                    strict=True)
        if name == "patch":
            return pd.Series([log_patch(p, f) if e else [] for p, f, e in pairs],
                             index=index, dtype=object)
        return pd.Series([args_distance(p, f) if e else np.nan for p, f, e in pairs],
                         index=index, dtype="float64")
    if name == "latency_s" and "requested_at" in columns and "decided_at" in columns:
        asked = pd.to_datetime(columns["requested_at"], utc=True, format="ISO8601")
        decided = pd.to_datetime(columns["decided_at"], utc=True, format="ISO8601")
        return (decided - asked).dt.total_seconds()
    return None
