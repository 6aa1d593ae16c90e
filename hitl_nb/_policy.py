"""Approval gates: how much human oversight one proposed action gets, and why.

A `Policy` is a list of declarative gates. Each gate looks at one proposal (action name,
arguments, the agent's confidence, a risk label or score) and either stays quiet or
*fires* with a spectrum level, the values that triggered it, and who must approve.
Combining is strict: the highest level wins, required roles add up, the largest number
of approvers wins, and the explanation names every gate that fired.

>>> policy = Policy([
...     Critical(actions=["delete_account"], level="human_leads"),
...     Threshold("amount", ">", 50, actions=["issue_refund"], name="refund_amount"),
...     ConfidenceBelow(0.6),
...     RequiresRole("finance", actions=["issue_refund"]),
... ])
>>> verdict = policy.evaluate("issue_refund", {"amount": 80.0}, confidence=0.42)
>>> verdict.level, verdict.required_roles
('confirm', ('finance',))
>>> print(verdict.explanation.replace("; ", "\\n"))
amount 80.0 > 50 (threshold:refund_amount)
confidence 0.42 < 0.6 (confidence)
issue_refund needs role finance (role:finance)
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from ._payloads import PayloadError, _confidence
from ._reviewer import requirements
from ._schema import LEVELS, Level

REVIEW_LEVELS: tuple[Level, ...] = ("confirm", "collaborate", "human_leads")
"""Levels at which a human decides before the action runs."""

RISK_SCALE: tuple[str, ...] = ("low", "medium", "high", "critical")
"""Default order of risk labels, lowest first."""

Op = Literal[">", ">=", "<", "<=", "==", "!=", "in", "not in"]
OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
ORDERING: tuple[str, ...] = (">", ">=", "<", "<=")
"""Operators that read their operands as numbers (or strings) in order."""
Missing = Literal["skip", "fire"]
Predicate = Callable[[str, dict[str, Any]], bool]
"""`when=` predicates receive the action name and its arguments."""

_MISSING = object()


def rank(level: Level) -> int:
    """Position of `level` on the spectrum (autonomy 0 ... human_leads 4)."""
    return LEVELS.index(level)


@dataclass(frozen=True, kw_only=True, slots=True)
class Proposal:
    """What a gate looks at: one action the agent wants to take."""

    action: str
    args: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    risk: str | float | None = None
    agent: str | None = None


class Recalibrates(Protocol):
    """Maps an agent's stated confidence to a calibrated one (`hitl_nb.Calibrator`)."""

    def __call__(self, confidence: float, *, action: str | None = None,
                 agent: str | None = None) -> float: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Fired:
    """One gate that fired: its id, the level it asks for, and the triggering values."""

    gate: str
    level: Level
    reason: str
    values: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    approvals: int = 1

    def __str__(self) -> str:
        return f"{self.reason} ({self.gate})"

    def to_json(self) -> dict[str, Any]:
        """The JSON the review widget shows (and `hitl_nb.ask(gates=...)` carries)."""
        return {"gate": self.gate, "level": self.level, "reason": self.reason,
                "values": dict(self.values), "roles": list(self.roles),
                "approvals": self.approvals}


