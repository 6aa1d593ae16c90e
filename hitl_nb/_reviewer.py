"""Who is deciding, and whether they may: reviewer identity, roles, the two-person rule.

`hitl_nb.reviewer("alice", roles=["finance"])` names the person deciding in this kernel
(also a context manager). `Session.decide` calls `authorize` before anything is logged
or resumed, so a forged widget message or a direct call is refused the same way a
disabled button is. Approvals so far are read back from the feedback log
(`log.rows_for(request_id)`), so with a persistent log they survive a kernel restart.

Roles are asserted in the kernel: the check protects against the front end (whose
messages cannot name a reviewer) and against honest mistakes, not against someone who
can run code in the kernel.
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ._schema import Action, ReviewRequest, args_hash
from ._validate import DecisionError

APPROVING = ("approve", "edit")
"""Decisions that count as an approval (of the arguments they carry)."""


class NotAuthorized(DecisionError):
    """The reviewer may not take this decision (missing role, or already approved under
    a two-person rule); nothing was logged and nothing resumed."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    """A person deciding, with the roles they hold.

    >>> hitl_nb.reviewer("alice", roles=["finance"])       # from now on in this kernel
    >>> with hitl_nb.reviewer("bob", roles=["finance"]):   # just for this block
    ...     session.approve()
    """

    name: str
    roles: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"reviewer name must be a non-empty string such as 'alice', "
                             f"got {self.name!r}")
        # "alice " is alice: stray whitespace must not make a second approver
        object.__setattr__(self, "name", self.name.strip())
        roles = (self.roles,) if isinstance(self.roles, str) else tuple(self.roles)
        if not all(isinstance(r, str) and r for r in roles):
            raise ValueError(f"roles must be non-empty strings, got {self.roles!r}")
        object.__setattr__(self, "roles", tuple(dict.fromkeys(roles)))

    def holds(self, roles: Iterable[str]) -> bool:
        """True when this reviewer holds every role in `roles`."""
        return set(roles) <= set(self.roles)

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(self.roles)})" if self.roles else self.name

    def __enter__(self) -> Reviewer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _restore(self)


_current: Reviewer | None = None
_saved: list[tuple[Reviewer, Reviewer | None]] = []
_listeners: list[Any] = []
_SAVED_MAX = 64


def default_reviewer() -> Reviewer:
    """`$HITL_NB_REVIEWER` (or the OS user) with the roles in `$HITL_NB_REVIEWER_ROLES`."""
    return _default(os.environ.get("HITL_NB_REVIEWER"),
                    os.environ.get("HITL_NB_REVIEWER_ROLES", ""))


@functools.lru_cache(maxsize=8)
def _default(name: str | None, roles: str) -> Reviewer:
    # Cached: every widget redraw asks who is reviewing, and getuser() reads the passwd db.
    return Reviewer(name or getpass.getuser(),
                    tuple(r for r in (r.strip() for r in roles.split(",")) if r))


def current_reviewer() -> Reviewer:
    """The reviewer set with `hitl_nb.reviewer(...)`, else the default one."""
    return _current if _current is not None else default_reviewer()


def reviewer(name: str | None = None, *, roles: Sequence[str] = ()) -> Reviewer:
    """Set who decides in this kernel; returns the `Reviewer` (a context manager that
    restores the previous one). Without a name: returns the current reviewer.

    >>> hitl_nb.reviewer("alice", roles=["finance"])
    >>> hitl_nb.reviewer()
    Reviewer(name='alice', roles=('finance',))

    `Session(reviewer=...)` and `session.approve(reviewer=...)` override it for one
    session or one decision; a front-end click uses the one set here.
    """
    global _current
    if name is None:
        return current_reviewer()
    who = Reviewer(name, tuple(roles))
    _saved.append((who, _current))
    del _saved[:-_SAVED_MAX]
    _current = who
    _changed()
    return who


def _restore(who: Reviewer) -> None:
    global _current
    for index in range(len(_saved) - 1, -1, -1):
        if _saved[index][0] is who:
            _current = _saved[index][1]
            del _saved[index:]
            _changed()
            return


def subscribe(listener: Any) -> None:
    """Call `listener()` whenever the kernel's reviewer changes (widgets redraw).
    Bound methods are held weakly, so a closed widget is not kept alive."""
    import weakref

    ref = weakref.WeakMethod(listener) if hasattr(listener, "__self__") else (lambda: listener)
    _listeners.append(ref)


def _changed() -> None:
    alive = []
    for ref in _listeners:
        listener = ref()
        if listener is not None:
            alive.append(ref)
            listener()
    _listeners[:] = alive


def as_reviewer(who: str | Reviewer | None) -> Reviewer | None:
    """A name alone is a reviewer without roles."""
    if who is None or isinstance(who, Reviewer):
        return who
    if isinstance(who, str):
        return Reviewer(who)
    raise TypeError(f"reviewer must be a name or hitl_nb.Reviewer(name, roles), got {who!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Approvals:
    """Where a multi-approver request stands: the arguments now up for approval and who
    approved exactly those (an edit starts a new count for the edited arguments)."""

    needed: int
    args: dict[str, Any]
    by: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return len(self.by) >= self.needed

    def __str__(self) -> str:
        who = f" ({', '.join(self.by)})" if self.by else ""
        return f"{len(self.by)} of {self.needed} approval{'s' if self.needed > 1 else ''}{who}"


def approvals(request: ReviewRequest, rows: Iterable[dict[str, Any]]) -> Approvals:
    """Approvals of `request` so far, from its log rows (oldest first).

    Each approval is bound to the hash of the arguments it approved: the arguments up
    for approval are the latest approved ones, and only approvals of exactly those count.
    """
    args = request.args
    by: dict[str, str] = {}  # person -> name as first logged
    for row in rows:
        name = row.get("reviewer")
        if row.get("decision") not in APPROVING or not isinstance(name, str) \
                or not name.strip():
            continue
        final = row.get("final_args")
        if not isinstance(final, dict):
            continue
        if row.get("args_hash") != args_hash(args):
            args, by = final, {}
        by.setdefault(person(name), name.strip())
    return Approvals(needed=request.approvals_needed, args=args, by=tuple(by.values()))


def person(name: str) -> str:
    """Who a reviewer name stands for, for the distinct-approver rule: "Alice" and
    "alice " are one person."""
    return name.strip().casefold()


def requirements(roles: Sequence[str], approvals: int) -> list[str]:
    """Who must decide, in words: ``["role finance + ops", "2 different approvers"]``
    (empty when anyone may, alone)."""
    needs = []
    if roles:
        needs.append("role " + " + ".join(roles))
    if approvals > 1:
        needs.append(f"{approvals} different approvers")
    return needs


def held_roles(who: Reviewer) -> str | None:
    """The `role` column: every role the reviewer held when deciding, comma-separated."""
    return ",".join(who.roles) or None


def refusal(request: ReviewRequest, who: Reviewer, action: Action | str,
            state: Approvals | None, args: Any = None) -> str | None:
    """Why `who` may not take `action` on `request` (None: they may)."""
    if request.required_roles and not who.holds(request.required_roles):
        missing = [r for r in request.required_roles if r not in who.roles]
        return (f"{who.name} may not decide {request.action!r}: it needs role "
                f"{' + '.join(request.required_roles)} and {who.name} lacks "
                f"{', '.join(missing)}. Ask a reviewer who holds it, or set "
                f"hitl_nb.reviewer(name, roles=[...]).")
    if state is not None and action in APPROVING \
            and person(who.name) in {person(name) for name in state.by}:
        final = state.args if args is None or action == "approve" else args
        if args_hash(final) == args_hash(state.args):
            return (f"{who.name} already approved {request.action!r}; "
                    f"{request.approvals_needed} different reviewers must approve "
                    f"({state}).")
    return None


def authorize(request: ReviewRequest, who: Reviewer, action: Action | str,
              state: Approvals | None, args: Any = None) -> None:
    """Raise `NotAuthorized` naming the fix when `who` may not take `action`."""
    reason = refusal(request, who, action, state, args)
    if reason is not None:
        raise NotAuthorized(reason)
