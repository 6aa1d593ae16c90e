"""Tamper evidence of the SQLite log: any changed byte, removed, reordered or inserted entry
is detected, and `verify()` names the first bad entry (the test knows which it must be)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logrows import decision_rows, sql, stored

import hitl_nb
from hitl_nb._log import GENESIS, chain_row
from hitl_nb._schema import args_hash

N = 7


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed log file of N entries (WAL checkpointed into the main file)."""
    path = tmp_path_factory.mktemp("pristine") / "audit.sqlite"
    with hitl_nb.FeedbackLog(path) as log:
        for row in decision_rows(N):
            log.append(row)
        assert log.verify().ok
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="module")
def ids(pristine: Path) -> list[str]:
    return [i.decode() for i in stored(pristine, "decision_id")]


@pytest.fixture
def copy(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "audit.sqlite"
    shutil.copyfile(pristine, target)
    return target


def fresh_copy(pristine: Path) -> Path:
    """Hypothesis runs many examples per test: one new file each."""
    target = pristine.parent / f"{uuid.uuid4().hex}.sqlite"
    shutil.copyfile(pristine, target)
    return target


def verify(path: Path, **kwargs: str) -> hitl_nb.Verification:
    with hitl_nb.FeedbackLog(path) as log:
        return log.verify(**kwargs)


def flip(value: bytes, position: int, mask: int) -> bytes:
    data = bytearray(value)
    data[position % len(data)] ^= mask
    return bytes(data)


def test_pristine_copy_verifies(copy):
    result = verify(copy)
    assert (result.ok, result.entries, result.first_bad) == (True, N, None)
    assert result.head == stored(copy, "entry_hash")[-1].decode()


# -- one changed byte, through SQL ----------------------------------------------------------
WHAT_BREAKS = {
    "body": "entry_hash does not match the stored entry",
    "entry_hash": "entry_hash does not match the stored entry",
    "decision_id": "decision_id column differs",
    "request_id": "request_id column differs",
}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, N - 1), column=st.sampled_from(sorted(WHAT_BREAKS)),
       position=st.integers(0, 10_000), mask=st.integers(1, 255), as_text=st.booleans())
def test_any_flipped_byte_of_any_stored_field_is_detected(pristine, ids, row, column, position,
                                                         mask, as_text):
    path = fresh_copy(pristine)
    old = stored(path, column)[row]
    # written back as a BLOB, or as TEXT that may no longer be valid UTF-8
    sql(path, f"UPDATE entries SET {column} = CAST(? AS {'TEXT' if as_text else 'BLOB'}) "
              "WHERE seq = ?", flip(old, position, mask), row + 1)
    result = verify(path)
    assert not result.ok
    assert (result.first_bad, result.entries, result.decision_id) == (row, row, ids[row])
    assert WHAT_BREAKS[column] in (result.problem or "")
    path.unlink()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, N - 1),  # seq is unique: a new value lies outside 1..N
       new_seq=st.one_of(st.integers(-(2**63), 0), st.integers(N + 1, 2**63 - 1)))
def test_any_changed_sequence_number_is_detected(pristine, ids, row, new_seq):
    path = fresh_copy(pristine)
    sql(path, "UPDATE entries SET seq = ? WHERE seq = ?", new_seq, row + 1)
    # the order SQLite now returns, and the first place it departs from 1, 2, ... n
    order = sorted([(k + 1, ids[k]) for k in range(N) if k != row] + [(new_seq, ids[row])])
    first = next(p for p, (seq, _) in enumerate(order) if seq != p + 1)
    result = verify(path)
    assert (result.ok, result.first_bad, result.decision_id) == (False, first, order[first][1])
    path.unlink()


# -- one changed byte in the raw database file, where the row's JSON sits ---------------------
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, N - 1), position=st.integers(0, 10_000), mask=st.integers(1, 255))
def test_flipped_byte_in_the_database_file_is_detected(pristine, ids, row, position, mask):
    path = fresh_copy(pristine)
    data = bytearray(path.read_bytes())
    body = stored(path)[row]
    assert data.count(body) == 1  # the JSON sits in the file once, in one piece
    start = data.find(body)
    data[start + position % len(body)] ^= mask
    path.write_bytes(bytes(data))
    result = verify(path)
    assert (result.ok, result.first_bad, result.decision_id) == (False, row, ids[row])
    path.unlink()


def sqlite_varint(n: int) -> bytes:
    """SQLite's record varint (big-endian, 7 bits a byte; enough for these sizes)."""
    out = [n & 0x7F]
    while n := n >> 7:
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def decision_id_type_offset(path: Path, row: int) -> int:
    """Where the file holds the serial type of entry `row`'s decision_id: in its record
    header (size, then one type per column: seq is the rowid, NULL), before the values."""
    values = [stored(path, c)[row] for c in ("decision_id", "request_id", "body", "entry_hash")]
    types = b"\x00" + b"".join(sqlite_varint(2 * len(v) + 13) for v in values)  # TEXT
    size = sqlite_varint(len(types) + 1)
    record = size + types + b"".join(values)
    data = path.read_bytes()
    assert data.count(record) == 1
    return data.find(record) + len(size) + 1


