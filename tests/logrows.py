"""Shared by the log tests: realistic decision rows and raw access to a log's SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hitl_nb._log import build_row
from hitl_nb._schema import Decision, ReviewRequest

T0 = datetime(2025, 1, 2, 9, 30, tzinfo=UTC)


def decision_rows(n: int, *, prefix: str = "req") -> list[dict[str, Any]]:
    """`n` log rows cycling approve / edit / reject, two rows per request id."""
    rows = []
    for i in range(n):
        request = ReviewRequest(
            request_id=f"{prefix}-{i // 2}", interrupt_id=f"{prefix}-{i // 2}", kind="ask",
            action="issue_refund", args={"order": 1000 + i, "amount": 12.5 * i, "note": "ü ✓"},
            confidence=0.5 + i % 5 / 10, risk="high", thread_id=f"thread-{i % 3}",
            requested_at=T0 + timedelta(minutes=i))
        action = ("approve", "edit", "reject")[i % 3]
        args = {**request.args, "amount": 1.0} if action == "edit" else request.args
        decision = Decision(action=action, args=args, reviewer="ada", rating=4.0,
                            message="too much" if action == "reject" else None,
                            request_id=request.request_id,
                            decided_at=T0 + timedelta(minutes=i, seconds=7))
        rows.append(build_row(request, decision))
    return rows


def stored(path: Path, column: str = "body") -> list[bytes]:
    """One column of every entry, in chain order, as the bytes SQLite holds."""
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute(f"SELECT CAST({column} AS BLOB) FROM entries "
                                         "ORDER BY seq")]


def sql(path: Path, statement: str, *params: Any) -> None:
    """Change the file behind the log's back, as someone with write access could."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute(statement, params)
    finally:
        db.close()
