"""Property tests: random and mutated front-end messages against the widgets' handlers.

Whatever a page sends, no handler raises, nothing refused is logged, no request is settled
(or its node completed) twice, and a correct message still works afterwards. The handlers
are called directly: the comm's dispatcher would print an exception instead of raising it.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any

from conftest import config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

import hitl_nb

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["é", "🙂", "\x00", "0" * 32, "approve", "x" * 20_001]))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def token(current: str, seen: list[str]) -> st.SearchStrategy[Any]:
    """The token issued now, one issued earlier, a near miss, or junk."""
    return st.one_of(st.just(current), st.just(current), st.sampled_from(seen or [""]),
                     st.just("é" + current[1:]), st.just(current.upper()), JUNK)


class FanState(TypedDict, total=False):
    items: list[str]
    done: Annotated[list[str], operator.add]


def fan_out(completed: Counter[str]) -> Any:
    """One `ask` per item, in parallel; `completed` counts how often each node finished."""

    def spread(state: FanState) -> list[Send]:
        return [Send("publish", {"items": [item]}) for item in state["items"]]

    def publish(state: FanState) -> dict[str, Any]:
        item = state["items"][0]
        decision = hitl_nb.ask(action="publish", args={"item": item, "n": 1},
                               risk="high" if item.endswith("0") else None, confidence=0.5)
        completed[item] += 1
        return {"done": [f"{item}: {decision.action}"]}

    builder = StateGraph(FanState)
    builder.add_node("publish", publish)
    builder.add_conditional_edges(START, spread, ["publish"])
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def deliver(widget: Any, message: Any, log: hitl_nb.FeedbackLog,
            completed: Counter[str]) -> None:
    """Hand `message` to the widget's handler (an exception fails the test) and check:
    a refused message logs nothing, no request is settled twice, no node finishes twice."""
    rows, refusals = len(log), len(widget.refusals)
    widget._on_message(widget, message, [])
    if len(widget.refusals) > refusals:
        assert len(log) == rows, (message, widget.refusals[-1])
    assert all(n == 1 for n in Counter(row["request_id"] for row in log).values())
    assert max(completed.values(), default=0) <= 1


@FUZZ
@given(data=st.data())
def test_review_widget_messages(data: st.DataObject) -> None:
    completed: Counter[str] = Counter()
    log = hitl_nb.FeedbackLog()
    items = [f"item{i}" for i in range(data.draw(st.integers(1, 3)))]
    session = hitl_nb.Session(fan_out(completed), config(), log=log).invoke({"items": items})
    widget = session.widget()
    seen: list[str] = []
    for _ in range(data.draw(st.integers(1, 10))):
        seen += [r["nonce"] for r in widget.requests]
        card = data.draw(st.sampled_from(widget.requests)) if widget.requests else None
        kind = data.draw(st.sampled_from(["decision"] * 4 + ["submit", "junk"]))
        if kind == "junk" or card is None:
            message: Any = data.draw(JUNK | st.fixed_dictionaries({"type": JUNK}))
        elif kind == "submit":
            message = {"type": "submit", "token": data.draw(token(widget.submit_token, seen))}
        else:
            message = {"type": "decision", "request_id": card["request_id"],
                       "nonce": data.draw(token(card["nonce"], seen)),
                       "action": data.draw(st.sampled_from(["approve", "edit", "reject",
                                                            "respond"]) | JUNK)}
            for key, values in (("args", st.just({"n": 2}) | st.just({"n": float("nan")})
                                 | st.just({"item": 7}) | JUNK),
                                ("message", st.text(max_size=20) | JUNK),
                                ("rating", st.integers(0, 6) | JUNK), ("comment", JUNK)):
                if data.draw(st.booleans()):
                    message[key] = data.draw(values)
        deliver(widget, message, log, completed)
    if session.pending:  # after all that, a correct click still works
        card = widget.requests[0]
        widget._on_message(widget, {"type": "decision", "request_id": card["request_id"],
                                    "nonce": card["nonce"], "action": "reject"}, [])
        assert log.rows_for(card["request_id"])[-1]["decision"] == "reject"


@FUZZ
@given(data=st.data())
def test_batch_widget_messages(data: st.DataObject) -> None:
    completed: Counter[str] = Counter()
    log = hitl_nb.FeedbackLog()
    items = [f"item{i}" for i in range(data.draw(st.integers(1, 12)))]
    session = hitl_nb.Session(fan_out(completed), config(), log=log).invoke({"items": items})
    batch = hitl_nb.BatchReview(session, page_size=10)
    seen: list[str] = []
    ids = st.lists(st.integers(-1, 13) | JUNK, max_size=4) | JUNK
    for _ in range(data.draw(st.integers(1, 10))):
        seen.append(batch.token)
        kind = data.draw(st.sampled_from(["decide", "edit", "query", "prepare_matching",
                                          "confirm_matching", "junk"]))
        message: Any = {"type": kind, "token": data.draw(token(batch.token, seen))}
        if kind == "decide":
            message |= {"action": data.draw(st.sampled_from(["approve", "reject"]) | JUNK),
                        "ids": data.draw(ids)}
        elif kind == "edit":
            message |= {"id": data.draw(st.integers(-1, 13) | JUNK),
                        "args": data.draw(st.just({"n": 3}) | JUNK)}
        elif kind == "query":
            message = {"type": "query", "query": data.draw(st.fixed_dictionaries(
                {}, optional={"page": JUNK, "page_size": st.sampled_from([10, 25.0]) | JUNK,
                              "sort": JUNK, "filter": st.fixed_dictionaries(
                                  {}, optional={"min_confidence": JUNK, "risk": JUNK,
                                                "text": JUNK})}))}
        elif kind == "confirm_matching":
            message["count"] = data.draw(st.integers(0, 13) | JUNK)
        elif kind == "junk":
            message = data.draw(JUNK)
        deliver(batch, message, log, completed)
    pending = [row["id"] for row in batch.rows if row["status"] == "pending"]
    if pending:
        batch._on_message(batch, {"type": "decide", "token": batch.token, "action": "reject",
                                  "ids": pending[:1]}, [])
        assert batch.results[-1].decided == 1


@FUZZ
@given(data=st.data())
def test_feed_widget_messages(data: st.DataObject) -> None:
    log, feed, undone = hitl_nb.FeedbackLog(), hitl_nb.Feed(), Counter[str]()
    for name in ("a", "b"):
        hitl_nb.notify(action=name, log=log, feed=feed,
                       undo=lambda name=name: undone.update([name]))
    widget = feed.widget()
    seen: list[str] = []
    for _ in range(data.draw(st.integers(1, 8))):
        item = data.draw(st.sampled_from(widget.items))
        seen += [i["nonce"] for i in widget.items if i["nonce"]]
        message: Any = data.draw(st.fixed_dictionaries(
            {"type": st.just("undo") | JUNK, "id": st.just(item["id"]) | JUNK,
             "nonce": token(item["nonce"] or "", seen)}) | JUNK)
        widget._on_message(widget, message, [])
        assert max(undone.values(), default=0) <= 1
        assert Counter(r["action_name"] for r in log if r["decision"] == "undo") == undone
