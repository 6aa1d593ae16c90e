"""What a review resolves to when its deadline passes (`ask(deadline=)`,
`policy.guard(timeout=)`): the session's `on_timeout`, logged as decision "timeout".

A timeout is nobody's judgement, so it never approves what a person had to approve: a
request that needs a role or several approvers is rejected whatever `on_timeout` says,
and the logged message says which default applied and why.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._reviewer import requirements
from ._schema import Decision, ReviewRequest
from ._validate import make_decision

OnTimeout = Literal["approve", "reject"]
"""`Session(on_timeout=)`: what an expired request resolves to."""

ON_TIMEOUT: tuple[OnTimeout, ...] = get_args(OnTimeout)


def check_on_timeout(value: object) -> OnTimeout:
    """`value` if it is a valid `on_timeout`, else a ValueError naming the choices."""
    for choice in ON_TIMEOUT:
        if value == choice:
            return choice
    raise ValueError(f"on_timeout must be one of {list(ON_TIMEOUT)} (what a request resolves "
                     f"to when its deadline passes), got {value!r}.")


def timeout_decision(request: ReviewRequest, on_timeout: OnTimeout) -> Decision:
    """The decision for `request` once its deadline passed, by the policy, with a
    message that names the default applied."""
    action: OnTimeout = on_timeout
    why = ""
    needs = requirements(request.required_roles, request.approvals_needed)
    if action == "approve" and needs:  # only people may give these
        action, why = "reject", (f" (on_timeout=approve does not apply: it needs "
                                 f"{' and '.join(needs)}, and a timeout approves nothing a "
                                 "person must)")
    elif action not in request.allowed:
        action, why = "reject", f" ({on_timeout} is not allowed for this request)"
    deadline = f"{request.deadline:%Y-%m-%d %H:%M:%S %Z}"
    return make_decision(request, action, source="policy", reviewer="policy",
                         message=f"no decision before the deadline {deadline}; "
                                 f"default: {action}{why}")
