"""Collaborative execution: the upper end of the HITL spectrum, on the same decision path.

Three ways a human works *with* an agent rather than approving it, each a LangGraph
`interrupt()` whose request carries a `collab` block (`hitl_nb._plan.check_collab`):

* **Shared plan** (`ask_plan`): the agent proposes steps and who should do each; the
  human reorders, deletes, adds, rewords and reassigns them, and the run follows the
  reviewed plan (`hitl_nb.plan_graph` executes it; `ask_step` pauses on human steps).
* **Co-editing** (`ask(..., level="collaborate", round=n)`): the human edits the agent's
  draft and may send it back with a note (`revise`) for another round.
* **Human leads** (`ask_input`): the human writes; the agent offers options and evidence.

Every decision goes through `Session.decide` -> `make_decision` (which hands requests with
a `collab` block to `collab_decision` here) -> `FeedbackLog.record`, like any other. The
new decision values are `revise` and `input` (docs/feedback_log.md).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import jsonschema
from langgraph.types import interrupt

from ._ask import ask_payload
from ._diff import LONG_TEXT, json_schema_of, text_diff
from ._override import check_stop
from ._plan import OWNERS, PLAN_SCHEMA, Owner, Plan, answer_schema, check_reviewed, steps_schema
from ._review_base import ReviewBase
from ._schema import Action, Decision, Level, ReviewRequest, Source, canonical_json
from ._validate import MAX_TEXT, DecisionError, _rating, _text, check_args, make_decision

if TYPE_CHECKING:
    from ._reviewer import Reviewer
    from ._session import Session

DEFAULT_MAX_ROUNDS = 5
PLAN_REASON = ("Review the plan as a whole: reorder, delete, add or reword steps, and choose "
               "who does each (the agent's suggestion and its reason are shown).")


# -- co-editing ------------------------------------------------------------------------
def coedit_field(args: Mapping[str, Any]) -> str | None:
    """The argument a co-editing card edits: the longest text argument (None: no text)."""
    texts = [(len(v), k) for k, v in args.items() if isinstance(v, str)]
    return max(texts)[1] if texts else None


def coedit_block(args: Mapping[str, Any], round: int, max_rounds: int | None) -> dict[str, Any]:
    """The `collab` block of a draft co-edited in rounds (`ask(..., round=n)`)."""
    field = coedit_field(args)
    if field is None:
        raise ValueError("ask(..., round=n) co-edits a draft: give a text argument (e.g. "
                         "args={'body': draft}).")
    return {"mode": "coedit", "field": field, "round": round,
            "max_rounds": DEFAULT_MAX_ROUNDS if max_rounds is None else max_rounds}


def coedit_view(request: ReviewRequest) -> dict[str, Any] | None:
    """How the review card co-edits a `collaborate` request: the text field, the round
    and whether a revision may still be asked for (None: not a co-editing request)."""
    collab = request.collab or {}
    if collab.get("mode") == "coedit":
        return {"field": collab["field"], "round": collab["round"],
                "max_rounds": collab["max_rounds"],
                "can_revise": collab["round"] < collab["max_rounds"]}
    if request.level != "collaborate" or collab or "edit" not in request.allowed:
        return None
    field = coedit_field(request.args)
    if field is None or len(request.args[field]) < LONG_TEXT:
        return None
    return {"field": field, "round": None, "max_rounds": None, "can_revise": False}


_previous: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
_PREVIOUS_KEPT = 256


def previous_round(session: Session, request: ReviewRequest, field: str) -> dict[str, Any] | None:
    """What the reviewer sent back last time for this draft (their text and note) and how
    the agent's new draft differs from it, or None in round 1. Read from the feedback log,
    so it is there after a restart too; cached per request."""
    if request.request_id in _previous:
        return _previous[request.request_id]
    found: dict[str, Any] | None = None
    for row in reversed(list(session.log)):
        if row.get("thread_id") != request.thread_id or row.get("action_name") != request.action:
            continue
        if row.get("decision") != "revise":
            break  # an earlier draft was settled: this one starts afresh
        sent = (row.get("final_args") or {}).get(field)
        if isinstance(sent, str) and isinstance(request.args.get(field), str):
            found = {"text": sent, "note": row.get("message"),
                     "diff": [list(s) for s in text_diff(sent, request.args[field])]}
        break
    _previous[request.request_id] = found
    while len(_previous) > _PREVIOUS_KEPT:
        _previous.popitem(last=False)
    return found


def coedit_card(session: Session, request: ReviewRequest) -> dict[str, Any]:
    """Extra card JSON for a co-editing request (`{}` for any other)."""
    view = coedit_view(request)
    if view is None:
        return {}
    if view["round"] is not None and view["round"] > 1:
        view["previous"] = previous_round(session, request, view["field"])
    return {"coedit": view}


def coedit_diff(request: ReviewRequest, text: Any) -> list[list[str]]:
    """Word diff from the agent's draft to the reviewer's text so far (`_diff.text_diff`)."""
    view = coedit_view(request)
    if view is None:
        raise DecisionError(f"request {request.request_id!r} is not a draft to co-edit.")
    checked = _text(text, "text")
    return [list(s) for s in text_diff(request.args[view["field"]], checked or "")]


# -- deciding ---------------------------------------------------------------------------
def _value(collab: Mapping[str, Any], value: Any) -> Any:
    """The human's answer, checked against the request's answer schema."""
    try:
        text = canonical_json(value) if not isinstance(value, str) else value
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DecisionError(f"the answer must be JSON-able ({exc}).") from exc
    if len(text) > MAX_TEXT:
        raise DecisionError(f"the answer is {len(text)} characters; the limit is {MAX_TEXT}.")
    if isinstance(value, str) and not value.strip():
        raise DecisionError("the answer is blank: write it, or pick one of the agent's options.")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(answer_schema(collab)).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.path) or "answer"
        raise DecisionError(f"invalid answer ({where}): {error.message}")
    return value


INPUT_KEYS = frozenset({"value", "option", "owners"})


def _input(request: ReviewRequest, args: Any, **common: Any) -> Decision:
    """Content the human produced: `args={"value": ..., "option": i | None}` (a step may
    also carry `owners` for the steps after it)."""
    collab = request.collab or {}
    if not isinstance(args, dict) or "value" not in args or set(args) - INPUT_KEYS:
        raise DecisionError("input needs args={'value': your answer, 'option': index of the "
                            "agent's option you started from, or None}"
                            + (" (and optionally 'owners')" if collab["mode"] == "step" else "")
                            + ".")
    value = _value(collab, args["value"])
    options = request.args.get("options", [])
    option = args.get("option")
    if option is not None and (isinstance(option, bool) or not isinstance(option, int)
                               or not 0 <= option < len(options)):
        raise DecisionError(f"option must be None or the index of one of the "
                            f"{len(options)} options offered, got {option!r}.")
    final = {**request.args, "value": value, "option": option}
    if "owners" in args:
        if collab["mode"] != "step":
            raise DecisionError("owners belong to plan steps only.")
        owners = check_args(replace(request, collab=None), {**request.args,
                                                            "owners": args["owners"]})["owners"]
        step = collab["step"]
        if owners[step] != request.args["owners"][step]:
            raise DecisionError(f"you gave the result of step {step!r}, so keep its owner; "
                                "reassign only the steps after it.")
        final["owners"] = owners
    text = value if isinstance(value, str) else canonical_json(value)
    return Decision(action="respond", args=final, message=text, result=value,
                    override="input", request_id=request.request_id,
                    rating=_rating(common["rating"]), comment=_text(common["comment"], "comment"),
                    reviewer=common["reviewer"], role=common["role"], source=common["source"])


def _revise(request: ReviewRequest, args: Any, message: Any, **common: Any) -> Decision:
    collab = request.collab or {}
    if collab.get("mode") != "coedit":
        raise DecisionError(f"{request.action!r} cannot be sent back for revision: the agent "
                            "did not offer rounds (ask(..., level='collaborate', round=n)).")
    if collab["round"] >= collab["max_rounds"]:
        raise DecisionError(f"round {collab['round']} of {collab['max_rounds']} is the last: "
                            "accept the draft, accept your edited version, or reject it.")
    note = _text(message, "message")
    if not (note or "").strip():
        raise DecisionError("revise needs a note: what the agent should change in the next "
                            "draft.")
    final = request.args if args is None else check_args(replace(request, collab=None), args)
    return Decision(action="reject", args=final, message=note, override="revise",
                    request_id=request.request_id, rating=_rating(common["rating"]),
                    comment=_text(common["comment"], "comment"), reviewer=common["reviewer"],
                    role=common["role"], source=common["source"])


def collab_decision(request: ReviewRequest, action: Any, *, args: Any = None,
                    message: Any = None, rating: Any = None, comment: Any = None,
                    reviewer: str | None = None, role: str | None = None,
                    source: Source = "human", result: Any = None) -> Decision:
    """`make_decision` for a request with a `collab` block; raises `DecisionError`.

    * plan: approve / edit (the reviewed plan: schema, unique ids, the agent's tools and
      suggestions unchanged) / reject;
    * step: approve (an agent step goes ahead) / edit (reassign the steps still to do) /
      reject (skip it) / input (its result; `respond` text is read as input) / override;
    * input: input (or `respond` text) / reject when declining is allowed;
    * coedit: the four actions, override, and revise (a note; the edits so far).
    """
    collab = request.collab or {}
    mode = collab.get("mode")
    common = {"rating": rating, "comment": comment, "reviewer": reviewer, "role": role,
              "source": source}
    plain = replace(request, collab=None)
    if action == "revise":
        return _revise(request, args, message, **common)
    if mode in ("step", "input"):
        if action == "respond":  # plain text from any card: the answer, if text is wanted
            if answer_schema(collab).get("type") != "string":
                raise DecisionError("this answer is structured: decide with action 'input' "
                                    "and args={'value': {...}, 'option': None}.")
            if not (_text(message, "message") or "").strip():
                raise DecisionError("respond needs a non-empty message: the answer.")
            return _input(request, {"value": message, "option": None}, **common)
        if action == "input":
            return _input(request, args, **common)
        if mode == "input" and action == "override":
            raise DecisionError("this asks you to write the answer: use input (or respond).")
    if action == "input":
        raise DecisionError(f"input is for steps and human-led requests; {request.action!r} "
                            "is not one.")
    decision = make_decision(plain, action, args=args, message=message, result=result, **common)
    if mode == "plan" and decision.action == "edit":
        check_reviewed(request.args["steps"], decision.args["steps"])
    if mode == "step" and decision.action == "edit" and decision.args == request.args:
        raise DecisionError("nothing was reassigned: change who does a step, or approve, "
                            "answer or skip this one.")
    return decision


# -- asking (inside a graph node) -------------------------------------------------------
def ask_plan(steps: Sequence[Any] | Plan, *, goal: str | None = None,
             tools: Iterable[str] | None = None, reason: str | None = None,
             confidence: float | None = None, risk: str | None = None,
             level: Level = "collaborate", action: str = "plan",
             agent: str | None = None) -> Plan:
    """Pause for the human to review a plan as a whole; returns the reviewed `Plan`.

    `steps`: `Step` objects, dicts (`text`, optional `tool`, `args`, `judgement`,
    `coedit`, `check`, `suggested` + `why`) or strings. The agent suggests who does each
    step from `tools` (what it can call) and `judgement` flags (`hitl_nb._plan.suggest`);
    the reviewer sees the suggestion and its reason, and may reorder, delete, add, reword
    and reassign. Returned plan: `status="approved"` (as proposed, or as edited) or
    `"rejected"` (`message` says why). Put it in the graph state with `plan.to_json()`.

    >>> plan = hitl_nb.ask_plan(["Look up order 1042", {"text": "Decide", "judgement": True}],
    ...                         goal="Answer ticket 88", tools=["lookup_order"])
    >>> plan.status, [(s.text, s.owner) for s in plan.steps]
    """
    proposal = steps if isinstance(steps, Plan) else Plan.propose(steps, goal=goal, tools=tools)
    goal = proposal.goal if goal is None else goal
    payload = ask_payload(
        action=action, args=proposal.as_args(), reason=reason or PLAN_REASON,
        confidence=confidence, risk=risk, level=level, allowed=("approve", "edit", "reject"),
        args_schema=PLAN_SCHEMA, agent=agent,
        collab={"mode": "plan", "goal": goal, "tools": None if tools is None else list(tools)})
    decision = Decision.from_resume(interrupt(payload))
    if decision.action == "reject":
        return replace(proposal, goal=goal, status="rejected", message=decision.message)
    check_stop()
    if decision.action == "approve":
        return replace(proposal, goal=goal, status="approved")
    return Plan.from_json({"goal": goal, "status": "approved", "steps": decision.args["steps"]})


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer:
    """What the human produced for `ask_input`: `value` (text, or what `schema` asks for),
    `option` (the index of the agent's option they started from; None: their own),
    `options` (what the agent offered). `declined`: the human declined to answer.

    >>> answer.value, answer.option, answer.as_is
    ('Partial refund of 40 EUR', 1, False)
    """

    value: Any
    option: int | None
    options: tuple[Any, ...] = ()
    declined: bool = False
    message: str | None = None
    reviewer: str | None = None

    @property
    def as_is(self) -> bool:
        """True when the human took one of the agent's options unchanged."""
        return self.option is not None and self.options[self.option] == self.value


def ask_input(prompt: str, *, options: Sequence[Any] = (), evidence: Sequence[Any] = (),
              schema: Any = None, action: str = "input", reason: str | None = None,
              confidence: float | None = None, risk: str | None = None,
              level: Level = "human_leads", decline: bool = False,
              agent: str | None = None) -> Answer:
    """Pause for the human to write something, the agent assisting: it offers `options`
    (suggested answers, shown as "use this") and `evidence` (strings or
    `{"text", "source"}` dicts); the human picks one, edits it, or writes their own.
    Returns an `Answer`; the log row (decision `input`) keeps the options offered, the
    option taken (`final_args.option`) and the final value.

    `schema` (a JSON-schema dict or a pydantic model) asks for a structured answer
    instead of text; every option must fit it. `decline=True` lets the human decline
    (`Answer.declined`).

    >>> answer = hitl_nb.ask_input("Why do we decline the refund?",
    ...     options=["Outside the 30-day window", "Item was used"],
    ...     evidence=[{"text": "Delivered 2024-03-02", "source": "lookup_order"}])
    """
    value_schema = json_schema_of(schema)
    allowed: tuple[Action, ...] = ("respond", "reject") if decline else ("respond",)
    payload = ask_payload(
        action=action, args={"options": list(options)}, reason=reason, confidence=confidence,
        risk=risk, level=level, allowed=allowed, agent=agent,
        collab={"mode": "input", "prompt": prompt, "evidence": list(evidence),
                "schema": value_schema})
    decision = Decision.from_resume(interrupt(payload))
    if decision.override != "input":
        return Answer(value=None, option=None, options=tuple(options), declined=True,
                      message=decision.message, reviewer=decision.reviewer)
    return Answer(value=decision.result, option=decision.args.get("option"),
                  options=tuple(options), message=decision.message, reviewer=decision.reviewer)


def ask_step(plan: Plan, step_id: str, *, options: Sequence[Any] = (),
             evidence: Sequence[Any] = (), schema: Any = None,
             agent: str | None = None) -> Decision:
    """Pause on one step of a running plan (used by `plan_graph`): a human step asks for
    its result (with the agent's options and evidence); an agent step with `check=True`
    asks whether the agent may go ahead. Either way the reviewer may reassign every step
    still to do. Returns the `Decision` (see `collab_decision` for what each means)."""
    step = plan.step(step_id)
    remaining = [s.id for s in plan.remaining()]
    position = plan.index(step_id) + 1
    if step.owner == "human":
        reason = f"Step {position} of {len(plan.steps)} is yours: {step.text}"
        if step.note:
            reason += f"\n({step.note})"
        allowed: tuple[Action, ...] = ("edit", "reject", "respond")
        level: Level = "human_leads"
    else:
        reason = f"Check before the agent runs step {position} of {len(plan.steps)}: {step.text}"
        allowed = ("approve", "edit", "reject", "respond")
        level = "confirm"
    try:  # what the agent will really call: earlier results filled in
        shown = plan.resolve(step.args)
    except LookupError:
        shown = step.args
    preview = (f"{step.tool}({json.dumps(shown, ensure_ascii=False, default=str)})"
               if step.tool and step.owner == "agent" else None)
    args = {"step": step_id, "owners": {sid: plan.step(sid).owner for sid in remaining},
            "options": list(options)}
    value_schema = json_schema_of(schema)
    payload = ask_payload(
        action="step", args=args, reason=reason, preview=preview, level=level,
        allowed=allowed, agent=agent, args_schema=steps_schema(step_id, remaining, list(options)),
        collab={"mode": "step", "step": step_id, "plan": plan.to_json(),
                "evidence": list(evidence), "schema": value_schema})
    decision = Decision.from_resume(interrupt(payload))
    if decision.action == "approve":
        check_stop()
    return decision


# -- the same decisions as methods of Session -----------------------------------------------
class CollabDecisions(ReviewBase):
    """`Session` methods for collaborative requests (each calls `Session.decide`)."""

    def answer(self, value: Any, *, option: int | None = None,
               owners: Mapping[str, Owner] | None = None, request_id: str | None = None,
               rating: float | None = None, comment: str | None = None,
               reviewer: str | Reviewer | None = None) -> Decision:
        """Give the content asked for (`ask_input`, or a plan step's result): `value`, and
        `option`, the index of the agent's option you started from (None: your own).
        At a plan step, `owners` may also reassign the steps after it. Logged as `input`.

        >>> session.answer("Partial refund of 40 EUR", option=1)
        """
        args: dict[str, Any] = {"value": value, "option": option}
        if owners is not None:
            args["owners"] = self._owners(request_id, owners)
        return self.decide(request_id, "input", args=args, rating=rating, comment=comment,
                           reviewer=reviewer)

    def revise(self, note: str, args: dict[str, Any] | None = None,
               request_id: str | None = None, *, rating: float | None = None,
               comment: str | None = None,
               reviewer: str | Reviewer | None = None) -> Decision:
        """Send a co-edited draft back to the agent with `note` (and your edits so far in
        `args`); the agent drafts again. Logged as `revise`.

        >>> session.revise("shorter, and mention the voucher")
        """
        return self.decide(request_id, "revise", args=args, message=note, rating=rating,
                           comment=comment, reviewer=reviewer)

    def reassign(self, owners: Mapping[str, Owner], request_id: str | None = None, *,
                 comment: str | None = None,
                 reviewer: str | Reviewer | None = None) -> Decision:
        """At a plan step: change who does the steps still to do. The step paused on is
        included: give it to the agent to hand it back, take it to take over.

        >>> session.reassign({"s3": "agent", "s5": "human"})
        """
        request = self._request(request_id)
        return self.decide(request.request_id, "edit",
                           args={**request.args, "owners": self._owners(request_id, owners)},
                           comment=comment, reviewer=reviewer)

    def _owners(self, request_id: str | None,
                owners: Mapping[str, Owner]) -> dict[str, Owner]:
        request = self._request(request_id)
        current = request.args.get("owners")
        if (request.collab or {}).get("mode") != "step" or not isinstance(current, dict):
            raise DecisionError(f"request {request.request_id!r} is not a plan step; owners "
                                "are reassigned at a step of a running plan.")
        unknown = sorted(set(owners) - set(current))
        if unknown:
            raise DecisionError(f"steps {unknown} are not still to do; you can reassign "
                                f"{sorted(current)}.")
        bad = {k: v for k, v in owners.items() if v not in OWNERS}
        if bad:
            raise DecisionError(f"owners must be 'agent' or 'human', got {bad}.")
        return {**current, **owners}
