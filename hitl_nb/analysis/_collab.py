"""Collaborative execution from the log: who did the work, rounds to acceptance, and
which of the agent's options humans took.

Rows of shared plans carry the step id in `proposed_args["step"]`: `auto` rows (the agent
did a step), `input` / `override` rows at a step (the human did it), `edit` rows at a step
(a reassignment: `owners` before and after), `reject` rows at a step (skipped), and the
rounds of a co-edited draft (`revise`, then `approve` / `edit` / `reject`). Plan reviews
carry `proposed_args["steps"]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ._common import with_columns

TERMINAL = ("approve", "edit", "reject", "respond", "override", "input", "stop", "redirect",
            "timeout")
"""Decisions that settle a co-edited draft (anything but `revise`)."""


def _step_of(args: Any) -> str | None:
    return args.get("step") if isinstance(args, dict) and isinstance(args.get("step"), str) \
        else None


def _owners(args: Any) -> dict[str, str]:
    owners = args.get("owners") if isinstance(args, dict) else None
    return owners if isinstance(owners, dict) else {}


def _step_rows(df: pd.DataFrame) -> pd.DataFrame:
    df = with_columns(df, ["thread_id", "action_name", "decision", "proposed_args",
                           "final_args"])
    steps = df["proposed_args"].map(_step_of)
    rows = df.loc[steps.notna(), ["thread_id", "action_name", "decision", "proposed_args",
                                  "final_args"]].copy()
    rows["step"] = steps[steps.notna()]
    rows["decision"] = rows["decision"].astype(str)
    rows["action_name"] = rows["action_name"].astype(str)
    return rows


def _done_by(group: Iterable[tuple[str, str]]) -> str | None:
    """Who settled one step, from its rows in order: (action_name, decision)."""
    outcome, coedited = None, False
    for action, decision in group:
        if decision == "auto":
            outcome = "agent"
        elif decision in ("input", "override"):
            outcome = "human"
        elif action == "draft" and decision in ("revise", "edit"):
            coedited = True
            outcome = "both" if decision == "edit" else outcome
        elif action == "draft" and decision == "approve":
            outcome = "both" if coedited else "agent"
        elif action != "draft" and decision == "reject":
            outcome = "skipped"
    return outcome


def workload(df: pd.DataFrame) -> pd.DataFrame:
    """One row per plan run (`thread_id`): steps done by the agent, by the human, by both
    (an agent draft the human co-edited), skipped; reassigned when the plan was reviewed
    (owner differs from the agent's suggestion, or a step the human added), taken over
    (agent -> human during the run) and handed back (human -> agent).

    >>> analysis.workload(hitl_nb.log().to_pandas())
    """
    rows = _step_rows(df)
    settled: dict[tuple[Any, str], str] = {}
    for key, group in rows.groupby(["thread_id", "step"], sort=False, dropna=False):
        outcome = _done_by(zip(group["action_name"], group["decision"], strict=True))
        if outcome is not None:
            settled[(key[0], str(key[1]))] = outcome
    counts: dict[Any, dict[str, int]] = {}

    def bump(thread: Any, column: str, by: int = 1) -> None:
        counts.setdefault(thread, {}).setdefault(column, 0)
        counts[thread][column] += by

    for (thread, _), outcome in settled.items():
        bump(thread, outcome)
    moves = rows[(rows["action_name"] == "step") & (rows["decision"] == "edit")]
    for thread, before, after in zip(moves["thread_id"], moves["proposed_args"],
                                     moves["final_args"], strict=True):
        old, new = _owners(before), _owners(after)
        for sid, owner in new.items():
            if old.get(sid) == "agent" and owner == "human":
                bump(thread, "taken_over")
            elif old.get(sid) == "human" and owner == "agent":
                bump(thread, "handed_back")
    df = with_columns(df, ["decision", "proposed_args", "final_args"])
    plans = df[df["proposed_args"].map(lambda a: isinstance(a, dict) and isinstance(
        a.get("steps"), list)) & df["decision"].astype(str).isin(["approve", "edit"])]
    for thread, final in zip(plans["thread_id"], plans["final_args"], strict=True):
        steps = final.get("steps", []) if isinstance(final, dict) else []
        bump(thread, "planned_steps", len(steps))
        bump(thread, "reassigned_at_review",
             sum(1 for s in steps if s.get("suggested") is None
                 or s.get("owner") != s.get("suggested")))
    columns = ["planned_steps", "agent", "human", "both", "skipped", "reassigned_at_review",
               "taken_over", "handed_back"]
    out = pd.DataFrame.from_dict(counts, orient="index").reindex(columns=columns).fillna(0)
    out = out.astype("int64")
    out.index.name = "thread_id"
    return out


def revision_rounds(df: pd.DataFrame, actions: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per co-edited draft: its thread, action (and plan step, if any), how many
    rounds it took (drafts shown), how it ended (`approve`: accepted as drafted, `edit`:
    accepted with the human's edits, `reject`, ...) and whether it was accepted.

    A draft is the run of `revise` rows on one thread and action up to the decision that
    settles it. `actions`: the co-edited actions (default: plan drafts, `draft`, and every
    action that was sent back for revision at least once in `df`).

    >>> analysis.revision_rounds(df).query("accepted").rounds.mean()   # rounds to acceptance
    """
    df = with_columns(df, ["thread_id", "action_name", "decision", "proposed_args"])
    names = df["action_name"].astype(str)
    decisions = df["decision"].astype(str)
    chosen = set(actions) if actions is not None else {"draft", *names[decisions == "revise"]}
    records: list[dict[str, Any]] = []
    open_rounds: dict[tuple[Any, str], int] = {}
    for thread, action, decision, args in zip(df["thread_id"], names, decisions,
                                              df["proposed_args"], strict=True):
        if action not in chosen:
            continue
        key = (thread, action)
        if decision == "revise":
            open_rounds[key] = open_rounds.get(key, 0) + 1
            continue
        if decision not in TERMINAL:
            continue
        records.append({"thread_id": thread, "action_name": action, "step": _step_of(args),
                        "rounds": open_rounds.pop(key, 0) + 1, "outcome": decision,
                        "accepted": decision in ("approve", "edit")})
    return pd.DataFrame.from_records(records, columns=["thread_id", "action_name", "step",
                                                       "rounds", "outcome", "accepted"])


def options_taken(df: pd.DataFrame) -> pd.DataFrame:
    """One row per human-led answer (`input` decisions): how many options the agent
    offered, which one the human took (`option`, NaN: wrote their own), whether unchanged
    (`as_is`), what they ended with, and the options left aside (`rejected`, for
    preference pairs: chosen = `value`, rejected = each of these).

    >>> analysis.options_taken(df).groupby("action_name").as_is.mean()
    """
    df = with_columns(df, ["request_id", "thread_id", "action_name", "decision",
                           "proposed_args", "final_args", "reviewer"])
    rows = df[df["decision"].astype(str) == "input"]
    records = []
    for request_id, thread, action, proposed, final, reviewer in zip(
            rows["request_id"], rows["thread_id"], rows["action_name"].astype(str),
            rows["proposed_args"], rows["final_args"], rows["reviewer"], strict=True):
        options = list(proposed.get("options", [])) if isinstance(proposed, dict) else []
        answer = final if isinstance(final, dict) else {}
        option, value = answer.get("option"), answer.get("value")
        records.append({
            "request_id": request_id, "thread_id": thread, "action_name": action,
            "step": _step_of(proposed), "reviewer": reviewer, "offered": len(options),
            "option": option, "as_is": option is not None and options[option] == value,
            "value": value,
            "rejected": [o for i, o in enumerate(options) if i != option and o != value],
        })
    out = pd.DataFrame.from_records(records, columns=[
        "request_id", "thread_id", "action_name", "step", "reviewer", "offered", "option",
        "as_is", "value", "rejected"])
    out["option"] = out["option"].astype("Int64")
    return out
