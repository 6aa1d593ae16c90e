"""Feedback analysis at scale: a big log -> typed DataFrame, and the full `report()`.

Each step is printed next to a plain baseline measured in the same run. Measurements
alternate (baseline, ours, baseline, ours, ...) and each side keeps its best of `--repeat`,
so load that drifts on a shared machine hits both sides alike and nothing is timed cold.
The two `to_pandas` lines collect garbage before each run and include a full collection
right after it, on both sides: `to_pandas` pauses the collector and leaves that work for
later, so timing the call alone would flatter it:

- `FeedbackLog.to_pandas()` of an in-memory log (`--rows`, default 1M): the typed frame
  (categoricals, tz-aware datetimes, floats, string dtype) vs `pd.DataFrame.from_records`
  of the log's rows (untyped);
- `FeedbackLog("x.sqlite").to_pandas()` (`--sqlite-rows`, default 200k: writing a
  million hash-chained rows to the file first would take minutes), measured first, with
  little else in memory as in a fresh kernel: reading, decoding and typing every entry vs
  plain `SELECT body` + `json.loads` + `from_records`;
- `analysis.report(df)` (12 tables) vs one plain `groupby(...).mean()` and vs plain
  crosstabs, and each table's own time;
- parquet (`--parquet-rows`, default 200k): `to_parquet` + `read_parquet` (JSON columns
  encoded/decoded, dtypes restored) vs plain `DataFrame.to_parquet` + `pd.read_parquet` of
  the same frame with the JSON text already made.

The rows come from `generate_log` (real `make_decision` + `FeedbackLog.record` rows,
five biased reviewers), `--base` of them, copied with fresh ids up to `--rows` (generating
a million through the real path would take minutes). Then the learning experiment's curves.

    python benchmarks/bench_analysis.py [--rows 1000000] [--sqlite-rows 200000] [--repeat 3]
    python benchmarks/bench_analysis.py --quick      # small sizes, a minute or so
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from hitl_nb import FeedbackLog, analysis
from hitl_nb._log import JSON_COLUMNS, frame_to_parquet, read_parquet
from hitl_nb._schema import canonical_json
from hitl_nb.demo.generate import generate_log
from hitl_nb.demo.simulate import run_experiment

QUICK = {"rows": 50_000, "base": 5_000, "sqlite_rows": 20_000, "parquet_rows": 20_000,
         "episodes": 10, "repeat": 2}


def timed(fn: Callable[[], Any], *, settle: bool = False) -> tuple[float, Any]:
    """Seconds `fn` takes, and its result. `settle=True`: garbage is collected first
    (untimed), so the run does not pay for the one before, and fully again right after
    (timed), so it pays the collection its own allocations leave owed (`to_pandas` builds
    with the collector paused: without this it would look faster than it is)."""
    if settle:
        gc.collect()
    start = time.perf_counter()
    out = fn()
    if settle:
        gc.collect()
    return time.perf_counter() - start, out


def alternating(ours: Callable[[], Any], baseline: Callable[[], Any], repeat: int, *,
                settle: bool = False) -> tuple[float, float, Any]:
    """Best time of `ours` and of `baseline`, run in turn `repeat` times each (baseline
    first each round), and the last result of `ours`."""
    best_ours = best_base = float("inf")
    out = None
    for _ in range(repeat):
        best_base = min(best_base, timed(baseline, settle=settle)[0])  # result dropped
        out = None  # nor may the previous result stay alive during the next run
        t, out = timed(ours, settle=settle)
        best_ours = min(best_ours, t)
    return best_ours, best_base, out


def line(name: str, t: float, base: float, base_name: str) -> None:
    print(f"{name:>32}: {t:7.2f} s   {base_name}: {base:6.2f} s   ratio {t / base:6.2f}x")


def build_rows(n: int, base: int) -> list[dict[str, Any]]:
    seed_rows = [{k: v for k, v in r.items() if k not in ("prev_hash", "entry_hash")}
                 for r in generate_log(base, seed=0)]
    rows: list[dict[str, Any]] = []
    copy = 0
    while len(rows) < n:
        # fresh ids per copy so items stay distinct (shared items keep 3 raters each)
        rows.extend({**r, "decision_id": f"{r['decision_id']}-{copy}",
                     "request_id": f"{r['request_id']}-{copy}"}
                    for r in seed_rows[: n - len(rows)])
        copy += 1
    return rows


def plain_sqlite_frame(path: str) -> pd.DataFrame:
    """What reading the file by hand costs: every body, json.loads, an untyped frame."""
    with sqlite3.connect(path) as db:
        bodies = db.execute("SELECT body FROM entries ORDER BY seq").fetchall()
    return pd.DataFrame.from_records([json.loads(b) for (b,) in bodies])


def plain_summary(df: pd.DataFrame) -> list[Any]:
    """What a quick hand analysis does with plain pandas: counts and shares by action and
    reviewer, mean confidence, latency quantiles (no CIs, no edits, no agreement)."""
    return [pd.crosstab(df["action_name"], df["decision"], normalize="index"),
            pd.crosstab(df["reviewer"], df["decision"], normalize="index"),
            df.groupby("action_name", observed=True)["confidence"].mean(),
            df.groupby("action_name", observed=True)["latency_s"].quantile([0.5, 0.9])]


def bench_sqlite(n: int, base: int, repeat: int) -> None:
    """`FeedbackLog("x.sqlite").to_pandas()` in a small heap, as in a fresh kernel."""
    rows = build_rows(n, base)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "log.sqlite")
        with FeedbackLog(path, synchronous="NORMAL") as on_disk:
            t, _ = timed(lambda: on_disk.extend(rows))
            print(f"SQLite log of {n:,} rows written in {t:.1f}s")
            rows.clear()
            t, base_t, _ = alternating(on_disk.to_pandas, lambda: plain_sqlite_frame(path),
                                       repeat, settle=True)
            line(f"to_pandas, SQLite, {n:,}", t, base_t, "SELECT+loads")


def bench_memory(rows: list[dict[str, Any]], repeat: int) -> pd.DataFrame:
    """`FeedbackLog().to_pandas()` of `rows`; returns the frame."""
    memory = FeedbackLog()
    t, _ = timed(lambda: memory.extend(rows))
    print(f"in-memory log of {len(rows):,} rows appended (hash chain) in {t:.1f}s")
    t, base, df = alternating(memory.to_pandas,
                              lambda: pd.DataFrame.from_records(list(memory)), repeat,
                              settle=True)
    line(f"to_pandas, memory, {len(rows):,}", t, base, "from_records")
    return df


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--sqlite-rows", type=int, default=200_000,
                        help="rows for the SQLite to_pandas (writing them first is slow)")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--parquet-rows", type=int, default=200_000,
                        help="rows for the parquet round trip (JSON text per row is slow)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating runs per measurement; the best of each side counts")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a quick check: " + ", ".join(
                            f"{k}={v:,}" for k, v in QUICK.items()))
    args = parser.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)

    bench_sqlite(args.sqlite_rows, args.base, args.repeat)
    t, rows = timed(lambda: build_rows(args.rows, args.base))
    print(f"built {len(rows):,} log rows in {t:.1f}s (from {args.base:,} generated decisions)")
    df = bench_memory(rows, args.repeat)
    rows.clear()  # the log keeps its own copies; free these before the analysis runs

    analysis.report(df.head(5000))  # warm the lazy imports (sklearn, statsmodels, ...)
    group_mean = lambda: df.groupby("action_name", observed=True)["latency_s"].mean()  # noqa: E731
    t, base, rep = alternating(lambda: analysis.report(df), group_mean, args.repeat)
    line("report(df), 12 tables", t, base, "groupby mean")
    t_plain = min(timed(lambda: plain_summary(df))[0] for _ in range(args.repeat))
    line("report(df), 12 tables", t, t_plain, "plain crosstabs")
    for name, fn in (("rates by reviewer", lambda: analysis.rates(df, "reviewer")),
                     ("edit_summary", lambda: analysis.edit_summary(df)),
                     ("edited_fields", lambda: analysis.edited_fields(df)),
                     ("calibration", lambda: analysis.calibration(df)),
                     ("suggest_thresholds", lambda: analysis.suggest_thresholds(df)),
                     ("agreement", lambda: analysis.agreement(df)),
                     ("latency", lambda: analysis.latency(df))):
        t, base, _ = alternating(fn, group_mean, args.repeat)
        line(name, t, base, "groupby mean")
    print(rep.agreement.round(3).to_string(index=False))

    df = df.head(args.parquet_rows)
    with tempfile.TemporaryDirectory() as tmp:
        plain = df.copy()
        for col in JSON_COLUMNS:
            plain[col] = plain[col].map(canonical_json)
        path = str(Path(tmp) / "plain.parquet")
        ours = str(Path(tmp) / "log.parquet")
        t, base, back = alternating(
            lambda: (frame_to_parquet(df, ours), read_parquet(ours))[1],
            lambda: (plain.to_parquet(path), pd.read_parquet(path)), args.repeat)
        line(f"parquet round trip, {len(df):,}", t, base, "plain parquet")
        assert back.dtypes.equals(df.dtypes)

    t, curves = timed(lambda: run_experiment(args.episodes, seed=0))
    print(f"\nlearning experiment, {args.episodes} episodes per variant ({t:.1f}s):")
    last = max(1, args.episodes - 9)
    for label, part in (("episodes 1-10", curves[curves.episode <= 10]),
                        (f"episodes {last}-{args.episodes}", curves[curves.episode >= last])):
        means = part.groupby("variant")[["edit_rate", "reject_rate", "correction_rate"]].mean()
        print(f"  {label}:\n{means.round(3).to_string()}")
    print(curves.groupby("variant")[["edits", "rejects", "declined", "declined_wrongly"]]
          .sum().to_string())


if __name__ == "__main__":
    main()
