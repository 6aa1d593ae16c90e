"""Shared plans: the steps an agent proposes, who does each, and what a reviewer may change.

A `Plan` is plain data that lives in graph state as JSON (`plan.to_json()`), so any
checkpointer stores it and a restarted kernel reads it back (`Plan.from_json`). Each
`Step` has an `owner` (agent or human) and the agent's `suggested` owner with `why`,
derived from what it declared it can do (`suggest`: the tools it has versus judgement
calls). Reviewing a plan is an edit of `{"steps": [...]}`: reorder, delete, add, reword,
reassign. `check_reviewed` says what a reviewer may not change (the agent's tools and
suggestions); the JSON schemas here say the shape. `check_collab` validates the `collab`
block of an interrupt payload, whatever its mode.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from ._schema import canonical_json
from ._validate import MAX_TEXT, DecisionError

if TYPE_CHECKING:
    import pandas as pd

    from ._schema import ReviewRequest

Owner = Literal["agent", "human"]
"""Who does a step."""
StepStatus = Literal["todo", "done", "skipped"]
DoneBy = Literal["agent", "human", "both"]
"""Who did a step: `both` is an agent draft the human edited or sent back for revision."""
PlanStatus = Literal["proposed", "approved", "rejected", "done"]
CollabMode = Literal["plan", "step", "input", "coedit"]

OWNERS: tuple[Owner, ...] = get_args(Owner)
MODES: tuple[CollabMode, ...] = get_args(CollabMode)
STEP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$"
MAX_STEPS = 1_000
"""Most steps in one plan (a plan is reviewed as a whole, in one card)."""
MAX_STEP_TEXT = 2_000
MAX_OPTIONS = 20
MAX_EVIDENCE = 50
REVIEW_FIELDS = ("id", "text", "owner", "suggested", "why", "tool", "args", "judgement",
                 "check", "coedit")
"""What a reviewer sees and sends back for each step (progress fields stay out)."""
AGENT_FIELDS = ("suggested", "why", "tool", "judgement")
"""The agent's part of a proposed step: a reviewer may not change it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One step of a shared plan.

    `owner` does it; `suggested` is who the agent proposed, `why` its reason. `tool` and
    `args` are how the agent would do it. `check`: pause before the agent runs it (the
    reviewer can let it go ahead, take it over or skip it). `coedit`: the agent's result
    is a draft the reviewer co-edits in rounds. Progress: `status`, `result`, `done_by`,
    `note` (the reviewer's last note, or why the agent handed the step over) and `round`
    (revisions so far).

    >>> Step(id="s1", text="Look up order 1042", tool="lookup_order", args={"order": 1042})
    """

    id: str
    text: str
    owner: Owner = "agent"
    suggested: Owner | None = None
    why: str | None = None
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    judgement: bool = False
    check: bool = False
    coedit: bool = False
    status: StepStatus = "todo"
    result: Any = None
    done_by: DoneBy | None = None
    note: str | None = None
    round: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "owner": self.owner,
                "suggested": self.suggested, "why": self.why, "tool": self.tool,
                "args": self.args, "judgement": self.judgement, "check": self.check,
                "coedit": self.coedit, "status": self.status, "result": self.result,
                "done_by": self.done_by, "note": self.note, "round": self.round}

    def review_json(self) -> dict[str, Any]:
        """The fields a reviewer sees and may send back edited."""
        return {name: getattr(self, name) for name in REVIEW_FIELDS}

    @classmethod
    def from_json(cls, value: Any) -> Step:
        """A step from its JSON (state, a review, a dict the agent wrote); `ValueError`
        names the bad field."""
        if not isinstance(value, Mapping):
            raise ValueError(f"a plan step must be a dict, got {value!r:.80}")
        if not value.keys() <= _KNOWN:
            unknown = sorted(set(value) - _KNOWN)
            raise ValueError(f"unknown step field(s) {unknown}; a step has {sorted(_KNOWN)}")
        step = cls(**dict(value))
        step._check()
        return step

    def _check(self) -> None:
        where = f"step {self.id!r}"
        if not isinstance(self.id, str) or not _STEP_ID.match(self.id):
            raise ValueError(f"step id {self.id!r} must be 1-40 letters, digits, or _ . : - "
                             "(starting with a letter or digit)")
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"{where}: text must be a non-empty string")
        if len(self.text) > MAX_STEP_TEXT:
            raise ValueError(f"{where}: text is {len(self.text)} characters; the limit is "
                             f"{MAX_STEP_TEXT}")
        for name, allowed in (("owner", OWNERS), ("suggested", (*OWNERS, None)),
                              ("done_by", (*OWNERS, "both", None))):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{where}: {name} must be one of {list(allowed)}, got {value!r}")
        if self.status not in STATUSES:
            raise ValueError(f"{where}: status must be one of {list(STATUSES)}")
        if not isinstance(self.args, dict):
            raise ValueError(f"{where}: args must be a dict")
        if self.tool is not None and not isinstance(self.tool, str):
            raise ValueError(f"{where}: tool must be a tool name or None")
        for name in ("judgement", "check", "coedit"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{where}: {name} must be True or False")
        if isinstance(self.round, bool) or not isinstance(self.round, int) or self.round < 0:
            raise ValueError(f"{where}: round must be a whole number >= 0")


STEP_FIELDS = tuple(f.name for f in fields(Step))
_KNOWN = frozenset(STEP_FIELDS)
_STEP_ID = re.compile(STEP_ID)
STATUSES: tuple[StepStatus, ...] = get_args(StepStatus)


def suggest(step: Step, tools: Iterable[str] | None) -> tuple[Owner, str]:
    """Who the agent suggests for `step`, and why, from what it declared it can do.

    A step needing a tool the agent has is the agent's; one needing a tool it lacks, a
    judgement call, or a task no tool covers is the human's; a text the agent drafts is
    the agent's, co-edited. (`tools=None`: the agent's tool list is unknown, trust it.)

    >>> suggest(Step(id="s1", text="Decide", judgement=True), ["lookup_order"])
    ('human', 'a judgement call: yours to make')
    """
    if step.judgement:
        return "human", "a judgement call: yours to make"
    if step.tool is not None:
        if tools is None or step.tool in set(tools):
            return "agent", f"has the tool {step.tool}"
        return "human", f"needs {step.tool}, which the agent does not have"
    if step.coedit:
        return "agent", "writing a draft is quick for the agent; you co-edit it"
    return "human", "no tool covers it: it needs a person"


def _as_step(item: Step | Mapping[str, Any] | str, index: int) -> Step:
    if isinstance(item, Step):
        return item
    if isinstance(item, str):
        return Step(id=f"s{index + 1}", text=item)
    if isinstance(item, Mapping):
        data = dict(item)
        data.setdefault("id", f"s{index + 1}")
        try:
            return Step.from_json(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"plan step {index}: {exc}") from exc
    raise ValueError(f"plan step {index} must be a Step, a dict or a string, got {item!r:.80}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """A shared plan: the goal and its steps in order, JSON-able for graph state.

    >>> plan = Plan.propose(["Look up order 1042", {"text": "Decide", "judgement": True}],
    ...                     goal="Answer ticket 88", tools=["lookup_order"])
    >>> reviewed = plan.assign("s1", "agent").move("s2", 0).add("Call the customer")
    >>> session.edit(reviewed.as_args())     # the same edit the plan widget sends

    Editing methods return a new plan; `to_json()` / `from_json()` round-trip it.
    """

    goal: str | None = None
    steps: tuple[Step, ...] = ()
    status: PlanStatus = "proposed"
    message: str | None = None

    # -- building -------------------------------------------------------------------
    @classmethod
    def propose(cls, steps: Sequence[Step | Mapping[str, Any] | str], *,
                goal: str | None = None, tools: Iterable[str] | None = None) -> Plan:
        """The agent's proposal: ids filled in (`s1`, `s2`, ...), each step's suggested
        owner and reason from `suggest` unless the agent gave one, owner = suggestion."""
        if isinstance(steps, str | Mapping) or not isinstance(steps, Sequence) or not steps:
            raise ValueError("a plan needs a non-empty list of steps (Step objects, dicts "
                             "with 'text', or plain strings).")
        if len(steps) > MAX_STEPS:
            raise ValueError(f"a plan has at most {MAX_STEPS} steps, got {len(steps)}")
        toolset = None if tools is None else list(tools)
        out = []
        for index, item in enumerate(steps):
            step = _as_step(item, index)
            if step.suggested is None:
                owner, why = suggest(step, toolset)
                said: str | None = why
                if isinstance(item, Mapping) and "owner" in item:
                    owner, said = step.owner, None  # the agent said who, not why
                step = replace(step, suggested=owner, why=step.why or said)
            out.append(replace(step, owner=step.suggested or step.owner))
        plan = cls(goal=goal, steps=tuple(out))
        plan._check_ids()
        return plan

    def _check_ids(self) -> None:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} appears twice; ids must be unique")
            seen.add(step.id)

    # -- JSON -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """For graph state: `{"goal", "status", "message", "steps": [...]}`."""
        return {"goal": self.goal, "status": self.status, "message": self.message,
                "steps": [s.to_json() for s in self.steps]}

    @classmethod
    def from_json(cls, value: Any, *, check: bool = True) -> Plan:
        """The plan `to_json()` wrote. `check=False` skips validating each step, for a
        plan this code wrote itself (a graph's state, read at every step of a run)."""
        if not check:
            return cls(goal=value.get("goal"), steps=tuple(Step(**s) for s in value["steps"]),
                       status=value.get("status", "proposed"), message=value.get("message"))
        if not isinstance(value, Mapping) or not isinstance(value.get("steps"), list):
            raise ValueError(f"a plan must be a dict with a 'steps' list, got {value!r:.80}")
        status = value.get("status", "proposed")
        if status not in get_args(PlanStatus):
            raise ValueError(f"plan status must be one of {list(get_args(PlanStatus))}")
        plan = cls(goal=value.get("goal"), steps=tuple(Step.from_json(s) for s in value["steps"]),
                   status=status, message=value.get("message"))
        plan._check_ids()
        return plan

    @classmethod
    def from_request(cls, request: ReviewRequest) -> Plan:
        """The plan a pending plan review proposes, or the plan of a pending step."""
        collab = request.collab or {}
        if collab.get("mode") == "plan":
            return cls(goal=collab.get("goal"),
                       steps=tuple(Step.from_json(s) for s in request.args["steps"]))
        if isinstance(collab.get("plan"), dict):
            return cls.from_json(collab["plan"])
        raise ValueError(f"request {request.request_id!r} is not about a plan "
                         f"(collab mode {collab.get('mode')!r}).")

    def as_args(self) -> dict[str, Any]:
        """The arguments of a plan review: what `session.edit(...)` takes."""
        return {"steps": [s.review_json() for s in self.steps]}

    # -- reading --------------------------------------------------------------------
    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"no step {step_id!r} in this plan; ids: {[s.id for s in self.steps]}")

    def index(self, step_id: str) -> int:
        return self.steps.index(self.step(step_id))

    def next(self) -> Step | None:
        """The first step still to do, or None when every step is done or skipped."""
        return next((s for s in self.steps if s.status == "todo"), None)

    def remaining(self) -> list[Step]:
        return [s for s in self.steps if s.status == "todo"]

    def resolve(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """`args` with each `"${<step id>}"` value replaced by that step's result: how a
        step refers to what an earlier one found. `LookupError` (naming the step) when
        that step was removed or is not done.

        >>> plan.resolve({"order": 1042, "remedy": "${s3}"})
        {'order': 1042, 'remedy': 'Voucher of 90.00 EUR'}
        """
        out = {}
        for key, value in args.items():
            ref = re.fullmatch(r"\$\{([^}]+)\}", value) if isinstance(value, str) else None
            if ref is None:
                out[key] = value
                continue
            found = next((s for s in self.steps if s.id == ref[1]), None)
            if found is None:
                raise LookupError(f"it needs the result of step {ref[1]}, which was removed "
                                  "from the plan")
            if found.status != "done":
                raise LookupError(f"it needs the result of '{found.text}', which is "
                                  f"{'skipped' if found.status == 'skipped' else 'not done'}")
            out[key] = found.result
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row per step: who was suggested, who owns it, status, who did it, result."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [{"step": s.id, "text": s.text, "suggested": s.suggested, "owner": s.owner,
              "why": s.why, "tool": s.tool, "status": s.status, "done_by": s.done_by,
              "rounds": s.round, "result": s.result} for s in self.steps],
            columns=["step", "text", "suggested", "owner", "why", "tool", "status", "done_by",
                     "rounds", "result"])

    def __str__(self) -> str:
        lines = [f"Plan: {self.goal}" if self.goal else "Plan"]
        for n, s in enumerate(self.steps, start=1):
            mark = {"todo": " ", "done": "x", "skipped": "-"}[s.status]
            who = s.owner + (f" (suggested {s.suggested})" if s.suggested
                             and s.suggested != s.owner else "")
            lines.append(f"  [{mark}] {n}. {s.text} -- {who}")
        return "\n".join(lines)

    # -- editing (each returns a new plan) --------------------------------------------
    def with_step(self, step: Step) -> Plan:
        """This plan with the step of the same id replaced."""
        index = self.index(step.id)
        return replace(self, steps=(*self.steps[:index], step, *self.steps[index + 1:]))

    def assign(self, step_id: str, owner: Owner) -> Plan:
        if owner not in OWNERS:
            raise ValueError(f"owner must be one of {list(OWNERS)}, got {owner!r}")
        return self.with_step(replace(self.step(step_id), owner=owner))

    def move(self, step_id: str, to: int) -> Plan:
        """Move a step to position `to` (0-based, negative counts from the end)."""
        step = self.step(step_id)
        rest = [s for s in self.steps if s.id != step_id]
        rest.insert(to if to >= 0 else len(rest) + 1 + to, step)
        return replace(self, steps=tuple(rest))

    def remove(self, step_id: str) -> Plan:
        self.step(step_id)
        return replace(self, steps=tuple(s for s in self.steps if s.id != step_id))

    def add(self, text: str, *, owner: Owner = "human", after: str | None = None,
            step_id: str | None = None, check: bool = False, coedit: bool = False) -> Plan:
        """Add a step of your own (no tool: the agent interprets the text, or hands it
        back), after `after` or at the end; its id is `h1`, `h2`, ... unless given."""
        taken = {s.id for s in self.steps}
        new_id = step_id or next(f"h{n}" for n in range(1, len(taken) + 2) if f"h{n}" not in taken)
        step = Step(id=new_id, text=text, owner=owner, check=check, coedit=coedit)
        step._check()
        if new_id in taken:
            raise ValueError(f"step id {new_id!r} is taken")
        at = len(self.steps) if after is None else self.index(after) + 1
        return replace(self, steps=(*self.steps[:at], step, *self.steps[at:]))

    def edit(self, step_id: str, *, text: str | None = None, args: dict[str, Any] | None = None,
             check: bool | None = None, coedit: bool | None = None) -> Plan:
        """Reword a step, change its tool arguments, or its check / co-edit flags."""
        step = self.step(step_id)
        changes: dict[str, Any] = {k: v for k, v in (("text", text), ("args", args),
                                                      ("check", check), ("coedit", coedit))
                                   if v is not None}
        new = replace(step, **changes)
        new._check()
        return self.with_step(new)


