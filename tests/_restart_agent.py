"""The gated support agent on SQLite files, for restart tests: one process runs it to the
pause and exits; another opens the same files and decides. The desk appends every tool
it runs to a ledger file, so "ran exactly once" is checked across processes."""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

import hitl_nb
from hitl_nb.demo import SupportDesk, gated_support_agent

REQUESTS = {"t-small": "refund order 1043", "t-refund": "refund order 1042",
            "t-two": "refund order 2001", "t-delete": "delete account 7"}


@dataclass
class LedgerDesk(SupportDesk):
    ledger: Path = Path("ledger.jsonl")

    def run(self, name: str, args: dict[str, Any]) -> str:
        with self.ledger.open("a") as f:
            f.write(json.dumps([name, args]) + "\n")
        return super().run(name, args)


def ledger(path: Path) -> list[tuple[str, dict[str, Any]]]:
    if not path.exists():
        return []
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()]  # type: ignore[misc]


def build(db: Path, ledger_path: Path) -> Any:
    saver = SqliteSaver(sqlite3.connect(db, check_same_thread=False))
    return gated_support_agent(LedgerDesk(ledger=ledger_path), checkpointer=saver)


def start(db: Path, ledger_path: Path, audit: Path | None = None) -> dict[str, Any]:
    """Run every thread to its first pause; return what is pending. With an `audit` log
    file, alice (finance) also gives the first of the two approvals on "t-two"."""
    if audit is not None:
        hitl_nb.use_log(audit)
    graph = build(db, ledger_path)
    out = {}
    for thread, text in REQUESTS.items():
        session = hitl_nb.Session(graph, {"configurable": {"thread_id": thread}})
        session.invoke({"messages": [("user", text)]})
        if audit is not None and thread == "t-two":
            session.approve(reviewer=hitl_nb.Reviewer("alice", ("finance",)))
        out[thread] = [{"request_id": r.request_id, "action": r.action,
                        "requested_at": r.requested_at.isoformat()} for r in session.pending]
    return out


if __name__ == "__main__":
    audit = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(start(Path(sys.argv[1]), Path(sys.argv[2]), audit)))