@pytest.mark.parametrize("page", [None, 3], ids=["one-page", "3-per-page"])
@pytest.mark.parametrize("row", [0, 4, N - 1])
def test_an_entry_sqlite_cannot_read_is_the_one_named(copy, ids, row, page, monkeypatch):
    from hitl_nb import _log_sqlite

    if page is not None:  # the damaged entry on a later page than the first
        monkeypatch.setattr(_log_sqlite, "_PAGE", page)
    at = decision_id_type_offset(copy, row)
    data = bytearray(copy.read_bytes())
    # the decision_id's serial type claims one byte more: the record no longer adds up
    data[at] = 2 * (len(ids[row]) + 1) + 13
    copy.write_bytes(bytes(data))
    result = verify(copy)
    assert (result.ok, result.first_bad, result.entries) == (False, row, row)
    assert "SQLite cannot read this entry" in (result.problem or "")


@pytest.mark.parametrize("column", ["decision_id", "request_id", "body", "entry_hash"])
@pytest.mark.parametrize("row", [0, 4])
def test_a_column_stored_with_another_type_is_named(pristine, copy, ids, column, row):
    """The same bytes as a BLOB: CAST(... AS BLOB) cannot tell, the storage class can
    (a BLOB request_id would hide the row from rows_for)."""
    sql(copy, f"UPDATE entries SET {column} = CAST({column} AS BLOB) WHERE seq = ?", row + 1)
    assert stored(copy, column) == stored(pristine, column)  # the same bytes
    result = verify(copy)
    assert (result.ok, result.first_bad, result.decision_id) == (False, row, ids[row])
    assert result.problem == (f"{column} is stored as BLOB where the log writes TEXT "
                              "(column edited)")


def test_a_null_request_id_written_as_null_verifies(tmp_path):
    """The stored type follows what the writer was given: no request_id is NULL."""
    with hitl_nb.FeedbackLog(tmp_path / "audit.sqlite") as log:
        row = decision_rows(1)[0]
        log.append({**row, "request_id": None})
        log.append(row)
        assert log.verify().ok
    sql(tmp_path / "audit.sqlite", "UPDATE entries SET request_id = '' WHERE seq = 1")
    assert verify(tmp_path / "audit.sqlite").first_bad == 0


# -- whole entries removed, reordered, inserted ---------------------------------------------
def test_removed_entry_is_named(copy, ids):
    sql(copy, "DELETE FROM entries WHERE seq = 4")
    result = verify(copy)
    # the entry now at index 3 is the old #4; its sequence number gives the gap away
    assert (result.first_bad, result.decision_id) == (3, ids[4])
    assert "removed, inserted or reordered" in (result.problem or "")


def test_removed_entry_with_renumbered_sequence_is_named(copy, ids):
    sql(copy, "DELETE FROM entries WHERE seq = 4")
    sql(copy, "UPDATE entries SET seq = seq - 1 WHERE seq > 4")
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (3, ids[4])
    assert "prev_hash does not match the previous entry" in (result.problem or "")


def test_reordered_entries_are_named(copy, ids):
    sql(copy, "UPDATE entries SET seq = -seq WHERE seq IN (3, 6)")
    sql(copy, "UPDATE entries SET seq = CASE seq WHEN -3 THEN 6 ELSE 3 END WHERE seq < 0")
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (2, ids[5])
    assert "prev_hash does not match" in (result.problem or "")


def test_inserted_entry_is_named(copy, ids):
    sql(copy, "UPDATE entries SET seq = seq + 100 WHERE seq >= 3")
    sql(copy, "UPDATE entries SET seq = seq - 99 WHERE seq >= 103")
    forged, body = chain_row(GENESIS, decision_rows(1, prefix="forged")[0])
    sql(copy, "INSERT INTO entries VALUES (3, ?, ?, ?, ?)", forged["decision_id"],
        forged["request_id"], body, forged["entry_hash"])
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (2, forged["decision_id"])
    assert "prev_hash does not match" in (result.problem or "")


def test_sequence_number_moved_past_the_end_is_named(copy, ids):
    sql(copy, "UPDATE entries SET seq = 1000 WHERE seq = 2")
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (1, ids[2])


def test_entry_appended_with_a_made_up_link_is_named(copy):
    forged, body = chain_row("f" * 64, decision_rows(1, prefix="forged")[0])
    sql(copy, "INSERT INTO entries VALUES (?, ?, ?, ?, ?)", N + 1, forged["decision_id"],
        forged["request_id"], body, forged["entry_hash"])
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (N, forged["decision_id"])


