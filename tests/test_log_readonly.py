"""A log this process may only read (an archived copy, a read-only directory or mount)
opens read-only: iteration, `rows_for`, `requests`, `verify`, `to_pandas`, `to_parquet`
work; writing raises and says why. Tests run as root, whom file modes do not stop: the
explicit `readonly=True` is tested here directly, the detection in a process that runs as
an ordinary user."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from logrows import decision_rows

import hitl_nb
from hitl_nb import Decision, ReviewRequest
from hitl_nb._log import read_parquet

HERE = Path(__file__).parent
ROWS = decision_rows(6)
SHOWN = ReviewRequest(request_id="shown", interrupt_id="shown", kind="ask", action="refund",
                      args={"order": 7})


def write_archive(path: Path) -> Path:
    with hitl_nb.FeedbackLog(path) as log:
        log.extend(ROWS)
        log.record_request(SHOWN)
    path.chmod(0o444)
    return path


@pytest.fixture
def archived(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "audit.sqlite")


def test_a_readonly_log_reads_verifies_and_exports(archived, tmp_path):
    before = archived.read_bytes()
    with hitl_nb.FeedbackLog(archived, readonly=True) as log:
        assert log.readonly
        result = log.verify()
        assert (result.ok, result.entries) == (True, len(ROWS))
        assert [r["decision_id"] for r in log] == [r["decision_id"] for r in ROWS]
        assert [r["decision"] for r in log.rows_for("req-0")] == ["approve", "edit"]
        assert [r.request_id for r in log.requests()] == ["shown"]
        df = log.to_pandas()
        assert list(df.decision_id) == [r["decision_id"] for r in ROWS]
        log.to_parquet(tmp_path / "audit.parquet")
        assert read_parquet(tmp_path / "audit.parquet").equals(df)
    assert archived.read_bytes() == before


WRITES: dict[str, Callable[[hitl_nb.FeedbackLog], Any]] = {
    "append": lambda log: log.append(decision_rows(1, prefix="new")[0]),
    "extend": lambda log: log.extend(decision_rows(2, prefix="new")),
    "batch": lambda log: log.batch().__enter__(),
    "record": lambda log: log.record(SHOWN, Decision(action="approve")),
    "record_request": lambda log: log.record_request(
        ReviewRequest(request_id="new", interrupt_id="new", kind="ask", action="refund")),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_readonly_log_refuses_writes_and_says_why(archived, write):
    with hitl_nb.FeedbackLog(archived, readonly=True) as log:
        with pytest.raises(PermissionError, match=r"open read-only, to read and verify: it "
                                                  r"was opened with readonly=True"):
            write(log)
        assert len(log) == len(ROWS)
        assert log.record_request(SHOWN) == SHOWN  # stored already: nothing to write


def test_readonly_needs_an_existing_log(tmp_path):
    with pytest.raises(ValueError, match="readonly=True opens an existing log file"):
        hitl_nb.FeedbackLog(readonly=True)
    with pytest.raises(ValueError, match=r"cannot open .*missing.sqlite.*Pass the path of a "
                                         r"file written by FeedbackLog\(path\)"):
        hitl_nb.FeedbackLog(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


READER = """
import json, sys
import hitl_nb
from hitl_nb import ReviewRequest
log = hitl_nb.FeedbackLog(sys.argv[1])
seen = {"readonly": log.readonly, "verify": str(log.verify()), "rows": len(list(log)),
        "requests": [r.request_id for r in log.requests()]}
try:
    log.record_request(ReviewRequest(request_id="new", interrupt_id="new", kind="ask",
                                     action="refund"))
except PermissionError as exc:
    seen["error"] = str(exc)
print(json.dumps(seen))
"""
NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own are private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="hitl-readonly-"))
    try:
        yield directory
    finally:
        directory.chmod(0o755)
        shutil.rmtree(directory)


@pytest.mark.parametrize("directory_mode", [0o1777, 0o555],
                         ids=["writable directory", "read-only directory"])
def test_a_file_this_process_cannot_write_opens_readonly(shared_dir, directory_mode):
    path = write_archive(shared_dir / "audit.sqlite")
    shared_dir.chmod(directory_mode)
    # root may write any file: read it as an ordinary user, as a colleague would (setpriv,
    # not Popen(user=): it keeps the right to read, so the interpreter under /root starts)
    as_user = (["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
               if os.getuid() == 0 else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run([*as_user, sys.executable, "-c", READER, str(path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False,
                          cwd=shared_dir.parent)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["readonly"] is True
    assert seen["verify"] == f"OK: {len(ROWS)} entries, hash chain intact"
    assert (seen["rows"], seen["requests"]) == (len(ROWS), ["shown"])
    assert "open read-only, to read and verify: this process cannot write it" in seen["error"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
