"""Preference learning: reviewers' corrections kept in a LangGraph `Store`, reused next time.

Corrections live in a `BaseStore` (namespace per agent and reviewer), so they carry
across threads and, with a persistent store, across kernels. An agent author plugs in
one of two things before asking for review:

* `prefs.relevant(action, args)`: the most similar past corrections, for a prompt (edits,
  rejections, answers, and approvals that came with a comment or a low rating);
* `prefs.apply(action, args)`: the proposal with learned rules applied. A rule is a
  field edit reviewers made again and again (a value replaced, or text appended), kept
  only where it was consistent, and conditioned on a numeric threshold when reviewers
  made it only above (or below) some value: "refunds over 100 get a manager note".

How rules are chosen (`Preferences.rules`):

* one rule per field: the newest consistent habit. When a reviewer changes how they edit
  a field (a sign-off "-- Team" twice, then "Best, Support" three times), their earlier,
  different edits of that field are superseded and the new habit is the rule;
* reviewers are never stacked: without `reviewer=`, a rule is what the reviewers agree
  on. Another reviewer's different edit of the field counts against a rule, and a field
  for which two reviewers learned different rules gets none. Pass `reviewer=` to
  `apply` / `rules` / `refusal` to use one reviewer's preferences only.

Reading: every stored item of the namespaces asked for, page by page (no cap), ordered by
when it was decided; `corrections(limit=n)` keeps the newest n.

Namespaces: `(*namespace, agent label, reviewer label)`. LangGraph refuses labels holding
"." or NUL, which names like ``alice.smith@example.com`` or ``support.v2`` have, so a
label is its name with "%", "." and NUL percent-encoded (`label` / `name_of`); a name
without them is its own label, as it was before labels were encoded.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from langgraph.store.base import BaseStore, Item
from rapidfuzz import fuzz

from ._schema import Decision, ReviewRequest, canonical_json

LOW_RATING = 2.0
"""An approval rated at most this (on the 1-5 slider) is feedback worth showing a model."""

_PAGE = 1_000
"""Items (or namespaces) read from the store per request."""

NO_NAME = "_"
"""The label of a missing agent or reviewer."""

_ESCAPES = {"%": "%25", ".": "%2E", "\x00": "%00"}
_ESCAPE = str.maketrans(_ESCAPES)
_ESCAPED = re.compile("|".join(map(re.escape, _ESCAPES.values())))

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class Correction:
    """One past review of a proposal: what was proposed and what the human made of it."""

    action: str
    proposed: dict[str, Any]
    final: dict[str, Any]
    decision: str
    message: str | None = None
    rating: float | None = None
    comment: str | None = None
    reviewer: str | None = None
    similarity: float = 0.0

    @property
    def edited(self) -> bool:
        return self.final != self.proposed

    @property
    def feedback(self) -> bool:
        """The reviewer said something about the proposal: changed it, rejected or answered
        it, commented, or rated it low (at most `LOW_RATING`)."""
        return (self.edited or self.decision in ("reject", "respond") or bool(self.comment)
                or (self.rating is not None and self.rating <= LOW_RATING))

    def as_prompt_line(self) -> str:
        """One line for a model's prompt: what was proposed and what the reviewer did."""
        if self.edited:
            what = f"the reviewer changed it to {canonical_json(self.final)}."
        else:
            what = f"the reviewer chose {self.decision}: {self.message or ''}".rstrip(": ")
        notes = [f"rated {self.rating:g}/5" if self.rating is not None else "",
                 f"comment: {self.comment}" if self.comment else ""]
        said = "; ".join(n for n in notes if n)
        return f"- You proposed {canonical_json(self.proposed)}; {what}" + (
            f" ({said})" if said else "")


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """A learned edit: set `field` to `value`, or append `suffix` to it, when `when` holds."""

    action: str
    field: str
    value: Any = None
    suffix: str | None = None
    when: tuple[str, str, float] | None = None
    support: int = 0

    def same_change(self, other: Rule) -> bool:
        """Both rules make the same edit (whatever their conditions and support)."""
        return (self.action, self.field, self.suffix, canonical_json(self.value)) == (
            other.action, other.field, other.suffix, canonical_json(other.value))

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


