"""A damaged WAL: SQLite silently ignores every commit after a damaged frame, so the log
would look intact, only shorter. `verify()` reads the WAL as well, and a log whose WAL is
damaged opens read-only, so that nothing (a write, a checkpoint on closing) discards the rest.

The logs here are written by another process that is then killed, as a crashed kernel:
its WAL stays behind. Frames are located from the file format
(https://www.sqlite.org/fileformat2.html#walformat), not with hitl_nb's reader.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logrows import decision_rows

import hitl_nb

HERE = Path(__file__).parent
WAL_HEADER, FRAME_HEADER = 32, 24
N = 20  # entries: few enough that no checkpoint restarts the WAL (one generation of frames)

WRITER = """
import os, signal, sys
from logrows import decision_rows
import hitl_nb
log = hitl_nb.FeedbackLog(sys.argv[1])
for row in decision_rows(int(sys.argv[2])):
    log.append(row)  # one transaction each
print(log.verify().head, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # a crashed kernel: the WAL is left as it is
"""


def write_and_crash(path: Path, entries: int) -> str:
    """The head of a log of `entries` rows, written by a process killed afterwards."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", WRITER, str(path), str(entries)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -9, done.stderr
    return done.stdout.strip()


@dataclass(frozen=True)
class Frame:
    offset: int
    commit: bool   # ends a transaction
    salts: bytes


def wal_frames(path: Path) -> tuple[bytes, list[Frame]]:
    """The WAL header's salts and every whole frame of the WAL of `path`."""
    wal = Path(f"{path}-wal").read_bytes()
    page_size = int.from_bytes(path.read_bytes()[16:18], "big")  # database header
    size = FRAME_HEADER + page_size
    frames = [Frame(offset, wal[offset + 4:offset + 8] != bytes(4), wal[offset + 8:offset + 16])
              for offset in range(WAL_HEADER, len(wal) - size + 1, size)]
    return wal[16:24], frames


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("crashed") / "audit.sqlite"
    head = write_and_crash(path, N)
    salts, frames = wal_frames(path)
    assert all(f.salts == salts for f in frames)  # one generation: every frame counts
    assert sum(f.commit for f in frames) == N + 1  # the schema, then one per entry
    return path, head


def copy_of(original: Path, directory: Path) -> Path:
    target = directory / f"{uuid.uuid4().hex}.sqlite"
    shutil.copyfile(original, target)
    shutil.copyfile(f"{original}-wal", f"{target}-wal")
    return target


def flip(path: Path, position: int) -> None:
    with open(f"{path}-wal", "r+b") as wal:
        wal.seek(position)
        byte = wal.read(1)[0]
        wal.seek(position)
        wal.write(bytes([byte ^ 0x10]))


def test_the_crashed_log_is_intact(crashed, tmp_path):
    path, head = crashed
    with hitl_nb.FeedbackLog(copy_of(path, tmp_path)) as log:
        result = log.verify()
        assert (result.ok, result.entries, result.head) == (True, N, head)
        assert not log.readonly


def damage_after_the_schema(frames: list[Frame], page_size: int) -> st.SearchStrategy[int]:
    """A byte of any frame after the schema's transaction, but the salts of the very last
    frame (damage there looks like the end of the WAL: only an anchor can tell)."""
    first = next(i for i, f in enumerate(frames) if f.commit) + 1
    size = FRAME_HEADER + page_size
    last_salts = range(frames[-1].offset + 8, frames[-1].offset + 16)
    return st.integers(frames[first].offset, frames[-1].offset + size - 1).filter(
        lambda position: position not in last_salts)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_in_any_wal_frame_is_reported(crashed, tmp_path, data):
    path, head = crashed
    _, frames = wal_frames(path)
    page_size = frames[1].offset - frames[0].offset - FRAME_HEADER
    position = data.draw(damage_after_the_schema(frames, page_size))
    damaged = next(i for i, f in enumerate(frames)
                   if f.offset <= position < f.offset + FRAME_HEADER + page_size)
    readable = sum(f.commit for f in frames[:damaged]) - 1  # commits before it, but the schema
    copy = copy_of(path, tmp_path)
    flip(copy, position)
    wal_before = Path(f"{copy}-wal").read_bytes()

    with hitl_nb.FeedbackLog(copy) as log:
        assert len(log) == readable < N  # what SQLite shows: the entries before the damage
        result = log.verify()
        assert (result.ok, result.entries, result.first_bad) == (False, readable, readable)
        assert "SQLite ignores them: recent entries may be missing" in str(result.problem)
        assert not log.verify(anchor=head).ok
        assert log.readonly
        with pytest.raises(PermissionError, match="transactions in its WAL follow damage"):
            log.append(decision_rows(1, prefix="after")[0])
    assert Path(f"{copy}-wal").read_bytes() == wal_before  # closing discarded nothing


@pytest.mark.parametrize("where", ["wal header", "schema"])
def test_damage_hiding_the_whole_log_fails_the_open_and_says_why(crashed, tmp_path, where):
    path, _ = crashed
    _, frames = wal_frames(path)
    copy = copy_of(path, tmp_path)
    flip(copy, 20 if where == "wal header" else frames[0].offset + 100)
    with pytest.raises(ValueError, match=r"holds no log.*opened read-only: \d+ transactions "
                                         r"in its WAL follow damage"):
        hitl_nb.FeedbackLog(copy)


def test_an_unfinished_transaction_is_no_damage(crashed, tmp_path):
    """A writer killed in the middle of a commit leaves frames without their commit frame:
    nothing acknowledged is missing, and only the anchor notices the entry is gone."""
    path, head = crashed
    _, frames = wal_frames(path)
    copy = copy_of(path, tmp_path)
    os.truncate(f"{copy}-wal", frames[-1].offset)  # the last commit frame never written
    with hitl_nb.FeedbackLog(copy) as log:
        result = log.verify()
        assert (result.ok, result.entries) == (True, N - 1)
        assert not log.verify(anchor=head).ok


def test_frames_of_an_earlier_wal_generation_are_no_damage(tmp_path):
    """After a checkpoint SQLite writes the WAL again from its start, with new salts; the
    old frames behind the new ones are stale, and damage there is harmless."""
    path = tmp_path / "audit.sqlite"
    head = write_and_crash(path, 80)
    salts, frames = wal_frames(path)
    stale = [f for f in frames if f.salts != salts]
    assert stale  # 80 entries are more than one WAL's worth: the WAL was restarted
    copy = copy_of(path, tmp_path)
    flip(copy, stale[-1].offset + FRAME_HEADER + 100)
    with hitl_nb.FeedbackLog(copy) as log:
        result = log.verify(anchor=head)
        assert (result.ok, result.entries) == (True, 80)


def test_the_wal_stays_small(tmp_path):
    path = tmp_path / "audit.sqlite"
    with hitl_nb.FeedbackLog(path) as log:
        for row in decision_rows(400):  # about 1,000 pages written, one commit each
            log.append(row)
        page_size = log._store._db.execute("PRAGMA page_size").fetchone()[0]  # type: ignore[union-attr]
        frames = (os.path.getsize(f"{path}-wal") - WAL_HEADER) // (FRAME_HEADER + page_size)
        assert frames <= 110  # checkpointed every 100 pages, plus the last commit


def test_closing_the_log_empties_the_wal_while_another_connection_is_open(tmp_path):
    """The last connection to close checkpoints by itself; the log does not wait for it."""
    path = tmp_path / "audit.sqlite"
    log = hitl_nb.FeedbackLog(path)
    other = sqlite3.connect(path)
    try:
        assert other.execute("SELECT count(*) FROM entries").fetchone() == (0,)
        log.extend(decision_rows(5))
        assert os.path.getsize(f"{path}-wal") > 0
        log.close()
        assert os.path.getsize(f"{path}-wal") == 0
        assert other.execute("SELECT count(*) FROM entries").fetchone() == (5,)
    finally:
        other.close()
