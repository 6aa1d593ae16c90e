"""Preference pairs for training from the feedback log: DPO and KTO formats.

DPO (`prompt`, `chosen`, `rejected`): one pair per edit, chosen = the human-corrected
arguments, rejected = the agent's original. KTO (`prompt`, `completion`, `label`): every
reviewed proposal labelled by whether it was approved as is (an approval, or an edit that
changed nothing), plus each human correction labelled desirable. Completions are
canonical JSON of the arguments; the default prompt names the action and adds the
preview the reviewer saw (pass `prompts={request_id: text}` to use the real conversation).

Writing a file with no pairs in it raises (naming why there are none): `datasets` cannot
load an empty JSONL or parquet file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from ._frame import accepted_as_proposed, reviewed
from ._schema import canonical_json

PairFormat = Literal["dpo", "kto"]


def _prompts(df: pd.DataFrame, prompts: Mapping[str, str] | None) -> pd.Series:
    default = ("Propose the JSON arguments for the tool call `" + df["action_name"].astype(str)
               + "`." + df["preview"].map(lambda p: f"\nContext: {p}" if isinstance(p, str) and p
                                         else ""))
    if not prompts:
        return default
    return df["request_id"].map(prompts).fillna(default)


def preference_pairs(df: pd.DataFrame, format: PairFormat = "dpo", *,
                     prompts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Training rows from a feedback log frame (policy rows are skipped); any log-shaped
    frame works (`hitl_nb._frame.log_frame`: plain `pd.read_parquet` exports, hand-made
    frames)."""
    if format not in ("dpo", "kto"):
        raise ValueError(f"format must be 'dpo' or 'kto', got {format!r}")
    reviewed_rows = reviewed(df, ["request_id", "action_name", "preview", "proposed_args",
                                  "final_args", "decision", "edited"])
    prompt = _prompts(reviewed_rows, prompts)
    proposed = reviewed_rows["proposed_args"].map(canonical_json)
    final = reviewed_rows["final_args"].map(canonical_json)
    edited = reviewed_rows["edited"].astype(bool)
    request_id = reviewed_rows["request_id"]
    if format == "dpo":
        return pd.DataFrame({"prompt": prompt[edited], "chosen": final[edited],
                             "rejected": proposed[edited],
                             "request_id": request_id[edited]}).reset_index(drop=True)
    accepted = accepted_as_proposed(reviewed_rows["decision"], edited)
    as_is = pd.DataFrame({"prompt": prompt, "completion": proposed, "label": accepted,
                          "request_id": request_id})
    corrected = pd.DataFrame({"prompt": prompt[edited], "completion": final[edited],
                              "label": True, "request_id": request_id[edited]})
    return pd.concat([as_is, corrected], ignore_index=True)


def no_pairs_reason(df: pd.DataFrame, format: PairFormat) -> str:
    """Why `preference_pairs(df, format)` is empty, in words that say what to do."""
    reviewed_rows = reviewed(df, ["edited"])
    if reviewed_rows.empty:
        return ("no reviewed decisions in the log (approve / edit / reject / respond by a "
                f"reviewer; policy rows are nobody's judgement): {format.upper()} rows come "
                "from reviews. Review some proposals first")
    return (f"no edits in the log: DPO pairs come from edits (chosen = the reviewer's "
            f"version), and none of the {len(reviewed_rows)} reviewed decisions changed the "
            "arguments. Use format='kto' to learn from approvals and rejections")


def export_pairs(df: pd.DataFrame, format: PairFormat = "dpo", *, path: str | Path | None = None,
                 prompts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """`preference_pairs(df, format)`, also written to `path` if given. With no pairs the
    DataFrame is empty, and writing raises a ValueError naming why (an empty file does not
    load with `datasets.load_dataset`); nothing is written then."""
    pairs = preference_pairs(df, format, prompts=prompts)
    if path is not None:
        if pairs.empty:
            raise ValueError(f"nothing written to {path}: {no_pairs_reason(df, format)}.")
        write_pairs(pairs, path)
    return pairs


def write_pairs(pairs: pd.DataFrame, path: str | Path) -> Path:
    """Write pair rows as `.jsonl` (one JSON object per line) or `.parquet`, by suffix; both
    load with Hugging Face `datasets.load_dataset("json" | "parquet", data_files=path)`.
    An empty frame is refused (`datasets` cannot load an empty file)."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".parquet"):
        raise ValueError(f"write .jsonl or .parquet, got {path.name!r}")
    if pairs.empty:
        raise ValueError(f"no pairs to write to {path}: datasets.load_dataset cannot load an "
                         "empty file. Check len(pairs) first (no edits: no DPO pairs).")
    if path.suffix == ".jsonl":
        pairs.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        # object columns become arrow `string` (pandas 3's str dtype writes `large_string`,
        # which loads as a different `datasets` feature type than the JSONL file's)
        text = {c: object for c in pairs.columns if pd.api.types.is_string_dtype(pairs[c])}
        pairs.astype(text).to_parquet(path, index=False)
    return path


def write_preference_pairs(df: pd.DataFrame, path: str | Path, format: PairFormat = "dpo",
                           **kwargs: Mapping[str, str] | None) -> Path:
    """`preference_pairs(df, format)` written to `path` (see `export_pairs`)."""
    export_pairs(df, format, path=path, **kwargs)
    return Path(path)
