"""Confidence communication and calibration, from the feedback log.

* `ConfidenceHistory`: how the agent's stated confidence has fared for an action: at this
  stated confidence, how often were its proposals approved as is? Read incrementally from
  a log; the review widget shows it next to the confidence bar.
* `Calibrator`: maps stated confidence to the approved-as-is rate observed in the log
  (isotonic regression, or per-bin rates), per action. `ConfidenceBelow(0.6,
  calibrator=cal)` then gates on what the confidence has meant, not what it says.

The event is the one `analysis.calibration` scores: approved as proposed (an edit, a
reject or a response counts as the agent being wrong); bins are its equal-width bins.

>>> cal = hitl_nb.Calibrator.fit(train_df)              # isotonic, per action
>>> cal(0.82, action="draft_reply")                       # e.g. 0.21
>>> cal.compare(test_df)                                  # ECE / Brier before and after
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._log import FeedbackLog

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Method = Literal["isotonic", "bins"]
ALL = "(all)"
"""The group key of the fit over every row (used when a group has too few rows)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Track:
    """Stated-confidence history of one (agent, action) in one confidence bin."""

    agent: str | None
    action: str
    confidence: float
    bin_low: float
    bin_high: float
    n: int
    approved: int
    ci_low: float
    ci_high: float

    @property
    def rate(self) -> float:
        return self.approved / self.n

    @property
    def text(self) -> str:
        """One sentence for people: what this confidence has meant so far."""
        def num(x: float) -> str:
            return f"{100 * x:.0f}"

        whose = f"{self.agent}'s " if self.agent else "the agent's "
        return (f"Agent says {num(self.confidence)}%. At {num(self.bin_low)}-"
                f"{num(self.bin_high)}% stated confidence, {whose}{self.action} proposals were "
                f"approved as-is {num(self.rate)}% of the time ({self.approved} of {self.n}; "
                f"95% CI {num(self.ci_low)}-{num(self.ci_high)}%).")

    def to_json(self) -> dict[str, Any]:
        return {"confidence": self.confidence, "bin_low": self.bin_low,
                "bin_high": self.bin_high, "n": self.n, "approved": self.approved,
                "rate": self.rate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "text": self.text}