def _strings(value: str | Iterable[str] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) and v for v in items):
        raise TypeError(f"{what} must be non-empty strings, got {value!r}")
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, kw_only=True, slots=True)
class Gate:
    """Base of every gate. Subclasses implement `_test`.

    Shared keywords: `name` (shown in the gate id, e.g. ``threshold:refund_amount``),
    `actions` (only these action names; default: every action), `when` (an extra
    ``(action, args) -> bool`` condition), `level` (what the gate asks for when it
    fires), `roles` (every approver must hold all of them) and `approvals` (distinct
    approvers needed, 2 for a two-person rule).
    """

    name: str | None = None
    actions: Sequence[str] | None = None
    when: Predicate | None = None
    level: Level = "confirm"
    roles: Sequence[str] = ()
    approvals: int = 1

    kind: ClassVar[str] = "gate"

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", _strings(self.actions, "actions"))
        object.__setattr__(self, "roles", _strings(self.roles, "roles") or ())
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {list(LEVELS)}, got {self.level!r}")
        if isinstance(self.approvals, bool) or not isinstance(self.approvals, int) \
                or self.approvals < 1:
            raise ValueError(f"approvals must be a whole number >= 1, got {self.approvals!r}")
        if (self.roles or self.approvals > 1) and self.level not in REVIEW_LEVELS:
            raise ValueError(f"{self.id}: a gate that requires a role or several approvers "
                             f"needs a human decision, so its level must be one of "
                             f"{list(REVIEW_LEVELS)}, not {self.level!r}")

    @property
    def id(self) -> str:
        """How explanations and the log name this gate (``kind`` or ``kind:name``)."""
        return f"{self.kind}:{self.name}" if self.name else self.kind

    def applies(self, proposal: Proposal) -> bool:
        if self.actions is not None and proposal.action not in self.actions:
            return False
        return self.when is None or bool(self.when(proposal.action, proposal.args))

    def check(self, proposal: Proposal) -> Fired | None:
        """The firing for `proposal`, or None when the gate stays quiet."""
        if not self.applies(proposal):
            return None
        hit = self._test(proposal)
        if hit is None:
            return None
        reason, values = hit
        return Fired(gate=self.id, level=self.level, reason=reason, values=values,
                     roles=tuple(self.roles), approvals=self.approvals)

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]] | None:
        raise NotImplementedError

    def _scope(self) -> str:
        parts = []
        if self.actions is not None:
            parts.append("on " + ", ".join(self.actions))
        if self.when is not None:
            parts.append(f"when {getattr(self.when, '__name__', 'predicate')}")
        if self.roles:
            parts.append("role " + " + ".join(self.roles))
        if self.approvals > 1:
            parts.append(f"{self.approvals} approvers")
        return (" " + " ".join(parts)) if parts else ""

    def describe(self) -> str:
        """One line for `Policy.__repr__`: what the gate checks and what it asks for."""
        return f"{self.id}:{self._scope()} -> {self.level}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


@dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class Critical(Gate):
    """Named actions (or those matching `when`) always stop for a human.

    >>> Critical(actions=["delete_account", "wire_transfer"], level="human_leads")
    >>> Critical(when=lambda action, args: args.get("to", "").endswith("@external.com"),
    ...          description="recipient outside the company")

    `description` replaces the default reason text ("X is a critical action"). With a
    level below confirm (``level="notify"``) the gate marks actions to report after the
    fact instead.
    """

    description: str | None = None
    kind: ClassVar[str] = "critical"

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]]:
        reason = self.description or f"{proposal.action} is a critical action"
        return reason, {"action": proposal.action}


def _is_nan(value: Any) -> bool:
    # NaN compares false with everything: `nan > 50` and `nan <= 50` both let it through.
    return isinstance(value, numbers.Number) and not isinstance(value, bool) \
        and value != value


def not_comparable(value: Any, op: str) -> bool:
    """True when `value` cannot be judged by `op`: NaN for any operator, and a bool for
    an ordering one (`True > 50` compares 1 with 50)."""
    if isinstance(value, bool):
        return op in ORDERING
    return _is_nan(value)


def field_value(args: Any, path: str) -> Any:
    """``args["customer"]["tier"]`` for ``"customer.tier"``; list items by index
    (``"items.0.price"``). Returns a private sentinel when a step is missing."""
    value = args
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and part.lstrip("-").isdigit() \
                and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


@dataclass(frozen=True, slots=True, repr=False)
class Threshold(Gate):
    """Fires when an argument compares true against a limit.

    >>> Threshold("amount", ">", 50, actions=["issue_refund"], name="refund_amount")
    >>> Threshold("customer.country", "not in", ["DE", "FR"])

    `field` is a dotted path into the arguments. Operators: ``> >= < <= == != in
    not in``. A missing field is skipped (``on_missing="fire"`` to stop instead); a
    value that cannot be compared (``"80" > 50``, NaN, a bool against ``>``) always
    fires: the gate fails closed.
    """

    field: str
    op: Op
    value: Any
    _: KW_ONLY
    on_missing: Missing = "skip"
    kind: ClassVar[str] = "threshold"

    def __post_init__(self) -> None:
        Gate.__post_init__(self)
        if self.op not in OPS:
            raise ValueError(f"op must be one of {list(OPS)}, got {self.op!r}")
        if not isinstance(self.field, str) or not self.field:
            raise ValueError(f"field must be a dotted path such as 'amount' or "
                             f"'customer.tier', got {self.field!r}")
        if not_comparable(self.value, self.op):
            raise ValueError(f"Threshold limit {self.value!r} cannot be compared with "
                             f"{self.op}; give a number such as 50")

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name or self.field}"

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]] | None:
        actual = field_value(proposal.args, self.field)
        if actual is _MISSING:
            if self.on_missing == "fire":
                return f"{self.field} missing (needed for {self.op} {self.value!r})", {}
            return None
        if not_comparable(actual, self.op):
            return (f"{self.field} {actual!r} is not a comparable number (needed for "
                    f"{self.op} {self.value!r})", {self.field: actual})
        try:
            hit = bool(OPS[self.op](actual, self.value))
        except TypeError:
            return (f"{self.field} {actual!r} cannot be compared with {self.op} "
                    f"{self.value!r}", {self.field: actual})
        if not hit:
            return None
        return f"{self.field} {actual!r} {self.op} {self.value!r}", {self.field: actual}

    def describe(self) -> str:
        return f"{self.id}: {self.field} {self.op} {self.value!r}{self._scope()} -> {self.level}"


