"""An approval is bound to the exact arguments it approved.

Every logged row carries `args_hash` (SHA-256 of the canonical JSON of `final_args`).
Before a `Session` resumes the graph, each staged decision's arguments are hashed again
and compared with the row logged for it; a mismatch (the decision object was changed
after it was logged, or the logged row was) resumes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._log import LogIntegrityError
from ._schema import Decision, args_hash
from ._validate import DecisionError

if TYPE_CHECKING:
    from ._log import FeedbackLog


class ArgsMismatch(DecisionError):
    """A decision's arguments differ from the ones its logged row approved; nothing was
    resumed. The request is pending again: decide it again (both rows stay logged)."""


def binding_problem(log: FeedbackLog, request_id: str, decision: Decision) -> str | None:
    """Why `decision` may not resume `request_id` (None: it matches its logged row).

    >>> binding_problem(session.log, request.request_id, decision)    # None when bound
    """
    try:
        rows = log.rows_for(request_id)
    except LogIntegrityError as exc:
        return f"its logged row cannot be trusted: {exc}"
    if not rows:
        return "no logged decision backs it"
    row = rows[-1]
    expected = row.get("args_hash")
    actual = args_hash(decision.args)
    if actual != expected:
        return (f"its arguments {decision.args!r:.200} hash to {actual[:12]}..., but the "
                f"logged decision {row.get('decision_id')} approved {str(expected)[:12]}...")
    return None
