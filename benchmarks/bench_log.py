"""Durable feedback log vs. plain SQLite inserts, measured in the same run.

Three figures, each next to a baseline with the same durability settings (WAL,
`synchronous` as given, same file system):

1. one-by-one: `FeedbackLog(path).append(row)` (one transaction, hash chain, canonical
   JSON) vs. `INSERT` of `json.dumps(row)` in its own transaction;
2. batched: `log.extend(rows)` (one transaction per tenth of the rows) vs. the same
   inserts in transactions of the same size;
3. `log.verify()` over every entry vs. a plain `SELECT` of the same table's columns
   (and vs. that `SELECT` plus `json.loads` of each row: what any reader pays);
4. the in-memory log (`FeedbackLog()`, as many rows as are batched): append, iterate,
   `to_pandas()` and `verify()`, vs. the same rows kept in a plain list (`list.append`,
   iterating it, `pd.DataFrame.from_records`), and vs. `json.loads` of each row's JSON.

    python benchmarks/bench_log.py                 # ~1-2 min: 2k one-by-one, 100k batched
    python benchmarks/bench_log.py --full          # 10k one-by-one, 1M batched and verified
    python benchmarks/bench_log.py --synchronous NORMAL
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hitl_nb import FeedbackLog
from hitl_nb._log import build_row
from hitl_nb._schema import Decision, ReviewRequest, canonical_json


def template() -> dict[str, Any]:
    t0 = datetime(2025, 1, 2, 9, 30, tzinfo=UTC)
    request = ReviewRequest(
        request_id="req", interrupt_id="req", kind="ask", action="issue_refund",
        args={"order": 1042, "amount": 80.0, "note": "customer request"}, confidence=0.82,
        risk="high", reason="amount above 50", thread_id="thread-1", requested_at=t0)
    decision = Decision(action="edit", args={"order": 1042, "amount": 50.0, "note": "partial"},
                        reviewer="ada", rating=4.0, comment="half now", decided_at=t0
                        + timedelta(seconds=12))
    return build_row(request, decision, run_id="run-1")


def rows(n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Distinct realistic rows (~1 KB of JSON each), made on the fly: 1M would not fit."""
    base = template()
    for i in range(start, start + n):
        yield {**base, "decision_id": f"{i:032x}", "request_id": f"req-{i}"}


def baseline_db(path: Path, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, decision_id TEXT, "
               "request_id TEXT, body TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS entries_request ON entries(request_id)")
    return db


INSERT = "INSERT INTO entries (decision_id, request_id, body) VALUES (?, ?, ?)"


def plain_one_by_one(db: sqlite3.Connection, n: int, start: int) -> float:
    t = time.perf_counter()
    for row in rows(n, start):
        db.execute("BEGIN IMMEDIATE")
        db.execute(INSERT, (row["decision_id"], row["request_id"], json.dumps(row)))
        db.execute("COMMIT")
    return time.perf_counter() - t


def log_one_by_one(log: FeedbackLog, n: int, start: int) -> float:
    t = time.perf_counter()
    for row in rows(n, start):
        log.append(row)
    return time.perf_counter() - t


def plain_batched(db: sqlite3.Connection, n: int, start: int) -> float:
    t = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for row in rows(n, start):
        db.execute(INSERT, (row["decision_id"], row["request_id"], json.dumps(row)))
    db.execute("COMMIT")
    return time.perf_counter() - t


def log_batched(log: FeedbackLog, n: int, start: int) -> float:
    t = time.perf_counter()
    log.extend(rows(n, start))
    return time.perf_counter() - t


def plain_scan(path: Path, parse: bool) -> float:
    """Read every column of every entry (and, with `parse`, json.loads each body)."""
    db = sqlite3.connect(path)
    t = time.perf_counter()
    cursor = db.execute("SELECT seq, decision_id, request_id, body, entry_hash FROM entries "
                        "ORDER BY seq")
    while page := cursor.fetchmany(2048):
        if parse:
            for row in page:
                json.loads(row[3])
    elapsed = time.perf_counter() - t
    db.close()
    return elapsed


