"""Hostile agent output in the other widgets: the same payloads as test_hostile.py pushed
through the batch table (rows, filter menus, confirmation, row diff), the notification
feed (action, arguments, result, reason, a failed undo) and the plan view (goal, step
texts, reasons, tools, arguments, options, evidence, results). Nothing may run, no
element may come from agent text, and every string must show literally."""

from __future__ import annotations

import json

from _jupyter import JupyterServer, NotebookPage
from conftest import open_notebook
from playwright.sync_api import Locator, Page, expect
from test_confirm_lab import ask_many_batch
from xss_payloads import PAYLOADS

# Tags each widget's own code creates (shared.js included); anything else came from text.
SHARED_TAGS = {"div", "span", "p", "label", "input", "textarea", "select", "option", "ul",
               "li", "del", "ins"}
BATCH_TAGS = SHARED_TAGS | {"button", "table", "thead", "tbody", "tr", "th", "td"}
FEED_TAGS = {"div", "span", "p", "time", "ol", "li", "button"}
REVIEW_TAGS = SHARED_TAGS | {"section", "pre", "fieldset", "legend", "button"}
PLAN_TAGS = SHARED_TAGS | {"section", "pre", "ol", "button", "details", "summary"}

LOAD = f"""%load_ext hitl_nb
import json, hitl_nb
PAYLOADS = json.loads({json.dumps(json.dumps(PAYLOADS))})"""

BATCH = ask_many_batch("""[{"action": p, "args": {"text": p, p[:40]: i}, "reason": p,
          "risk": p, "preview": p, "confidence": 0.5} for i, p in enumerate(PAYLOADS)]""",
                       "hostile-batch", page_size=100)

FEED = """feeds = [hitl_nb.Feed(), hitl_nb.Feed()]   # 30 each: a feed shows its latest 50

def failing_undo(text):
    def undo():
        raise RuntimeError(text)
    return undo

for i, p in enumerate(PAYLOADS):
    hitl_nb.notify(action=p, args={p[:40]: p}, result=p, reason=p, undo=failing_undo(p),
                   feed=feeds[i // 30], log=hitl_nb.FeedbackLog())
feeds[0]"""

PLAN = """def propose(state):
    return [{"text": p, "why": PAYLOADS[(i + 1) % 60], "tool": PAYLOADS[(i + 2) % 60],
             "args": {"q": p}} for i, p in enumerate(PAYLOADS)]

def assist(step, plan):  # step k offers PAYLOADS[20k:20k+20] (k mod 3), the rest is evidence
    k = plan.index(step.id) % 3
    options = PAYLOADS[20 * k:20 * k + 20]
    return {"options": options,
            "evidence": [{"text": p, "source": p} for p in PAYLOADS if p not in options]}

graph = hitl_nb.plan_graph(propose, lambda step, plan: step.text, assist=assist,
                           tools=["lookup"])
run = hitl_nb.Session(graph, {"configurable": {"thread_id": "hostile-plan"}})
run.invoke({"goal": PAYLOADS[0]})
run"""


def texts(locator: Locator) -> list[str]:
    return [str(t) for t in locator.evaluate_all("els => els.map(e => e.textContent)")]


def tags(root: Locator) -> set[str]:
    return set(root.evaluate("el => [...el.querySelectorAll('*')].map(e => e.localName)"))


def open_hostile(page: Page, lab: JupyterServer, name: str, cells: list[str],
                 testid: str) -> tuple[NotebookPage, Locator]:
    """Run the notebook with a `window.__pwned` sentinel; the widget(s) with `testid`."""
    page.add_init_script("window.__pwned = undefined;")
    nb = open_notebook(page, lab, name, [LOAD, *cells])
    nb.run_all()
    root = in_panel(page, testid)
    root.first.wait_for(timeout=90_000)
    return nb, root


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => window.parent.__pwned") is None
    assert page.log.dialogs == []  # type: ignore[attr-defined]


def in_panel(page: Page, testid: str) -> Locator:
    return page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid={testid}]")


