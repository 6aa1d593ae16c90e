"""`FeedbackLog("audit.sqlite")`: the hash-chained log, durable in one SQLite file.

Layout. Table `entries`, one row per decision: `body` holds the exact canonical JSON
that was hashed (the row with its `prev_hash`, without `entry_hash`), so `verify()`
hashes the stored bytes themselves and a changed byte anywhere in `body` or
`entry_hash` breaks the chain. `decision_id` and `request_id` are copies for lookups,
checked against `body`; `seq` orders the chain and must run 1, 2, ... n. Table
`requests` keeps each request as first shown (a recovery aid: every decision row
already carries its request's fields, so the audit evidence is the chain alone).

Durability. WAL journal; each append is one `BEGIN IMMEDIATE` transaction (take the
write lock, read the last hash, insert, commit), so several kernels appending to one
file still produce one chain. `synchronous=FULL` (default) fsyncs the WAL at every
commit: a row whose `record()` returned survives `kill -9` of the kernel *and* a power
cut or OS crash. An audit log must outlive the action it authorised (the refund went
out; its approval must not vanish), and a human decides at most a few times a second,
so the fsync is cheap at that rate. `synchronous="NORMAL"` skips that fsync: still
safe against a killed process (the WAL is in the OS page cache), but the newest
commits may roll back after a power cut. `batch()` amortises one commit over many rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from ._log import (
    ANCHOR_MISSING,
    GENESIS,
    LogIntegrityError,
    Synchronous,
    Verification,
    chain_row,
)
from ._schema import ReviewRequest, args_hash, canonical_json

APPLICATION_ID = 0x4849544C
"""`PRAGMA application_id` of a hitl_nb log ("HITL"): marks the file as ours."""

SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,   -- position in the chain, 1-based, no gaps
        decision_id TEXT,          -- copy of body.decision_id (checked by verify)
        request_id TEXT,           -- copy of body.request_id, for rows_for
        body TEXT NOT NULL,        -- canonical JSON that entry_hash covers
        entry_hash TEXT NOT NULL   -- sha256(prev_hash + body)
    )""",
    "CREATE INDEX entries_request ON entries(request_id)",
    """CREATE TABLE requests (
        request_id TEXT PRIMARY KEY,
        thread_id TEXT,
        requested_at TEXT NOT NULL,  -- first time a session showed it
        body TEXT NOT NULL           -- ReviewRequest.to_json(), canonical
    )""",
    "CREATE INDEX requests_thread ON requests(thread_id)",
)

# Every column is read as bytes: a tampered value may be invalid UTF-8 or another type.
_ENTRY = ("SELECT seq, CAST(decision_id AS BLOB), CAST(request_id AS BLOB), CAST(body AS BLOB),"
          " CAST(entry_hash AS BLOB) FROM entries")
# verify() also needs each column's storage class: as bytes, TEXT and BLOB look alike.
# One flag keeps the common case cheap; `_TYPES` names the column when it is not set.
_VERIFY = ("SELECT seq, CAST(decision_id AS BLOB), CAST(request_id AS BLOB), CAST(body AS BLOB),"
           " CAST(entry_hash AS BLOB), typeof(decision_id) IN ('text', 'null') AND"
           " typeof(request_id) IN ('text', 'null') AND typeof(body) = 'text' AND"
           " typeof(entry_hash) = 'text' FROM entries")
_TYPES = ("SELECT typeof(decision_id), typeof(request_id), typeof(body), typeof(entry_hash) "
          "FROM entries WHERE seq = ?")
_COLUMNS = ("decision_id", "request_id", "body", "entry_hash")
_PAGE = 2048


