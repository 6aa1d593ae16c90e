"""The feedback log: one hash-chained row per decision, readable as a pandas DataFrame.

Rows are stored as plain JSON-able dicts (times as ISO strings) so the same canonical
JSON is hashed in memory and on disk. Appending never rewrites an earlier row.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonpatch
from rapidfuzz.distance import Levenshtein

from ._schema import LEVELS, Decision, ReviewRequest, args_hash, canonical_json

if TYPE_CHECKING:
    import pandas as pd

    from ._pairs import PairFormat

GENESIS = "0" * 64
"""`prev_hash` of the first entry."""

COLUMNS: tuple[str, ...] = (
    # identity
    "decision_id", "request_id", "thread_id", "run_id", "checkpoint_id", "framework", "agent",
    # proposal
    "action_name", "proposed_args", "preview", "confidence", "risk", "spectrum_level", "gate",
    "gate_reason",
    # reviewer
    "reviewer", "role", "source",
    # outcome
    "decision", "final_args", "message", "edited", "edit_distance", "patch", "rating", "comment",
    # time
    "requested_at", "decided_at", "latency_s",
    # audit
    "args_hash", "prev_hash", "entry_hash",
)

DECISIONS = ("approve", "edit", "reject", "respond", "auto", "timeout",
             "stop", "redirect", "override", "undo")
"""`decision` values: the reviewer actions, plus `auto` (applied by policy at the
autonomy / notify levels) and `timeout` (a deadline passed; the default applied), and the
override mechanisms: `stop` (the run ended, this request unresolved), `redirect` (the
agent got new instructions instead), `override` (the human performed the action; the
agent did not), `undo` (the request's last decision was reverted; see `hitl_nb._override`)."""


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the row's canonical JSON (minus its own hash)."""
    body = {k: v for k, v in row.items() if k != "entry_hash"}
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def build_row(request: ReviewRequest, decision: Decision | None = None, *,
              outcome: str | None = None, framework: str = "langgraph",
              run_id: str | None = None) -> dict[str, Any]:
    """The log row for one decision (hashes are added by `FeedbackLog.append`)."""
    final = decision.args if decision else request.args
    edited = final != request.args
    patch = jsonpatch.make_patch(request.args, final).patch if edited else []
    distance = (float(Levenshtein.distance(canonical_json(request.args), canonical_json(final)))
                if edited else None)
    decided_at = decision.decided_at if decision else request.requested_at
    return {
        "decision_id": uuid.uuid4().hex,
        "request_id": request.request_id,
        "thread_id": request.thread_id,
        "run_id": run_id,
        "checkpoint_id": request.checkpoint_id,
        "framework": framework,
        "agent": request.agent,
        "action_name": request.action,
        "proposed_args": request.args,
        "preview": request.preview,
        "confidence": request.confidence,
        "risk": request.risk,
        "spectrum_level": request.level,
        "gate": request.gate,
        "gate_reason": request.gate_reason,
        "reviewer": decision.reviewer if decision else None,
        "role": decision.role if decision else None,
        "source": decision.source if decision else "policy",
        "decision": outcome or (decision.action if decision else "auto"),
        "final_args": final,
        "message": decision.message if decision else None,
        "edited": edited,
        "edit_distance": distance,
        "patch": patch,
        "rating": decision.rating if decision else None,
        "comment": decision.comment if decision else None,
        "requested_at": request.requested_at.isoformat(),
        "decided_at": decided_at.isoformat(),
        "latency_s": (decided_at - request.requested_at).total_seconds(),
        "args_hash": args_hash(final),
    }


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of `FeedbackLog.verify()`; truthy when the chain is intact."""

    ok: bool
    entries: int
    first_bad: int | None = None
    decision_id: str | None = None
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries, hash chain intact"
        return (f"TAMPERED: entry #{self.first_bad} (decision_id={self.decision_id}): "
                f"{self.problem}")


def verify_rows(rows: Iterator[dict[str, Any]]) -> Verification:
    prev = GENESIS
    count = 0
    for count, row in enumerate(rows, start=1):
        index = count - 1
        problem = None
        if row.get("prev_hash") != prev:
            problem = "prev_hash does not match the previous entry (entry removed or reordered)"
        elif row.get("entry_hash") != entry_hash(prev, row):
            problem = "entry_hash does not match its contents (entry edited)"
        elif row.get("args_hash") != args_hash(row.get("final_args")):
            problem = "args_hash does not match final_args"
        if problem:
            return Verification(False, index, index, row.get("decision_id"), problem)
        prev = row["entry_hash"]
    return Verification(True, count)


class FeedbackLog:
    """Every decision, in order, hash-chained.

    >>> log = FeedbackLog()          # in memory
    >>> df = log.to_pandas()         # one row per decision
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._by_request: dict[str, list[dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)

    @property
    def last_hash(self) -> str:
        return self._rows[-1]["entry_hash"] if self._rows else GENESIS

    def append(self, row: dict[str, Any]) -> dict[str, Any]:
        """Chain and store one row (see `build_row`); returns the stored row."""
        row = {**row, "prev_hash": self.last_hash}
        row["entry_hash"] = entry_hash(row["prev_hash"], row)
        self._rows.append(row)
        self._by_request.setdefault(row["request_id"], []).append(row)
        return row

    def rows_for(self, request_id: str) -> list[dict[str, Any]]:
        """Every stored row for one request, oldest first (e.g. the first of two approvals)."""
        return list(self._by_request.get(request_id, ()))

    def record(self, request: ReviewRequest, decision: Decision | None = None, *,
               outcome: str | None = None, framework: str = "langgraph",
               run_id: str | None = None) -> dict[str, Any]:
        """Append the row for `decision` on `request` (None: applied by policy)."""
        return self.append(build_row(request, decision, outcome=outcome, framework=framework,
                                     run_id=run_id))

    def verify(self) -> Verification:
        """Recompute the chain; names the first entry that does not match."""
        return verify_rows(iter(self._rows))

    def to_pandas(self) -> pd.DataFrame:
        """One typed row per decision (columns: `COLUMNS`)."""
        return rows_to_frame(list(self._rows))

    def to_parquet(self, path: str) -> None:
        """Write `to_pandas()` to parquet; `read_parquet(path)` gives the same frame back."""
        frame_to_parquet(self.to_pandas(), path)

    def to_preference_pairs(self, format: PairFormat = "dpo", *, path: str | Path | None = None,
                            prompts: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Training rows from the reviewed decisions (see `hitl_nb._pairs`): DPO
        (`prompt`, `chosen`, `rejected`) or KTO (`prompt`, `completion`, `label`); with
        `path` (`.jsonl` or `.parquet`) also written for `datasets.load_dataset`."""
        from ._pairs import preference_pairs, write_pairs

        pairs = preference_pairs(self.to_pandas(), format, prompts=prompts)
        if path is not None:
            write_pairs(pairs, path)
        return pairs


TEXT_COLUMNS = ("decision_id", "request_id", "thread_id", "run_id", "checkpoint_id", "agent",
                "preview", "gate", "gate_reason", "reviewer", "role", "message", "comment",
                "args_hash", "prev_hash", "entry_hash")
CATEGORY_COLUMNS = ("framework", "action_name", "risk", "source")
"""Open vocabularies: categories are the values present, sorted."""
FLOAT_COLUMNS = ("confidence", "edit_distance", "rating", "latency_s")
TIME_COLUMNS = ("requested_at", "decided_at")
JSON_COLUMNS = ("proposed_args", "final_args", "patch")
"""Dicts/lists in memory; canonical JSON text in parquet."""


def rows_to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The typed frame for stored rows (the schema in docs/feedback_log.md)."""
    import pandas as pd

    return _typed(pd.DataFrame.from_records(rows, columns=list(COLUMNS)))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce every column to its documented dtype, whatever the data (or its absence)
    made pandas infer: fixed dtypes are what lets a frame round-trip exactly."""
    import numpy as np
    import pandas as pd

    try:  # pandas >= 2.3: the NaN-missing string dtype that pandas 3 infers by default
        text: Any = pd.StringDtype(na_value=np.nan)
    except TypeError:  # pragma: no cover - older pandas
        text = object
    for col in TEXT_COLUMNS:
        df[col] = df[col].astype(text)
    for col in TIME_COLUMNS:
        values = df[col]
        if not isinstance(values.dtype, pd.DatetimeTZDtype):
            values = pd.to_datetime(values, utc=True, format="ISO8601")
        df[col] = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["edited"] = df["edited"].astype(bool)
    df["decision"] = pd.Categorical(np.asarray(df["decision"], dtype=object),
                                    categories=pd.Index(DECISIONS, dtype=text))
    df["spectrum_level"] = pd.Categorical(np.asarray(df["spectrum_level"], dtype=object),
                                          categories=pd.Index(LEVELS, dtype=text), ordered=True)
    for col in CATEGORY_COLUMNS:
        raw = np.asarray(df[col], dtype=object)
        present = sorted({v for v in pd.unique(raw) if isinstance(v, str)})
        df[col] = pd.Categorical(raw, categories=pd.Index(present, dtype=text))
    return df


def frame_to_parquet(df: pd.DataFrame, path: str) -> None:
    """Parquet keeps dict columns as JSON text so any schema round-trips exactly."""
    out = df.copy()
    for col in JSON_COLUMNS:
        out[col] = out[col].map(canonical_json)
    out.to_parquet(path, index=False)


def read_parquet(path: str) -> pd.DataFrame:
    """Read a log exported with `to_parquet` back to exactly the `to_pandas()` frame.

    >>> log.to_parquet("log.parquet")
    >>> df = read_parquet("log.parquet")      # same dtypes, categories and time zone
    """
    import json

    import pandas as pd

    df = pd.read_parquet(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a hitl_nb feedback log export (missing columns "
                         f"{missing}); write it with FeedbackLog.to_parquet(path).")
    for col in JSON_COLUMNS:
        df[col] = df[col].astype(object).map(json.loads)
    return _typed(df[list(COLUMNS)])


_default: FeedbackLog | None = None


def log() -> FeedbackLog:
    """The kernel's default in-memory feedback log."""
    global _default
    if _default is None:
        _default = FeedbackLog()
    return _default