def old_and_new(change: Locator) -> list[str]:
    """What a change-list line says the value was and became (old -> new, or a word diff
    whose kept + deleted parts are the old text and kept + inserted parts the new)."""
    return [str(t) for t in change.evaluate("""li => {
      const diff = li.querySelector(".hitl-text-diff");
      if (!diff) return [li.querySelector("del").textContent, li.querySelector("ins").textContent];
      const parts = [...diff.children];
      const join = (skip) => parts.filter((e) => e.localName !== skip)
        .map((e) => e.textContent).join("");
      return [join("ins"), join("del")];
    }""")]


def test_payloads_in_the_batch_table(page: Page, lab):
    nb, root = open_hostile(page, lab, "hostile_batch.ipynb", [BATCH], "hitl-batch")
    rows = root.get_by_test_id("hitl-batch-row")
    expect(rows).to_have_count(len(PAYLOADS))
    assert texts(rows.locator("td.hitl-action")) == PAYLOADS
    assert texts(rows.locator(".hitl-batch-reason")) == PAYLOADS
    assert texts(rows.locator("td:nth-child(6)")) == PAYLOADS  # the risk column
    assert rows.locator(".hitl-batch-args").evaluate_all(  # its text, before the reason
        "els => els.map(e => e.firstChild.textContent)") == [
            f"text={p}, {p[:40]}={i}" for i, p in enumerate(PAYLOADS)]
    menu = [f"{p} (1)" for p in sorted(PAYLOADS)]  # unknown labels: alphabetical
    assert texts(root.get_by_test_id("hitl-batch-risk").locator("option")) == ["any risk", *menu]
    assert texts(root.get_by_test_id("hitl-batch-action").locator("option")) == [
        "any action", *menu]

    # a hostile label as the filter: the summary and the confirmation quote it as text
    root.get_by_test_id("hitl-batch-risk").select_option(value=f"={PAYLOADS[5]}")
    expect(rows).to_have_count(1)
    expect(root.get_by_test_id("hitl-batch-summary")).to_contain_text(
        f"1 match risk = {PAYLOADS[5]} · pending")
    root.get_by_test_id("hitl-batch-approve-matching").click()
    expect(root.get_by_test_id("hitl-batch-confirm-text")).to_have_text(
        f"Approve 1 pending actions matching risk = {PAYLOADS[5]} · pending? Each is logged "
        "on its own and goes back to its graph; this cannot be undone here.")
    root.get_by_test_id("hitl-batch-confirm-yes").click()
    expect(root.get_by_test_id("hitl-batch-notice")).to_have_text("approve: 1 decided")

    # an edit with hostile text: the editor holds it as a value, the diff shows it as text
    root.get_by_test_id("hitl-batch-risk").select_option(value="")
    first = root.locator("[data-testid=hitl-batch-row][data-row-id='0']")
    first.get_by_test_id("hitl-batch-edit").click()
    editor = root.get_by_test_id("hitl-batch-editor")
    assert editor.locator("[data-field=text]").input_value() == PAYLOADS[0]
    editor.locator("[data-field=text]").fill(PAYLOADS[1] + " edited")
    root.get_by_test_id("hitl-batch-save").click()
    expect(rows).to_have_count(len(PAYLOADS) - 2)
    root.get_by_test_id("hitl-batch-status").select_option("all")
    change = first.get_by_test_id("hitl-changes").locator("li[data-path='/text']")
    expect(change).to_have_count(1)
    assert old_and_new(change) == [PAYLOADS[0], PAYLOADS[1] + " edited"]

    assert tags(root) <= BATCH_TAGS
    assert_nothing_ran(page)
    out = nb.run_cell_code("print(sorted(r['decision'] for r in hitl_nb.log()))")
    assert out == "['approve', 'edit']"