def _paged(fetch: Callable[[int], list[T]]) -> Iterator[T]:
    """Everything `fetch(offset)` returns, page after page, until a short page."""
    offset = 0
    while True:
        page = fetch(offset)
        yield from page
        if len(page) < _PAGE:
            return
        offset += len(page)


def label(name: str | None) -> str:
    """The namespace label of an agent or reviewer name: reversible (`name_of`), and never
    holding what LangGraph refuses in a label ("." and NUL are percent-encoded, and "%"
    itself so that decoding is unambiguous).

    >>> label("alice.smith@example.com")
    'alice%2Esmith@example%2Ecom'
    """
    return name.translate(_ESCAPE) if name else NO_NAME


def name_of(label: str) -> str | None:
    """The name a `label` stands for (None for `NO_NAME`)."""
    if label == NO_NAME:
        return None
    decoded = {code: char for char, code in _ESCAPES.items()}
    return _ESCAPED.sub(lambda m: decoded[m.group(0)], label)


def _labels(name: str) -> tuple[str, ...]:
    """Every label `name` may be stored under: its label, and for a name with "%" the name
    itself, as hitl_nb stored it before labels were encoded (a name with "." or NUL could
    not be stored then)."""
    encoded = label(name)
    legacy = name or NO_NAME
    storable = not ("." in legacy or "\x00" in legacy)
    return (encoded, legacy) if storable and legacy != encoded else (encoded,)


def _decided_at(item: Item) -> datetime:
    """When a stored review was decided (items stored before hitl_nb kept `decided_at`:
    when they were stored)."""
    at = item.value.get("decided_at")
    return datetime.fromisoformat(at) if isinstance(at, str) else item.created_at


def _by(item: Item, agent: str | None, reviewer: str | None) -> bool:
    """The item was decided by `reviewer` about `agent` (None: anyone). Settles the one
    overlap of encoded and old labels: a name stored before labels were encoded that
    reads like an encoded one ("a%2Eb" is also the label of "a.b"). Items stored before
    `agent` was kept pass on the agent."""
    value = item.value
    return ((reviewer is None or label(value.get("reviewer")) == label(reviewer))
            and (agent is None or label(value.get("agent", agent)) == label(agent)))


def _correction(value: dict[str, Any]) -> Correction:
    return Correction(action=value["action"], proposed=value["proposed"], final=value["final"],
                      decision=value["decision"], message=value.get("message"),
                      rating=value.get("rating"), comment=value.get("comment"),
                      reviewer=value.get("reviewer"))


def _candidates(action: str, history: list[Correction]) -> list[tuple[Rule, list[int]]]:
    """Every field edit in `history` as a rule (no condition yet), with the positions of
    the corrections that made it, oldest first."""
    found: dict[tuple[str, str | None, str], tuple[Rule, list[int]]] = {}
    for i, c in enumerate(history):
        for key in c.proposed.keys() & c.final.keys():
            before, after = c.proposed[key], c.final[key]
            if before == after:
                continue
            suffix = _suffix_added(before, after)
            made = (key, suffix, "" if suffix else canonical_json(after))
            if made not in found:
                found[made] = (Rule(action=action, field=key, suffix=suffix) if suffix else
                               Rule(action=action, field=key, value=after), [])
            found[made][1].append(i)
    return list(found.values())