# -- the shapes a reviewer's answer must have ----------------------------------------
STEP_REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": STEP_ID},
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_STEP_TEXT},
        "owner": {"enum": list(OWNERS)},
        "suggested": {"enum": [*OWNERS, None]},
        "why": {"type": ["string", "null"]},
        "tool": {"type": ["string", "null"]},
        "args": {"type": "object"},
        "judgement": {"type": "boolean"},
        "check": {"type": "boolean"},
        "coedit": {"type": "boolean"},
    },
    "required": list(REVIEW_FIELDS),
    "additionalProperties": False,
}
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS,
                             "items": STEP_REVIEW_SCHEMA}},
    "required": ["steps"],
    "additionalProperties": False,
}
"""The edited plan's shape (checked by `hitl_nb._validate.check_args`)."""


def check_reviewed(proposed: Sequence[dict[str, Any]], reviewed: Sequence[dict[str, Any]]) -> None:
    """What the schema cannot say: ids unique, no blank text, the agent's part of each
    proposed step unchanged (its tool, suggestion and reason), steps the reviewer added
    without a tool, and tool arguments only on tool steps. Raises `DecisionError`."""
    by_id = {s["id"]: s for s in proposed}
    seen: set[str] = set()
    for n, step in enumerate(reviewed, start=1):
        sid = step["id"]
        where = f"step {n} ({sid!r})"
        if sid in seen:
            raise DecisionError(f"invalid plan: {where}: the id {sid!r} is used twice; "
                                "give each step its own id.")
        seen.add(sid)
        if not step["text"].strip():
            raise DecisionError(f"invalid plan: {where}: the text is blank; write what the "
                                "step is, or delete it.")
        original = by_id.get(sid)
        if original is not None:
            for name in AGENT_FIELDS:
                if step[name] != original[name]:
                    raise DecisionError(
                        f"invalid plan: {where}: {name} is the agent's "
                        f"({original[name]!r}) and cannot be changed; reassign the step "
                        "with owner, or delete it and add your own.")
        elif step["tool"] is not None or step["suggested"] is not None \
                or step["why"] is not None or step["judgement"]:
            raise DecisionError(f"invalid plan: {where}: a step you add has no tool, "
                                "suggestion, reason or judgement flag (only id, text, owner, "
                                "check, coedit).")
        if step["tool"] is None and step["args"]:
            raise DecisionError(f"invalid plan: {where}: args are for tool steps only.")