@dataclass(frozen=True, slots=True, repr=False)
class ConfidenceBelow(Gate):
    """Fires when the agent's confidence is below `threshold` (0..1).

    >>> ConfidenceBelow(0.6)                      # unsure -> confirm
    >>> ConfidenceBelow(0.3, level="human_leads")
    >>> ConfidenceBelow(0.6, calibrator=hitl_nb.Calibrator.fit(log))   # calibrated first

    Without a confidence the gate is skipped (``on_missing="fire"`` to stop instead).
    With a `calibrator` the stated confidence is first mapped to how often such
    proposals were approved as is (see `hitl_nb.Calibrator`), and the reason names both.
    """

    threshold: float
    _: KW_ONLY
    on_missing: Missing = "skip"
    calibrator: Recalibrates | None = None
    kind: ClassVar[str] = "confidence"

    def __post_init__(self) -> None:
        Gate.__post_init__(self)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float) \
                or not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be a number between 0 and 1, got "
                             f"{self.threshold!r}")

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]] | None:
        if proposal.confidence is None:
            if self.on_missing == "fire":
                return "confidence unknown", {"confidence": None}
            return None
        if self.calibrator is not None:
            calibrated = float(self.calibrator(proposal.confidence, action=proposal.action,
                                               agent=proposal.agent))
            if calibrated < self.threshold:
                return (f"calibrated confidence {calibrated:.2f} (agent said "
                        f"{proposal.confidence:g}) < {self.threshold:g}",
                        {"confidence": proposal.confidence, "calibrated": calibrated})
            return None
        if proposal.confidence < self.threshold:
            return (f"confidence {proposal.confidence:g} < {self.threshold:g}",
                    {"confidence": proposal.confidence})
        return None

    def describe(self) -> str:
        calibrated = " (calibrated)" if self.calibrator is not None else ""
        return (f"{self.id}: below {self.threshold:g}{calibrated}{self._scope()} -> "
                f"{self.level}")


