"""The plan view: review a shared plan, follow its progress, do your steps.

`PlanWidget` is a `ReviewWidget` with its own front end (`plan.js`): the same synced
state (pending requests with one-time nonces, history, status) and the same message
handler, so a plan edit, a step's result or a reassignment is the same
`{"type": "decision", "request_id", "nonce", "action", "args", "message", "rating",
"comment"}` message, validated the same way and decided through `Session.decide`.
It adds `plan`: the plan as it stands (proposed, in progress, or done).

`view(session)` is what a session displays as: this widget above the review widget when a
plan, a plan step or a human-led input is pending (the review widget then points to it
instead of showing those cards twice), the review widget alone otherwise.
"""

from __future__ import annotations

import weakref
from typing import Any

import ipywidgets
import traitlets

from .._schema import Decision, ReviewRequest
from .._session import Session
from . import _assets
from .review import ReviewWidget

SHOWN_HERE = ("plan", "step", "input")
"""Collab modes this widget decides (co-edited drafts stay on the review card)."""


def current_plan(session: Session) -> dict[str, Any]:
    """The plan as it stands: the one under review or paused on, else the thread's
    state (`plan` key, as `hitl_nb.plan_graph` keeps it), else `{}`."""
    for request in session.pending:
        collab = request.collab or {}
        if collab.get("mode") == "plan":
            return {"goal": collab.get("goal"), "status": "proposed", "message": None,
                    "steps": request.args["steps"]}
        if collab.get("mode") == "step":
            return dict(collab["plan"])
    if session.status in ("idle", "running"):
        return {}
    values = session.graph.get_state(session.config).values
    plan = values.get("plan") if isinstance(values, dict) else None
    return plan if isinstance(plan, dict) and isinstance(plan.get("steps"), list) else {}


class PlanWidget(ReviewWidget):
    """Review a plan as a whole (reorder, delete, add, reword, assign each step to the
    agent or to you), then follow it: steps done and by whom, the step you are asked to
    do (with the agent's options and evidence), and who does the steps still to do.

    >>> hitl_nb.PlanWidget(session)     # or just display the session
    """

    _esm = _assets.esm("plan.js")
    _css = _assets.css("review.css", "plan.css")  # the review card's classes, then its own

    plan: traitlets.Dict[str, Any] = traitlets.Dict({}).tag(sync=True)

    def __init__(self, session: Session, **kwargs: Any) -> None:
        if not isinstance(session, Session):
            raise TypeError("PlanWidget needs a hitl_nb.Session (a LangGraph run); got "
                            f"{type(session).__name__}.")
        super().__init__(session, **kwargs)

    def _sync(self) -> None:
        super()._sync()
        if isinstance(self.session, Session):
            self.plan = current_plan(self.session)

    def _decided(self, request: ReviewRequest, decision: Decision, staged: bool,
                 undone: bool = False) -> dict[str, Any]:
        """Decided cards live in the review widget; the plan shows progress instead, so
        skip their change lists (a reordered long plan's patch is long)."""
        return {"request": {"request_id": request.request_id, "action": request.action},
                "action": decision.action, "override": decision.override, "staged": staged,
                "undone": undone}


_views: weakref.WeakKeyDictionary[Session, Any] = weakref.WeakKeyDictionary()


def view(session: Session) -> Any:
    """The widget a session displays as (see the module docstring)."""
    if session in _views:
        return _views[session]
    if not any((r.collab or {}).get("mode") in SHOWN_HERE for r in session.pending):
        return session.widget()
    review = session.widget()
    review.delegated = list(SHOWN_HERE)
    box = PlanView(session, [PlanWidget(session), review])
    _views[session] = box
    return box


class PlanView(ipywidgets.VBox):  # type: ignore[misc]
    """The plan view above the review widget, for one session."""

    def __init__(self, session: Session, children: list[Any]) -> None:
        super().__init__(children)
        self.session = session

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from .._session import set_current

        set_current(self.session)
        return super()._repr_mimebundle_(**kwargs)
