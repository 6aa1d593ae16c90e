"""`plan_graph`: a LangGraph graph that proposes a plan, has it reviewed, then executes it
step by step with the work shared between the agent and the human.

    propose -> review -> work    (an agent step: `do(step, plan)`, logged as `auto`)
                      -> ask     (a human step, or an agent step with check=True)
                      -> coedit  (after work on a draft: accept, edit, or revise -> work)
                      -> finish  (no step left)

Each node saves its step and goes on with the first step still to do (one checkpoint
per step: a crash never repeats a finished step).

Everything the run knows is in the graph state (`plan` is `Plan.to_json()`), so any
checkpointer, including `SqliteSaver` across a kernel restart, resumes it. The human can
reassign the steps still to do at every pause: take over an agent step, hand a human
step back to the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from ._ask import ask
from ._collab import DEFAULT_MAX_ROUNDS, ask_plan, ask_step
from ._notify import notify
from ._override import check_stop
from ._plan import Plan, Step


class PlanState(TypedDict, total=False):
    """The state of a `plan_graph` run (every value JSON-able)."""

    goal: str
    """What the plan is for (the input)."""
    context: dict[str, Any]
    """Anything else the agent needs (the ticket, the customer): the input."""
    plan: dict[str, Any]
    """`Plan.to_json()`: steps, owners, progress and results."""
    current: str | None
    """The step being worked on."""
    offer: dict[str, Any]
    """The agent's options and evidence for the current human step."""
    result: Any
    """What `finish(plan)` returned."""


class NeedsHuman(Exception):
    """Raise it in `do(step, plan)` when the agent cannot do a step (no tool for it,
    missing access): the step goes to the human, with the message as the reason.

    >>> raise hitl_nb.NeedsHuman("I have no tool to phone the warehouse")
    """


Propose = Callable[[PlanState], Sequence[Any] | Plan]
Do = Callable[[Step, Plan], Any]
Assist = Callable[[Step, Plan], Any]
Finish = Callable[[Plan], Any]


def _offer(assist: Assist | None, step: Step, plan: Plan) -> dict[str, Any]:
    """Options and evidence the agent offers for a human step (plus its own earlier draft,
    when the human turned a draft down and now writes the step)."""
    got = assist(step, plan) if assist is not None else None
    if isinstance(got, Mapping):
        options, evidence = list(got.get("options", [])), list(got.get("evidence", []))
    else:
        options, evidence = list(got or []), []
    if isinstance(step.result, str) and step.result and step.result not in options:
        options.insert(0, step.result)
    return {"options": options, "evidence": evidence}