class SqliteStore:
    """The storage behind a persistent `FeedbackLog` (use that, not this)."""

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Synchronous = "FULL",
                 timeout: float = 30.0) -> None:
        self.path: str | None = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file:"):
            raise ValueError("FeedbackLog(path) needs a file path; use FeedbackLog() for a log "
                             "kept in memory.")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}.")
        self._lock = threading.RLock()
        self._depth = 0                        # open batch() blocks
        self._tail: tuple[int, str] | None = None  # (seq, hash) of the last row in a batch
        try:
            # isolation_level=None: transactions are ours (BEGIN IMMEDIATE ... COMMIT).
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._open(synchronous)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"cannot open {self.path!r} as a hitl_nb feedback log: {exc}. "
                             "Pass a new path or a file written by FeedbackLog(path).") from exc

    def _open(self, synchronous: Synchronous) -> None:
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"the file cannot use the WAL journal (mode {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA fullfsync=ON")  # macOS: make fsync reach the disk too
        with self._transaction():
            app = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app == 0 and tables == 0:
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif app != APPLICATION_ID:
                raise sqlite3.DatabaseError("it is a SQLite database of something else")
            elif version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"it was written by a newer hitl_nb (format "
                                            f"{version}); upgrade hitl_nb to read it")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, or a part of the open `batch()`."""
        with self._lock:
            if self._depth:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")  # the write lock first: no stale last hash
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._commit()

    def _commit(self) -> None:
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:  # e.g. disk full: leave the connection usable
                self._db.execute("ROLLBACK")
            raise

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
                self._tail = self._last()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._tail = None
                    self._commit()  # what was decided stays, even after an error

    def _last(self) -> tuple[int, str]:
        found = self._db.execute("SELECT seq, CAST(entry_hash AS BLOB) FROM entries "
                                 "ORDER BY seq DESC LIMIT 1").fetchone()
        if found is None:
            return 0, GENESIS
        return int(found[0]), _text(found[1]) or ""

    def last_hash(self) -> str:
        with self._lock:
            return self._tail[1] if self._tail else self._last()[1]

    def append(self, row: dict[str, Any]) -> dict[str, Any]:
        with self._transaction():
            seq, prev = self._tail or self._last()
            stored, body = chain_row(prev, row)
            self._db.execute(
                "INSERT INTO entries (seq, decision_id, request_id, body, entry_hash) "
                "VALUES (?, ?, ?, ?, ?)",
                (seq + 1, stored.get("decision_id"), stored.get("request_id"), body,
                 stored["entry_hash"]))
            if self._depth:
                self._tail = (seq + 1, stored["entry_hash"])
        return stored

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def _page(self, select: str, after: int, limit: int) -> list[Any]:
        """Up to `limit` entries with seq above `after`, in seq order; from the very first
        (whatever its seq, a tampered one too) when `after` is 0."""
        if after == 0:
            return self._db.execute(f"{select} ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return self._db.execute(f"{select} WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after, limit)).fetchall()

    def rows(self, start: int = 0) -> Iterator[dict[str, Any]]:
        # Page by seq instead of holding a cursor: the caller may append between rows.
        # seq is 1-based without gaps, so row position `start` is seq start + 1.
        after = max(start, 0)
        while True:
            with self._lock:
                page = self._page(_ENTRY, after, _PAGE)
            for seq, did, _rid, body, digest in page:
                yield _decode(seq, did, body, digest)
            if len(page) < _PAGE:
                return
            after = page[-1][0]

    def rows_for(self, request_id: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._db.execute(f"{_ENTRY} WHERE request_id = ? ORDER BY seq",
                                     (request_id,)).fetchall()
        rows = []
        for seq, did, _rid, body, digest in found:
            row = _decode(seq, did, body, digest)
            # These rows back security checks (two-person rule, args binding): each must
            # at least match its own hash. The full chain is `verify()`'s job.
            if _digest(str(row.get("prev_hash")).encode(), body) != digest:
                raise LogIntegrityError(_where(seq, did) + " does not match its entry_hash "
                                        "(edited); run log.verify() for details.")
            rows.append(row)
        return rows

    def verify(self, anchor: str | None) -> Verification:
        walk = _Walk(anchor)
        with self._lock:
            while True:
                try:
                    page = self._page(_VERIFY, walk.index, _PAGE)
                except sqlite3.DatabaseError:
                    return self._verify_row_by_row(walk)
                if (bad := walk.check(page, self._types)) is not None:
                    return bad
                if len(page) < _PAGE:
                    return walk.result()

    def _verify_row_by_row(self, walk: _Walk) -> Verification:
        """SQLite fails a whole page when it cannot read one entry (a damaged record
        header): read on one entry at a time, so the unreadable one is named."""
        while True:
            try:
                page = self._page(_VERIFY, walk.index, 1)
            except sqlite3.DatabaseError as exc:
                return walk.bad(f"SQLite cannot read this entry: {exc}", None)
            if not page:
                return walk.result()
            if (bad := walk.check(page, self._types)) is not None:
                return bad

    def _types(self, seq: int) -> tuple[str, ...]:
        return tuple(self._db.execute(_TYPES, (seq,)).fetchone())

    def record_request(self, request: ReviewRequest) -> ReviewRequest:
        first = self._requested_at(request.request_id)
        if first is None:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO requests (request_id, thread_id, requested_at, body) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
                    (request.request_id, request.thread_id, request.requested_at.isoformat(),
                     canonical_json(request.to_json())))
            first = self._requested_at(request.request_id)  # another kernel may have won
        if first is None or first == request.requested_at:
            return request
        return replace(request, requested_at=first)

    def _requested_at(self, request_id: str) -> datetime | None:
        with self._lock:
            found = self._db.execute("SELECT CAST(requested_at AS BLOB) FROM requests "
                                     "WHERE request_id = ?", (request_id,)).fetchone()
        if found is None:
            return None
        try:
            return datetime.fromisoformat((found[0] or b"").decode())
        except ValueError as exc:
            raise LogIntegrityError(f"stored request {request_id!r} in {self.path} has an "
                                    f"unreadable requested_at ({exc}).") from exc

    def requests(self, thread_id: str | None, undecided: bool) -> list[ReviewRequest]:
        query = "SELECT request_id, CAST(body AS BLOB) FROM requests r WHERE 1"
        params: list[Any] = []
        if thread_id is not None:
            query += " AND thread_id = ?"
            params.append(thread_id)
        if undecided:
            query += " AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.request_id = r.request_id)"
        with self._lock:
            found = self._db.execute(query + " ORDER BY rowid", params).fetchall()
        out = []
        for request_id, body in found:
            try:
                out.append(request_from_json(json.loads(body or b"")))
            except (ValueError, TypeError, RecursionError) as exc:
                raise LogIntegrityError(f"stored request {request_id!r} in {self.path} cannot "
                                        f"be read back: {exc}") from exc
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


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


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _utf8(value: Any) -> bytes | None:
    return None if value is None else str(value).encode("utf-8", "surrogatepass")


def _digest(prev: bytes, body: bytes | None) -> bytes:
    return hashlib.sha256(prev + (body or b"")).hexdigest().encode()


def _where(seq: int, did: Any) -> str:
    return f"entry #{seq - 1} (decision_id={_text(did)})"


def _decode(seq: int, did: Any, body: Any, digest: Any) -> dict[str, Any]:
    try:
        row = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise LogIntegrityError(_where(seq, did) + f" cannot be read back ({exc}); run "
                                "log.verify() to see what was changed.") from exc
    if not isinstance(row, dict):
        raise LogIntegrityError(_where(seq, did) + " is not a JSON object; run log.verify().")
    row["entry_hash"] = _text(digest)
    return row


class _Walk:
    """`verify()` along the chain: entries checked so far, the last hash, the anchor."""

    def __init__(self, anchor: str | None) -> None:
        self.anchor = anchor
        self.anchored = anchor is None or anchor == GENESIS
        self.wanted = anchor.encode() if anchor else b""
        self.prev = GENESIS.encode()
        self.index = 0

    def check(self, page: list[Any],
              types: Callable[[int], tuple[str, ...]]) -> Verification | None:
        """Check the next entries; the `Verification` naming the first bad one, or None.
        `types(seq)` reads an entry's storage classes when its flag says they are off."""
        prev, index, anchored, wanted = self.prev, self.index, self.anchored, self.wanted
        try:
            for seq, did, rid, body, digest, as_written in page:
                problem, decision_id = check_entry(index, prev, seq, did, rid, body, digest)
                if problem is None and not as_written:
                    problem = stored_type_problem(types(seq), body)
                if problem:
                    return Verification(False, index, index, decision_id, problem,
                                        prev.decode())
                prev = digest
                anchored = anchored or digest == wanted
                index += 1
            return None
        finally:
            self.prev, self.index, self.anchored = prev, index, anchored

    def bad(self, problem: str, decision_id: str | None) -> Verification:
        return Verification(False, self.index, self.index, decision_id, problem,
                            self.prev.decode())

    def result(self) -> Verification:
        if not self.anchored:
            return self.bad(ANCHOR_MISSING.format(anchor=self.anchor), None)
        return Verification(True, self.index, head=self.prev.decode())


