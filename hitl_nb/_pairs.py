"""Preference pairs for training from the feedback log: DPO and KTO formats.

DPO (`prompt`, `chosen`, `rejected`): one pair per edit, chosen = the human-corrected
arguments, rejected = the agent's original. KTO (`prompt`, `completion`, `label`): every
reviewed proposal labelled by whether it was approved as is, plus each human correction
labelled desirable. Completions are canonical JSON of the arguments; the default prompt
names the action and the agent's stated reason (pass `prompts={request_id: text}` to use
the real conversation instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from ._schema import canonical_json

PairFormat = Literal["dpo", "kto"]


def _prompts(df: pd.DataFrame, prompts: Mapping[str, str] | None) -> pd.Series:
    default = ("Propose the JSON arguments for the tool call `" + df["action_name"].astype(str)
               + "`." + df["preview"].fillna("").map(lambda p: f"\nContext: {p}" if p else ""))
    if not prompts:
        return default
    return df["request_id"].map(prompts).fillna(default)


def preference_pairs(df: pd.DataFrame, format: PairFormat = "dpo", *,
                     prompts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Training rows from a `FeedbackLog.to_pandas()` frame (policy rows are skipped)."""
    if format not in ("dpo", "kto"):
        raise ValueError(f"format must be 'dpo' or 'kto', got {format!r}")
    reviewed = df[df["source"].astype(str) != "policy"]
    reviewed = reviewed[reviewed["decision"].astype(str).isin(["approve", "edit", "reject",
                                                                "respond"])]
    prompt = _prompts(reviewed, prompts)
    proposed = reviewed["proposed_args"].map(canonical_json)
    final = reviewed["final_args"].map(canonical_json)
    if format == "dpo":
        edited = reviewed["edited"].astype(bool)
        return pd.DataFrame({"prompt": prompt[edited], "chosen": final[edited],
                             "rejected": proposed[edited],
                             "request_id": reviewed["request_id"][edited]}).reset_index(drop=True)
    as_is = pd.DataFrame({"prompt": prompt, "completion": proposed,
                          "label": reviewed["decision"].astype(str) == "approve",
                          "request_id": reviewed["request_id"]})
    edited = reviewed["edited"].astype(bool)
    corrected = pd.DataFrame({"prompt": prompt[edited], "completion": final[edited],
                              "label": True, "request_id": reviewed["request_id"][edited]})
    return pd.concat([as_is, corrected], ignore_index=True)


def write_pairs(pairs: pd.DataFrame, path: str | Path) -> Path:
    """Write pair rows as `.jsonl` (one JSON object per line) or `.parquet`, by suffix; both
    load with Hugging Face `datasets.load_dataset("json" | "parquet", data_files=path)`."""
    path = Path(path)
    if path.suffix == ".jsonl":
        pairs.to_json(path, orient="records", lines=True, force_ascii=False)
    elif path.suffix == ".parquet":
        # object columns become arrow `string` (pandas 3's str dtype writes `large_string`,
        # which loads as a different `datasets` feature type than the JSONL file's)
        text = {c: object for c in pairs.columns if pd.api.types.is_string_dtype(pairs[c])}
        pairs.astype(text).to_parquet(path, index=False)
    else:
        raise ValueError(f"write .jsonl or .parquet, got {path.name!r}")
    return path


def write_preference_pairs(df: pd.DataFrame, path: str | Path, format: PairFormat = "dpo",
                           **kwargs: Mapping[str, str] | None) -> Path:
    """`preference_pairs(df, format)` written to `path` (see `write_pairs`)."""
    return write_pairs(preference_pairs(df, format, **kwargs), path)
