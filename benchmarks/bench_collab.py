"""Shared plans at scale: reviewing a plan of N steps, and running it.

1. **Edit round trip** (Python): the reviewer reorders and reassigns a plan of N steps in
   the plan widget; the message is validated (schema, ids, the agent's fields), logged
   (patch with word diffs), the graph resumes and pauses at the first (human) step, and
   the widget syncs. Baseline: the same graph with a plain `interrupt(plan)` resumed by
   `Command(resume=edited)`, i.e. LangGraph alone, with no validation and no log.
2. **Render** (Chromium, optional `--browser`): `plan.js` draws the plan editor for N
   steps (laid out), then one "move up" (moved, renumbered, focused, laid out). Baseline:
   N `<li>` with the step text only, the least DOM a plan list needs, and one DOM move.
3. **Run** (Python): N agent steps executed by `plan_graph` after approval (one
   checkpoint per step), against a LangGraph loop doing the same N steps with a counter.

    python benchmarks/bench_collab.py [--sizes 50 500] [--repeat 5] [--browser]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

import hitl_nb
from hitl_nb import Plan, PlanWidget


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 10**6}


def steps(n: int, owner: str = "human") -> list[dict[str, Any]]:
    return [{"text": f"Step {i}: check the delivery record of order {1000 + i} and note "
                     "anything unusual", "tool": "lookup_order", "args": {"order": 1000 + i},
             "suggested": owner, "why": "benchmark"} for i in range(n)]


def edited(review: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Move the last step first, reassign every tenth, reword one."""
    out = [dict(s) for s in [review[-1], *review[:-1]]]
    for s in out[::10]:
        s["owner"] = "agent" if s["owner"] == "human" else "human"
    out[0]["owner"] = "human"  # so the run pauses at once on a human step
    out[1]["text"] += " (urgent)"
    return out


class Raw(TypedDict, total=False):
    plan: Any


def raw_edit(n: int) -> float:
    def node(state: Raw) -> dict[str, Any]:
        return {"plan": interrupt({"steps": state["plan"]})}

    def human_step(state: Raw) -> dict[str, Any]:
        interrupt({"step": state["plan"][0]["id"]})
        return {}

    builder = StateGraph(Raw)
    builder.add_node("review", node)
    builder.add_node("step", human_step)
    builder.add_edge(START, "review")
    builder.add_edge("review", "step")
    builder.add_edge("step", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config()
    review = Plan.propose(steps(n)).as_args()["steps"]
    graph.invoke({"plan": review}, cfg)
    new = edited(review)
    start = time.perf_counter()
    out = graph.invoke(Command(resume=new), cfg)
    elapsed = time.perf_counter() - start
    assert out["__interrupt__"][0].value == {"step": new[0]["id"]}
    return elapsed


def hitl_edit(n: int) -> float:
    graph = hitl_nb.plan_graph(lambda state: steps(n), lambda step, plan: None,
                               tools=["lookup_order"])
    session = hitl_nb.Session(graph, config(), log=hitl_nb.FeedbackLog())
    session.invoke({"goal": "bench"})
    widget = PlanWidget(session)
    request = widget.requests[0]
    message = {"type": "decision", "request_id": request["request_id"],
               "nonce": request["nonce"], "action": "edit",
               "args": {"steps": edited(request["args"]["steps"])}, "message": None,
               "rating": None, "comment": None}
    start = time.perf_counter()
    widget._handle_msg({"content": {"data": {"method": "custom", "content": message}},
                        "buffers": []})
    elapsed = time.perf_counter() - start
    assert widget.refusals == [], widget.refusals
    assert widget.requests[0]["collab"]["mode"] == "step"
    return elapsed


class Loop(TypedDict, total=False):
    i: int
    n: int
    done: list[int]


def raw_run(n: int) -> float:
    def work(state: Loop) -> dict[str, Any]:
        return {"i": state["i"] + 1, "done": [*state["done"], state["i"]]}

    builder = StateGraph(Loop)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", lambda s: "work" if s["i"] < s["n"] else END,
                                  ["work", END])
    graph = builder.compile(checkpointer=InMemorySaver())
    start = time.perf_counter()
    graph.invoke({"i": 0, "n": n, "done": []}, config())
    return time.perf_counter() - start


