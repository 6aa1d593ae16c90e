"""How big edits are and which fields reviewers edit most.

A field counts as edited when its top-level value differs between the proposed and the
final arguments (read from the log's JSON patch). For text fields (both values strings)
the size is the Levenshtein distance (rapidfuzz, computed in C over all pairs at once);
for any field it is the number of JSON-patch operations under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._common import as_list, keyed, log_frame, reviewed

CONTEXT = ("decision_id", "request_id", "action_name", "spectrum_level", "gate", "reviewer")
"""Columns of the log copied onto each `edit_sizes` row."""


def _field(path: str) -> str:
    top = path.split("/", 2)[1] if path.count("/") else path
    return top.replace("~1", "/").replace("~0", "~")


def _edited(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    rev = reviewed(df, [*columns, "edited"])
    return rev.loc[rev["edited"].to_numpy(dtype=bool), list(dict.fromkeys(columns))]


def field_edits(df: pd.DataFrame) -> pd.DataFrame:
    """One row per edited decision and top-level field: `field`, `ops` (JSON-patch
    operations under it), `before`/`after` values, and `text_distance` (Levenshtein, NaN
    unless both values are strings)."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cpdist

    edited = _edited(df, ["patch", "proposed_args", "final_args"])
    ops = edited["patch"].explode().dropna()
    if ops.empty:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "field": pd.Series(dtype=str),
                             "ops": pd.Series(dtype="int64"),
                             "before": pd.Series(dtype=object), "after": pd.Series(dtype=object),
                             "text_distance": pd.Series(dtype="float64")})
    paths = pd.Series([op.get("path", "") for op in ops], index=ops.index)
    fields = pd.DataFrame({"row": ops.index, "field": paths.map(_field).to_numpy()})
    counted = fields.groupby(["row", "field"], sort=False).size().rename("ops").reset_index()
    proposed = edited["proposed_args"].reindex(counted["row"]).to_numpy()
    final = edited["final_args"].reindex(counted["row"]).to_numpy()
    names = counted["field"].to_numpy()
    # Per-field lookups into the JSON columns are plain dict reads; the distances below
    # are computed by rapidfuzz for all text pairs in one call.
    before = [a.get(f) if isinstance(a, dict) else None for a, f in zip(proposed, names,
                                                                      strict=True)]
    after = [a.get(f) if isinstance(a, dict) else None for a, f in zip(final, names,
                                                                     strict=True)]
    counted["before"] = pd.Series(before, dtype=object)
    counted["after"] = pd.Series(after, dtype=object)
    text = np.fromiter((isinstance(b, str) and isinstance(a, str)
                        for b, a in zip(before, after, strict=True)), dtype=bool,
                       count=len(before))
    distance = np.full(len(counted), np.nan)
    if text.any():
        pick = np.flatnonzero(text)
        distance[pick] = cpdist([before[i] for i in pick], [after[i] for i in pick],
                                scorer=Levenshtein.distance, workers=1)
    counted["text_distance"] = distance
    counted["ops"] = counted["ops"].astype("int64")
    return counted


def edit_sizes(df: pd.DataFrame) -> pd.DataFrame:
    """One row per edited decision (`CONTEXT` columns, then): `patch_ops` (JSON-patch
    size), `fields` edited, `text_distance` (summed over text fields; NaN if none),
    `args_distance` (the log's Levenshtein distance between the canonical JSON of the
    proposed and final args).

    >>> edit_sizes(df).groupby("action_name").patch_ops.mean()
    """
    df = log_frame(df)  # once, for both reads below
    edited = _edited(df, [*CONTEXT, "patch", "edit_distance"])
    per_field = field_edits(df)
    grouped = per_field.groupby("row")
    per_row = pd.DataFrame({"fields": grouped.size(),
                            "text_distance": grouped["text_distance"].sum(min_count=1)})
    out = pd.DataFrame({
        **{c: edited[c] for c in CONTEXT},
        "patch_ops": edited["patch"].map(len).astype("int64"),
        "fields": per_row["fields"].reindex(edited.index).fillna(0).astype("int64"),
        "text_distance": per_row["text_distance"].reindex(edited.index).astype("float64"),
        "args_distance": edited["edit_distance"].astype("float64"),
    })
    return out.reset_index(drop=True)


def edit_summary(df: pd.DataFrame, by: str | Sequence[str] = "action_name") -> pd.DataFrame:
    """Per group: `edits`, `reviewed`, `edit_share` and the mean/median edit sizes."""
    keys = as_list(by)
    df = keyed(df, keys)
    sizes = edit_sizes(df)
    rev = reviewed(df, [*keys, "edited"])
    for k in keys:
        if k not in sizes.columns:
            sizes[k] = rev.loc[rev["edited"].to_numpy(dtype=bool), k].to_numpy()
    totals = rev.groupby(keys, observed=True, dropna=False).size().rename("reviewed")
    agg: dict[str, Any] = {
        "edits": ("patch_ops", "size"), "patch_ops_mean": ("patch_ops", "mean"),
        "patch_ops_median": ("patch_ops", "median"), "fields_mean": ("fields", "mean"),
        "text_distance_mean": ("text_distance", "mean"),
        "text_distance_median": ("text_distance", "median"),
        "args_distance_mean": ("args_distance", "mean")}
    summary = sizes.groupby(keys, observed=True, dropna=False).agg(**agg)
    out = pd.concat([totals, summary], axis=1)
    out["edits"] = out["edits"].fillna(0).astype("int64")
    out["edit_share"] = out["edits"] / out["reviewed"]
    first = ["reviewed", "edits", "edit_share"]
    ordered: pd.DataFrame = out[first + [c for c in out.columns if c not in first]]
    return ordered.reset_index()


def edited_fields(df: pd.DataFrame, by: str | Sequence[str] = "action_name") -> pd.DataFrame:
    """Which fields get edited most, per group: `edits` (decisions that changed the
    field), `share_of_edits` (of the group's edited decisions), mean/median
    `text_distance`; most edited first."""
    keys = as_list(by)
    df = keyed(df, keys)
    per_field = field_edits(df)
    edited = _edited(df, keys)
    for k in keys:
        per_field[k] = edited[k].reindex(per_field["row"]).to_numpy()
    n_edited = edited.groupby(keys, observed=True, dropna=False).size().rename("edited")
    out = per_field.groupby([*keys, "field"], observed=True, dropna=False).agg(
        edits=("row", "size"), text_distance_mean=("text_distance", "mean"),
        text_distance_median=("text_distance", "median")).reset_index()
    out = out.merge(n_edited.reset_index(), on=keys, how="left")
    out["share_of_edits"] = out["edits"] / out["edited"]
    out = out[[*keys, "field", "edits", "edited", "share_of_edits", "text_distance_mean",
               "text_distance_median"]]
    return out.sort_values([*keys, "edits"], ascending=[True] * len(keys) + [False],
                           kind="stable").reset_index(drop=True)
