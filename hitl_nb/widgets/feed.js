// hitl_nb notification feed: what the agent did without stopping, newest first, with Undo
// while an action's window is open. Strings go through textContent only.

const STATES = { undoing: "undoing…", undone: "undone", undo_failed: "undo failed" };

/** @type {import("npm:@anywidget/types").Render} */
function render({ model, el }) {
  const root = h("div", { cls: "hitl-feed", attrs: { "data-testid": "hitl-feed" } });
  el.append(root);
  // Keys typed in the widget are the widget's: JupyterLab's notebook shortcuts stay out.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  /** @type {{button: HTMLButtonElement, until: number}[]} */
  let countdowns = [];

  const tick = () => {
    const now = Date.now();
    for (const c of countdowns) {
      const left = Math.ceil((c.until - now) / 1000);
      // Display only: Python decides, and says why if the window has closed.
      c.button.textContent = left > 0 ? `Undo (${left} s)` : "Undo (window closed)";
      if (left <= 0) c.button.classList.add("hitl-feed-expired");
    }
  };

  const draw = () => {
    const items = model.get("items") ?? [];
    const errors = model.get("errors") ?? {};
    const total = model.get("total") ?? items.length;
    countdowns = [];
    const list = h("ol", { cls: "hitl-feed-list", attrs: { reversed: "", "aria-live": "polite", "aria-label": "What the agent did" } });
    for (const item of [...items].reverse()) {
      const level = String(item.level ?? "notify");
      const when = new Date(item.at);
      const li = h("li", { cls: `hitl-feed-item hitl-feed-${item.state}`, attrs: { "data-testid": "hitl-feed-item", "data-id": String(item.id), "data-state": String(item.state) } });
      li.append(h("div", { cls: "hitl-feed-head" }, [
        h("time", { cls: "hitl-feed-time", text: when.toLocaleTimeString(), attrs: { datetime: String(item.at) } }),
        h("span", { cls: `hitl-level hitl-level-${level}`, text: LEVELS[level] ?? level, attrs: { "data-testid": "hitl-level" } }),
        h("span", { cls: "hitl-action", text: String(item.action), attrs: { "data-testid": "hitl-feed-action" } }),
      ]));
      li.append(h("div", { cls: "hitl-feed-args", text: compact(item.args) }));
      if (item.result !== null && item.result !== undefined) li.append(h("div", { cls: "hitl-feed-result", text: `→ ${item.result}`, attrs: { "data-testid": "hitl-feed-result" } }));
      if (item.reason) li.append(h("div", { cls: "hitl-feed-reason", text: String(item.reason) }));
      const state = STATES[item.state];
      if (state) li.append(h("div", { cls: "hitl-feed-state", text: item.undo_error ? `${state}: ${item.undo_error}` : state, attrs: { "data-testid": "hitl-feed-state" } }));
      if (item.nonce && item.undo_until) {
        const undo = /** @type {HTMLButtonElement} */ (h("button", { cls: "hitl-button hitl-feed-undo", text: "Undo", attrs: { type: "button", "data-testid": "hitl-feed-undo", "aria-label": `Undo ${item.action}` } }));
        undo.addEventListener("click", () => {
          undo.disabled = true; // one click, one undo
          model.send({ type: "undo", id: item.id, nonce: item.nonce });
        });
        countdowns.push({ button: undo, until: Date.parse(item.undo_until) });
        li.append(undo);
      }
      const error = errors[item.id];
      if (error) li.append(h("p", { cls: "hitl-error", text: String(error), attrs: { role: "alert", "data-testid": "hitl-feed-error" } }));
      list.append(li);
    }
    const title = h("div", { cls: "hitl-topline" }, [
      h("span", { cls: "hitl-title", text: "What the agent did" }),
      h("span", { cls: "hitl-feed-count", text: `${total} action${total === 1 ? "" : "s"}${total > items.length ? ` (latest ${items.length} shown; all are in hitl_nb.log())` : ""}`, attrs: { "data-testid": "hitl-feed-count" } }),
    ]);
    root.replaceChildren(title, items.length ? list : h("p", { cls: "hitl-feed-empty", text: "Nothing yet: actions at the notify level appear here as they run." }));
    if (errors[""]) root.append(h("p", { cls: "hitl-error", text: String(errors[""]), attrs: { role: "alert" } }));
    tick();
  };
  const timer = setInterval(tick, 1000);
  draw();
  model.on("change:items", draw);
  model.on("change:errors", draw);
  return () => {
    clearInterval(timer);
    model.off("change:items", draw);
    model.off("change:errors", draw);
  };
}

export default { render };
