"""BatchReview: server-side paging, sort and filter, bulk decisions through Session.decide_many,
approve-all-matching with a confirmed count, per-row edit, and refusal of forged messages."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from conftest import config, send
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb.demo import SupportDesk, support_agent

N = 240
ACTIONS = ["issue_refund", "deny_refund", "escalate"]
RISKS = ["low", "medium", "high", "critical"]
WORDS = ["damaged", "late", "wrong size", "never arrived", "changed mind"]


def dataset(n: int = N) -> list[dict[str, Any]]:
    return [{"action": ACTIONS[i % 3],
             "args": {"order": i, "amount": float((i * 37) % 500)},
             "confidence": ((i * 7919) % 101) / 100,
             "risk": RISKS[(i // 3) % 4],
             "reason": f"customer says: {WORDS[i % 5]}"} for i in range(n)]


class QueueState(TypedDict, total=False):
    n: int
    approved: list[int]
    edited: dict[str, float]


def ask_many_graph() -> Any:
    def review(state: QueueState) -> QueueState:
        decisions = hitl_nb.ask_many(dataset(state["n"]))
        return {"approved": [d.args["order"] for d in decisions if d.approved],
                "edited": {str(d.args["order"]): d.args["amount"] for d in decisions
                           if d.action == "edit"}}

    builder = StateGraph(QueueState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=InMemorySaver())


@pytest.fixture
def session() -> hitl_nb.Session:
    return hitl_nb.Session(ask_many_graph(), config()).invoke({"n": N})


@pytest.fixture
def batch(session) -> hitl_nb.BatchReview:
    return hitl_nb.BatchReview(session, page_size=25)


def orders(rows: list[dict[str, Any]]) -> list[int]:
    return [r["args"]["order"] for r in rows]


def state_message(batch: hitl_nb.BatchReview, **fields: Any) -> dict[str, Any]:
    return {"token": batch.token, **fields}


# -- paging, sort, filter (expected values computed from `dataset`, not from the widget) ----
def test_only_one_page_is_synced(batch):
    assert len(batch.rows) == 25
    assert orders(batch.rows) == list(range(25))
    assert batch.counts == {"total": N, "pending": N, "decided": 0, "matching": N,
                            "approvable": N, "threads": 1}
    assert batch.view["pages"] == (N + 24) // 25
    send(batch, {"type": "query", "query": {**batch.view_query(), "page": 9}})
    assert orders(batch.rows) == list(range(225, 240))


def test_filter_and_sort_match_an_independent_computation(batch):
    data = dataset()
    expected = [d for d in data if d["risk"] == "low" and d["confidence"] >= 0.5
                and d["action"] == "issue_refund"]
    expected.sort(key=lambda d: d["confidence"], reverse=True)  # stable, like the widget
    batch.query(risk="low", min_confidence=0.5, action="issue_refund")
    batch.query(sort="confidence", descending=True)
    assert batch.counts["matching"] == len(expected)
    pages = []
    for page in range(batch.view["pages"]):
        batch.query(page=page)
        pages.extend(orders(batch.rows))
    assert pages == [d["args"]["order"] for d in expected]


def test_text_search_is_case_insensitive_over_reason_and_args(batch):
    batch.query(text="NEVER ARRIVED")
    assert batch.counts["matching"] == len([d for d in dataset() if "never arrived" in d["reason"]])
    batch.query(text='"order":17}')  # the canonical JSON of the arguments
    assert orders(batch.rows) == [17]


def test_sort_by_risk_uses_severity_order(batch):
    batch.query(sort="risk")
    ranks = []
    for page in range(batch.view["pages"]):
        batch.query(page=page)
        ranks.extend(RISKS.index(r["risk"]) for r in batch.rows)
    assert ranks == sorted(ranks)
    assert ranks[0] == 0
    assert ranks[-1] == 3


def test_facets_count_pending_by_action_and_risk(batch):
    data = dataset()
    assert dict(map(tuple, batch.facets["actions"])) == {
        a: sum(d["action"] == a for d in data) for a in ACTIONS}
    assert [name for name, _ in batch.facets["risks"]] == RISKS


def unlabelled_session(n: int = 30) -> hitl_nb.Session:
    """`dataset(n)` with every fourth item's risk label left out."""
    items = [{**d, "risk": None} if i % 4 == 0 else d for i, d in enumerate(dataset(n))]

    def review(state: QueueState) -> QueueState:
        decisions = hitl_nb.ask_many(items)
        return {"approved": [d.args["order"] for d in decisions if d.approved]}

    builder = StateGraph(QueueState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    return hitl_nb.Session(builder.compile(checkpointer=InMemorySaver()), config()).invoke({})


def test_no_risk_is_a_filter_of_its_own_not_any_risk():
    batch = hitl_nb.BatchReview(unlabelled_session(30))
    unlabelled = [i for i in range(30) if i % 4 == 0]
    assert [n for name, n in batch.facets["risks"] if name is None] == [len(unlabelled)]
    batch.query(risk=hitl_nb.BatchReview.NO_RISK)
    assert batch.counts["matching"] == len(unlabelled) == 8
    assert orders(batch.rows) == unlabelled
    assert batch.view["filter"]["risk"] == {"no_risk": True}
    assert batch.view["described"] == "no risk label · pending"
    batch.query(action="issue_refund")  # other filters combine with it
    assert orders(batch.rows) == [i for i in unlabelled if ACTIONS[i % 3] == "issue_refund"]
    assert orders(batch.rows) == [0, 12, 24]
    batch.query(action=None, risk=None)  # None clears, as for every filter
    assert batch.counts["matching"] == 30


def test_every_filter_passed_as_none_is_cleared_status_back_to_pending(batch):
    batch.approve([i.key for i in batch.items[:5]])
    batch.query(status="decided", action="issue_refund", text="damaged")
    assert batch.counts["matching"] == sum(  # of the five decided: damaged refunds
        1 for d in dataset()[:5] if d["action"] == "issue_refund" and "damaged" in d["reason"])
    batch.query(status=None, action=None, text=None, risk=None, min_confidence=None,
                max_confidence=None)
    assert batch.view["filter"] == {"action": None, "risk": None, "min_confidence": None,
                                    "max_confidence": None, "text": "", "status": "pending"}
    assert batch.view["described"] == "pending"
    assert batch.counts["matching"] == N - 5


def test_no_risk_from_the_menu_confirms_exactly_those_items():
    batch = hitl_nb.BatchReview(unlabelled_session(30))
    query = batch.view_query()
    query["filter"]["risk"] = {"no_risk": True}  # what batch.js sends for "(none)"
    send(batch, {"type": "query", "query": query, "seq": 1})
    assert batch.counts["matching"] == 8
    send(batch, {"type": "prepare_matching", "token": batch.token})
    assert (batch.confirm["count"], batch.confirm["described"]) == (8, "no risk label · pending")
    send(batch, {"type": "confirm_matching", "token": batch.confirm["token"], "count": 8})
    logged = list(hitl_nb.log())
    assert [r["proposed_args"]["order"] for r in logged] == list(range(0, 30, 4))
    assert {r["risk"] for r in logged} == {None}


@pytest.mark.parametrize("risk", ["", {"no_risk": False}, {"none": True}, 3])
def test_an_ambiguous_risk_filter_is_refused(batch, risk):
    before = dict(batch.view)
    send(batch, {"type": "query", "query": {**batch.view_query(),
                                            "filter": {"risk": risk}}})
    assert batch.refusals[-1].startswith("refused query: risk")
    assert batch.view == before
    with pytest.raises(ValueError, match="risk"):
        batch.query(risk=risk)


@pytest.mark.parametrize("query", [
    {"filter": {"min_confidence": 2}}, {"filter": {"min_confidence": 0.9, "max_confidence": 0.1}},
    {"filter": {"status": "maybe"}}, {"filter": {"colour": "red"}}, {"sort": "price"},
    {"page": -1}, {"page_size": 100000}, {"descending": "yes"}, {"filter": {"text": "x" * 500}},
    "page 2"])
def test_bad_queries_are_refused_and_the_view_kept(batch, query):
    before = dict(batch.view)
    payload = {**batch.view_query(), **query} if isinstance(query, dict) else query
    send(batch, {"type": "query", "query": payload})
    assert batch.refusals[-1].startswith("refused query")
    assert batch.view == before


def test_page_past_the_end_shows_the_last_page(batch):
    batch.query(page=99)
    assert batch.view["page"] == batch.view["pages"] - 1
    assert orders(batch.rows) == list(range(225, 240))


# -- bulk decisions ----------------------------------------------------------------------
def test_approve_and_reject_selected_log_one_row_each(batch, session):
    send(batch, {"type": "decide", **state_message(batch, action="approve", ids=[0, 1, 2])})
    send(batch, {"type": "decide", **state_message(batch, action="reject", ids=[3, 4],
                                                   message="not eligible")})
    rows = list(hitl_nb.log())
    assert [r["decision"] for r in rows] == ["approve"] * 3 + ["reject"] * 2
    assert [r["proposed_args"]["order"] for r in rows] == [0, 1, 2, 3, 4]
    assert len({r["request_id"] for r in rows}) == 5
    assert {r["message"] for r in rows[3:]} == {"not eligible"}
    assert batch.counts["pending"] == N - 5
    assert orders(batch.rows)[:2] == [5, 6]  # decided rows leave the pending view
    assert session.status == "pending"  # one interrupt: it resumes once all are decided
    assert len(session.staged) == 5


def test_deciding_everything_resumes_the_graph_once(batch, session, monkeypatch):
    invokes: list[Any] = []
    real = session.graph.invoke
    monkeypatch.setattr(session.graph, "invoke", lambda *a, **k: invokes.append(a) or real(*a, **k))
    batch.query(action="issue_refund")
    refunds = batch.matching_approvable
    batch.approve_matching(expected=refunds)
    assert invokes == []  # the others are still undecided
    batch.query(action=None)
    batch.reject([i.key for i in batch.matching], message="no")
    assert len(invokes) == 1
    assert session.done
    assert session.result["approved"] == [d["args"]["order"] for d in dataset()
                                          if d["action"] == "issue_refund"]
    assert len(hitl_nb.log()) == N
    assert hitl_nb.log().verify().ok
    batch.query(status="decided")
    assert batch.counts["matching"] == N


def test_approve_matching_needs_the_confirmed_count(batch):
    batch.query(risk="critical", min_confidence=0.8)
    expected = [d for d in dataset() if d["risk"] == "critical" and d["confidence"] >= 0.8]
    send(batch, {"type": "prepare_matching", "token": batch.token})
    assert batch.confirm["count"] == len(expected)
    assert batch.confirm["described"] == "risk = critical · confidence ≥ 0.8 · pending"
    token = batch.confirm["token"]
    send(batch, {"type": "confirm_matching", "token": token, "count": len(expected) + 1})
    assert "confirmation was for" in batch.refusals[-1]
    assert len(hitl_nb.log()) == 0
    assert batch.confirm == {}  # one confirmation, one use: ask again
    send(batch, {"type": "prepare_matching", "token": batch.token})
    send(batch, {"type": "confirm_matching", "token": batch.confirm["token"],
                 "count": len(expected)})
    assert [r["proposed_args"]["order"] for r in hitl_nb.log()] == [
        d["args"]["order"] for d in expected]
    assert {r["decision"] for r in hitl_nb.log()} == {"approve"}


def test_approve_matching_is_refused_when_the_set_changed(batch):
    batch.query(risk="low")
    send(batch, {"type": "prepare_matching", "token": batch.token})
    confirm = dict(batch.confirm)
    first_low = batch.rows[0]["id"]
    batch.approve([first_low])  # someone decided one of them meanwhile
    send(batch, {"type": "confirm_matching", "token": confirm["token"], "count": confirm["count"]})
    assert "matching set changed" in batch.refusals[-1]
    assert f"({confirm['count']} then, {confirm['count'] - 1} now)" in batch.refusals[-1]
    assert len(hitl_nb.log()) == 1


def test_changing_the_filter_cancels_an_open_confirmation(batch):
    batch.query(risk="low")
    send(batch, {"type": "prepare_matching", "token": batch.token})
    token = batch.confirm["token"]
    batch.query(risk="high")
    assert batch.confirm == {}
    send(batch, {"type": "confirm_matching", "token": token, "count": 1})
    assert "no approve-all confirmation is open" in batch.refusals[-1]
    assert len(hitl_nb.log()) == 0


def test_python_approve_matching_checks_the_count(batch):
    batch.query(action="escalate")
    with pytest.raises(hitl_nb.DecisionError, match="not 3; nothing approved"):
        batch.approve_matching(expected=3)
    assert len(hitl_nb.log()) == 0


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "reason"),
    [({"type": "decide", "token": "0" * 32, "action": "approve", "ids": [0]}, "older state"),
     ({"type": "decide", "token": "ö" * 32, "action": "approve", "ids": [0]}, "older state"),
     ({"type": "confirm_matching", "token": "ö", "count": 1}, "no approve-all confirmation"),
     ({"type": "query", "query": {"page_size": 25.0}}, "page_size must be one of"),
     ({"type": "query", "query": {"filter": {"min_confidence": 10**400}}}, "min_confidence"),
     ({"type": "decide", "action": "approve", "ids": [0]}, "older state"),
     ({"type": "decide", "TOKEN": True, "action": "approve", "ids": [0], "x": 1},
      "unexpected fields"),
     ({"type": "decide", "TOKEN": True, "action": "respond", "ids": [0]}, "bulk action"),
     ({"type": "decide", "TOKEN": True, "action": "approve", "ids": [10_000]}, "not in this"),
     ({"type": "decide", "TOKEN": True, "action": "approve", "ids": ["0"]}, "row ids"),
     ({"type": "decide", "TOKEN": True, "action": "approve", "ids": [True]}, "row ids"),
     ({"type": "decide", "TOKEN": True, "action": "approve", "ids": []}, "row ids"),
     ({"type": "decide", "TOKEN": True, "action": "reject", "ids": [0], "message": 5}, "text"),
     ({"type": "edit", "TOKEN": True, "id": -1, "args": {}}, "not in this queue"),
     ({"type": "explode"}, "unknown message"),
     (["decide"], "unknown message")],
)
def test_forged_messages_decide_nothing(batch, session, message, reason):
    if isinstance(message, dict) and message.pop("TOKEN", None):
        message["token"] = batch.token
    send(batch, message)
    assert reason in batch.refusals[-1]
    assert len(hitl_nb.log()) == 0
    assert len(session.pending) == N


