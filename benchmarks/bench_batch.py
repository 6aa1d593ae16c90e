"""Batch review at scale: what the browser receives and how long bulk decisions take.

1. Widget, 10,000 queued actions (one `ask_many` interrupt): time to first render (queue
   build + serialising the synced state) and bytes sent, per page flip and per filter
   change; baselines measured in the same run: syncing all 10,000 rows at once, and a
   pandas DataFrame of the queue (build, filter + sort, JSON of all rows).
2. Bulk approve through real graphs, next to a raw LangGraph resume loop on identical
   paused threads:
   - one thread, 10,000 actions in one interrupt (`BatchReview.approve_matching`);
   - many threads, one pending review each (default 2,000; `--threads 10000`);
   - one thread, a `Send` fan-out of `--fan-out` branches; plus what a per-item
     `Session.decide` loop would cost there (each decision re-reads the graph state).
3. Browser (`--browser`, Chromium): time to first render of `batch.js` for the queue (JSON
   parse + draw + layout) and a page flip (click Next, redraw the next page's state, layout),
   next to baselines drawn in the same page: a plain DOM table of every row (what showing
   the whole queue at once costs), `batch.js` with every row in its model, and a plain
   25-row table whose page flip replaces its body (the least DOM a paged table needs).

    python benchmarks/bench_batch.py [--items 10000] [--threads 2000] [--fan-out 300]
                                     [--browser] [--quick]

`--quick`: a smoke run in seconds (2,000 items, 200 threads, 50 branches, fewer repeats).
"""

from __future__ import annotations

import argparse
import json
import operator
import statistics
import time
from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb._payloads import batch_resume_value
from hitl_nb._schema import Decision
from hitl_nb.demo import SupportDesk, refund_queue_agent, refund_requests

DATA_TRAITS = ("rows", "view", "counts", "facets", "token", "confirm", "errors", "notice")
APPROVE = Decision(action="approve")
QUICK = {"items": 2_000, "threads": 200, "fan_out": 50, "repeat": 3}


