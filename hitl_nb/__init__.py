"""hitl_nb: human-in-the-loop review of AI agents, native to Jupyter.

>>> %load_ext hitl_nb
>>> graph.invoke({"request": "refund order 1042"}, config)   # renders a review widget
>>> hitl_nb.log().to_pandas()                                 # one row per decision
"""

from ._ask import ask, ask_many
from ._ipython import load_ipython_extension, unload_ipython_extension
from ._log import FeedbackLog, Verification, log
from ._notify import Feed, Notification, UndoError, feed, notifies, notify
from ._payloads import PayloadError
from ._schema import Action, Decision, Level, ReviewRequest
from ._session import Session, SessionBusy, StaleDecision, current
from ._validate import DecisionError
from .widgets.batch import BatchReview, BulkResult
from .widgets.review import ReviewWidget

__version__ = "0.1.0"

__all__ = [
    "Action",
    "BatchReview",
    "BulkResult",
    "Decision",
    "DecisionError",
    "Feed",
    "FeedbackLog",
    "Level",
    "Notification",
    "PayloadError",
    "ReviewRequest",
    "ReviewWidget",
    "Session",
    "SessionBusy",
    "StaleDecision",
    "UndoError",
    "Verification",
    "__version__",
    "ask",
    "ask_many",
    "current",
    "feed",
    "load_ipython_extension",
    "log",
    "notifies",
    "notify",
    "unload_ipython_extension",
]
