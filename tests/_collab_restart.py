"""The demo collab agent on SQLite files, for restart tests: one process runs it to the
plan review and exits; another opens the same file and carries on. The desk appends every
tool it runs to a ledger file, so what ran in which process is checked."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

import hitl_nb
from hitl_nb.demo import CaseDesk, collab_agent
from hitl_nb.demo.collab import TICKET


@dataclass
class LedgerDesk(CaseDesk):
    ledger: Path = Path("ledger.jsonl")

    def run(self, name: str, args: dict[str, Any]) -> str:
        if name != "issue_remedy":  # it runs issue_refund / issue_voucher, ledgered below
            with self.ledger.open("a") as f:
                f.write(json.dumps([name, args]) + "\n")
        return super().run(name, args)


def ledger(path: Path) -> list[tuple[str, dict[str, Any]]]:
    if not path.exists():
        return []
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()]  # type: ignore[misc]


def build(db: Path, ledger_path: Path) -> Any:
    saver = SqliteSaver(sqlite3.connect(db, check_same_thread=False))
    return collab_agent(LedgerDesk(ledger=ledger_path), checkpointer=saver)


def start(db: str, ledger_path: str) -> None:
    graph = build(Path(db), Path(ledger_path))
    session = hitl_nb.Session(graph, {"configurable": {"thread_id": "case-88"}})
    session.invoke({"goal": TICKET})
    assert session.pending[0].collab["mode"] == "plan"