def test_payloads_in_the_notification_feed(page: Page, lab):
    _, feeds = open_hostile(page, lab, "hostile_feed.ipynb", [FEED, "feeds[1]"], "hitl-feed")
    expect(feeds).to_have_count(2, timeout=90_000)
    for feed, shown in zip(feeds.all(), (PAYLOADS[:30], PAYLOADS[30:]), strict=True):
        items = feed.get_by_test_id("hitl-feed-item")
        newest_first = list(reversed(shown))
        expect(items).to_have_count(len(shown))
        assert texts(items.get_by_test_id("hitl-feed-action")) == newest_first
        assert texts(items.get_by_test_id("hitl-feed-result")) == [f"→ {p}" for p in newest_first]
        assert texts(items.locator(".hitl-feed-reason")) == newest_first
        assert texts(items.locator(".hitl-feed-args")) == [f"{p[:40]}={p}" for p in newest_first]
        assert items.get_by_test_id("hitl-feed-undo").evaluate_all(
            "bs => bs.map(b => b.getAttribute('aria-label'))") == [
                f"Undo {p}" for p in newest_first]

    # the compensator fails with hostile text: shown as the reason, as text
    latest = feeds.first.get_by_test_id("hitl-feed-item").first
    latest.get_by_test_id("hitl-feed-undo").click()
    expect(latest).to_have_attribute("data-state", "undo_failed")
    expect(latest.get_by_test_id("hitl-feed-state")).to_have_text(
        f"undo failed: RuntimeError: {PAYLOADS[29]}")
    expect(latest.get_by_test_id("hitl-feed-error")).to_contain_text(PAYLOADS[29])

    for feed in feeds.all():
        assert tags(feed) <= FEED_TAGS
    assert_nothing_ran(page)


def test_payloads_in_the_plan_view(page: Page, lab):
    nb, plan = open_hostile(page, lab, "hostile_plan.ipynb", [PLAN], "hitl-plan")
    review = nb.widget()
    n = len(PAYLOADS)
    expect(plan.get_by_test_id("hitl-plan-title")).to_have_text(f"Shared plan: {PAYLOADS[0]}")
    steps = plan.get_by_test_id("hitl-plan-step")
    expect(steps).to_have_count(n)
    assert steps.get_by_test_id("hitl-step-text").evaluate_all(
        "els => els.map(e => e.value)") == PAYLOADS
    assert [json.loads(a) for a in steps.get_by_test_id("hitl-step-args").evaluate_all(
        "els => els.map(e => e.value)")] == [{"q": p} for p in PAYLOADS]
    assert texts(steps.get_by_test_id("hitl-step-suggested")) == [
        f"Agent suggests: You (human) ({PAYLOADS[(i + 1) % n]})" for i in range(n)]
    assert texts(steps.locator(".hitl-plan-tool")) == [
        f"tool: {PAYLOADS[(i + 2) % n]}" for i in range(n)]
    plan.get_by_test_id("hitl-plan-submit").click()

    # each of the first three steps offers 20 payloads and cites the other 40 as evidence
    chosen = []
    for k in range(3):
        panel = plan.get_by_test_id("hitl-step-panel")
        expect(panel).to_have_attribute("data-step-id", f"s{k + 1}")
        expect(panel.get_by_test_id("hitl-step-title")).to_have_text(
            f"Step {k + 1} of {n} is yours: {PAYLOADS[k]}")
        options = PAYLOADS[20 * k:20 * k + 20]
        assert texts(panel.get_by_test_id("hitl-option").locator("pre")) == options
        assert texts(panel.get_by_test_id("hitl-evidence").locator("li")) == [
            f"{p} ({p})" for p in PAYLOADS if p not in options]
        panel.get_by_role("button", name=f"Use option {k + 1}", exact=True).click()
        expect(panel.get_by_test_id("hitl-answer")).to_have_value(options[k])
        chosen.append(options[k])
        panel.get_by_role("button", name=f"Submit your result for step {k + 1}").click()
    expect(plan.get_by_test_id("hitl-step-panel")).to_have_attribute("data-step-id", "s4")
    expect(plan.get_by_test_id("hitl-step-result")).to_have_count(3)
    assert texts(plan.get_by_test_id("hitl-step-result")) == chosen

    assert tags(plan) <= PLAN_TAGS
    assert tags(review) <= REVIEW_TAGS
    assert_nothing_ran(page)
    out = nb.run_cell_code("print([s['result'] == PAYLOADS[21 * i] for i, s in "
                           "enumerate(run.pending[0].collab['plan']['steps'][:3])])")
    assert out == "[True, True, True]"