def bench_memory(n: int) -> None:
    """The in-memory log: rows go in once and are read back whole."""
    import pandas as pd

    log = FeedbackLog()
    plain: list[dict[str, Any]] = []
    texts = [canonical_json(row) for row in rows(n, 0)]
    append = timed(lambda: fill(log.append, n))
    base = timed(lambda: fill(plain.append, n))
    line("memory: append", n, append, base, "rows/s", "list.append")
    iterate = timed(lambda: [None for _ in log])
    line("memory: iterate", n, iterate, timed(lambda: [None for _ in plain]), "rows/s",
         "plain list")
    line("  vs json.loads", n, iterate, timed(lambda: [None for t in texts if json.loads(t)]),
         "rows/s", "json.loads")
    frame = timed(log.to_pandas)
    line("memory: to_pandas()", n, frame, timed(lambda: pd.DataFrame.from_records(plain)),
         "rows/s", "from_records")
    result = log.verify()
    if not (result.ok and result.entries == n):
        raise SystemExit(f"the in-memory benchmark log does not verify: {result}")
    print(f"memory: verify() of {n:,} entries: {timed(log.verify):.2f} s")


def fill(store: Callable[[dict[str, Any]], object], n: int) -> None:
    for row in rows(n, 0):
        store(row)


def timed(work: Callable[[], object]) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


def line(name: str, n: int, ours: float, base: float, unit: str = "appends/s",
         baseline: str = "plain SQLite") -> None:
    print(f"{name:<22} {n:>9,} entries  hitl_nb {n / ours:>10,.0f} {unit}   {baseline} "
          f"{n / base:>10,.0f} {unit}   ratio {ours / base:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="1M entries batched and verified")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    args = parser.parse_args()
    one, many = (10_000, 1_000_000) if args.full else (2_000, 100_000)
    sync = args.synchronous
    print(f"synchronous={sync}, journal_mode=WAL, row JSON "
          f"{len(json.dumps(template())):,} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        log = FeedbackLog(Path(tmp) / "log.sqlite", synchronous=sync)
        db = baseline_db(Path(tmp) / "plain.sqlite", sync)
        log_one_by_one(log, 50, 0), plain_one_by_one(db, 50, 0)  # warm up
        # The machine is shared and fsync latency drifts: alternate short rounds of each
        # side so both see the same conditions, and compare the summed times.
        rounds = 10
        ours = base = 0.0
        for i in range(rounds):
            start = 100 + i * one
            base += plain_one_by_one(db, one // rounds, start)
            ours += log_one_by_one(log, one // rounds, start)
        line("one by one (durable)", one, ours, base)

        chunk = many // rounds
        ours = base = 0.0
        for i in range(rounds):
            start = 10**7 + i * chunk
            base += plain_batched(db, chunk, start)
            ours += log_batched(log, chunk, start)
        line(f"batched ({chunk:,}/commit)", many, ours, base)
        db.close()

        entries = len(log)
        log.close()
        path = Path(tmp) / "log.sqlite"
        scans, reads, verifies = [], [], []
        for _ in range(2 if args.full else 3):  # alternate; each side's quietest run
            scans.append(plain_scan(path, parse=False))
            reads.append(plain_scan(path, parse=True))
            with FeedbackLog(path) as log:
                t = time.perf_counter()
                result = log.verify()
                verifies.append(time.perf_counter() - t)
            if not (result.ok and result.entries == entries):
                raise SystemExit(f"the benchmark log does not verify: {result}")
        scan, read, verify = min(scans), min(reads), min(verifies)
        line("verify()", entries, verify, scan, "entries/s")
        line("  vs SELECT+json.loads", entries, verify, read, "entries/s")
        print(f"verify() of {entries:,} entries: {verify:.1f} s ({verify / entries * 1e6:.1f} "
              f"us/entry); plain SELECT {scan:.2f} s; SELECT + json.loads {read:.2f} s")
    bench_memory(min(many, 200_000))  # a million dict rows would not fit in memory


if __name__ == "__main__":
    main()
