"""Earned autonomy at scale: what a trust check costs per proposal on a 100k-row log.

`Trust` reads the log incrementally: the first question reads every row once (a state
machine per (agent, action), Wilson bounds from a precomputed table), later questions
read only the rows appended since. Each figure is printed next to a plain pandas baseline
measured in the same run, the rescan one would write by hand: on the log's DataFrame,
keep reviewed rows, take the last `window` per (agent, action) with `groupby().tail()`,
count clean approvals and compute the Wilson bound (`analysis.wilson_interval`). The
baseline knows nothing of demotions and cool-downs (that needs the rows in order), so it
is a lower bound for a rescan; a second baseline adds `log.to_pandas()`, which a rescan of
a growing log also pays.

1. cold: the first `trust.status(...)` over the whole log vs one baseline rescan;
2. per proposal, nothing new: `policy.evaluate` with a `TrustGate` vs one rescan each;
3. per proposal after one new decision: append a row, then evaluate;
4. the same on a SQLite log (`FeedbackLog(path)`): cold read, and per proposal (one
   indexed `rows_since` query) after one new decision.

The rows come from `generate_log` (real `make_decision` + `FeedbackLog.record` rows, five
biased reviewers), `--base` of them copied with fresh ids up to `--rows`.

    python benchmarks/bench_trust.py [--rows 100000] [--base 10000] [--sqlite-rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from hitl_nb import FeedbackLog, Policy, Trust, TrustGate
from hitl_nb._schema import Decision, ReviewRequest
from hitl_nb.analysis import reviewed, wilson_interval
from hitl_nb.demo.generate import generate_log

WINDOW = 50


def build_rows(n: int, base: int) -> list[dict[str, Any]]:
    seed_rows = list(generate_log(base, seed=0))
    rows: list[dict[str, Any]] = []
    copy = 0
    while len(rows) < n:
        rows.extend({**r, "decision_id": f"{r['decision_id']}-{copy}",
                     "request_id": f"{r['request_id']}-{copy}"}
                    for r in seed_rows[: n - len(rows)])
        copy += 1
    return rows


def rescan(df: pd.DataFrame) -> pd.DataFrame:
    """The hand-written baseline: last WINDOW reviews per (agent, action), clean share,
    one-sided 95% Wilson lower bound."""
    rev = reviewed(df, ["agent", "action_name", "decision"])
    last = rev.groupby(["agent", "action_name"], observed=True, dropna=False).tail(WINDOW)
    counts = last.assign(clean=(last["decision"] == "approve")).groupby(
        ["agent", "action_name"], observed=True, dropna=False)["clean"].agg(["sum", "count"])
    counts["lower"], _ = wilson_interval(counts["sum"], counts["count"], level=0.90)
    return counts


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """Median seconds per call over `calls` calls (in 5 blocks, so load drift hits all)."""
    blocks = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls // 5):
            fn()
        blocks.append((time.perf_counter() - start) / (calls // 5))
    return statistics.median(blocks)


def line(name: str, t: float, base: float, base_name: str) -> None:
    ratio = t / base
    shown = f"{ratio:8.2f}x" if ratio >= 0.1 else f"1/{1 / ratio:,.0f} of it"
    print(f"{name:>44}: {t * 1e3:10.3f} ms   {base_name}: {base * 1e3:10.3f} ms   "
          f"ratio {shown}")


def one_decision(i: int) -> tuple[ReviewRequest, Decision]:
    rid = f"bench-{i}"
    request = ReviewRequest(request_id=rid, interrupt_id=rid, kind="ask", action="issue_refund",
                            args={"order": i, "amount": 20.0}, confidence=0.9, agent="support")
    return request, Decision(action="approve", args=request.args, reviewer="bench",
                             source="simulated", request_id=rid)


def bench(log: FeedbackLog, label: str, calls: int) -> None:
    trust = Trust(log, window=WINDOW)
    policy = Policy([TrustGate(trust, actions=["issue_refund", "draft_reply"])])
    t_frame = timed(log.to_pandas)
    df = log.to_pandas()
    t_rescan = min(timed(lambda: rescan(df)) for _ in range(3))
    t_cold = timed(lambda: trust.status("issue_refund", agent="support"))
    print(f"\n{label}: {len(log):,} rows; "
          f"{len(trust.to_pandas())} (agent, action) records, {len(trust.history())} changes")
    line("cold: first question, reads every row", t_cold, t_rescan, "groupby rescan")
    line("cold, baseline with to_pandas()", t_cold, t_rescan + t_frame,
         "to_pandas + rescan")

    def evaluate() -> None:
        policy.evaluate("issue_refund", {"order": 1, "amount": 20.0}, confidence=0.9,
                        agent="support")

    t_warm = per_call(evaluate, calls)
    line("per proposal, nothing new (evaluate)", t_warm, t_rescan, "groupby rescan")
    counter = iter(range(10**9))

    def decided_then_evaluate() -> None:
        log.record(*one_decision(next(counter)))
        evaluate()

    def decided_then_rescan() -> None:
        log.record(*one_decision(next(counter)))
        rescan(log.to_pandas())

    appends = per_call(lambda: log.record(*one_decision(next(counter))), calls)
    t_new = per_call(decided_then_evaluate, calls) - appends
    t_new_base = per_call(decided_then_rescan, 5) - appends
    line("per proposal after one new decision", t_new, t_new_base, "to_pandas + rescan")
    print(f"{'(appending that row itself)':>44}: {appends * 1e3:10.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2_000)
    args = parser.parse_args()

    start = time.perf_counter()
    rows = build_rows(max(args.rows, args.sqlite_rows), args.base)
    print(f"built {len(rows):,} rows in {time.perf_counter() - start:.1f} s")

    memory = FeedbackLog()
    memory.extend(rows[: args.rows])
    bench(memory, "in-memory log", args.calls)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.sqlite"
        with FeedbackLog(path, synchronous="NORMAL") as disk:
            disk.extend(rows[: args.sqlite_rows])
            bench(disk, "SQLite log", args.calls // 4)


if __name__ == "__main__":
    main()