def steps_schema(step_id: str, remaining: Sequence[str], options: list[Any]) -> dict[str, Any]:
    """The arguments of a step pause: the step, who does the steps not done yet (the one
    paused on included; the reviewer may change these), and the agent's options (fixed)."""
    return {
        "type": "object",
        "properties": {
            "step": {"const": step_id},
            "owners": {"type": "object",
                       "properties": {sid: {"enum": list(OWNERS)} for sid in remaining},
                       "required": list(remaining), "additionalProperties": False},
            "options": {"const": options},
        },
        "required": ["step", "owners", "options"],
        "additionalProperties": False,
    }


TEXT_ANSWER: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
"""The answer schema when none is given: non-empty text."""


def answer_schema(collab: Mapping[str, Any]) -> dict[str, Any]:
    schema = collab.get("schema")
    return schema if isinstance(schema, dict) else TEXT_ANSWER


def _evidence(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise ValueError(f"evidence must be a list of strings or {{'text', 'source'}} dicts, "
                         f"got {value!r:.80}")
    if len(value) > MAX_EVIDENCE:
        raise ValueError(f"at most {MAX_EVIDENCE} pieces of evidence, got {len(value)}")
    out = []
    for item in value:
        entry = {"text": item, "source": None} if isinstance(item, str) else item
        text = entry.get("text") if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping) or not isinstance(text, str) \
                or not isinstance(entry.get("source"), str | None) \
                or set(entry) - {"text", "source"}:
            raise ValueError(f"evidence item must be a string or {{'text': str, 'source': "
                             f"str | None}}, got {item!r:.80}")
        if len(text) > MAX_STEP_TEXT:
            raise ValueError(f"evidence text is {len(text)} characters; the limit "
                             f"is {MAX_STEP_TEXT}")
        out.append({"text": text, "source": entry.get("source")})
    return out