def _habit_starts(cases: list[tuple[int, str | None, Any, bool, bool]]
                  ) -> dict[str | None, int]:
    """Per reviewer, where their current habit of making a rule's edit starts: the first
    time they made it after they last changed the field some other way. `cases`:
    (position, reviewer, proposed, made this edit, changed the field)."""
    starts: dict[str | None, int] = {}
    for position, reviewer, _, fired, changed in cases:
        if fired:
            starts.setdefault(reviewer, position)
        elif changed:  # a different edit: a habit of this edit starts afresh after it
            starts.pop(reviewer, None)
    return starts


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
        return (*self.namespace, label(agent), label(reviewer))

    def remember(self, request: ReviewRequest, decision: Decision) -> None:
        """Keep one decision (edits, rejections, answers and plain approvals alike: the
        approvals are what tells a learned rule where it does not apply). A decision
        without `args` that is not an edit is kept as made on the proposal."""
        decision = decision.resolved(request.args)
        value = {"action": request.action, "proposed": request.args, "final": decision.args,
                 "decision": decision.action, "message": decision.message,
                 "rating": decision.rating, "comment": decision.comment,
                 "reviewer": decision.reviewer, "agent": request.agent,
                 "decided_at": decision.decided_at.astimezone(UTC).isoformat(),
                 "text": f"{request.action} {canonical_json(request.args)}"}
        self.store.put(self._ns(request.agent, decision.reviewer), uuid.uuid4().hex, value)

    def _namespaces(self, agent: str | None, reviewer: str | None
                    ) -> Iterator[tuple[str, ...]]:
        """The agent/reviewer namespaces to read (all of them, page by page)."""
        agents: tuple[str | None, ...] = (None,) if agent is None else _labels(agent)
        reviewers: tuple[str | None, ...] = (None,) if reviewer is None else _labels(reviewer)
        for agent_label in agents:
            for reviewer_label in reviewers:
                yield from self._listed(agent_label, reviewer_label)

    def _listed(self, agent: str | None, reviewer: str | None) -> Iterator[tuple[str, ...]]:
        prefix = (*self.namespace, *((agent,) if agent is not None else ()))
        suffix = (reviewer,) if reviewer is not None else None
        yield from _paged(lambda offset: self.store.list_namespaces(
            prefix=prefix, suffix=suffix, limit=_PAGE, offset=offset))

    def _items(self, namespace: tuple[str, ...], action: str | None) -> Iterator[Item]:
        """Every item of `namespace` (of `action`), page by page: no silent cap."""
        where = {"action": action} if action is not None else None
        yield from _paged(lambda offset: self.store.search(namespace, filter=where,
                                                           limit=_PAGE, offset=offset))

    def corrections(self, action: str | None = None, *, agent: str | None = None,
                    reviewer: str | None = None, limit: int | None = None
                    ) -> list[Correction]:
        """Stored reviews, oldest first (by when they were decided); filter by action,
        agent and reviewer. `limit`: only the newest `limit` of them."""
        found = [item for ns in self._namespaces(agent, reviewer)
                 for item in self._items(ns, action) if _by(item, agent, reviewer)]
        found.sort(key=_decided_at)
        if limit is not None:
            found = found[len(found) - limit:] if limit > 0 else []
        return [_correction(item.value) for item in found
                if action is None or item.value["action"] == action]

    def relevant(self, action: str, args: dict[str, Any], *, k: int = 5,
                 agent: str | None = None, reviewer: str | None = None) -> list[Correction]:
        """The `k` past reviews of `action` with feedback in them (edits, rejections,
        answers, and approvals with a comment or a rating of at most `LOW_RATING`) most
        similar to `args`, best first, each with its `similarity` (0-100)."""
        text = canonical_json(args)
        scored = [
            replace(c, similarity=fuzz.token_set_ratio(text, canonical_json(c.proposed)))
            for c in self.corrections(action, agent=agent, reviewer=reviewer) if c.feedback
        ]
        scored.sort(key=lambda c: c.similarity, reverse=True)
        return scored[:k]

    def as_prompt(self, action: str, args: dict[str, Any], **kwargs: Any) -> str:
        """Relevant corrections as text to put into a model's prompt."""
        lines = [c.as_prompt_line() for c in self.relevant(action, args, **kwargs)]
        if not lines:
            return ""
        return f"Past reviewer corrections for {action}:\n" + "\n".join(lines)

    def rules(self, action: str, *, agent: str | None = None,
              reviewer: str | None = None) -> list[Rule]:
        """At most one rule per field: the newest edit made consistently (at least
        `min_support` times, in at least `min_consistency` of the comparable cases), with
        a threshold if one explains when it was made; most supported first.

        Without `reviewer`, only what the reviewers agree on (see the module docstring):
        a field on which two reviewers learned different rules gets none."""
        history = self.corrections(action, agent=agent, reviewer=reviewer)
        learned = self._learn(action, history)
        by_reviewer: dict[str | None, list[Correction]] = defaultdict(list)
        for c in history:
            by_reviewer[c.reviewer].append(c)
        if len(by_reviewer) > 1:
            own = [{r.field: r for r in self._learn(action, part)}
                   for part in by_reviewer.values()]
            learned = [rule for rule in learned
                       if all(rule.same_change(o[rule.field]) for o in own if rule.field in o)]
        learned.sort(key=lambda r: r.support, reverse=True)
        return learned

    def _learn(self, action: str, history: list[Correction]) -> list[Rule]:
        """One rule per field from `history` (oldest first): of the edits made to the
        field, the one made most recently that is consistent."""
        by_field: dict[str, list[tuple[Rule, list[int]]]] = defaultdict(list)
        for rule, support in _candidates(action, history):
            if len(support) >= self.min_support:
                by_field[rule.field].append((rule, support))
        learned = []
        for options in by_field.values():
            options.sort(key=lambda option: option[1][-1], reverse=True)  # newest first
            for rule, _ in options:
                checked = self._consistent(rule, history)
                if checked is not None:
                    learned.append(checked)
                    break
        return learned

    def _consistent(self, rule: Rule, history: list[Correction]) -> Rule | None:
        """`rule` with its condition and support if the history bears it out, else None.

        Evidence for it: the cases corrected this way. Against it: the cases let pass that
        it would have changed, and the cases whose field was changed some other way (cases
        the rule had already shaped say nothing). Judged on all of it first (where a
        threshold can explain the difference), then on each reviewer's current habit only:
        their cases since they last changed the field some other way and then started
        making this edit. Other reviewers' cases always count."""
        cases = []  # (position, reviewer, proposed, fired)
        for i, c in enumerate(history):
            if rule.field not in c.proposed or rule.satisfied(c.proposed):
                continue
            fired = rule.satisfied(c.final)
            if fired or c.decision in ("approve", "edit"):
                cases.append((i, c.reviewer, c.proposed, fired,
                              c.final.get(rule.field) != c.proposed[rule.field]))
        since = _habit_starts(cases)
        for window in (cases, [case for case in cases if case[0] >= since.get(case[1], -1)]):
            fired_args = [case[2] for case in window if case[3]]
            quiet_args = [case[2] for case in window if not case[3]]
            if len(fired_args) < self.min_support:
                continue
            stump = _stump(fired_args, quiet_args)
            if stump is not False or len(fired_args) / len(window) >= self.min_consistency:
                return replace(rule, when=stump if isinstance(stump, tuple) else None,
                               support=len(fired_args))
        return None

    def refusals(self, action: str, *, agent: str | None = None,
                 reviewer: str | None = None) -> list[Refusal]:
        """Rejections made consistently (at least `min_support` times): always (in at
        least `min_consistency` of the reviews of `action`), or beyond a threshold that
        separates the rejected proposals from the accepted ones."""
        history = self.corrections(action, agent=agent, reviewer=reviewer)
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

    def refusal(self, action: str, args: dict[str, Any], *, agent: str | None = None,
                reviewer: str | None = None) -> Refusal | None:
        """The learned refusal that applies to this proposal, if any: check it before
        asking for review, and do not propose what reviewers always turn down."""
        return next((r for r in self.refusals(action, agent=agent, reviewer=reviewer)
                     if r.applies(args)), None)

    def apply(self, action: str, args: dict[str, Any], *, agent: str | None = None,
              reviewer: str | None = None) -> tuple[dict[str, Any], list[Rule]]:
        """`args` with the learned rules for `action` that apply (one per field; without
        `reviewer`, only what the reviewers agree on); and those rules.

        >>> prefs.apply("draft_reply", args, reviewer="ann")     # ann's own habits
        """
        applied = []
        for rule in self.rules(action, agent=agent, reviewer=reviewer):
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