def test_removed_newest_entries_need_the_anchor(copy):
    head = verify(copy).head
    sql(copy, f"DELETE FROM entries WHERE seq >= {N - 1}")
    # a hash chain alone cannot tell a shorter log from a truncated one ...
    assert verify(copy).ok
    # ... the head saved earlier can
    result = verify(copy, anchor=head)
    assert (result.ok, result.first_bad) == (False, N - 2)
    assert "no longer contains the anchored entry_hash" in (result.problem or "")


def test_rewritten_chain_needs_the_anchor(copy):
    head = verify(copy).head
    rows = [json.loads(b) for b in stored(copy)]
    rows[1]["final_args"] = rows[1]["proposed_args"] = {"order": 1, "amount": 9999.0}
    rows[1]["args_hash"] = args_hash(rows[1]["final_args"])
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):  # a forger with write access re-hashes all
        new, body = chain_row(prev, row)
        sql(copy, "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = ?", body,
            new["entry_hash"], seq)
        prev = new["entry_hash"]
    assert verify(copy).ok
    assert not verify(copy, anchor=head).ok


# -- garbage never crashes verify --------------------------------------------------------------
@pytest.mark.parametrize(("body", "problem"), [
    (b"\xff\xfe not utf-8", "entry_hash does not match"),
    (b'{"decision_id": ', "entry_hash does not match"),
    (b"[1, 2, 3]", "entry_hash does not match"),
    (12345, "entry_hash does not match"),
])
def test_garbage_body_is_a_bad_entry(copy, ids, body, problem):
    sql(copy, "UPDATE entries SET body = ? WHERE seq = 5", body)
    result = verify(copy)
    assert (result.first_bad, result.decision_id) == (4, ids[4])
    assert problem in (result.problem or "")
    with hitl_nb.FeedbackLog(copy) as log, pytest.raises(hitl_nb.LogIntegrityError,
                                                         match=r"entry #4 .*log\.verify\(\)"):
        log.to_pandas()


@pytest.mark.parametrize("body", [b"\xff\xfe", b"{not json", b"[1]", b'"text"'])
def test_garbage_with_a_matching_hash_is_a_bad_entry(copy, ids, body):
    """A writer that hashed garbage (not hitl_nb): named, not an exception."""
    prev = stored(copy, "entry_hash")[1]
    digest = hashlib.sha256(prev + body).hexdigest()
    sql(copy, "UPDATE entries SET body = ?, entry_hash = ? WHERE seq = 3", body, digest)
    result = verify(copy)
    assert (result.ok, result.first_bad, result.decision_id) == (False, 2, ids[2])
    assert "body is not" in (result.problem or "")


def test_null_columns_are_a_bad_entry(copy, ids):
    sql(copy, "UPDATE entries SET decision_id = NULL, request_id = NULL WHERE seq = 2")
    result = verify(copy)
    assert (result.ok, result.first_bad) == (False, 1)
    assert result.decision_id == ids[1]  # from the hashed body: the column is what changed


def test_rows_for_refuses_an_edited_row(copy):
    rid = json.loads(stored(copy)[2])["request_id"]
    sql(copy, "UPDATE entries SET body = replace(body, '\"ada\"', '\"eve\"') WHERE seq = 3")
    with hitl_nb.FeedbackLog(copy) as log, pytest.raises(hitl_nb.LogIntegrityError,
                                                         match="does not match its entry_hash"):
        log.rows_for(rid)


def test_a_damaged_request_index_fails_verify_and_rows_for_refuses_what_it_returns(copy):
    with sqlite3.connect(copy) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master "
                          "WHERE name = 'entries_request'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(copy.read_bytes())
    start = (root - 1) * size
    page = bytes(data[start:start + size])
    # the index cell of (request_id "req-1", rowid 4): the key, then the rowid in one byte
    assert page.count(b"req-1\x04") == 1
    data[start + page.find(b"req-1\x04") + 4] = ord("2")  # "req-1" -> "req-2": still sorted
    copy.write_bytes(bytes(data))
    result = verify(copy)
    assert not result.ok
    assert "SQLite reports damage elsewhere" in str(result.problem)
    assert "entries_request" in str(result.problem)
    assert result.entries == N  # every entry itself is intact
    with hitl_nb.FeedbackLog(copy) as log, pytest.raises(
            hitl_nb.LogIntegrityError, match=r"belongs to request 'req-1', not 'req-2'"):
        log.rows_for("req-2")  # the index now also points here


def test_a_damaged_schema_text_is_a_clear_error_on_open(copy):
    data = bytearray(copy.read_bytes())
    at = data.find(b"CREATE INDEX entries_request")
    assert 0 <= at < 4096  # in the first page: the schema table
    data[at + 7] = 0xFF  # no longer UTF-8
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"cannot open .* as a hitl_nb feedback log"):
        hitl_nb.FeedbackLog(copy)