def test_replayed_decision_is_refused(batch):
    message = {"type": "decide", **state_message(batch, action="approve", ids=[7])}
    send(batch, message)
    send(batch, message)
    assert "older state" in batch.refusals[-1]
    send(batch, {**message, "token": batch.token})  # fresh token, but the row is decided
    assert "row 7 is not pending (approve)" in batch.refusals[-1]
    assert len(hitl_nb.log()) == 1


def test_a_row_that_cannot_be_approved_is_refused_alone_with_its_own_reason():
    def review(state: QueueState) -> QueueState:
        decisions = hitl_nb.ask_many([{"action": "a", "args": {"n": 1}},
                                      {"action": "b", "args": {"n": 2}, "allowed": ["reject"]},
                                      {"action": "c", "args": {"n": 3}}])
        return {"approved": [d.args["n"] for d in decisions if d.approved]}

    builder = StateGraph(QueueState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    session = hitl_nb.Session(builder.compile(checkpointer=InMemorySaver()), config()).invoke({})
    batch = hitl_nb.BatchReview(session)
    assert batch.counts["approvable"] == 2
    result = batch.approve([0, 1, 2])
    assert result.decided == 2
    assert list(result.refused) == [1]
    assert "approve is not allowed for 'b'; allowed: reject" in result.refused[1]
    assert batch.errors == {"1": result.refused[1]}
    assert [(r["action_name"], r["decision"]) for r in hitl_nb.log()] == [
        ("a", "approve"), ("c", "approve")]
    assert session.result is None  # one interrupt: it waits for its third answer
    send(batch, {"type": "prepare_matching", "token": batch.token})
    assert batch.refusals[-1].startswith("no pending item that can be approved matches")
    batch.reject([1], message="not this one")
    assert session.result == {"approved": [1, 3]}


# -- per-row edit ---------------------------------------------------------------------------
def test_row_edit_is_validated_and_logged_with_its_patch(batch, session):
    row = batch.rows[3]
    assert row["args_schema"]["properties"]["amount"] == {"type": "number"}
    send(batch, {"type": "edit", "token": batch.token, "id": row["id"],
                 "args": {"order": 3, "amount": "lots"}})
    assert "invalid edit of amount" in batch.errors[str(row["id"])]
    assert len(hitl_nb.log()) == 0
    send(batch, {"type": "edit", "token": batch.token, "id": row["id"],
                 "args": {"order": 3, "amount": 12.5}})
    [logged] = list(hitl_nb.log())
    assert (logged["decision"], logged["final_args"]) == ("edit", {"order": 3, "amount": 12.5})
    assert logged["patch"] == [{"op": "replace", "path": "/amount", "value": 12.5}]
    assert str(row["id"]) not in batch.errors
    batch.query(status="decided")
    assert batch.rows[0]["final_args"] == {"order": 3, "amount": 12.5}
    assert batch.rows[0]["status"] == "edit"
    proposed = dataset()[3]["args"]["amount"]
    assert batch.rows[0]["changes"] == [{"op": "replace", "path": "/amount",
                                         "old": proposed, "new": 12.5}]
    assert batch.rows[0]["edit_distance"] == logged["edit_distance"] > 0


# -- many threads, one pending review each ---------------------------------------------------
def test_many_threads_each_resume_and_bring_their_next_request(desk: SupportDesk):
    graph = support_agent(desk)
    ids = [f"refund-{order}" for order in desk.orders]
    for thread, order in zip(ids, desk.orders, strict=True):
        graph.invoke({"messages": [("user", f"refund order {order}")]}, config(thread))
    batch = hitl_nb.BatchReview.from_threads(graph, ids)
    assert batch.counts["threads"] == len(ids)
    assert {r["action"] for r in batch.rows} == {"issue_refund"}
    batch.query(sort="thread")
    assert [r["thread"] for r in batch.rows] == sorted(ids)
    small = [i.key for i in batch.items if i.request.args["amount"] <= 100]
    batch.approve(small)
    assert desk.count("issue_refund") == len(small)
    # each approved thread moved on: its draft_reply is a new pending row
    assert sorted(r["action"] for r in batch.rows) == sorted(
        ["issue_refund"] * (len(ids) - len(small)) + ["draft_reply"] * len(small))
    assert batch.counts["total"] == len(ids) + len(small)
    assert [r["decision"] for r in hitl_nb.log()] == ["approve"] * len(small)


def test_a_decision_made_elsewhere_shows_in_the_batch(desk: SupportDesk):
    graph = support_agent(desk)
    graph.invoke({"messages": [("user", "refund order 1042")]}, config("elsewhere"))
    batch = hitl_nb.BatchReview.from_threads(graph, ["elsewhere"])
    [session] = batch.sessions
    session.approve()  # e.g. from code or the review widget
    assert [r["action"] for r in batch.rows] == ["draft_reply"]
    batch.query(status="decided")
    assert [r["status"] for r in batch.rows] == ["approve"]


def test_thread_ids_without_a_checkpoint_are_named_not_counted(desk: SupportDesk):
    graph = support_agent(desk)
    graph.invoke({"messages": [("user", "refund order 1042")]}, config("ran"))
    graph.invoke({"messages": [("user", "where is order 1043")]}, config("finished"))
    with pytest.raises(ValueError, match=r"no thread 'typo', 'gone' in this graph's") as err:
        hitl_nb.BatchReview.from_threads(graph, ["ran", "typo", "finished", "gone"])
    assert "'ran'" not in str(err.value)
    assert "'finished'" not in str(err.value)
    assert len(hitl_nb.log()) == 0  # refused before anything was decided
    # threads that ran are fine, whether something is pending or not
    batch = hitl_nb.BatchReview.from_threads(graph, ["ran", "finished"])
    assert batch.counts["threads"] == 2
    assert [r["thread"] for r in batch.rows] == ["ran"]


def test_many_unknown_thread_ids_are_counted_after_the_first_ten(desk: SupportDesk):
    unknown = [f"nope-{i}" for i in range(13)]
    with pytest.raises(ValueError, match=r"'nope-9' \(and 3 more\) in this graph's"):
        hitl_nb.BatchReview.from_threads(support_agent(desk), unknown)


# -- one thread, Send fan-out -----------------------------------------------------------------
class FanState(TypedDict, total=False):
    items: list[int]
    done: Annotated[list[int], operator.add]


def fan_out_graph(executed: list[int]) -> Any:
    def spread(state: FanState) -> list[Send]:
        return [Send("publish", {"items": [item]}) for item in state["items"]]

    def publish(state: FanState) -> dict[str, Any]:
        item = state["items"][0]
        decision = hitl_nb.ask(action="publish", args={"item": item}, risk="low")
        if decision.approved:
            executed.append(item)
        return {"done": [item] if decision.approved else []}

    builder = StateGraph(FanState)
    builder.add_node("publish", publish)
    builder.add_conditional_edges(START, spread, ["publish"])
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_fan_out_resumes_decided_branches_in_one_command_and_keeps_the_rest(monkeypatch):
    executed: list[int] = []
    graph = fan_out_graph(executed)
    session = hitl_nb.Session(graph, config()).invoke({"items": [10, 11, 12, 13, 14]})
    batch = hitl_nb.BatchReview(session)
    commands: list[Any] = []
    real = graph.invoke
    monkeypatch.setattr(graph, "invoke",
                        lambda inp, *a, **k: commands.append(inp) or real(inp, *a, **k))
    by_item = {r["args"]["item"]: r["id"] for r in batch.rows}
    send(batch, {"type": "decide", "token": batch.token, "action": "approve",
                 "ids": [by_item[11], by_item[13]]})
    assert len(commands) == 1
    resume = commands[0].resume
    assert isinstance(resume, dict)
    assert len(resume) == 2  # one Command, keyed by the two interrupt ids
    assert sorted(executed) == [11, 13]
    assert sorted(r["args"]["item"] for r in batch.rows) == [10, 12, 14]  # still listed
    assert batch.counts["pending"] == 3
    assert session.status == "pending"
    send(batch, {"type": "decide", "token": batch.token, "action": "reject",
                 "ids": [r["id"] for r in batch.rows]})
    assert session.done
    assert sorted(session.result["done"]) == [11, 13]
    assert [r["decision"] for r in hitl_nb.log()] == ["approve"] * 2 + ["reject"] * 3


# -- the demo's dataset run ---------------------------------------------------------------
def test_demo_refund_queue_end_to_end():
    from hitl_nb.demo import propose, refund_queue_agent, refund_requests

    rows = refund_requests(400, seed=3)
    proposals = [propose(r) for r in rows]
    desk = SupportDesk()
    session = hitl_nb.Session(refund_queue_agent(desk), config()).invoke({"requests": rows})
    batch = hitl_nb.BatchReview(session)
    assert batch.counts["pending"] == 400
    batch.query(action="issue_refund", risk="low", min_confidence=0.9)
    chosen = [p for p in proposals if p["action"] == "issue_refund" and p["risk"] == "low"
              and p["confidence"] >= 0.9]
    assert batch.matching_approvable == len(chosen) > 0
    batch.approve_matching(expected=len(chosen))
    batch.query(action=None, risk=None, min_confidence=None)
    batch.reject([i.key for i in batch.matching], message="a person will look")
    summary = session.result["summary"]
    assert summary["refunded"] == len(chosen)
    assert summary["not approved"] == 400 - len(chosen)
    assert summary["amount_refunded"] == pytest.approx(sum(p["args"]["amount"] for p in chosen))
    assert desk.count("issue_refund") == len(chosen)
    assert len(hitl_nb.log()) == 400


def test_demo_fan_out_partial_resume():
    from hitl_nb.demo import refund_fan_out_agent, refund_requests

    rows = refund_requests(6, seed=1)
    session = hitl_nb.Session(refund_fan_out_agent(), config()).invoke({"requests": rows})
    batch = hitl_nb.BatchReview(session)
    assert batch.counts["pending"] == 6
    first_two = [r["id"] for r in batch.rows[:2]]
    batch.approve(first_two)
    assert batch.counts["pending"] == 4
    assert len(session.pending) == 4
    approved = sorted(i.request.args["order"] for i in batch.items if i.key in first_two)
    outcomes = session.graph.get_state(session.config).values["outcomes"]
    assert sorted(order for order, _ in outcomes) == approved  # only the decided branches ran


def test_graph_error_after_a_row_edit_is_shown_and_the_decision_kept(desk: SupportDesk):
    real_run = desk.run

    def failing(name: str, args: dict[str, Any]) -> str:
        if name == "issue_refund":
            raise ConnectionError("bank API timeout")
        return real_run(name, args)

    desk.run = failing  # type: ignore[method-assign]
    graph = support_agent(desk)
    graph.invoke({"messages": [("user", "refund order 1042")]}, config("broken"))
    batch = hitl_nb.BatchReview.from_threads(graph, ["broken"])
    row = batch.rows[0]
    send(batch, {"type": "edit", "token": batch.token, "id": row["id"],
                 "args": {**row["args"], "amount": 10.0}})
    assert "ConnectionError('bank API timeout')" in batch.notice
    assert [r["decision"] for r in hitl_nb.log()] == ["edit"]
    assert batch.sessions[0].status == "error"


def test_bulk_over_many_sessions_parks_the_old_heap_and_restores_it(desk, monkeypatch):
    import gc

    from hitl_nb.widgets import batch as batch_module

    graph = support_agent(desk)
    ids = [f"gc-{order}" for order in desk.orders]
    for thread, order in zip(ids, desk.orders, strict=True):
        graph.invoke({"messages": [("user", f"refund order {order}")]}, config(thread))
    batch = hitl_nb.BatchReview.from_threads(graph, ids)
    frozen: list[int] = []
    real_freeze = gc.freeze
    monkeypatch.setattr(batch_module, "FREEZE_OVER", 2)
    monkeypatch.setattr(batch_module.gc, "freeze",
                        lambda: frozen.append(gc.get_count()[0]) or real_freeze())
    batch.approve([i.key for i in batch.items])
    assert len(frozen) == 1
    assert gc.get_freeze_count() == 0  # unfrozen again
    assert desk.count("issue_refund") == len(ids)


@pytest.mark.parametrize(("mode", "sent_at_once", "status", "staged"), [
    ("per_call", ["one", "two"], "pending", [False, False, False]),  # an interrupt each
    ("batched", [], "pending", [True, True, False]),  # one interrupt: waits for the last
])
def test_batch_over_the_langchain_middleware_with_three_tool_calls(mode, sent_at_once, status,
                                                                   staged):
    from test_parallel import three_call_agent
    from test_payloads import executed as tool_log

    session = hitl_nb.Session(three_call_agent(mode), config())
    session.invoke({"messages": [("user", "go")]})
    batch = hitl_nb.BatchReview(session)
    assert [r["action"] for r in batch.rows] == ["send_email", "send_email", "delete_file"]
    batch.approve([r["id"] for r in batch.rows if r["action"] == "send_email"])
    assert sorted(a["subject"] for _, a in tool_log) == sent_at_once
    assert session.status == status
    assert [i.status for i in batch.items] == ["approve", "approve", "pending"]
    assert [i.staged for i in batch.items] == staged
    assert [r["action"] for r in batch.rows] == ["delete_file"]  # still shown
    batch.reject([r["id"] for r in batch.rows], message="keep it")
    assert session.done
    assert sorted(a.get("subject", "") for _, a in tool_log) == ["one", "two"]
    assert [r["decision"] for r in hitl_nb.log()] == ["approve", "approve", "reject"]
