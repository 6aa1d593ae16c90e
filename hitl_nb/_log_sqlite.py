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

The WAL. SQLite ignores every commit in the WAL after a damaged frame, silently (`_wal`):
`verify()` reads the WAL too, a log whose WAL is damaged opens read-only (a checkpoint
would discard what follows the damage), and the WAL is kept small (checkpointed every
`WAL_AUTOCHECKPOINT` pages, and emptied on `close()`).

Read-only. `readonly=True`, or a file this process cannot write, opens with `mode=ro`:
everything but writing works, and a write raises `PermissionError` saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ._log import (
    ANCHOR_MISSING,
    GENESIS,
    LogIntegrityError,
    Synchronous,
    Verification,
    chain_row,
    request_from_json,
)
from ._schema import ReviewRequest, args_hash, canonical_json
from ._wal import wal_damage

APPLICATION_ID = 0x4849544C
"""`PRAGMA application_id` of a hitl_nb log ("HITL"): marks the file as ours."""

SCHEMA_VERSION = 1

WAL_AUTOCHECKPOINT = 100
"""Pages in the WAL before a commit copies them into the database file (SQLite: 1000)."""

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
_CANNOT_WRITE = ("this process cannot write it ({}); to record decisions, open a file it can "
                 "write, e.g. a copy")
_REQUEST_FIX = ("Table requests is a recovery aid outside the hash chain (log.verify() checks "
                "the decisions): delete that row (DELETE FROM requests WHERE request_id = ...) "
                "and it is stored again, with a new requested_at, when next shown.")