def _sqlite_type(value: Any) -> str:
    """The storage class SQLite gives a Python value the writer binds."""
    if value is None:
        return "null"
    if isinstance(value, int):
        return "integer"
    return "real" if isinstance(value, float) else "text"


def stored_type_problem(types: tuple[str, ...], body: bytes) -> str | None:
    """Which column is stored with another type than the writer gave it (None: all as
    written). Only asked when the bytes already checked out: CAST(... AS BLOB) reads a
    TEXT column and the same bytes stored as a BLOB alike."""
    row = json.loads(body)  # check_entry parsed it already: valid
    written = (_sqlite_type(row.get("decision_id")), _sqlite_type(row.get("request_id")),
               "text", "text")
    for column, found, expected in zip(_COLUMNS, types, written, strict=True):
        if found != expected:
            return (f"{column} is stored as {found.upper()} where the log writes "
                    f"{expected.upper()} (column edited)")
    return None


def check_entry(index: int, prev: bytes, seq: Any, did: bytes | None, rid: bytes | None,
                body: bytes | None, digest: bytes | None) -> tuple[str | None, str | None]:
    """What is wrong with the stored entry at `index` (None if nothing) and the
    decision_id to report: the `decision_id` column when the hashed body is in doubt,
    else the body's own (then the column is what may have been edited)."""
    column_id = _text(did)
    if seq != index + 1:
        return (f"sequence number {seq} where {index + 1} was expected (an entry was removed, "
                "inserted or reordered)"), column_id
    if body is None or digest is None:
        return "body or entry_hash is missing", column_id
    if _digest(prev, body) != digest:
        linked = _loads(body)
        claimed = linked.get("prev_hash") if isinstance(linked, dict) else None
        if (isinstance(claimed, str) and claimed.encode() != prev
                and _digest(claimed.encode(), body) == digest):
            return ("prev_hash does not match the previous entry (an entry before it was "
                    "removed, inserted or reordered)"), column_id
        return "entry_hash does not match the stored entry (entry edited)", column_id
    # The bytes are exactly what was hashed; what follows catches a writer that
    # hashed something inconsistent (or a forger who re-hashed garbage).
    try:
        row = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})", column_id
    except (ValueError, RecursionError) as exc:
        return f"body is not valid JSON ({exc})", column_id
    if not isinstance(row, dict):
        return "body is not a JSON object", column_id
    body_id = None if row.get("decision_id") is None else str(row.get("decision_id"))
    if row.get("prev_hash") != prev.decode():
        return "prev_hash field does not match the previous entry", body_id
    if did != _utf8(row.get("decision_id")):
        return "decision_id column differs from the hashed entry (column edited)", body_id
    if rid != _utf8(row.get("request_id")):
        return "request_id column differs from the hashed entry (column edited)", body_id
    if row.get("args_hash") != args_hash(row.get("final_args")):
        return "args_hash does not match final_args", body_id
    return None, body_id


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
