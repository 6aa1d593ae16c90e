"""Analysis of feedback logs: pure functions on `FeedbackLog.to_pandas()` frames.

Each function takes the log's DataFrame and returns a DataFrame; `report(df)` runs them
all; the `plot_*` helpers draw their tables with matplotlib and return the Axes.

>>> from hitl_nb import analysis
>>> df = hitl_nb.log().to_pandas()
>>> analysis.rates(df, "reviewer")          # approve/edit/reject/respond with Wilson CIs
>>> analysis.suggest_thresholds(df, target=0.05)
>>> analysis.report(df).agreement
"""

from .._log import read_parquet
from .._pairs import preference_pairs, write_pairs, write_preference_pairs
from ._agreement import agreement, fleiss, krippendorff_alpha, pairwise_kappa, ratings
from ._calibration import calibration, reliability, scored, suggest_thresholds
from ._collab import options_taken, revision_rounds, workload
from ._common import OUTCOMES, reviewed, wilson_interval
from ._edits import edit_sizes, edit_summary, edited_fields, field_edits
from ._latency import latency
from ._plots import plot_calibration, plot_learning_curves, plot_rates
from ._rates import rates
from ._report import Report, report

__all__ = [
    "OUTCOMES",
    "Report",
    "agreement",
    "calibration",
    "edit_sizes",
    "edit_summary",
    "edited_fields",
    "field_edits",
    "fleiss",
    "krippendorff_alpha",
    "latency",
    "options_taken",
    "pairwise_kappa",
    "plot_calibration",
    "plot_learning_curves",
    "plot_rates",
    "preference_pairs",
    "rates",
    "ratings",
    "read_parquet",
    "reliability",
    "report",
    "reviewed",
    "revision_rounds",
    "scored",
    "suggest_thresholds",
    "wilson_interval",
    "workload",
    "write_pairs",
    "write_preference_pairs",
]
