"""Preference learning: reviewers' corrections kept in a LangGraph `Store`, reused next time.

Corrections live in a `BaseStore` (namespace per agent and reviewer), so they carry
across threads and, with a persistent store, across kernels. An agent author plugs in
one of two things before asking for review:

* `prefs.relevant(action, args)`: the most similar past corrections, for a prompt;
* `prefs.apply(action, args)`: the proposal with learned rules applied. A rule is a
  field edit reviewers made again and again (a value replaced, or text appended), kept
  only where it was consistent, and conditioned on a numeric threshold when reviewers
  made it only above (or below) some value: "refunds over 100 get a manager note".
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langgraph.store.base import BaseStore
from rapidfuzz import fuzz

from ._schema import Decision, ReviewRequest, canonical_json


@dataclass(frozen=True, kw_only=True, slots=True)
class Correction:
    """One past review of a proposal: what was proposed and what the human made of it."""

    action: str
    proposed: dict[str, Any]
    final: dict[str, Any]
    decision: str
    message: str | None = None
    rating: float | None = None
    reviewer: str | None = None
    similarity: float = 0.0

    @property
    def edited(self) -> bool:
        return self.final != self.proposed


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """A learned edit: set `field` to `value`, or append `suffix` to it, when `when` holds."""

    action: str
    field: str
    value: Any = None
    suffix: str | None = None
    when: tuple[str, str, float] | None = None
    support: int = 0

    def satisfied(self, args: dict[str, Any]) -> bool:
        """The proposal already looks the way the rule would make it."""
        if self.suffix is not None:
            return str(args.get(self.field, "")).endswith(self.suffix)
        return bool(args.get(self.field) == self.value)

    def applies(self, args: dict[str, Any]) -> bool:
        if self.field not in args or self.satisfied(args):
            return False
        if self.when is None:
            return True
        name, op, threshold = self.when
        value = args.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return value > threshold if op == ">" else value < threshold

    def apply(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.suffix is not None:
            return {**args, self.field: f"{args[self.field]}{self.suffix}"}
        return {**args, self.field: self.value}

    def __str__(self) -> str:
        what = (f"append {self.suffix!r} to {self.field}" if self.suffix is not None
                else f"set {self.field}={self.value!r}")
        cond = f" when {self.when[0]} {self.when[1]} {self.when[2]:g}" if self.when else ""
        return f"{self.action}: {what}{cond} (seen {self.support}x)"


@dataclass(frozen=True, kw_only=True, slots=True)
class Refusal:
    """A learned refusal: reviewers rejected `action` (when `when` holds), saying `message`;
    an agent should not propose it again (and can tell the user why)."""

    action: str
    message: str
    when: tuple[tuple[str, str, float], ...] = ()
    support: int = 0

    def applies(self, args: dict[str, Any]) -> bool:
        """Every condition in `when` holds (`>=` / `<=` on a numeric argument)."""
        for name, op, threshold in self.when:
            value = args.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            if not (value >= threshold if op == ">=" else value <= threshold):
                return False
        return True

    def __str__(self) -> str:
        cond = " and ".join(f"{n} {op} {t:g}" for n, op, t in self.when)
        cond = f" when {cond}" if cond else ""
        return f"{self.action}: reviewers reject it{cond}: {self.message!r} (seen {self.support}x)"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _suffix_added(before: Any, after: Any) -> str | None:
    if isinstance(before, str) and isinstance(after, str) and after.startswith(before):
        return after[len(before):] or None
    return None


def _stump(fired: list[dict[str, Any]], quiet: list[dict[str, Any]]
           ) -> tuple[str, str, float] | bool | None:
    """A numeric threshold separating proposals that were corrected from those that were
    not: None when no condition is needed, False when none separates them."""
    if not quiet:
        return None
    numeric = {k for a in fired for k, v in a.items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
    for name in sorted(numeric):
        hot = [a[name] for a in fired if isinstance(a.get(name), int | float)]
        cold = [a[name] for a in quiet if isinstance(a.get(name), int | float)]
        if len(hot) != len(fired) or not cold:
            continue
        if min(hot) > max(cold):
            return (name, ">", float(max(cold)))
        if max(hot) < min(cold):
            return (name, "<", float(min(cold)))
    return False


class Preferences:
    """Corrections memory over a LangGraph store.

    >>> prefs = Preferences()                      # InMemoryStore; pass store= to persist
    >>> session = Session(graph, config, preferences=prefs)   # remembers every decision
    >>> args, rules = prefs.apply("draft_reply", proposed_args)
    """

    def __init__(self, store: BaseStore | None = None, *, namespace: Sequence[str] = ("hitl_nb",
                 "corrections"), min_support: int = 2, min_consistency: float = 0.8) -> None:
        if store is None:
            from langgraph.store.memory import InMemoryStore

            store = InMemoryStore()
        self.store = store
        self.namespace = tuple(namespace)
        self.min_support = min_support
        self.min_consistency = min_consistency

    def _ns(self, agent: str | None, reviewer: str | None) -> tuple[str, ...]:
        return (*self.namespace, agent or "_", reviewer or "_")

    def remember(self, request: ReviewRequest, decision: Decision) -> None:
        """Keep one decision (edits, rejections, answers and plain approvals alike: the
        approvals are what tells a learned rule where it does not apply)."""
        value = {"action": request.action, "proposed": request.args, "final": decision.args,
                 "decision": decision.action, "message": decision.message,
                 "rating": decision.rating, "reviewer": decision.reviewer,
                 "text": f"{request.action} {canonical_json(request.args)}"}
        self.store.put(self._ns(request.agent, decision.reviewer), uuid.uuid4().hex, value)

    def corrections(self, action: str | None = None, *, agent: str | None = None,
                    reviewer: str | None = None, limit: int = 10_000) -> list[Correction]:
        """Stored reviews, newest last; filter by action, agent and reviewer."""
        prefix = list(self.namespace)
        if agent is not None:
            prefix.append(agent)
            if reviewer is not None:
                prefix.append(reviewer)
        found = []
        for ns in self.store.list_namespaces(prefix=tuple(prefix)):
            if reviewer is not None and ns[-1] != reviewer:
                continue
            items = self.store.search(ns, limit=limit)
            found.extend(sorted(items, key=lambda i: i.created_at))
        found.sort(key=lambda i: i.created_at)
        out = []
        for item in found:
            v = item.value
            if action is None or v["action"] == action:
                out.append(Correction(action=v["action"], proposed=v["proposed"],
                                      final=v["final"], decision=v["decision"],
                                      message=v.get("message"), rating=v.get("rating"),
                                      reviewer=v.get("reviewer")))
        return out

    def relevant(self, action: str, args: dict[str, Any], *, k: int = 5,
                 agent: str | None = None, reviewer: str | None = None) -> list[Correction]:
        """The `k` past corrections (edits, rejections, answers) of `action` most similar
        to `args`, best first, each with its `similarity` (0-100)."""
        text = canonical_json(args)
        scored = [
            replace(c, similarity=fuzz.token_set_ratio(text, canonical_json(c.proposed)))
            for c in self.corrections(action, agent=agent, reviewer=reviewer)
            if c.edited or c.decision in ("reject", "respond")
        ]
        scored.sort(key=lambda c: c.similarity, reverse=True)
        return scored[:k]

    def as_prompt(self, action: str, args: dict[str, Any], **kwargs: Any) -> str:
        """Relevant corrections as text to put into a model's prompt."""
        lines = []
        for c in self.relevant(action, args, **kwargs):
            if c.edited:
                lines.append(f"- You proposed {canonical_json(c.proposed)}; the reviewer "
                             f"changed it to {canonical_json(c.final)}.")
            else:
                lines.append(f"- You proposed {canonical_json(c.proposed)}; the reviewer "
                             f"chose {c.decision}: {c.message or ''}".rstrip(": "))
        if not lines:
            return ""
        return f"Past reviewer corrections for {action}:\n" + "\n".join(lines)

    def rules(self, action: str, **kwargs: Any) -> list[Rule]:
        """Edits made consistently (at least `min_support` times, in at least
        `min_consistency` of the comparable cases), with a threshold if one explains
        when they were made."""
        history = self.corrections(action, **kwargs)
        candidates: Counter[tuple[str, str, str]] = Counter()
        for c in history:
            for key in c.proposed.keys() & c.final.keys():
                before, after = c.proposed[key], c.final[key]
                if before == after:
                    continue
                suffix = _suffix_added(before, after)
                kind, payload = ("suffix", suffix) if suffix else ("value", canonical_json(after))
                candidates[(key, kind, payload)] += 1
        rules = []
        for (key, kind, payload), support in candidates.items():
            if support < self.min_support:
                continue
            rule = (Rule(action=action, field=key, suffix=payload, support=support)
                    if kind == "suffix" else
                    Rule(action=action, field=key, value=json.loads(payload), support=support))
            # Cases the reviewer corrected this way, and cases the reviewer let pass
            # that the rule would have changed (not those it had already shaped).
            fired = [c.proposed for c in history if c.proposed.get(key) != c.final.get(key)
                     and rule.satisfied(c.final) and not rule.satisfied(c.proposed)]
            quiet = [c.proposed for c in history
                     if key in c.proposed and c.final.get(key) == c.proposed.get(key)
                     and c.decision in ("approve", "edit") and not rule.satisfied(c.proposed)]
            stump = _stump(fired, quiet)
            if stump is False and len(fired) / (len(fired) + len(quiet)) < self.min_consistency:
                continue
            when = stump if isinstance(stump, tuple) else None
            rules.append(Rule(action=action, field=key, value=rule.value, suffix=rule.suffix,
                              when=when, support=support))
        rules.sort(key=lambda r: r.support, reverse=True)
        return rules

    def refusals(self, action: str, **kwargs: Any) -> list[Refusal]:
        """Rejections made consistently (at least `min_support` times): always (in at
        least `min_consistency` of the reviews of `action`), or beyond a threshold that
        separates the rejected proposals from the accepted ones."""
        history = self.corrections(action, **kwargs)
        rejected = [c for c in history if c.decision == "reject"]
        if len(rejected) < self.min_support:
            return []
        accepted = [c.proposed for c in history if c.decision in ("approve", "edit")]
        stump = _stump([c.proposed for c in rejected], accepted)
        # A withheld proposal gets no feedback, so a refusal must not guess beyond what
        # was rejected: it starts at the mildest rejected value (not at the largest
        # accepted one) and widens as later rejections come in.
        when: tuple[tuple[str, str, float], ...] = ()
        if isinstance(stump, tuple):
            name, op, _ = stump
            hot = [float(c.proposed[name]) for c in rejected]
            when = ((name, ">=", min(hot)),) if op == ">" else ((name, "<=", max(hot)),)
        elif stump is None:
            # nothing accepted yet to contrast with: refuse only inside the box of the
            # rejected values (each numeric argument at least its smallest rejected value)
            numeric = sorted(k for k in rejected[0].proposed
                             if all(_is_number(c.proposed.get(k)) for c in rejected))
            when = tuple((k, ">=", min(float(c.proposed[k]) for c in rejected))
                         for k in numeric)
        elif len(rejected) / (len(rejected) + len(accepted)) < self.min_consistency:
            return []
        messages = Counter(c.message for c in rejected if c.message)
        message = messages.most_common(1)[0][0] if messages else "reviewers rejected it"
        return [Refusal(action=action, message=message, when=when, support=len(rejected))]

    def refusal(self, action: str, args: dict[str, Any], **kwargs: Any) -> Refusal | None:
        """The learned refusal that applies to this proposal, if any: check it before
        asking for review, and do not propose what reviewers always turn down."""
        return next((r for r in self.refusals(action, **kwargs) if r.applies(args)), None)

    def apply(self, action: str, args: dict[str, Any], **kwargs: Any
              ) -> tuple[dict[str, Any], list[Rule]]:
        """`args` with every learned rule for `action` that applies; and those rules."""
        applied = []
        for rule in self.rules(action, **kwargs):
            if rule.applies(args):
                args = rule.apply(args)
                applied.append(rule)
        return args, applied


def remember_all(prefs: Preferences, reviewed: Iterable[tuple[ReviewRequest, Decision]]) -> None:
    """Load many past decisions at once (e.g. from a session's history)."""
    for request, decision in reviewed:
        prefs.remember(request, decision)


def summarize(rules: Iterable[Rule]) -> dict[str, list[str]]:
    """Rules grouped by action, as readable strings (for notebooks)."""
    out: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        out[rule.action].append(str(rule))
    return dict(out)