def check_options(options: Any, schema: dict[str, Any]) -> list[Any]:
    """The agent's suggested answers: a list of at most `MAX_OPTIONS` values, each valid
    against the answer schema (an agent offering an answer it could not submit is a bug
    in the agent, caught where it asks)."""
    import jsonschema

    if isinstance(options, str | Mapping) or not isinstance(options, Sequence):
        raise ValueError(f"options must be a list of suggested answers, got {options!r:.80}")
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"at most {MAX_OPTIONS} options, got {len(options)}")
    validator = jsonschema.Draft202012Validator(schema)
    for n, option in enumerate(options):
        error = jsonschema.exceptions.best_match(validator.iter_errors(option))
        if error is not None:
            raise ValueError(f"option {n} does not fit the answer schema: {error.message}")
    return list(options)


_checked: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CHECKED_KEPT = 64


def check_collab(value: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """The `collab` block of an interrupt payload, checked (`ValueError` names the field).

    Modes: `plan` (`goal`, `tools`), `step` (`step`, `plan`, `evidence`, `schema`),
    `input` (`prompt`, `evidence`, `schema`, `decline`), `coedit` (`field`, `round`,
    `max_rounds`).

    The same payload is checked when it is made, when a session reads it from the
    checkpoint and when the node runs again on resume: a long plan is validated once
    (results are kept by content hash)."""
    if value is None:
        return None
    try:
        key = hashlib.sha256(canonical_json([value, args]).encode()).hexdigest()
    except (TypeError, ValueError):
        key = ""
    if key in _checked:
        return dict(_checked[key])
    out = _check_collab(value, args)
    if key:
        _checked[key] = out
        while len(_checked) > _CHECKED_KEPT:
            _checked.popitem(last=False)
    return dict(out)


def _check_collab(value: Any, args: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping) or value.get("mode") not in MODES:
        raise ValueError(f"collab must be a dict with mode one of {list(MODES)}, "
                         f"got {value!r:.100}")
    mode = cast(CollabMode, value["mode"])
    out = dict(value)
    if mode == "plan":
        steps = args.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ValueError("a plan review needs args={'steps': [...]} (Plan.as_args()).")
        import jsonschema

        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(args))
        if error is not None:
            raise ValueError(f"the proposed plan is malformed: {error.message}")
        try:
            check_reviewed(steps, steps)
        except DecisionError as exc:
            raise ValueError(str(exc).replace("invalid plan", "the proposed plan")) from exc
        if not isinstance(value.get("goal"), str | None):
            raise ValueError("collab goal must be text")
        return out
    if mode == "coedit":
        field_name = value.get("field")
        if not isinstance(field_name, str) or not isinstance(args.get(field_name), str):
            raise ValueError(f"collab field {field_name!r} must name a text argument")
        numbers: list[int] = []
        for name in ("round", "max_rounds"):
            number = value.get(name)
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {number!r}")
            numbers.append(number)
        if numbers[0] > numbers[1]:
            raise ValueError(f"round {numbers[0]} is past max_rounds {numbers[1]}")
        return out
    schema = value.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise ValueError("collab schema must be a JSON-schema dict")
    out["evidence"] = _evidence(value.get("evidence"))
    check_options(args.get("options", []), answer_schema(value))
    if mode == "input":
        if not isinstance(value.get("prompt"), str) or not value["prompt"].strip():
            raise ValueError("ask_input needs a prompt: what the human should write")
        return out
    # mode == "step"
    plan = Plan.from_json(value.get("plan"))
    sid = value.get("step")
    step = plan.step(str(sid))
    remaining = [s.id for s in plan.remaining()]
    if step.status != "todo" or args.get("step") != sid \
            or sorted(args.get("owners", {})) != sorted(remaining):
        raise ValueError(f"step pause for {sid!r} must name a step still to do and give "
                         "owners for every step still to do")
    return out
