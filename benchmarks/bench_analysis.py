"""Feedback analysis at scale: 1M-row log -> typed DataFrame, and the full `report()`.

Each step is printed next to a plain pandas baseline measured in the same run:

- log -> DataFrame: `FeedbackLog.to_pandas()`'s conversion (`rows_to_frame`: typed
  categoricals, tz-aware datetimes, floats, string dtype) vs `pd.DataFrame.from_records`
  of the same dicts (untyped);
- `analysis.report(df)` (12 tables) vs one plain `groupby(...).mean()`, and each table's
  own time;
- parquet (`--parquet-rows`, default 200k): `to_parquet` + `read_parquet` (JSON columns
  encoded/decoded, dtypes restored) vs plain `DataFrame.to_parquet` + `pd.read_parquet` of
  the same frame with the JSON text already made.

The rows come from `generate_log` (real `make_decision` + `FeedbackLog.record` rows,
five biased reviewers), `--base` of them, copied with fresh ids up to `--rows` (generating
a million through the real path would take minutes). Then the learning experiment's curves.

    python benchmarks/bench_analysis.py [--rows 1000000] [--base 20000] [--episodes 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from hitl_nb import analysis
from hitl_nb._log import JSON_COLUMNS, frame_to_parquet, read_parquet, rows_to_frame
from hitl_nb._schema import canonical_json
from hitl_nb.demo.generate import generate_log
from hitl_nb.demo.simulate import run_experiment


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def line(name: str, t: float, base: float, base_name: str) -> None:
    print(f"{name:>28}: {t:7.2f} s   {base_name}: {base:6.2f} s   ratio {t / base:6.2f}x")


def build_rows(n: int, base: int) -> list[dict[str, Any]]:
    seed_rows = list(generate_log(base, seed=0))
    rows: list[dict[str, Any]] = []
    copy = 0
    while len(rows) < n:
        # fresh ids per copy so items stay distinct (shared items keep 3 raters each)
        rows.extend({**r, "decision_id": f"{r['decision_id']}-{copy}",
                     "request_id": f"{r['request_id']}-{copy}"}
                    for r in seed_rows[: n - len(rows)])
        copy += 1
    return rows


def plain_summary(df: pd.DataFrame) -> list[Any]:
    """What a quick hand analysis does with plain pandas: counts and shares by action and
    reviewer, mean confidence, latency quantiles (no CIs, no edits, no agreement)."""
    return [pd.crosstab(df["action_name"], df["decision"], normalize="index"),
            pd.crosstab(df["reviewer"], df["decision"], normalize="index"),
            df.groupby("action_name", observed=True)["confidence"].mean(),
            df.groupby("action_name", observed=True)["latency_s"].quantile([0.5, 0.9])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--parquet-rows", type=int, default=200_000,
                        help="rows for the parquet round trip (JSON text per row is slow)")
    args = parser.parse_args()

    t, rows = timed(lambda: build_rows(args.rows, args.base))
    print(f"built {len(rows):,} log rows in {t:.1f}s (from {args.base:,} generated decisions)")

    base, _ = timed(lambda: pd.DataFrame.from_records(rows))
    t, df = timed(lambda: rows_to_frame(rows))
    line("log -> typed DataFrame", t, base, "from_records")
    rows.clear()  # free the dicts before the analysis runs

    analysis.report(df.head(5000))  # warm the lazy imports (sklearn, statsmodels, ...)
    base, _ = timed(lambda: df.groupby("action_name", observed=True)["latency_s"].mean(), 3)
    plain, _ = timed(lambda: plain_summary(df))
    t, rep = timed(lambda: analysis.report(df))
    line("report(df), 12 tables", t, base, "groupby mean")
    line("report(df), 12 tables", t, plain, "plain crosstabs")
    for name, fn in (("rates by reviewer", lambda: analysis.rates(df, "reviewer")),
                     ("edit_summary", lambda: analysis.edit_summary(df)),
                     ("edited_fields", lambda: analysis.edited_fields(df)),
                     ("calibration", lambda: analysis.calibration(df)),
                     ("suggest_thresholds", lambda: analysis.suggest_thresholds(df)),
                     ("agreement", lambda: analysis.agreement(df)),
                     ("latency", lambda: analysis.latency(df))):
        t, _ = timed(fn)
        line(name, t, base, "groupby mean")
    print(rep.agreement.round(3).to_string(index=False))

    df = df.head(args.parquet_rows)
    with tempfile.TemporaryDirectory() as tmp:
        plain = df.copy()
        for col in JSON_COLUMNS:
            plain[col] = plain[col].map(canonical_json)
        path = str(Path(tmp) / "plain.parquet")
        base, _ = timed(lambda: (plain.to_parquet(path), pd.read_parquet(path)))
        ours = str(Path(tmp) / "log.parquet")
        t, back = timed(lambda: (frame_to_parquet(df, ours), read_parquet(ours))[1])
        line(f"parquet round trip, {len(df):,}", t, base, "plain parquet")
        assert back.dtypes.equals(df.dtypes)

    t, curves = timed(lambda: run_experiment(args.episodes, seed=0))
    print(f"\nlearning experiment, {args.episodes} episodes per variant ({t:.1f}s):")
    for label, part in (("episodes 1-10", curves[curves.episode <= 10]),
                        (f"episodes {args.episodes - 9}-{args.episodes}",
                         curves[curves.episode > args.episodes - 10])):
        means = part.groupby("variant")[["edit_rate", "reject_rate", "correction_rate"]].mean()
        print(f"  {label}:\n{means.round(3).to_string()}")
    print(curves.groupby("variant")[["edits", "rejects", "declined", "declined_wrongly"]]
          .sum().to_string())


if __name__ == "__main__":
    main()
