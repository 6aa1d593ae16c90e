"""hitl_nb: human-in-the-loop review of AI agents, native to Jupyter.

>>> %load_ext hitl_nb
>>> graph.invoke({"messages": [("user", "refund order 1042")]}, config)  # a review widget
>>> hitl_nb.log().to_pandas()                                 # one row per decision
"""

from ._ask import ask, ask_many
from ._calibrate import Calibrator
from ._collab import Answer, ask_input, ask_plan
from ._inbox import Inbox, inbox
from ._ipython import load_ipython_extension, unload_ipython_extension
from ._log import FeedbackLog, LogIntegrityError, Verification, log, read_parquet, use_log
from ._log_binding import ArgsMismatch
from ._notify import Feed, Notification, UndoError, feed, notifies, notify
from ._override import (
    EmergencyStop,
    Halt,
    Stopped,
    StopRecord,
    UndoReport,
    check_stop,
    compensate,
    emergency_stop,
    guarded,
    halted,
    resume_all,
)
from ._payloads import PayloadError
from ._plan import Plan, Step
from ._plan_graph import NeedsHuman, plan_graph
from ._policy import (
    ConfidenceBelow,
    Critical,
    Fired,
    Gate,
    Policy,
    Proposal,
    RequiresRole,
    RiskAtLeast,
    Threshold,
    TwoPersonRule,
    Verdict,
)
from ._preferences import Preferences
from ._review_base import SessionBusy, StaleDecision
from ._reviewer import Approvals, NotAuthorized, Reviewer, reviewer
from ._schema import Action, Decision, Level, ReviewRequest
from ._session import Session, current
from ._source import ReviewSource
from ._trust import Trust, TrustChange, TrustGate, TrustStatus
from ._validate import DecisionError
from .widgets.batch import BatchReview, BulkResult
from .widgets.plan import PlanWidget
from .widgets.review import ReviewWidget

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Answer",
    "Approvals",
    "ArgsMismatch",
    "BatchReview",
    "BulkResult",
    "Calibrator",
    "ConfidenceBelow",
    "Critical",
    "Decision",
    "DecisionError",
    "EmergencyStop",
    "Feed",
    "FeedbackLog",
    "Fired",
    "Gate",
    "Halt",
    "Inbox",
    "Level",
    "LogIntegrityError",
    "NeedsHuman",
    "NotAuthorized",
    "Notification",
    "PayloadError",
    "Plan",
    "PlanWidget",
    "Policy",
    "Preferences",
    "Proposal",
    "RequiresRole",
    "ReviewRequest",
    "ReviewSource",
    "ReviewWidget",
    "Reviewer",
    "RiskAtLeast",
    "Session",
    "SessionBusy",
    "StaleDecision",
    "Step",
    "StopRecord",
    "Stopped",
    "Threshold",
    "Trust",
    "TrustChange",
    "TrustGate",
    "TrustStatus",
    "TwoPersonRule",
    "UndoError",
    "UndoReport",
    "Verdict",
    "Verification",
    "__version__",
    "ask",
    "ask_input",
    "ask_many",
    "ask_plan",
    "check_stop",
    "compensate",
    "current",
    "emergency_stop",
    "feed",
    "guarded",
    "halted",
    "inbox",
    "load_ipython_extension",
    "log",
    "notifies",
    "notify",
    "plan_graph",
    "read_parquet",
    "resume_all",
    "reviewer",
    "unload_ipython_extension",
    "use_log",
]