class SqliteStore:
    """The storage behind a persistent `FeedbackLog` (use that, not this)."""

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Synchronous = "FULL",
                 timeout: float = 30.0, readonly: bool = False) -> None:
        self.path: str | None = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file:"):
            raise ValueError("FeedbackLog(path) needs a file path; use FeedbackLog() for a log "
                             "kept in memory.")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}.")
        self._lock = threading.RLock()
        self._depth = 0                        # open batch() blocks
        self._tail: tuple[int, str] | None = None  # (seq, hash) of the last row in a batch
        self.readonly = readonly
        self._why_readonly = "it was opened with readonly=True"
        try:
            if readonly:
                self._open_readonly(timeout)
            else:
                self._open_writable(synchronous, timeout)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # (a damaged schema text)
            if not self.readonly:
                hint = "Pass a new path or a file written by FeedbackLog(path)."
            elif readonly:
                hint = "Pass the path of a file written by FeedbackLog(path)."
            else:
                hint = f"It was opened read-only: {self._why_readonly}."
            raise ValueError(f"cannot open {self.path!r} as a hitl_nb feedback log: {exc}. "
                             f"{hint}") from exc

    def _open_writable(self, synchronous: Synchronous, timeout: float) -> None:
        """Open for appending, unless the file must open read-only (`_why_not_writable`)."""
        assert self.path is not None
        if (why := self._why_not_writable()) is not None:
            self._open_readonly_because(why, timeout)
            return
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
        try:
            self._open(synchronous)
        except sqlite3.Error as exc:
            self._db.close()
            if not (_cannot_write(exc) and os.path.exists(self.path)):
                raise
            self._open_readonly_because(_CANNOT_WRITE.format(exc), timeout)

    def _why_not_writable(self) -> str | None:
        """Why the file opens read-only though writing was asked for (None: it need not):
        this process may not write it, or its WAL holds commits SQLite ignores, which a
        checkpoint (on a write, or on closing) would discard for good."""
        assert self.path is not None
        if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
            return _CANNOT_WRITE.format("its file permissions")
        if (damage := wal_damage(self.path)) is not None:
            return (f"{damage.commits} transactions in its WAL follow damage and SQLite "
                    "ignores them; a write would discard them for good. Restore the file with "
                    "its -wal from a copy; or, to go on without them, discard them: "
                    f"sqlite3.connect({self.path!r}).execute('PRAGMA wal_checkpoint(TRUNCATE)')")
        return None

    def _open_readonly_because(self, why: str, timeout: float) -> None:
        self.readonly = True
        self._why_readonly = why
        self._open_readonly(timeout)

    def _open_readonly(self, timeout: float) -> None:
        try:
            self._connect_readonly(timeout, "mode=ro")
        except sqlite3.OperationalError as exc:
            # SQLite reads a WAL-mode file through a -shm index it must be able to create,
            # which a read-only directory forbids. Without a -wal file the database file
            # alone is the whole log: read it as immutable. With one, that would hide it.
            if not _cannot_write(exc) or os.path.exists(f"{self.path}-wal"):
                raise
            self._connect_readonly(timeout, "mode=ro&immutable=1")

    def _connect_readonly(self, timeout: float, parameters: str) -> None:
        assert self.path is not None
        uri = f"file:{quote(os.path.abspath(self.path))}?{parameters}"
        self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
        try:
            app, version, tables = self._format()
            if app == 0 and tables == 0:
                raise sqlite3.DatabaseError("it holds no log, and a read-only log cannot "
                                            "start one")
            _check_format(app, version)
        except sqlite3.Error:
            self._db.close()
            raise

    def _open(self, synchronous: Synchronous) -> None:
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"the file cannot use the WAL journal (mode {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA fullfsync=ON")  # macOS: make fsync reach the disk too
        # A small WAL: one damaged frame hides every commit after it (see `_wal`), and the
        # fewer frames live there, the fewer entries that can be.
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        with self._transaction():
            app, version, tables = self._format()
            if app == 0 and tables == 0:
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            else:
                _check_format(app, version)

    def _format(self) -> tuple[int, int, int]:
        """`application_id`, `user_version` and the number of schema objects."""
        app = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return int(app), int(version), int(tables)

    def _writable(self) -> None:
        if self.readonly:
            raise PermissionError(f"the feedback log {self.path!r} is open read-only, to read "
                                  f"and verify: {self._why_readonly}.")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, or a part of the open `batch()`."""
        self._writable()
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
        self._writable()
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
            if row.get("request_id") != request_id:  # the request index is damaged
                raise LogIntegrityError(_where(seq, did) + f" belongs to request "
                                        f"{row.get('request_id')!r:.80}, not {request_id!r:.80}: "
                                        "the log's request index is damaged; run log.verify().")
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
                    return self._at_end(walk)

    def _verify_row_by_row(self, walk: _Walk) -> Verification:
        """SQLite fails a whole page when it cannot read one entry (a damaged record
        header): read on one entry at a time, so the unreadable one is named."""
        while True:
            try:
                page = self._page(_VERIFY, walk.index, 1)
            except sqlite3.DatabaseError as exc:
                return walk.bad(f"SQLite cannot read this entry: {exc}", None)
            if not page:
                return self._at_end(walk)
            if (bad := walk.check(page, self._types)) is not None:
                return bad

    def _at_end(self, walk: _Walk) -> Verification:
        """Every entry SQLite shows is intact; also every one the file holds? Committed
        WAL frames after a damaged one are invisible to SQLite (see `_wal`)."""
        assert self.path is not None
        damage = wal_damage(self.path)
        if damage is None:
            return self._structure(walk)
        damaged = "the WAL header" if damage.header else "a frame"
        return walk.bad(
            f"{damage.frames} frames ({damage.commits} transactions) of the WAL file "
            f"({self.path}-wal) follow damage in {damaged}, and SQLite ignores them: recent "
            f"entries may be missing ({walk.index} are readable). Restore the file with its "
            "-wal from a copy; verify(anchor=<a head saved earlier>) tells whether the "
            "entries it covers are there.", None)

    def _structure(self, walk: _Walk) -> Verification:
        """The chain is intact; the indexes and the requests table must be too: a damaged
        request index makes `rows_for` (two-person counts, "already decided") miss rows."""
        found = [r[0] for r in self._db.execute("PRAGMA integrity_check(5)").fetchall()]
        if found == ["ok"]:
            return walk.result()
        return walk.bad(
            f"every entry is intact, but SQLite reports damage elsewhere in {self.path}: "
            f"{'; '.join(found)}. Rebuild the indexes on a copy (sqlite3 copy.sqlite "
            "'REINDEX') and verify it before using it.", None)

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
                                    f"unreadable requested_at ({exc}). {_REQUEST_FIX}"
                                    ) from exc

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
                                        f"be read back: {exc}. {_REQUEST_FIX}") from exc
        return out

    def close(self) -> None:
        with self._lock:
            if not self.readonly:
                self._checkpoint()
            self._db.close()

    def _checkpoint(self) -> None:
        """Move the WAL into the database file and empty it, unless another connection is
        using it right now (then the last one to close does it): a WAL left behind is where
        one damaged byte can hide entries."""
        try:
            self._db.execute("PRAGMA busy_timeout=0")  # never keep close() waiting
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:  # busy or locked: the WAL stays, still valid
            return


def _check_format(app: int, version: int) -> None:
    if app != APPLICATION_ID:
        raise sqlite3.DatabaseError("it is a SQLite database of something else")
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"it was written by a newer hitl_nb (format {version}); "
                                    "upgrade hitl_nb to read it")


def _cannot_write(exc: sqlite3.Error) -> bool:
    """The error of writing a file (or creating its -wal) without permission."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


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
