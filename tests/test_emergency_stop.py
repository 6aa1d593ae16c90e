"""The kernel-wide kill switch: paused runs refuse to resume, running graphs halt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from conftest import config
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb._schema import Decision
from hitl_nb.demo import ScriptedSupportModel, SupportDesk, support_agent

REFUND = {"messages": [("user", "refund order 1042")]}
WAIT = 10  # seconds; a handshake that takes longer has failed


pytestmark = pytest.mark.usefixtures("clean_overrides")  # conftest: a clean kill switch


def test_a_paused_run_refuses_every_decision_that_would_resume_it(graph, desk: SupportDesk):
    session = hitl_nb.Session(graph, config()).invoke(REFUND)
    halt = hitl_nb.emergency_stop("refunds look wrong", by="lead")
    assert hitl_nb.halted() == halt
    assert hitl_nb.emergency_stop("again") == halt  # the first stays in force
    args = dict(session.pending[0].args)
    attempts = [session.approve, lambda: session.edit({**args, "amount": 1.0}),
                lambda: session.reject("no"), lambda: session.respond("done"),
                lambda: session.override("done by hand"),
                lambda: session.redirect("offer a voucher"), session.retry,
                lambda: session.invoke({"messages": [("user", "refund order 1043")]})]
    for attempt in attempts:
        with pytest.raises(hitl_nb.Stopped, match=r"emergency stop engaged .* refunds look wrong"):
            attempt()
    assert len(hitl_nb.log()) == 0
    assert desk.count("issue_refund") == 0
    assert len(session.pending) == 1
    assert hitl_nb.resume_all() == []
    assert hitl_nb.halted() is None
    session.approve()
    assert desk.count("issue_refund") == 1


def test_stop_and_undo_stay_available_during_an_emergency(graph, desk: SupportDesk):
    hitl_nb.compensate("issue_refund", desk.reverse_refund)
    done = hitl_nb.Session(graph, config()).invoke(REFUND)
    done.approve()
    paused = hitl_nb.Session(graph, config()).invoke(REFUND)
    hitl_nb.emergency_stop("audit")
    paused.stop("audit")
    report = done.undo()
    assert paused.status == "stopped"
    assert desk.count("reverse_refund") == 1
    assert report.compensated
    assert [r.action for r in done.pending] == ["issue_refund"]


class Batch(TypedDict, total=False):
    items: list[str]
    i: int


def shipping_graph(shipped: list[str], pause_before: int, started: threading.Event,
                   go: threading.Event) -> Any:
    """Ships one item per step through a guarded tool; waits before item `pause_before`."""

    @hitl_nb.guarded
    def ship(item: str) -> None:
        shipped.append(item)

    def work(state: Batch) -> dict[str, Any]:
        if state["i"] == pause_before and not go.is_set():
            started.set()
            assert go.wait(WAIT)
        ship(state["items"][state["i"]])
        return {"i": state["i"] + 1}

    def more(state: Batch) -> str:
        return "work" if state["i"] < len(state["items"]) else END

    builder = StateGraph(Batch)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", more, ["work", END])
    return builder.compile(checkpointer=InMemorySaver())


def test_the_switch_halts_a_graph_running_in_another_thread():
    shipped: list[str] = []
    started, go = threading.Event(), threading.Event()
    session = hitl_nb.Session(shipping_graph(shipped, 1, started, go), config())
    raised: list[BaseException] = []

    def run() -> None:
        try:
            session.invoke({"items": ["a", "b", "c"], "i": 0})
        except BaseException as exc:  # the thread's outcome, checked below
            raised.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(WAIT)
    hitl_nb.emergency_stop("wrong address list")  # from the kernel while the graph runs
    go.set()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert shipped == ["a"]
    assert [type(e) for e in raised] == [hitl_nb.EmergencyStop]
    assert session.status == "halted"
    assert isinstance(session.error, hitl_nb.EmergencyStop)
    # lifting the switch retries the halted run from its last checkpoint: b, c; not a again
    assert hitl_nb.resume_all() == [session]
    assert shipped == ["a", "b", "c"]
    assert session.done


def test_resume_all_can_leave_halted_runs_for_later():
    shipped: list[str] = []
    started, go = threading.Event(), threading.Event()
    go.set()
    session = hitl_nb.Session(shipping_graph(shipped, 99, started, go), config())
    hitl_nb.emergency_stop()
    with pytest.raises(hitl_nb.Stopped):
        session.invoke({"items": ["a"], "i": 0})
    assert shipped == []
    hitl_nb.resume_all(retry=False)
    session.invoke({"items": ["a"], "i": 0})
    assert shipped == ["a"]


class GatedModel(ScriptedSupportModel):
    """The scripted model, pausing inside its first call until the test says go."""

    started: Any = None
    go: Any = None

    def next_message(self, messages: Sequence[BaseMessage]) -> AIMessage:
        if not self.go.is_set():
            self.started.set()
            assert self.go.wait(WAIT)
        return super().next_message(messages)


def test_the_demo_tools_node_checks_the_switch_mid_run():
    desk = SupportDesk()
    started, go = threading.Event(), threading.Event()
    graph = support_agent(desk, model=GatedModel(started=started, go=go))
    session = hitl_nb.Session(graph, config())
    raised: list[BaseException] = []

    def run() -> None:
        try:
            session.invoke(REFUND)
        except BaseException as exc:  # the thread's outcome, checked below
            raised.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(WAIT)
    hitl_nb.emergency_stop("pause everything")
    go.set()  # the model proposes lookup_order (autonomy level): the tools node runs it
    worker.join(WAIT)
    assert [type(e) for e in raised] == [hitl_nb.EmergencyStop]
    assert desk.executed == []
    assert session.status == "halted"
    assert graph.get_state(session.config).next == ("tools",)
    hitl_nb.resume_all()
    assert desk.executed == [("lookup_order", {"order": 1042})]
    assert [r.action for r in session.pending] == ["issue_refund"]


class Out(TypedDict, total=False):
    sent: list[str]


def test_ask_does_not_return_an_approval_while_engaged():
    sent: list[str] = []

    def node(state: Out) -> dict[str, Any]:
        decision = hitl_nb.ask(action="send", args={"to": "ada"})
        if decision.approved:
            sent.append("ada")
        return {"sent": sent}

    builder = StateGraph(Out)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config()
    graph.invoke({}, cfg)
    hitl_nb.emergency_stop("hold")
    # resuming behind hitl_nb's back still cannot make the action run
    with pytest.raises(hitl_nb.EmergencyStop, match="hold"):
        graph.invoke(Command(resume=Decision(action="approve", args={"to": "ada"})
                             .to_resume()), cfg)
    assert sent == []
    hitl_nb.resume_all()
    graph.invoke(Command(resume=Decision(action="approve", args={"to": "ada"}).to_resume()),
                 cfg)
    assert sent == ["ada"]


def test_a_broad_except_in_a_tool_cannot_swallow_it():
    calls: list[str] = []

    @hitl_nb.guarded
    def charge(amount: float) -> str:
        """Charge the card."""
        calls.append(f"{amount}")
        return "charged"

    def careless_tool(amount: float) -> str:
        try:
            return charge(amount)
        except Exception:  # what many tools do; the kill switch is not an Exception
            return "failed, trying again later"

    hitl_nb.emergency_stop()
    with pytest.raises(hitl_nb.EmergencyStop):
        careless_tool(5.0)
    assert calls == []
    assert charge.__doc__ == "Charge the card."
    hitl_nb.resume_all()
    assert careless_tool(5.0) == "charged"


def test_guarded_coroutines_check_when_called():
    @hitl_nb.guarded
    async def fetch() -> str:
        return "data"

    hitl_nb.emergency_stop()
    with pytest.raises(hitl_nb.EmergencyStop):
        asyncio.run(fetch())
    hitl_nb.resume_all()
    assert asyncio.run(fetch()) == "data"
    hitl_nb.check_stop()  # released: no exception


def test_widgets_show_the_emergency_banner(graph):
    widget = hitl_nb.Session(graph, config()).invoke(REFUND).widget()
    assert widget.emergency == ""
    hitl_nb.emergency_stop("audit", by="lead")
    assert widget.emergency.startswith("emergency stop engaged at ")
    assert widget.emergency.endswith("by lead: audit")
    assert widget.stop_token != ""  # stopping stays possible
    hitl_nb.resume_all()
    assert widget.emergency == ""