def state_bytes(widget: hitl_nb.BatchReview, names: tuple[str, ...] = DATA_TRAITS) -> int:
    """Bytes of the synced data traits as the comm would send them (JSON)."""
    return len(json.dumps({n: getattr(widget, n) for n in names}, default=str).encode())


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def fmt_bytes(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


# -- 1. the widget --------------------------------------------------------------------------
def widget_figures(items: int) -> None:
    requests = refund_requests(items)
    session = hitl_nb.Session(refund_queue_agent(SupportDesk()), cfg("bench-widget"),
                              log=hitl_nb.FeedbackLog()).invoke({"requests": requests})

    def first_render() -> tuple[hitl_nb.BatchReview, int]:
        widget = hitl_nb.BatchReview(session, page_size=25)
        return widget, state_bytes(widget)

    t_first, (widget, sent_first) = timed(first_render)
    flips = []
    flip_bytes = []
    for page in range(1, 21):
        t, _ = timed(lambda p=page: widget.query(page=p))
        flips.append(t)
        flip_bytes.append(state_bytes(widget, ("rows", "view", "counts", "token")))
    t_filter, _ = timed(lambda: widget.query(action="issue_refund", risk="low",
                                             min_confidence=0.9, sort="confidence",
                                             descending=True))
    matching = widget.counts["matching"]

    # baseline A: every row synced at once (the same row JSON, all of it)
    def all_rows() -> int:
        rows = [widget._row(item) for item in widget._queue.items]
        return len(json.dumps(rows, default=str).encode())

    t_all, sent_all = timed(all_rows)

    # baseline B: a DataFrame of the queue, filtered and sorted by pandas, shipped as JSON
    def frame() -> pd.DataFrame:
        return pd.DataFrame([{"id": i.key, "thread": i.session.thread_id,
                              "action": i.request.action, "args": i.request.args,
                              "risk": i.request.risk, "confidence": i.request.confidence,
                              "level": i.request.level, "reason": i.request.reason}
                             for i in widget._queue.items])

    t_frame, df = timed(frame)
    t_frame_json, sent_frame = timed(lambda: len(df.to_json(orient="records").encode()))
    t_pd_filter, picked = timed(lambda: df[(df.action == "issue_refund") & (df.risk == "low")
                                           & (df.confidence >= 0.9)]
                                .sort_values("confidence", ascending=False, kind="stable"))
    assert len(picked) == matching, (len(picked), matching)

    flip = statistics.median(flips)
    print(f"\n1. BatchReview with {items:,} queued actions (page size 25)")
    print(f"   first render (queue build + state JSON): {t_first * 1e3:8.1f} ms, "
          f"{fmt_bytes(sent_first)} sent")
    print(f"   baseline, all rows synced at once:        {t_all * 1e3:8.1f} ms, "
          f"{fmt_bytes(sent_all)} sent   -> {sent_all / sent_first:6.0f}x the bytes")
    print(f"   baseline, pandas DataFrame of the queue:  {(t_frame + t_frame_json) * 1e3:8.1f} ms"
          f" (build {t_frame * 1e3:.0f} + JSON {t_frame_json * 1e3:.0f}), "
          f"{fmt_bytes(sent_frame)} as JSON")
    print(f"   page flip (median of 20):                 {flip * 1e3:8.2f} ms, "
          f"{fmt_bytes(statistics.median(flip_bytes))} sent")
    print(f"   filter + sort ({matching:,} match):          {t_filter * 1e3:8.2f} ms   "
          f"pandas filter + sort: {t_pd_filter * 1e3:.2f} ms")


# -- 2. bulk decisions ---------------------------------------------------------------------
def one_thread_many_actions(items: int) -> None:
    requests = refund_requests(items)

    def paused(thread: str) -> tuple[Any, Any]:
        graph = refund_queue_agent(SupportDesk())
        out = graph.invoke({"requests": requests}, cfg(thread))
        return graph, out

    graph, out = paused("raw")
    [intr] = out["__interrupt__"]
    approvals = [Decision(action="approve", args=proposal["args"])
                 for proposal in intr.value["batch"]]
    t_raw, _ = timed(lambda: graph.invoke(
        Command(resume={intr.id: batch_resume_value(approvals)}), cfg("raw")))
    graph, _ = paused("ours")

    def ours() -> hitl_nb.BatchReview:
        widget = hitl_nb.BatchReview(hitl_nb.Session.attach(
            graph, cfg("ours"), log=hitl_nb.FeedbackLog()))
        widget.approve_matching(expected=widget.matching_approvable)
        return widget

    t_ours, widget = timed(ours)
    assert widget.sessions[0].done
    assert len(widget.sessions[0].log) == items
    print(f"\n2a. one thread, {items:,} actions in one interrupt (hitl_nb.ask_many)")
    print(f"   raw LangGraph resume (one Command):       {t_raw:8.2f} s")
    print(f"   BatchReview.approve_matching:             {t_ours:8.2f} s   ratio "
          f"{t_ours / t_raw:5.2f}x  ({items:,} log rows, hash-chained)")


class One(TypedDict, total=False):
    n: int
    done: bool


def single_review_graph() -> Any:
    def work(state: One) -> One:
        decision = hitl_nb.ask(action="refund", args={"n": state["n"]},
                               confidence=(state["n"] % 100) / 100, risk="low")
        return {"done": decision.approved}

    builder = StateGraph(One)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder.compile(checkpointer=InMemorySaver())


def many_threads(threads: int, blocks: int = 10) -> None:
    graph = single_review_graph()
    t_pause, outs = timed(lambda: [graph.invoke({"n": i}, cfg(f"raw-{i}"))
                                   for i in range(threads)])
    for i in range(threads):
        graph.invoke({"n": i}, cfg(f"ours-{i}"))
    t_attach, widget = timed(lambda: hitl_nb.BatchReview.from_threads(
        graph, [f"ours-{i}" for i in range(threads)], log=hitl_nb.FeedbackLog()))
    keys = [item.key for item in widget.items]
    # Alternate blocks of raw and batch resumes, so a change in machine load hits both.
    t_raw = t_ours = 0.0
    size = -(-threads // blocks)
    for start in range(0, threads, size):
        def raw(block: range = range(start, min(start + size, threads))) -> None:
            for i in block:
                [intr] = outs[i]["__interrupt__"]
                graph.invoke(Command(resume={intr.id: APPROVE.to_resume()}), cfg(f"raw-{i}"))

        t_raw += timed(raw)[0]
        t_ours += timed(lambda b=keys[start:start + size]: widget.approve(b))[0]
    assert all(s.done for s in widget.sessions)
    print(f"\n2b. {threads:,} threads, one pending review each "
          f"(pausing them took {t_pause / threads * 1e3:.2f} ms each)")
    print(f"   raw LangGraph resume loop:                {t_raw:8.2f} s "
          f"({t_raw / threads * 1e3:.2f} ms/thread)")
    print(f"   BatchReview.approve ({blocks} blocks):        {t_ours:8.2f} s "
          f"({t_ours / threads * 1e3:.2f} ms/thread)   ratio {t_ours / t_raw:5.2f}x"
          f"   (+ {t_attach:.2f} s to attach the sessions)")


class Fan(TypedDict, total=False):
    items: list[int]
    done: Annotated[list[int], operator.add]


def fan_out_graph() -> Any:
    def spread(state: Fan) -> list[Send]:
        return [Send("work", {"items": [i]}) for i in state["items"]]

    def work(state: Fan) -> dict[str, Any]:
        i = state["items"][0]
        decision = hitl_nb.ask(action="refund", args={"n": i}, risk="low")
        return {"done": [i] if decision.approved else []}

    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, spread, ["work"])
    builder.add_edge("work", END)
    return builder.compile(checkpointer=InMemorySaver())


def fan_out(branches: int) -> None:
    graph = fan_out_graph()
    items = list(range(branches))
    t_pause, out = timed(lambda: graph.invoke({"items": items}, cfg("raw")))
    resume = {intr.id: APPROVE.to_resume() for intr in out["__interrupt__"]}
    t_raw, _ = timed(lambda: graph.invoke(Command(resume=resume), cfg("raw")))
    graph.invoke({"items": items}, cfg("ours"))

    def ours() -> None:
        widget = hitl_nb.BatchReview(hitl_nb.Session.attach(graph, cfg("ours"),
                                                            log=hitl_nb.FeedbackLog()))
        widget.approve_matching(expected=widget.matching_approvable)
        assert widget.sessions[0].done

    t_ours, _ = timed(ours)
    # what per-item decisions cost: each one re-reads the state of every pending branch
    graph.invoke({"items": items}, cfg("naive"))
    session = hitl_nb.Session.attach(graph, cfg("naive"), log=hitl_nb.FeedbackLog())
    sample = min(20, branches)
    t_naive, _ = timed(lambda: [session.approve(r.request_id) for r in session.pending[:sample]])
    print(f"\n2c. one thread, Send fan-out of {branches:,} branches "
          f"(LangGraph took {t_pause:.2f} s to pause them)")
    print(f"   raw LangGraph resume (one Command):       {t_raw:8.2f} s")
    print(f"   BatchReview.approve_matching:             {t_ours:8.2f} s   ratio "
          f"{t_ours / t_raw:5.2f}x (includes attaching: one state read)")
    print(f"   per-item Session.decide loop:             {t_naive / sample * branches:8.2f} s "
          f"(estimated from {sample} decisions: {t_naive / sample * 1e3:.0f} ms each)")


# -- 3. in the browser ---------------------------------------------------------------------
RENDER = """async ([source, css, mode, flips]) => {
  if (!window.__render) {  // the widget's module as shipped, once per page
    const script = document.createElement("script");
    script.textContent = source.replace("export default { render };", "window.__render = render;");
    document.head.append(script);
    const style = document.createElement("style");
    style.textContent = css;
    document.head.append(style);
  }
  const text = document.getElementById("data").textContent;
  const el = document.createElement("div");
  document.body.replaceChildren(el);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  /** Flip pages `flips` times (next, previous, ...); the median time to laid out. */
  const flipping = async (flip) => {
    const times = [];
    for (let i = 0; i < flips; i += 1) {
      const t = performance.now();
      await flip(i % 2 === 0);
      void el.offsetHeight;
      times.push(performance.now() - t);
    }
    return median(times);
  };
  const t0 = performance.now();
  const data = JSON.parse(text);  // both sides pay for receiving their data
  if (mode === "table" || mode === "table-page") {
    const cells = (r) => [r.id, r.thread, r.action, JSON.stringify(r.args), r.risk ?? "",
                          r.confidence ?? "", r.level, r.status];
    const rowsOf = (rows) => rows.map((r) => {
      const tr = document.createElement("tr");
      for (const v of cells(r)) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    });
    const table = document.createElement("table");
    const body = document.createElement("tbody");
    body.append(...rowsOf(data.first.rows));
    table.append(body);
    el.append(table);
    void el.offsetHeight;  // laid out: every side pays for layout
    const first = performance.now() - t0;
    if (!data.next) return [first, null];
    return [first, await flipping(async (forward) => {
      body.replaceChildren(...rowsOf((forward ? data.next : data.first).rows));
    })];
  }
  let state = data.first;
  const handlers = new Map();
  const model = {
    get: (k) => state[k],
    on: (event, fn) => handlers.set(event, [...(handlers.get(event) ?? []), fn]),
    off() {},
    send: (msg) => {  // Python's answer to "next" / "previous page", computed beforehand
      if (msg.type !== "query") return;
      state = state === data.first ? data.next : data.first;
      for (const [event, fns] of handlers) {
        if (event.startsWith("change:")) for (const fn of fns) fn();
      }
    },
  };
  window.__render({ model, el });
  void el.offsetHeight;
  const first = performance.now() - t0;
  if (!data.next) return [first, null];
  return [first, await flipping(async (forward) => {
    el.querySelector(`[data-testid=hitl-batch-${forward ? "next" : "prev"}]`).click();
    await null;  // the redraw was queued as a microtask by the change events
  })];
}"""
FLIPS = 11


def widget_state(widget: hitl_nb.BatchReview) -> dict[str, Any]:
    return {name: getattr(widget, name) for name in DATA_TRAITS}


def browser_render(items: int, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    session = hitl_nb.Session(refund_queue_agent(SupportDesk()), cfg("bench-browser"),
                              log=hitl_nb.FeedbackLog()).invoke(
        {"requests": refund_requests(items)})
    widget = hitl_nb.BatchReview(session, page_size=25)
    first = widget_state(widget)
    widget.query(page=1)
    every = [widget._row(item) for item in widget._queue.items]
    payloads = {
        "widget": {"first": first, "next": widget_state(widget)},
        "widget-all": {"first": {**first, "rows": every}, "next": None},
        "table": {"first": {"rows": every}, "next": None},
        "table-page": {"first": {"rows": every[:25]}, "next": {"rows": every[25:50]}},
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        esm, css = hitl_nb.BatchReview._esm, hitl_nb.BatchReview._css  # what the widget ships
        times: dict[str, tuple[float, float | None]] = {}
        sizes: dict[str, int] = {}
        for mode, payload in payloads.items():
            text = json.dumps(payload, default=str).replace("</", "<\\/")
            sizes[mode] = len(text.encode())
            firsts, flips = [], []
            for _ in range(repeat):
                page.set_content(f'<script type="application/json" id="data">{text}</script>')
                draw, flip = page.evaluate(RENDER, [esm, css, mode, FLIPS])
                firsts.append(draw)
                flips.append(flip)
            times[mode] = (statistics.median(firsts),
                           None if flips[0] is None else statistics.median(flips))
        browser.close()
    (ours, flip), plain = times["widget"], times["table"]
    page_first, page_flip = times["table-page"]
    assert flip is not None
    assert page_flip is not None
    print(f"\n3. In Chromium, {items:,} queued actions (ms to laid out, median of {repeat} "
          f"page loads; first render includes JSON parse; flip: median of {FLIPS})")
    print(f"   batch.js, one page of 25:     first render {ours:8.1f}   page flip "
          f"{flip:6.2f}   ({fmt_bytes(sizes['widget'] / 2)} per state)")
    print(f"   baseline, plain DOM table of every row:      {plain[0]:8.1f}   -> batch.js "
          f"first render is {plain[0] / ours:5.1f}x faster ({fmt_bytes(sizes['table'])})")
    print(f"   baseline, batch.js with every row synced:    {times['widget-all'][0]:8.1f}   -> "
          f"{times['widget-all'][0] / ours:5.1f}x the paged widget")
    print(f"   baseline, plain 25-row table: first render {page_first:8.1f}   page flip "
          f"{page_flip:6.2f}   -> batch.js flip {flip / max(page_flip, 0.01):5.1f}x "
          "(it redraws filters, pager and bulk bar too)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2_000)
    parser.add_argument("--fan-out", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5, help="browser timings: median of")
    parser.add_argument("--browser", action="store_true", help="also time batch.js in Chromium")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: {QUICK} (overrides those options)")
    args = parser.parse_args()
    if args.quick:
        vars(args).update(QUICK)
    single_review_graph().invoke({"n": 0}, cfg("warm"))  # imports and caches
    widget_figures(args.items)
    one_thread_many_actions(args.items)
    many_threads(args.threads)
    fan_out(args.fan_out)
    if args.browser:
        browser_render(args.items, args.repeat)


if __name__ == "__main__":
    main()
