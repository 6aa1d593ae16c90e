"""The notification feed: what the agent did without stopping, live, with Undo.

The front end (`feed.js`) sends `{"type": "undo", "id", "nonce"}`. Each notification
that can still be undone carries a one-time nonce; a message is applied only if it
names a notification of this feed with that nonce, so a double click, a replay or a
forged id runs no compensator. Refusals are shown on the item (`errors`) and kept in
`refusals`.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .._tokens import same_token
from .._validate import DecisionError
from . import _assets

if TYPE_CHECKING:
    from .._notify import Feed

UNDO_KEYS = frozenset({"type", "id", "nonce"})
SHOWN = 50
"""Notifications kept in the widget (newest); older ones are counted, all are in the log."""
MIN_INTERVAL = 0.1
"""Seconds between two syncs while notifications pour in, so an agent doing 10,000
things does not send 10,000 updates; what came in meanwhile follows on a timer."""


class FeedWidget(anywidget.AnyWidget):
    """Live list of automatic actions (time, action, arguments, result, level) with Undo
    while the action's window is open.

    >>> hitl_nb.feed()          # last expression in a cell: this widget
    """

    _esm = _assets.esm("feed.js")
    _css = _assets.css("feed.css")

    items: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    errors: traitlets.Dict[str, str] = traitlets.Dict({}).tag(sync=True)

    def __init__(self, feed: Feed, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feed = feed
        self.refusals: list[str] = []
        self._last_change_sync = 0.0
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self.on_msg(self._on_message)
        feed.subscribe(self._changed)
        self._sync()

    def _changed(self) -> None:
        with self._lock:
            wait = MIN_INTERVAL - (time.monotonic() - self._last_change_sync)
            if wait <= 0:
                self._sync_changes()
            elif self._timer is None:
                # Too soon: one timer sends what arrives meanwhile. Not the end of the cell:
                # a run resumed by a click executes no cell, so that would never come.
                self._timer = threading.Timer(wait, self._sync_changes)
                self._timer.daemon = True
                self._timer.start()

    def _sync_changes(self) -> None:
        """A sync the feed's changes asked for: the throttle counts these only."""
        with self._lock:
            self._last_change_sync = time.monotonic()
            self._sync()

    def _sync(self) -> None:
        with self._lock, self.hold_sync():
            if self._timer is not None:  # this sync sends what the timer waited for
                self._timer.cancel()
                self._timer = None
            self.total = len(self.feed.items)
            self.items = [n.to_json() for n in self.feed.items[-SHOWN:]]

    def _refuse(self, key: Any, reason: str) -> None:
        self.refusals.append(reason)
        self.errors = {**self.errors, (key if isinstance(key, str) else ""): reason}

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "undo":
            self._refuse(None, f"ignored a message that is not an undo: {content!r:.100}")
            return
        key = content.get("id")
        if set(content) - UNDO_KEYS:
            self._refuse(key, f"refused: unexpected fields {sorted(set(content) - UNDO_KEYS)}.")
            return
        try:
            item = self.feed.get(key)
        except DecisionError as exc:
            self._refuse(None, f"refused: {exc}")
            return
        nonce = content.get("nonce")
        if not same_token(nonce, item.nonce):
            try:  # say exactly why when the feed knows (already undone, window closed)
                self.feed.check_undo(item.id)
            except DecisionError as exc:
                self._refuse(key, f"refused: {exc}")
                return
            self._refuse(key, "refused: this undo's token does not match (replayed or "
                              "forged); nothing ran.")
            return
        item.nonce = secrets.token_hex(16)  # spent before running: a second click is a replay
        try:
            self.feed.undo(item.id)
        except DecisionError as exc:
            self._refuse(key, str(exc))
        else:
            self.errors = {k: v for k, v in self.errors.items() if k != item.id}
        self._sync()  # the click's outcome shows at once, not after the throttle