class ConfidenceHistory:
    """Per (agent, action, confidence bin): reviewed proposals and how many were approved
    as is, kept up to date with a growing log (each call reads only the new rows).

    >>> history = confidence_history(hitl_nb.log())
    >>> print(history.track("schedule_call", 0.85, agent="support").text)
    Agent says 85%. At 80-90% stated confidence, support's schedule_call proposals were
    approved as-is 64% of the time (77 of 120; 95% CI 55-72%).
    """

    def __init__(self, log: FeedbackLog, bins: int = 10) -> None:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"bins must be a whole number >= 1, got {bins!r}")
        self.log = log
        self.bins = bins
        self._seen = 0
        self._counts: dict[tuple[str | None, str, int], list[int]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> ConfidenceHistory:
        """Read the rows appended since the last call."""
        import pandas as pd

        from ._frame import accepted_row
        from .analysis._calibration import _bins
        from .analysis._common import OUTCOMES

        with self._lock:
            keys, confidences, clean = [], [], []
            for row in self.log.rows_since(self._seen):
                self._seen += 1
                confidence = row.get("confidence")
                # the rows `analysis.scored` keeps: a reviewer's decision with a confidence
                if row.get("decision") not in OUTCOMES or row.get("source") == "policy" \
                        or not isinstance(confidence, int | float):
                    continue
                keys.append((row.get("agent"), str(row.get("action_name"))))
                confidences.append(float(confidence))
                clean.append(accepted_row(row.get("decision"), row.get("edited")))
            if not keys:
                return self
            for key, index, ok in zip(keys, _bins(pd.Series(confidences), self.bins), clean,
                                      strict=True):
                counts = self._counts.setdefault((*key, int(index)), [0, 0])
                counts[0] += 1
                counts[1] += int(ok)
        return self

    def track(self, action: str, confidence: float | None, *,
              agent: str | None = None) -> Track | None:
        """The history at `confidence` for (agent, action); None without any."""
        return self.tracks([(action, confidence, agent)])[0]

    def tracks(self, items: Sequence[tuple[str, float | None, str | None]]
               ) -> list[Track | None]:
        """`track` for many (action, confidence, agent) at once: one read of the new
        rows, one binning, one Wilson computation (a widget with 50 cards)."""
        import numpy as np
        import pandas as pd

        from .analysis._calibration import _bins
        from .analysis._common import wilson_interval

        self.refresh()
        out: list[Track | None] = [None] * len(items)
        asked = [(i, action, float(c), agent) for i, (action, c, agent) in enumerate(items)
                 if isinstance(c, int | float) and 0 <= c <= 1]
        if not asked:
            return out
        bins = _bins(pd.Series([c for _, _, c, _ in asked]), self.bins)
        found = [(i, action, c, agent, int(b), self._counts[(agent, action, int(b))])
                 for (i, action, c, agent), b in zip(asked, bins, strict=True)
                 if (agent, action, int(b)) in self._counts]
        if not found:
            return out
        n = np.array([counts[0] for *_, counts in found])
        approved = np.array([counts[1] for *_, counts in found])
        low, high = wilson_interval(approved, n)
        for (i, action, c, agent, b, _), k, m, lo, hi in zip(found, approved, n, low, high,
                                                              strict=True):
            out[i] = Track(agent=agent, action=action, confidence=c, bin_low=b / self.bins,
                           bin_high=(b + 1) / self.bins, n=int(m), approved=int(k),
                           ci_low=float(lo), ci_high=float(hi))
        return out


_histories: weakref.WeakKeyDictionary[FeedbackLog, ConfidenceHistory] = \
    weakref.WeakKeyDictionary()


def confidence_history(log: FeedbackLog) -> ConfidenceHistory:
    """The kept-up-to-date `ConfidenceHistory` of `log` (one per log)."""
    found = _histories.get(log)
    if found is None:
        found = _histories[log] = ConfidenceHistory(log)
    return found


GroupKey = tuple[Any, ...]


class Calibrator:
    """Stated confidence -> how often such proposals were approved as is, fitted on a log.

    >>> cal = Calibrator.fit(hitl_nb.log())                     # isotonic, per action
    >>> cal = Calibrator.fit(train_df, method="bins", by=None)   # one mapping, 10 bins
    >>> cal(0.82, action="draft_reply")
    >>> ConfidenceBelow(0.6, calibrator=cal)                     # gate on calibrated values
    >>> cal.compare(held_out_df)                                  # ECE before / after

    `method`: ``isotonic`` (scikit-learn's `IsotonicRegression`: monotone, the
    `analysis` extra) or ``bins`` (each equal-width bin's approve rate, linear between
    the bins' mean confidences). `by`: fit one mapping per action (``action_name``), per
    agent and action (``["agent", "action_name"]``) or one overall (None); groups with
    fewer than `min_n` scored rows use the overall mapping.
    """

    def __init__(self, mappings: dict[GroupKey, tuple[np.ndarray[Any, Any],
                                                      np.ndarray[Any, Any]]],
                 *, by: Sequence[str], method: Method, n: dict[GroupKey, int]) -> None:
        if (ALL,) not in mappings:
            raise ValueError("a Calibrator needs the overall mapping; use Calibrator.fit(...)")
        self.by = tuple(by)
        self.method: Method = method
        self.n = dict(n)
        self._mappings = dict(mappings)

    @classmethod
    def fit(cls, data: pd.DataFrame | FeedbackLog, *, by: str | Sequence[str] | None =
            "action_name", method: Method = "isotonic", bins: int = 10,
            min_n: int = 30) -> Calibrator:
        """Fit on the reviewed rows with a confidence of a log or its DataFrame."""
        import numpy as np

        from .analysis._calibration import reliability, scored
        from .analysis._common import as_list, with_columns

        frame = data.to_pandas() if isinstance(data, FeedbackLog) else data
        keys = as_list(by)
        unknown = [k for k in keys if k not in ("agent", "action_name")]
        if unknown:
            raise ValueError(f"by= takes 'action_name', 'agent' or both (or None), got "
                             f"{unknown}")
        if method not in ("isotonic", "bins"):
            raise ValueError(f"method must be 'isotonic' or 'bins', got {method!r}")
        frame = with_columns(frame, keys)
        rows = scored(frame, keys)
        if rows.empty:
            raise ValueError("nothing to calibrate on: no reviewed decision with a confidence "
                             "in this log; review some proposals first.")
        groups: list[tuple[GroupKey, pd.DataFrame]] = [((ALL,), rows)]
        if keys:
            for values, part in rows.groupby(keys, observed=True, dropna=False, sort=True):
                key = tuple(None if _missing(v) else v for v in
                            (values if isinstance(values, tuple) else (values,)))
                if len(part) >= min_n:
                    groups.append((key, part))
        mappings = {}
        counts = {}
        for key, part in groups:
            x = part["confidence"].to_numpy(dtype="float64")
            y = part["approved"].to_numpy(dtype="float64")
            if method == "isotonic":
                mappings[key] = _isotonic(x, y)
            else:
                curve = reliability(part.assign(decision=np.where(y == 1, "approve", "edit"),
                                                source="human"), bins=bins)
                mappings[key] = (curve["confidence"].to_numpy(dtype="float64"),
                                 curve["approve_rate"].to_numpy(dtype="float64"))
            counts[key] = len(part)
        return cls(mappings, by=keys, method=method, n=counts)

    def _key(self, action: str | None, agent: str | None) -> GroupKey:
        values = {"action_name": action, "agent": agent}
        key = tuple(values[k] for k in self.by)
        return key if key in self._mappings else (ALL,)

    def __call__(self, confidence: float, *, action: str | None = None,
                 agent: str | None = None) -> float:
        """The calibrated confidence (in [0, 1]) for one stated confidence."""
        import numpy as np

        x, y = self._mappings[self._key(action, agent)]
        return float(np.interp(float(confidence), x, y))

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of a log frame with `confidence` calibrated (the stated value kept in
        `stated_confidence`), ready for `analysis.calibration` / `reliability`."""
        import numpy as np

        out = df.copy()
        out["stated_confidence"] = df["confidence"]
        calibrated = df["confidence"].to_numpy(dtype="float64").copy()
        if self.by:
            groups = df[list(self.by)].astype(object).groupby(
                list(self.by), dropna=False, sort=False).indices
        else:
            groups = {ALL: np.arange(len(df))}
        for values, positions in groups.items():
            named = dict(zip(self.by, values if isinstance(values, tuple) else (values,),
                             strict=False))
            key = self._key(*(None if _missing(named.get(k)) else str(named[k])
                              for k in ("action_name", "agent")))
            x, y = self._mappings[key]
            calibrated[positions] = np.interp(calibrated[positions], x, y)
        out["confidence"] = calibrated  # NaN stays NaN: np.interp(nan) is nan
        return out

    def compare(self, df: pd.DataFrame, by: str | Sequence[str] | None = "action_name",
                bins: int = 10) -> pd.DataFrame:
        """ECE and Brier score of the stated and of the calibrated confidence on `df`
        (use rows the calibrator was not fitted on): `analysis.calibration` twice."""
        from .analysis._calibration import calibration
        from .analysis._common import as_list

        keys = as_list(by)
        before = calibration(df, by=by, bins=bins)
        after = calibration(self.transform(df), by=by, bins=bins)
        out = before[[*keys, "n", "approve_rate"]].copy()
        for name in ("confidence", "brier", "ece"):
            out[f"{name}_stated"] = before[name].to_numpy()
            out[f"{name}_calibrated"] = after[name].to_numpy()
        return out

    def table(self, points: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9)) -> pd.DataFrame:
        """The mapping at a few stated confidences, one row per group."""
        import numpy as np
        import pandas as pd

        rows = []
        for key in self._mappings:
            row: dict[str, Any] = dict(zip(self.by or ("group",), key, strict=False))
            if key == (ALL,):
                row = dict.fromkeys(self.by or ("group",), ALL)
            row["n"] = self.n[key]
            x, y = self._mappings[key]
            for p in points:
                row[f"{p:g}"] = float(np.interp(p, x, y))
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        groups = len(self._mappings) - 1
        per = f"per {' + '.join(self.by)}" if self.by else "overall"
        return (f"<hitl_nb.Calibrator {self.method} {per}: {groups} group(s) + overall, "
                f"{self.n[(ALL,)]} rows>")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _isotonic(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]
              ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    try:
        from sklearn.isotonic import IsotonicRegression
    except ImportError as exc:  # pragma: no cover - the analysis extra is missing
        raise ImportError("method='isotonic' needs scikit-learn: pip install "
                          "'hitl_nb[analysis]', or use method='bins'.") from exc
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    # predict() interpolates linearly between these points and clips outside them
    return (model.X_thresholds_.astype("float64"), model.y_thresholds_.astype("float64"))


def track_records(source: Any, requests: Sequence[Any]) -> dict[str, dict[str, Any] | None]:
    """What the review widget shows next to each request's confidence, by request id
    (None: no history, or no confidence)."""
    log = getattr(source, "log", None)
    if not isinstance(log, FeedbackLog) or not requests:
        return {r.request_id: None for r in requests}
    found = confidence_history(log).tracks([(r.action, r.confidence, r.agent)
                                            for r in requests])
    return {r.request_id: None if t is None else t.to_json()
            for r, t in zip(requests, found, strict=True)}
