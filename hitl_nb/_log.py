"""The feedback log: one hash-chained row per decision, readable as a pandas DataFrame.

Rows are stored as plain JSON-able dicts (times as ISO strings) so the same canonical
JSON is hashed in memory and on disk. Appending never rewrites an earlier row.
`FeedbackLog()` keeps rows in memory; `FeedbackLog("audit.sqlite")` stores them durably
(`_log_sqlite`) with the same API and the same hashes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import operator
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._diff import args_distance, log_patch
from ._schema import LEVELS, Decision, ReviewRequest, args_hash, canonical_json

if TYPE_CHECKING:
    import pandas as pd

    from ._log_sqlite import SqliteStore
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
             "stop", "redirect", "override", "undo", "incident", "revise", "input")
"""`decision` values: the reviewer actions, plus `auto` (applied by policy at the
autonomy / notify levels) and `timeout` (a deadline passed; the default applied), and the
override mechanisms: `stop` (the run ended, this request unresolved), `redirect` (the
agent got new instructions instead), `override` (the human performed the action; the
agent did not), `undo` (the request's last decision was reverted — a reviewed decision
through `Session.undo`, or an automatic action undone from the notification feed; its
compensation ran), and `incident` (a person reported that an action went wrong after the
fact, `Trust.report_incident`). Collaboration (`hitl_nb._collab`): `revise` (a co-edited
draft sent back to the agent with a note; `final_args` = the reviewer's edits so far) and
`input` (the human produced the content: a human-led answer or a plan step's result;
`final_args.value`, and `final_args.option`, the index of the agent's option it started
from)."""


def build_row(request: ReviewRequest, decision: Decision | None = None, *,
              outcome: str | None = None, framework: str = "langgraph",
              run_id: str | None = None) -> dict[str, Any]:
    """The log row for one decision (hashes are added by `FeedbackLog.append`).

    A decision without `args` that is not an edit is logged as made on the proposed
    arguments (`Decision.resolved`)."""
    if decision is not None:
        decision = decision.resolved(request.args)
    final = decision.args if decision else request.args
    edited = final != request.args
    patch = log_patch(request.args, final) if edited else []
    distance = args_distance(request.args, final) if edited else None
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


_TIMEOUT_DEFAULT = re.compile(r"; default: (approve|reject)\b")


def decision_from_row(row: dict[str, Any]) -> Decision | None:
    """The decision a logged row records, as it resumes the run (None for rows that
    resume nothing: stop, redirect, undo, auto, incident). Used for a decision that was
    logged but not sent to the graph: by another view, or before the kernel stopped.

    The JSON result of a manual override or an answer comes back from the logged text:
    an object or a list as itself, anything else as its text."""
    kind = row["decision"]
    common: dict[str, Any] = dict(
        args=row["final_args"] or {}, message=row.get("message"), rating=row.get("rating"),
        comment=row.get("comment"), reviewer=row.get("reviewer"), role=row.get("role"),
        source=row.get("source") or "human", request_id=row["request_id"],
        decided_at=datetime.fromisoformat(row["decided_at"]))
    if kind in ("approve", "edit", "reject", "respond"):
        return Decision(action=kind, **common)
    if kind in ("override", "input"):
        return Decision(action="respond", override=kind, result=_json_or_text(row.get("message")),
                        **common)
    if kind == "revise":
        return Decision(action="reject", override="revise", **common)
    if kind == "timeout":
        found = _TIMEOUT_DEFAULT.search(row.get("message") or "")
        return Decision(action="approve" if found and found.group(1) == "approve" else "reject",
                        **common)
    return None


def _json_or_text(text: str | None) -> Any:
    if text and text[0] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of `FeedbackLog.verify()`; truthy when the chain is intact.

    `head` is the last `entry_hash` checked: save it somewhere else (a report, a commit)
    and pass it back as `verify(anchor=...)` to also detect removed newest entries.
    """

    ok: bool
    entries: int
    first_bad: int | None = None
    decision_id: str | None = None
    problem: str | None = None
    head: str = GENESIS

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries, hash chain intact"
        return (f"TAMPERED: entry #{self.first_bad} (decision_id={self.decision_id}): "
                f"{self.problem}")


class LogIntegrityError(ValueError):
    """A stored entry cannot be read back as it was written. `log.verify()` names the
    first bad entry and what is wrong with it."""


def chain_row(prev_hash: str, row: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`row` linked after `prev_hash`: the stored row (with `prev_hash` and `entry_hash`)
    and the canonical JSON that was hashed, `entry_hash = sha256(prev_hash + json)`."""
    stored = {k: v for k, v in row.items() if k not in ("prev_hash", "entry_hash")}
    stored["prev_hash"] = prev_hash
    body = canonical_json(stored)
    stored["entry_hash"] = hashlib.sha256((prev_hash + body).encode()).hexdigest()
    return stored, body


ANCHOR_MISSING = ("the chain no longer contains the anchored entry_hash {anchor}: entries at "
                  "the end were removed, or the chain was rewritten")


def anchor_hash(anchor: str | Verification | None) -> str | None:
    """The `entry_hash` to look for in `verify(anchor=...)`."""
    if isinstance(anchor, Verification):
        if not anchor.ok:  # its head is the last hash before a bad entry: no anchor
            raise ValueError(f"anchor is a failed verification ({anchor}); anchor to a "
                             "verification that passed, or to its head string.")
        return anchor.head
    if anchor is not None and not isinstance(anchor, str):
        raise TypeError(f"anchor is an entry_hash string or a Verification (log.verify() or "
                        f"log.verify().head), got {type(anchor).__name__}.")
    return anchor


def verify_entries(entries: Iterable[tuple[str, str]],
                   anchor: str | None = None) -> Verification:
    """Check a chain of `(body, entry_hash)` entries: `body` is the canonical JSON that was
    hashed (the row with its `prev_hash`, without `entry_hash`)."""
    prev = GENESIS
    count = 0
    anchored = anchor is None or anchor == GENESIS
    for count, (body, digest) in enumerate(entries, start=1):
        index = count - 1
        row = json.loads(body)
        problem = None
        if row.get("prev_hash") != prev:
            problem = "prev_hash does not match the previous entry (entry removed or reordered)"
        elif digest != hashlib.sha256((prev + body).encode()).hexdigest():
            problem = "entry_hash does not match its contents (entry edited)"
        elif row.get("args_hash") != args_hash(row.get("final_args")):
            problem = "args_hash does not match final_args"
        if problem:
            return Verification(False, index, index, row.get("decision_id"), problem, prev)
        prev = digest
        anchored = anchored or prev == anchor
    if not anchored:
        return Verification(False, count, count, None, ANCHOR_MISSING.format(anchor=anchor),
                            prev)
    return Verification(True, count, head=prev)


def decoded(body: str, digest: str) -> dict[str, Any]:
    """A fresh row from a stored entry: nothing in it is shared with the log or a caller."""
    row: dict[str, Any] = json.loads(body)
    row["entry_hash"] = digest
    return row


class _MemoryStore:
    """Entries in a list (the default): fast, gone when the kernel stops.

    Like the SQLite store it keeps what was hashed (each row's canonical JSON) and decodes
    it on every read, so a row shares no object with the arguments a tool received (a tool
    that edits its input in place cannot rewrite the log) or with a row handed out."""

    path: str | None = None
    readonly = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: list[tuple[str, str]] = []      # (body, entry_hash)
        self._by_request: dict[str | None, list[int]] = {}  # request_id -> positions in _entries
        self._requests: dict[str, tuple[datetime, str]] = {}  # first requested_at, JSON

    def last_hash(self) -> str:
        return self._entries[-1][1] if self._entries else GENESIS

    def append(self, row: dict[str, Any]) -> dict[str, Any]:
        stored, body = chain_row(self.last_hash(), row)
        self._keep(stored, body)
        return stored

    def _keep(self, stored: dict[str, Any], body: str) -> None:
        self._by_request.setdefault(stored.get("request_id"), []).append(len(self._entries))
        self._entries.append((body, stored["entry_hash"]))

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock:  # a check and its append, with no other thread's append between
            yield

    def count(self) -> int:
        return len(self._entries)

    def rows(self, start: int = 0) -> Iterator[dict[str, Any]]:
        entries = self._entries
        index = max(start, 0)
        while index < len(entries):  # live: rows appended meanwhile are read too, as in SQLite
            yield decoded(*entries[index])
            index += 1

    def rows_for(self, request_id: str) -> list[dict[str, Any]]:
        return [decoded(*self._entries[i]) for i in self._by_request.get(request_id, ())]

    def verify(self, anchor: str | None) -> Verification:
        return verify_entries(self._entries, anchor)

    def record_request(self, request: ReviewRequest) -> ReviewRequest:
        first = self._requests.get(request.request_id)
        if first is None:  # kept as the SQLite store keeps it: JSON, without the raw payload
            self._requests[request.request_id] = (request.requested_at,
                                                  canonical_json(request.to_json()))
            return request
        if first[0] == request.requested_at:
            return request
        return replace(request, requested_at=first[0])

    def requests(self, thread_id: str | None, undecided: bool) -> list[ReviewRequest]:
        found = (request_from_json(json.loads(body)) for _, body in self._requests.values())
        return [r for r in found
                if (thread_id is None or r.thread_id == thread_id)
                and not (undecided and r.request_id in self._by_request)]

    def close(self) -> None:
        pass


def request_from_json(data: dict[str, Any]) -> ReviewRequest:
    """Inverse of `ReviewRequest.to_json()` (fields it does not know are ignored)."""
    if not isinstance(data, dict):
        raise TypeError(f"a stored request must be a JSON object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for f in fields(ReviewRequest):
        if f.name == "raw" or f.name not in data:
            continue
        value = data[f.name]
        kind = str(f.type)
        if isinstance(value, str) and "datetime" in kind:
            value = datetime.fromisoformat(value)
        elif isinstance(value, list) and kind.startswith("tuple"):
            value = tuple(value)
        kwargs[f.name] = value
    return ReviewRequest(**kwargs)


Synchronous = Literal["FULL", "NORMAL"]


class FeedbackLog:
    """Every decision, in order, hash-chained; in memory or durable in SQLite.

    >>> log = FeedbackLog()                       # in memory (the kernel default)
    >>> log = hitl_nb.use_log("audit.sqlite")     # durable, and the kernel default
    >>> session = Session(graph, config).invoke(inputs)   # decisions land in `log`
    >>> log.verify()                              # OK, or the first tampered entry
    >>> df = log.to_pandas()                      # one row per decision

    After a kernel restart (with a persistent checkpointer such as `SqliteSaver`), the
    log says which threads had open requests and what was decided on them already:

    >>> log = hitl_nb.use_log("audit.sqlite")
    >>> threads = {r.thread_id for r in log.requests()}            # or undecided=True
    >>> sessions = [Session.attach(graph, {"configurable": {"thread_id": t}})
    ...             for t in threads]                              # the checkpoint decides
    >>> open_now = [r for s in sessions for r in s.pending]       # what is still pending
    >>> log.rows_for(open_now[0].request_id)  # [] until decided; or the first of two approvals

    With a path, every `record` is one SQLite transaction (WAL, `synchronous=FULL`):
    when it returns, the row survives `kill -9` of the kernel and a power cut. Several
    kernels may append to one file; the chain stays single. `synchronous="NORMAL"` is
    faster and still survives a killed process, but may lose the newest rows on an OS
    crash or power cut. Same API and same hashes for both kinds.

    `readonly=True` (or a file this process cannot write) reads and verifies a log, e.g. an
    archived copy, without writing to it: recording raises `PermissionError`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 synchronous: Synchronous = "FULL", timeout: float = 30.0,
                 readonly: bool = False) -> None:
        self._store: _MemoryStore | SqliteStore
        if path is None:
            if readonly:
                raise ValueError("readonly=True opens an existing log file: pass its path, "
                                 "FeedbackLog(path, readonly=True).")
            self._store = _MemoryStore()
        else:
            from ._log_sqlite import SqliteStore

            self._store = SqliteStore(path, synchronous=synchronous, timeout=timeout,
                                      readonly=readonly)

    @property
    def path(self) -> str | None:
        """The SQLite file, or None for an in-memory log."""
        return self._store.path

    @property
    def readonly(self) -> bool:
        """True when the log can be read and verified but not written: opened with
        `readonly=True`, or a file this process cannot write (e.g. an archived copy)."""
        return self._store.readonly

    def __len__(self) -> int:
        return self._store.count()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._store.rows()

    def __repr__(self) -> str:
        where = repr(self.path) if self.path else "in memory"
        return f"<hitl_nb.FeedbackLog {where}: {len(self)} entries>"

    @property
    def last_hash(self) -> str:
        return self._store.last_hash()

    def append(self, row: dict[str, Any]) -> dict[str, Any]:
        """Chain and store one row (see `build_row`); returns the stored row.
        Durable when it returns (outside a `batch()`)."""
        return self._store.append(row)

    def extend(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append many rows in one transaction (see `batch`); returns the stored rows."""
        with self.batch():
            return [self._store.append(row) for row in rows]

    def batch(self) -> AbstractContextManager[None]:
        """Group appends into one transaction, for simulations and imports.

        >>> with log.batch():
        ...     run_episodes(1000, learning=True, log=log)

        Rows become durable when the block exits (also when it exits with an error: what
        was decided stays logged). Meanwhile other processes wait to append.
        """
        return self._store.batch()

    def rows_for(self, request_id: str) -> list[dict[str, Any]]:
        """Every stored row for one request, oldest first (e.g. the first of two approvals)."""
        return self._store.rows_for(request_id)

    def rows_since(self, start: int) -> Iterator[dict[str, Any]]:
        """Stored rows from position `start` (0-based) on, oldest first: what a reader that
        keeps up with a growing log (`hitl_nb.Trust`) has not seen yet. Cheap when there is
        nothing new (SQLite: one indexed query).

        >>> seen = 0
        >>> for row in log.rows_since(seen): seen += 1
        """
        if start < 0:
            raise ValueError(f"start is a row position >= 0, got {start!r}")
        return self._store.rows(start)

    def record(self, request: ReviewRequest, decision: Decision | None = None, *,
               outcome: str | None = None, framework: str = "langgraph",
               run_id: str | None = None,
               check: Callable[[list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
        """Append the row for `decision` on `request` (None: applied by policy).

        `check` is called with the rows already logged for the request, in the same write
        transaction as the append (no other kernel appends in between); it raises to
        refuse, and then nothing is written. A Session uses it so one request is never
        settled twice, by two views or two kernels."""
        row = build_row(request, decision, outcome=outcome, framework=framework,
                        run_id=run_id)
        if check is None:
            return self.append(row)
        with self._store.batch():
            check(self._store.rows_for(request.request_id))
            return self.append(row)

    def record_request(self, request: ReviewRequest) -> ReviewRequest:
        """Store `request` when it is first shown; returns it with the `requested_at` of
        the first time it was stored, so latency stays right after a kernel restart.
        Idempotent per `request_id`."""
        return self._store.record_request(request)

    def requests(self, *, thread_id: str | None = None,
                 undecided: bool = False) -> list[ReviewRequest]:
        """Stored requests in the order they were first shown (`raw` is not stored; the
        checkpoint holds the payload). `undecided=True`: only those with no logged row
        at all (a request with one of two approvals has a row: ask the checkpoint).

        >>> log.requests(undecided=True)     # after a restart: what was left open
        """
        return self._store.requests(thread_id, undecided)

    def verify(self, *, anchor: str | Verification | None = None) -> Verification:
        """Recompute the chain; names the first entry that does not match.

        `anchor`: an `entry_hash` saved earlier (`log.verify().head`, or that
        `Verification` itself); then removing the newest entries, or rewriting the whole
        chain, is detected too."""
        return self._store.verify(anchor_hash(anchor))

    def to_pandas(self) -> pd.DataFrame:
        """One typed row per decision (columns: `COLUMNS`)."""
        return rows_to_frame(self._store.rows())

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write `to_pandas()` to parquet; `read_parquet(path)` gives the same frame back."""
        frame_to_parquet(self.to_pandas(), path)

    def to_preference_pairs(self, format: PairFormat = "dpo", *, path: str | Path | None = None,
                            prompts: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Training rows from the reviewed decisions (see `hitl_nb._pairs`): DPO
        (`prompt`, `chosen`, `rejected`) or KTO (`prompt`, `completion`, `label`); with
        `path` (`.jsonl` or `.parquet`) also written for `datasets.load_dataset` (no
        pairs: a ValueError saying why, e.g. no edits for DPO, and no file)."""
        from ._pairs import export_pairs

        return export_pairs(self.to_pandas(), format, path=path, prompts=prompts)

    def close(self) -> None:
        """Close the SQLite connection (nothing to do in memory)."""
        self._store.close()

    def __enter__(self) -> FeedbackLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


TEXT_COLUMNS = ("decision_id", "request_id", "thread_id", "run_id", "checkpoint_id", "agent",
                "preview", "gate", "gate_reason", "reviewer", "role", "message", "comment",
                "args_hash", "prev_hash", "entry_hash")
CATEGORY_COLUMNS = ("framework", "action_name", "risk", "source")
"""Open vocabularies: categories are the values present, sorted."""
FLOAT_COLUMNS = ("confidence", "edit_distance", "rating", "latency_s")
TIME_COLUMNS = ("requested_at", "decided_at")
JSON_COLUMNS = ("proposed_args", "final_args", "patch")
"""Dicts/lists in memory; canonical JSON text in parquet."""


def rows_to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The typed frame for stored rows (the schema in docs/feedback_log.md); `rows` may be
    a generator (a SQLite log's rows are decoded as they are read)."""
    with paused_gc():
        # one tuple per row, transposed to one tuple per column, each typed once: no
        # intermediate frame whose dtypes pandas infers only to be converted again
        records = [_record(row) for row in rows]
        columns = list(zip(*records, strict=True)) if records else [() for _ in COLUMNS]
        return _typed(dict(zip(COLUMNS, columns, strict=True)))


_pick = operator.itemgetter(*COLUMNS)


def _record(row: dict[str, Any]) -> tuple[Any, ...]:
    """`row`'s values in `COLUMNS` order (None for a column it lacks)."""
    try:
        values: tuple[Any, ...] = _pick(row)
    except KeyError:  # appended by hand without every column
        return tuple(row.get(col) for col in COLUMNS)
    return values


@contextmanager
def paused_gc() -> Iterator[None]:
    """Build many rows without the cyclic garbage collector: decoding a log creates millions
    of dicts, lists and strings, none in a cycle, and each GC pass would walk all of them
    again (about 2/3 of `to_pandas()` at 200k rows). Restored as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _typed(columns: Mapping[str, Any]) -> pd.DataFrame:
    """A frame of every column in `COLUMNS` (taken from `columns`: Series or lists) with its
    documented dtype, whatever the data (or its absence) would make pandas infer: fixed
    dtypes are what lets a frame round-trip exactly."""
    import numpy as np
    import pandas as pd

    try:  # pandas >= 2.3: the NaN-missing string dtype that pandas 3 infers by default
        text: Any = pd.StringDtype(na_value=np.nan)
    except TypeError:  # pragma: no cover - older pandas
        text = object

    def raw(col: str) -> Any:
        values = columns[col]
        return values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)

    out: dict[str, Any] = {}
    for col in TEXT_COLUMNS:
        out[col] = _as_text(raw(col), text)
    for col in TIME_COLUMNS:
        values = raw(col)
        if not isinstance(values.dtype, pd.DatetimeTZDtype):
            values = pd.to_datetime(values, utc=True, format="ISO8601")
        out[col] = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    for col in FLOAT_COLUMNS:
        out[col] = pd.to_numeric(raw(col), errors="coerce").astype("float64")
    out["edited"] = raw("edited").astype(bool)
    out["decision"] = pd.Categorical(np.asarray(raw("decision"), dtype=object),
                                     categories=pd.Index(DECISIONS, dtype=text))
    out["spectrum_level"] = pd.Categorical(np.asarray(raw("spectrum_level"), dtype=object),
                                           categories=pd.Index(LEVELS, dtype=text),
                                           ordered=True)
    for col in CATEGORY_COLUMNS:
        values = np.asarray(raw(col), dtype=object)
        present = sorted({v for v in pd.unique(values) if isinstance(v, str)})
        out[col] = pd.Categorical(values, categories=pd.Index(present, dtype=text))
    for col in JSON_COLUMNS:
        out[col] = raw(col).astype(object)
    index = next((v.index for v in columns.values() if isinstance(v, pd.Series)), None)
    return pd.DataFrame({col: out[col] for col in COLUMNS}, index=index)


def _as_text(values: pd.Series, text: Any) -> pd.Series:
    """`values` in the string dtype `text`: straight through pyarrow when every value is
    a string or missing (about 3x faster than `astype` on a big log, the same result),
    else `astype` (which also formats numbers and other values as text)."""
    import pyarrow as pa

    if values.dtype == object and text is not object:
        try:
            arrow = pa.array(values.to_numpy(), type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
            pass
        else:
            converted: pd.Series = arrow.to_pandas(types_mapper=lambda _: text)
            return converted.set_axis(values.index)
    return values.astype(text)


def frame_to_parquet(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Parquet keeps dict columns as JSON text so any schema round-trips exactly."""
    out = df.copy()
    for col in JSON_COLUMNS:
        out[col] = out[col].map(canonical_json)
    out.to_parquet(path, index=False)


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
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
    return _typed({col: df[col] for col in COLUMNS})


_default: FeedbackLog | None = None


def log() -> FeedbackLog:
    """The kernel's default feedback log (in memory unless `use_log` chose another)."""
    global _default
    if _default is None:
        _default = FeedbackLog()
    return _default


_run_log: ContextVar[FeedbackLog | None] = ContextVar("hitl_nb_run_log", default=None)


def run_log() -> FeedbackLog:
    """Where rows written from inside a running graph go (`notify`, guarded tools): the
    log of the `Session` driving the run, so they sit beside its decisions; else `log()`.
    """
    running = _run_log.get()  # not `or`: an empty log is falsy (it has a length)
    return running if running is not None else log()


@contextmanager
def logging_to(target: FeedbackLog) -> Iterator[None]:
    """Make `target` the `run_log()` of everything run inside the block (a Session wraps
    each graph call in it; LangGraph copies the context into the threads it runs nodes in).
    """
    token = _run_log.set(target)
    try:
        yield
    finally:
        _run_log.reset(token)


def use_log(target: str | os.PathLike[str] | FeedbackLog) -> FeedbackLog:
    """Make `target` (a SQLite path, or a `FeedbackLog`) the kernel's default log.

    >>> hitl_nb.use_log("audit.sqlite")      # every new Session logs here
    >>> hitl_nb.log().verify()

    Sessions created earlier keep the log they were created with.
    """
    global _default
    _default = target if isinstance(target, FeedbackLog) else FeedbackLog(target)
    return _default