def plan_graph(propose: Propose, do: Do, *, assist: Assist | None = None,
               finish: Finish | None = None, tools: Iterable[str] | None = None,
               checkpointer: Any = None, max_rounds: int = DEFAULT_MAX_ROUNDS,
               agent: str = "planner") -> Any:
    """Compile a graph that plans with the human and shares the work.

    * `propose(state) -> steps`: the agent's plan for `state["goal"]` (`Step`s, dicts or
      strings, see `ask_plan`); who should do each is suggested from `tools`.
    * `do(step, plan) -> result`: the agent does one step (JSON-able result), with
      `"${s3}"` in `step.args` already replaced by step s3's result (`Plan.resolve`;
      when s3 was removed or skipped the step goes to the human). For a `coedit` step it
      returns a draft; on a revision `step.result` holds the human's edited text and
      `step.note` their note. Raise `NeedsHuman(reason)` to hand the step to the human.
    * `assist(step, plan) -> options | {"options", "evidence"}`: the agent's help for a
      human step (suggested results the human can take, edit or ignore).
    * `finish(plan) -> result`: the run's result (default: each step's result by id).

    >>> graph = hitl_nb.plan_graph(propose, do, assist=assist, tools=["lookup_order"])
    >>> session = hitl_nb.Session(graph, config).invoke({"goal": "Answer ticket 88"})
    """
    toolset = None if tools is None else list(tools)

    def load(state: PlanState) -> Plan:
        # checked where it entered (the agent's proposal, the reviewer's edit): each step
        # of a long plan would otherwise re-validate every step of it
        return Plan.from_json(state["plan"], check=False)

    def save(state: PlanState, plan: Plan, *changed: Step) -> dict[str, Any]:
        """The state's plan with `changed` steps replaced (their JSON only: a step of a
        long plan should not re-serialise all of it)."""
        value = state["plan"]
        at = {s["id"]: i for i, s in enumerate(value["steps"])}
        steps = list(value["steps"])
        for step in changed:
            steps[at[step.id]] = step.to_json()
        return {**value, "steps": steps}

    def route(state: PlanState, plan: Plan, *changed: Step) -> Command[Any]:
        """Save what changed and go on with the first step still to do: the agent's,
        a check before it, or the human's (with the agent's options), or finish."""
        for one in changed:
            plan = plan.with_step(one)
        update: dict[str, Any] = {"plan": save(state, plan, *changed)} if changed else {}
        if "plan" not in state or state["plan"].get("status") != plan.status:
            update["plan"] = plan.to_json()  # a newly reviewed plan: saved whole
        step = plan.next()
        if step is None:
            return Command(goto="finish", update={**update, "current": None})
        if step.owner == "human":
            return Command(goto="ask", update={**update, "current": step.id,
                                               "offer": _offer(assist, step, plan)})
        return Command(goto="ask" if step.check else "work",
                       update={**update, "current": step.id, "offer": {}})

    def propose_node(state: PlanState) -> dict[str, Any]:
        steps = propose(state)
        plan = steps if isinstance(steps, Plan) else Plan.propose(
            steps, goal=state.get("goal"), tools=toolset)
        return {"plan": plan.to_json(), "current": None}

    def review_node(state: PlanState) -> Command[Any]:
        plan = ask_plan(load(state), tools=toolset, agent=agent)
        if plan.status == "rejected":
            return Command(goto="finish", update={"plan": plan.to_json()})
        return route({}, plan)

    def work_node(state: PlanState) -> Command[Any]:
        plan = load(state)
        step = plan.step(str(state["current"]))
        check_stop()
        try:
            try:
                ready = replace(step, args=plan.resolve(step.args))
            except LookupError as exc:
                raise NeedsHuman(str(exc)) from exc
            result = do(ready, plan)
        except NeedsHuman as exc:
            return route(state, plan, replace(step, owner="human",
                                              note=f"the agent handed it over: {exc}"))
        if step.coedit:  # a draft: co-edited before it counts as done
            draft = replace(step, result=result, round=step.round + 1)
            return Command(goto="coedit", update={"plan": save(state, plan, draft)})
        notify(action=step.tool or "step", args={"step": step.id, "text": step.text,
                                                 "args": ready.args},
               result=result, level="autonomy", reason=step.why, agent=agent)
        return route(state, plan, replace(step, status="done", result=result,
                                          done_by="agent"))

    def ask_node(state: PlanState) -> Command[Any]:
        plan = load(state)
        step = plan.step(str(state["current"]))
        offer = state.get("offer") or {}
        decision = ask_step(plan, step.id, options=offer.get("options", []),
                            evidence=offer.get("evidence", []), agent=agent)
        who = decision.reviewer or "the reviewer"
        if decision.action == "approve":  # a checked agent step may go ahead
            return Command(goto="work")
        owners = decision.args.get("owners", {})
        moved = [replace(plan.step(sid), owner=owner) for sid, owner in owners.items()
                 if sid != step.id and plan.step(sid).owner != owner]
        if decision.action == "reject":
            return route(state, plan, *moved, replace(step, status="skipped",
                                                      note=decision.message))
        if decision.action == "respond":  # the human's result: input, or done by hand
            result = decision.result if decision.override else decision.message
            return route(state, plan, *moved, replace(step, owner="human", status="done",
                                                      result=result, done_by="human",
                                                      note=None))
        # edit: reassigned, this step included or not
        owner = owners.get(step.id, step.owner)
        if owner == step.owner == "agent":  # approved, with later steps reassigned
            return Command(goto="work", update={"plan": save(state, plan, *moved)})
        if owner == step.owner:  # still the human's: asked again
            return route(state, plan, *moved)
        what = "handed back to the agent" if owner == "agent" else "taken over"
        now = replace(step, owner=owner, check=False, note=f"{what} by {who}")
        if owner == "agent":
            return Command(goto="work", update={"plan": save(state, plan, *moved, now)})
        return route(state, plan, *moved, now)

    def coedit_node(state: PlanState) -> Command[Any]:
        plan = load(state)
        step = plan.step(str(state["current"]))
        position = plan.index(step.id) + 1
        decision = ask(action="draft", args={"step": step.id, "text": step.result},
                       args_schema={"type": "object", "properties": {
                           "step": {"const": step.id}, "text": {"type": "string"}},
                           "required": ["step", "text"], "additionalProperties": False},
                       level="collaborate", round=step.round, max_rounds=max_rounds,
                       reason=f"Step {position} of {len(plan.steps)}: {step.text} (the "
                              f"agent's draft, round {step.round} of at most {max_rounds})",
                       agent=agent)
        if decision.override == "revise":
            again = replace(step, result=decision.args["text"], note=decision.message)
            return Command(goto="work", update={"plan": save(state, plan, again)})
        if decision.action == "reject":
            return route(state, plan, replace(
                step, owner="human", note=f"draft turned down: {decision.message}"
                if decision.message else "draft turned down"))
        if decision.action == "respond":
            result = decision.result if decision.override else decision.message
            return route(state, plan, replace(step, owner="human", status="done",
                                              result=result, done_by="human"))
        text = decision.args.get("text", step.result)
        revised = step.round > 1 or decision.action == "edit"
        return route(state, plan, replace(step, status="done", result=text,
                                          done_by="both" if revised else "agent"))

    def finish_node(state: PlanState) -> dict[str, Any]:
        plan = load(state)
        if plan.status != "rejected":
            plan = replace(plan, status="done")
        result = finish(plan) if finish is not None else (
            {s.id: s.result for s in plan.steps if s.status == "done"}
            if plan.status == "done" else f"plan rejected: {plan.message or 'no reason given'}")
        return {"plan": plan.to_json(), "result": result}

    builder = StateGraph(PlanState)
    builder.add_node("propose", propose_node)
    ahead = ("work", "ask", "finish")  # where `route` goes next
    builder.add_node("review", review_node, destinations=ahead)
    builder.add_node("work", work_node, destinations=(*ahead, "coedit"))
    builder.add_node("ask", ask_node, destinations=ahead)
    builder.add_node("coedit", coedit_node, destinations=ahead)
    builder.add_node("finish", finish_node)
    builder.add_edge(START, "propose")
    builder.add_edge("propose", "review")
    builder.add_edge("finish", END)
    if checkpointer is None:
        from langgraph.checkpoint.memory import InMemorySaver

        checkpointer = InMemorySaver()
    return builder.compile(checkpointer=checkpointer)