def hitl_run(n: int) -> float:
    graph = hitl_nb.plan_graph(lambda state: steps(n, "agent"),
                               lambda step, plan: step.args["order"], tools=["lookup_order"])
    session = hitl_nb.Session(graph, config(), log=hitl_nb.FeedbackLog())
    session.invoke({"goal": "bench"})
    start = time.perf_counter()
    session.approve()
    elapsed = time.perf_counter() - start
    assert session.status == "done"
    return elapsed


RENDER = """async ([source, css, mode, n]) => {
  const code = source.replace("export default { render };", "window.__render = render;");
  const script = document.createElement("script");
  script.textContent = code;
  document.head.append(script);
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  const data = JSON.parse(document.getElementById("data").textContent);
  const el = document.createElement("div");
  document.body.replaceChildren(el);
  const t0 = performance.now();
  if (mode === "baseline") {
    const ol = document.createElement("ol");
    for (const s of data.requests[0].args.steps) {
      const li = document.createElement("li");
      li.textContent = s.text;
      ol.append(li);
    }
    el.append(ol);
    void el.offsetHeight;  // laid out: both sides pay for layout
    const t1 = performance.now();
    const first = ol.lastChild;  // move the last item up: one DOM move
    ol.insertBefore(first, first.previousSibling);
    void el.offsetHeight;
    return [t1 - t0, performance.now() - t1];
  }
  const model = { get: (k) => data[k], on() {}, off() {}, send() {} };
  window.__render({ model, el });
  void el.offsetHeight;
  const t1 = performance.now();
  el.querySelector(`[aria-label="Move step ${n} up"]`).click();
  void el.offsetHeight;
  return [t1 - t0, performance.now() - t1];
}"""


def browser_render(sizes: list[int], repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    source, css = PlanWidget._esm, PlanWidget._css  # what the widget ships
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        print("\nrender in Chromium (ms, median): first draw | one move up")
        for n in sizes:
            graph = hitl_nb.plan_graph(lambda state, n=n: steps(n), lambda s, p: None)
            session = hitl_nb.Session(graph, config(), log=hitl_nb.FeedbackLog())
            session.invoke({"goal": "bench"})
            widget = PlanWidget(session)
            data = {"requests": widget.requests, "plan": widget.plan, "errors": {},
                    "status": widget.status, "emergency": "", "reviewer": widget.reviewer}
            payload = json.dumps(data).replace("</", "<\\/")
            results = {}
            for mode in ("baseline", "plan"):
                draws, moves = [], []
                for _ in range(repeat):
                    page.set_content(f'<script type="application/json" id="data">{payload}'
                                     "</script>")
                    draw, move = page.evaluate(RENDER, [source, css, mode, n])
                    draws.append(draw)
                    moves.append(move)
                results[mode] = (statistics.median(draws), statistics.median(moves))
            base, plan = results["baseline"], results["plan"]
            print(f"  {n:>5} steps: plan.js {plan[0]:7.1f} | {plan[1]:6.1f}   baseline "
                  f"{base[0]:6.1f} | {base[1]:5.2f}   ratio {plan[0] / base[0]:5.1f}x | "
                  f"{plan[1] / max(base[1], 0.01):5.0f}x   ({len(payload) / 1024:.0f} kB synced)")
        browser.close()


def median(fn: Any, n: int, repeat: int) -> float:
    return statistics.median(fn(n) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time plan.js in Chromium")
    args = parser.parse_args()
    print("edit round trip (ms, median): reorder + reassign + reword in the plan widget,"
          " until the next pause")
    for n in args.sizes:
        raw, ours = median(raw_edit, n, args.repeat), median(hitl_edit, n, args.repeat)
        print(f"  {n:>5} steps: hitl_nb {ours * 1e3:8.1f}   LangGraph alone {raw * 1e3:7.1f}"
              f"   ratio {ours / raw:5.1f}x")
    print("\nrun N agent steps after approval (ms per step, median)")
    for n in args.sizes:
        raw = median(raw_run, n, max(1, args.repeat // 2))
        ours = median(hitl_run, n, max(1, args.repeat // 2))
        print(f"  {n:>5} steps: plan_graph {ours / n * 1e3:6.2f}   LangGraph loop "
              f"{raw / n * 1e3:6.2f}   ratio {ours / raw:5.1f}x")
    if args.browser:
        browser_render(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
