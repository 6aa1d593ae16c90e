"""The notify level: an action runs without stopping and the human is told afterwards.

`notify(...)` is the one entry point the policy layer (and agent authors) call after an
action ran at the `notify` (or `autonomy`) level: it logs the action with
`source="policy"` and `decision="auto"` so analysis sees every automatic action next to
the reviewed ones. The notification feed widget and undo build on this.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ._log import FeedbackLog
from ._log import log as default_log
from ._schema import Level, ReviewRequest


def notify(*, action: str, args: dict[str, Any] | None = None, result: Any = None,
           reason: str | None = None, level: Level = "notify",
           undo: Callable[[], Any] | None = None, log: FeedbackLog | None = None,
           thread_id: str | None = None, agent: str | None = None) -> dict[str, Any]:
    """Record that `action` ran without review; returns the stored log row."""
    request = ReviewRequest(request_id=f"auto:{uuid.uuid4().hex}", interrupt_id="", kind="ask",
                            action=action, args=dict(args or {}), reason=reason, level=level,
                            thread_id=thread_id, agent=agent)
    target = log if log is not None else default_log()
    return target.record(request, None)