def _number(value: Any) -> float | None:
    """`value` as a finite float, or None (bools, NaN, infinities, text that is not one)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True, repr=False)
class RiskAtLeast(Gate):
    """Fires when the risk label (on `scale`) or score reaches `threshold`.

    >>> RiskAtLeast("high")                        # high or critical -> confirm
    >>> RiskAtLeast(0.7, level="collaborate")      # numeric risk scores

    A label that is not on the scale, or a score that is not a finite number (NaN, a
    bool), fires (fails closed); no risk skips the gate (``on_missing="fire"`` to stop
    instead).
    """

    threshold: str | float
    _: KW_ONLY
    scale: Sequence[str] = RISK_SCALE
    on_missing: Missing = "skip"
    kind: ClassVar[str] = "risk"

    def __post_init__(self) -> None:
        Gate.__post_init__(self)
        object.__setattr__(self, "scale", _strings(self.scale, "scale") or ())
        if isinstance(self.threshold, str) and self.threshold not in self.scale:
            raise ValueError(f"risk threshold {self.threshold!r} is not on the scale "
                             f"{list(self.scale)}; pass scale=[...] or a number")
        if not isinstance(self.threshold, str) and _number(self.threshold) is None:
            raise ValueError(f"risk threshold must be a label or a number, got "
                             f"{self.threshold!r}")

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]] | None:
        risk = proposal.risk
        if risk is None:
            return ("risk unknown", {"risk": None}) if self.on_missing == "fire" else None
        if isinstance(self.threshold, str):
            label = str(risk)
            if label not in self.scale:
                return (f"risk {label!r} is not on the scale {' < '.join(self.scale)}",
                        {"risk": risk})
            hit = self.scale.index(label) >= self.scale.index(self.threshold)
        else:
            score = _number(risk)
            if score is None:
                return f"risk {risk!r} is not a comparable number", {"risk": risk}
            hit = score >= float(self.threshold)
        return (f"risk {risk} >= {self.threshold}", {"risk": risk}) if hit else None

    def describe(self) -> str:
        return f"{self.id}: at least {self.threshold}{self._scope()} -> {self.level}"


@dataclass(frozen=True, slots=True, repr=False)
class RequiresRole(Gate):
    """Only a reviewer holding `role` may decide (enforced in `Session.decide`).

    >>> RequiresRole("finance", actions=["issue_refund"])
    >>> RequiresRole("security", when=lambda action, args: args.get("scope") == "admin")
    """

    role: str
    _: KW_ONLY
    kind: ClassVar[str] = "role"

    def __post_init__(self) -> None:
        if not isinstance(self.role, str) or not self.role:
            raise ValueError(f"role must be a non-empty string, got {self.role!r}")
        object.__setattr__(self, "roles", (self.role, *(self.roles or ())))
        Gate.__post_init__(self)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name or self.role}"

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]]:
        return (f"{proposal.action} needs role {' + '.join(self.roles)}",
                {"action": proposal.action})


@dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class TwoPersonRule(Gate):
    """`approvals` different reviewers must approve (two by default).

    >>> TwoPersonRule(actions=["wire_transfer"])
    >>> TwoPersonRule(approvals=3, roles=["treasury"], actions=["close_fund"])
    """

    approvals: int = 2
    kind: ClassVar[str] = "two_person"

    def _test(self, proposal: Proposal) -> tuple[str, dict[str, Any]]:
        return (f"{proposal.action} needs {self.approvals} different approvers",
                {"action": proposal.action})


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The policy's answer for one proposal: level, fired gates, who must approve.

    >>> verdict.needs_review          # confirm, collaborate or human_leads
    >>> hitl_nb.ask(**verdict.ask_kwargs(reason="customer asked"))
    """

    action: str
    args: dict[str, Any] = field(default_factory=dict)
    level: Level = "autonomy"
    fired: tuple[Fired, ...] = ()
    required_roles: tuple[str, ...] = ()
    approvals_needed: int = 1
    confidence: float | None = None
    risk: str | float | None = None

    @property
    def needs_review(self) -> bool:
        """True when a human decides before the action runs."""
        return self.level in REVIEW_LEVELS

    @property
    def gate(self) -> str | None:
        """Ids of the gates that fired, comma-separated (the log's `gate` column)."""
        return ", ".join(f.gate for f in self.fired) or None

    @property
    def explanation(self) -> str:
        """Every gate that fired with the values that triggered it, `; `-separated."""
        if not self.fired:
            return f"no gate fired (default: {self.level})"
        return "; ".join(str(f) for f in self.fired)

    @property
    def gates(self) -> list[dict[str, Any]]:
        """The fired gates as JSON (what the review widget lists)."""
        return [f.to_json() for f in self.fired]

    def ask_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for `hitl_nb.ask`, filled from this verdict.

        >>> decision = hitl_nb.ask(**policy.evaluate("issue_refund", args).ask_kwargs())
        """
        kwargs: dict[str, Any] = {
            "action": self.action, "args": dict(self.args), "level": self.level,
            "gate": self.gate, "gate_reason": self.explanation if self.fired else None,
            "gates": self.gates, "required_roles": self.required_roles,
            "approvals_needed": self.approvals_needed, "confidence": self.confidence,
            "risk": None if self.risk is None else str(self.risk),
        }
        return {**kwargs, **overrides}

    def __str__(self) -> str:
        who = requirements(self.required_roles, self.approvals_needed)
        needs = f" [needs {', '.join(who)}]" if who else ""
        return f"{self.level}: {self.explanation}{needs}"

    def __repr__(self) -> str:
        return f"<Verdict {self.action} -> {self}>"


@dataclass(frozen=True, slots=True, init=False)
class Policy:
    """Gates evaluated together; the strictest wins.

    >>> policy = Policy([Threshold("amount", ">", 50), ConfidenceBelow(0.6)])
    >>> policy.evaluate("issue_refund", {"amount": 80.0}, confidence=0.9).level
    'confirm'
    >>> @policy.guard                     # one line of oversight for a tool
    ... def issue_refund(order: int, amount: float) -> str: ...

    `default` is the level when no gate fires (autonomy unless set).
    """

    gates: tuple[Gate, ...]
    default: Level

    def __init__(self, gates: Iterable[Gate] = (), *, default: Level = "autonomy") -> None:
        gates = tuple(gates)
        bad = [g for g in gates if not isinstance(g, Gate)]
        if bad:
            raise TypeError(f"Policy takes gates (Critical, Threshold, ConfidenceBelow, "
                            f"RiskAtLeast, RequiresRole, TwoPersonRule, TrustGate or a Gate "
                            f"subclass), "
                            f"got {bad[0]!r:.80}")
        if default not in LEVELS:
            raise ValueError(f"default must be one of {list(LEVELS)}, got {default!r}")
        object.__setattr__(self, "gates", gates)
        object.__setattr__(self, "default", default)

    def evaluate(self, action: str, args: dict[str, Any] | None = None, *,
                 confidence: float | None = None, risk: str | float | None = None,
                 agent: str | None = None) -> Verdict:
        """Run every gate on one proposed action; returns the combined `Verdict`.
        `agent` names who proposes it (per-agent gates such as `TrustGate` read it)."""
        if not isinstance(action, str) or not action:
            raise TypeError(f"action must be a non-empty string, got {action!r}")
        if args is not None and not isinstance(args, dict):
            raise TypeError(f"args must be a dict, got {type(args).__name__}")
        try:
            confidence = _confidence(confidence)
        except PayloadError as exc:
            raise ValueError(str(exc)) from None
        proposal = Proposal(action=action, args=dict(args or {}), confidence=confidence,
                            risk=risk, agent=agent)
        fired = tuple(hit for gate in self.gates if (hit := gate.check(proposal)) is not None)
        level = max((self.default, *(f.level for f in fired)), key=rank)
        roles = tuple(dict.fromkeys(role for f in fired for role in f.roles))
        approvals = max((1, *(f.approvals for f in fired)))
        if (roles or approvals > 1) and level not in REVIEW_LEVELS:
            level = "confirm"
        return Verdict(action=action, args=proposal.args, level=level, fired=fired,
                       required_roles=roles, approvals_needed=approvals,
                       confidence=confidence, risk=risk)

    def explain(self, action: str, args: dict[str, Any] | None = None, *,
                confidence: float | None = None, risk: str | float | None = None,
                agent: str | None = None) -> str:
        """`str(self.evaluate(...))`: the level and every gate that fired."""
        return str(self.evaluate(action, args, confidence=confidence, risk=risk, agent=agent))

    def guard(self, target: Any = None, /, **options: Any) -> Any:
        """One line of oversight: wrap a function, a LangChain tool or a `ToolNode`.

        Options: `confidence`, `risk` (a value or ``(action, args) -> value``), `log`,
        `on_reject`, `timeout`, `allowed`, `agent`, `args_schema` (see
        `hitl_nb._guard.guard`). Works as ``@policy.guard`` and
        ``@policy.guard(risk="high")``.
        """
        from ._guard import guard

        if target is None:
            return lambda inner: guard(self, inner, **options)
        return guard(self, target, **options)

    def interrupt_on(self, tools: Iterable[Any], **options: Any) -> dict[str, Any]:
        """`HumanInTheLoopMiddleware(interrupt_on=...)` config: interrupt exactly the
        calls this policy sends to a human, described by the gates that fired. Also
        registers this policy for those tools (see `registered_policy`), so every
        `Session` enforces its roles and approvals on their requests."""
        from ._guard import interrupt_on

        return interrupt_on(self, tools, **options)

    def notify_middleware(self, *, confidence: Any = None, risk: Any = None,
                          log: Any = None, agent: str | None = None) -> Any:
        """A `create_agent` middleware that logs the notify-level tool calls
        `interrupt_on` lets through and shows them in `hitl_nb.feed()`, as `guard` does
        (`hitl_nb._middleware`); list it beside `HumanInTheLoopMiddleware`. `confidence`
        and `risk` as for `interrupt_on`; `log` as for `guard`."""
        from ._guard import _Gated
        from ._middleware import PolicyNotifyMiddleware

        return PolicyNotifyMiddleware(_Gated(self, confidence=confidence, risk=risk,
                                             log=log, agent=agent))

    def __repr__(self) -> str:
        lines = [f"Policy(default={self.default}, {len(self.gates)} gates)"]
        lines += [f"  {gate.describe()}" for gate in self.gates]
        return "\n".join(lines)


_by_tool: dict[str, Policy] = {}
"""Policies registered by `Policy.interrupt_on`, by tool name (kernel-wide)."""


def register_policy(policy: Policy, tools: Iterable[str]) -> None:
    """Gate requests for `tools` with `policy` in every Session that has no `policy=` of
    its own (the `%load_ext` display hook, `hitl_nb.inbox`). The latest registration of
    a tool name wins."""
    _by_tool.update(dict.fromkeys(tools, policy))


def registered_policy(action: str) -> Policy | None:
    """The policy registered for tool `action` by `Policy.interrupt_on`, or None."""
    return _by_tool.get(action)
